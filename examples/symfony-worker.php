<?php
/*
 * Kiln worker-mode runtime for a Symfony 5.4 application (docs/frameworks.md, "Symfony", "Worker mode").
 *
 *   kiln --docroot /srv/app/public --index-file index.php \
 *        --worker-script /usr/share/doc/kiln/examples/symfony-worker.php
 *
 * The application is the directory in APP_BASE_PATH (Kiln's environment) or, when that is unset,
 * the directory of this script (copy it into the project's root, beside bin/ and config/). Its
 * autoloader is vendor/autoload.php (composer) or, when there is none, config/autoload.php (Kiln's
 * test application on Debian's php-symfony-* packages); its settings come from config/env.php
 * when it exists (the test application), else from APP_ENV, APP_DEBUG and APP_TRUSTED_PROXIES
 * in the environment (.env files are read by the application's own bootstrap, as in
 * public/index.php: call it here if you use one).
 *
 * Once per worker: the kernel is created and booted (the compiled container is loaded).
 * Once per request: Request::createFromGlobals() from the superglobals Kiln gives this request,
 * handle, send, terminate. Symfony's Kernel::handle() itself resets the services tagged
 * kernel.reset (the container's "services_resetter": the session listener, which closes and
 * forgets PHP's session, the request-scoped caches, Monolog's buffers, Doctrine's entity
 * managers, ...) when the next request arrives, before anything else runs.
 */

use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

$base = getenv('APP_BASE_PATH') ?: __DIR__;
if (!is_dir("$base/config")) {
    throw new RuntimeException("symfony-worker.php: no Symfony project in '$base' (set APP_BASE_PATH)");
}
require is_file("$base/vendor/autoload.php") ? "$base/vendor/autoload.php" : "$base/config/autoload.php";

$env = is_file("$base/config/env.php") ? require "$base/config/env.php" : [
    'APP_ENV' => getenv('APP_ENV') ?: 'prod',
    'APP_DEBUG' => filter_var(getenv('APP_DEBUG'), FILTER_VALIDATE_BOOLEAN),
    'APP_TRUSTED_PROXIES' => getenv('APP_TRUSTED_PROXIES') ?: '',
];
// What public/index.php does before it handles a request; static, so once is enough.
if ($env['APP_TRUSTED_PROXIES'] !== '') {
    Request::setTrustedProxies(explode(',', $env['APP_TRUSTED_PROXIES']),
        Request::HEADER_X_FORWARDED_FOR | Request::HEADER_X_FORWARDED_HOST |
        Request::HEADER_X_FORWARDED_PORT | Request::HEADER_X_FORWARDED_PROTO);
}

$kernel = new Kernel($env['APP_ENV'], (bool) $env['APP_DEBUG']);
$kernel->boot();

// Kiln puts back after each request the ini directives the request changed. Symfony's native
// file session handler sets session.save_path in its constructor, which runs in the first request
// that uses a session, and is then kept: from the second request on, sessions would be read from
// PHP's default directory. Set here, at boot, the directive stays for every request.
$container = $kernel->getContainer();
if ($container->hasParameter('session.save_path') && $container->getParameter('session.save_path')) {
    ini_set('session.save_path', $container->getParameter('session.save_path'));
}

$handler = static function () use ($kernel): void {
    $request = Request::createFromGlobals();
    $response = $kernel->handle($request);
    $response->send(); // calls fastcgi_finish_request(): the client has its answer ...
    $kernel->terminate($request, $response); // ... before kernel.terminate listeners run
};

while (kiln_handle_request($handler)) {
    gc_collect_cycles();
}
