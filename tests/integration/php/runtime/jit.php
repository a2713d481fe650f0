<?php
// Hot code for the tracing JIT, then OPcache's view of the JIT.
header('Content-Type: application/json');
function kiln_fib(int $n): int { return $n < 2 ? $n : kiln_fib($n - 1) + kiln_fib($n - 2); }
$sum = 0;
for ($i = 0; $i < 200000; $i++) {
    $sum += ($i * 7) % 13;
}
$status = opcache_get_status(false);
echo json_encode([
    'sum' => $sum,
    'fib' => kiln_fib(22),
    'opcache_enabled' => $status['opcache_enabled'],
    'jit' => $status['jit'],
    'ini_jit' => ini_get('opcache.jit'),
]);
