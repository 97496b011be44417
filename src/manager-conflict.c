/* manager-conflict.c — the Manager's side of another writer: what it wrote and saw, correct once, hold, tell. */
#include <inttypes.h>

#include "conflict.h"
#include "log.h"
#include "manager-internal.h"
#include "message-id.h"
#include "util.h"

void owned_set_string(const char **field, char **buf, const char *value) {
        if (free_and_strdup(buf, value) >= 0)   /* out of memory: keep the old value */
                *field = *buf;
}

int manager_observe(Manager *m, const Gathered *g) {
        _cleanup_free_ char *what = NULL, *msg = NULL;
        bool claimed = m->record_state == RECORD_VALID && m->record.claimed;
        bool locked = streq(m->snapshot.advisor_mode, "scan-time");
        const char *label_by = NULL, *annotation_by = NULL;
        OwnedValues now = {};
        ConflictStep step;
        int r;

        /* run and the scan rate are the daemon's only while it holds the claim; pages_to_scan is
         * the kernel advisor's while advisor_mode is scan-time. An unmerge (run=2) is left alone,
         * and going into it or out of it is no rival write. */
        if (m->snapshot.available && claimed && m->snapshot.run != KSM_RUN_UNMERGING) {
                now.has_run = true;
                now.run = m->snapshot.run;
                now.has_pages = !locked && m->snapshot.has_pages_to_scan;
                now.pages_to_scan = m->snapshot.pages_to_scan;
                now.has_sleep = m->snapshot.has_sleep_millisecs;
                now.sleep_millisecs = m->snapshot.sleep_millisecs;
        }
        if (g->have_node) {
                now.has_label = now.has_annotation = true;
                now.label = node_view_label(&g->node, m->config.enabled_label);
                now.annotation = node_view_annotation(&g->node, m->config.managed_annotation);
                label_by = kube_field_manager(m->source->node, "labels", m->config.enabled_label);
                annotation_by = kube_field_manager(m->source->node, "annotations", m->config.managed_annotation);
        }

        /* A value the Node's managedFields credit to this daemon is one of its own patches seen
         * late (the watch lags behind a newer patch): no other writer. */
        OwnedValues cmp = now;
        if (streq_ptr(label_by, PACKAGE_NAME))
                cmp.has_label = false;
        if (streq_ptr(annotation_by, PACKAGE_NAME))
                cmp.has_annotation = false;
        r = conflict_detect(&m->wrote, &m->seen, &cmp, m->config.enabled_label, label_by,
                            m->config.managed_annotation, annotation_by, &what);
        if (r < 0)
                return r;
        step = conflict_step(&m->conflict, now_usec(CLOCK_BOOTTIME), r > 0, m->config.conflict_quiet_usec);

        /* Remember what was seen; what is no longer the daemon's is no longer compared. */
        m->seen.has_run = now.has_run;
        m->seen.run = now.run;
        m->seen.has_pages = now.has_pages;
        m->seen.pages_to_scan = now.pages_to_scan;
        m->seen.has_sleep = now.has_sleep;
        m->seen.sleep_millisecs = now.sleep_millisecs;
        if (g->have_node) {
                owned_set_string(&m->seen.label, &m->seen_label, now.label);
                owned_set_string(&m->seen.annotation, &m->seen_annotation, now.annotation);
                m->seen.has_label = m->seen.has_annotation = true;
        }
        if (!claimed)
                m->wrote.has_run = m->wrote.has_pages = m->wrote.has_sleep = false;

        switch (step) {
        case CONFLICT_CORRECT:
                log_full_errno_id(LOG_NOTICE, 0, KSMD_MESSAGE_CONFLICT_CORRECTED,
                                  "Someone else changed what this daemon manages (%s): correcting it once.", what);
                break;
        case CONFLICT_ENTER:
                free(m->conflict_what);
                m->conflict_what = TAKE_PTR(what);
                log_action_id(LOG_WARNING, KSMD_MESSAGE_CONFLICT, "conflict", ksm_run_to_string(m->snapshot.run),
                              "Another writer changed what this daemon manages again (%s): not fighting it; "
                              "leaving KSM, the label and the annotation as they are until it has been quiet "
                              "for %" PRIu64 " s.", m->conflict_what, m->config.conflict_quiet_usec / USEC_PER_SEC);
                msg = strdup_printf("Another writer changed what " PACKAGE_NAME " manages (%s); it stopped writing "
                                    "run, the scan rate, %s and %s until the other writer is quiet",
                                    m->conflict_what, m->config.enabled_label, m->config.managed_annotation);
                if (msg && m->source)
                        source_post_event(m->source, "Warning", "KSMConflict", msg);
                break;
        case CONFLICT_HOLD:
                if (what)
                        log_debug("Still another writer (%s), holding.", what);
                break;
        case CONFLICT_LEAVE:
                log_action_id(LOG_NOTICE, KSMD_MESSAGE_CONFLICT_OVER, "conflict", ksm_run_to_string(m->snapshot.run),
                              "The other writer has been quiet for %" PRIu64 " s: managing KSM again.",
                              m->config.conflict_quiet_usec / USEC_PER_SEC);
                m->conflict_what = mfree(m->conflict_what);
                break;
        default:
                break;
        }
        return 0;
}

/* Reads every input (KSM, the Node, the selection, the record, memory) and works out what the
 * policy wants. 0 or -ENOMEM. */

/* A source that applies a patch at once (the file source) shows the Node as patched now: that is
 * what was seen last, so that a later change is told from the daemon's own. A patch still on its
 * way (the API server) is seen when its watch event comes. */
void manager_seen_node_again(Manager *m) {
        NodeView v = {};

        if (!m->source || !m->source->node || node_view_from_json(m->source->node, &v, NULL) < 0)
                return;
        owned_set_string(&m->seen.label, &m->seen_label, node_view_label(&v, m->config.enabled_label));
        owned_set_string(&m->seen.annotation, &m->seen_annotation, node_view_annotation(&v, m->config.managed_annotation));
        m->seen.has_label = m->seen.has_annotation = true;
        node_view_done(&v);
}
