#include "http/response.h"

#include <string.h>

#include "http/httpdate.h"

struct status_reason {
    int status;
    const char *reason;
};

static const struct status_reason reasons[] = {
    {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
    {202, "Accepted"}, {203, "Non-Authoritative Information"}, {204, "No Content"},
    {205, "Reset Content"}, {206, "Partial Content"}, {207, "Multi-Status"},
    {300, "Multiple Choices"}, {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
    {304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
    {404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"}, {408, "Request Timeout"}, {409, "Conflict"},
    {410, "Gone"}, {411, "Length Required"}, {412, "Precondition Failed"},
    {413, "Content Too Large"}, {414, "URI Too Long"}, {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"}, {417, "Expectation Failed"}, {418, "I'm a teapot"},
    {421, "Misdirected Request"}, {422, "Unprocessable Content"}, {423, "Locked"},
    {424, "Failed Dependency"}, {425, "Too Early"}, {426, "Upgrade Required"},
    {428, "Precondition Required"}, {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"}, {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
    {503, "Service Unavailable"}, {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
    {506, "Variant Also Negotiates"}, {507, "Insufficient Storage"}, {508, "Loop Detected"},
    {511, "Network Authentication Required"},
};

const char *response_reason(int status)
{
    size_t lo = 0;
    size_t hi = sizeof(reasons) / sizeof(reasons[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (reasons[mid].status == status)
            return reasons[mid].reason;
        if (reasons[mid].status < status)
            lo = mid + 1;
        else
            hi = mid;
    }
    return "Unknown";
}

/* The Date header changes once a second; format it once a second, not once a response. */
static const char *cached_date(time_t now)
{
    static time_t cached_at = -1;
    static char date[HTTPDATE_LEN + 1];
    if (now != cached_at) {
        httpdate_format(now, date);
        cached_at = now;
    }
    return date;
}

unsigned response_own_headers(const struct headers *h)
{
    size_t len;
    return (headers_find(h, "Server", &len) ? 0 : RESPONSE_OWN_SERVER) |
           (headers_find(h, "Date", &len) ? 0 : RESPONSE_OWN_DATE);
}

void response_begin(struct buf *out, int status, time_t now, const struct headers *h)
{
    unsigned own = response_own_headers(h);
    buf_append(out, "HTTP/1.1 ", 9);
    buf_append_uint(out, (unsigned)status);
    buf_append_char(out, ' ');
    buf_append_str(out, response_reason(status));
    buf_append(out, "\r\n", 2);
    if (own & RESPONSE_OWN_SERVER)
        buf_append_str(out, "Server: " RESPONSE_SERVER "\r\n");
    if (own & RESPONSE_OWN_DATE) {
        buf_append(out, "Date: ", 6);
        buf_append(out, cached_date(now), HTTPDATE_LEN);
        buf_append(out, "\r\n", 2);
    }
}

void response_add_headers(struct buf *out, const struct headers *h)
{
    for (size_t i = 0; i < h->count; i++) {
        struct http_field f = headers_at(h, i);
        char *to = buf_reserve(out, f.name_len + f.value_len + 4);
        memcpy(to, f.name, f.name_len);
        to += f.name_len;
        *to++ = ':';
        *to++ = ' ';
        memcpy(to, f.value, f.value_len);
        to += f.value_len;
        *to++ = '\r';
        *to = '\n';
        out->len += f.name_len + f.value_len + 4;
    }
}

void response_header_uint(struct buf *out, const char *name, unsigned long long value)
{
    buf_append_str(out, name);
    buf_append(out, ": ", 2);
    buf_append_uint(out, value);
    buf_append(out, "\r\n", 2);
}

void response_end_head(struct buf *out, bool close, bool keep_alive_10)
{
    if (close)
        buf_append_str(out, "Connection: close\r\n");
    else if (keep_alive_10)
        buf_append_str(out, "Connection: keep-alive\r\n");
    buf_append(out, "\r\n", 2);
}
