<?php

namespace App\Controller;

use App\Service\RequestNotes;
use Symfony\Bundle\FrameworkBundle\Controller\AbstractController;
use Symfony\Component\Form\Extension\Core\Type\SubmitType;
use Symfony\Component\Form\Extension\Core\Type\TextareaType;
use Symfony\Component\Form\Extension\Core\Type\TextType;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Kernel;
use Symfony\Component\Validator\Constraints\Length;
use Symfony\Component\Validator\Constraints\NotBlank;

class AppController extends AbstractController
{
    public function home(): Response
    {
        return $this->render('home.html.twig', ['version' => Kernel::VERSION]);
    }

    public function counter(Request $request): Response
    {
        $session = $request->getSession();
        $session->set('visits', $session->get('visits', 0) + 1);
        return $this->render('counter.html.twig', ['visits' => $session->get('visits')]);
    }

    /* A form with CSRF protection and validation; valid entries go to var/guestbook.json. */
    public function guestbook(Request $request): Response
    {
        $form = $this->createFormBuilder()
            ->add('name', TextType::class, ['constraints' => [new NotBlank(), new Length(['max' => 40])]])
            ->add('message', TextareaType::class,
                  ['constraints' => [new NotBlank(), new Length(['min' => 3, 'max' => 500])]])
            ->add('sign', SubmitType::class)
            ->getForm();
        $form->handleRequest($request);
        if ($form->isSubmitted() && $form->isValid()) {
            $entries = $this->entries();
            $entries[] = $form->getData();
            file_put_contents($this->guestbookFile(), json_encode($entries), LOCK_EX);
            $this->addFlash('status', 'Thank you, ' . $form->getData()['name'] . '!');
            return $this->redirectToRoute('guestbook');
        }
        $status = $form->isSubmitted() ? Response::HTTP_UNPROCESSABLE_ENTITY : Response::HTTP_OK;
        return $this->renderForm('guestbook.html.twig',
            ['form' => $form, 'entries' => $this->entries()], new Response('', $status));
    }

    public function hello(string $name): Response
    {
        return $this->render('hello.html.twig', ['name' => $name]);
    }

    /* What Symfony makes of the request: its URLs, scheme, client and a URL it generates. */
    public function request(Request $request): JsonResponse
    {
        return $this->json([
            'uri' => $request->getUri(),
            'path_info' => $request->getPathInfo(),
            'base_url' => $request->getBaseUrl(),
            'query' => $request->query->all(),
            'secure' => $request->isSecure(),
            'ip' => $request->getClientIp(),
            'host' => $request->getHttpHost(),
            'route_url' => $this->generateUrl('guestbook', [], 0),
        ]);
    }

    /* pid, boots, served: the PHP process, how often it booted the kernel and served this route. */
    public function status(): JsonResponse
    {
        static $served = 0; // lives as long as the PHP process's state: one request, or a worker
        return $this->json(['app' => 'Kiln Symfony', 'framework' => 'Symfony ' . Kernel::VERSION,
                            'pid' => getmypid(), 'boots' => \App\Kernel::$boots, 'served' => ++$served]);
    }

    /* Leaves notes in a shared service: none may reach the next request (worker mode). */
    public function leaveState(RequestNotes $notes): JsonResponse
    {
        $notes->add('left by a request');
        return $this->json(['notes' => $notes->all()]);
    }

    public function state(RequestNotes $notes): JsonResponse
    {
        return $this->json(['notes' => $notes->all()]);
    }

    /* Echoes a JSON body back; 400 when it is not a JSON object with an "items" list. */
    public function echo(Request $request): JsonResponse
    {
        $data = json_decode($request->getContent(), true);
        if (!is_array($data) || !isset($data['items']) || !is_array($data['items'])) {
            return $this->json(['error' => 'a JSON object with an "items" list is expected'], 400);
        }
        return $this->json(['received' => $data, 'content_type' => $request->getContentType(),
                            'count' => count($data['items'])], 201);
    }

    private function guestbookFile(): string
    {
        return $this->getParameter('kernel.project_dir') . '/var/guestbook.json';
    }

    private function entries(): array
    {
        $json = is_file($this->guestbookFile()) ? file_get_contents($this->guestbookFile()) : '[]';
        return json_decode($json, true) ?: [];
    }
}
