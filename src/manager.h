/* manager.h — the one Manager: configuration, event loop, inputs, and the reconcile line. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "conflict.h"
#include "ksm-sysfs.h"
#include "metrics-server.h"
#include "reconcile.h"
#include "scan-control.h"
#include "source.h"
#include "udev-memory.h"

typedef struct Manager {
        Config config;
        char *config_path;
        char *node_name;
        char *state_dir;

        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *object_slot;
        sd_event_source *reconcile_source;      /* defer, ONESHOT when something changed */
        sd_event_source *recheck_timer;         /* drift detection every RecheckSec */
        sd_event_source *sighup_source;
        sd_event_source *sample_timer;          /* the scan controller's samples; off when it is */

        Source *source;
        char *source_key;                       /* what the running source reads (type and paths) */
        sd_event_source *source_retry_timer;    /* a source that failed after a reload is retried */
        uint64_t source_retry_usec;             /* its current backoff; 0: nothing to retry */
        char *source_error;                     /* why the configured source is not the running one */
        KsmSysfs *sysfs;                        /* NULL: the kernel has no KSM (or SysfsDir missing) */
        UdevMemory *udev_memory;
        MetricsServer *metrics_server;          /* [Metrics] Listen=; NULL: none (manager-metrics.c) */

        /* What the last reconcile saw and did; the bus properties are read from here. */
        KsmSnapshot snapshot;
        Selection selection;
        bool selected;
        bool managed;
        RecordState record_state;
        Record record;
        uint64_t last_reconcile_usec;           /* CLOCK_REALTIME */
        uint64_t n_reconciles;
        bool policy_tick;                       /* the next reconcile may step the scan rate */
        bool policy_fresh;                      /* a reload changed the policy: it starts afresh */
        bool have_last_want;
        Tuning last_want;

        /* Policy=always: the adaptive scan controller (src/scan-control.c). */
        ScanParams scan_params;
        ScanControl control;
        ScanWake pending_wake;                  /* an outside reason to wake, for the next sample */

        /* Another writer of what the daemon owns (conflict.h): what it wrote and saw last. */
        ConflictState conflict;
        char *conflict_what;                    /* the Conflict property: what the other writer changed */
        OwnedValues wrote, seen;
        char *wrote_label, *wrote_annotation, *seen_label, *seen_annotation;

        /* Why KSM is on or off here: the Selection and Reason properties. */
        char *selection_why;
        char *reason;

        /* Warning Events for failures, at most one per WARNING_EVENT_INTERVAL for the same text. */
        char *warned_text;
        uint64_t warned_usec;

        /* ksmd's CPU share, measured between two samples (or rechecks). */
        pid_t ksmd_pid;                         /* 0: not looked up yet; -1: not found */
        uint64_t ksmd_cpu_usec, ksmd_cpu_at_usec;
        double ksmd_cpu_percent;                /* of one CPU; negative: unknown */
        char *last_error;
        char *config_error;                     /* the selector/config problem, if any */
        char *reload_error;                     /* the last refused reload, until one succeeds */
        char *record_error;                     /* a damaged record found, until the next reload */
        char *override_warnings;                /* the last override-annotation complaints said */
        int log_level_override;                 /* --log-level, which wins over LogLevel=; -1: none */
        char *status;

        /* Unmerge() runs the blocking write of 2 to "run" in a child process. */
        pid_t unmerge_pid;
        sd_event_source *unmerge_child;
        sd_bus_message *unmerge_message;
        KsmRun unmerge_run_before;

        /* The values last announced on the bus, to emit PropertiesChanged only for changes. */
        struct {
                bool valid;
                bool available, running, selected, managed, connected;
                PolicyKind policy;
                uint32_t pages_to_scan, sleep_millisecs;
                uint64_t last_reconcile_usec;
                char *last_error;
                ScanState scan_state;
                uint32_t scan_pages_per_sec;
                int64_t pages_merged_last_pass;
                int ksmd_cpu_permille;
                Selection selection;
                char *reason;
                char *conflict;
        } published;
} Manager;

/* Creates the manager from a loaded configuration (moved into it). 0 or -errno (logged). */
int manager_new(Config *config, const char *config_path, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}

/* Connects the bus, opens sysfs, starts the source, schedules the first reconcile, and sends
 * READY=1 once the bus name is owned and the record was loaded. 0 or -errno (logged). */
int manager_start(Manager *m);

/* Runs the event loop until SIGTERM/SIGINT. Returns the exit code of the loop. */
int manager_run(Manager *m);

/* Every input only schedules: a burst of inputs produces one reconcile. */
void manager_schedule_reconcile(Manager *m);

/* An outside reason to look for new mergeable memory (Reconcile(), memory hot-plug): the scan
 * controller takes a sample at once and leaves idle. A no-op while the controller is off. */
void manager_wake_scan(Manager *m, ScanWake why);

/* Re-reads the configuration; on error keeps the old one, sets LastError and returns the
 * documented outcome 0 (kept) / 1 (applied), or -ENOMEM. */
int manager_reload(Manager *m);

/* Starts an unmerge (write 2 to run in a child), replying to msg when done. 0 or -errno. */
int manager_start_unmerge(Manager *m, sd_bus_message *msg);

/* Sets LastError (NULL clears) and emits the change. */
void manager_set_last_error(Manager *m, const char *error);

/* The effective values behind the bus properties. */
bool manager_connected(const Manager *m);
