/* fuzz-ksm-sysfs.c — fuzz target: the contents of the KSM sysfs files (the input cut at NUL bytes,
 * one piece per attribute in the order below; missing pieces are absent files), read through a
 * scratch directory as the daemon reads /sys/kernel/mm/ksm. Every value read is the one the file
 * holds by the documented rules, and the snapshot agrees with the single reads. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "ksm-sysfs.h"
#include "util.h"

/* ksm-sysfs.c reads numbers into 32 bytes and choices into 4096 + 1. */
#define NUMBER_BYTES_MAX 31U
#define CHOICE_BYTES_MAX 4096U

static const char *const attrs[] = {
        "run", "pages_to_scan", "sleep_millisecs", "pages_sharing", "pages_shared", "pages_unshared",
        "pages_volatile", "full_scans", "ksm_zero_pages", "general_profit", "merge_across_nodes",
        "advisor_mode", "advisor_target_scan_time", "advisor_max_cpu", "advisor_min_pages_to_scan",
        "advisor_max_pages_to_scan",
};
#define N_ATTRS ELEMENTSOF(attrs)

static KsmSysfs *sysfs;

typedef struct Expect {
        bool present;
        int r_u64, r_i64;
        uint64_t u64;
        int64_t i64;
} Expect;

/* What a number file should read as: the text up to its first NUL, parsed strictly, when the file
 * fits the reader's buffer; -EINVAL otherwise. */
static void expect_number(const uint8_t *p, size_t n, Expect *e) {
        _cleanup_free_ char *s = NULL;

        e->present = true;
        e->r_u64 = e->r_i64 = -EINVAL;
        if (n > NUMBER_BYTES_MAX)
                return;
        s = fuzz_strndup(p, n);
        if (!s)
                abort();
        e->r_u64 = safe_atou64(s, &e->u64) < 0 ? -EINVAL : 0;
        e->r_i64 = safe_atoi64(s, &e->i64) < 0 ? -EINVAL : 0;
}

/* The selected choice of "[a] b", or the whole stripped text; NULL when there is none. */
static char *expect_choice(const uint8_t *p, size_t n) {
        _cleanup_free_ char *s = NULL;
        char *start, *end;

        if (n > CHOICE_BYTES_MAX)
                return NULL;
        s = fuzz_strndup(p, n);
        if (!s)
                abort();
        start = strchr(s, '[');
        if (start) {
                end = strchr(++start, ']');
                return end && end > start ? strndup(start, (size_t) (end - start)) : NULL;
        }
        start = strstrip(s);
        return *start ? strdup(start) : NULL;
}

static size_t attr_index(const char *name) {
        for (size_t i = 0; i < N_ATTRS; i++)
                if (streq(attrs[i], name))
                        return i;
        abort();
}

typedef struct ForeachState {
        const Expect *expect;
        size_t calls;
        const char *last;
} ForeachState;

static int on_numeric(const char *name, int64_t value, void *userdata) {
        ForeachState *st = userdata;
        const Expect *e = &st->expect[attr_index(name)];

        fuzz_check(e->present && e->r_i64 == 0 && e->i64 == value);
        fuzz_check(!st->last || strcmp(st->last, name) < 0);
        st->last = name;
        st->calls++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *choice = NULL, *want_choice = NULL;
        const uint8_t *pieces[N_ATTRS];
        size_t lens[N_ATTRS], n, numeric = 0;
        Expect expect[N_ATTRS] = {};
        ForeachState st = { .expect = expect };
        const Expect *run;
        KsmSnapshot s;
        int r;

        if (size > 64 * 1024)
                return 0;
        if (!sysfs) {
                const char *dir = fuzz_scratch_dir();

                if (!dir || ksm_sysfs_open(dir, &sysfs) < 0)
                        abort();
        }

        n = fuzz_split(data, size, N_ATTRS, pieces, lens);
        for (size_t i = 0; i < N_ATTRS; i++) {
                if (i < n) {
                        if (fuzz_write_file(sysfs->path, attrs[i], pieces[i], lens[i]) < 0)
                                abort();
                        expect_number(pieces[i], lens[i], &expect[i]);
                        if (expect[i].r_i64 == 0)
                                numeric++;
                } else {
                        _cleanup_free_ char *p = strdup_printf("%s/%s", sysfs->path, attrs[i]);

                        if (!p || (unlink(p) < 0 && errno != ENOENT))
                                abort();
                }
        }

        /* One attribute at a time. */
        for (size_t i = 0; i < N_ATTRS; i++) {
                uint64_t u = 0;
                int64_t v = 0;

                r = ksm_sysfs_read_u64(sysfs, attrs[i], &u);
                fuzz_check(expect[i].present ? r == expect[i].r_u64 : r == -ENOENT);
                fuzz_check(r < 0 || u == expect[i].u64);
                r = ksm_sysfs_read_i64(sysfs, attrs[i], &v);
                fuzz_check(expect[i].present ? r == expect[i].r_i64 : r == -ENOENT);
                fuzz_check(r < 0 || v == expect[i].i64);
        }

        r = ksm_sysfs_read_choice(sysfs, "advisor_mode", &choice);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOENT || r == -ENOMEM);
        if (n > 11)
                want_choice = expect_choice(pieces[11], lens[11]);
        fuzz_check((r == 0) == !!want_choice);
        fuzz_check(r < 0 || streq(choice, want_choice));

        /* The snapshot the daemon takes. */
        r = ksm_sysfs_snapshot(sysfs, &s);
        if (r == -ENOMEM)
                return 0;
        fuzz_check(r == 0);
        run = &expect[0];
        fuzz_check(s.available == (run->present && run->r_u64 == 0 && run->u64 < _KSM_RUN_MAX));
        if (s.available) {
                fuzz_check((uint64_t) s.run == run->u64);
                fuzz_check(s.has_pages_to_scan == (expect[1].r_u64 == 0 && expect[1].present && expect[1].u64 <= UINT32_MAX));
                fuzz_check(!s.has_pages_to_scan || s.pages_to_scan == expect[1].u64);
                fuzz_check(s.has_stats == (expect[3].present && expect[3].r_u64 == 0));
                fuzz_check(s.has_general_profit == (expect[9].present && expect[9].r_i64 == 0));
                fuzz_check(!s.has_general_profit || s.general_profit_signed == expect[9].i64);
                fuzz_check(s.general_profit <= (uint64_t) INT64_MAX);
                fuzz_check(s.has_advisor == !!want_choice);
                fuzz_check(memchr(s.advisor_mode, 0, sizeof(s.advisor_mode)));
                (void) ksm_snapshot_saved_bytes(&s, 4096);
                (void) ksm_snapshot_general_profit(&s, 4096);
        } else
                fuzz_check(s.run == KSM_RUN_STOPPED && !s.has_stats);

        /* The statistics export: exactly the files holding one integer, in name order. */
        r = ksm_sysfs_foreach_numeric(sysfs, on_numeric, &st);
        fuzz_check(r == 0);
        fuzz_check(st.calls == numeric);
        return 0;
}
