<?php
// Uses what preload_lib.php defined, with no include.
header('Content-Type: application/json');
$stats = opcache_get_status(false)['preload_statistics'] ?? null;
echo json_encode([
    'function_exists' => function_exists('kiln_preloaded_greeting'),
    'class_exists' => class_exists('KilnPreloaded', false),
    'greeting' => function_exists('kiln_preloaded_greeting') ? kiln_preloaded_greeting('kiln') : null,
    'twice' => class_exists('KilnPreloaded', false) ? KilnPreloaded::twice(21) : null,
    'answer' => class_exists('KilnPreloaded', false) ? KilnPreloaded::ANSWER : null,
    'included' => array_map('basename', get_included_files()),
    'stats' => $stats,
    'pid' => getmypid(),
]);
