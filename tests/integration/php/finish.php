<?php
echo "answered\n";
$fn = $_GET['fn'] ?? 'kiln_finish_request';
$fn();
sleep(2);
file_put_contents($_GET['marker'], 'finished in the background');
