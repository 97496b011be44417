/* reconcile.c — the pure decision: what to write to sysfs, to the record and to the Node. */
#include <assert.h>
#include <string.h>

#include "macro.h"
#include "reconcile.h"

static const char *const ksm_action_table[_KSM_ACTION_MAX] = {
        [KSM_ACTION_NONE] = "none",
        [KSM_ACTION_START] = "start",
        [KSM_ACTION_TUNE] = "tune",
        [KSM_ACTION_RESTORE] = "restore",
};

DEFINE_STRING_TABLE_TO_STRING(ksm_action, KsmAction, _KSM_ACTION_MAX);

static const char *const selection_table[_SELECTION_MAX] = {
        [SELECTION_NO] = "no",
        [SELECTION_YES] = "yes",
        [SELECTION_HOLD] = "hold",
};

DEFINE_STRING_TABLE_TO_STRING(selection, Selection, _SELECTION_MAX);

static bool record_equal(const Record *a, const Record *b) {
        if (a->claimed != b->claimed || a->have_saved != b->have_saved)
                return false;
        if (!a->have_saved)
                return true;
        return a->saved_pages_to_scan == b->saved_pages_to_scan &&
               a->saved_sleep_millisecs == b->saved_sleep_millisecs;
}

/* Ownership as far as it can be proven. The local record wins; without a usable one the
 * node annotation is the record of last resort (the seeds' "internal record"), so KSM is
 * only switched off where either says the daemon switched it on. */
static Record effective_record(const ReconcileInput *in) {
        if (in->record_state == RECORD_VALID)
                return in->record;

        return (Record) {
                .claimed = in->node_annotation && streq(in->node_annotation, "true"),
        };
}

static void plan_tuning(const ReconcileInput *in, ReconcileDecision *d, uint32_t pages, uint32_t sleep_ms) {
        if (!in->pages_locked && pages != in->pages_to_scan) {
                d->write_pages = true;
                d->pages_to_scan = pages;
        }
        if (sleep_ms != in->sleep_millisecs) {
                d->write_sleep = true;
                d->sleep_millisecs = sleep_ms;
        }
}

void reconcile_decide(const ReconcileInput *in, ReconcileDecision *ret) {
        ReconcileDecision d = {};
        Record rec;
        bool running, running_after;

        assert(in);
        assert(ret);

        if (!in->available) {
                /* No KSM in this kernel: nothing to manage; the node carries neither key. */
                d.action = KSM_ACTION_NONE;
                d.reason = "KSM is not available in this kernel";
                *ret = d;
                return;
        }

        rec = effective_record(in);
        d.claimed = rec.claimed;
        d.new_record = rec;
        running = in->run == KSM_RUN_MERGING;

        switch (in->selection) {

        case SELECTION_HOLD:
                d.action = KSM_ACTION_NONE;
                d.reason = "selection unknown, leaving KSM as it is";
                break;

        case SELECTION_YES:
                if (!rec.claimed) {
                        if (running) {
                                d.action = KSM_ACTION_NONE;
                                d.reason = "selected, KSM already switched on by someone else: leaving it, not claiming it";
                        } else if (!in->want.run) {
                                d.action = KSM_ACTION_NONE;
                                d.reason = "selected, policy does not want KSM running now";
                        } else {
                                d.action = KSM_ACTION_START;
                                d.reason = "selected, KSM off: switching it on and claiming it";
                                d.new_record = (Record) {
                                        .claimed = true,
                                        .have_saved = true,
                                        .saved_pages_to_scan = in->pages_to_scan,
                                        .saved_sleep_millisecs = in->sleep_millisecs,
                                };
                                d.record_write_before = true;
                                plan_tuning(in, &d, in->want.pages_to_scan, in->want.sleep_millisecs);
                                d.write_run = true;
                                d.run = KSM_RUN_MERGING;
                        }
                } else if (in->want.run) {
                        plan_tuning(in, &d, in->want.pages_to_scan, in->want.sleep_millisecs);
                        if (!running) {
                                d.action = KSM_ACTION_START;
                                d.reason = "selected and managed, KSM found off: switching it back on";
                                d.write_run = true;
                                d.run = KSM_RUN_MERGING;
                        } else if (d.write_pages || d.write_sleep) {
                                d.action = KSM_ACTION_TUNE;
                                d.reason = "selected and managed: adjusting the scan rate";
                        } else {
                                d.action = KSM_ACTION_NONE;
                                d.reason = "selected and managed, nothing to change";
                        }
                } else
                        goto restore;
                break;

        case SELECTION_NO:
                if (!rec.claimed) {
                        d.action = KSM_ACTION_NONE;
                        d.reason = running ? "not selected, KSM switched on by someone else: leaving it"
                                           : "not selected, KSM off";
                        break;
                }
        restore:
                d.action = KSM_ACTION_RESTORE;
                d.reason = in->selection == SELECTION_YES
                        ? "managed, policy no longer wants KSM running: stopping it and restoring the scan settings"
                        : "not selected any more, managed: switching KSM off and restoring the scan settings";
                if (running) {
                        d.write_run = true;
                        d.run = KSM_RUN_STOPPED;
                }
                if (rec.have_saved)
                        plan_tuning(in, &d, rec.saved_pages_to_scan, rec.saved_sleep_millisecs);
                d.new_record = (Record) { .claimed = false };
                d.record_write_after = true;
                break;

        default:
                assert(false);
        }

        /* A record that is missing, corrupt or stale is rewritten, even when KSM is not touched;
         * but not while the selection is unknown, when the node annotation may be unknown too. */
        if (in->selection != SELECTION_HOLD && !d.record_write_before && !d.record_write_after &&
            (in->record_state != RECORD_VALID || !record_equal(&in->record, &d.new_record)))
                d.record_write_after = true;

        running_after = d.write_run ? d.run == KSM_RUN_MERGING : running;
        d.label = running_after ? "true" : "false";
        d.annotation = d.new_record.claimed ? "true" : "false";
        *ret = d;
}
