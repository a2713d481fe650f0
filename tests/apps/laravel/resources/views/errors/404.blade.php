@extends('layout')
@section('title', 'Not Found')
@section('content')
<h1>No such page</h1>
<p>The Laravel application has nothing at this address.</p>
@endsection
