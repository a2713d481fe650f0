<?php
// Three chunks, each flushed. With ?ack=PATH, after chunk i the script waits (up to 10 s) for the
// client to create the file PATH.i: a chunk that did not reach the client at once is never
// acknowledged, and the output says so. Without it, the chunks come 300 ms apart.
for ($i = 0; $i < 3; $i++) {
    echo "chunk $i\n";
    flush();
    if (!isset($_GET['ack'])) {
        usleep(300000);
        continue;
    }
    for ($t = 0; $t < 1000 && !file_exists($_GET['ack'] . ".$i"); $t++)
        usleep(10000);
    if (!file_exists($_GET['ack'] . ".$i"))
        echo "no ack $i\n";
}
