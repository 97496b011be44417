/* meminfo.c — parses /proc/meminfo text ("Key:   value kB" lines); the reader is a thin wrapper. */
#include <ctype.h>
#include <fcntl.h>

#include "macro.h"
#include "meminfo.h"
#include "util.h"

/* /proc/meminfo is about 1.5 KiB; anything much larger is not meminfo. */
#define MEMINFO_MAX_BYTES (64 * 1024)

enum {
        FIELD_MEM_TOTAL,
        FIELD_MEM_FREE,
        FIELD_MEM_AVAILABLE,
        FIELD_BUFFERS,
        FIELD_CACHED,
        _FIELD_MAX,
};

static const char *const field_names[_FIELD_MAX] = {
        [FIELD_MEM_TOTAL] = "MemTotal",
        [FIELD_MEM_FREE] = "MemFree",
        [FIELD_MEM_AVAILABLE] = "MemAvailable",
        [FIELD_BUFFERS] = "Buffers",
        [FIELD_CACHED] = "Cached",
};

static int field_from_key(const char *key, size_t len) {
        for (int i = 0; i < _FIELD_MAX; i++)
                if (strlen(field_names[i]) == len && strncmp(field_names[i], key, len) == 0)
                        return i;
        return -1;
}

/* Parses the part after "Key:": a decimal number, optionally followed by the unit "kB". */
static int parse_value(const char *s, size_t len, uint64_t *ret) {
        char num[sizeof("18446744073709551615")];
        size_t i = 0, start, digits;

        while (i < len && isblank((unsigned char) s[i]))
                i++;
        start = i;
        while (i < len && isdigit((unsigned char) s[i]))
                i++;
        digits = i - start;
        if (digits == 0 || digits >= sizeof(num))
                return -EINVAL;
        memcpy(num, s + start, digits);
        num[digits] = 0;

        while (i < len && isblank((unsigned char) s[i]))
                i++;
        if (len - i >= 2 && s[i] == 'k' && s[i + 1] == 'B')
                i += 2;
        while (i < len && isspace((unsigned char) s[i]))
                i++;
        if (i != len)
                return -EINVAL;

        if (safe_atou64(num, ret) < 0)
                return -EINVAL;
        return 0;
}

int meminfo_parse(const char *buf, MemInfo *ret) {
        uint64_t values[_FIELD_MAX] = {};
        bool seen[_FIELD_MAX] = {};
        MemInfo mi = {};
        const char *line;

        assert_return(buf, -EINVAL);
        assert_return(ret, -EINVAL);

        for (line = buf; *line; ) {
                const char *eol, *colon;
                size_t len;
                int f, r;

                eol = strchr(line, '\n') ?: line + strlen(line);
                len = (size_t) (eol - line);

                /* Unknown lines, and lines that are not "Key: value" at all, are someone
                 * else's business: only the fields this module uses must be well-formed. */
                colon = memchr(line, ':', len);
                if (colon) {
                        f = field_from_key(line, (size_t) (colon - line));
                        if (f >= 0) {
                                /* Two MemTotal lines: this is not a kernel's meminfo. */
                                if (seen[f])
                                        return -EINVAL;

                                r = parse_value(colon + 1, len - (size_t) (colon + 1 - line), &values[f]);
                                if (r < 0)
                                        return r;
                                seen[f] = true;
                        }
                }

                line = *eol ? eol + 1 : eol;
        }

        if (!seen[FIELD_MEM_TOTAL] || values[FIELD_MEM_TOTAL] == 0)
                return -EINVAL;

        mi.total_kb = values[FIELD_MEM_TOTAL];
        mi.free_kb = values[FIELD_MEM_FREE];

        if (seen[FIELD_MEM_AVAILABLE]) {
                mi.has_available = true;
                mi.available_kb = values[FIELD_MEM_AVAILABLE];
        } else {
                uint64_t a;

                /* Kernels before 3.14 lack MemAvailable: use ksmtuned's estimate of free memory,
                 * MemFree + Buffers + Cached, which needs MemFree at least. */
                if (!seen[FIELD_MEM_FREE])
                        return -EINVAL;

                if (__builtin_add_overflow(values[FIELD_MEM_FREE], values[FIELD_BUFFERS], &a) ||
                    __builtin_add_overflow(a, values[FIELD_CACHED], &a))
                        a = UINT64_MAX;
                mi.available_kb = a;
        }

        *ret = mi;
        return 0;
}

int meminfo_read(const char *path, MemInfo *ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_full_file(path, MEMINFO_MAX_BYTES, &buf, &len);
        if (r < 0)
                return r;

        /* A NUL inside would silently cut the text short. */
        if (memchr(buf, 0, len))
                return -EINVAL;

        return meminfo_parse(buf, ret);
}
