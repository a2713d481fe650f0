<?php
/* Read by Illuminate\Http\Middleware\TrustProxies: the proxies in front of Kiln, if any. */
return [
    'proxies' => env('APP_TRUSTED_PROXIES'),
];
