@extends('layout')
@section('title', 'Home')
@section('content')
<h1>Laravel on Kiln</h1>
<p>Rendered by a Blade view, Laravel {{ $framework }}.</p>
<ul>
@foreach (['routing', 'sessions', 'CSRF', 'validation', 'JSON'] as $feature)
    <li>{{ $feature }}</li>
@endforeach
</ul>
@endsection
