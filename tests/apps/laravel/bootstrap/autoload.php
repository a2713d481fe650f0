<?php
/*
 * What composer's vendor/autoload.php does in a composer-built application: Debian's
 * php-laravel-framework installs the framework under /usr/share/php with one autoloader for
 * Illuminate and everything it depends on; the application's own classes (namespace App\, in
 * app/) get a PSR-4 loader of a few lines.
 */
require_once '/usr/share/php/Illuminate/autoload.php'; // helpers.php included

spl_autoload_register(function (string $class): void {
    $prefix = 'App\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/../app/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
