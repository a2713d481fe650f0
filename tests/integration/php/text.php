<?php
// 300 KB of compressible HTML-ish text, for the compression tests.
$n = (int)($_GET['lines'] ?? 5000);
for ($i = 0; $i < $n; $i++) {
    echo "<p>line $i: the quick brown fox jumps over the lazy dog</p>\n";
}
