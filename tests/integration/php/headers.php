<?php
switch ($_GET['case'] ?? '') {
    case 'cookies':
        setcookie('a', 'one');
        setcookie('b', 'two; with=special & chars');
        break;
    case 'multi':
        header('X-Multi: 1');
        header('X-Multi: 2', false);
        header('X-Replaced: old');
        header('X-Replaced: new');
        header('X-Removed: yes');
        header_remove('X-Removed');
        break;
    case 'redirect':
        header('Location: /elsewhere');
        break;
    case 'teapot':
        http_response_code(418);
        break;
    case 'status-header':
        header('Status: 404 Not Found');
        break;
    case 'date-server': /* Symfony's Response sends Date on every response */
        header('Date: Thu, 01 Jan 2015 00:00:00 GMT');
        header('Server: app/1');
        break;
    case 'sent':
        echo 'x';
        flush();
        echo headers_sent() ? 'sent' : 'not sent';
        exit;
}
echo 'body';
