<?php
/*
 * Installs WordPress the way wp-admin/install.php does, from PHP CLI (bench/apps/wordpress.sh).
 *   php wordpress-install.php DOCROOT URL ADMIN_PASSWORD
 * Site URL and home = URL, /%postname%/ permalinks, user `admin`, a few posts and a comment.
 */
if ($argc !== 4) {
    fwrite(STDERR, "usage: php wordpress-install.php DOCROOT URL ADMIN_PASSWORD\n");
    exit(2);
}
[, $docroot, $url, $password] = $argv;
$parts = parse_url($url);
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

define('WP_INSTALLING', true);
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

/* No mail, no HTTP: the install's permalink probe would ask a server that is not running yet. */
add_filter('pre_http_request', fn() => new WP_Error('offline', 'no HTTP while installing'));
add_filter('pre_wp_mail', '__return_false');

$result = wp_install('Kiln on WordPress', 'admin', 'admin@example.com', true, '', $password);
if (is_wp_error($result) || empty($result['user_id'])) {
    fwrite(STDERR, "wp_install failed\n");
    exit(1);
}
update_option('siteurl', $url);
update_option('home', $url);
update_option('blogdescription', 'A WordPress site served by Kiln');
$wp_rewrite->set_permalink_structure('/%postname%/');
delete_option('rewrite_rules'); /* rebuilt on the first request, with the new structure */

$paragraph = 'Kiln runs PHP in worker processes forked from a zygote, behind an epoll event loop '
    . 'that speaks HTTP/1.1 and HTTP/2. Static files are served by the event loop itself, with '
    . 'ranges, conditional requests and precompressed variants; PHP requests are queued for the '
    . 'next free worker. ';
$posts = [
    ['kiln-serves-wordpress', 'Kiln serves WordPress', 'This post is rendered by WordPress, running under Kiln.'],
    ['routing-with-try-files', 'Routing with try-files', 'Pretty permalinks need the front controller; wp-login.php and wp-admin need their own scripts.'],
    ['a-longer-read', 'A longer read', 'Some realistic content, so that a post page has a body to render.'],
];
$ids = [];
foreach ($posts as $i => [$slug, $title, $lead]) {
    $content = "<!-- wp:paragraph -->\n<p>$lead</p>\n<!-- /wp:paragraph -->\n";
    for ($p = 0; $p < 6; $p++) {
        $content .= "<!-- wp:paragraph -->\n<p>" . str_repeat($paragraph, 2) . "</p>\n<!-- /wp:paragraph -->\n";
    }
    $ids[] = wp_insert_post([
        'post_name' => $slug,
        'post_title' => $title,
        'post_content' => $content,
        'post_excerpt' => $lead,
        'post_status' => 'publish',
        'post_author' => $result['user_id'],
        'post_date' => gmdate('Y-m-d H:i:s', time() - 3600 * (count($posts) - $i)),
        'tags_input' => ['kiln', 'php'],
    ], true);
}
foreach ($ids as $id) {
    if (is_wp_error($id)) {
        fwrite(STDERR, 'wp_insert_post failed: ' . $id->get_error_message() . "\n");
        exit(1);
    }
}
wp_insert_comment([
    'comment_post_ID' => $ids[0],
    'comment_author' => 'A Reader',
    'comment_author_email' => 'reader@example.com',
    'comment_content' => 'Nice to see WordPress running on a new server.',
    'comment_approved' => 1,
]);
echo "installed at $url\n";
