<?php

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Cookie;
use Illuminate\Support\Facades\Route;

/* pid, boots, served: the PHP process, how often it booted Laravel and served this route. */
Route::get('/status', function () {
    static $served = 0; // the route's closure lives as long as the booted application
    return ['app' => config('app.name'), 'framework' => 'Laravel ' . app()->version(),
            'pid' => getmypid(), 'boots' => App\Providers\RouteServiceProvider::$boots,
            'served' => ++$served];
});

/* The state a request can leave in a booted application (see /leave-state in web.php). */
Route::get('/state', function () {
    return ['app' => config('app.name'), 'locale' => app()->getLocale(),
            'shared' => array_keys(view()->getShared()),
            'errors' => view()->shared('errors') ? view()->shared('errors')->all() : [],
            'queued_cookies' => count(Cookie::getQueuedCookies())];
});

/* Echoes a JSON body back, with what Laravel read from the request. */
Route::post('/echo', function (Request $request) {
    $request->validate(['items' => 'required|array']);
    return response()->json([
        'received' => $request->json()->all(),
        'is_json' => $request->isJson(),
        'count' => count($request->input('items')),
    ], 201);
});
