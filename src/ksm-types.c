/* ksm-types.c — names of the KSM value types, as the journal and the tests print them. */
#include "ksm-types.h"
#include "macro.h"

static const char *const ksm_run_table[_KSM_RUN_MAX] = {
        [KSM_RUN_STOPPED] = "stopped",
        [KSM_RUN_MERGING] = "merging",
        [KSM_RUN_UNMERGING] = "unmerging",
};

DEFINE_STRING_TABLE_TO_STRING(ksm_run, KsmRun, _KSM_RUN_MAX);
