<?php
header('Content-Type: application/json');
$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo json_encode([
    'enabled' => $s !== false && $s['opcache_enabled'],
    'jit' => $s['jit'] ?? null,
    'sapi' => PHP_SAPI,
]);
