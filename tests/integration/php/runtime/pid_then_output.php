<?php
// Records the worker's pid in a marker file, then outputs `kib` KiB of all 256 byte values.
file_put_contents($_GET['marker'] . '.tmp', (string)getmypid());
rename($_GET['marker'] . '.tmp', $_GET['marker']);
header('Content-Type: application/octet-stream');
$b = implode('', array_map('chr', range(0, 255)));
$n = (int)$_GET['kib'] * 4;
for ($i = 0; $i < $n; $i++) {
    echo $b;
}
