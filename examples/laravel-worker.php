<?php
/*
 * Kiln worker-mode runtime for a Laravel 8 application (docs/frameworks.md, "Laravel", "Worker mode").
 *
 *   kiln --docroot /srv/app/public --index-file index.php \
 *        --worker-script /usr/share/doc/kiln/examples/laravel-worker.php
 *
 * The application is the directory in APP_BASE_PATH (Kiln's environment) or, when that is unset,
 * the directory of this script (copy it into the application's root, beside artisan). Its autoloader is vendor/autoload.php
 * (composer) or, when there is none, bootstrap/autoload.php (Kiln's test application on Debian's
 * php-laravel-framework). Nothing of the application is changed.
 *
 * Once per worker: the application is created and bootstrapped (environment, configuration,
 * exception handler, facades, service providers registered and booted, routes loaded).
 * Once per request: a clone of that booted container is the request's sandbox; the services that
 * hold one request's state are forgotten in it (built again for this request) or, when they are
 * shared with the booted container, emptied and pointed at the sandbox; then the request is
 * captured from the superglobals Kiln gives this request, handled, sent and terminated, and the
 * sandbox is dropped. What a request binds, registers or resolves in its sandbox dies with it.
 */

use Illuminate\Container\Container;
use Illuminate\Contracts\Http\Kernel as HttpKernel;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Facade;
use Illuminate\View\Factory as ViewFactory;

define('LARAVEL_START', microtime(true));

$base = getenv('APP_BASE_PATH') ?: __DIR__;
if (!is_file("$base/bootstrap/app.php")) {
    throw new RuntimeException("laravel-worker.php: no Laravel application in '$base' (set APP_BASE_PATH)");
}
require is_file("$base/vendor/autoload.php") ? "$base/vendor/autoload.php" : "$base/bootstrap/autoload.php";

/** @var \Illuminate\Foundation\Application $app */
$app = require "$base/bootstrap/app.php";
$kernel = $app->make(HttpKernel::class);
// Under PHP-FPM the providers boot with the request bound; here there is none yet: a stand-in, so
// that a provider which touches request() or url() at boot still works. It is forgotten below.
$app->instance('request', Request::create('http://localhost/'));
$kernel->bootstrap();

/*
 * Services built once and shared by every request: resolved now, so that each sandbox (a clone)
 * holds the same objects instead of building them again. The ones that keep a request's state
 * are emptied by kiln_laravel_sandbox() below.
 */
foreach (['router', 'routes', 'url', 'view', 'blade.compiler', 'files', 'translator', 'validator',
          'session', 'cookie', 'encrypter', 'events', 'log', 'auth', 'db'] as $service) {
    if ($app->bound($service)) {
        $app->make($service);
    }
}
// What views share after the boot ('app', '__env', View::share() of the providers): each request
// starts from this; ShareErrorsFromSession adds '$errors' to it again, for web routes only.
$viewShared = $app->resolved('view') ? $app['view']->getShared() : [];
$bootLocale = $app->getLocale();
$app->forgetInstance('request');

/*
 * The per-request services: forgotten in the sandbox, so that the container builds them again,
 * for this request, the first time they are needed. The request itself is bound by the kernel.
 */
const KILN_LARAVEL_PER_REQUEST = [
    'request', 'session.store', 'redirect', 'auth.driver',
    Illuminate\Contracts\Routing\ResponseFactory::class,     // holds the redirector
    Illuminate\Contracts\Routing\ControllerDispatcher::class, // holds the container
];

/* The request's container: a clone of the booted one, current everywhere (app(), facades). */
function kiln_laravel_sandbox($app, $kernel, array $viewShared, string $bootLocale)
{
    $sandbox = clone $app;
    $sandbox->instance('app', $sandbox);
    $sandbox->instance(Container::class, $sandbox);
    Container::setInstance($sandbox);
    Facade::clearResolvedInstances();
    Facade::setFacadeApplication($sandbox);

    // config(['...' => ...]) during a request changes the request's copy only.
    $sandbox->instance('config', clone $app['config']);
    foreach (KILN_LARAVEL_PER_REQUEST as $service) {
        $sandbox->forgetInstance($service);
    }
    $sandbox->forgetScopedInstances();

    // Shared services that keep a container or a request's state.
    $kernel->setApplication($sandbox);
    $sandbox['router']->setContainer($sandbox);
    if ($app->resolved('view')) {
        $view = $sandbox['view'];
        $view->setContainer($sandbox);
        $view->flushState(); // sections, stacks, components of an aborted render
        $viewShared['app'] = $sandbox;
        // Factory has no public setter for the whole array: restore it from inside the class.
        (fn () => $this->shared = $viewShared)->call($view);
    }
    if ($app->resolved('session')) {
        // The manager stays (drivers added by Session::extend() too); the stores it built for the
        // previous request (id, attributes, flashed data) go. The URL generator reaches it
        // through the booted container, so it must be this very object.
        $sandbox['session']->forgetDrivers()->setContainer($sandbox);
    }
    if ($app->resolved('cookie')) {
        $sandbox['cookie']->flushQueuedCookies(); // AddQueuedCookiesToResponse leaves them queued
    }
    if ($app->resolved('auth')) {
        $sandbox['auth']->forgetGuards()->setApplication($sandbox); // the logged-in user
    }
    if ($app->resolved('validator')) {
        $sandbox['validator']->setContainer($sandbox);
    }
    if ($app->resolved(Illuminate\Contracts\Auth\Access\Gate::class)) {
        $sandbox[Illuminate\Contracts\Auth\Access\Gate::class]->setContainer($sandbox);
    }
    if ($app->resolved('translator')) {
        $sandbox['translator']->setLocale($bootLocale); // App::setLocale() of the last request
    }
    if ($app->resolved('log') && method_exists($logger = $sandbox['log']->driver(), 'withoutContext')) {
        $logger->withoutContext(); // Log::withContext()
    }
    if ($app->resolved('db')) {
        $sandbox['db']->setApplication($sandbox);
        foreach ($sandbox['db']->getConnections() as $connection) {
            while ($connection->transactionLevel() > 0) { // a transaction the last request left open
                $connection->rollBack();
            }
            $connection->flushQueryLog();
        }
    }
    return $sandbox;
}

$handler = static function () use ($app, $kernel, $viewShared, $bootLocale): void {
    $sandbox = kiln_laravel_sandbox($app, $kernel, $viewShared, $bootLocale);
    $request = Request::capture(); // from this request's superglobals
    // Closures of the providers that captured the booted container (the paginator's, ...) read
    // its 'request': make it this one too.
    $app->instance('request', $request);
    $response = $kernel->handle($request);
    $response->send();
    $kernel->terminate($request, $response);

    // A controller built for this request must not serve the next one (Route caches it).
    $route = $sandbox['router']->current();
    if ($route !== null) {
        $route->flushController();
    }
    $app->forgetInstance('request');
    Container::setInstance($app);
    Facade::clearResolvedInstances();
    Facade::setFacadeApplication($app);
};

while (kiln_handle_request($handler)) {
    gc_collect_cycles(); // the sandbox and the request's objects refer to each other
}
