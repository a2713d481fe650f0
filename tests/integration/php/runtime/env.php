<?php
// getenv() of the names given, false when unset.
header('Content-Type: application/json');
$out = [];
foreach (explode(',', $_GET['names'] ?? '') as $name) {
    $out[$name] = getenv($name);
}
$out['_local_only_PATH'] = getenv('PATH', true);
echo json_encode($out);
