<?php

use App\Http\Controllers\GuestbookController;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

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

Route::get('/go-home', function () {
    return redirect()->route('home');
});
