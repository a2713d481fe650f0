<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@yield('title') - {{ config('app.name') }}</title>
<link rel="stylesheet" href="{{ asset('css/app.css') }}">
</head>
<body>
<nav><a href="{{ route('home') }}">Home</a> <a href="{{ route('guestbook') }}">Guestbook</a></nav>
@yield('content')
</body>
</html>
