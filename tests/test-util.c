/* test-util.c — table tests of the strict parsers and the bounded readers in util.c, hostile inputs included. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "util.h"
#include "test-tables.h"

static void test_safe_atou64(void **state) {
        static const struct {
                const char *in;
                int r;
                uint64_t v;
        } cases[] = {
                { "0", 0, 0 },
                { "100\n", 0, 100 },
                { "  42  ", 0, 42 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "   ", -EINVAL, 0 },
                { "12abc", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "1 2", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                int r = safe_atou64(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].v))
                        fail_msg("safe_atou64(\"%s\") = %d/%llu, expected %d/%llu", cases[i].in, r,
                                 (unsigned long long) v, cases[i].r, (unsigned long long) cases[i].v);
        }
        assert_int_equal(safe_atou64(NULL, NULL), -EINVAL);
}

static void test_safe_atou32_atoi64(void **state) {
        uint32_t u;
        int64_t i;

        assert_int_equal(safe_atou32("4294967295", &u), 0);
        assert_int_equal(u, UINT32_MAX);
        assert_int_equal(safe_atou32("4294967296", &u), -ERANGE);
        assert_int_equal(safe_atoi64("-50", &i), 0);
        assert_int_equal(i, -50);
        assert_int_equal(safe_atoi64("+7\n", &i), 0);
        assert_int_equal(i, 7);
        assert_int_equal(safe_atoi64("--5", &i), -EINVAL);
        assert_int_equal(safe_atoi64("-9223372036854775809", &i), -ERANGE);
        assert_int_equal(safe_atoi64("-4096", &i), 0);
        assert_int_equal(i, -4096);
}

static void test_safe_atod(void **state) {
        static const struct {
                const char *in;
                int r;
                double v;
        } cases[] = {
                { "0.2", 0, 0.2 },
                { "1.0", 0, 1.0 },
                { "20", 0, 20 },
                { ".5", 0, 0.5 },
                { "5.", 0, 5 },
                { "", -EINVAL, 0 },
                { ".", -EINVAL, 0 },
                { "-0.1", -EINVAL, 0 },
                { "1e3", -EINVAL, 0 },
                { "nan", -EINVAL, 0 },
                { "inf", -EINVAL, 0 },
                { "0x1p3", -EINVAL, 0 },
                { "1,5", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double v = -1;
                int r = safe_atod(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && (v < cases[i].v - 1e-9 || v > cases[i].v + 1e-9)))
                        fail_msg("safe_atod(\"%s\") = %d/%g, expected %d/%g", cases[i].in, r, v, cases[i].r, cases[i].v);
        }
}

static void test_parse_boolean(void **state) {
        static const struct {
                const char *in;
                int r;
                bool v;
        } cases[] = {
                { "yes", 0, true }, { "TRUE", 0, true }, { "on", 0, true }, { "1", 0, true },
                { "no", 0, false }, { "False", 0, false }, { "off", 0, false }, { "0", 0, false },
                { "", -EINVAL, false }, { "2", -EINVAL, false }, { "yess", -EINVAL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool v = !cases[i].v;
                int r = parse_boolean(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].v))
                        fail_msg("parse_boolean(\"%s\") = %d/%d", cases[i].in, r, v);
        }
}

static void test_parse_sec(void **state) {
        static const struct {
                const char *in;
                int r;
                uint64_t usec;
        } cases[] = {
                { "30", 0, 30 * USEC_PER_SEC },
                { "30s", 0, 30 * USEC_PER_SEC },
                { "500ms", 0, 500 * USEC_PER_MSEC },
                { "1min 30s", 0, 90 * USEC_PER_SEC },
                { "2m", 0, 120 * USEC_PER_SEC },
                { "1h", 0, 3600 * USEC_PER_SEC },
                { "10us", 0, 10 },
                { " 5 sec ", 0, 5 * USEC_PER_SEC },
                { "", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "5x", -EINVAL, 0 },
                { "-5", -EINVAL, 0 },
                { "5 parsecs", -EINVAL, 0 },
                { "99999999999999999999", -ERANGE, 0 },
                { "18446744073709h", -ERANGE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 0;
                int r = parse_sec(cases[i].in, &v);

                if (r != cases[i].r || (r == 0 && v != cases[i].usec))
                        fail_msg("parse_sec(\"%s\") = %d/%llu, expected %d/%llu", cases[i].in, r,
                                 (unsigned long long) v, cases[i].r, (unsigned long long) cases[i].usec);
        }
}

static void test_node_name(void **state) {
        static const struct {
                const char *in;
                bool valid;
        } cases[] = {
                { "node01", true },
                { "worker-1.example.com", true },
                { "a", true },
                { "", false },
                { "Node01", false },
                { "-node", false },
                { "node-", false },
                { "node..a", false },
                { "node_1", false },
                { ".node", false },
                { "node.", false },
                { "a-.b", false },
        };
        char long_name[300];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (node_name_is_valid(cases[i].in) != cases[i].valid)
                        fail_msg("node_name_is_valid(\"%s\") != %d", cases[i].in, cases[i].valid);

        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_false(node_name_is_valid(long_name));
        long_name[253] = 0;
        assert_true(node_name_is_valid(long_name));
        assert_false(node_name_is_valid(NULL));
}

static void test_log_level(void **state) {
        assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
        assert_int_equal(log_level_from_string("ERROR"), LOG_ERR);
        assert_int_equal(log_level_from_string("err"), LOG_ERR);
        assert_int_equal(log_level_from_string("4"), LOG_WARNING);
        assert_int_equal(log_level_from_string("8"), -EINVAL);
        assert_int_equal(log_level_from_string("loud"), -EINVAL);
        assert_string_equal(log_level_to_string(LOG_NOTICE), "notice");
        assert_null(log_level_to_string(9));
}

static void test_strstrip(void **state) {
        char a[] = "  x y \n", b[] = "   ", c[] = "z";

        assert_string_equal(strstrip(a), "x y");
        assert_string_equal(strstrip(b), "");
        assert_string_equal(strstrip(c), "z");
}

/* A pipe carrying the pieces written one by one (before reading), then EOF: short reads. */
static int pipe_with(const char *const *pieces) {
        int p[2];

        assert_int_equal(pipe(p), 0);
        for (size_t i = 0; pieces[i]; i++)
                assert_int_equal(write(p[1], pieces[i], strlen(pieces[i])), (ssize_t) strlen(pieces[i]));
        assert_int_equal(close(p[1]), 0);
        return p[0];
}

static void test_read_bounded(void **state) {
        static const struct {
                const char *pieces[4];
                size_t size;            /* room in read_fd_into() including the NUL; max_bytes + 1 */
                int r;
                const char *out;
        } cases[] = {
                { { NULL }, 4, 0, "" },
                { { "1\n", NULL }, 4, 0, "1\n" },
                { { "123", NULL }, 4, 0, "123" },                       /* exactly full */
                { { "1234", NULL }, 4, -EFBIG, NULL },                  /* one byte over */
                { { "12", "3", NULL }, 4, 0, "123" },                   /* full across reads */
                { { "12", "34", NULL }, 4, -EFBIG, NULL },
                { { "1", "", "2", NULL }, 4, 0, "12" },
                { { "x", NULL }, 1, -EFBIG, NULL },                     /* room for the NUL only */
                { { NULL }, 1, 0, "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[16];
                char *got = NULL;
                size_t len = 99;
                int fd;

                fd = pipe_with(cases[i].pieces);
                assert_int_equal(read_fd_into(fd, buf, cases[i].size, &len), cases[i].r);
                if (cases[i].r == 0) {
                        assert_string_equal(buf, cases[i].out);
                        assert_int_equal(len, strlen(cases[i].out));
                }
                close(fd);

                fd = pipe_with(cases[i].pieces);
                assert_int_equal(read_full_fd(fd, cases[i].size - 1, &got, &len), cases[i].r);
                if (cases[i].r == 0) {
                        assert_string_equal(got, cases[i].out);
                        assert_int_equal(len, strlen(cases[i].out));
                } else
                        assert_null(got);
                free(got);
                close(fd);
        }
        assert_int_equal(read_fd_into(-1, (char[4]) {}, 4, NULL), -EBADF);
}

/* --- write_file_atomic() ------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

/* Names a stray temporary file left in dir, or returns NULL when there is none. */
static char *find_temp_leftover(const char *dir) {
        DIR *d;
        struct dirent *de;
        char *found = NULL;

        d = opendir(dir);
        if (!d)
                return NULL;
        while (!found && (de = readdir(d)))
                if (strncmp(de->d_name, ".#", 2) == 0)
                        found = strdup(de->d_name);
        closedir(d);
        return found;
}

/* A string literal as data and its size, NUL bytes inside included. */
#define DATA(s) (s), sizeof(s) - 1

typedef struct WriteCase {
        const char *name;
        const char *before_file;        /* created first with "old" (0600), relative to a scratch dir */
        const char *before_dir;         /* created first (0700) */
        const char *target;             /* relative to the scratch dir; "@long": NAME_MAX bytes */
        bool relative;                  /* pass target as is, from the scratch dir as cwd */
        const char *data;
        size_t size;
        mode_t mode, umask;
        int r;
} WriteCase;

static const WriteCase write_cases[] = {
        { "new file", NULL, NULL, "f", false, DATA("hello\n"), 0600, 022, 0 },
        { "replaces a file", "f", NULL, "f", false, DATA("new\n"), 0644, 022, 0 },
        { "mode exactly as asked under a strict umask", "f", NULL, "f", false, DATA("x"), 0644, 077, 0 },
        { "mode exactly as asked under an open umask", NULL, NULL, "f", false, DATA("x"), 0600, 0, 0 },
        { "mode narrower than the old file", "f", NULL, "f", false, DATA("x"), 0400, 022, 0 },
        { "empty data", "f", NULL, "f", false, DATA(""), 0600, 022, 0 },
        { "binary data with a NUL", NULL, NULL, "f", false, DATA("a\0b"), 0600, 022, 0 },
        { "name of NAME_MAX bytes: the temporary name is cut to fit", NULL, NULL, "@long", false, DATA("x"), 0644, 022, 0 },
        { "relative name, in the working directory", NULL, NULL, "f", true, DATA("rel\n"), 0600, 022, 0 },
        { "target is a directory: refused, nothing left behind", NULL, "f", "f", false, DATA("x"), 0600, 022, -EISDIR },
        { "missing directory", NULL, NULL, "missing/f", false, DATA("x"), 0600, 022, -ENOENT },
        { "directory is a file", "f", NULL, "f/g", false, DATA("x"), 0600, 022, -ENOTDIR },
        { "no file name", NULL, NULL, "", false, DATA("x"), 0600, 022, -EINVAL },
};

static void test_write_file_atomic(void **state) {
        const WriteCase *c = *state;
        char base[] = "/tmp/test-util.XXXXXX", path[PATH_MAX], target[NAME_MAX + 1], cwd[PATH_MAX];
        _cleanup_free_ char *got = NULL, *leftover = NULL;
        size_t len = 7, size = c->size;
        mode_t old_umask;
        struct stat st;
        int r;

        assert_non_null(getcwd(cwd, sizeof(cwd)));

        if (streq(c->target, "@long")) {
                memset(target, 'a', NAME_MAX);
                target[NAME_MAX] = 0;
        } else
                (void) snprintf(target, sizeof(target), "%s", c->target);

        assert_non_null(mkdtemp(base));
        if (c->before_file) {
                _cleanup_close_ int fd = -EBADF;

                (void) snprintf(path, sizeof(path), "%s/%s", base, c->before_file);
                fd = open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "old", 3), 3);
        }
        if (c->before_dir) {
                (void) snprintf(path, sizeof(path), "%s/%s", base, c->before_dir);
                assert_int_equal(mkdir(path, 0700), 0);
        }
        (void) snprintf(path, sizeof(path), "%s/%s", base, target);

        old_umask = umask(c->umask);
        if (c->relative) {
                assert_int_equal(chdir(base), 0);
                r = write_file_atomic(target, c->data, size, c->mode);
                assert_int_equal(chdir(cwd), 0);
        } else
                r = write_file_atomic(path, c->data, size, c->mode);
        (void) umask(old_umask);

        if (r != c->r)
                fail_msg("%s: write_file_atomic = %d, want %d", c->name, r, c->r);

        if (r == 0) {
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        fail_msg("%s: no file written", c->name);
                if ((st.st_mode & 07777) != c->mode)
                        fail_msg("%s: mode %o, want %o", c->name, st.st_mode & 07777, c->mode);
                if (read_full_file(path, 64, &got, &len) < 0 || len != size ||
                    memcmp(got, c->data, size) != 0)
                        fail_msg("%s: the file does not hold the data (%zu bytes)", c->name, len);
        } else if (c->before_file && streq(c->before_file, target)) {
                if (read_full_file(path, 64, &got, &len) < 0 || !streq(got, "old"))
                        fail_msg("%s: the old file was changed", c->name);
        }

        leftover = find_temp_leftover(base);
        if (leftover)
                fail_msg("%s: temporary file \"%s\" left behind", c->name, leftover);

        assert_int_equal(nftw(base, remove_entry, 8, FTW_DEPTH|FTW_PHYS), 0);
}

/* --- utf8_sanitize() ------------------------------------------------------------------------ */

typedef struct Utf8Case {
        const char *name;
        const char *in;
        size_t max;
        const char *out;
} Utf8Case;

static const Utf8Case utf8_cases[] = {
        { "plain ASCII", "Failed to read /x", 100, "Failed to read /x" },
        { "NULL is empty", NULL, 100, "" },
        { "valid UTF-8 kept (2, 3 and 4 bytes)", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 100, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
        { "a lone 0xff byte", "bad\xff" "byte", 100, "bad?byte" },
        { "ESC sequence: no ESC left", "red \x1b[31mtext\x1b[0m", 100, "red ?[31mtext?[0m" },
        { "newline, tab, CR, DEL", "a\nb\tc\rd\x7f" "e", 100, "a?b?c?d?e" },
        { "C1 control (U+009B, a CSI)", "x\xc2\x9b" "31m", 100, "x?31m" },
        { "sequence cut at the end (server message cut at 255 bytes)", "abc\xe2\x82", 100, "abc??" },
        { "continuation byte alone", "a\x80" "b", 100, "a?b" },
        { "overlong '/' (c0 af)", "\xc0\xaf", 100, "??" },
        { "overlong 3-byte form", "\xe0\x80\xaf", 100, "???" },
        { "UTF-16 surrogate", "\xed\xa0\x80", 100, "???" },
        { "beyond U+10FFFF", "\xf4\x90\x80\x80", 100, "????" },
        { "non-character U+FFFE", "\xef\xbf\xbe", 100, "???" },
        { "cut on a character boundary, not inside the euro sign", "ab\xe2\x82\xac", 4, "ab" },
        { "cut exactly after a character", "ab\xe2\x82\xac" "c", 5, "ab\xe2\x82\xac" },
        { "cut in ASCII", "abcdef", 3, "abc" },
        { "zero bytes allowed", "abc", 0, "" },
};

static void test_utf8_sanitize(void **state) {
        const Utf8Case *c = *state;
        _cleanup_free_ char *got = utf8_sanitize(c->in, c->max);

        assert_non_null(got);
        if (!streq(got, c->out))
                fail_msg("%s: \"%s\", want \"%s\"", c->name, got, c->out);
        assert_true(strlen(got) <= c->max);
        for (const char *p = got; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        fail_msg("%s: control character left", c->name);
}

/* --- read_full_file() refuses what is not a regular file, without waiting on it ------------ */

static void test_read_full_file_kinds(void **state) {
        char base[] = "/tmp/test-util.XXXXXX", path[PATH_MAX];
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        assert_non_null(mkdtemp(base));

        /* A FIFO with no writer: open(O_RDONLY) without O_NONBLOCK would wait for ever. */
        (void) snprintf(path, sizeof(path), "%s/fifo", base);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(read_full_file(path, 64, &buf, &len), -EBADFD);
        assert_int_equal(open_regular_file(path, NULL), -EBADFD);
        assert_int_equal(unlink(path), 0);

        assert_int_equal(read_full_file(base, 64, &buf, &len), -EISDIR);
        assert_int_equal(read_full_file("/dev/null", 64, &buf, &len), -EBADFD);

        (void) snprintf(path, sizeof(path), "%s/f", base);
        assert_int_equal(write_file_atomic(path, "x\n", 2, 0600), 0);
        assert_int_equal(read_full_file(path, 64, &buf, &len), 0);
        assert_string_equal(buf, "x\n");
        /* O_NONBLOCK stays harmless on a regular file: the whole of /proc/meminfo-sized data reads. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(base), 0);
}

/* --- write_file_atomic_full(): owner and group --------------------------------------------------------------- */

typedef struct OwnedCase {
        const char *name;
        uid_t uid;
        gid_t gid;
        mode_t mode;
        bool needs_root;
} OwnedCase;

static const OwnedCase owned_cases[] = {
        { "owner and group unchanged (-1, -1)", (uid_t) -1, (gid_t) -1, 0640, false },
        { "owner 1234:1234, mode 0640", 1234, 1234, 0640, true },
        { "group only 4321, mode 0664", (uid_t) -1, 4321, 0664, true },
        { "setgid survives the chown", 1234, 1234, 02750, true },
};

static void test_write_file_atomic_owned(void **state) {
        const OwnedCase *c = *state;
        char base[] = "/tmp/test-util.XXXXXX", path[PATH_MAX];
        struct stat st;

        if (c->needs_root && geteuid() != 0)
                skip();
        assert_non_null(mkdtemp(base));
        (void) snprintf(path, sizeof(path), "%s/f", base);

        assert_int_equal(write_file_atomic_full(path, "data", 4, c->mode, c->uid, c->gid, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        if ((st.st_mode & 07777) != c->mode)
                fail_msg("%s: mode %o, want %o", c->name, st.st_mode & 07777, c->mode);
        if (st.st_uid != (c->uid == (uid_t) -1 ? geteuid() : c->uid))
                fail_msg("%s: uid %u", c->name, (unsigned) st.st_uid);
        if (st.st_gid != (c->gid == (gid_t) -1 ? getegid() : c->gid))
                fail_msg("%s: gid %u", c->name, (unsigned) st.st_gid);

        assert_int_equal(nftw(base, remove_entry, 8, FTW_DEPTH|FTW_PHYS), 0);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(write_cases) + ELEMENTSOF(utf8_cases) + ELEMENTSOF(owned_cases) + 10];
        size_t n = 0;

        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_safe_atou64);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_safe_atou32_atoi64);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_safe_atod);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_parse_boolean);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_parse_sec);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_node_name);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_log_level);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_strstrip);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_read_bounded);
        TEST_ADD_TABLE(tests, n, write_cases, test_write_file_atomic);
        TEST_ADD_TABLE(tests, n, utf8_cases, test_utf8_sanitize);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_read_full_file_kinds);
        TEST_ADD_TABLE(tests, n, owned_cases, test_write_file_atomic_owned);

        return test_run_group("util", tests, n);
}
