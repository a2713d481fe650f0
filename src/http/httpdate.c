#include "http/httpdate.h"

#include <stdbool.h>
#include <string.h>

#include "text.h"

_Static_assert(sizeof(time_t) >= 8, "HTTP dates up to year 9999 need a 64-bit time_t");

/* The instants IMF-fixdate can express (4-digit years): 0000-01-01T00:00:00 .. 9999-12-31T23:59:59. */
#define HTTPDATE_MIN (-62167219200LL)
#define HTTPDATE_MAX 253402300799LL

#define SECS_PER_DAY 86400LL

/* Fixed English names: strftime's %a and %b follow the locale, HTTP does not. */
static const char day_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
static const char month_short[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct date_fields {
    int wday; /* 0 = Sunday, as written in the input */
    int day;
    int month; /* 1..12 */
    int year;
    int hour;
    int minute;
    int second;
};

struct cursor {
    const char *p;
    const char *end;
};

/* ---- calendar ------------------------------------------------------------------------------ */

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. Counting
 * from March makes the leap day the last day of the year, so each 400-year era has a fixed
 * shape: 146097 days, and month lengths from March follow (153 * m + 2) / 5.
 */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400; /* floor division: 0000-01-01 is in era -1 */
    int year_of_era = y - era * 400;                             /* 0..399 */
    int month_from_march = m > 2 ? m - 3 : m + 9;                /* 0..11 */
    int day_of_year = (153 * month_from_march + 2) / 5 + d - 1;  /* 0..365 */
    int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return (long long)era * 146097 + day_of_era - 719468; /* 719468: 0000-03-01 .. 1970-01-01 */
}

static int weekday_from_days(long long days)
{
    long long w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

/* ---- formatting ---------------------------------------------------------------------------- */

static char *put_digits(char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

static char *put_text(char *out, const char *text, size_t len)
{
    memcpy(out, text, len);
    return out + len;
}

void httpdate_format(time_t t, char out[HTTPDATE_LEN + 1])
{
    /* Out-of-range times are clamped so the output always has exactly HTTPDATE_LEN bytes. */
    if (t < HTTPDATE_MIN)
        t = HTTPDATE_MIN;
    else if (t > HTTPDATE_MAX)
        t = HTTPDATE_MAX;

    struct tm tm;
    gmtime_r(&t, &tm); /* cannot fail: the year is within 0..9999 */

    char *p = out;
    p = put_text(p, day_short[tm.tm_wday], 3);
    p = put_text(p, ", ", 2);
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = ' ';
    p = put_text(p, month_short[tm.tm_mon], 3);
    *p++ = ' ';
    p = put_digits(p, tm.tm_year + 1900, 4);
    *p++ = ' ';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    p = put_text(p, " GMT", 4);
    *p = '\0';
}

/* ---- parsing primitives -------------------------------------------------------------------- */

static bool take_literal(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool take_digits(struct cursor *c, int count, int *value)
{
    if (c->end - c->p < count)
        return false;
    int v = 0;
    for (int i = 0; i < count; i++) {
        char ch = c->p[i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    c->p += count;
    *value = v;
    return true;
}

/* Index of the 3-letter name at the cursor (case-sensitive, as RFC 9110 defines it), or -1. */
static int take_short_name(struct cursor *c, const char (*names)[4], int count)
{
    for (int i = 0; i < count; i++) {
        if (take_literal(c, names[i]))
            return i;
    }
    return -1;
}

/* "HH:MM:SS"; ranges are checked later with the rest of the date. */
static bool take_time_of_day(struct cursor *c, struct date_fields *f)
{
    return take_digits(c, 2, &f->hour) && take_literal(c, ":") && take_digits(c, 2, &f->minute) &&
           take_literal(c, ":") && take_digits(c, 2, &f->second);
}

static bool take_month(struct cursor *c, struct date_fields *f)
{
    int m = take_short_name(c, month_short, 12);
    f->month = m + 1;
    return m >= 0;
}

/* ---- the three forms, each after its day name ---------------------------------------------- */

/* IMF-fixdate rest: ", 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf_fixdate(struct cursor *c, struct date_fields *f)
{
    return take_literal(c, ", ") && take_digits(c, 2, &f->day) && take_literal(c, " ") &&
           take_month(c, f) && take_literal(c, " ") && take_digits(c, 4, &f->year) &&
           take_literal(c, " ") && take_time_of_day(c, f) && take_literal(c, " GMT");
}

/*
 * RFC 9110: a two-digit year that would be more than 50 years in the future is the most recent
 * past year with those digits. So the year is the one in (now - 50, now + 50] ending in `yy`.
 */
static int expand_two_digit_year(int yy)
{
    time_t now = time(NULL);
    struct tm tm;
    int current = gmtime_r(&now, &tm) ? tm.tm_year + 1900 : 1970;
    int ahead = (yy - current % 100 + 100) % 100; /* 0..99 years after the current year */
    return current + (ahead > 50 ? ahead - 100 : ahead);
}

/* RFC 850 rest: ", 06-Nov-94 08:49:37 GMT" */
static bool parse_rfc850(struct cursor *c, struct date_fields *f)
{
    int yy;
    if (!(take_literal(c, ", ") && take_digits(c, 2, &f->day) && take_literal(c, "-") &&
          take_month(c, f) && take_literal(c, "-") && take_digits(c, 2, &yy) &&
          take_literal(c, " ") && take_time_of_day(c, f) && take_literal(c, " GMT")))
        return false;
    f->year = expand_two_digit_year(yy);
    return true;
}

/* asctime rest: " Nov  6 08:49:37 1994" (the day is "DD" or " D") */
static bool parse_asctime(struct cursor *c, struct date_fields *f)
{
    if (!(take_literal(c, " ") && take_month(c, f) && take_literal(c, " ")))
        return false;
    bool day_ok = take_literal(c, " ") ? take_digits(c, 1, &f->day) : take_digits(c, 2, &f->day);
    return day_ok && take_literal(c, " ") && take_time_of_day(c, f) && take_literal(c, " ") &&
           take_digits(c, 4, &f->year);
}

static bool parse_any_form(struct cursor *c, struct date_fields *f)
{
    for (int i = 0; i < 7; i++) {
        if (take_literal(c, day_long[i])) {
            f->wday = i;
            return parse_rfc850(c, f);
        }
    }
    f->wday = take_short_name(c, day_short, 7);
    if (f->wday < 0 || c->p == c->end)
        return false;
    return *c->p == ',' ? parse_imf_fixdate(c, f) : parse_asctime(c, f);
}

/* ---- validation ---------------------------------------------------------------------------- */

/* Seconds since the epoch, or false if a field is out of range or the day name is wrong. */
static bool fields_to_time(const struct date_fields *f, long long *secs)
{
    /* Second 60 is a leap second (RFC 5322); like POSIX time it folds into the next second. */
    if (f->day < 1 || f->day > days_in_month(f->year, f->month) || f->hour > 23 ||
        f->minute > 59 || f->second > 60)
        return false;
    long long days = days_from_civil(f->year, f->month, f->day);
    /* RFC 5322 3.3: the day of the week must be the one the date implies. */
    if (weekday_from_days(days) != f->wday)
        return false;
    *secs = days * SECS_PER_DAY + f->hour * 3600LL + f->minute * 60LL + f->second;
    return *secs <= HTTPDATE_MAX; /* a leap second on 9999-12-31; years >= 0000 bound the start */
}

int httpdate_parse(const char *s, size_t len, time_t *t)
{
    /* A field value excludes surrounding whitespace (RFC 9110 5.5); accept it if left in. */
    s = text_trim(s, &len);
    struct cursor c = {s, s + len};

    struct date_fields f;
    long long secs;
    if (!parse_any_form(&c, &f) || c.p != c.end || !fields_to_time(&f, &secs))
        return -1;
    *t = (time_t)secs;
    return 0;
}
