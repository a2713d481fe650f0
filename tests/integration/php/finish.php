<?php
// Answers, finishes the request with `fn`, then waits (up to 20 s) for the test to create `go`
// before it writes `marker`: the answer can only arrive first if the finish really sent it.
echo "answered\n";
$fn = $_GET['fn'] ?? 'kiln_finish_request';
$fn();
for ($i = 0; $i < 2000 && !file_exists($_GET['go']); $i++)
    usleep(10000);
file_put_contents($_GET['marker'], file_exists($_GET['go']) ? 'finished in the background'
                                                            : 'gave up waiting for go');
