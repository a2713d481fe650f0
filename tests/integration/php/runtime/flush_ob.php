<?php
// flush() empties php.ini's output_buffering buffer, never a buffer the script opened itself.
// The script waits for the client to create the "go" file between the two flushes.
function wait_for(string $file): void
{
    for ($i = 0; $i < 100 && !file_exists($file); $i++) {
        usleep(50000);
    }
}
if (isset($_GET['replace'])) { // close php.ini's buffer: the script's own is then the only one
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
}
echo "first\n";
flush();
ob_start();
echo "second\n";
flush();
wait_for($_GET['go']);
ob_end_flush();
echo "third\n";
