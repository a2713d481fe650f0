<?php
// Two requests meet: each leaves its name `me` in `dir`, then waits (up to 20 s) for `other`'s.
// "met" proves that both ran at the same time; run one after the other, the first says "alone".
$dir = $_GET['dir'];
file_put_contents("$dir/{$_GET['me']}", getmypid());
for ($i = 0; $i < 2000; $i++) {
    if (file_exists("$dir/{$_GET['other']}"))
        exit("met\n");
    usleep(10000);
}
echo "alone\n";
