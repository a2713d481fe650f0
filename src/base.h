/*
 * The few definitions every module may use: nothing here knows a module.
 */
#ifndef KILN_BASE_H
#define KILN_BASE_H

#include <stddef.h>

/* The struct `type` whose member `member` is at `ptr` (as in the Linux kernel). */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
