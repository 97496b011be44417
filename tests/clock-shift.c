/* clock-shift.c — an LD_PRELOAD shim for tests/integration/test-clock.sh: one process's wall clock stepped, the host's untouched. */
/*
 * CLOCK_REALTIME (and its coarse variant, CLOCK_TAI, gettimeofday() and time()) is shifted by the
 * number of seconds written in the file named by $CLOCK_SHIFT_FILE, read again at every call, so
 * that writing the file steps the clock of the running process at once. CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME are left alone, as a real step (date -s, clock_settime) leaves them; so are the
 * kernel's timers: a timerfd on CLOCK_REALTIME armed from a shifted "now" fires that much early or
 * late, as it would after a real step.
 *
 * libfaketime is not used because it rewrites timerfd_settime() deadlines on every clock by the
 * fake offset while FAKETIME_DONT_FAKE_MONOTONIC leaves clock_gettime(CLOCK_BOOTTIME) true: an
 * sd-event CLOCK_BOOTTIME timer armed after a +1 day step gets a negative deadline and the loop
 * fails with EINVAL (libfaketime 0.9.10, Debian 12), which no real step does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);

static long long shift_sec(void) {
        const char *path = getenv("CLOCK_SHIFT_FILE");
        char buf[32];
        ssize_t n;
        int fd;

        if (!path)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        return strtoll(buf, NULL, 10);
}

static int real_gettime(clockid_t c, struct timespec *ts) {
        if (!real_clock_gettime)
                real_clock_gettime = (int (*)(clockid_t, struct timespec *)) dlsym(RTLD_NEXT, "clock_gettime");
        return real_clock_gettime(c, ts);
}

int clock_gettime(clockid_t c, struct timespec *ts) {
        int r = real_gettime(c, ts);

        if (r == 0 && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE || c == CLOCK_TAI))
                ts->tv_sec += (time_t) shift_sec();
        return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
        struct timespec ts;

        (void) tz;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        if (tv) {
                tv->tv_sec = ts.tv_sec;
                tv->tv_usec = ts.tv_nsec / 1000;
        }
        return 0;
}

time_t time(time_t *t) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return (time_t) -1;
        if (t)
                *t = ts.tv_sec;
        return ts.tv_sec;
}
