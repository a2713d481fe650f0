<?php

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

Route::get('/status', function () {
    return ['app' => config('app.name'), 'framework' => 'Laravel ' . app()->version()];
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
