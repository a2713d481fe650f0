<?php
// Three chunks, 300 ms apart, each flushed.
for ($i = 0; $i < 3; $i++) {
    echo "chunk $i\n";
    flush();
    usleep(300000);
}
