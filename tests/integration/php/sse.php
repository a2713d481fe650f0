<?php
// Server-Sent Events for tests/integration/test_sse.py.
//   count=N     events to send (default 3); 0 = until the client goes away (at most 60 s)
//   delay=MS    pause before each event after the first (default 0)
//   ack=PATH    after event i, wait (up to 10 s) for the client to create PATH.i: an event that
//               did not reach the client at once is never acknowledged, and the stream says so
//   ctype=1     the script sets Content-Type: text/event-stream itself
//   heartbeat=S call kiln_request_heartbeat(S) before each event
//   marker=PATH write "aborted at i" there when the client went away (PHP stops the script at
//               its next output; shutdown functions still run)
if (!empty($_GET['ctype']))
    header('Content-Type: text/event-stream');
$count = (int)($_GET['count'] ?? 3);
$delay = (int)($_GET['delay'] ?? 0);
$limit = $count > 0 ? $count : 600;
$i = 0;
if (isset($_GET['marker']))
    register_shutdown_function(function () use (&$i) {
        if (connection_aborted())
            file_put_contents($_GET['marker'], "aborted at $i");
    });
for (; $i < $limit; $i++) {
    if ($i > 0 && $delay > 0)
        usleep($delay * 1000);
    if (isset($_GET['heartbeat']))
        kiln_request_heartbeat((int)$_GET['heartbeat']);
    printf("id: %d\nevent: tick\ndata: {\"i\":%d,\"t\":%.6f}\n\n", $i, $i, microtime(true));
    flush();
    if (!isset($_GET['ack']))
        continue;
    for ($t = 0; $t < 1000 && !file_exists($_GET['ack'] . ".$i"); $t++)
        usleep(10000);
    if (!file_exists($_GET['ack'] . ".$i"))
        echo "event: error\ndata: no ack $i\n\n";
}
echo "event: end\ndata: done\n\n";
