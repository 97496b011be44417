/* crash-point.c — the crash-point table and the KSMD_CRASH_AT hook that kills the daemon at one of them. */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash-point.h"
#include "log.h"
#include "util.h"

/* One line per point, in the order a claim, a tune, a restore, a reload and an unmerge pass
 * them. tests/integration/test-crash-points.sh reads this block between the BEGIN and END
 * markers. */
const char *const crash_point_names[] = {
        /* BEGIN crash points */
        "record-written-before-sysfs",          /* manager.c: the claim is on disk, KSM untouched */
        "write-advisor_min_pages_to_scan",      /* ksm-sysfs.c: after each attribute written */
        "write-advisor_max_pages_to_scan",
        "write-advisor_target_scan_time",
        "write-advisor_max_cpu",
        "write-advisor_mode",
        "write-pages_to_scan",
        "write-sleep_millisecs",
        "write-run",
        "record-written-after-sysfs",           /* manager.c: the release (or a rewrite) is on disk */
        "node-patch-before",                    /* manager.c: the patch is about to be sent */
        "node-patch-after",                     /* source-file.c, kube-node-writer.c: the Node took it */
        "reload-mid",                           /* manager.c: new configuration in place, not yet applied */
        "unmerge-started",                      /* manager.c: the unmerge child is writing run=2 */
        "unmerge-finished",                     /* manager.c: run=2 done, run not yet put back */
        /* END crash points */
        NULL
};

static struct {
        bool initialized;
        pid_t pid;                      /* the process that read the variable; 0: not armed */
        const char *name;               /* points into crash_point_names */
        unsigned long nth, hits;
} armed;

static bool crash_point_known(const char *name) {
        for (const char *const *n = crash_point_names; *n; n++)
                if (streq(*n, name))
                        return true;
        return false;
}

static void crash_point_init(void) {
        _cleanup_free_ char *name = NULL;
        const char *e, *colon;
        unsigned long nth = 1;

        armed.initialized = true;
        e = getenv("KSMD_CRASH_AT");
        if (!e || !*e)
                return;

        colon = strchr(e, ':');
        name = colon ? strndup(e, colon - e) : strdup(e);
        if (!name)
                return;
        if (colon) {
                char *end;

                errno = 0;
                nth = strtoul(colon + 1, &end, 10);
                if (errno != 0 || end == colon + 1 || *end || nth == 0 || nth > INT_MAX) {
                        log_error("KSMD_CRASH_AT=%s: the count after ':' must be a positive number; crash point not armed.", e);
                        return;
                }
        }
        for (const char *const *n = crash_point_names; *n; n++)
                if (streq(*n, name)) {
                        armed.name = *n;
                        armed.nth = nth;
                        armed.pid = getpid();
                        log_warning("Test hook: crash point %s armed (pass %lu); the daemon will kill itself there.",
                                    armed.name, armed.nth);
                        return;
                }
        log_error("KSMD_CRASH_AT=%s names no crash point; crash point not armed.", e);
}

void crash_point(const char *name) {
        if (!armed.initialized)
                crash_point_init();
        if (armed.pid == 0)
                return;
        if (!crash_point_known(name)) {
                /* A call with a name missing from the table is a mistake in the source: make it
                 * fail the test that armed a point instead of passing unseen. */
                log_error("Crash point %s is not in the table of crash-point.c.", name);
                abort();
        }
        if (!streq(name, armed.name) || getpid() != armed.pid)
                return;
        if (++armed.hits < armed.nth)
                return;

        log_warning("Test hook: crash point %s reached (pass %lu): SIGKILL.", name, armed.hits);
        (void) raise(SIGKILL);
}

void crash_point_after_write(const char *attr) {
        char name[64];

        if (!armed.initialized)
                crash_point_init();
        if (armed.pid == 0)
                return;
        (void) snprintf(name, sizeof(name), "write-%s", attr);
        crash_point(name);
}
