<?php
// Writes past the SAPI, to the worker's own stdout and stderr.
file_put_contents('php://stdout', "stray stdout line from a worker\n");
file_put_contents('php://stderr', "stray stderr line from a worker\n");
echo "ok\n";
