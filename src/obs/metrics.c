#include "obs/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_series {
    char *values[METRICS_MAX_LABELS];
    union {
        struct metrics_counter counter;
        struct metrics_gauge gauge;
        struct metrics_histogram histogram;
    } u;
};

struct metrics_family {
    enum metrics_type type;
    char *name;
    char *help;
    char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct metrics_series **series; /* each allocated alone: handles into them stay valid */
    size_t nseries;
};

struct metrics_registry {
    struct metrics_family **families;
    size_t nfamilies;
};

/* Registration happens at start-up; like buf, running out of memory there is fatal. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xcalloc(n, 1), s, n);
}

/* Appends one pointer to a growing array (growth by one: registration only). */
static void *array_push(void *array, size_t *count, size_t elem_size)
{
    void *grown = realloc(array, (*count + 1) * elem_size);
    if (!grown)
        abort();
    (*count)++;
    return grown;
}

struct metrics_registry *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics_registry));
}

static void family_free(struct metrics_family *f)
{
    for (size_t i = 0; i < f->nseries; i++) {
        for (size_t j = 0; j < f->nlabels; j++)
            free(f->series[i]->values[j]);
        free(f->series[i]);
    }
    for (size_t j = 0; j < f->nlabels; j++)
        free(f->labels[j]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfamilies; i++)
        family_free(r->families[i]);
    free(r->families);
    free(r);
}

/* ---- registration --------------------------------------------------------------------- */

static bool is_name_char(char c, bool first, bool colon_ok)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* A metric name (colons allowed) or a label name (not). */
static bool is_valid_name(const char *s, bool colon_ok)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!is_name_char(s[i], i == 0, colon_ok))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool labels_ok(enum metrics_type type, const struct metrics_desc *d)
{
    if (d->nlabels > METRICS_MAX_LABELS)
        return false;
    for (size_t i = 0; i < d->nlabels; i++) {
        const char *l = d->labels[i];
        if (!is_valid_name(l, false) || strncmp(l, "__", 2) == 0)
            return false;
        if (type == METRICS_HISTOGRAM && strcmp(l, "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(l, d->labels[j]) == 0)
                return false;
    }
    return true;
}

static bool buckets_ok(enum metrics_type type, const struct metrics_desc *d)
{
    if (type != METRICS_HISTOGRAM)
        return d->nbuckets == 0;
    if (d->nbuckets > METRICS_MAX_BUCKETS || (d->nbuckets > 0 && !d->buckets))
        return false;
    for (size_t i = 0; i < d->nbuckets; i++)
        if (!isfinite(d->buckets[i]) || (i > 0 && !(d->buckets[i] > d->buckets[i - 1])))
            return false;
    return true;
}

static bool desc_ok(const struct metrics_registry *r, enum metrics_type type,
                    const struct metrics_desc *d)
{
    if (!is_valid_name(d->name, true) || !d->help)
        return false;
    if (type == METRICS_COUNTER && !ends_with(d->name, "_total"))
        return false;
    if (!labels_ok(type, d) || !buckets_ok(type, d))
        return false;
    for (size_t i = 0; i < r->nfamilies; i++)
        if (strcmp(r->families[i]->name, d->name) == 0)
            return false;
    return true;
}

struct metrics_family *metrics_register(struct metrics_registry *r, enum metrics_type type,
                                        const struct metrics_desc *desc)
{
    if (type != METRICS_COUNTER && type != METRICS_GAUGE && type != METRICS_HISTOGRAM)
        return NULL;
    if (!desc_ok(r, type, desc))
        return NULL;
    struct metrics_family *f = xcalloc(1, sizeof(*f));
    f->type = type;
    f->name = xstrdup(desc->name);
    f->help = xstrdup(desc->help);
    f->nlabels = desc->nlabels;
    for (size_t i = 0; i < desc->nlabels; i++)
        f->labels[i] = xstrdup(desc->labels[i]);
    f->nbounds = desc->nbuckets;
    if (desc->nbuckets > 0)
        memcpy(f->bounds, desc->buckets, desc->nbuckets * sizeof(double));
    r->families = array_push(r->families, &r->nfamilies, sizeof(*r->families));
    r->families[r->nfamilies - 1] = f;
    return f;
}

static bool same_values(const struct metrics_family *f, const struct metrics_series *s,
                        const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

static struct metrics_series *series_at(struct metrics_family *f, enum metrics_type type,
                                        const char *const *values)
{
    if (!f || f->type != type)
        return NULL;
    if (f->nlabels > 0 && !values)
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++)
        if (!values[i])
            return NULL;
    for (size_t i = 0; i < f->nseries; i++)
        if (same_values(f, f->series[i], values))
            return f->series[i];
    struct metrics_series *s = xcalloc(1, sizeof(*s));
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = xstrdup(values[i]);
    if (type == METRICS_HISTOGRAM) {
        s->u.histogram.bounds = f->bounds;
        s->u.histogram.nbounds = f->nbounds;
    }
    f->series = array_push(f->series, &f->nseries, sizeof(*f->series));
    f->series[f->nseries - 1] = s;
    return s;
}

struct metrics_counter *metrics_counter_at(struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = series_at(f, METRICS_COUNTER, values);
    return s ? &s->u.counter : NULL;
}

struct metrics_gauge *metrics_gauge_at(struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = series_at(f, METRICS_GAUGE, values);
    return s ? &s->u.gauge : NULL;
}

struct metrics_histogram *metrics_histogram_at(struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = series_at(f, METRICS_HISTOGRAM, values);
    return s ? &s->u.histogram : NULL;
}

/* ---- hot path ------------------------------------------------------------------------- */

void metrics_histogram_observe(struct metrics_histogram *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && !(v <= h->bounds[i]))
        i++;
    h->counts[i]++;
    h->sum += v;
}

/* ---- exposition ----------------------------------------------------------------------- */

/* The shortest "%g" that reads back as v (the process runs in the C locale: '.' decimals). */
static void append_double(struct buf *b, double v)
{
    if (isnan(v)) {
        buf_append_str(b, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_append_str(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(tmp, sizeof(tmp), "%.*g", precision, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    buf_append_str(b, tmp);
}

/* Help text escapes \ and newline; label values also escape the double quote. */
static void append_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_append(b, "\\\\", 2);
        else if (*s == '\n')
            buf_append(b, "\\n", 2);
        else if (quote && *s == '"')
            buf_append(b, "\\\"", 2);
        else
            buf_append_char(b, *s);
    }
}

static void append_label(struct buf *b, bool *first, const char *name)
{
    buf_append_char(b, *first ? '{' : ',');
    *first = false;
    buf_append_str(b, name);
    buf_append_str(b, "=\"");
}

/* `name<suffix>{labels[,le="..."]} ` up to the value. `le` is NULL, or a bound or +Inf. */
static void append_sample_start(struct buf *b, const struct metrics_family *f,
                                const struct metrics_series *s, const char *suffix,
                                const double *le)
{
    buf_append_str(b, f->name);
    buf_append_str(b, suffix);
    bool first = true;
    for (size_t i = 0; i < f->nlabels; i++) {
        append_label(b, &first, f->labels[i]);
        append_escaped(b, s->values[i], true);
        buf_append_char(b, '"');
    }
    if (le) {
        append_label(b, &first, "le");
        append_double(b, *le);
        buf_append_char(b, '"');
    }
    if (!first)
        buf_append_char(b, '}');
    buf_append_char(b, ' ');
}

static void append_histogram(struct buf *b, const struct metrics_family *f,
                             const struct metrics_series *s)
{
    const struct metrics_histogram *h = &s->u.histogram;
    static const double inf = INFINITY;
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += h->counts[i];
        append_sample_start(b, f, s, "_bucket", i < h->nbounds ? &h->bounds[i] : &inf);
        buf_append_uint(b, cumulative);
        buf_append_char(b, '\n');
    }
    append_sample_start(b, f, s, "_sum", NULL);
    append_double(b, h->sum);
    buf_append_char(b, '\n');
    append_sample_start(b, f, s, "_count", NULL);
    buf_append_uint(b, cumulative);
    buf_append_char(b, '\n');
}

static const char *type_name(enum metrics_type t)
{
    switch (t) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_GAUGE:
        return "gauge";
    case METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static void append_family(struct buf *b, const struct metrics_family *f)
{
    buf_append_str(b, "# HELP ");
    buf_append_str(b, f->name);
    buf_append_char(b, ' ');
    append_escaped(b, f->help, false);
    buf_append_str(b, "\n# TYPE ");
    buf_append_str(b, f->name);
    buf_append_char(b, ' ');
    buf_append_str(b, type_name(f->type));
    buf_append_char(b, '\n');
    for (size_t i = 0; i < f->nseries; i++) {
        const struct metrics_series *s = f->series[i];
        if (f->type == METRICS_HISTOGRAM) {
            append_histogram(b, f, s);
            continue;
        }
        append_sample_start(b, f, s, "", NULL);
        if (f->type == METRICS_COUNTER)
            buf_append_uint(b, s->u.counter.value);
        else
            append_double(b, s->u.gauge.value);
        buf_append_char(b, '\n');
    }
}

void metrics_render(const struct metrics_registry *r, struct buf *out)
{
    for (size_t i = 0; i < r->nfamilies; i++) {
        if (i > 0)
            buf_append_char(out, '\n');
        append_family(out, r->families[i]);
    }
}
