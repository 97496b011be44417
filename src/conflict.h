/* conflict.h — another writer of what the daemon owns: notice it, correct once, then hold until it is quiet. Pure. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "ksm-types.h"

/* The values the daemon owns, as written by it or as seen. A field is known when its has_ flag is
 * set (label and annotation: NULL is "absent", which is a value too). */
typedef struct OwnedValues {
        bool has_run, has_pages, has_sleep, has_label, has_annotation;
        KsmRun run;
        uint32_t pages_to_scan;
        uint32_t sleep_millisecs;
        const char *label;
        const char *annotation;
} OwnedValues;

/* Compares what is seen now with what was seen last and what the daemon wrote last: a value that
 * changed since it was last seen, to something the daemon did not write, was written by someone
 * else. label_manager and annotation_manager name who last wrote those keys (the Node's
 * managedFields), or are NULL.
 *   0: no foreign change;  1: *ret_what describes it ("run changed from 1 to 0", ...);  -ENOMEM. */
int conflict_detect(const OwnedValues *wrote, const OwnedValues *seen_before, const OwnedValues *seen_now,
                    const char *label_key, const char *label_manager,
                    const char *annotation_key, const char *annotation_manager, char **ret_what);

typedef enum ConflictStep {
        CONFLICT_NONE,          /* nobody else: steer as usual */
        CONFLICT_CORRECT,       /* first foreign change since the other writer was last quiet: correct it once */
        CONFLICT_ENTER,         /* again: stop fighting, hold from now on (say so once) */
        CONFLICT_HOLD,          /* holding: write none of run, pages_to_scan, sleep_millisecs, label, annotation */
        CONFLICT_LEAVE,         /* the other writer was quiet for quiet_usec: steer again (say so once) */
        _CONFLICT_STEP_MAX,
        _CONFLICT_STEP_INVALID = -EINVAL,
} ConflictStep;

typedef struct ConflictState {
        bool holding;
        unsigned corrections;           /* foreign changes corrected since the other writer was last quiet */
        uint64_t last_seen_usec;        /* when another writer was last seen; 0: never */
} ConflictState;

/* One observation at now_usec (CLOCK_BOOTTIME): foreign says whether conflict_detect() found a
 * foreign change. Updates *s and says what to do. */
ConflictStep conflict_step(ConflictState *s, uint64_t now_usec, bool foreign, uint64_t quiet_usec);

const char *conflict_step_to_string(ConflictStep s);
