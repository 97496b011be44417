/* policy.c — the next pages_to_scan/sleep_millisecs from memory pressure and bounds; pure. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>

#include "macro.h"
#include "policy.h"
#include "util.h"

/* Sleep baselines are "per 16 GiB" (ksmtuned, MOM, virt-handler); meminfo counts kB. */
#define SIXTEEN_GIB_KB UINT64_C(16777216)

void policy_params_from_config(const Config *c, PolicyParams *ret) {
        assert(c);
        assert(ret);

        *ret = (PolicyParams) {
                .pages_boost = c->pages_boost,
                .pages_decay = c->pages_decay,
                .pages_min = c->pages_min,
                .pages_max = c->pages_max,
                .pages_init = c->pages_init,
                .sleep_baseline_ms = c->sleep_baseline_ms,
                .sleep_min_ms = c->sleep_min_ms,
                .sleep_max_ms = c->sleep_max_ms,
                .free_percent = c->free_percent,
        };
}

bool policy_under_pressure(const PolicyParams *p, const MemInfo *mi) {
        assert(p);

        if (!mi || mi->total_kb == 0)
                return false;

        /* available < total x free / 100, without rounding or overflow. At 100 % any used memory
         * at all is pressure, which is how upstream's "free 1.0" debug override forces KSM on. */
        return (unsigned __int128) mi->available_kb * 100 <
               (unsigned __int128) mi->total_kb * MIN(p->free_percent, 100u);
}

static uint32_t saturate_u32(uint64_t v) {
        return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

/* prev + delta, in [lo, hi]; computed in 64 bits, so neither end can wrap. */
static uint32_t pages_step(uint32_t prev, int64_t delta, uint32_t lo, uint32_t hi) {
        int64_t v = (int64_t) prev + delta;

        if (v > (int64_t) hi)
                v = hi;
        if (v < (int64_t) lo)
                v = lo;
        return (uint32_t) v;
}

void policy_compute_pressure(const PolicyParams *p, const MemInfo *mi, const Tuning *prev, Tuning *ret) {
        uint32_t lo = p->pages_min, hi = MAX(p->pages_min, p->pages_max);
        uint64_t sleep_ms, floor_ms;

        assert(p);
        assert(ret);

        *ret = (Tuning) {};

        /* meminfo_parse() never yields MemTotal 0, but a hand-made MemInfo might: treat it as
         * unreadable rather than divide by it. */
        if (mi && mi->total_kb == 0)
                mi = NULL;

        /* Upstream: baseline x 16 GiB / (MemTotal - MemAvailable), floored at baseline / 10,
         * no upper bound. Upstream divides by zero when nothing is used and wraps around when
         * MemAvailable exceeds MemTotal; such a meminfo tells nothing about use, so scale by
         * MemTotal instead (ksmtuned's formula). The floor is at least 1 ms: sleep_millisecs=0
         * would make ksmd spin. */
        if (!mi)
                sleep_ms = p->sleep_baseline_ms;
        else if (mi->available_kb < mi->total_kb)
                sleep_ms = (uint64_t) p->sleep_baseline_ms * SIXTEEN_GIB_KB / (mi->total_kb - mi->available_kb);
        else
                sleep_ms = (uint64_t) p->sleep_baseline_ms * SIXTEEN_GIB_KB / mi->total_kb;
        floor_ms = MAX(p->sleep_baseline_ms / 10, 1u);
        ret->sleep_millisecs = saturate_u32(MAX(sleep_ms, floor_ms));

        if (!policy_under_pressure(p, mi)) {
                int64_t v;

                /* No pressure: decay while running, stop once below the minimum. */
                if (!prev || !prev->run) {
                        ret->run = false;
                        ret->pages_to_scan = CLAMP(p->pages_init, lo, hi);
                        return;
                }

                v = (int64_t) prev->pages_to_scan + p->pages_decay;
                if (v < (int64_t) lo) {
                        ret->run = false;
                        ret->pages_to_scan = lo;
                        return;
                }

                /* Upstream does not cap here; a max lowered by an override takes effect now. */
                ret->run = true;
                ret->pages_to_scan = (uint32_t) MIN(v, (int64_t) hi);
                return;
        }

        /* Pressure: start at init, then boost up to the maximum. */
        ret->run = true;
        if (!prev || !prev->run)
                ret->pages_to_scan = CLAMP(p->pages_init, lo, hi);
        else
                ret->pages_to_scan = pages_step(prev->pages_to_scan, p->pages_boost, lo, hi);
}

void scan_params_from_config(const Config *c, ScanParams *ret) {
        assert(c);
        assert(ret);

        *ret = (ScanParams) {
                .fast_pages = c->scan_fast_pages,
                .fast_sleep_ms = c->scan_fast_sleep_ms,
                .idle_pages = c->scan_idle_pages,
                .idle_sleep_ms = c->scan_idle_sleep_ms,
                .sample_usec = c->scan_sample_usec,
                .idle_sample_usec = c->scan_idle_sample_usec,
                .wake_memory_percent = c->scan_wake_memory_percent,
                .quiet_pass_pages = c->scan_quiet_pass_pages,
                .holdoff_max_usec = c->scan_holdoff_max_usec,
        };
}

PolicyKind policy_effective(PolicyKind kind, bool advisor_available) {
        return kind == POLICY_ADVISOR && !advisor_available ? POLICY_ALWAYS : kind;
}

void policy_want(const PolicyInput *in, Tuning *ret, bool *ret_stepped) {
        bool stepped = false;

        assert(in);
        assert(in->params);
        assert(in->scan);
        assert(ret);

        switch (policy_effective(in->kind, in->advisor_available)) {

        case POLICY_ADVISOR:
                /* The advisor sets pages_to_scan; sleep_millisecs is left as the operator had it. */
                *ret = (Tuning) { .run = true, .pages_to_scan = in->now.pages_to_scan,
                                  .sleep_millisecs = in->now.sleep_millisecs };
                break;

        case POLICY_PRESSURE:
                if (in->owned_running && !in->tick && !in->fresh && in->last)
                        *ret = *in->last;
                else {
                        policy_compute_pressure(in->params, in->mi,
                                                in->owned_running && !in->fresh ? &in->now : NULL, ret);
                        stepped = true;
                }
                break;

        default:
                if (in->control && in->control->state != SCAN_STATE_OFF)
                        *ret = (Tuning) { .run = true, .pages_to_scan = in->control->pages_to_scan,
                                          .sleep_millisecs = in->control->sleep_millisecs };
                else
                        *ret = (Tuning) { .run = true, .pages_to_scan = in->scan->fast_pages,
                                          .sleep_millisecs = in->scan->fast_sleep_ms };
        }

        if (ret_stepped)
                *ret_stepped = stepped;
}

/* --- override annotations ------------------------------------------------------------------ */

typedef enum Override {
        OVERRIDE_PAGES_BOOST,
        OVERRIDE_PAGES_DECAY,
        OVERRIDE_PAGES_MIN,
        OVERRIDE_PAGES_MAX,
        OVERRIDE_PAGES_INIT,
        OVERRIDE_SLEEP_BASELINE,
        OVERRIDE_FREE_PERCENT,
        _OVERRIDE_MAX,
} Override;

/* The upstream annotation names (kubevirt.io/api/core/v1 types.go). */
static const char *const override_keys[_OVERRIDE_MAX] = {
        [OVERRIDE_PAGES_BOOST] = "kubevirt.io/ksm-pages-boost-override",
        [OVERRIDE_PAGES_DECAY] = "kubevirt.io/ksm-pages-decay-override",
        [OVERRIDE_PAGES_MIN] = "kubevirt.io/ksm-pages-min-override",
        [OVERRIDE_PAGES_MAX] = "kubevirt.io/ksm-pages-max-override",
        [OVERRIDE_PAGES_INIT] = "kubevirt.io/ksm-pages-init-override",
        [OVERRIDE_SLEEP_BASELINE] = "kubevirt.io/ksm-sleep-ms-baseline-override",
        [OVERRIDE_FREE_PERCENT] = "kubevirt.io/ksm-free-percent-override",
};

typedef struct Messages {
        char **v;                       /* NULL-terminated once non-empty */
        size_t n;
} Messages;

static void messages_done(Messages *m) {
        strv_free(m->v);
        *m = (Messages) {};
}

/* Adds "annotation KEY="VALUE" ignored: WHY". 0 or -ENOMEM. */
static int reject(Messages *m, const char *key, const char *value, const char *fmt, ...) _printf_(4, 5);
static int reject(Messages *m, const char *key, const char *value, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char why[128];
        char **nv;
        va_list ap;
        int n;

        va_start(ap, fmt);
        (void) vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);

        n = snprintf(NULL, 0, "annotation %s=\"%s\" ignored: %s", key, value, why);
        if (n < 0)
                return -ENOMEM;
        msg = malloc((size_t) n + 1);
        if (!msg)
                return -ENOMEM;
        (void) snprintf(msg, (size_t) n + 1, "annotation %s=\"%s\" ignored: %s", key, value, why);

        nv = reallocarray(m->v, m->n + 2, sizeof(char *));
        if (!nv)
                return -ENOMEM;
        m->v = nv;
        m->v[m->n++] = TAKE_PTR(msg);
        m->v[m->n] = NULL;
        return 0;
}

/* Parses a whole-number annotation into [lo, UINT32_MAX]. 1 with *ret set, 0 when rejected
 * (message added), -ENOMEM. */
static int parse_u32(Messages *m, const char *key, const char *value, uint32_t lo, const char *what,
                     uint32_t *ret) {
        uint32_t v;
        int r;

        if (safe_atou32(value, &v) < 0 || v < lo) {
                r = reject(m, key, value, "%s", what);
                return r < 0 ? r : 0;
        }

        *ret = v;
        return 1;
}

int policy_apply_overrides(PolicyParams *p, json_object *annotations, char ***reterr_msgs) {
        _cleanup_(messages_done) Messages m = {};
        const char *val[_OVERRIDE_MAX] = {};
        uint32_t boost = 0, min_v = 0, max_v = 0, init_v = 0, baseline = 0;
        bool min_ok = false, max_ok = false;
        int applied = 0, r;

        assert(p);

        if (reterr_msgs)
                *reterr_msgs = NULL;

        /* Collect the string values first; anything else is rejected here. */
        if (annotations && json_object_is_type(annotations, json_type_object))
                for (Override o = 0; o < _OVERRIDE_MAX; o++) {
                        json_object *v;

                        if (!json_object_object_get_ex(annotations, override_keys[o], &v))
                                continue;
                        if (!json_object_is_type(v, json_type_string)) {
                                r = reject(&m, override_keys[o],
                                           json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                                           "must be a string");
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        val[o] = json_object_get_string(v);
                }

        /* pages-boost: upstream bounds [0, MaxInt]. */
        if (val[OVERRIDE_PAGES_BOOST]) {
                r = parse_u32(&m, override_keys[OVERRIDE_PAGES_BOOST], val[OVERRIDE_PAGES_BOOST], 0,
                              "must be a non-negative integer", &boost);
                if (r < 0)
                        return r;
                if (r > 0) {
                        p->pages_boost = boost;
                        applied++;
                }
        }

        /* pages-decay: upstream bounds [MinInt, 0]. */
        if (val[OVERRIDE_PAGES_DECAY]) {
                int64_t v;

                if (safe_atoi64(val[OVERRIDE_PAGES_DECAY], &v) < 0 || v > 0 || v < INT32_MIN) {
                        r = reject(&m, override_keys[OVERRIDE_PAGES_DECAY], val[OVERRIDE_PAGES_DECAY],
                                   "must be a negative integer or 0");
                        if (r < 0)
                                return r;
                } else {
                        p->pages_decay = (int32_t) v;
                        applied++;
                }
        }

        /* pages-min and pages-max, each checked against the other's effective value. Upstream
         * bounds max by min only, so a lone min above the configured max left min > max; here
         * that min is refused. A refused value keeps the configured one. */
        if (val[OVERRIDE_PAGES_MIN]) {
                r = parse_u32(&m, override_keys[OVERRIDE_PAGES_MIN], val[OVERRIDE_PAGES_MIN], 0,
                              "must be a non-negative integer", &min_v);
                if (r < 0)
                        return r;
                min_ok = r > 0;
        }
        if (val[OVERRIDE_PAGES_MAX]) {
                r = parse_u32(&m, override_keys[OVERRIDE_PAGES_MAX], val[OVERRIDE_PAGES_MAX], 0,
                              "must be a non-negative integer", &max_v);
                if (r < 0)
                        return r;
                max_ok = r > 0;
        }
        if (min_ok && max_ok && max_v < min_v) {
                r = reject(&m, override_keys[OVERRIDE_PAGES_MAX], val[OVERRIDE_PAGES_MAX],
                           "must not be below pages min %" PRIu32, min_v);
                if (r < 0)
                        return r;
                max_ok = false;
        }
        if (min_ok && min_v > (max_ok ? max_v : p->pages_max)) {
                r = reject(&m, override_keys[OVERRIDE_PAGES_MIN], val[OVERRIDE_PAGES_MIN],
                           "must not exceed pages max %" PRIu32, max_ok ? max_v : p->pages_max);
                if (r < 0)
                        return r;
                min_ok = false;
        }
        if (max_ok && max_v < (min_ok ? min_v : p->pages_min)) {
                r = reject(&m, override_keys[OVERRIDE_PAGES_MAX], val[OVERRIDE_PAGES_MAX],
                           "must not be below pages min %" PRIu32, min_ok ? min_v : p->pages_min);
                if (r < 0)
                        return r;
                max_ok = false;
        }
        if (min_ok) {
                p->pages_min = min_v;
                applied++;
        }
        if (max_ok) {
                p->pages_max = max_v;
                applied++;
        }

        /* pages-init: within the effective [min, max]. */
        if (val[OVERRIDE_PAGES_INIT]) {
                r = parse_u32(&m, override_keys[OVERRIDE_PAGES_INIT], val[OVERRIDE_PAGES_INIT], 0,
                              "must be a non-negative integer", &init_v);
                if (r < 0)
                        return r;
                if (r > 0 && (init_v < p->pages_min || init_v > p->pages_max)) {
                        r = reject(&m, override_keys[OVERRIDE_PAGES_INIT], val[OVERRIDE_PAGES_INIT],
                                   "must be between pages min %" PRIu32 " and pages max %" PRIu32,
                                   p->pages_min, p->pages_max);
                        if (r < 0)
                                return r;
                } else if (r > 0) {
                        p->pages_init = init_v;
                        applied++;
                }
        }
        /* The configured init is moved into the effective bounds in any case (upstream never
         * checked it against an overridden min). For a refused init below an overridden min
         * this gives min, which is upstream's "lowest possible value". */
        if (p->pages_min <= p->pages_max)
                p->pages_init = CLAMP(p->pages_init, p->pages_min, p->pages_max);

        /* sleep-ms-baseline: upstream bounds [1, MaxInt]. */
        if (val[OVERRIDE_SLEEP_BASELINE]) {
                r = parse_u32(&m, override_keys[OVERRIDE_SLEEP_BASELINE], val[OVERRIDE_SLEEP_BASELINE], 1,
                              "must be a positive integer", &baseline);
                if (r < 0)
                        return r;
                if (r > 0) {
                        p->sleep_baseline_ms = baseline;
                        applied++;
                }
        }

        /* free-percent: upstream takes a fraction in [0, 1] ("0.2"); kept here as whole percent,
         * rounded to the nearest. */
        if (val[OVERRIDE_FREE_PERCENT]) {
                double v;

                if (safe_atod(val[OVERRIDE_FREE_PERCENT], &v) < 0 || v > 1.0) {
                        r = reject(&m, override_keys[OVERRIDE_FREE_PERCENT], val[OVERRIDE_FREE_PERCENT],
                                   "must be a fraction between 0.0 and 1.0");
                        if (r < 0)
                                return r;
                } else {
                        p->free_percent = (uint32_t) (v * 100 + 0.5);
                        applied++;
                }
        }

        if (reterr_msgs)
                *reterr_msgs = TAKE_PTR(m.v);
        return applied;
}
