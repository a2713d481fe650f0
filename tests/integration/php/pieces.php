<?php
// Four pieces of 3 KB, each flushed: a streamed page (DokuWiki's template flushes the same way).
$piece = str_repeat('x', 3071) . "\n";
for ($i = 0; $i < 4; $i++) {
    echo $piece;
    flush();
}
