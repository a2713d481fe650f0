<?php
// Notes its worker's pid in `marker` (one line per run), then blocks in the C library, never in
// PHP code, so only REQUEST_TIMEOUT can end it:
//   how=socket&port=N  reads from 127.0.0.1:N, whose peer never sends; no PHP socket timeout
//   how=flock&file=F   waits for an exclusive flock() on F, which the test holds
//   how=sleep          one usleep() of an hour
file_put_contents($_GET['marker'], getmypid() . "\n", FILE_APPEND);
switch ($_GET['how']) {
case 'socket':
    ini_set('default_socket_timeout', '-1');
    $peer = stream_socket_client('tcp://127.0.0.1:' . (int)$_GET['port'], $errno, $errstr, 10);
    if (!$peer)
        exit("connect failed: $errstr\n");
    stream_set_timeout($peer, 86400);
    $read = fread($peer, 1);
    exit('read returned ' . var_export($read, true) . "\n");
case 'flock':
    $fp = fopen($_GET['file'], 'c');
    flock($fp, LOCK_EX);
    exit("got the lock\n");
case 'sleep':
    usleep(3600 * 1000000);
    exit("woke up\n");
}
