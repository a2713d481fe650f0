#include "http/mime.h"

#include <stdlib.h>
#include <string.h>

#define MIME_DEFAULT "application/octet-stream"

/* Longer than any extension in the table: longer ones cannot match and are not copied. */
#define MIME_EXT_MAX 16

struct mime_entry {
    const char *ext; /* lowercase, without the dot */
    const char *type;
};

/*
 * Sorted by extension (strcmp order) for bsearch. IANA types where one is registered and in
 * use; the de facto x- type otherwise. There is deliberately no entry for php: PHP source is
 * never sent as a static file, and if it ever were, octet-stream is the safe answer.
 */
static const struct mime_entry mime_table[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apk", "application/vnd.android.package-archive"},
    {"atom", "application/atom+xml"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"br", "application/x-brotli"},
    {"bz2", "application/x-bzip2"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"deb", "application/vnd.debian.binary-package"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"eot", "application/vnd.ms-fontobject"},
    {"epub", "application/epub+zip"},
    {"exe", "application/vnd.microsoft.portable-executable"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar"},
    {"iso", "application/x-iso9660-image"},
    {"jar", "application/java-archive"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mkv", "video/matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"msi", "application/x-msi"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"rar", "application/vnd.rar"},
    {"rpm", "application/x-rpm"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"vcf", "text/vcard"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

static int mime_entry_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct mime_entry *)elem)->ext);
}

/*
 * The extension of the last path segment: what follows its last '.', or NULL when there is
 * none. A leading dot names a hidden file, not an extension (".htaccess", ".gz" have none).
 */
static const char *find_extension(const char *name, size_t len, size_t *ext_len)
{
    const char *end = name + len;
    const char *segment = name;
    const char *dot = NULL;
    for (const char *p = name; p < end; p++) {
        if (*p == '/') {
            segment = p + 1;
            dot = NULL;
        } else if (*p == '.') {
            dot = p;
        }
    }
    if (!dot || dot == segment)
        return NULL;
    *ext_len = (size_t)(end - dot - 1);
    return dot + 1;
}

const char *mime_lookup(const char *name, size_t len)
{
    size_t ext_len = 0;
    const char *ext = find_extension(name, len, &ext_len);
    if (!ext || ext_len == 0 || ext_len >= MIME_EXT_MAX)
        return MIME_DEFAULT;

    char key[MIME_EXT_MAX];
    for (size_t i = 0; i < ext_len; i++) {
        char c = ext[i];
        if (c == '\0') /* would cut the key short: "png\0.php" must not look like png */
            return MIME_DEFAULT;
        key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    key[ext_len] = '\0';

    size_t count = sizeof(mime_table) / sizeof(mime_table[0]);
    const struct mime_entry *hit =
        bsearch(key, mime_table, count, sizeof(mime_table[0]), mime_entry_cmp);
    return hit ? hit->type : MIME_DEFAULT;
}
