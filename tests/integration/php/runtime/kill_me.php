<?php
// Writes the worker's pid to a marker file, then waits to be killed from outside.
// sent=1 flushes some output first, so the response has begun when the worker dies.
if (isset($_GET['sent'])) {
    echo "partial output\n";
    flush();
}
file_put_contents($_GET['marker'] . '.tmp', (string)getmypid());
rename($_GET['marker'] . '.tmp', $_GET['marker']);
sleep((int)($_GET['secs'] ?? 10));
echo "not killed\n";
