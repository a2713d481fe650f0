<?php
// Loaded once by opcache.preload in the php-zygote; requests use it without including it.
function kiln_preloaded_greeting(string $who): string
{
    return "hello $who from preload";
}

final class KilnPreloaded
{
    public const ANSWER = 42;

    public static function twice(int $n): int
    {
        return 2 * $n;
    }
}
