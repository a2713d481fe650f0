<?php
// Deterministic output of any size; binary=1 gives all 256 byte values.
$size = (int)($_GET['size'] ?? 1024);
$binary = isset($_GET['binary']);
header('Content-Type: application/octet-stream');
$block = $binary ? implode('', array_map('chr', range(0, 255))) : str_repeat('0123456789abcdef', 16);
$full = intdiv($size, 256);
for ($i = 0; $i < $full; $i++) {
    echo $block;
}
echo substr($block, 0, $size % 256);
