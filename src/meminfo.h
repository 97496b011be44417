/* meminfo.h — /proc/meminfo: a pure parser and a thin reader. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct MemInfo {
        uint64_t total_kb;              /* MemTotal */
        uint64_t free_kb;               /* MemFree */
        uint64_t available_kb;          /* MemAvailable, or MemFree+Buffers+Cached on kernels without it */
        bool has_available;             /* MemAvailable was present */
} MemInfo;

/* Parses meminfo text. 0, or -EINVAL when MemTotal is missing, zero or malformed, or a present
 * field is malformed. Pure. */
int meminfo_parse(const char *buf, MemInfo *ret);

/* Reads and parses path. 0 or -errno (I/O) or -EINVAL. */
int meminfo_read(const char *path, MemInfo *ret);
