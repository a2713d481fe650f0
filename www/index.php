<?php
// The page `make run` serves at http://127.0.0.1:8080/.
$server = $_SERVER['SERVER_SOFTWARE'] ?? 'kiln';
?><!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kiln</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<h1>Kiln is running</h1>
<p>Served by <?= htmlspecialchars($server) ?> with PHP <?= PHP_VERSION ?> (SAPI <?= PHP_SAPI ?>).</p>
<ul>
<li><a href="/hello.php">hello.php</a>: one line of PHP</li>
<li><a href="/about.html">about.html</a>: a static page</li>
</ul>
</body>
</html>
