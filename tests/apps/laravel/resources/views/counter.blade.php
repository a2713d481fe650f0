@extends('layout')
@section('title', 'Counter')
@section('content')
<p id="visits">Visits in this session: {{ $visits }}</p>
@endsection
