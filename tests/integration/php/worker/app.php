<?php
// Worker script for tests/integration/test_worker_mode.py: boots once, then serves requests.
// ?t=<case> picks what the handler does; "info" reports what a request can see.
$boot_pid = getmypid();
$served = 0;                                   // the worker script's own state: persists
ini_set('serialize_precision', '10');          // a boot-time ini value: persists
$boot_env = getenv('KILN_WORKER_T');

function report(): array
{
    $files = [];
    foreach ($_FILES as $k => $f) {
        $files[$k] = ['name' => $f['name'], 'tmp' => $f['tmp_name'], 'there' => is_file($f['tmp_name'])];
    }
    return [
        'get' => $_GET, 'post' => $_POST, 'cookie' => $_COOKIE, 'files' => $files,
        'request' => $_REQUEST,
        'server' => array_intersect_key($_SERVER, array_flip(
            ['SCRIPT_FILENAME', 'SCRIPT_NAME', 'REQUEST_URI', 'QUERY_STRING', 'REQUEST_METHOD',
             'HTTP_X_TEST', 'POLLUTED', 'PHP_AUTH_USER', 'PHP_AUTH_PW'])),
        'input' => file_get_contents('php://input'),
        'headers' => headers_list(),
        'code' => http_response_code(),
        'ob_level' => ob_get_level(),
        'last_error' => error_get_last(),
        'session_status' => session_status(),
        'session_id' => session_id(),
        'session' => $_SESSION ?? null,
        'precision' => ini_get('precision'),
        'serialize_precision' => ini_get('serialize_precision'),
        'env' => getenv('KILN_WORKER_T'),
        'env_boot' => $GLOBALS['boot_env'],
    ];
}

$handler = function () use (&$served, $boot_pid) {
    $served++;
    $t = $_GET['t'] ?? 'info';
    $out = ['pid' => getmypid(), 'boot_pid' => $boot_pid, 'served' => $served];
    switch ($t) {
        case 'pollute':
            $_GET['extra'] = 'leak';
            $_SERVER['POLLUTED'] = 'leak';
            $_REQUEST['extra'] = 'leak';
            header('X-Leak: 1');
            http_response_code(201);
            header_register_callback(function () { header('X-Callback: leak'); });
            @trigger_error('leaked warning', E_USER_WARNING);
            session_start();
            $_SESSION['secret'] = 'leak';
            ini_set('precision', '5');
            putenv('KILN_WORKER_T=leak');
            echo json_encode($out + report());
            ob_start();                         // left open: its output belongs to this response
            echo "\nopen-buffer";
            return;
        case 'upload':
            echo json_encode($out + report());
            return;
        case 'throw':
            echo 'partial';
            throw new RuntimeException('boom from the handler');
        case 'fatal':
            ini_set('memory_limit', '8M');
            $x = str_repeat('x', 64 * 1024 * 1024);
            return;
        case 'exit':
            echo 'before exit';
            exit(0);
        case 'sleep':
            sleep((int)($_GET['s'] ?? 5));
            echo 'slept';
            return;
        default:
            echo json_encode($out + report());
    }
};

while (kiln_handle_request($handler)) {
}
