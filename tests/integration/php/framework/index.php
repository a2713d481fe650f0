<?php
header('Content-Type: application/json');
echo json_encode(array_intersect_key($_SERVER, array_flip(
    ['SCRIPT_NAME', 'SCRIPT_FILENAME', 'REQUEST_URI', 'PATH_INFO', 'PHP_SELF', 'QUERY_STRING'])));
