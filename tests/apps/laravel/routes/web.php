<?php

use App\Http\Controllers\GuestbookController;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Cookie;
use Illuminate\Support\Facades\Route;
use Illuminate\Support\Facades\View;

Route::get('/', function () {
    return view('home', ['framework' => app()->version()]);
})->name('home');

Route::get('/counter', function (Request $request) {
    $visits = $request->session()->get('visits', 0) + 1;
    $request->session()->put('visits', $visits);
    return view('counter', ['visits' => $visits]);
});

Route::get('/hello/{name}', function (string $name) {
    return view('hello', ['name' => $name]);
})->where('name', '[A-Za-z0-9 _-]+');

Route::get('/guestbook', [GuestbookController::class, 'index'])->name('guestbook');
Route::post('/guestbook', [GuestbookController::class, 'store']);

/* What Laravel makes of the request: its URLs, scheme, client and a redirect it builds. */
Route::get('/request', function (Request $request) {
    return response()->json([
        'url' => $request->url(),
        'full_url' => $request->fullUrl(),
        'path' => $request->path(),
        'query' => $request->query(),
        'secure' => $request->isSecure(),
        'ip' => $request->ip(),
        'host' => $request->getHttpHost(),
        'route_url' => route('guestbook'),
    ]);
});

/* Changes what a booted application keeps: none of it may reach the next request (worker mode). */
Route::get('/leave-state', function () {
    config(['app.name' => 'Changed by a request']);
    app()->setLocale('fr');
    View::share('leaked', 'by a request');
    Cookie::queue('leaked', 'by a request');
    return response()->json(['shared' => array_keys(view()->getShared())]);
});

Route::get('/go-home', function () {
    return redirect()->route('home');
});
