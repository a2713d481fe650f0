<?php
// A script that states its own length, as download scripts do.
$body = str_repeat('L', 1234);
if (($_GET['set'] ?? '') === '1')
    header('Content-Length: ' . strlen($body));
echo $body;
