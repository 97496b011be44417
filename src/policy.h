/* policy.h — how fast KSM scans: pure computation of the next Tuning from memory and bounds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "conf.h"
#include "ksm-types.h"
#include "meminfo.h"

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

/* Applies the per-node override annotations kubevirt.io/ksm-*-override (pressure policy).
 * A value that does not parse or is out of bounds is ignored (the configured value stays), and
 * a message for it is added to *reterr_msgs (a NULL-terminated malloc'd string vector, may be
 * NULL on return when there was nothing to say). annotations may be NULL.
 * Returns the number of overrides applied, or -ENOMEM. */
int policy_apply_overrides(PolicyParams *p, json_object *annotations, char ***reterr_msgs);

/* Computes the next tuning.
 *   kind:  POLICY_ALWAYS: run; pages boosted under pressure, decayed otherwise, in [min, max];
 *          sleep = baseline x 16 GiB / MemTotal in [sleep_min, sleep_max].
 *          POLICY_PRESSURE: upstream virt-handler's algorithm (run only under pressure).
 *          POLICY_ADVISOR: as POLICY_ALWAYS (the caller hands the rate to the kernel advisor).
 *   mi:    memory now; NULL when unreadable (no pressure is assumed, sleep = baseline).
 *   prev:  the tuning in force when KSM already runs under our management, else NULL.
 * Pure and total: never fails. */
void policy_compute(PolicyKind kind, const PolicyParams *p, const MemInfo *mi, const Tuning *prev, Tuning *ret);

/* True when MemAvailable is below free_percent of MemTotal. */
bool policy_under_pressure(const PolicyParams *p, const MemInfo *mi);
