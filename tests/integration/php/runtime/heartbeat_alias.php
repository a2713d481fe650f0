<?php
// Works longer than REQUEST_TIMEOUT, extending the deadline through the tokio_ alias.
$steps = (int)($_GET['steps'] ?? 4);
for ($i = 0; $i < $steps; $i++) {
    usleep(600000);
    tokio_request_heartbeat(2);
}
echo "alias kept it alive for $steps steps\n";
