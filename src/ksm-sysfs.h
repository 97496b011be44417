/* ksm-sysfs.h — typed access to the KSM sysfs directory (SysfsDir=). No policy, never logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ksm-types.h"

typedef struct KsmSysfs {
        int dir_fd;
        char *path;
} KsmSysfs;

/* Every value the daemon reads in one pass. Files other than "run" are optional: has_* says
 * whether the kernel offers them (older kernels lack the advisor, general_profit, ...). */
typedef struct KsmSnapshot {
        bool available;                 /* "run" exists and reads */
        KsmRun run;
        uint32_t pages_to_scan;
        uint32_t sleep_millisecs;
        uint64_t pages_shared;
        uint64_t pages_sharing;
        uint64_t pages_unshared;
        uint64_t pages_volatile;
        uint64_t full_scans;
        uint64_t ksm_zero_pages;
        uint64_t general_profit;        /* bytes; may be negative in the kernel, clamped here */
        int64_t general_profit_signed;
        uint64_t merge_across_nodes;
        bool has_pages_to_scan, has_sleep_millisecs, has_stats, has_ksm_zero_pages,
             has_general_profit, has_merge_across_nodes, has_advisor;
        char advisor_mode[16];          /* selected advisor_mode ("none", "scan-time"), "" if absent */
        KsmAdvisor advisor;             /* meaningful when has_advisor */
} KsmSnapshot;

/* Opens the directory. 0, -ENOENT (no such directory: no KSM in this kernel) or -errno. */
int ksm_sysfs_open(const char *path, KsmSysfs **ret);
KsmSysfs *ksm_sysfs_free(KsmSysfs *k);
static inline void ksm_sysfs_freep(KsmSysfs **k) {
        if (*k)
                ksm_sysfs_free(*k);
}

/* Reads one decimal attribute. 0, -ENOENT (attribute absent), -EINVAL (not a number) or -errno. */
int ksm_sysfs_read_u64(const KsmSysfs *k, const char *attr, uint64_t *ret);
int ksm_sysfs_read_i64(const KsmSysfs *k, const char *attr, int64_t *ret);

/* Writes one decimal attribute (one write(2) of "VALUE\n"). 0 or -errno as the kernel gives it
 * (EINVAL, EBUSY, EPERM for pages_to_scan under the advisor, ...). */
int ksm_sysfs_write_u64(const KsmSysfs *k, const char *attr, uint64_t value);

/* Reads the selected choice of a "[a] b" style attribute (advisor_mode). 0, -ENOENT or -errno;
 * *ret is malloc'd. */
int ksm_sysfs_read_choice(const KsmSysfs *k, const char *attr, char **ret);
int ksm_sysfs_write_string(const KsmSysfs *k, const char *attr, const char *value);

/* Reads everything above. 0 (available is false when "run" is missing) or -ENOMEM. */
int ksm_sysfs_snapshot(const KsmSysfs *k, KsmSnapshot *ret);

/* Calls cb for every regular file of the directory whose content is one decimal integer,
 * in name order. Stops and returns cb's negative return. 0 or -errno. */
typedef int (*KsmSysfsStatFn)(const char *name, int64_t value, void *userdata);
int ksm_sysfs_foreach_numeric(const KsmSysfs *k, KsmSysfsStatFn cb, void *userdata);

/* (pages_sharing + ksm_zero_pages) x page size. Pure. */
uint64_t ksm_snapshot_saved_bytes(const KsmSnapshot *s, uint64_t page_size);

/* The kernel's general_profit where exported, else saved - rmap items x 64 B (mm/ksm.c). Pure. */
int64_t ksm_snapshot_general_profit(const KsmSnapshot *s, uint64_t page_size);
