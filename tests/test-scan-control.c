/* test-scan-control.c — the adaptive scan controller: step tables, and a simulation of KSM's two-pass merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "macro.h"
#include "scan-control.h"
#include "test-tables.h"

#define SEC UINT64_C(1000000)
#define MSEC UINT64_C(1000)

static const ScanParams params = {
        .fast_pages = 10000,
        .fast_sleep_ms = 10,
        .idle_pages = 100,
        .idle_sleep_ms = 200,
        .sample_usec = 1 * SEC,
        .idle_sample_usec = 2 * SEC,
        .wake_memory_kb = 65536,
        .quiet_pass_pages = 256,
        .holdoff_max_usec = 300 * SEC,
};

/* ---- single steps, as a table ----------------------------------------------------------------- */

typedef struct StepCase {
        const char *name;
        ScanState state;                /* the controller before the step */
        ScanWake wake;
        uint64_t passes;
        unsigned quiet_samples;
        uint64_t holdoff_until_sec;
        uint64_t idle_mem_kb;
        ScanSample last, now;           /* sharing, shared, unshared, volatile, full scans, time */
        ScanWake hint;
        ScanState want_state;
        ScanWake want_wake;
        uint32_t want_pages, want_sleep;
        bool want_changed;
} StepCase;

#define S(t, sharing, shared, unshared, vol, scans) \
        { .now_usec = (t) * SEC, .pages_sharing = (sharing), .pages_shared = (shared), \
          .pages_unshared = (unshared), .pages_volatile = (vol), .full_scans = (scans), \
          .have_meminfo = true, .mem_total_kb = 24u << 20, .mem_available_kb = 20u << 20 }
#define SM(t, sharing, scans, avail_kb) \
        { .now_usec = (t) * SEC, .pages_sharing = (sharing), .full_scans = (scans), \
          .have_meminfo = true, .mem_total_kb = 24u << 20, .mem_available_kb = (avail_kb) }
#define FAST 10000, 10
#define IDLE 100, 200

static const StepCase step_cases[] = {
        { .name = "off starts waking at the fast rate",
          .state = SCAN_STATE_OFF, .last = S(0, 0, 0, 0, 0, 0), .now = S(1, 0, 0, 0, 0, 0),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_START, FAST, .want_changed = true },
        { .name = "waking with growing merges is merging",
          .state = SCAN_STATE_WAKING, .wake = SCAN_WAKE_START,
          .last = S(1, 0, 0, 1000, 5000, 1), .now = S(2, 4000, 1000, 500, 100, 1),
          .want_state = SCAN_STATE_MERGING, .want_wake = SCAN_WAKE_START, FAST, .want_changed = true },
        { .name = "waking, no merges yet, stays waking",
          .state = SCAN_STATE_WAKING, .wake = SCAN_WAKE_START,
          .last = S(1, 0, 0, 0, 5000, 0), .now = S(2, 0, 0, 0, 9000, 0),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "one quiet pass is not enough after a wake",
          .state = SCAN_STATE_WAKING, .wake = SCAN_WAKE_START, .passes = 0,
          .last = S(1, 0, 0, 0, 0, 0), .now = S(2, 0, 0, 0, 0, 1),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "second quiet pass goes idle",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 1,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 30100, 10010, 20, 30, 4),
          .want_state = SCAN_STATE_IDLE, .want_wake = SCAN_WAKE_START, IDLE, .want_changed = true },
        { .name = "two passes done: a first quiet sample mid-pass is not enough",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 2,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 30000, 10000, 20, 30, 3),
          .want_state = SCAN_STATE_MERGING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "two passes done: a second quiet sample mid-pass goes idle",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 2, .quiet_samples = 1,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 30100, 10000, 20, 30, 3),
          .want_state = SCAN_STATE_IDLE, .want_wake = SCAN_WAKE_START, IDLE, .want_changed = true },
        { .name = "two passes done: pages leaving volatile mid-pass are work in progress",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 2, .quiet_samples = 1,
          .last = S(5, 30000, 10000, 20, 5000, 3), .now = S(6, 30000, 10000, 4000, 1020, 3),
          .want_state = SCAN_STATE_MERGING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "one pass done: quiet samples do not count",
          .state = SCAN_STATE_WAKING, .wake = SCAN_WAKE_MEMORY, .passes = 1, .quiet_samples = 5,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 30000, 10000, 20, 30, 3),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_MEMORY, FAST },
        { .name = "a pass that checksummed new pages is not quiet",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 3,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 30000, 10000, 20, 9000, 4),
          .want_state = SCAN_STATE_MERGING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "a pass that merged is not quiet",
          .state = SCAN_STATE_MERGING, .wake = SCAN_WAKE_START, .passes = 3,
          .last = S(5, 30000, 10000, 20, 30, 3), .now = S(6, 31000, 10000, 20, 30, 4),
          .want_state = SCAN_STATE_MERGING, .want_wake = SCAN_WAKE_START, FAST },
        { .name = "idle, MemAvailable fell by more than 64 MiB: wakes",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = SM(10, 30000, 9, 20u << 20), .now = SM(12, 30000, 9, (20u << 20) - 65536),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_MEMORY, FAST, .want_changed = true },
        { .name = "idle, MemAvailable fell by less than 64 MiB: stays idle",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = SM(10, 30000, 9, 20u << 20), .now = SM(12, 30000, 9, (20u << 20) - 65000),
          .want_state = SCAN_STATE_IDLE, .want_wake = SCAN_WAKE_START, IDLE },
        { .name = "idle, MemAvailable fell during a hold-off: stays idle",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_MEMORY, .idle_mem_kb = 20u << 20, .holdoff_until_sec = 40,
          .last = SM(10, 30000, 9, 20u << 20), .now = SM(12, 30000, 9, 19u << 20),
          .want_state = SCAN_STATE_IDLE, .want_wake = SCAN_WAKE_MEMORY, IDLE },
        { .name = "idle, the slow scan merged a batch: wakes even in a hold-off",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_MEMORY, .idle_mem_kb = 20u << 20, .holdoff_until_sec = 40,
          .last = SM(10, 30000, 9, 20u << 20), .now = SM(12, 30300, 9, 20u << 20),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_MERGES, FAST, .want_changed = true },
        { .name = "idle, new pages checksummed: wakes",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = S(10, 30000, 1000, 10, 10, 9), .now = S(12, 30000, 1000, 10, 5000, 9),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_NEW_PAGES, FAST, .want_changed = true },
        { .name = "idle, a Reconcile() call wakes even in a hold-off",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_MEMORY, .holdoff_until_sec = 40, .idle_mem_kb = 20u << 20,
          .last = S(10, 30000, 1000, 10, 10, 9), .now = S(12, 30000, 1000, 10, 10, 9),
          .hint = SCAN_WAKE_REQUEST,
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_REQUEST, FAST, .want_changed = true },
        { .name = "idle, memory hot-plug wakes",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = S(10, 30000, 1000, 10, 10, 9), .now = S(12, 30000, 1000, 10, 10, 9),
          .hint = SCAN_WAKE_HOTPLUG,
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_HOTPLUG, FAST, .want_changed = true },
        { .name = "full_scans went back (unmerged): starts over",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = S(10, 30000, 1000, 10, 10, 9), .now = S(12, 0, 0, 0, 0, 0),
          .want_state = SCAN_STATE_WAKING, .want_wake = SCAN_WAKE_RESET, FAST, .want_changed = true },
        { .name = "idle, nothing new: stays idle",
          .state = SCAN_STATE_IDLE, .wake = SCAN_WAKE_START, .idle_mem_kb = 20u << 20,
          .last = S(10, 30000, 1000, 10, 10, 9), .now = S(12, 30010, 1000, 10, 12, 10),
          .want_state = SCAN_STATE_IDLE, .want_wake = SCAN_WAKE_START, IDLE },
};

static void test_step(void **state) {
        const StepCase *t = *state;
        ScanControl c = {
                .state = t->state,
                .wake = t->wake,
                .last = t->last,
                .passes = t->passes,
                .quiet_samples = t->quiet_samples,
                .pass_saved = scan_sample_saved_pages(&t->last),
                .pass_tracked = t->last.pages_shared + t->last.pages_sharing + t->last.pages_unshared +
                                t->last.pages_volatile,
                .holdoff_until_usec = t->holdoff_until_sec * SEC,
                .idle_mem_kb = t->idle_mem_kb,
                .idle_tracked = t->last.pages_unshared + t->last.pages_volatile,
        };
        bool changed;

        c.pages_to_scan = t->state == SCAN_STATE_IDLE ? params.idle_pages : params.fast_pages;
        c.sleep_millisecs = t->state == SCAN_STATE_IDLE ? params.idle_sleep_ms : params.fast_sleep_ms;

        changed = scan_control_step(&c, &params, &t->now, t->hint);
        if (c.state != t->want_state)
                fail_msg("%s: state %s, want %s", t->name, scan_state_to_string(c.state),
                         scan_state_to_string(t->want_state));
        if (c.wake != t->want_wake)
                fail_msg("%s: wake %s, want %s", t->name, scan_wake_to_string(c.wake),
                         scan_wake_to_string(t->want_wake));
        if (c.pages_to_scan != t->want_pages || c.sleep_millisecs != t->want_sleep)
                fail_msg("%s: rate %u/%u, want %u/%u", t->name, c.pages_to_scan, c.sleep_millisecs,
                         t->want_pages, t->want_sleep);
        if (changed != t->want_changed)
                fail_msg("%s: changed %d, want %d", t->name, changed, t->want_changed);
}

static void test_holdoff_doubles(void **state) {
        ScanSample s = SM(0, 0, 0, 20u << 20);
        ScanControl c;
        uint64_t want[] = { 10 * SEC, 20 * SEC, 40 * SEC, 80 * SEC, 160 * SEC, 300 * SEC, 300 * SEC };

        scan_control_start(&c, &params, &s, SCAN_WAKE_START);
        /* Two quiet passes: idle, no hold-off after a start. */
        s.now_usec += SEC; s.full_scans++;
        (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
        s.now_usec += SEC; s.full_scans++;
        (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
        assert_int_equal(c.state, SCAN_STATE_IDLE);
        assert_int_equal(c.holdoff_usec, 0);

        /* Each time MemAvailable falls and nothing merges, the hold-off doubles up to the cap. */
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                s.now_usec = c.holdoff_until_usec + SEC;
                s.mem_available_kb -= 300000;
                (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
                assert_int_equal(c.state, SCAN_STATE_WAKING);
                assert_int_equal(c.wake, SCAN_WAKE_MEMORY);
                for (int k = 0; k < 2; k++) {
                        s.now_usec += SEC; s.full_scans++;
                        (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
                }
                assert_int_equal(c.state, SCAN_STATE_IDLE);
                if (c.holdoff_usec != want[i])
                        fail_msg("fruitless wake %zu: hold-off %" PRIu64 " s, want %" PRIu64 " s", i + 1,
                                 c.holdoff_usec / SEC, want[i] / SEC);
        }

        /* A fruitful wake clears it. */
        s.now_usec = c.holdoff_until_usec + SEC;
        s.mem_available_kb -= 300000;
        (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
        s.now_usec += SEC; s.full_scans++; s.pages_sharing += 5000;
        (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
        for (int k = 0; k < 2; k++) {
                s.now_usec += SEC; s.full_scans++;
                (void) scan_control_step(&c, &params, &s, SCAN_WAKE_NONE);
        }
        assert_int_equal(c.state, SCAN_STATE_IDLE);
        assert_int_equal(c.holdoff_usec, 0);
}

static void test_strings(void **state) {
        for (ScanState s = 0; s < _SCAN_STATE_MAX; s++)
                assert_int_equal(scan_state_from_string(scan_state_to_string(s)), s);
        for (ScanWake w = 0; w < _SCAN_WAKE_MAX; w++)
                assert_int_equal(scan_wake_from_string(scan_wake_to_string(w)), w);
        assert_null(scan_state_to_string(_SCAN_STATE_MAX));
        assert_int_equal(scan_state_from_string("sleeping"), _SCAN_STATE_INVALID);
        assert_int_equal(scan_control_pages_per_sec(100, 20), 5000);
        assert_int_equal(scan_control_pages_per_sec(100, 0), 100000);
}

/* ---- a simulated ksmd ------------------------------------------------------------------------- */

/*
 * A model of mm/ksm.c good enough to show the controller's shape without timing anything real:
 * pages in areas scanned in order, pages_to_scan per batch, a sleep rounded up to the 4 ms tick
 * and a tick late (measured: 10 ms sleeps 16 ms, 20 ms sleeps 24 ms); the first visit of a page
 * records its checksum, the next one merges it with an identical page of the stable tree or of
 * this pass's unstable tree, or puts it in the unstable tree; a page identical to a merged one
 * merges on first sight; areas registered during a pass join at the next one. CPU per page from
 * the measured ranges: 0.6 us checksum, 1 us unstable tree, 4 us merge, 1.2 us merged revisit.
 */

enum { PG_UNSEEN, PG_CHECKSUMMED, PG_UNSTABLE, PG_STABLE };

typedef struct SimPage {
        uint32_t content;
        uint8_t state;
        uint32_t unstable_pass;         /* the pass whose unstable tree holds it */
} SimPage;

typedef struct Sim {
        SimPage *pages;
        size_t n_pages;                 /* in the scan (areas that joined) */
        size_t n_pending;               /* registered during this pass, join at the next */
        size_t cap;
        size_t cursor;

        uint32_t n_contents;
        int32_t *stable;                /* per content: pages merged into its KSM page (0: none) */
        int64_t *unstable;              /* per content: the page index in this pass's tree, or -1 */
        uint32_t *unstable_pass;

        uint64_t shared, sharing, unshared, volatile_;
        uint64_t full_scans;
        uint64_t now_usec, cpu_nsec;
        uint64_t next_batch_usec;
        uint64_t mem_total_kb, base_available_kb;
} Sim;

static void sim_init(Sim *s, size_t cap, uint32_t n_contents) {
        *s = (Sim) {
                .pages = calloc(cap, sizeof(SimPage)),
                .cap = cap,
                .n_contents = n_contents,
                .stable = calloc(n_contents, sizeof(int32_t)),
                .unstable = malloc(n_contents * sizeof(int64_t)),
                .unstable_pass = calloc(n_contents, sizeof(uint32_t)),
                .mem_total_kb = 24u << 20,
                .base_available_kb = 22u << 20,
        };
        assert_non_null(s->pages);
        assert_non_null(s->stable);
        assert_non_null(s->unstable);
        assert_non_null(s->unstable_pass);
}

static void sim_done(Sim *s) {
        free(s->pages);
        free(s->stable);
        free(s->unstable);
        free(s->unstable_pass);
}

/* Registers an area of n pages: the first dup_percent % are copies of contents 0.. (shared with
 * the other areas), the rest are unique. */
static void sim_add_area(Sim *s, size_t n, unsigned dup_percent, uint32_t *next_unique) {
        size_t dups = n * dup_percent / 100;

        assert_true(s->n_pages + s->n_pending + n <= s->cap);
        for (size_t i = 0; i < n; i++) {
                SimPage *p = &s->pages[s->n_pages + s->n_pending + i];

                p->content = i < dups ? (uint32_t) i : (*next_unique)++;
                assert_true(p->content < s->n_contents);
                p->state = PG_UNSEEN;
        }
        s->n_pending += n;
}

/* Pages present (scanned or pending) minus pages saved: what the workload costs the host. */
static uint64_t sim_available_kb(const Sim *s) {
        uint64_t used = (s->n_pages + s->n_pending - s->sharing) * 4;

        return s->base_available_kb > used ? s->base_available_kb - used : 0;
}

static void sim_scan_page(Sim *s, SimPage *p) {
        uint32_t pass = (uint32_t) s->full_scans + 1;

        if (p->state == PG_STABLE) {
                s->cpu_nsec += 1200;
                return;
        }
        if (s->stable[p->content] > 0) {
                /* Identical to a merged page: merges at once. */
                if (p->state == PG_UNSTABLE)
                        s->unshared--;
                else if (p->state == PG_CHECKSUMMED)
                        s->volatile_--;
                p->state = PG_STABLE;
                s->stable[p->content]++;
                s->sharing++;
                s->cpu_nsec += 4000;
                return;
        }
        if (p->state == PG_UNSEEN) {
                p->state = PG_CHECKSUMMED;
                s->volatile_++;
                s->cpu_nsec += 600;
                return;
        }
        /* Checksum unchanged since the last visit: look in this pass's unstable tree. */
        if (s->unstable_pass[p->content] == pass && s->unstable[p->content] >= 0 &&
            &s->pages[s->unstable[p->content]] != p) {
                SimPage *q = &s->pages[s->unstable[p->content]];

                q->state = PG_STABLE;
                s->unshared--;
                if (p->state == PG_UNSTABLE)
                        s->unshared--;
                else
                        s->volatile_--;
                p->state = PG_STABLE;
                s->stable[p->content] = 2;
                s->shared++;
                s->sharing++;
                s->unstable[p->content] = -1;
                s->cpu_nsec += 4000;
                return;
        }
        if (p->state == PG_CHECKSUMMED) {
                s->volatile_--;
                s->unshared++;
                p->state = PG_UNSTABLE;
        }
        s->unstable[p->content] = p - s->pages;
        s->unstable_pass[p->content] = pass;
        s->cpu_nsec += 1000;
}

/* Runs ksmd until `until`, at the given rate. */
static void sim_run(Sim *s, uint64_t until, uint32_t pages_to_scan, uint32_t sleep_ms) {
        uint64_t sleep_usec = ((uint64_t) (sleep_ms + 3) / 4 * 4 + 4) * MSEC;

        while (s->next_batch_usec < until) {
                uint64_t cpu_before = s->cpu_nsec;

                s->now_usec = s->next_batch_usec;
                s->cpu_nsec += 5000;    /* a wake-up */
                for (uint32_t i = 0; i < pages_to_scan; i++) {
                        if (s->cursor >= s->n_pages) {
                                /* End of a pass: pending areas join, the unstable tree starts over. */
                                s->cursor = 0;
                                s->full_scans++;
                                s->n_pages += s->n_pending;
                                s->n_pending = 0;
                                if (s->n_pages == 0)
                                        break;
                        }
                        sim_scan_page(s, &s->pages[s->cursor++]);
                }
                s->next_batch_usec = s->now_usec + (s->cpu_nsec - cpu_before) / 1000 + sleep_usec;
        }
        s->now_usec = until;
}

static ScanSample sim_sample(const Sim *s) {
        return (ScanSample) {
                .now_usec = s->now_usec,
                .pages_shared = s->shared,
                .pages_sharing = s->sharing,
                .pages_unshared = s->unshared,
                .pages_volatile = s->volatile_,
                .full_scans = s->full_scans,
                .have_meminfo = true,
                .mem_total_kb = s->mem_total_kb,
                .mem_available_kb = sim_available_kb(s),
        };
}

typedef struct SimRun {
        Sim sim;
        ScanControl ctl;
        uint64_t idle_cpu_nsec, idle_usec;      /* spent while the controller was idle */
        uint64_t woke_usec;                     /* when it last left idle */
        char trace[4096];
} SimRun;

/* Drives the simulated ksmd with the controller for `duration`; returns the time when saved pages
 * first reached `target` (UINT64_MAX: never). */
static uint64_t sim_drive(SimRun *r, uint64_t duration, uint64_t target) {
        uint64_t end = r->sim.now_usec + duration, reached = UINT64_MAX;

        while (r->sim.now_usec < end) {
                uint64_t next = MIN(r->sim.now_usec + scan_control_interval_usec(&r->ctl, &params), end);
                uint64_t cpu0 = r->sim.cpu_nsec, t0 = r->sim.now_usec;
                bool idle = r->ctl.state == SCAN_STATE_IDLE;
                ScanSample smp;

                sim_run(&r->sim, next, r->ctl.pages_to_scan, r->ctl.sleep_millisecs);
                if (idle) {
                        r->idle_cpu_nsec += r->sim.cpu_nsec - cpu0;
                        r->idle_usec += r->sim.now_usec - t0;
                }
                smp = sim_sample(&r->sim);
                if (reached == UINT64_MAX && r->sim.sharing >= target)
                        reached = r->sim.now_usec;
                if (scan_control_step(&r->ctl, &params, &smp, SCAN_WAKE_NONE)) {
                        size_t l = strlen(r->trace);

                        if (idle)
                                r->woke_usec = r->sim.now_usec;

                        (void) snprintf(r->trace + l, sizeof(r->trace) - l, " %.1fs:%s",
                                        (double) r->sim.now_usec / SEC, scan_state_to_string(r->ctl.state));
                }
        }
        return reached;
}

#define AREA_PAGES 32768u       /* 128 MiB */

static void test_simulation_two_waves(void **state) {
        SimRun *r = calloc(1, sizeof(SimRun));
        uint32_t unique = AREA_PAGES;   /* contents below are the shared ones */
        uint64_t max1, max2, t90, wave2, woke_at;
        ScanSample s0;

        assert_non_null(r);
        sim_init(&r->sim, 8 * AREA_PAGES, 9 * AREA_PAGES);

        /* Wave 1: 4 areas x 128 MiB, 75 % of the pages the same in all four. */
        for (int i = 0; i < 4; i++)
                sim_add_area(&r->sim, AREA_PAGES, 75, &unique);
        max1 = (uint64_t) AREA_PAGES * 75 / 100 * 3;

        s0 = sim_sample(&r->sim);
        scan_control_start(&r->ctl, &params, &s0, SCAN_WAKE_START);
        t90 = sim_drive(r, 10 * SEC, max1 * 9 / 10);
        print_message("wave 1: 90 %% of %" PRIu64 " pages after %.1f s; trace:%s\n", max1,
                      (double) t90 / SEC, r->trace);
        assert_true(t90 <= 10 * SEC);

        (void) sim_drive(r, 20 * SEC, UINT64_MAX);
        assert_int_equal(r->ctl.state, SCAN_STATE_IDLE);
        assert_int_equal(r->ctl.pages_to_scan, params.idle_pages);
        assert_true(r->sim.sharing >= max1 * 99 / 100);

        /* Idle for a minute: ksmd below 1 % of one core, the controller stays idle. */
        r->idle_cpu_nsec = r->idle_usec = 0;
        (void) sim_drive(r, 60 * SEC, UINT64_MAX);
        assert_int_equal(r->ctl.state, SCAN_STATE_IDLE);
        print_message("idle: ksmd %.3f %% of one core\n", 100.0 * r->idle_cpu_nsec / 1000 / r->idle_usec);
        assert_true(r->idle_cpu_nsec / 1000 * 100 <= r->idle_usec);

        /* Wave 2: four more areas of the same content. */
        wave2 = r->sim.now_usec;
        r->trace[0] = 0;
        for (int i = 0; i < 4; i++)
                sim_add_area(&r->sim, AREA_PAGES, 75, &unique);
        max2 = (uint64_t) AREA_PAGES * 75 / 100 * 7;
        r->woke_usec = 0;
        t90 = sim_drive(r, 10 * SEC, max2 * 9 / 10);
        woke_at = r->woke_usec - wave2;
        print_message("wave 2: woke after %.1f s (%s)\n", (double) woke_at / SEC, scan_wake_to_string(r->ctl.wake));
        assert_true(r->woke_usec > wave2 && woke_at <= params.idle_sample_usec);
        assert_int_equal(r->ctl.wake, SCAN_WAKE_MEMORY);
        print_message("wave 2: 90 %% of %" PRIu64 " pages %.1f s after it appeared; trace:%s\n", max2,
                      (double) (t90 - wave2) / SEC, r->trace);
        assert_true(t90 != UINT64_MAX && t90 - wave2 <= 10 * SEC);

        (void) sim_drive(r, 20 * SEC, UINT64_MAX);
        assert_int_equal(r->ctl.state, SCAN_STATE_IDLE);

        sim_done(&r->sim);
        free(r);
}

static void test_simulation_nothing_to_merge(void **state) {
        SimRun *r = calloc(1, sizeof(SimRun));
        uint32_t unique = 0;
        ScanSample s0;

        assert_non_null(r);
        sim_init(&r->sim, 4 * AREA_PAGES, 4 * AREA_PAGES);
        for (int i = 0; i < 4; i++)
                sim_add_area(&r->sim, AREA_PAGES, 0, &unique);

        s0 = sim_sample(&r->sim);
        scan_control_start(&r->ctl, &params, &s0, SCAN_WAKE_START);
        (void) sim_drive(r, 15 * SEC, UINT64_MAX);
        print_message("nothing to merge: trace:%s\n", r->trace);
        assert_int_equal(r->ctl.state, SCAN_STATE_IDLE);
        assert_int_equal(r->sim.sharing, 0);

        r->idle_cpu_nsec = r->idle_usec = 0;
        (void) sim_drive(r, 120 * SEC, UINT64_MAX);
        assert_int_equal(r->ctl.state, SCAN_STATE_IDLE);
        assert_true(r->idle_cpu_nsec / 1000 * 100 <= r->idle_usec);

        sim_done(&r->sim);
        free(r);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(step_cases) + 8];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, step_cases, test_step);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_holdoff_doubles);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_strings);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_simulation_two_waves);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_simulation_nothing_to_merge);

        return _cmocka_run_group_tests("scan-control", tests, n, NULL, NULL);
}
