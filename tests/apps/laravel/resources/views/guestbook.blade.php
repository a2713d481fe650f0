@extends('layout')
@section('title', 'Guestbook')
@section('content')
<h1>Guestbook</h1>
@if (session('status'))
<p id="status">{{ session('status') }}</p>
@endif
@if ($errors->any())
<ul id="errors">
@foreach ($errors->all() as $error)
    <li class="error">{{ $error }}</li>
@endforeach
</ul>
@endif
<form method="post" action="{{ url('/guestbook') }}">
    @csrf
    <input name="name" value="{{ old('name') }}">
    <textarea name="message">{{ old('message') }}</textarea>
    <button type="submit">Sign</button>
</form>
<ol id="entries">
@foreach ($entries as $entry)
    <li><b>{{ $entry['name'] }}</b>: {{ $entry['message'] }}</li>
@endforeach
</ol>
@endsection
