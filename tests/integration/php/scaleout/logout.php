<?php
// Ends the session, in the store and in the browser.
require __DIR__ . '/instance.php';
session_start();
$_SESSION = [];
$params = session_get_cookie_params();
setcookie(session_name(), '', ['expires' => 1, 'path' => $params['path']]);
session_destroy();
answer(200, ['user' => null]);
