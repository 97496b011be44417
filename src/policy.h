/* policy.h — how fast KSM scans: pure computation of the next Tuning from memory and bounds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "conf.h"
#include "ksm-types.h"
#include "meminfo.h"
#include "scan-control.h"

typedef struct PolicyParams {
        uint32_t pages_boost;
        int32_t pages_decay;            /* <= 0 */
        uint32_t pages_min;
        uint32_t pages_max;
        uint32_t pages_init;
        uint32_t sleep_baseline_ms;     /* per 16 GiB */
        uint32_t sleep_min_ms;
        uint32_t sleep_max_ms;
        uint32_t free_percent;          /* 0..100 */
} PolicyParams;

/* Copies the tuning keys of the configuration. */
void policy_params_from_config(const Config *c, PolicyParams *ret);
/* Copies the Scan* keys of the configuration (Policy=always). */
void scan_params_from_config(const Config *c, ScanParams *ret);

/* The per-node override annotations (Policy=pressure), in the order they are read and complained
 * about. */
typedef enum PolicyOverrideId {
        POLICY_OVERRIDE_PAGES_BOOST,
        POLICY_OVERRIDE_PAGES_DECAY,
        POLICY_OVERRIDE_PAGES_MIN,
        POLICY_OVERRIDE_PAGES_MAX,
        POLICY_OVERRIDE_PAGES_INIT,
        POLICY_OVERRIDE_SLEEP_BASELINE,
        POLICY_OVERRIDE_FREE_PERCENT,
        _POLICY_OVERRIDE_MAX,
        _POLICY_OVERRIDE_INVALID = -EINVAL,
} PolicyOverrideId;

/* How an annotation's text is read, and the width of the PolicyParams field it goes to. */
typedef enum PolicyValueKind {
        POLICY_VALUE_UNSIGNED,          /* digits only, no sign (safe_atou64()); uint32_t */
        POLICY_VALUE_SIGNED,            /* digits with an optional sign (safe_atoi64()); int32_t */
        POLICY_VALUE_FRACTION,          /* "0.2" (safe_atod()), stored as whole percent; uint32_t */
        _POLICY_VALUE_KIND_MAX,
        _POLICY_VALUE_KIND_INVALID = -EINVAL,
} PolicyValueKind;

typedef struct PolicyOverride {
        const char *annotation;         /* upstream's name (kubevirt.io/api/core/v1 types.go) */
        const char *config_key;         /* "Section.Key" of the configured value it stands in for */
        size_t offset;                  /* of that value in PolicyParams */
        PolicyValueKind kind;
        int64_t min, max;               /* bounds of the value as stored: a fraction's are in percent */
        const char *invalid;            /* the complaint about text that does not parse or is out of bounds */
} PolicyOverride;

/* Indexed by PolicyOverrideId. Bounds that depend on other values (pages min, max and init against
 * each other) are not in the table; policy_apply_overrides() checks them. */
extern const PolicyOverride policy_overrides[_POLICY_OVERRIDE_MAX];

/* Applies the per-node override annotations kubevirt.io/ksm-*-override (pressure policy).
 * A value that does not parse or is out of bounds is ignored (the configured value stays), and
 * a message for it is added to *reterr_msgs (a NULL-terminated malloc'd string vector, may be
 * NULL on return when there was nothing to say). annotations may be NULL.
 * Returns the number of overrides applied, or -ENOMEM. */
int policy_apply_overrides(PolicyParams *p, json_object *annotations, char ***reterr_msgs);

/* One step of upstream virt-handler's algorithm (Policy=pressure): run only under pressure,
 * boost pages_to_scan while it lasts, decay it otherwise and stop below the minimum; sleep scaled
 * to the memory in use.
 *   mi:    memory now; NULL when unreadable (no pressure is assumed, sleep = baseline).
 *   prev:  the tuning in force when KSM already runs under our management, else NULL.
 * Pure and total: never fails. */
void policy_compute_pressure(const PolicyParams *p, const MemInfo *mi, const Tuning *prev, Tuning *ret);

/* Everything the wanted tuning depends on. */
typedef struct PolicyInput {
        PolicyKind kind;
        const PolicyParams *params;
        const ScanParams *scan;
        const MemInfo *mi;              /* NULL when unreadable */
        bool owned_running;             /* KSM runs, switched on by this daemon */
        bool fresh;                     /* the policy just took over (reload): it starts as if KSM
                                         * were not running under it, not from another policy's rate */
        Tuning now;                     /* the rate in force */
        bool tick;                      /* Policy=pressure may take a step now (RecheckSec, hot-plug, reload) */
        const Tuning *last;             /* the last step's result, NULL when none yet */
        const ScanControl *control;     /* Policy=always: the controller, NULL while it is off */
        bool advisor_available;         /* the kernel has advisor_mode */
} PolicyInput;

/* What the daemon wants while it owns KSM:
 *   always:   run, at the controller's rate (the fast rate until the controller has started);
 *   advisor:  run, at the rate in force (the kernel's advisor owns it); "always" without an advisor;
 *   pressure: policy_compute_pressure(), stepped only on a tick: between ticks the last step's
 *             result stands, so a burst of other inputs does not speed the policy up.
 * *ret_stepped says whether a new step was taken (the caller remembers it as "last"). Pure. */
void policy_want(const PolicyInput *in, Tuning *ret, bool *ret_stepped);

/* The policy whose rules apply: advisor falls back to always on kernels without the advisor. */
PolicyKind policy_effective(PolicyKind kind, bool advisor_available);

/* True when MemAvailable is below free_percent of MemTotal. */
bool policy_under_pressure(const PolicyParams *p, const MemInfo *mi);
