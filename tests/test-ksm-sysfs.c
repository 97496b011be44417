/* test-ksm-sysfs.c — ksm-sysfs against scratch sysfs trees built in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>

#include "ksm-sysfs.h"
#include "macro.h"
#include "test-tables.h"

#define PAGE 4096

/* One entry of a scratch tree: a file with content, a directory (content NULL), or a symlink
 * (link set). */
typedef struct TreeFile {
        const char *name;
        const char *content;
        const char *link;
} TreeFile;

#define TREE_MAX 32

/* What kernel 6.18 on these machines offers (notes/ksm-on-this-machine.md). */
static const TreeFile tree_modern[] = {
        { "run", "0\n" },
        { "pages_to_scan", "100\n" },
        { "sleep_millisecs", "20\n" },
        { "merge_across_nodes", "1\n" },
        { "max_page_sharing", "256\n" },
        { "use_zero_pages", "0\n" },
        { "smart_scan", "1\n" },
        { "advisor_mode", "[none] scan-time\n" },
        { "advisor_max_cpu", "70\n" },
        { "pages_shared", "10\n" },
        { "pages_sharing", "250\n" },
        { "pages_unshared", "30\n" },
        { "pages_volatile", "5\n" },
        { "full_scans", "3\n" },
        { "general_profit", "-4096\n" },
        { "ksm_zero_pages", "7\n" },
        {}
};

/* A kernel before 6.4: no advisor, general_profit or ksm_zero_pages. */
static const TreeFile tree_old[] = {
        { "run", "1\n" },
        { "pages_to_scan", "100\n" },
        { "sleep_millisecs", "20\n" },
        { "merge_across_nodes", "1\n" },
        { "pages_shared", "2\n" },
        { "pages_sharing", "1000\n" },
        { "pages_unshared", "100\n" },
        { "pages_volatile", "0\n" },
        { "full_scans", "5\n" },
        {}
};

static const TreeFile tree_no_run[] = {
        { "pages_to_scan", "100\n" },
        { "sleep_millisecs", "20\n" },
        {}
};

static const TreeFile tree_bad_run[] = {
        { "run", "on\n" },
        { "pages_to_scan", "100\n" },
        {}
};

static const TreeFile tree_run_out_of_range[] = {
        { "run", "3\n" },
        {}
};

static const TreeFile tree_unmerging[] = {
        { "run", "2\n" },
        { "pages_to_scan", "4294967296\n" },    /* not a u32: reported as absent */
        { "sleep_millisecs", "junk\n" },
        { "advisor_mode", "scan-time\n" },      /* no brackets: the whole content */
        { "general_profit", "123456789\n" },
        {}
};

static const TreeFile tree_run_only[] = {
        { "run", "1" },                          /* no newline */
        {}
};

static int make_tree(const TreeFile *files, char **ret) {
        _cleanup_free_ char *dir = strdup("/tmp/test-ksm-sysfs.XXXXXX");
        _cleanup_close_ int dfd = -EBADF;

        if (!dir || !mkdtemp(dir))
                return -errno;
        dfd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (dfd < 0)
                return -errno;

        for (const TreeFile *f = files; f && f->name; f++) {
                _cleanup_close_ int fd = -EBADF;
                size_t len;

                if (f->link) {
                        if (symlinkat(f->link, dfd, f->name) < 0)
                                return -errno;
                        continue;
                }
                if (!f->content) {
                        if (mkdirat(dfd, f->name, 0755) < 0)
                                return -errno;
                        continue;
                }

                fd = openat(dfd, f->name, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
                if (fd < 0)
                        return -errno;
                len = strlen(f->content);
                if (write(fd, f->content, len) != (ssize_t) len)
                        return -EIO;
        }

        *ret = TAKE_PTR(dir);
        return 0;
}

/* Removes a tree made by make_tree() (one level, subdirectories empty). */
static void remove_tree(const char *dir) {
        DIR *d;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        }
        closedir(d);
        (void) rmdir(dir);
}

/* A scratch tree opened with ksm_sysfs_open(); freed by fixture_done(). */
typedef struct Fixture {
        char *dir;
        KsmSysfs *k;
} Fixture;

static void fixture_init(Fixture *f, const TreeFile *files, const char *name) {
        int r;

        *f = (Fixture) {};
        r = make_tree(files, &f->dir);
        if (r < 0)
                fail_msg("%s: cannot build tree: %s", name, strerror(-r));
        r = ksm_sysfs_open(f->dir, &f->k);
        if (r < 0)
                fail_msg("%s: ksm_sysfs_open: %s", name, strerror(-r));
}

static void fixture_done(Fixture *f) {
        ksm_sysfs_free(f->k);
        if (f->dir)
                remove_tree(f->dir);
        free(f->dir);
        *f = (Fixture) {};
}

static char *read_file(const char *dir, const char *name) {
        char path[PATH_MAX], buf[256];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDONLY|O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

/* --- snapshot ------------------------------------------------------------------------------ */

typedef struct SnapshotCase {
        const char *name;
        const TreeFile *tree;
        KsmSnapshot want;
} SnapshotCase;

static const SnapshotCase snapshot_cases[] = {
        { "kernel 6.18 tree: everything present, negative general_profit clamped",
          tree_modern,
          { .available = true, .run = KSM_RUN_STOPPED, .pages_to_scan = 100, .sleep_millisecs = 20,
            .pages_shared = 10, .pages_sharing = 250, .pages_unshared = 30, .pages_volatile = 5,
            .full_scans = 3, .ksm_zero_pages = 7, .general_profit = 0, .general_profit_signed = -4096,
            .merge_across_nodes = 1, .has_pages_to_scan = true, .has_sleep_millisecs = true,
            .has_stats = true, .has_ksm_zero_pages = true, .has_general_profit = true,
            .has_merge_across_nodes = true, .has_advisor = true, .advisor_mode = "none" } },
        { "old kernel: no advisor, general_profit or ksm_zero_pages",
          tree_old,
          { .available = true, .run = KSM_RUN_MERGING, .pages_to_scan = 100, .sleep_millisecs = 20,
            .pages_shared = 2, .pages_sharing = 1000, .pages_unshared = 100, .pages_volatile = 0,
            .full_scans = 5, .merge_across_nodes = 1, .has_pages_to_scan = true,
            .has_sleep_millisecs = true, .has_stats = true, .has_merge_across_nodes = true } },
        { "no run file: KSM unavailable",
          tree_no_run,
          { .available = false } },
        { "run is not a number: unavailable",
          tree_bad_run,
          { .available = false } },
        { "run out of range: unavailable",
          tree_run_out_of_range,
          { .available = false } },
        { "empty directory: unavailable",
          NULL,
          { .available = false } },
        { "run=2, unparsable tuning, advisor without brackets, positive profit",
          tree_unmerging,
          { .available = true, .run = KSM_RUN_UNMERGING, .general_profit = 123456789,
            .general_profit_signed = 123456789, .has_general_profit = true, .has_advisor = true,
            .advisor_mode = "scan-time" } },
        { "run only, without trailing newline",
          tree_run_only,
          { .available = true, .run = KSM_RUN_MERGING } },
};

static void check_snapshot(const char *name, const KsmSnapshot *got, const KsmSnapshot *want) {
#define CHECK_FIELD(f, fmt)                                                                     \
        if (got->f != want->f)                                                                  \
                fail_msg("%s: " #f " = %" fmt ", want %" fmt, name, got->f, want->f)
#define CHECK_BOOL(f)                                                                           \
        if (got->f != want->f)                                                                  \
                fail_msg("%s: " #f " = %d, want %d", name, got->f, want->f)

        CHECK_BOOL(available);
        CHECK_FIELD(run, "d");
        CHECK_FIELD(pages_to_scan, PRIu32);
        CHECK_FIELD(sleep_millisecs, PRIu32);
        CHECK_FIELD(pages_shared, PRIu64);
        CHECK_FIELD(pages_sharing, PRIu64);
        CHECK_FIELD(pages_unshared, PRIu64);
        CHECK_FIELD(pages_volatile, PRIu64);
        CHECK_FIELD(full_scans, PRIu64);
        CHECK_FIELD(ksm_zero_pages, PRIu64);
        CHECK_FIELD(general_profit, PRIu64);
        CHECK_FIELD(general_profit_signed, PRIi64);
        CHECK_FIELD(merge_across_nodes, PRIu64);
        CHECK_BOOL(has_pages_to_scan);
        CHECK_BOOL(has_sleep_millisecs);
        CHECK_BOOL(has_stats);
        CHECK_BOOL(has_ksm_zero_pages);
        CHECK_BOOL(has_general_profit);
        CHECK_BOOL(has_merge_across_nodes);
        CHECK_BOOL(has_advisor);
        if (!streq(got->advisor_mode, want->advisor_mode))
                fail_msg("%s: advisor_mode = \"%s\", want \"%s\"", name, got->advisor_mode, want->advisor_mode);

#undef CHECK_FIELD
#undef CHECK_BOOL
}

static void test_snapshot(void **state) {
        const SnapshotCase *c = *state;
        Fixture f;
        KsmSnapshot s;
        int r;

        fixture_init(&f, c->tree, c->name);
        memset(&s, 0xaa, sizeof(s));
        r = ksm_sysfs_snapshot(f.k, &s);
        if (r != 0)
                fail_msg("%s: ksm_sysfs_snapshot = %d", c->name, r);
        check_snapshot(c->name, &s, &c->want);
        fixture_done(&f);
}

static void test_snapshot_old_kernel_profit(void **state) {
        Fixture f;
        KsmSnapshot s;

        fixture_init(&f, tree_old, "old kernel profit");
        assert_int_equal(ksm_sysfs_snapshot(f.k, &s), 0);
        /* saved 1000 x 4096 minus (1000 + 2 + 100 + 0) rmap items x 64 B. */
        if (ksm_snapshot_general_profit(&s, PAGE) != 4096000 - 1102 * 64)
                fail_msg("old kernel profit: got %" PRIi64, ksm_snapshot_general_profit(&s, PAGE));
        if (ksm_snapshot_saved_bytes(&s, PAGE) != 4096000)
                fail_msg("old kernel saved: got %" PRIu64, ksm_snapshot_saved_bytes(&s, PAGE));
        fixture_done(&f);

        fixture_init(&f, tree_modern, "modern kernel profit");
        assert_int_equal(ksm_sysfs_snapshot(f.k, &s), 0);
        if (ksm_snapshot_general_profit(&s, PAGE) != -4096)
                fail_msg("modern kernel profit: got %" PRIi64, ksm_snapshot_general_profit(&s, PAGE));
        if (ksm_snapshot_saved_bytes(&s, PAGE) != (250 + 7) * PAGE)
                fail_msg("modern kernel saved: got %" PRIu64, ksm_snapshot_saved_bytes(&s, PAGE));
        fixture_done(&f);
}

/* --- open ---------------------------------------------------------------------------------- */

static void test_open(void **state) {
        _cleanup_free_ char *dir = NULL;
        char file[PATH_MAX];
        KsmSysfs *k = NULL;

        assert_int_equal(ksm_sysfs_open("/nonexistent/kernel/mm/ksm", &k), -ENOENT);
        assert_null(k);

        assert_int_equal(make_tree(tree_run_only, &dir), 0);
        (void) snprintf(file, sizeof(file), "%s/run", dir);
        if (ksm_sysfs_open(file, &k) != -ENOTDIR)
                fail_msg("open on a file: want -ENOTDIR");

        assert_int_equal(ksm_sysfs_open(dir, &k), 0);
        assert_non_null(k);
        assert_string_equal(k->path, dir);
        assert_true(k->dir_fd >= 0);
        assert_null(ksm_sysfs_free(k));
        assert_null(ksm_sysfs_free(NULL));

        remove_tree(dir);
}

/* --- typed reads --------------------------------------------------------------------------- */

static const TreeFile tree_values[] = {
        { "plain", "100\n" },
        { "spaces", "  7  \n" },
        { "no_newline", "42" },
        { "empty", "" },
        { "negative", "-4096\n" },
        { "plus", "+5\n" },
        { "words", "abc\n" },
        { "two", "1 2\n" },
        { "u64_max", "18446744073709551615\n" },
        { "u64_over", "18446744073709551616\n" },
        { "i64_min", "-9223372036854775808\n" },
        { "long", "000000000000000000000000000000000000000000000000000000000000000000000000001\n" },
        { "choice", "[none] scan-time\n" },
        { "choice_second", "none [scan-time]\n" },
        { "choice_plain", "  scan-time \n" },
        { "choice_open", "[none scan-time\n" },
        { "choice_empty_brackets", "[] none\n" },
        { "choice_blank", " \n" },
        { "subdir", NULL },
        {}
};

typedef struct ReadCase {
        const char *name;
        const char *attr;
        int u64_r;
        uint64_t u64;
        int i64_r;
        int64_t i64;
} ReadCase;

static const ReadCase read_cases[] = {
        { "plain number",               "plain",        0, 100, 0, 100 },
        { "surrounding whitespace",     "spaces",       0, 7, 0, 7 },
        { "no trailing newline",        "no_newline",   0, 42, 0, 42 },
        { "empty file",                 "empty",        -EINVAL, 0, -EINVAL, 0 },
        { "negative (general_profit)",  "negative",     -EINVAL, 0, 0, -4096 },
        { "explicit plus sign",         "plus",         -EINVAL, 0, 0, 5 },
        { "words",                      "words",        -EINVAL, 0, -EINVAL, 0 },
        { "two numbers",                "two",          -EINVAL, 0, -EINVAL, 0 },
        { "u64 max",                    "u64_max",      0, UINT64_MAX, -EINVAL, 0 },
        { "u64 overflow",               "u64_over",     -EINVAL, 0, -EINVAL, 0 },
        { "i64 min",                    "i64_min",      -EINVAL, 0, 0, INT64_MIN },
        { "longer than any number",     "long",         -EINVAL, 0, -EINVAL, 0 },
        { "a choice attribute",         "choice",       -EINVAL, 0, -EINVAL, 0 },
        { "missing attribute",          "missing",      -ENOENT, 0, -ENOENT, 0 },
        { "a directory",                "subdir",       -EISDIR, 0, -EISDIR, 0 },
        { "path escaping the directory", "../plain",    -EINVAL, 0, -EINVAL, 0 },
        { "nested path",                "subdir/x",     -EINVAL, 0, -EINVAL, 0 },
        { "empty name",                 "",             -EINVAL, 0, -EINVAL, 0 },
};

static void test_read_numbers(void **state) {
        const ReadCase *c = *state;
        uint64_t u = 0;
        int64_t s = 0;
        Fixture f;
        int r;

        fixture_init(&f, tree_values, c->name);

        r = ksm_sysfs_read_u64(f.k, c->attr, &u);
        if (r != c->u64_r || (r == 0 && u != c->u64))
                fail_msg("%s: read_u64 = %d (%" PRIu64 "), want %d (%" PRIu64 ")", c->name, r, u, c->u64_r, c->u64);

        r = ksm_sysfs_read_i64(f.k, c->attr, &s);
        if (r != c->i64_r || (r == 0 && s != c->i64))
                fail_msg("%s: read_i64 = %d (%" PRIi64 "), want %d (%" PRIi64 ")", c->name, r, s, c->i64_r, c->i64);

        fixture_done(&f);
}

typedef struct ChoiceCase {
        const char *name;
        const char *attr;
        int r;
        const char *value;
} ChoiceCase;

static const ChoiceCase choice_cases[] = {
        { "first selected",             "choice",                0, "none" },
        { "second selected",            "choice_second",         0, "scan-time" },
        { "no brackets: whole content", "choice_plain",          0, "scan-time" },
        { "plain number as a choice",   "plain",                 0, "100" },
        { "unclosed bracket",           "choice_open",           -EINVAL, NULL },
        { "empty brackets",             "choice_empty_brackets", -EINVAL, NULL },
        { "only whitespace",            "choice_blank",          -EINVAL, NULL },
        { "empty file as a choice",     "empty",                 -EINVAL, NULL },
        { "missing",                    "missing",               -ENOENT, NULL },
};

static void test_read_choice(void **state) {
        const ChoiceCase *c = *state;
        _cleanup_free_ char *v = NULL;
        Fixture f;
        int r;

        fixture_init(&f, tree_values, c->name);

        r = ksm_sysfs_read_choice(f.k, c->attr, &v);
        if (r != c->r)
                fail_msg("%s: read_choice = %d, want %d", c->name, r, c->r);
        if (r == 0 && !streq(v, c->value))
                fail_msg("%s: read_choice = \"%s\", want \"%s\"", c->name, v, c->value);

        fixture_done(&f);
}

/* --- writes -------------------------------------------------------------------------------- */

static void test_write(void **state) {
        static const struct {
                const char *name;
                const char *attr;
                uint64_t value;
                int r;
                const char *content;    /* what the file holds afterwards, NULL: must not exist */
        } cases[] = {
                { "small value",                "pages_to_scan",   1250, 0, "1250\n" },
                { "shorter value truncates",    "pages_to_scan",   7, 0, "7\n" },
                { "zero",                       "run",             0, 0, "0\n" },
                { "u64 max",                    "sleep_millisecs", UINT64_MAX, 0, "18446744073709551615\n" },
                { "missing attribute: no O_CREAT", "nope",         1, -ENOENT, NULL },
                { "attribute is a directory",   "subdir",          1, -EISDIR, NULL },
                { "path escaping the directory", "../run",         1, -EINVAL, NULL },
        };
        Fixture f;

        fixture_init(&f, tree_modern, "write");
        assert_int_equal(mkdirat(f.k->dir_fd, "subdir", 0755), 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *content = NULL;
                uint64_t back;
                int r;

                r = ksm_sysfs_write_u64(f.k, cases[i].attr, cases[i].value);
                if (r != cases[i].r)
                        fail_msg("%s: write_u64 = %d, want %d", cases[i].name, r, cases[i].r);
                if (r < 0) {
                        if (streq(cases[i].attr, "nope") && faccessat(f.k->dir_fd, "nope", F_OK, 0) == 0)
                                fail_msg("%s: the attribute was created", cases[i].name);
                        continue;
                }

                content = read_file(f.dir, cases[i].attr);
                if (!content || !streq(content, cases[i].content))
                        fail_msg("%s: file holds \"%s\", want \"%s\"", cases[i].name, strna(content),
                                 cases[i].content);
                r = ksm_sysfs_read_u64(f.k, cases[i].attr, &back);
                if (r != 0 || back != cases[i].value)
                        fail_msg("%s: read back %d %" PRIu64, cases[i].name, r, back);
        }

        fixture_done(&f);
}

static void test_write_string(void **state) {
        static const struct {
                const char *name;
                const char *value;
                int r;
                const char *content;
                const char *choice;
        } cases[] = {
                { "mode without newline gets one", "scan-time", 0, "scan-time\n", "scan-time" },
                { "mode with newline kept as is", "none\n", 0, "none\n", "none" },
                { "empty value writes a newline", "", 0, "\n", NULL },
        };
        Fixture f;

        fixture_init(&f, tree_modern, "write string");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *content = NULL, *choice = NULL;
                int r;

                r = ksm_sysfs_write_string(f.k, "advisor_mode", cases[i].value);
                if (r != cases[i].r)
                        fail_msg("%s: write_string = %d, want %d", cases[i].name, r, cases[i].r);
                content = read_file(f.dir, "advisor_mode");
                if (!content || !streq(content, cases[i].content))
                        fail_msg("%s: file holds \"%s\"", cases[i].name, strna(content));
                r = ksm_sysfs_read_choice(f.k, "advisor_mode", &choice);
                if (cases[i].choice ? (r != 0 || !streq(choice, cases[i].choice)) : r != -EINVAL)
                        fail_msg("%s: read back %d \"%s\"", cases[i].name, r, strna(choice));
        }
        if (ksm_sysfs_write_string(f.k, "missing", "x") != -ENOENT)
                fail_msg("write_string to a missing attribute: want -ENOENT");
        fixture_done(&f);
}

/* --- foreach_numeric ----------------------------------------------------------------------- */

typedef struct Collected {
        char names[TREE_MAX][64];
        int64_t values[TREE_MAX];
        size_t n;
        size_t stop_after;      /* 0: never */
} Collected;

static int collect(const char *name, int64_t value, void *userdata) {
        Collected *c = userdata;

        if (c->n >= TREE_MAX)
                return -E2BIG;
        (void) snprintf(c->names[c->n], sizeof(c->names[c->n]), "%s", name);
        c->values[c->n++] = value;
        if (c->stop_after && c->n == c->stop_after)
                return -ECANCELED;
        return 1;       /* positive: carry on */
}

static void test_foreach_numeric(void **state) {
        static const struct {
                const char *name;
                int64_t value;
        } want[] = {
                { "advisor_max_cpu", 70 },
                /* advisor_mode: "[none] scan-time", skipped */
                /* empty: skipped */
                { "full_scans", 3 },
                { "general_profit", -4096 },
                /* junk, link and subdir: skipped */
                { "ksm_zero_pages", 7 },
                { "max_page_sharing", 256 },
                { "merge_across_nodes", 1 },
                { "pages_shared", 10 },
                { "pages_sharing", 250 },
                { "pages_to_scan", 100 },
                { "pages_unshared", 30 },
                { "pages_volatile", 5 },
                { "run", 0 },
                { "sleep_millisecs", 20 },
                { "smart_scan", 1 },
                { "use_zero_pages", 0 },
        };
        Collected c = {};
        Fixture f;
        int r;

        fixture_init(&f, tree_modern, "foreach");
        assert_int_equal(mkdirat(f.k->dir_fd, "subdir", 0755), 0);
        assert_int_equal(symlinkat("run", f.k->dir_fd, "link"), 0);
        assert_int_equal(close(openat(f.k->dir_fd, "empty", O_WRONLY|O_CREAT|O_CLOEXEC, 0644)), 0);
        {
                _cleanup_close_ int fd = openat(f.k->dir_fd, "junk", O_WRONLY|O_CREAT|O_CLOEXEC, 0644);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "1 2\n", 4), 4);
        }

        r = ksm_sysfs_foreach_numeric(f.k, collect, &c);
        if (r != 0)
                fail_msg("foreach, full walk: r = %d", r);
        if (c.n != ELEMENTSOF(want))
                fail_msg("foreach, full walk: %zu entries, want %zu", c.n, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!streq(c.names[i], want[i].name) || c.values[i] != want[i].value)
                        fail_msg("foreach, full walk: entry %zu is %s=%" PRIi64 ", want %s=%" PRIi64, i,
                                 c.names[i], c.values[i], want[i].name, want[i].value);

        /* The callback's negative return stops the walk and is returned. */
        c = (Collected) { .stop_after = 3 };
        r = ksm_sysfs_foreach_numeric(f.k, collect, &c);
        if (r != -ECANCELED || c.n != 3)
                fail_msg("foreach, stopped by callback: r = %d after %zu entries", r, c.n);

        /* A second walk sees the same thing: the directory fd's offset is not consumed. */
        c = (Collected) {};
        assert_int_equal(ksm_sysfs_foreach_numeric(f.k, collect, &c), 0);
        assert_int_equal(c.n, ELEMENTSOF(want));

        fixture_done(&f);
}

/* --- pure arithmetic ----------------------------------------------------------------------- */

typedef struct MathCase {
        const char *name;
        KsmSnapshot s;
        uint64_t page_size;
        uint64_t saved;
        int64_t profit;
} MathCase;

static const MathCase math_cases[] = {
        { "nothing merged",
          {}, 4096, 0, 0 },
        { "kernel value wins over computation",
          { .pages_sharing = 100, .has_general_profit = true, .general_profit_signed = -12345 },
          4096, 409600, -12345 },
        { "zero pages count as saved",
          { .pages_sharing = 10, .ksm_zero_pages = 5, .has_ksm_zero_pages = true },
          4096, 15 * 4096, 15 * 4096 - 10 * 64 },
        { "computed: rmap cost of every tracked page",
          { .pages_sharing = 1000, .pages_shared = 2, .pages_unshared = 100, .pages_volatile = 3 },
          4096, 4096000, 4096000 - 1105 * 64 },
        { "computed: scanning without merging is a loss",
          { .pages_unshared = 1000000 },
          4096, 0, -64000000 },
        { "64 KiB pages",
          { .pages_sharing = 3, .pages_shared = 1 },
          65536, 196608, 196608 - 4 * 64 },
        { "saved bytes saturate",
          { .pages_sharing = UINT64_MAX / 2, .ksm_zero_pages = UINT64_MAX / 2 },
          4096, UINT64_MAX, INT64_MAX },
        { "profit saturates below",
          { .pages_unshared = UINT64_MAX, .pages_volatile = UINT64_MAX },
          4096, 0, INT64_MIN },
};

static void test_math(void **state) {
        const MathCase *c = *state;
        uint64_t saved = ksm_snapshot_saved_bytes(&c->s, c->page_size);
        int64_t profit = ksm_snapshot_general_profit(&c->s, c->page_size);

        if (saved != c->saved)
                fail_msg("%s: saved = %" PRIu64 ", want %" PRIu64, c->name, saved, c->saved);
        if (profit != c->profit)
                fail_msg("%s: profit = %" PRIi64 ", want %" PRIi64, c->name, profit, c->profit);
}

static void test_run_to_string(void **state) {
        static const struct {
                KsmRun run;
                const char *s;
        } cases[] = {
                { KSM_RUN_STOPPED, "stopped" },
                { KSM_RUN_MERGING, "merging" },
                { KSM_RUN_UNMERGING, "unmerging" },
                { _KSM_RUN_MAX, NULL },
                { _KSM_RUN_INVALID, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (!streq_ptr(ksm_run_to_string(cases[i].run), cases[i].s))
                        fail_msg("run %d: \"%s\", want \"%s\"", cases[i].run, strna(ksm_run_to_string(cases[i].run)),
                                 strna(cases[i].s));
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(snapshot_cases) + ELEMENTSOF(read_cases) + ELEMENTSOF(choice_cases) +
                                ELEMENTSOF(math_cases) + 6];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, snapshot_cases, test_snapshot);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_snapshot_old_kernel_profit);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_open);
        TEST_ADD_TABLE(tests, n, read_cases, test_read_numbers);
        TEST_ADD_TABLE(tests, n, choice_cases, test_read_choice);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_write);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_write_string);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_foreach_numeric);
        TEST_ADD_TABLE(tests, n, math_cases, test_math);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_run_to_string);

        return test_run_group("ksm-sysfs", tests, n);
}
