/*
 * A small Prometheus registry for a single-threaded process (the master's event loop).
 *
 * Families (a name, a help text, a type, up to METRICS_MAX_LABELS label names) and their series
 * (one tuple of label values each) are registered once at start-up; registration allocates and
 * returns a handle to the series' value. The hot path only touches handles: a counter increment
 * is one addition, a gauge update one store, a histogram observation a scan of at most
 * METRICS_MAX_BUCKETS bounds. Nothing is allocated or formatted per update.
 *
 * metrics_render() writes the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), families in registration order,
 * series in registration order, a blank line between families:
 *   # HELP <name> <help, with \ and newline escaped>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>{label="value",...} <value>
 * Label values escape \, " and newline. Histograms write cumulative `_bucket{...,le="<bound>"}`
 * lines ending with le="+Inf", then `_sum` and `_count` (which equals the +Inf bucket). Floats
 * are written in their shortest round-trip form, with +Inf, -Inf and NaN as Prometheus spells them.
 *
 * Registration refuses (returns NULL) what would make an invalid exposition: a name that is not
 * [a-zA-Z_:][a-zA-Z0-9_:]*, a label name that is not [a-zA-Z_][a-zA-Z0-9_]* or starts with "__",
 * a counter not named *_total, a histogram label named "le", bounds that are not finite and
 * strictly increasing, a name registered twice, or series of the wrong type. Help texts and label
 * values must be UTF-8. Values computed at scrape time (uptime, load) are gauges the caller sets
 * just before rendering.
 */
#ifndef KILN_OBS_METRICS_H
#define KILN_OBS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_MAX_LABELS 3
#define METRICS_MAX_BUCKETS 16 /* finite bounds; +Inf is implicit */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* What a family is; `labels` holds `nlabels` names; `buckets` only for histograms. */
struct metrics_desc {
    const char *name;
    const char *help;
    const char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    const double *buckets; /* upper bounds in seconds, strictly increasing */
    size_t nbuckets;
};

struct metrics_counter {
    uint64_t value;
};

struct metrics_gauge {
    double value;
};

struct metrics_histogram {
    const double *bounds; /* the family's */
    size_t nbounds;
    uint64_t counts[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
    double sum;
};

struct metrics_registry;
struct metrics_family;

struct metrics_registry *metrics_new(void);
void metrics_free(struct metrics_registry *r);

/* Registers a family (the strings and the bounds are copied); NULL when refused (see above). */
struct metrics_family *metrics_register(struct metrics_registry *r, enum metrics_type type,
                                        const struct metrics_desc *desc);

/*
 * The series of a family with these label values (`values` holds the family's nlabels strings;
 * NULL when it has none), created on first use: the same values give the same handle. NULL when
 * the family is of another type.
 */
struct metrics_counter *metrics_counter_at(struct metrics_family *f, const char *const *values);
struct metrics_gauge *metrics_gauge_at(struct metrics_family *f, const char *const *values);
struct metrics_histogram *metrics_histogram_at(struct metrics_family *f, const char *const *values);

static inline void metrics_counter_add(struct metrics_counter *c, uint64_t n)
{
    c->value += n;
}

static inline void metrics_counter_inc(struct metrics_counter *c)
{
    c->value++;
}

/* A count kept by someone else (the pool, OPcache) and only ever growing: the counter shows
   its running total. */
static inline void metrics_counter_follow(struct metrics_counter *c, uint64_t total)
{
    c->value = total;
}

static inline void metrics_gauge_set(struct metrics_gauge *g, double v)
{
    g->value = v;
}

static inline void metrics_gauge_add(struct metrics_gauge *g, double delta)
{
    g->value += delta;
}

/* Counts one observation (in seconds) in the first bucket whose bound is >= v. */
void metrics_histogram_observe(struct metrics_histogram *h, double v);

/* Appends the whole registry in the text exposition format 0.0.4. */
void metrics_render(const struct metrics_registry *r, struct buf *out);

/* The Content-Type of what metrics_render() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
