/* reconcile.c — the pure decision: what to write to sysfs, to the record and to the Node. */
#include <assert.h>
#include <string.h>

#include <inttypes.h>

#include "macro.h"
#include "reconcile.h"
#include "selector.h"
#include "util.h"

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
        if (a->saved_pages_to_scan != b->saved_pages_to_scan ||
            a->saved_sleep_millisecs != b->saved_sleep_millisecs ||
            a->have_saved_advisor != b->have_saved_advisor)
                return false;
        return !a->have_saved_advisor || ksm_advisor_equal(&a->saved_advisor, &b->saved_advisor);
}

/* Ownership as far as it can be proven. The local record wins; without a usable one the
 * node annotation is the record of last resort (the seeds' "internal record"), so KSM is
 * only switched off where either says the daemon switched it on. */
/* run=2 with merged pages left: someone's unmerge is under way, and a write to run would block
 * until it ends. With none left the unmerge is over and 2 means stopped, like 0. */
bool reconcile_unmerge_in_progress(const ReconcileInput *in) {
        assert(in);
        return in->available && in->run == KSM_RUN_UNMERGING && in->pages_merged;
}

static Record effective_record(const ReconcileInput *in) {
        if (in->record_state == RECORD_VALID)
                return in->record;

        return (Record) {
                .claimed = in->node_annotation && streq(in->node_annotation, "true"),
        };
}

/* Plans the advisor's settings; returns whether pages_to_scan stays locked by it afterwards. */
static bool plan_advisor(const ReconcileInput *in, ReconcileDecision *d, const KsmAdvisor *want) {
        if (in->has_advisor && want && !ksm_advisor_equal(&in->advisor, want)) {
                d->write_advisor = true;
                d->advisor = *want;
        }
        return d->write_advisor ? d->advisor.scan_time : in->pages_locked;
}

static void plan_tuning(const ReconcileInput *in, ReconcileDecision *d, uint32_t pages, uint32_t sleep_ms) {
        bool locked = d->write_advisor ? d->advisor.scan_time : in->pages_locked;

        if (!locked && pages != in->pages_to_scan) {
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
                d.patch_node = in->have_node && in->selection != SELECTION_HOLD;
                *ret = d;
                return;
        }

        rec = effective_record(in);
        d.claimed = rec.claimed;
        d.new_record = rec;
        running = in->run == KSM_RUN_MERGING;

        if (reconcile_unmerge_in_progress(in)) {
                /* Someone is unmerging (the daemon's own Unmerge() never reaches here): on a real
                 * kernel a write to run blocks until every page is copied back, and the scan
                 * settings are not ours to change meanwhile. Nothing is written, the record
                 * included, until run reads something else; the label says KSM does not run. */
                d.action = KSM_ACTION_NONE;
                d.reason = "KSM is unmerging (run=2 written outside this daemon): leaving it alone until it is done";
                reconcile_node_keys(true, in->run, rec.claimed, &d.label, &d.annotation);
                d.patch_node = in->have_node && in->selection != SELECTION_HOLD;
                *ret = d;
                return;
        }

        if (in->hold) {
                /* Another writer: no KSM write, no record change, no Node write of the two keys. */
                d.action = KSM_ACTION_NONE;
                d.reason = "another writer changed what the daemon owns: holding, changing nothing";
                reconcile_node_keys(true, in->run, rec.claimed, &d.label, &d.annotation);
                *ret = d;
                return;
        }

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
                                        .have_saved_advisor = in->has_advisor,
                                        .saved_advisor = in->advisor,
                                };
                                d.record_write_before = true;
                                (void) plan_advisor(in, &d, in->want_advisor ? &in->advisor_want : NULL);
                                plan_tuning(in, &d, in->want.pages_to_scan, in->want.sleep_millisecs);
                                d.write_run = true;
                                d.run = KSM_RUN_MERGING;
                        }
                } else if (in->want.run) {
                        const KsmAdvisor *adv = NULL;

                        if (in->want_advisor) {
                                /* A record from before the advisor was handled: save its settings
                                 * first, so that giving KSM back can restore them. */
                                if (!rec.have_saved_advisor && in->has_advisor) {
                                        d.new_record.have_saved_advisor = true;
                                        d.new_record.saved_advisor = in->advisor;
                                }
                                adv = &in->advisor_want;
                        } else if (rec.have_saved_advisor && in->advisor.scan_time && !rec.saved_advisor.scan_time)
                                adv = &rec.saved_advisor;       /* left Policy=advisor: put it back */
                        (void) plan_advisor(in, &d, adv);
                        if (d.write_advisor && !record_equal(&d.new_record, &rec))
                                d.record_write_before = true;
                        plan_tuning(in, &d, in->want.pages_to_scan, in->want.sleep_millisecs);
                        if (!running) {
                                d.action = KSM_ACTION_START;
                                d.reason = "selected and managed, KSM found off: switching it back on";
                                d.write_run = true;
                                d.run = KSM_RUN_MERGING;
                        } else if (d.write_pages || d.write_sleep || d.write_advisor) {
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
                if (rec.have_saved_advisor)
                        (void) plan_advisor(in, &d, &rec.saved_advisor);
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
        reconcile_node_keys(true, running_after ? KSM_RUN_MERGING : KSM_RUN_STOPPED, d.new_record.claimed,
                            &d.label, &d.annotation);
        d.patch_node = in->have_node && in->selection != SELECTION_HOLD;
        *ret = d;
}

char *reconcile_explain(const ReconcileInput *in, const ReconcileDecision *d, const char *selection_why,
                        const char *conflict) {
        bool running, claimed_after;
        const char *why = selection_why ?: "selection unknown";

        assert(in && d);

        if (conflict)
                return strdup_printf("another writer changed what this daemon manages (%s): holding until it is quiet",
                                     conflict);
        if (!in->available)
                return strdup("KSM is not available in this kernel");
        if (reconcile_unmerge_in_progress(in))
                return strdup_printf("%s; KSM is unmerging (run=2, written outside this daemon): left alone "
                                     "until it is done", why);

        running = d->write_run ? d->run == KSM_RUN_MERGING : in->run == KSM_RUN_MERGING;
        claimed_after = d->new_record.claimed;

        if (in->selection == SELECTION_YES && running && !claimed_after)
                return strdup_printf("%s; KSM was switched on by someone else: not claimed", why);
        if (in->selection == SELECTION_YES && !running && !in->want.run)
                return strdup_printf("%s; the policy keeps KSM off for now (no memory pressure)", why);
        if (in->selection == SELECTION_NO && running && !claimed_after)
                return strdup_printf("%s; KSM was switched on by someone else and is left on", why);
        return strdup(why);
}

Selection reconcile_selection(const KsmConfig *kc, json_object *labels) {
        assert(kc);

        switch (kc->state) {
        case KSM_CONFIG_SELECTOR:
                return selector_matches(kc->selector, labels) ? SELECTION_YES : SELECTION_NO;
        case KSM_CONFIG_AMBIGUOUS:
                return SELECTION_HOLD;
        default:
                return SELECTION_NO;
        }
}

void reconcile_node_keys(bool available, KsmRun run, bool managed, const char **ret_label,
                         const char **ret_annotation) {
        assert(ret_label);
        assert(ret_annotation);

        if (!available) {
                *ret_label = *ret_annotation = NULL;
                return;
        }
        *ret_label = run == KSM_RUN_MERGING ? "true" : "false";
        *ret_annotation = managed ? "true" : "false";
}

int reconcile_event(const ReconcileInput *in, const ReconcileDecision *d, const char **ret_reason,
                    char **ret_message) {
        uint32_t pages, sleep_ms;
        const char *verb;
        char *msg;

        assert(in && d && ret_reason && ret_message);

        pages = d->write_pages ? d->pages_to_scan : in->pages_to_scan;
        sleep_ms = d->write_sleep ? d->sleep_millisecs : in->sleep_millisecs;

        switch (d->action) {
        case KSM_ACTION_START:
                *ret_reason = "KSMEnabled";
                if (d->claimed)
                        msg = strdup_printf("KSM was found switched off outside " PACKAGE_NAME "; switched it back on");
                else
                        msg = strdup_printf("Switched KSM on: the node is selected by the KubeVirt CR's nodeLabelSelector "
                                            "(pages_to_scan=%" PRIu32 ", sleep_millisecs=%" PRIu32 ")", pages, sleep_ms);
                break;
        case KSM_ACTION_RESTORE:
                *ret_reason = d->write_run ? "KSMDisabled" : "KSMRestored";
                verb = d->write_run ? "Switched off" : "Released";
                if (d->write_pages || d->write_sleep)
                        msg = strdup_printf("%s KSM; restored pages_to_scan=%" PRIu32 " sleep_millisecs=%" PRIu32,
                                            verb, pages, sleep_ms);
                else
                        msg = strdup_printf("%s KSM; the scan settings were already as before", verb);
                break;
        default:
                *ret_reason = NULL;
                *ret_message = NULL;
                return 0;
        }
        if (!msg)
                return -ENOMEM;
        *ret_message = msg;
        return 1;
}
