<?php
// GET: the form. POST user=NAME: logs in (a new session id, as after any login) and sends the
// browser on to page.php.
require __DIR__ . '/instance.php';
session_start();
if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    header('Content-Type: text/html; charset=utf-8');
    header('X-Kiln-Instance: ' . instance_id());
    echo '<form method="post" action="login.php"><input name="user"><button>Log in</button></form>', "\n";
    return;
}
$user = trim((string)($_POST['user'] ?? ''));
if ($user === '') {
    answer(422, ['error' => 'user is required']);
    return;
}
session_regenerate_id(true);
$_SESSION['user'] = $user;
$_SESSION['count'] = 0;
header('Location: page.php', true, 303);
answer(303, ['user' => $user]);
