/*
 * LD_PRELOAD shim for `make valgrind` only: valgrind 3.19 (Debian 12) does not implement
 * openat2 and answers ENOSYS, so the statcache could not open a single file under memcheck. This
 * wraps libc's syscall() and runs SYS_openat2 as a plain openat() with the same flags and mode.
 * The RESOLVE_* confinement is lost, which is fine for a memory check driven by well-formed
 * requests: confinement is tested by the unit and integration tests on the real system call.
 * Every other system call goes to libc's syscall() unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long number, ...);

long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_openat2) {
        const struct open_how *how = (const struct open_how *)a[2];
        return openat((int)a[0], (const char *)a[1], (int)how->flags, (mode_t)how->mode);
    }
    static long (*real)(long, ...);
    if (!real)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
