/* manager-internal.h — what the parts of the Manager (manager.c, manager-scan.c, manager-conflict.c) share. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "kube-objects.h"
#include "manager.h"
#include "meminfo.h"
#include "policy.h"

static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* What one reconcile reads (manager.c). */
typedef struct Gathered {
        NodeView node;
        bool have_node;
        PolicyParams params;
        MemInfo mi;
        bool have_mi;
} Gathered;

/* manager.c: the sd_notify STATUS= line. */
void manager_update_status(Manager *m);

/* manager-conflict.c: another writer. Compares what KSM and the Node show now with what was seen
 * last and what the daemon wrote; corrects a foreign change once, then holds (conflict.h), saying
 * so. 0 or -ENOMEM. */
int manager_observe(Manager *m, const Gathered *g);
/* Sets a string of OwnedValues to a copy of value (NULL: absent) kept in *buf. */
void owned_set_string(const char **field, char **buf, const char *value);
/* After a patch the source applied at once (the file source), the Node as it is now was seen. */
void manager_seen_node_again(Manager *m);

/* manager-scan.c: the scan controller of Policy=always. */
int on_scan_sample(sd_event_source *s, uint64_t usec, void *userdata);
/* Starts the controller when Policy=always owns a running KSM, stops it otherwise. */
void manager_update_scan_control(Manager *m);
/* ksmd's CPU share since the last call, into m->ksmd_cpu_percent. */
void manager_measure_ksmd_cpu(Manager *m);
