/* conflict.c — noticing another writer of run, the scan rate, the label and the annotation, and not fighting it. */
#include <assert.h>
#include <inttypes.h>

#include "conflict.h"
#include "macro.h"
#include "util.h"

/*
 * Two managers of the same KSM flap forever: upstream virt-handler's loop (every 10 minutes, and
 * on every KubeVirt CR change) writes run, pages_to_scan and sleep_millisecs and merge-patches
 * the same label and annotation on every pass, with its own meaning. The rule here: a change that
 * the daemon did not make is corrected once; if it comes back before the other writer has been
 * quiet for quiet_usec, the daemon stops writing what it owns and says so, until the other writer
 * has been quiet that long. Only changes can be seen: another writer that writes the values the
 * daemon wants is no conflict.
 */

static const char *const conflict_step_table[_CONFLICT_STEP_MAX] = {
        [CONFLICT_NONE] = "none",
        [CONFLICT_CORRECT] = "correct",
        [CONFLICT_ENTER] = "enter",
        [CONFLICT_HOLD] = "hold",
        [CONFLICT_LEAVE] = "leave",
};

DEFINE_STRING_TABLE_TO_STRING(conflict_step, ConflictStep, _CONFLICT_STEP_MAX);

static const char *str_or_absent(const char *s) {
        return s ?: "(absent)";
}

static int add_u64(char ***l, const char *what, bool has_w, uint64_t w, bool has_b, uint64_t b, uint64_t n) {
        /* Changed since last seen, and not to what the daemon wrote. */
        if (!has_b || b == n || (has_w && w == n))
                return 0;
        return strv_extendf(l, "%s changed from %" PRIu64 " to %" PRIu64, what, b, n);
}

static int add_str(char ***l, const char *kind, const char *key, const char *manager, bool has_w, const char *w,
                   bool has_b, const char *b, const char *n) {
        /* A key removed is no rival value (a Node replaced or edited by hand): it is put back. */
        if (!n || !has_b || streq_ptr(b, n) || (has_w && streq_ptr(w, n)))
                return 0;
        return strv_extendf(l, "%s %s changed from %s to %s%s%s", kind, key, str_or_absent(b), str_or_absent(n),
                            manager ? " by " : "", strempty(manager));
}

int conflict_detect(const OwnedValues *wrote, const OwnedValues *seen_before, const OwnedValues *seen_now,
                    const char *label_key, const char *label_manager,
                    const char *annotation_key, const char *annotation_manager, char **ret_what) {
        _cleanup_strv_free_ char **l = NULL;
        const OwnedValues *w = wrote, *b = seen_before, *n = seen_now;
        int r;

        assert(wrote && seen_before && seen_now && label_key && annotation_key && ret_what);

        if (n->has_run && (r = add_u64(&l, "run", w->has_run, w->run, b->has_run, b->run, n->run)) < 0)
                return r;
        if (n->has_pages && (r = add_u64(&l, "pages_to_scan", w->has_pages, w->pages_to_scan, b->has_pages,
                                         b->pages_to_scan, n->pages_to_scan)) < 0)
                return r;
        if (n->has_sleep && (r = add_u64(&l, "sleep_millisecs", w->has_sleep, w->sleep_millisecs, b->has_sleep,
                                         b->sleep_millisecs, n->sleep_millisecs)) < 0)
                return r;
        if (n->has_label && (r = add_str(&l, "label", label_key, label_manager, w->has_label, w->label,
                                         b->has_label, b->label, n->label)) < 0)
                return r;
        if (n->has_annotation && (r = add_str(&l, "annotation", annotation_key, annotation_manager,
                                              w->has_annotation, w->annotation, b->has_annotation,
                                              b->annotation, n->annotation)) < 0)
                return r;

        if (!l) {
                *ret_what = NULL;
                return 0;
        }
        *ret_what = strv_join(l, "; ");
        return *ret_what ? 1 : -ENOMEM;
}

ConflictStep conflict_step(ConflictState *s, uint64_t now_usec, bool foreign, uint64_t quiet_usec) {
        bool quiet;

        assert(s);

        quiet = s->last_seen_usec == 0 || now_usec >= s->last_seen_usec + quiet_usec;

        if (foreign) {
                bool first = quiet || s->corrections == 0;

                s->last_seen_usec = now_usec ?: 1;
                if (s->holding)
                        return CONFLICT_HOLD;
                if (first) {
                        s->corrections = 1;
                        return CONFLICT_CORRECT;
                }
                s->holding = true;
                return CONFLICT_ENTER;
        }

        if (!quiet)
                return s->holding ? CONFLICT_HOLD : CONFLICT_NONE;

        /* Quiet long enough: forget the corrections, and let go if holding. */
        s->corrections = 0;
        if (s->holding) {
                s->holding = false;
                return CONFLICT_LEAVE;
        }
        return CONFLICT_NONE;
}
