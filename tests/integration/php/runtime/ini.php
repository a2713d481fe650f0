<?php
// The php.ini values a request sees, and what PHP's parsers kept of the input.
header('Content-Type: application/json');
$keys = ['memory_limit', 'max_input_vars', 'post_max_size', 'display_errors', 'html_errors',
         'kiln_test.unused', 'default_charset'];
$ini = [];
foreach ($keys as $k) {
    $ini[$k] = ini_get($k);
}
echo json_encode([
    'ini' => $ini,
    'post_count' => count($_POST),
    'get_count' => count($_GET),
    'files_count' => count($_FILES),
    'input_length' => strlen(file_get_contents('php://input')),
]);
