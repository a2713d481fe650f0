<?php
// The logged-in page: who is logged in, and a counter kept in the session that every view
// increments. ?ms=N makes the request take N ms longer (a request in flight when an instance
// goes away).
require __DIR__ . '/instance.php';
session_start();
if (!isset($_SESSION['user'])) {
    answer(401, ['user' => null]);
    return;
}
usleep(min((int)($_GET['ms'] ?? 0), 2000) * 1000);
$_SESSION['count']++;
answer(200, ['user' => $_SESSION['user'], 'count' => $_SESSION['count']]);
