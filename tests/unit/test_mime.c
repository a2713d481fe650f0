/* Unit tests for http/mime: extension extraction and the built-in type table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/mime.h"

#define OCTET "application/octet-stream"

struct mime_case {
    const char *name;
    const char *type;
};

static const char *lookup(const char *name)
{
    return mime_lookup(name, strlen(name));
}

static void check_cases(const struct mime_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *got = lookup(cases[i].name);
        if (strcmp(got, cases[i].type) != 0)
            fail_msg("mime_lookup(\"%s\") = \"%s\", want \"%s\"", cases[i].name, got,
                     cases[i].type);
    }
}

/* Every extension of the table; a mis-sorted table makes some of these miss in bsearch. */
static void test_every_table_entry(void **state)
{
    (void)state;
    static const struct mime_case cases[] = {
        {"a.html", "text/html"},
        {"a.htm", "text/html"},
        {"a.css", "text/css"},
        {"a.js", "text/javascript"},
        {"a.mjs", "text/javascript"},
        {"a.json", "application/json"},
        {"a.map", "application/json"},
        {"a.xml", "application/xml"},
        {"a.txt", "text/plain"},
        {"a.csv", "text/csv"},
        {"a.md", "text/markdown"},
        {"a.svg", "image/svg+xml"},
        {"a.png", "image/png"},
        {"a.jpg", "image/jpeg"},
        {"a.jpeg", "image/jpeg"},
        {"a.gif", "image/gif"},
        {"a.webp", "image/webp"},
        {"a.avif", "image/avif"},
        {"a.ico", "image/vnd.microsoft.icon"},
        {"a.bmp", "image/bmp"},
        {"a.tif", "image/tiff"},
        {"a.tiff", "image/tiff"},
        {"a.woff", "font/woff"},
        {"a.woff2", "font/woff2"},
        {"a.ttf", "font/ttf"},
        {"a.otf", "font/otf"},
        {"a.eot", "application/vnd.ms-fontobject"},
        {"a.pdf", "application/pdf"},
        {"a.zip", "application/zip"},
        {"a.gz", "application/gzip"},
        {"a.tgz", "application/gzip"},
        {"a.bz2", "application/x-bzip2"},
        {"a.xz", "application/x-xz"},
        {"a.zst", "application/zstd"},
        {"a.br", "application/x-brotli"},
        {"a.7z", "application/x-7z-compressed"},
        {"a.rar", "application/vnd.rar"},
        {"a.tar", "application/x-tar"},
        {"a.mp3", "audio/mpeg"},
        {"a.ogg", "audio/ogg"},
        {"a.oga", "audio/ogg"},
        {"a.opus", "audio/ogg"},
        {"a.wav", "audio/wav"},
        {"a.flac", "audio/flac"},
        {"a.m4a", "audio/mp4"},
        {"a.aac", "audio/aac"},
        {"a.mp4", "video/mp4"},
        {"a.m4v", "video/mp4"},
        {"a.webm", "video/webm"},
        {"a.ogv", "video/ogg"},
        {"a.mov", "video/quicktime"},
        {"a.avi", "video/x-msvideo"},
        {"a.mkv", "video/matroska"},
        {"a.wasm", "application/wasm"},
        {"a.apk", "application/vnd.android.package-archive"},
        {"a.exe", "application/vnd.microsoft.portable-executable"},
        {"a.bin", "application/octet-stream"},
        {"a.iso", "application/x-iso9660-image"},
        {"a.dmg", "application/x-apple-diskimage"},
        {"a.deb", "application/vnd.debian.binary-package"},
        {"a.rpm", "application/x-rpm"},
        {"a.msi", "application/x-msi"},
        {"a.jar", "application/java-archive"},
        {"a.doc", "application/msword"},
        {"a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"a.xls", "application/vnd.ms-excel"},
        {"a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"a.ppt", "application/vnd.ms-powerpoint"},
        {"a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"a.odt", "application/vnd.oasis.opendocument.text"},
        {"a.ods", "application/vnd.oasis.opendocument.spreadsheet"},
        {"a.odp", "application/vnd.oasis.opendocument.presentation"},
        {"a.rtf", "application/rtf"},
        {"a.epub", "application/epub+zip"},
        {"a.ics", "text/calendar"},
        {"a.vcf", "text/vcard"},
        {"a.yaml", "application/yaml"},
        {"a.yml", "application/yaml"},
        {"a.toml", "application/toml"},
        {"a.webmanifest", "application/manifest+json"},
        {"a.atom", "application/atom+xml"},
        {"a.rss", "application/rss+xml"},
        {"a.jsonld", "application/ld+json"},
        {"a.xhtml", "application/xhtml+xml"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_case_insensitive(void **state)
{
    (void)state;
    static const struct mime_case cases[] = {
        {"INDEX.HTML", "text/html"},
        {"photo.JpG", "image/jpeg"},
        {"font.WOFF2", "font/woff2"},
        {"app.WebManifest", "application/manifest+json"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_extension_is_last_dot_of_last_segment(void **state)
{
    (void)state;
    static const struct mime_case cases[] = {
        {"/var/www/html/css/site.min.css", "text/css"},
        {"archive.tar.gz", "application/gzip"},
        {"/assets.v2/readme", OCTET},     /* a dot in a directory is not an extension */
        {"/a.css/b", OCTET},
        {"/dir/", OCTET},
        {"/a/b.png/c.txt", "text/plain"},
        {"file", OCTET},
        {"file.", OCTET},                 /* empty extension */
        {"", OCTET},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_dotfiles(void **state)
{
    (void)state;
    static const struct mime_case cases[] = {
        {".htaccess", OCTET},
        {"/www/.gz", OCTET},              /* hidden file named "gz", no extension */
        {"/www/.css", OCTET},
        {"/www/.config.json", "application/json"},
        {"/www/.well-known/security.txt", "text/plain"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unknown_and_php(void **state)
{
    (void)state;
    static const struct mime_case cases[] = {
        {"index.php", OCTET},
        {"index.PHP", OCTET},
        {"script.phtml", OCTET},
        {"data.unknownext", OCTET},
        {"x.webmanifestwebmanifest", OCTET}, /* longer than any table entry */
        {"x.htm l", OCTET},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_length_bounds_the_name(void **state)
{
    (void)state;
    /* Only name[0..len) counts: the buffer need not be NUL-terminated at len. */
    const char *name = "index.html.php";
    assert_string_equal(mime_lookup(name, strlen("index.html")), "text/html");
    assert_string_equal(mime_lookup(name, strlen("index.ht")), OCTET);
    assert_string_equal(mime_lookup(name, 0), OCTET);

    /* An embedded NUL must not truncate the extension into a known one. */
    static const char nul_inside[] = "a.png\0x";
    assert_string_equal(mime_lookup(nul_inside, sizeof(nul_inside) - 1), OCTET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_table_entry),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_extension_is_last_dot_of_last_segment),
        cmocka_unit_test(test_dotfiles),
        cmocka_unit_test(test_unknown_and_php),
        cmocka_unit_test(test_length_bounds_the_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
