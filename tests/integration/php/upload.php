<?php
header('Content-Type: application/json');
$f = $_FILES['file'] ?? null;
$out = ['files' => $_FILES, 'post' => $_POST];
if ($f && $f['error'] === UPLOAD_ERR_OK) {
    $dest = sys_get_temp_dir() . '/kiln-upload-' . getmypid() . '-' . bin2hex(random_bytes(4));
    $out['is_uploaded'] = is_uploaded_file($f['tmp_name']);
    $out['moved'] = move_uploaded_file($f['tmp_name'], $dest);
    $out['md5'] = md5_file($dest);
    $out['size'] = filesize($dest);
    unlink($dest);
}
echo json_encode($out);
