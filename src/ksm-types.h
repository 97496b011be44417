/* ksm-types.h — plain KSM value types shared by the pure decision modules and the sysfs layer. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Values of /sys/kernel/mm/ksm/run (Documentation/admin-guide/mm/ksm.rst). */
typedef enum KsmRun {
        KSM_RUN_STOPPED = 0,
        KSM_RUN_MERGING = 1,
        KSM_RUN_UNMERGING = 2,  /* stop ksmd and unmerge every merged page */
        _KSM_RUN_MAX,
        _KSM_RUN_INVALID = -EINVAL,
} KsmRun;

/* The scan settings a policy asks for. */
typedef struct Tuning {
        bool run;
        uint32_t pages_to_scan;
        uint32_t sleep_millisecs;
} Tuning;

/* The kernel's scan-time advisor (kernel 6.8+): advisor_mode and its four settings. */
typedef struct KsmAdvisor {
        bool scan_time;                 /* advisor_mode is "scan-time" (else "none") */
        uint32_t target_scan_time_sec;  /* advisor_target_scan_time */
        uint32_t max_cpu;               /* advisor_max_cpu, percent */
        uint32_t min_pages;             /* advisor_min_pages_to_scan */
        uint32_t max_pages;             /* advisor_max_pages_to_scan */
} KsmAdvisor;

static inline bool ksm_advisor_equal(const KsmAdvisor *a, const KsmAdvisor *b) {
        return a->scan_time == b->scan_time && a->target_scan_time_sec == b->target_scan_time_sec &&
               a->max_cpu == b->max_cpu && a->min_pages == b->min_pages && a->max_pages == b->max_pages;
}

/* Size of the kernel's struct ksm_rmap_item on 64-bit, used to compute general_profit on
 * kernels older than 6.4 that do not export it (mm/ksm.c). */
#define KSM_RMAP_ITEM_BYTES 64

const char *ksm_run_to_string(KsmRun r);
