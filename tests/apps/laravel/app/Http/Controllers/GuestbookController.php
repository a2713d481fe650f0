<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Illuminate\Routing\Controller;

/* A guestbook kept in one JSON file under storage/: what a valid post writes, every worker reads. */
class GuestbookController extends Controller
{
    public function index()
    {
        return view('guestbook', ['entries' => $this->entries()]);
    }

    public function store(Request $request)
    {
        $data = $request->validate([
            'name' => 'required|string|max:40',
            'message' => 'required|string|min:3|max:500',
        ]);
        $entries = $this->entries();
        $entries[] = $data;
        file_put_contents($this->file(), json_encode($entries), LOCK_EX);
        return redirect()->route('guestbook')->with('status', 'Thank you, ' . $data['name'] . '!');
    }

    private function file(): string
    {
        return storage_path('app/guestbook.json');
    }

    private function entries(): array
    {
        $json = is_file($this->file()) ? file_get_contents($this->file()) : '[]';
        return json_decode($json, true) ?: [];
    }
}
