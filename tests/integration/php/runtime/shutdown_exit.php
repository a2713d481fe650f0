<?php
// exit() inside a shutdown function, after output: the output stays, the worker lives on.
echo "main output\n";
register_shutdown_function(function () {
    echo "shutdown output\n";
    exit((int)($_GET['code'] ?? 0));
    echo "never\n";
});
echo "end of script\n";
