/*
 * The few definitions every module may use: nothing here knows a module.
 */
#ifndef KILN_BASE_H
#define KILN_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The struct `type` whose member `member` is at `ptr` (as in the Linux kernel). */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* `clock` (CLOCK_REALTIME, CLOCK_MONOTONIC) now, in microseconds. */
static inline uint64_t clock_usec(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
