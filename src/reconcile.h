/* reconcile.h — the whole decision, pure: same input, same output. No I/O, no clock, no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ksm-types.h"
#include "kube-objects.h"

typedef enum Selection {
        SELECTION_NO,           /* not selected (or no/removed/invalid config) */
        SELECTION_YES,          /* the selector matches this node */
        SELECTION_HOLD,         /* unknown (no view yet, several CRs): change nothing on KSM */
        _SELECTION_MAX,
        _SELECTION_INVALID = -EINVAL,
} Selection;

/* What the daemon changed, persisted in the state directory. */
typedef struct Record {
        bool claimed;                   /* the daemon switched KSM on and owns it */
        bool have_saved;                /* saved_* hold the values from before the claim */
        uint32_t saved_pages_to_scan;
        uint32_t saved_sleep_millisecs;
        bool have_saved_advisor;        /* saved_advisor holds the advisor settings from before */
        KsmAdvisor saved_advisor;
} Record;

typedef enum RecordState {
        RECORD_NONE,            /* no record (first start or lost): trust the node annotation */
        RECORD_VALID,
        RECORD_CORRUPT,         /* unreadable or truncated: trust the node annotation, say so */
        _RECORD_STATE_MAX,
} RecordState;

typedef struct ReconcileInput {
        bool available;                 /* the kernel has KSM (SysfsDir/run exists) */
        Selection selection;
        KsmRun run;                     /* what sysfs says now */
        bool pages_merged;              /* pages_shared or pages_sharing non-zero: with run=2, an
                                         * unmerge is still under way (the kernel leaves 2 in run
                                         * after it, with both at zero) */
        uint32_t pages_to_scan;         /* now */
        uint32_t sleep_millisecs;       /* now */
        bool pages_locked;              /* advisor_mode=scan-time: pages_to_scan may not be written */
        RecordState record_state;
        Record record;                  /* meaningful when record_state == RECORD_VALID */
        bool has_advisor;               /* the kernel has advisor_mode */
        KsmAdvisor advisor;             /* its settings now */
        bool want_advisor;              /* Policy=advisor: hand the rate to the kernel's advisor */
        KsmAdvisor advisor_want;        /* the settings for it (scan_time set) */
        bool have_node;                 /* this node's object is known (and parsed) */
        const char *node_annotation;    /* current kubevirt.io/ksm-handler-managed, NULL if absent or unknown */
        Tuning want;                    /* policy_compute() result for when the daemon owns KSM */
        bool hold;                      /* another writer: write nothing the daemon owns (conflict.h) */
} ReconcileInput;

typedef enum KsmAction {
        KSM_ACTION_NONE,        /* leave KSM as it is */
        KSM_ACTION_START,       /* switch KSM on and claim it (or restart a claimed KSM) */
        KSM_ACTION_TUNE,        /* owned and running: adjust the scan rate */
        KSM_ACTION_RESTORE,     /* owned, no longer wanted: stop, restore tuning, release */
        _KSM_ACTION_MAX,
        _KSM_ACTION_INVALID = -EINVAL,
} KsmAction;

typedef struct ReconcileDecision {
        KsmAction action;
        bool claimed;                   /* effective ownership before the decision */

        /* The record to persist, and when: before the sysfs writes (taking ownership, so a
         * crash after the write is recoverable) or after them (giving it up). */
        bool record_write_before;
        bool record_write_after;
        Record new_record;

        /* Sysfs writes, in this order: the advisor's settings then advisor_mode, pages_to_scan,
         * sleep_millisecs, run when starting; run, the advisor, pages_to_scan, sleep_millisecs when
         * restoring (writing advisor_mode resets pages_to_scan, so the advisor goes first). */
        bool write_advisor;
        KsmAdvisor advisor;
        bool write_run;
        KsmRun run;
        bool write_pages;
        uint32_t pages_to_scan;
        bool write_sleep;
        uint32_t sleep_millisecs;

        /* What the Node must carry once the writes succeeded (NULL: the key must be absent), and
         * whether the Node is to be brought to that at all (not while the selection is unknown). */
        const char *label;
        const char *annotation;
        bool patch_node;

        /* Static text explaining the decision, for the journal. */
        const char *reason;
} ReconcileDecision;

bool reconcile_unmerge_in_progress(const ReconcileInput *in);
void reconcile_decide(const ReconcileInput *in, ReconcileDecision *ret);

/* The selection from the cluster's KSM configuration and this node's labels (may be NULL):
 * HOLD while the configuration is ambiguous (several KubeVirt CRs), NO when absent or invalid. */
Selection reconcile_selection(const KsmConfig *kc, json_object *labels);

/* The label and annotation for what is true after the writes: KSM running or not (whoever
 * switched it on), and managed or not. Both NULL when the kernel has no KSM. */
void reconcile_node_keys(bool available, KsmRun run, bool managed, const char **ret_label,
                         const char **ret_annotation);

/* The Event that tells people looking at the Node (kubectl describe node) what was done to KSM.
 * 0: none for this decision; 1: *ret_reason (static) and *ret_message (malloc'd) set; -ENOMEM. */
int reconcile_event(const ReconcileInput *in, const ReconcileDecision *d, const char **ret_reason,
                    char **ret_message);

/* One sentence saying why KSM is on or off here, for the Reason property: the conflict when holding
 * (conflict, may be NULL), else what the decision shows, else the selection's own explanation
 * (selection_why). malloc'd, or NULL on ENOMEM. */
char *reconcile_explain(const ReconcileInput *in, const ReconcileDecision *d, const char *selection_why,
                        const char *conflict);

const char *ksm_action_to_string(KsmAction a);
const char *selection_to_string(Selection s);
