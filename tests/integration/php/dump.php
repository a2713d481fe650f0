<?php
// Everything a request gave PHP, as JSON.
header('Content-Type: application/json');
echo json_encode([
    'get' => $_GET,
    'post' => $_POST,
    'cookie' => $_COOKIE,
    'server' => $_SERVER,
    'input' => file_get_contents('php://input'),
    'headers' => getallheaders(),
    'sapi' => PHP_SAPI,
]);
