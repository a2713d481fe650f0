<?php

namespace App\Service;

use Symfony\Contracts\Service\ResetInterface;

/*
 * Notes one request takes (/leave-state) in a shared service. ResetInterface makes it a
 * kernel.reset service (autoconfigured): Symfony empties it before the next request, which is
 * what keeps such state from one request to the next in worker mode.
 */
class RequestNotes implements ResetInterface
{
    private array $notes = [];

    public function add(string $note): void
    {
        $this->notes[] = $note;
    }

    public function all(): array
    {
        return $this->notes;
    }

    public function reset(): void
    {
        $this->notes = [];
    }
}
