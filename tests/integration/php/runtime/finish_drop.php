<?php
// fastcgi_finish_request(): the client gets what came before; later output and headers are dropped.
header('X-Before: yes');
echo "visible\n";
$first = fastcgi_finish_request();
echo "dropped after finish\n";
header('X-After: yes');
flush();
$second = fastcgi_finish_request();
file_put_contents($_GET['marker'] . '.tmp', json_encode(['first' => $first, 'second' => $second]));
rename($_GET['marker'] . '.tmp', $_GET['marker']);
