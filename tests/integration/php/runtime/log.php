<?php
// error_log() and a PHP warning, both bound for Kiln's log.
error_log(str_repeat($_GET['msg'] ?? 'no message', (int)($_GET['repeat'] ?? 1)));
if (isset($_GET['warn'])) {
    echo $undefined_variable_for_kiln;
}
echo "logged\n";
