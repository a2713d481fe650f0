<?php
// Where sse_page.html reports what its EventSource received (the test reads the file).
file_put_contents(__DIR__ . '/sse_result.json', file_get_contents('php://input'));
echo "ok\n";
