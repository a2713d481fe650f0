<?php
// Shared by the pages: which Kiln answered (KILN_INSTANCE in its environment), as a header
// and in the JSON body, so a test can tell the instances behind the load balancer apart.
function instance_id(): string
{
    return getenv('KILN_INSTANCE') ?: 'unknown';
}

function answer(int $status, array $body): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    header('X-Kiln-Instance: ' . instance_id());
    echo json_encode($body + ['instance' => instance_id(), 'pid' => getmypid()]), "\n";
}
