/* test-meminfo.c — meminfo_parse() on real and hostile texts, meminfo_read() on fixture files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>

#include "macro.h"
#include "meminfo.h"
#include "test-tables.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

typedef struct Case {
        const char *name;
        const char *text;
        int r;
        MemInfo want;
} Case;

static const Case parse_cases[] = {
        { "kernel 6.18 head",
          "MemTotal:       24683620 kB\n"
          "MemFree:        24289020 kB\n"
          "MemAvailable:   24363292 kB\n"
          "Buffers:            2444 kB\n"
          "Cached:           259024 kB\n"
          "SwapCached:            0 kB\n"
          "HugePages_Total:       0\n"
          "Hugepagesize:       2048 kB\n",
          0, { .total_kb = 24683620, .free_kb = 24289020, .available_kb = 24363292, .has_available = true } },
        { "upstream virt-handler test file, pressure (only two lines)",
          "MemTotal:       65680332 kB\n"
          "MemAvailable:    5183928 kB\n",
          0, { .total_kb = 65680332, .available_kb = 5183928, .has_available = true } },
        { "old kernel without MemAvailable: MemFree + Buffers + Cached",
          "MemTotal:        8061104 kB\n"
          "MemFree:          993456 kB\n"
          "Buffers:          215808 kB\n"
          "Cached:          4562400 kB\n"
          "SwapCached:            0 kB\n",
          0, { .total_kb = 8061104, .free_kb = 993456, .available_kb = 993456 + 215808 + 4562400 } },
        { "old kernel without Buffers and Cached: MemFree alone",
          "MemTotal: 1000 kB\nMemFree: 300 kB\n",
          0, { .total_kb = 1000, .free_kb = 300, .available_kb = 300 } },
        { "fields in another order",
          "Cached: 5 kB\nMemAvailable: 40 kB\nMemFree: 10 kB\nMemTotal: 100 kB\n",
          0, { .total_kb = 100, .free_kb = 10, .available_kb = 40, .has_available = true } },
        { "no trailing newline",
          "MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 40 kB",
          0, { .total_kb = 100, .free_kb = 10, .available_kb = 40, .has_available = true } },
        { "no unit",
          "MemTotal: 100\nMemAvailable: 40\n",
          0, { .total_kb = 100, .available_kb = 40, .has_available = true } },
        { "tabs and CRLF",
          "MemTotal:\t100 kB\r\nMemAvailable:\t40 kB\r\n",
          0, { .total_kb = 100, .available_kb = 40, .has_available = true } },
        { "unknown and malformed foreign lines are ignored",
          "Garbage without colon\n"
          "Weird: not a number at all\n"
          "\n"
          "MemTotal: 100 kB\n"
          "Percpu: -1 kB\n"
          "MemAvailable: 40 kB\n",
          0, { .total_kb = 100, .available_kb = 40, .has_available = true } },
        { "prefix of a field name is another field",
          "MemTotalX: 5 kB\nMemTotal: 100 kB\nMemAvailable: 1 kB\n",
          0, { .total_kb = 100, .available_kb = 1, .has_available = true } },
        { "huge values (u64 max)",
          "MemTotal: 18446744073709551615 kB\nMemAvailable: 18446744073709551615 kB\n",
          0, { .total_kb = UINT64_MAX, .available_kb = UINT64_MAX, .has_available = true } },
        { "huge values: the fallback sum saturates",
          "MemTotal: 18446744073709551615 kB\nMemFree: 18446744073709551615 kB\nCached: 10 kB\n",
          0, { .total_kb = UINT64_MAX, .free_kb = UINT64_MAX, .available_kb = UINT64_MAX } },
        { "available above total is reported as is",
          "MemTotal: 100 kB\nMemAvailable: 200 kB\n",
          0, { .total_kb = 100, .available_kb = 200, .has_available = true } },

        { "empty",                      "",                                     -EINVAL, {} },
        { "only newlines",              "\n\n\n",                               -EINVAL, {} },
        { "missing MemTotal",           "MemFree: 10 kB\nMemAvailable: 5 kB\n", -EINVAL, {} },
        { "MemTotal zero",              "MemTotal: 0 kB\nMemAvailable: 0 kB\n", -EINVAL, {} },
        { "MemTotal junk",              "MemTotal: lots kB\n",                  -EINVAL, {} },
        { "MemTotal negative",          "MemTotal: -5 kB\n",                    -EINVAL, {} },
        { "MemTotal with sign",         "MemTotal: +5 kB\n",                    -EINVAL, {} },
        { "MemTotal empty value",       "MemTotal:\n",                          -EINVAL, {} },
        { "MemTotal trailing junk",     "MemTotal: 100 kBytes\n",               -EINVAL, {} },
        { "MemTotal other unit",        "MemTotal: 100 MB\n",                   -EINVAL, {} },
        { "MemTotal two numbers",       "MemTotal: 100 200 kB\n",               -EINVAL, {} },
        { "MemTotal hex",               "MemTotal: 0x100 kB\n",                 -EINVAL, {} },
        { "MemTotal overflows u64",     "MemTotal: 18446744073709551616 kB\n",  -EINVAL, {} },
        { "MemTotal absurdly long",     "MemTotal: 0000000000000000000000000000000000000001 kB\n", -EINVAL, {} },
        { "MemTotal twice",             "MemTotal: 100 kB\nMemTotal: 200 kB\nMemAvailable: 1 kB\n", -EINVAL, {} },
        { "MemAvailable junk",          "MemTotal: 100 kB\nMemAvailable: x kB\n", -EINVAL, {} },
        { "MemFree junk",               "MemTotal: 100 kB\nMemFree: 1.5 kB\nMemAvailable: 1 kB\n", -EINVAL, {} },
        { "Cached junk (needed for the fallback)",
                                        "MemTotal: 100 kB\nMemFree: 1 kB\nCached: ? kB\n", -EINVAL, {} },
        { "neither MemAvailable nor MemFree",
                                        "MemTotal: 100 kB\nBuffers: 1 kB\n",    -EINVAL, {} },
};

static void check(const char *name, int r, const MemInfo *got, const Case *c) {
        if (r != c->r)
                fail_msg("%s: r = %d, want %d", name, r, c->r);
        if (r < 0)
                return;
        if (got->total_kb != c->want.total_kb || got->free_kb != c->want.free_kb ||
            got->available_kb != c->want.available_kb || got->has_available != c->want.has_available)
                fail_msg("%s: total=%" PRIu64 " free=%" PRIu64 " available=%" PRIu64 " has_available=%d, "
                         "want %" PRIu64 " %" PRIu64 " %" PRIu64 " %d", name,
                         got->total_kb, got->free_kb, got->available_kb, got->has_available,
                         c->want.total_kb, c->want.free_kb, c->want.available_kb, c->want.has_available);
}

static void test_parse(void **state) {
        const Case *c = *state;
        MemInfo mi = { .total_kb = 12345 };
        int r;

        r = meminfo_parse(c->text, &mi);
        check(c->name, r, &mi, c);
        /* A failure leaves the output alone. */
        if (r < 0 && mi.total_kb != 12345)
                fail_msg("%s: output written on failure", c->name);
}

/* Every prefix of a valid text either parses (once MemTotal's line is complete) or fails
 * cleanly; none may read out of bounds (ASan and valgrind watch). */
static void test_parse_prefixes(void **state) {
        static const char text[] =
                "MemTotal:       24683620 kB\n"
                "MemFree:        24289020 kB\n"
                "MemAvailable:   24363292 kB\n";
        size_t total_end = strlen("MemTotal:       2");

        for (size_t len = 0; len <= sizeof(text) - 1; len++) {
                _cleanup_free_ char *s = strndup(text, len);
                MemInfo mi;
                int r;

                assert_non_null(s);
                r = meminfo_parse(s, &mi);
                if (len < total_end && r != -EINVAL)
                        fail_msg("prefix of %zu bytes: r = %d, want -EINVAL", len, r);
                if (r == 0 && mi.total_kb == 0)
                        fail_msg("prefix of %zu bytes: accepted with MemTotal 0", len);
        }
}

typedef struct ReadCase {
        const char *name;
        const char *file;
        int r;
        MemInfo want;
} ReadCase;

static const ReadCase read_cases[] = {
        { "kernel 6.18 /proc/meminfo copy", "meminfo-6.18.txt", 0,
          { .total_kb = 24683620, .free_kb = 24288556, .available_kb = 24361916, .has_available = true } },
        { "kernel 2.6.32 /proc/meminfo (no MemAvailable)", "meminfo-2.6.32.txt", 0,
          { .total_kb = 8061104, .free_kb = 993456, .available_kb = 993456 + 215808 + 4562400 } },
        { "upstream test file, pressure", "meminfo-upstream-pressure.txt", 0,
          { .total_kb = 65680332, .available_kb = 5183928, .has_available = true } },
        { "upstream test file, no pressure", "meminfo-upstream-no-pressure.txt", 0,
          { .total_kb = 65680332, .available_kb = 39207804, .has_available = true } },
        { "missing file", "meminfo-does-not-exist.txt", -ENOENT, {} },
        { "a directory", ".", -EISDIR, {} },
};

static void test_read(void **state) {
        const ReadCase *rc = *state;
        Case c = { .r = rc->r, .want = rc->want };
        char path[PATH_MAX];
        MemInfo mi;
        int r;

        (void) snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, rc->file);
        r = meminfo_read(path, &mi);
        check(rc->name, r, &mi, &c);
}

/* Files the reader must refuse before parsing: too large, or with a NUL inside. */
typedef struct HostileCase {
        const char *name;
        size_t size;                    /* bytes of filler after a valid head */
        bool nul;
        int r;
} HostileCase;

static const HostileCase hostile_cases[] = {
        { "64 KiB exactly is fine",     65536 - 44, false, 0 },
        { "one byte over 64 KiB",       65536 - 44 + 1, false, -EFBIG },
        { "a megabyte",                 1024 * 1024, false, -EFBIG },
        { "NUL after the head",         16, true, -EINVAL },
};

static void test_read_hostile(void **state) {
        static const char head[] = "MemTotal: 100 kB\nMemAvailable: 40 kB\nXxx: 1\n";  /* 44 bytes */
        const HostileCase *c = *state;
        char path[] = "/tmp/test-meminfo.XXXXXX";
        _cleanup_free_ char *filler = NULL;
        _cleanup_close_ int fd = -EBADF;
        MemInfo mi;
        int r;

        assert_int_equal(strlen(head), 44);

        fd = mkstemp(path);
        assert_true(fd >= 0);
        filler = malloc(c->size);
        assert_non_null(filler);
        memset(filler, '\n', c->size);
        if (c->nul)
                filler[c->size / 2] = 0;
        assert_int_equal(write(fd, head, 44), 44);
        assert_int_equal(write(fd, filler, c->size), (ssize_t) c->size);

        r = meminfo_read(path, &mi);
        (void) unlink(path);
        if (r != c->r)
                fail_msg("%s: r = %d, want %d", c->name, r, c->r);
        if (r == 0 && (mi.total_kb != 100 || mi.available_kb != 40))
                fail_msg("%s: wrong values", c->name);
}

/* The real file of this machine parses. */
static void test_proc(void **state) {
        MemInfo mi;
        int r;

        r = meminfo_read("/proc/meminfo", &mi);
        if (r == -ENOENT)
                skip();
        if (r != 0)
                fail_msg("/proc/meminfo: r = %d", r);
        assert_true(mi.total_kb > 0);
        assert_true(mi.has_available);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(parse_cases) + ELEMENTSOF(read_cases) + ELEMENTSOF(hostile_cases) + 2];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, parse_cases, test_parse);
        TEST_ADD_TABLE(tests, n, read_cases, test_read);
        TEST_ADD_TABLE(tests, n, hostile_cases, test_read_hostile);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_parse_prefixes);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_proc);

        return test_run_group("meminfo", tests, n);
}
