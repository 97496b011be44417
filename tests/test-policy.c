/* test-policy.c — policy tables, and upstream virt-handler's "adapt" and "overrides" sequences step by step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>

#include "macro.h"
#include "policy.h"
#include "util.h"
#include "test-tables.h"

/* Upstream defaults (pkg/virt-handler/ksm/ksm.go), with this daemon's sleep bounds for ALWAYS. */
#define DEFAULTS { .pages_boost = 300, .pages_decay = -50, .pages_min = 64, .pages_max = 1250, \
                   .pages_init = 100, .sleep_baseline_ms = 100, .sleep_min_ms = 10,             \
                   .sleep_max_ms = 1000, .free_percent = 20 }

#define GIB_KB UINT64_C(1048576)
#define MI(total, avail) (&(MemInfo) { .total_kb = (total), .available_kb = (avail), .has_available = true })
#define PREV(p) (&(Tuning) { .run = true, .pages_to_scan = (p) })
#define ON(p, s) { .run = true, .pages_to_scan = (p), .sleep_millisecs = (s) }

/* ksm_test.go: MemTotal, and MemAvailable under pressure (7.9 %) and without (59.7 %). */
#define UPSTREAM_TOTAL 65680332
#define UPSTREAM_P     5183928
#define UPSTREAM_NP    39207804

static void check_tuning(const char *name, const Tuning *got, const Tuning *want) {
        if (got->run != want->run || got->pages_to_scan != want->pages_to_scan ||
            got->sleep_millisecs != want->sleep_millisecs)
                fail_msg("%s: got run=%d pages=%" PRIu32 " sleep=%" PRIu32 ", want run=%d pages=%" PRIu32
                         " sleep=%" PRIu32, name, got->run, got->pages_to_scan, got->sleep_millisecs,
                         want->run, want->pages_to_scan, want->sleep_millisecs);
}

static void check_params(const char *name, const PolicyParams *got, const PolicyParams *want) {
#define F(f)                                                                                    \
        if (got->f != want->f)                                                                  \
                fail_msg("%s: " #f " = %" PRIi64 ", want %" PRIi64, name, (int64_t) got->f, (int64_t) want->f)
        F(pages_boost);
        F(pages_decay);
        F(pages_min);
        F(pages_max);
        F(pages_init);
        F(sleep_baseline_ms);
        F(sleep_min_ms);
        F(sleep_max_ms);
        F(free_percent);
#undef F
}

typedef struct ComputeCase {
        const char *name;
        PolicyKind kind;
        PolicyParams p;
        const MemInfo *mi;
        const Tuning *prev;
        Tuning want;
} ComputeCase;

/* --- what the daemon wants, per policy ---------------------------------------------------- */

static const ScanParams scan_defaults = {
        .fast_pages = 10000, .fast_sleep_ms = 10, .idle_pages = 100, .idle_sleep_ms = 200,
        .sample_usec = 1000000, .idle_sample_usec = 2000000, .wake_memory_kb = 65536,
        .quiet_pass_pages = 256, .holdoff_max_usec = 300000000,
};

typedef struct WantCase {
        const char *name;
        PolicyKind kind;
        bool advisor, owned_running, tick, have_last;
        ScanState control;              /* OFF: no controller */
        bool pressure;
        Tuning now, last;
        Tuning want;
        bool stepped;
} WantCase;

static const WantCase want_cases[] = {
        { .name = "always, controller not started: the fast rate",
          .kind = POLICY_ALWAYS, .now = ON(100, 20), .want = ON(10000, 10) },
        { .name = "always, controller idle: its rate",
          .kind = POLICY_ALWAYS, .owned_running = true, .control = SCAN_STATE_IDLE, .now = ON(10000, 10),
          .want = ON(100, 200) },
        { .name = "always, controller merging: its rate",
          .kind = POLICY_ALWAYS, .owned_running = true, .control = SCAN_STATE_MERGING, .now = ON(100, 200),
          .want = ON(10000, 10) },
        { .name = "always ignores memory pressure",
          .kind = POLICY_ALWAYS, .owned_running = true, .pressure = true, .control = SCAN_STATE_IDLE,
          .now = ON(100, 200), .want = ON(100, 200) },
        { .name = "advisor present: the rate in force, never another",
          .kind = POLICY_ADVISOR, .advisor = true, .owned_running = true, .now = ON(4321, 33),
          .want = ON(4321, 33) },
        { .name = "advisor missing: falls back to always",
          .kind = POLICY_ADVISOR, .now = ON(100, 20), .want = ON(10000, 10) },
        { .name = "pressure, between ticks while owned: the last step stands",
          .kind = POLICY_PRESSURE, .owned_running = true, .have_last = true, .pressure = true,
          .now = ON(400, 27), .last = ON(400, 27), .want = ON(400, 27) },
        { .name = "pressure, tick while owned: one boost step",
          .kind = POLICY_PRESSURE, .owned_running = true, .have_last = true, .tick = true, .pressure = true,
          .now = ON(400, 27), .last = ON(400, 27), .want = ON(700, 27), .stepped = true },
        { .name = "pressure, not owned: computed from scratch",
          .kind = POLICY_PRESSURE, .pressure = true, .now = ON(400, 27), .want = ON(100, 27), .stepped = true },
        { .name = "pressure, not owned, no pressure: off",
          .kind = POLICY_PRESSURE, .now = ON(400, 27), .want = { .run = false, .pages_to_scan = 100,
          .sleep_millisecs = 63 }, .stepped = true },
};

static void test_want(void **state) {
        const WantCase *c = *state;
        PolicyParams p = DEFAULTS;
        ScanControl ctl = { .state = c->control, .pages_to_scan = c->control == SCAN_STATE_IDLE ? 100 : 10000,
                            .sleep_millisecs = c->control == SCAN_STATE_IDLE ? 200 : 10 };
        PolicyInput in = {
                .kind = c->kind,
                .params = &p,
                .scan = &scan_defaults,
                .mi = MI(UPSTREAM_TOTAL, c->pressure ? UPSTREAM_P : UPSTREAM_NP),
                .owned_running = c->owned_running,
                .now = c->now,
                .tick = c->tick,
                .last = c->have_last ? &c->last : NULL,
                .control = c->control != SCAN_STATE_OFF ? &ctl : NULL,
                .advisor_available = c->advisor,
        };
        Tuning t;
        bool stepped;

        memset(&t, 0xaa, sizeof(t));
        policy_want(&in, &t, &stepped);
        check_tuning(c->name, &t, &c->want);
        if (stepped != c->stepped)
                fail_msg("%s: stepped %d, want %d", c->name, stepped, c->stepped);
}

/* --- PRESSURE: single computations --------------------------------------------------------- */

static const ComputeCase pressure_cases[] = {
        { "not running, no pressure: stays off",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_NP), NULL,
          { .run = false, .pages_to_scan = 100, .sleep_millisecs = 63 } },
        { "not running, pressure: init",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_P), NULL, ON(100, 27) },
        { "prev not running counts as not running",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_P),
          &(Tuning) { .run = false, .pages_to_scan = 900 }, ON(100, 27) },
        { "running, pressure: boost",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_P), PREV(100), ON(400, 27) },
        { "running, pressure: boost capped",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_P), PREV(1000), ON(1250, 27) },
        { "running, no pressure: decay",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_NP), PREV(1250), ON(1200, 63) },
        { "running, no pressure: decay to exactly min keeps running",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_NP), PREV(114), ON(64, 63) },
        { "running, no pressure: decay below min stops",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_NP), PREV(100),
          { .run = false, .pages_to_scan = 64, .sleep_millisecs = 63 } },
        { "running above a lowered max: decay lands at max",
          POLICY_PRESSURE, DEFAULTS, MI(UPSTREAM_TOTAL, UPSTREAM_NP), PREV(5000), ON(1250, 63) },
        { "nothing used (available == total): sleep scaled by total",
          POLICY_PRESSURE, DEFAULTS, MI(16 * GIB_KB, 16 * GIB_KB), PREV(400), ON(350, 100) },
        { "available above total: sleep scaled by total, no wrap-around",
          POLICY_PRESSURE, DEFAULTS, MI(16 * GIB_KB, 32 * GIB_KB), PREV(400), ON(350, 100) },
        { "1 TiB used: floored at baseline / 10",
          POLICY_PRESSURE, DEFAULTS, MI(2048 * GIB_KB, 1024 * GIB_KB), PREV(400), ON(350, 10) },
        { "small baseline: floored at 1 ms, never 0",
          POLICY_PRESSURE, { .pages_boost = 300, .pages_decay = -50, .pages_min = 64, .pages_max = 1250,
                             .pages_init = 100, .sleep_baseline_ms = 5, .free_percent = 20 },
          MI(2048 * GIB_KB, 1024 * GIB_KB), PREV(400), ON(350, 1) },
        { "1 kB used, huge baseline: saturates, no upper bound otherwise",
          POLICY_PRESSURE, { .pages_boost = 300, .pages_decay = -50, .pages_min = 64, .pages_max = 1250,
                             .pages_init = 100, .sleep_baseline_ms = UINT32_MAX, .sleep_max_ms = 1000,
                             .free_percent = 100 },
          MI(1000, 999), NULL, ON(100, UINT32_MAX) },
        { "no upper clamp: 8 GiB host, 1 GiB used sleeps 1.6 s like upstream",
          POLICY_PRESSURE, DEFAULTS, MI(8 * GIB_KB, 7 * GIB_KB), PREV(400), ON(350, 1600) },
        { "meminfo unreadable, running: decay with baseline sleep",
          POLICY_PRESSURE, DEFAULTS, NULL, PREV(400), ON(350, 100) },
        { "MemTotal 0: treated as unreadable, no division by zero",
          POLICY_PRESSURE, DEFAULTS, MI(0, 0), PREV(400), ON(350, 100) },
        { "meminfo unreadable, not running: stays off",
          POLICY_PRESSURE, DEFAULTS, NULL, NULL, { .run = false, .pages_to_scan = 100, .sleep_millisecs = 100 } },
};

static void test_compute_pressure(void **state) {
        const ComputeCase *c = *state;
        Tuning t;

        memset(&t, 0xaa, sizeof(t));
        policy_compute_pressure(&c->p, c->mi, c->prev, &t);
        check_tuning(c->name, &t, &c->want);
}

/* --- PRESSURE: upstream sequences ---------------------------------------------------------- */

typedef struct Step {
        const char *name;
        bool pressure;                  /* meminfo: UPSTREAM_P or UPSTREAM_NP */
        const char *free_override;      /* re-applies the overrides with this free-percent, or NULL */
        unsigned spins;                 /* handler.spin() calls in this step */
        bool run;                       /* after the last spin */
        uint32_t pages, sleep;          /* checked only while running, as upstream's expectKSMState */
        unsigned off_at;                /* when set: the spin of this step that switched KSM off */
} Step;

/* Runs steps the way ksm_test.go drives spin(): prev is what is in force when KSM runs. */
static void run_sequence(const char *seq, const PolicyParams *initial, json_object *annotations,
                         const Step *steps, size_t n) {
        Tuning cur = { .run = false, .pages_to_scan = 100, .sleep_millisecs = 20 };    /* fake sysfs */

        for (size_t i = 0; i < n; i++) {
                const Step *s = &steps[i];
                const MemInfo *mi = s->pressure ? MI(UPSTREAM_TOTAL, UPSTREAM_P) : MI(UPSTREAM_TOTAL, UPSTREAM_NP);
                PolicyParams p = *initial;
                unsigned off_at = 0;

                /* Like upstream, the annotations are read afresh before every spin. */
                if (s->free_override)
                        json_object_object_add(annotations, "kubevirt.io/ksm-free-percent-override",
                                               json_object_new_string(s->free_override));
                if (policy_apply_overrides(&p, annotations, NULL) < 0)
                        fail_msg("%s, step \"%s\": policy_apply_overrides failed", seq, s->name);

                for (unsigned k = 1; k <= s->spins; k++) {
                        Tuning next;

                        policy_compute_pressure(&p, mi, cur.run ? &cur : NULL, &next);
                        /* Upstream writes pages and sleep only when running, run always. */
                        if (next.run)
                                cur = next;
                        else {
                                if (cur.run && off_at == 0)
                                        off_at = k;
                                cur.run = false;
                        }
                }

                if (cur.run != s->run)
                        fail_msg("%s, step \"%s\": run=%d, want %d", seq, s->name, cur.run, s->run);
                if (cur.run && (cur.pages_to_scan != s->pages || cur.sleep_millisecs != s->sleep))
                        fail_msg("%s, step \"%s\": pages=%" PRIu32 " sleep=%" PRIu32 ", want %" PRIu32 " %" PRIu32,
                                 seq, s->name, cur.pages_to_scan, cur.sleep_millisecs, s->pages, s->sleep);
                if (s->off_at != off_at)
                        fail_msg("%s, step \"%s\": switched off at spin %u, want %u", seq, s->name, off_at,
                                 s->off_at);
        }
}

static void test_upstream_case8_adapt(void **state) {
        /* ksm_test.go "should adapt to memory pressure". Sleep: 100 x 16 GiB / used kB. */
        static const Step steps[] = {
                { "initial spin, no pressure",          false, NULL, 1, false, 0, 0, 0 },
                { "second spin, no pressure: no change", false, NULL, 1, false, 0, 0, 0 },
                { "pressure: start at init",            true, NULL, 1, true, 100, 27, 0 },
                { "pressure: boost",                    true, NULL, 1, true, 400, 27, 0 },
                { "pressure x3: up to max",             true, NULL, 3, true, 1250, 27, 0 },
                { "no pressure: decay, longer sleep",   false, NULL, 1, true, 1200, 63, 0 },
                { "no pressure x15: 1250 - 16 x 50",    false, NULL, 15, true, 450, 63, 0 },
                { "no pressure x30: off at the 8th",    false, NULL, 30, false, 0, 0, 8 },
        };
        PolicyParams p = DEFAULTS;

        /* Upstream's defaults, computed the upstream way. */
        assert_int_equal(100 * 16777216 / (UPSTREAM_TOTAL - UPSTREAM_P), 27);
        assert_int_equal(100 * 16777216 / (UPSTREAM_TOTAL - UPSTREAM_NP), 63);

        run_sequence("case 8 (adapt)", &p, NULL, steps, ELEMENTSOF(steps));
}

static const char case9_annotations[] =
        "{ \"kubevirt.io/ksm-pages-boost-override\": \"123\","
        "  \"kubevirt.io/ksm-pages-decay-override\": \"45\","
        "  \"kubevirt.io/ksm-pages-min-override\": \"166\","
        "  \"kubevirt.io/ksm-pages-max-override\": \"789\","
        "  \"kubevirt.io/ksm-pages-init-override\": \"1011\","
        "  \"kubevirt.io/ksm-sleep-ms-baseline-override\": \"1213\","
        "  \"kubevirt.io/ksm-free-percent-override\": \"1.0\" }";

static void test_upstream_case9_overrides(void **state) {
        /* ksm_test.go "should use override values if provided". Free 1.0 makes 59.7 % available
         * count as pressure; sleep 1213 x 16 GiB / used = 768. */
        static const Step steps[] = {
                { "first spin: on at min (init refused)", false, NULL, 1, true, 166, 768, 0 },
                { "boost by 123",                       false, NULL, 1, true, 289, 768, 0 },
                { "x5: up to max 789",                  false, NULL, 5, true, 789, 768, 0 },
                { "free 0.1: no pressure, decay by 50", false, "0.1", 1, true, 739, 768, 0 },
                { "x16: off at the 12th",               false, NULL, 16, false, 0, 0, 12 },
        };
        PolicyParams defaults = DEFAULTS, p;
        json_object *a;
        char **msgs = NULL;
        int r;

        a = json_tokener_parse(case9_annotations);
        assert_non_null(a);

        p = defaults;
        r = policy_apply_overrides(&p, a, &msgs);
        if (r != 5)
                fail_msg("case 9: %d overrides applied, want 5", r);
        check_params("case 9 effective parameters", &p, &(PolicyParams) {
                .pages_boost = 123, .pages_decay = -50, .pages_min = 166, .pages_max = 789, .pages_init = 166,
                .sleep_baseline_ms = 1213, .sleep_min_ms = 10, .sleep_max_ms = 1000, .free_percent = 100 });
        assert_non_null(msgs);
        assert_string_equal(msgs[0], "annotation kubevirt.io/ksm-pages-decay-override=\"45\" ignored: "
                                     "must be a negative integer or 0");
        assert_string_equal(msgs[1], "annotation kubevirt.io/ksm-pages-init-override=\"1011\" ignored: "
                                     "must be between pages min 166 and pages max 789");
        assert_null(msgs[2]);
        strv_free(msgs);

        assert_int_equal((uint64_t) 1213 * 16777216 / (UPSTREAM_TOTAL - UPSTREAM_NP), 768);

        run_sequence("case 9 (overrides)", &defaults, a, steps, ELEMENTSOF(steps));
        json_object_put(a);
}

/* --- overrides ----------------------------------------------------------------------------- */

#define ANN(k) "\"kubevirt.io/ksm-" k "-override\""
#define MSG(k, v, why) "annotation kubevirt.io/ksm-" k "-override=\"" v "\" ignored: " why

#define P(boost, decay, min, max, init, baseline, free)                                         \
        { .pages_boost = (boost), .pages_decay = (decay), .pages_min = (min), .pages_max = (max),   \
          .pages_init = (init), .sleep_baseline_ms = (baseline), .sleep_min_ms = 10,             \
          .sleep_max_ms = 1000, .free_percent = (free) }

typedef struct OverrideCase {
        const char *name;
        const char *json;               /* the node's annotations; NULL: none */
        int applied;
        PolicyParams want;
        const char *msgs[4];
} OverrideCase;

static const OverrideCase override_cases[] = {
        { "no annotations", NULL, 0, DEFAULTS, {} },
        { "unrelated annotations", "{ \"kubevirt.io/ksm-handler-managed\": \"true\" }", 0, DEFAULTS, {} },
        { "annotations not an object", "[ \"kubevirt.io/ksm-pages-boost-override\" ]", 0, DEFAULTS, {} },
        { "every override valid",
          "{" ANN("pages-boost") ": \"500\"," ANN("pages-decay") ": \"-100\"," ANN("pages-min") ": \"10\","
          ANN("pages-max") ": \"2000\"," ANN("pages-init") ": \"50\"," ANN("sleep-ms-baseline") ": \"200\","
          ANN("free-percent") ": \"0.5\" }",
          7, P(500, -100, 10, 2000, 50, 200, 50), {} },
        { "upstream e2e: free 1.0 and decay -300",
          "{" ANN("free-percent") ": \"1.0\"," ANN("pages-decay") ": \"-300\" }",
          2, P(300, -300, 64, 1250, 100, 100, 100), {} },
        { "boost negative", "{" ANN("pages-boost") ": \"-1\" }", 0, DEFAULTS,
          { MSG("pages-boost", "-1", "must be a non-negative integer") } },
        { "boost junk", "{" ANN("pages-boost") ": \"lots\" }", 0, DEFAULTS,
          { MSG("pages-boost", "lots", "must be a non-negative integer") } },
        { "boost above u32", "{" ANN("pages-boost") ": \"4294967296\" }", 0, DEFAULTS,
          { MSG("pages-boost", "4294967296", "must be a non-negative integer") } },
        { "boost zero is valid", "{" ANN("pages-boost") ": \"0\" }", 1, P(0, -50, 64, 1250, 100, 100, 20), {} },
        { "decay positive (upstream's test value)", "{" ANN("pages-decay") ": \"45\" }", 0, DEFAULTS,
          { MSG("pages-decay", "45", "must be a negative integer or 0") } },
        { "decay zero is valid", "{" ANN("pages-decay") ": \"0\" }", 1, P(300, 0, 64, 1250, 100, 100, 20), {} },
        { "decay below int32", "{" ANN("pages-decay") ": \"-2147483649\" }", 0, DEFAULTS,
          { MSG("pages-decay", "-2147483649", "must be a negative integer or 0") } },
        { "decay fraction", "{" ANN("pages-decay") ": \"-1.5\" }", 0, DEFAULTS,
          { MSG("pages-decay", "-1.5", "must be a negative integer or 0") } },
        { "min above the configured max", "{" ANN("pages-min") ": \"2000\" }", 0, DEFAULTS,
          { MSG("pages-min", "2000", "must not exceed pages max 1250") } },
        { "max below the configured min", "{" ANN("pages-max") ": \"10\" }", 0, DEFAULTS,
          { MSG("pages-max", "10", "must not be below pages min 64") } },
        { "max below an overridden min: max refused",
          "{" ANN("pages-min") ": \"500\"," ANN("pages-max") ": \"400\" }", 1,
          P(300, -50, 500, 1250, 500, 100, 20),
          { MSG("pages-max", "400", "must not be below pages min 500") } },
        { "min above both maxes: both refused",
          "{" ANN("pages-min") ": \"5000\"," ANN("pages-max") ": \"4000\" }", 0, DEFAULTS,
          { MSG("pages-max", "4000", "must not be below pages min 5000"),
            MSG("pages-min", "5000", "must not exceed pages max 1250") } },
        { "min equal to max", "{" ANN("pages-min") ": \"300\"," ANN("pages-max") ": \"300\" }", 2,
          P(300, -50, 300, 300, 300, 100, 20), {} },
        { "min above the default init: init follows", "{" ANN("pages-min") ": \"200\" }", 1,
          P(300, -50, 200, 1250, 200, 100, 20), {} },
        { "max below the default init: init follows", "{" ANN("pages-max") ": \"80\" }", 1,
          P(300, -50, 64, 80, 80, 100, 20), {} },
        { "init valid", "{" ANN("pages-init") ": \"1000\" }", 1, P(300, -50, 64, 1250, 1000, 100, 20), {} },
        { "init below min", "{" ANN("pages-init") ": \"10\" }", 0, DEFAULTS,
          { MSG("pages-init", "10", "must be between pages min 64 and pages max 1250") } },
        { "init above an overridden max: min, as upstream",
          "{" ANN("pages-min") ": \"166\"," ANN("pages-max") ": \"789\"," ANN("pages-init") ": \"1011\" }", 2,
          P(300, -50, 166, 789, 166, 100, 20),
          { MSG("pages-init", "1011", "must be between pages min 166 and pages max 789") } },
        { "baseline zero", "{" ANN("sleep-ms-baseline") ": \"0\" }", 0, DEFAULTS,
          { MSG("sleep-ms-baseline", "0", "must be a positive integer") } },
        { "baseline with unit", "{" ANN("sleep-ms-baseline") ": \"100ms\" }", 0, DEFAULTS,
          { MSG("sleep-ms-baseline", "100ms", "must be a positive integer") } },
        { "free 0", "{" ANN("free-percent") ": \"0\" }", 1, P(300, -50, 64, 1250, 100, 100, 0), {} },
        { "free 0.333 rounds to 33 %", "{" ANN("free-percent") ": \"0.333\" }", 1,
          P(300, -50, 64, 1250, 100, 100, 33), {} },
        { "free 0.15 is 15 % despite binary fractions", "{" ANN("free-percent") ": \"0.15\" }", 1,
          P(300, -50, 64, 1250, 100, 100, 15), {} },
        { "free above 1", "{" ANN("free-percent") ": \"1.5\" }", 0, DEFAULTS,
          { MSG("free-percent", "1.5", "must be a fraction between 0.0 and 1.0") } },
        { "free given as percent", "{" ANN("free-percent") ": \"20\" }", 0, DEFAULTS,
          { MSG("free-percent", "20", "must be a fraction between 0.0 and 1.0") } },
        { "free negative", "{" ANN("free-percent") ": \"-0.1\" }", 0, DEFAULTS,
          { MSG("free-percent", "-0.1", "must be a fraction between 0.0 and 1.0") } },
        { "free empty", "{" ANN("free-percent") ": \"\" }", 0, DEFAULTS,
          { MSG("free-percent", "", "must be a fraction between 0.0 and 1.0") } },
        { "non-string value", "{" ANN("pages-boost") ": 5," ANN("free-percent") ": null }", 0, DEFAULTS,
          { "annotation kubevirt.io/ksm-pages-boost-override=\"5\" ignored: must be a string",
            "annotation kubevirt.io/ksm-free-percent-override=\"null\" ignored: must be a string" } },
        { "a mix: good ones applied, bad ones reported",
          "{" ANN("pages-boost") ": \"x\"," ANN("pages-min") ": \"100\"," ANN("sleep-ms-baseline") ": \"-5\" }", 1,
          P(300, -50, 100, 1250, 100, 100, 20),
          { MSG("pages-boost", "x", "must be a non-negative integer"),
            MSG("sleep-ms-baseline", "-5", "must be a positive integer") } },
};

static void test_overrides(void **state) {
        const OverrideCase *c = *state;
        PolicyParams p = DEFAULTS;
        json_object *a = test_parse_json(c->name, c->json);
        char **msgs = (char **) 1;      /* must be overwritten */
        size_t n;
        int r;

        r = policy_apply_overrides(&p, a, &msgs);
        if (r != c->applied)
                fail_msg("%s: applied %d, want %d", c->name, r, c->applied);
        check_params(c->name, &p, &c->want);

        for (n = 0; msgs && msgs[n]; n++) {
                if (n >= ELEMENTSOF(c->msgs) || !c->msgs[n])
                        fail_msg("%s: unexpected message \"%s\"", c->name, msgs[n]);
                if (!streq(msgs[n], c->msgs[n]))
                        fail_msg("%s: message %zu is \"%s\", want \"%s\"", c->name, n, msgs[n], c->msgs[n]);
        }
        if (n < ELEMENTSOF(c->msgs) && c->msgs[n])
                fail_msg("%s: missing message \"%s\"", c->name, c->msgs[n]);
        strv_free(msgs);

        /* Without a message vector the result is the same, and nothing leaks. */
        p = (PolicyParams) DEFAULTS;
        if (policy_apply_overrides(&p, a, NULL) != c->applied)
                fail_msg("%s: different result without reterr_msgs", c->name);

        json_object_put(a);
}

/* The override table against the configuration: every annotation stands in for a key the config
 * parser knows, policy_params_from_config() copies that key into the field the table names, and the
 * annotation writes that same field in the same unit. */
static void test_override_table(void **state) {
        PolicyParams defaults;
        Config base;

        assert_int_equal(config_init(&base), 0);
        policy_params_from_config(&base, &defaults);

        for (PolicyOverrideId id = 0; id < _POLICY_OVERRIDE_MAX; id++) {
                const PolicyOverride *o = &policy_overrides[id];
                bool is_signed = o->kind == POLICY_VALUE_SIGNED;
                int32_t want = is_signed ? -77 : 77;      /* valid for every key and annotation */
                _cleanup_free_ char *text = NULL;
                PolicyParams p, expected = defaults;
                const char *dot, *const *k;
                json_object *a;
                Config c;
                int r;

                if (!o->annotation || !o->config_key || !o->invalid)
                        fail_msg("override %d: incomplete table entry", (int) id);
                if (o->offset + sizeof(int32_t) > sizeof(PolicyParams) || o->min > o->max)
                        fail_msg("%s: bad offset or bounds", o->annotation);

                for (k = config_known_keys; *k && !streq(*k, o->config_key); k++)
                        ;
                if (!*k)
                        fail_msg("%s: config key %s is not in config_known_keys[]", o->annotation, o->config_key);

                /* The config path: only the named field differs from the defaults. */
                dot = strchr(o->config_key, '.');
                assert_non_null(dot);
                assert_int_equal(config_init(&c), 0);
                text = strdup_printf("[%.*s]\n%s=%" PRIi32 "\n", (int) (dot - o->config_key), o->config_key,
                                     dot + 1, want);
                assert_non_null(text);
                r = config_parse_string(&c, text, "table", NULL, NULL, NULL, NULL);
                if (r < 0)
                        fail_msg("%s: %s=%" PRIi32 " does not parse: %d", o->annotation, o->config_key, want, r);
                policy_params_from_config(&c, &p);
                config_done(&c);
                memcpy((uint8_t *) &expected + o->offset, &want, sizeof(want));
                check_params(o->config_key, &p, &expected);

                /* The annotation path: the same field, the same value. */
                free(text);
                text = strdup_printf("{ \"%s\": \"%s\" }", o->annotation,
                                     o->kind == POLICY_VALUE_FRACTION ? "0.77" : is_signed ? "-77" : "77");
                assert_non_null(text);
                a = test_parse_json(o->annotation, text);
                p = defaults;
                r = policy_apply_overrides(&p, a, NULL);
                json_object_put(a);
                if (r != 1 || memcmp((uint8_t *) &p + o->offset, &want, sizeof(want)) != 0)
                        fail_msg("%s: applied %d, not to the field of %s", o->annotation, r, o->config_key);
        }

        config_done(&base);
}

/* --- under_pressure ------------------------------------------------------------------------ */

typedef struct PressureCase {
        const char *name;
        uint32_t free_percent;
        const MemInfo *mi;
        bool want;
} PressureCase;

static const PressureCase under_pressure_cases[] = {
        { "meminfo unreadable",                 20, NULL, false },
        { "MemTotal 0",                         100, MI(0, 0), false },
        { "19 % available at 20 %",             20, MI(100, 19), true },
        { "exactly 20 % available at 20 %",     20, MI(100, 20), false },
        { "21 % available at 20 %",             20, MI(100, 21), false },
        { "upstream pressure meminfo",          20, MI(UPSTREAM_TOTAL, UPSTREAM_P), true },
        { "upstream no-pressure meminfo",       20, MI(UPSTREAM_TOTAL, UPSTREAM_NP), false },
        { "free 0 %: never, even with nothing available", 0, MI(100, 0), false },
        { "free 100 %: any use at all",         100, MI(UPSTREAM_TOTAL, UPSTREAM_NP), true },
        { "free 100 %: available == total",     100, MI(100, 100), false },
        { "free 100 %: available > total",      100, MI(100, 200), false },
        { "free 20 %: available > total",       20, MI(100, 200), false },
        { "free above 100 counts as 100",       250, MI(100, 100), false },
        { "huge numbers do not overflow",       100, MI(UINT64_MAX, UINT64_MAX - 1), true },
        { "huge numbers, 20 %, just below",     20, MI(UINT64_MAX, UINT64_MAX / 5 - 1), true },
        { "huge numbers, exactly 20 %",         20, MI(UINT64_MAX, UINT64_MAX / 5), false },
};

static void test_under_pressure(void **state) {
        const PressureCase *c = *state;
        PolicyParams p = DEFAULTS;

        p.free_percent = c->free_percent;
        if (policy_under_pressure(&p, c->mi) != c->want)
                fail_msg("%s: want %s", c->name, c->want ? "pressure" : "no pressure");
}

static void test_params_from_config(void **state) {
        Config c = {
                .pages_boost = 1, .pages_decay = -2, .pages_min = 3, .pages_max = 4, .pages_init = 5,
                .sleep_baseline_ms = 6, .sleep_min_ms = 7, .sleep_max_ms = 8, .free_percent = 9,
                .advisor_max_cpu = 77,
        };
        PolicyParams p;

        memset(&p, 0xaa, sizeof(p));
        policy_params_from_config(&c, &p);
        check_params("from config", &p, &(PolicyParams) {
                .pages_boost = 1, .pages_decay = -2, .pages_min = 3, .pages_max = 4, .pages_init = 5,
                .sleep_baseline_ms = 6, .sleep_min_ms = 7, .sleep_max_ms = 8, .free_percent = 9 });
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(want_cases) + ELEMENTSOF(pressure_cases) + ELEMENTSOF(override_cases) +
                                ELEMENTSOF(under_pressure_cases) + 4];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, want_cases, test_want);
        TEST_ADD_TABLE(tests, n, pressure_cases, test_compute_pressure);
        TEST_ADD_TABLE(tests, n, override_cases, test_overrides);
        TEST_ADD_TABLE(tests, n, under_pressure_cases, test_under_pressure);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_upstream_case8_adapt);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_upstream_case9_overrides);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_override_table);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_params_from_config);

        return test_run_group("policy", tests, n);
}
