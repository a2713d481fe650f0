<?php
// What kiln_request_heartbeat() and its alias answer for a range of arguments.
header('Content-Type: application/json');
$limit = (int)($_GET['limit'] ?? 10);
echo json_encode([
    'zero' => kiln_request_heartbeat(0),
    'negative' => kiln_request_heartbeat(-5),
    'min_int' => kiln_request_heartbeat(PHP_INT_MIN),
    'above' => kiln_request_heartbeat($limit + 1),
    'huge' => kiln_request_heartbeat(PHP_INT_MAX),
    'one' => kiln_request_heartbeat(1),
    'limit' => kiln_request_heartbeat($limit),
    'default' => kiln_request_heartbeat(),
    'alias_ok' => tokio_request_heartbeat(2),
    'alias_zero' => tokio_request_heartbeat(0),
    'alias_above' => tokio_request_heartbeat($limit + 1),
]);
