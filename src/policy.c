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
                .wake_memory_kb = (uint64_t) c->scan_wake_memory_mib * 1024,
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

#define NON_NEGATIVE "must be a non-negative integer"

/* Upstream's bounds (pkg/virt-handler/ksm/ksm.go): boost [0, MaxInt], decay [MinInt, 0], sleep
 * baseline [1, MaxInt], free a fraction in [0, 1]; here cut to the width of the PolicyParams field.
 * Min, max and init are whole numbers bounded by each other in override_check_pages(). */
const PolicyOverride policy_overrides[_POLICY_OVERRIDE_MAX] = {
        [POLICY_OVERRIDE_PAGES_BOOST] = {
                "kubevirt.io/ksm-pages-boost-override", "KSM.PagesBoost", offsetof(PolicyParams, pages_boost),
                POLICY_VALUE_UNSIGNED, 0, UINT32_MAX, NON_NEGATIVE },
        [POLICY_OVERRIDE_PAGES_DECAY] = {
                "kubevirt.io/ksm-pages-decay-override", "KSM.PagesDecay", offsetof(PolicyParams, pages_decay),
                POLICY_VALUE_SIGNED, INT32_MIN, 0, "must be a negative integer or 0" },
        [POLICY_OVERRIDE_PAGES_MIN] = {
                "kubevirt.io/ksm-pages-min-override", "KSM.PagesMin", offsetof(PolicyParams, pages_min),
                POLICY_VALUE_UNSIGNED, 0, UINT32_MAX, NON_NEGATIVE },
        [POLICY_OVERRIDE_PAGES_MAX] = {
                "kubevirt.io/ksm-pages-max-override", "KSM.PagesMax", offsetof(PolicyParams, pages_max),
                POLICY_VALUE_UNSIGNED, 0, UINT32_MAX, NON_NEGATIVE },
        [POLICY_OVERRIDE_PAGES_INIT] = {
                "kubevirt.io/ksm-pages-init-override", "KSM.PagesInit", offsetof(PolicyParams, pages_init),
                POLICY_VALUE_UNSIGNED, 0, UINT32_MAX, NON_NEGATIVE },
        [POLICY_OVERRIDE_SLEEP_BASELINE] = {
                "kubevirt.io/ksm-sleep-ms-baseline-override", "KSM.SleepBaselineMsec",
                offsetof(PolicyParams, sleep_baseline_ms), POLICY_VALUE_UNSIGNED, 1, UINT32_MAX,
                "must be a positive integer" },
        [POLICY_OVERRIDE_FREE_PERCENT] = {
                "kubevirt.io/ksm-free-percent-override", "KSM.FreePercent", offsetof(PolicyParams, free_percent),
                POLICY_VALUE_FRACTION, 0, 100, "must be a fraction between 0.0 and 1.0" },
};

/* One annotation while the overrides are read. */
typedef struct OverrideValue {
        const char *text;               /* NULL: not given, or not a string */
        int64_t value;                  /* as stored */
        bool ok;                        /* parsed and within every bound so far */
} OverrideValue;

/* Adds "annotation KEY="TEXT" ignored: WHY". 0 or -ENOMEM. */
static int override_reject(char ***msgs, PolicyOverrideId id, const char *text, const char *fmt, ...) _printf_(4, 5);
static int override_reject(char ***msgs, PolicyOverrideId id, const char *text, const char *fmt, ...) {
        _cleanup_free_ char *why = NULL;
        va_list ap;

        va_start(ap, fmt);
        why = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!why)
                return -ENOMEM;

        return strv_extendf(msgs, "annotation %s=\"%s\" ignored: %s", policy_overrides[id].annotation, text, why);
}

/* Reads v->text as the table says. 0 (v->ok says whether it was taken; a message is added when
 * not) or -ENOMEM. */
static int override_parse(char ***msgs, PolicyOverrideId id, OverrideValue *v) {
        const PolicyOverride *o = &policy_overrides[id];
        uint64_t u;
        double d;

        switch (o->kind) {
        case POLICY_VALUE_UNSIGNED:
                v->ok = safe_atou64(v->text, &u) >= 0 && u <= (uint64_t) o->max;
                v->value = v->ok ? (int64_t) u : 0;
                break;
        case POLICY_VALUE_SIGNED:
                v->ok = safe_atoi64(v->text, &v->value) >= 0;
                break;
        case POLICY_VALUE_FRACTION:
                /* Bounded as a fraction (0 % and 100 % are exact ones), then rounded to the nearest
                 * whole percent. */
                v->ok = safe_atod(v->text, &d) >= 0 && d >= o->min / 100.0 && d <= o->max / 100.0;
                v->value = v->ok ? (int64_t) (d * 100 + 0.5) : 0;
                break;
        default:
                assert(false);
                v->ok = false;
        }

        v->ok = v->ok && v->value >= o->min && v->value <= o->max;
        return v->ok ? 0 : override_reject(msgs, id, v->text, "%s", o->invalid);
}

/* The bounds that depend on other values, checked for the annotation just read (id): min and max
 * against each other once both are read, init within the effective [min, max]. A refused value
 * keeps the configured one. 0 or -ENOMEM. */
static int override_check_pages(char ***msgs, const PolicyParams *p, PolicyOverrideId id,
                                OverrideValue val[]) {
        OverrideValue *min = &val[POLICY_OVERRIDE_PAGES_MIN], *max = &val[POLICY_OVERRIDE_PAGES_MAX],
                      *init = &val[POLICY_OVERRIDE_PAGES_INIT];
        int64_t lo = min->ok ? min->value : p->pages_min, hi = max->ok ? max->value : p->pages_max;
        int r = 0;

        if (id == POLICY_OVERRIDE_PAGES_MAX) {
                /* Upstream bounds max by min only, so a lone min above the configured max left
                 * min > max; here that min is refused. */
                if (min->ok && max->ok && max->value < min->value) {
                        r = override_reject(msgs, id, max->text,
                                            "must not be below pages min %" PRIi64, min->value);
                        max->ok = false;
                }
                if (r >= 0 && min->ok && min->value > (max->ok ? max->value : p->pages_max)) {
                        r = override_reject(msgs, POLICY_OVERRIDE_PAGES_MIN, min->text,
                                            "must not exceed pages max %" PRIi64,
                                            max->ok ? max->value : (int64_t) p->pages_max);
                        min->ok = false;
                }
                if (r >= 0 && max->ok && max->value < (min->ok ? min->value : p->pages_min)) {
                        r = override_reject(msgs, id, max->text,
                                            "must not be below pages min %" PRIi64,
                                            min->ok ? min->value : (int64_t) p->pages_min);
                        max->ok = false;
                }
        } else if (id == POLICY_OVERRIDE_PAGES_INIT && init->ok && (init->value < lo || init->value > hi)) {
                r = override_reject(msgs, id, init->text,
                                    "must be between pages min %" PRIi64 " and pages max %" PRIi64, lo, hi);
                init->ok = false;
        }
        return r;
}

int policy_apply_overrides(PolicyParams *p, json_object *annotations, char ***reterr_msgs) {
        _cleanup_strv_free_ char **msgs = NULL;
        OverrideValue val[_POLICY_OVERRIDE_MAX] = {};
        int applied = 0, r;

        assert(p);

        if (reterr_msgs)
                *reterr_msgs = NULL;

        /* The string values first; anything else is refused here. */
        for (PolicyOverrideId id = 0; id < _POLICY_OVERRIDE_MAX; id++) {
                json_object *v;

                if (!annotations || !json_object_is_type(annotations, json_type_object) ||
                    !json_object_object_get_ex(annotations, policy_overrides[id].annotation, &v))
                        continue;
                if (json_object_is_type(v, json_type_string))
                        val[id].text = json_object_get_string(v);
                else {
                        r = override_reject(&msgs, id, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                                            "must be a string");
                        if (r < 0)
                                return r;
                }
        }

        /* Each read and bounded in table order, then against the others it depends on: the
         * complaints come in that order. */
        for (PolicyOverrideId id = 0; id < _POLICY_OVERRIDE_MAX; id++) {
                if (val[id].text) {
                        r = override_parse(&msgs, id, &val[id]);
                        if (r < 0)
                                return r;
                }
                r = override_check_pages(&msgs, p, id, val);
                if (r < 0)
                        return r;
        }

        for (PolicyOverrideId id = 0; id < _POLICY_OVERRIDE_MAX; id++) {
                uint8_t *field = (uint8_t *) p + policy_overrides[id].offset;

                if (!val[id].ok)
                        continue;
                if (policy_overrides[id].kind == POLICY_VALUE_SIGNED)
                        *(int32_t *) field = (int32_t) val[id].value;
                else
                        *(uint32_t *) field = (uint32_t) val[id].value;
                applied++;
        }

        /* The configured init is moved into the effective bounds in any case (upstream never
         * checked it against an overridden min). For a refused init below an overridden min
         * this gives min, which is upstream's "lowest possible value". */
        if (p->pages_min <= p->pages_max)
                p->pages_init = CLAMP(p->pages_init, p->pages_min, p->pages_max);

        if (reterr_msgs)
                *reterr_msgs = TAKE_PTR(msgs);
        return applied;
}
