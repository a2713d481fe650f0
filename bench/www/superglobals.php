<?php
// Reads the request the way a framework's request object does.
$method = $_SERVER['REQUEST_METHOD'];
$uri = $_SERVER['REQUEST_URI'];
$host = $_SERVER['HTTP_HOST'] ?? '';
$agent = $_SERVER['HTTP_USER_AGENT'] ?? '';
$page = (int)($_GET['page'] ?? 1);
$sort = $_GET['sort'] ?? 'id';
$session = $_COOKIE['session'] ?? 'none';
header('Content-Type: application/json');
echo json_encode(compact('method', 'uri', 'host', 'agent', 'page', 'sort', 'session')), "\n";
