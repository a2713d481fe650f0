<?php
/*
 * What composer's vendor/autoload.php does in a composer-built application: Debian's
 * php-symfony-* packages install each component under /usr/share/php/Symfony with its own
 * autoloader (which loads those of its dependencies); the application's classes (namespace App\,
 * in src/) get a PSR-4 loader of a few lines.
 */
require_once '/usr/share/php/Symfony/Bundle/FrameworkBundle/autoload.php';
require_once '/usr/share/php/Symfony/Bundle/TwigBundle/autoload.php';
require_once '/usr/share/php/Symfony/Bridge/Twig/autoload.php';
require_once '/usr/share/php/Symfony/Component/Form/autoload.php';
require_once '/usr/share/php/Symfony/Component/Security/Csrf/autoload.php';
require_once '/usr/share/php/Symfony/Component/Validator/autoload.php';

spl_autoload_register(function (string $class): void {
    $prefix = 'App\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/../src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
