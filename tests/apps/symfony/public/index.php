<?php
/* The front controller: every URL that is not a file in public/ runs this script. */
use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

require __DIR__ . '/../config/autoload.php';

$env = require __DIR__ . '/../config/env.php';
if ($env['APP_TRUSTED_PROXIES'] !== '') {
    Request::setTrustedProxies(explode(',', $env['APP_TRUSTED_PROXIES']),
        Request::HEADER_X_FORWARDED_FOR | Request::HEADER_X_FORWARDED_HOST |
        Request::HEADER_X_FORWARDED_PORT | Request::HEADER_X_FORWARDED_PROTO);
}

$kernel = new Kernel($env['APP_ENV'], (bool) $env['APP_DEBUG']);
$request = Request::createFromGlobals();
$response = $kernel->handle($request);
$response->send();
$kernel->terminate($request, $response);
