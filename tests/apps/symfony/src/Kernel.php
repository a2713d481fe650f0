<?php

namespace App;

use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Bundle\TwigBundle\TwigBundle;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

/* The whole configuration in PHP: no YAML or annotations packages needed. */
class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    /** How many times a kernel booted in this PHP process (/api/status): 1 in worker mode. */
    public static int $boots = 0;

    public function boot()
    {
        if (!$this->booted) {
            self::$boots++;
        }
        parent::boot();
    }

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle(), new TwigBundle()];
    }

    public function getProjectDir(): string
    {
        return dirname(__DIR__);
    }

    protected function configureContainer(ContainerConfigurator $c): void
    {
        $env = require __DIR__ . '/../config/env.php';
        $c->extension('framework', [
            'secret' => $env['APP_SECRET'],
            'http_method_override' => false,
            'csrf_protection' => true,
            'form' => true,
            'validation' => ['enable_annotations' => false],
            'session' => [
                'handler_id' => 'session.handler.native_file',
                'save_path' => '%kernel.project_dir%/var/sessions',
                'storage_factory_id' => 'session.storage.factory.native',
                'cookie_secure' => 'auto',
                'cookie_samesite' => 'lax',
            ],
            'router' => ['utf8' => true],
            'php_errors' => ['log' => true],
        ]);
        $c->extension('twig', [
            'default_path' => '%kernel.project_dir%/templates',
            'strict_variables' => true,
        ]);
        $c->services()->defaults()->autowire()->autoconfigure()
            ->load('App\\Controller\\', __DIR__ . '/Controller/')->tag('controller.service_arguments');
        $c->services()->defaults()->autowire()->autoconfigure()
            ->load('App\\Service\\', __DIR__ . '/Service/');
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $app = Controller\AppController::class;
        $routes->add('home', '/')->controller([$app, 'home'])->methods(['GET', 'HEAD']);
        $routes->add('counter', '/counter')->controller([$app, 'counter'])->methods(['GET']);
        $routes->add('guestbook', '/guestbook')->controller([$app, 'guestbook'])
            ->methods(['GET', 'POST']);
        $routes->add('hello', '/hello/{name}')->controller([$app, 'hello'])
            ->requirements(['name' => '[A-Za-z0-9 _-]+'])->methods(['GET']);
        $routes->add('request', '/request')->controller([$app, 'request'])->methods(['GET']);
        $routes->add('api_status', '/api/status')->controller([$app, 'status'])->methods(['GET']);
        $routes->add('leave_state', '/leave-state')->controller([$app, 'leaveState'])->methods(['GET']);
        $routes->add('api_state', '/api/state')->controller([$app, 'state'])->methods(['GET']);
        $routes->add('api_echo', '/api/echo')->controller([$app, 'echo'])->methods(['POST']);
    }
}
