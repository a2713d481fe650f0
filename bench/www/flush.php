<?php
// A page sent in four pieces of about 3 KiB, each pushed out with flush() as soon as it is ready,
// the way a page streams its head before the slow part. "X-Accel-Buffering: no" is how an
// application tells nginx to pass such pieces on at once; Kiln sends flushed output as it comes.
header('X-Accel-Buffering: no');
// Debian's output_buffering = 4096 would hold the pieces back: flush() does not empty PHP's buffer.
while (ob_get_level() > 0) {
    ob_end_flush();
}
echo "<!DOCTYPE html>\n<html><head><title>Streamed</title></head><body>\n";
for ($piece = 1; $piece <= 4; $piece++) {
    echo "<section id=\"part$piece\">\n";
    for ($line = 1; $line <= 36; $line++) {
        echo "<p>Piece $piece, line $line: lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n";
    }
    echo $piece === 4 ? "</section>\n</body></html>\n" : "</section>\n";
    flush();
}
