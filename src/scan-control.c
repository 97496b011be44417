/* scan-control.c — the adaptive scan controller: scan hard while merges grow, idle once a pass finds nothing. */
#include <assert.h>
#include <string.h>

#include "macro.h"
#include "scan-control.h"

/*
 * How KSM merges (Documentation/admin-guide/mm/ksm.rst, mm/ksm.c, and measured on kernel 6.18):
 * ksmd visits every page of every MADV_MERGEABLE area in turn, pages_to_scan pages every
 * sleep_millisecs. The first visit of a page only records its checksum (the page gets an rmap
 * item and counts as "volatile"); the next visit merges it if the checksum did not change, with
 * a page of the same content found in the stable tree (merged pages) or the unstable tree (the
 * unmerged pages seen in this pass). A page identical to an already merged one merges on first
 * sight. New areas are put just behind the scan cursor, so their pages are seen only in the pass
 * after the current one.
 *
 * Merging costs ksmd about the same CPU whatever the rate (1.5-2.2 CPU-s per GiB here), and
 * scanning what is already merged costs 0.8-1.7 us a page. So the controller scans at the fast
 * rate while there may be something to merge, and at a near-idle rate once a whole pass found
 * neither merges nor new pages; it wakes up again on signs of new mergeable memory. A pass is
 * "quiet" when the saved pages and the pages KSM tracks (its rmap items) both grew by less than
 * quiet_pass_pages: a pass that only checksummed new memory grew the tracked pages, and the pass
 * that merges them grew the saved pages. The first pass after a wake may be partial and may not
 * have reached the new memory yet, so going idle takes at least two passes. After two passes it
 * need not wait for a third to end: two samples in a row in which nothing merged, KSM tracked no
 * new page and no page left the checksummed state (pages_volatile did not fall) show that the
 * rest of the pass can only confirm what is known. On a large host a pass over converged memory
 * at the fast rate takes seconds of ksmd's CPU.
 *
 * A wake caused by a weak sign (MemAvailable fell, the slow scan saw new pages) that then merged
 * nothing sets a hold-off before the next weak sign counts, doubling up to holdoff_max_usec, so
 * a host whose memory churns without anything to merge does not keep ksmd at the fast rate.
 */

static const char *const scan_state_table[_SCAN_STATE_MAX] = {
        [SCAN_STATE_OFF] = "off",
        [SCAN_STATE_WAKING] = "waking",
        [SCAN_STATE_MERGING] = "merging",
        [SCAN_STATE_IDLE] = "idle",
};

DEFINE_STRING_TABLE(scan_state, ScanState, _SCAN_STATE_MAX);

static const char *const scan_wake_table[_SCAN_WAKE_MAX] = {
        [SCAN_WAKE_NONE] = "none",
        [SCAN_WAKE_START] = "start",
        [SCAN_WAKE_MEMORY] = "memory",
        [SCAN_WAKE_MERGES] = "merges",
        [SCAN_WAKE_NEW_PAGES] = "new-pages",
        [SCAN_WAKE_HOTPLUG] = "hotplug",
        [SCAN_WAKE_REQUEST] = "request",
        [SCAN_WAKE_RESET] = "reset",
};

DEFINE_STRING_TABLE(scan_wake, ScanWake, _SCAN_WAKE_MAX);

uint32_t scan_control_pages_per_sec(uint32_t pages_to_scan, uint32_t sleep_millisecs) {
        uint64_t v;

        if (sleep_millisecs == 0)
                sleep_millisecs = 1;
        v = (uint64_t) pages_to_scan * 1000 / sleep_millisecs;
        return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

/* The pages KSM has an rmap item for: every page it has seen at least once and still tracks. */
static uint64_t tracked_pages(const ScanSample *s) {
        return s->pages_shared + s->pages_sharing + s->pages_unshared + s->pages_volatile;
}

static uint64_t unsettled_pages(const ScanSample *s) {
        return s->pages_unshared + s->pages_volatile;
}

static bool weak_wake(ScanWake w) {
        return w == SCAN_WAKE_MEMORY || w == SCAN_WAKE_NEW_PAGES;
}

static void set_state(ScanControl *c, const ScanParams *p, ScanState state, uint64_t now) {
        if (c->state != state)
                c->state_since_usec = now;
        c->state = state;
        if (state == SCAN_STATE_IDLE) {
                c->pages_to_scan = p->idle_pages;
                c->sleep_millisecs = p->idle_sleep_ms;
        } else {
                c->pages_to_scan = p->fast_pages;
                c->sleep_millisecs = p->fast_sleep_ms;
        }
}

static void wake(ScanControl *c, const ScanParams *p, const ScanSample *s, ScanWake why) {
        set_state(c, p, SCAN_STATE_WAKING, s->now_usec);
        c->wake = why;
        c->passes = 0;
        c->pass_saved = scan_sample_saved_pages(s);
        c->pass_tracked = tracked_pages(s);
        c->wake_saved = scan_sample_saved_pages(s);
        c->quiet_samples = 0;
}

static void go_idle(ScanControl *c, const ScanParams *p, const ScanSample *s) {
        bool fruitful = scan_sample_saved_pages(s) >= c->wake_saved + p->quiet_pass_pages;

        if (fruitful || !weak_wake(c->wake))
                c->holdoff_usec = 0;
        else if (c->holdoff_usec == 0)
                c->holdoff_usec = MIN(SCAN_HOLDOFF_INITIAL_USEC, p->holdoff_max_usec);
        else
                c->holdoff_usec = MIN(c->holdoff_usec * 2, p->holdoff_max_usec);
        c->holdoff_until_usec = s->now_usec + c->holdoff_usec;

        c->idle_mem_kb = s->have_meminfo ? s->mem_available_kb : 0;
        c->idle_tracked = unsettled_pages(s);
        set_state(c, p, SCAN_STATE_IDLE, s->now_usec);
}

void scan_control_start(ScanControl *c, const ScanParams *p, const ScanSample *s, ScanWake why) {
        assert(c && p && s);

        *c = (ScanControl) {
                .state = SCAN_STATE_OFF,
                .last = *s,
                .last_pass_merged = 0,
        };
        wake(c, p, s, why == SCAN_WAKE_NONE ? SCAN_WAKE_START : why);
}

/* Which weak sign, if any, says that new mergeable memory appeared while idle. */
static ScanWake idle_trigger(const ScanControl *c, const ScanParams *p, const ScanSample *s) {
        uint64_t saved = scan_sample_saved_pages(s), last_saved = scan_sample_saved_pages(&c->last);

        /* The slow scan merging a batch's worth in one sample: more is there, go and get it. This
         * one is strong (it is proof, not a sign), so no hold-off. */
        if (saved >= last_saved + p->quiet_pass_pages)
                return SCAN_WAKE_MERGES;

        if (s->now_usec < c->holdoff_until_usec)
                return SCAN_WAKE_NONE;

        if (p->wake_memory_kb > 0 && s->have_meminfo && c->idle_mem_kb > s->mem_available_kb &&
            c->idle_mem_kb - s->mem_available_kb >= p->wake_memory_kb)
                return SCAN_WAKE_MEMORY;

        /* New pages checksummed by the slow scan: a new area was registered. Sixteen quiet passes'
         * worth, so that pages going back and forth between volatile and unshared do not count. */
        if (unsettled_pages(s) >= c->idle_tracked + (uint64_t) p->quiet_pass_pages * 16)
                return SCAN_WAKE_NEW_PAGES;

        return SCAN_WAKE_NONE;
}

bool scan_control_step(ScanControl *c, const ScanParams *p, const ScanSample *s, ScanWake hint) {
        ScanState before;
        uint64_t saved, tracked;

        assert(c && p && s);

        before = c->state;
        if (c->state <= SCAN_STATE_OFF || c->state >= _SCAN_STATE_MAX) {
                scan_control_start(c, p, s, hint);
                return true;
        }

        saved = scan_sample_saved_pages(s);
        tracked = tracked_pages(s);

        /* Counters that went back: KSM was unmerged (run=2) or ksmd's view was reset. Whatever was
         * merged must be found again. */
        if (s->full_scans < c->last.full_scans || s->now_usec < c->last.now_usec) {
                scan_control_start(c, p, s, SCAN_WAKE_RESET);
                return c->state != before;
        }

        if (hint != SCAN_WAKE_NONE && c->state == SCAN_STATE_IDLE)
                wake(c, p, s, hint);

        /* Full passes completed since the last sample: judge them together. */
        if (s->full_scans > c->last.full_scans) {
                uint64_t n = s->full_scans - c->last.full_scans;
                int64_t gained = (int64_t) saved - (int64_t) c->pass_saved;
                bool quiet = saved < c->pass_saved + (uint64_t) p->quiet_pass_pages * n &&
                             tracked < c->pass_tracked + (uint64_t) p->quiet_pass_pages * n;

                c->last_pass_merged = gained / (int64_t) n;
                c->have_last_pass = true;
                c->passes += n;
                c->pass_saved = saved;
                c->pass_tracked = tracked;

                if (c->state != SCAN_STATE_IDLE && quiet && c->passes >= 2) {
                        go_idle(c, p, s);
                        c->last = *s;
                        return c->state != before;
                }
        }

        if (c->state != SCAN_STATE_IDLE && c->passes >= 2) {
                uint64_t q = p->quiet_pass_pages;
                bool quiet = saved < scan_sample_saved_pages(&c->last) + q &&
                             tracked < tracked_pages(&c->last) + q &&
                             s->pages_volatile + q > c->last.pages_volatile;

                c->quiet_samples = quiet ? c->quiet_samples + 1 : 0;
                if (c->quiet_samples >= 2) {
                        go_idle(c, p, s);
                        c->last = *s;
                        return c->state != before;
                }
        }

        switch (c->state) {
        case SCAN_STATE_WAKING:
                if (saved > scan_sample_saved_pages(&c->last))
                        set_state(c, p, SCAN_STATE_MERGING, s->now_usec);
                break;

        case SCAN_STATE_MERGING:
                break;

        case SCAN_STATE_IDLE: {
                ScanWake w;

                if (s->have_meminfo)
                        c->idle_mem_kb = MAX(c->idle_mem_kb, s->mem_available_kb);
                w = idle_trigger(c, p, s);
                if (w != SCAN_WAKE_NONE)
                        wake(c, p, s, w);
                else
                        c->idle_tracked = MIN(c->idle_tracked, unsettled_pages(s));
                break;
        }

        default:
                assert(false);
        }

        c->last = *s;
        return c->state != before;
}

uint64_t scan_control_interval_usec(const ScanControl *c, const ScanParams *p) {
        assert(c && p);
        return c->state == SCAN_STATE_IDLE ? p->idle_sample_usec : p->sample_usec;
}
