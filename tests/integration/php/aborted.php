<?php
ignore_user_abort(true);
for ($i = 0; $i < 50; $i++) {
    echo str_repeat('.', 10);
    flush();
    if (connection_aborted()) {
        file_put_contents($_GET['marker'], "aborted at $i");
        exit;
    }
    usleep(100000);
}
file_put_contents($_GET['marker'], 'never aborted');
