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

/* Size of the kernel's struct ksm_rmap_item on 64-bit, used to compute general_profit on
 * kernels older than 6.4 that do not export it (mm/ksm.c). */
#define KSM_RMAP_ITEM_BYTES 64

const char *ksm_run_to_string(KsmRun r);
