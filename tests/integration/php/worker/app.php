<?php
// Worker script for tests/integration/test_worker_mode.py: boots once, then serves requests.
// ?t=<case> picks what the handler does; "info" reports what a request can see.
$boot_pid = getmypid();
$served = 0;                                   // the worker script's own state: persists
ini_set('serialize_precision', '10');          // a boot-time ini value: persists
$boot_env = getenv('KILN_WORKER_T');
$_ENV['KILN_BOOT'] = 'boot';                   // a boot-time $_ENV entry: persists
$loader_called = false;                        // set by a libxml entity loader, if one is left

// What a request can see of libxml's state: errors kept, the internal-errors mode, and a
// leftover external entity loader (it would be called for this document's DTD).
function libxml_report(): array
{
    $GLOBALS['loader_called'] = false;
    $d = new DOMDocument();
    @$d->loadXML('<!DOCTYPE a SYSTEM "kiln-test.dtd"><a/>', LIBXML_DTDLOAD);
    return ['errors' => count(libxml_get_errors()), 'internal' => libxml_use_internal_errors(null),
            'loader_called' => $GLOBALS['loader_called']];
}

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
             'HTTP_X_TEST', 'POLLUTED', 'PHP_AUTH_USER', 'PHP_AUTH_PW', 'HTTP_AUTHORIZATION'])),
        'all_headers' => array_change_key_case(getallheaders()),
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
        'env_array' => array_intersect_key($_ENV, ['KILN_BOOT' => 1, 'KILN_LEAK' => 1]),
        'max_execution_time' => ini_get('max_execution_time'),
        'http_response_header' => isset($GLOBALS['http_response_header']),
        'libxml' => libxml_report(),
        'filter_x_test' => filter_input(INPUT_SERVER, 'HTTP_X_TEST'),
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
            $_ENV['KILN_LEAK'] = 'leak';
            set_time_limit(1000);
            libxml_use_internal_errors(true);
            simplexml_load_string('<not xml');
            libxml_set_external_entity_loader(function () { $GLOBALS['loader_called'] = true; return null; });
            echo json_encode($out + report());
            ob_start();                         // left open: its output belongs to this response
            echo "\nopen-buffer";
            return;
        case 'shutdown':                        // runs after this request, once, not later
            register_shutdown_function(function () {
                echo "\nshutdown ran";
                putenv('KILN_WORKER_T=from-shutdown');
                file_put_contents($_GET['f'], getmypid() . "\n", FILE_APPEND);
            });
            echo 'handler done';
            return;
        case 'shutdown_fatal':                  // a fatal error in a shutdown function
            register_shutdown_function(function () { undefined_function_from_shutdown(); });
            echo 'handler done';
            return;
        case 'spin':                            // CPU time, counted by max_execution_time
            if (isset($_GET['limit'])) {
                set_time_limit((int)$_GET['limit']);
            }
            $end = microtime(true) + (float)$_GET['s'];
            while (microtime(true) < $end) {
            }
            echo 'spun';
            return;
        case 'fetch':                           // an http:// stream sets $http_response_header
            $body = file_get_contents($_GET['url']);
            echo json_encode(['body' => $body, 'headers' => isset($http_response_header)]);
            return;
        case 'hog':                             // memory the script keeps: a leak
            $GLOBALS['hog'][] = str_repeat(chr(random_int(65, 90)), (int)$_GET['mib'] << 20);
            echo json_encode($out);
            return;
        case 'keep_input':                      // php://input kept past its request
            $GLOBALS['kept_input'] = fopen('php://input', 'r');
            echo stream_get_contents($GLOBALS['kept_input']);
            return;
        case 'kept_input':
            echo json_encode(is_resource($GLOBALS['kept_input'] ?? null));
            return;
        case 'memory':                          // what the worker script's heap holds now
            gc_collect_cycles();
            echo memory_get_usage();
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
            if (isset($_GET['f'])) {
                file_put_contents($_GET['f'], 'in the handler');
            }
            sleep((int)($_GET['s'] ?? 5));
            echo 'slept';
            return;
        default:
            echo json_encode($out + report());
    }
};

while (kiln_handle_request($handler)) {
}
if ($end = getenv('KILN_WORKER_END_FILE')) {  // kiln_handle_request() said false: the script ends
    usleep(300000);                            // its clean-up takes a while (connections, logs)
    file_put_contents($end, getmypid() . "\n", FILE_APPEND);
}
