<?php
// Works longer than REQUEST_TIMEOUT, asking for more time as it goes.
$steps = (int)($_GET['steps'] ?? 4);
for ($i = 0; $i < $steps; $i++) {
    usleep(600000);
    kiln_request_heartbeat(2);
}
echo "done after $steps steps\n";
