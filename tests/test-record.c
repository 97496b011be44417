/* test-record.c — the ownership record: format/parse tables, hostile files, atomic save and load. */
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

#include "macro.h"
#include "record.h"
#include "test-tables.h"
#include "util.h"

static void check_record(const char *name, const Record *got, const Record *want) {
        if (got->claimed != want->claimed || got->have_saved != want->have_saved ||
            got->saved_pages_to_scan != want->saved_pages_to_scan ||
            got->saved_sleep_millisecs != want->saved_sleep_millisecs)
                fail_msg("%s: got claimed=%d have_saved=%d pages=%" PRIu32 " sleep=%" PRIu32
                         ", want %d %d %" PRIu32 " %" PRIu32, name, got->claimed, got->have_saved,
                         got->saved_pages_to_scan, got->saved_sleep_millisecs, want->claimed, want->have_saved,
                         want->saved_pages_to_scan, want->saved_sleep_millisecs);
}

typedef struct FormatCase {
        const char *name;
        Record r;
        const char *text;
        bool drops_saved;               /* the saved rate is out of range: not written */
} FormatCase;

static const FormatCase format_cases[] = {
        { "claimed with saved tuning",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = 20 },
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":20}}\n" },
        { "released, nothing saved",
          { .claimed = false },
          "{\"version\":1,\"claimed\":false}\n" },
        { "claimed without saved tuning",
          { .claimed = true },
          "{\"version\":1,\"claimed\":true}\n" },
        { "restorable extremes",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 1, .saved_sleep_millisecs = 3600000 },
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1,\"sleep_millisecs\":3600000}}\n" },
        { "pages 0 from the kernel: nothing saved, nothing to restore later",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 0, .saved_sleep_millisecs = 20 },
          "{\"version\":1,\"claimed\":true}\n", true },
        { "sleep 2^32-1 from the kernel: nothing saved",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = UINT32_MAX },
          "{\"version\":1,\"claimed\":true}\n", true },
        { "advisor max_cpu 0 from the kernel: the advisor not saved, the rate still is",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = 20,
            .have_saved_advisor = true, .saved_advisor = { .target_scan_time_sec = 200, .max_cpu = 0,
                                                            .min_pages = 500, .max_pages = 30000 } },
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":20}}\n" },
        { "pages 0 but a sane advisor: only the advisor saved",
          { .claimed = true, .have_saved = true, .saved_pages_to_scan = 0, .saved_sleep_millisecs = 20,
            .have_saved_advisor = true, .saved_advisor = { .target_scan_time_sec = 200, .max_cpu = 70,
                                                            .min_pages = 500, .max_pages = 30000 } },
          "{\"version\":1,\"claimed\":true,\"saved_advisor\":{\"mode\":\"none\",\"target_scan_time\":200,"
          "\"max_cpu\":70,\"min_pages_to_scan\":500,\"max_pages_to_scan\":30000}}\n", true },
        { "values ignored when not saved",
          { .claimed = false, .have_saved = false, .saved_pages_to_scan = 7, .saved_sleep_millisecs = 8 },
          "{\"version\":1,\"claimed\":false}\n" },
};

static void test_format_roundtrip(void **state) {
        const FormatCase *c = *state;
        _cleanup_free_ char *text = NULL;
        Record back, want = c->r;
        int r;

        text = record_format(&c->r);
        assert_non_null(text);
        if (!streq(text, c->text))
                fail_msg("%s: formatted %s", c->name, text);

        r = record_parse(text, &back);
        if (r != 0)
                fail_msg("%s: record_parse = %d", c->name, r);
        if (c->drops_saved)
                want = (Record) { .claimed = c->r.claimed };
        if (!want.have_saved)
                want.saved_pages_to_scan = want.saved_sleep_millisecs = 0;
        check_record(c->name, &back, &want);
}

typedef struct ParseCase {
        const char *name;
        const char *text;
        int r;
        Record want;
} ParseCase;

static const ParseCase parse_cases[] = {
        { "canonical", "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":20}}\n",
          0, { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = 20 } },
        { "pretty-printed, keys reordered",
          "{\n  \"saved\": { \"sleep_millisecs\": 20, \"pages_to_scan\": 100 },\n  \"claimed\": false,\n"
          "  \"version\": 1\n}\n\n",
          0, { .claimed = false, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = 20 } },
        { "no trailing newline", "{\"version\":1,\"claimed\":false}", 0, { .claimed = false } },

        { "empty", "", -EBADMSG, {} },
        { "whitespace only", " \n\t\n", -EBADMSG, {} },
        { "not JSON", "claimed=true\n", -EBADMSG, {} },
        { "JSON array", "[1,true]\n", -EBADMSG, {} },
        { "JSON string", "\"claimed\"\n", -EBADMSG, {} },
        { "JSON null", "null\n", -EBADMSG, {} },
        { "empty object", "{}\n", -EBADMSG, {} },
        { "version missing", "{\"claimed\":true}\n", -EBADMSG, {} },
        { "version 2", "{\"version\":2,\"claimed\":true}\n", -EBADMSG, {} },
        { "version 0", "{\"version\":0,\"claimed\":true}\n", -EBADMSG, {} },
        { "version as string", "{\"version\":\"1\",\"claimed\":true}\n", -EBADMSG, {} },
        { "version as float", "{\"version\":1.0,\"claimed\":true}\n", -EBADMSG, {} },
        { "claimed missing", "{\"version\":1}\n", -EBADMSG, {} },
        { "claimed as string", "{\"version\":1,\"claimed\":\"true\"}\n", -EBADMSG, {} },
        { "claimed as number", "{\"version\":1,\"claimed\":1}\n", -EBADMSG, {} },
        { "claimed null", "{\"version\":1,\"claimed\":null}\n", -EBADMSG, {} },
        { "unknown top-level key", "{\"version\":1,\"claimed\":true,\"owner\":\"me\"}\n", -EBADMSG, {} },
        { "saved not an object", "{\"version\":1,\"claimed\":true,\"saved\":[100,20]}\n", -EBADMSG, {} },
        { "saved null", "{\"version\":1,\"claimed\":true,\"saved\":null}\n", -EBADMSG, {} },
        { "saved empty", "{\"version\":1,\"claimed\":true,\"saved\":{}}\n", -EBADMSG, {} },
        { "saved without sleep",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100}}\n", -EBADMSG, {} },
        { "saved without pages",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"sleep_millisecs\":20}}\n", -EBADMSG, {} },
        { "saved with an unknown key",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1,\"sleep_millisecs\":2,\"run\":1}}\n",
          -EBADMSG, {} },
        { "negative pages",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":-1,\"sleep_millisecs\":20}}\n", -EBADMSG, {} },
        { "negative sleep",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1,\"sleep_millisecs\":-20}}\n", -EBADMSG, {} },
        { "pages above u32",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":4294967296,\"sleep_millisecs\":20}}\n",
          -EBADMSG, {} },
        { "sleep above i64",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1,\"sleep_millisecs\":18446744073709551615}}\n",
          -EBADMSG, {} },
        { "sleep far above u64",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1,\"sleep_millisecs\":1e30}}\n",
          -EBADMSG, {} },
        { "pages as float",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100.5,\"sleep_millisecs\":20}}\n",
          -EBADMSG, {} },
        { "pages as string",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":\"100\",\"sleep_millisecs\":20}}\n",
          -EBADMSG, {} },
        { "garbage after the object", "{\"version\":1,\"claimed\":true}x\n", -EBADMSG, {} },
        { "second object after the first", "{\"version\":1,\"claimed\":true}\n{\"version\":1,\"claimed\":false}\n",
          -EBADMSG, {} },
        { "trailing comma", "{\"version\":1,\"claimed\":true,}\n", -EBADMSG, {} },
        { "single quotes", "{'version':1,'claimed':true}\n", -EBADMSG, {} },
        { "NaN", "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":NaN,\"sleep_millisecs\":1}}\n",
          -EBADMSG, {} },
        { "bare word", "{\"version\":1,\"claimed\":tru}\n", -EBADMSG, {} },
        { "duplicate key, last one wrong", "{\"version\":1,\"claimed\":true,\"claimed\":\"no\"}\n", -EBADMSG, {} },
        { "comment", "/* x */{\"version\":1,\"claimed\":true}\n", -EBADMSG, {} },
        { "unclosed", "{\"version\":1,\"claimed\":true\n", -EBADMSG, {} },

        /* Formats that are not this one. */
        { "older record without the advisor's settings: still loads",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":333,\"sleep_millisecs\":44}}\n",
          0, { .claimed = true, .have_saved = true, .saved_pages_to_scan = 333, .saved_sleep_millisecs = 44 } },
        { "unversioned flat record of another tool",
          "{\"claimed\":true,\"pages_to_scan\":100,\"sleep_millisecs\":20}\n", -EBADMSG, {} },
        { "a Kubernetes Node object",
          "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\"}}\n", -EBADMSG, {} },
        { "the record wrapped in an array", "[{\"version\":1,\"claimed\":true}]\n", -EBADMSG, {} },
        { "binary (PNG signature)", "\x89PNG\r\n\x1a\n\x01\x02", -EBADMSG, {} },
        { "UTF-8 byte order mark", "\xef\xbb\xbf{\"version\":1,\"claimed\":true}\n", -EBADMSG, {} },

        /* Saved settings that must never be written back. */
        { "saved pages 0",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":0,\"sleep_millisecs\":20}}\n", -ERANGE, {} },
        { "saved pages 2^40",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":1099511627776,\"sleep_millisecs\":20}}\n",
          -EBADMSG, {} },
        { "saved pages above 10^7",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":10000001,\"sleep_millisecs\":20}}\n",
          -ERANGE, {} },
        { "saved pages 10^7",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":10000000,\"sleep_millisecs\":20}}\n",
          0, { .claimed = true, .have_saved = true, .saved_pages_to_scan = 10000000, .saved_sleep_millisecs = 20 } },
        { "saved sleep 0",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":0}}\n", -ERANGE, {} },
        { "saved sleep above an hour",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":3600001}}\n",
          -ERANGE, {} },
        { "saved sleep 2^32-1",
          "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":100,\"sleep_millisecs\":4294967295}}\n",
          -ERANGE, {} },
        { "released record with out-of-range saved settings",
          "{\"version\":1,\"claimed\":false,\"saved\":{\"pages_to_scan\":0,\"sleep_millisecs\":0}}\n", -ERANGE, {} },
        { "saved advisor max_cpu 101",
          "{\"version\":1,\"claimed\":true,\"saved_advisor\":{\"mode\":\"none\",\"target_scan_time\":200,"
          "\"max_cpu\":101,\"min_pages_to_scan\":500,\"max_pages_to_scan\":30000}}\n", -ERANGE, {} },
        { "saved advisor target 0",
          "{\"version\":1,\"claimed\":true,\"saved_advisor\":{\"mode\":\"none\",\"target_scan_time\":0,"
          "\"max_cpu\":70,\"min_pages_to_scan\":500,\"max_pages_to_scan\":30000}}\n", -ERANGE, {} },
        { "saved advisor min pages 0",
          "{\"version\":1,\"claimed\":true,\"saved_advisor\":{\"mode\":\"none\",\"target_scan_time\":200,"
          "\"max_cpu\":70,\"min_pages_to_scan\":0,\"max_pages_to_scan\":30000}}\n", -ERANGE, {} },
        { "saved advisor in range",
          "{\"version\":1,\"claimed\":true,\"saved_advisor\":{\"mode\":\"scan-time\",\"target_scan_time\":200,"
          "\"max_cpu\":100,\"min_pages_to_scan\":1,\"max_pages_to_scan\":10000000}}\n", 0, { .claimed = true } },
};

static void test_parse(void **state) {
        const ParseCase *c = *state;
        Record got;
        int r;

        memset(&got, 0xaa, sizeof(got));
        r = record_parse(c->text, &got);
        if (r != c->r)
                fail_msg("%s: record_parse = %d, want %d", c->name, r, c->r);
        /* On failure the record is zeroed, never half-filled. */
        check_record(c->name, &got, &c->want);
}

/* A crash mid-write leaves (without rename) at worst a prefix: no prefix may pass as a record. */
static void test_parse_truncated(void **state) {
        static const Record records[] = {
                { .claimed = true, .have_saved = true, .saved_pages_to_scan = 1250, .saved_sleep_millisecs = 20 },
                { .claimed = false },
        };

        for (size_t k = 0; k < ELEMENTSOF(records); k++) {
                _cleanup_free_ char *text = record_format(&records[k]);
                size_t len;

                assert_non_null(text);
                len = strlen(text);
                assert_true(len > 2 && text[len - 1] == '\n');

                /* Everything shorter than the object itself; the full object without the
                 * newline is complete and valid. */
                for (size_t l = 0; l < len - 1; l++) {
                        _cleanup_free_ char *prefix = strndup(text, l);
                        Record got;
                        int r;

                        assert_non_null(prefix);
                        r = record_parse(prefix, &got);
                        if (r != -EBADMSG)
                                fail_msg("record %zu truncated to %zu bytes (\"%s\"): record_parse = %d", k, l,
                                         prefix, r);
                }
                {
                        _cleanup_free_ char *whole = strndup(text, len - 1);
                        Record got;

                        assert_int_equal(record_parse(whole, &got), 0);
                }
        }
}

/* --- files --------------------------------------------------------------------------------- */

static void make_tmpdir(char *buf, size_t size) {
        (void) snprintf(buf, size, "/tmp/test-record.XXXXXX");
        if (!mkdtemp(buf))
                fail_msg("mkdtemp: %s", strerror(errno));
}

static void remove_dir(const char *dir) {
        DIR *d;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
                                (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
        (void) rmdir(dir);
}

/* Lists the directory: the record file only, nothing else (no temporary leftovers). */
static void check_only_record(const char *name, const char *dir) {
        DIR *d;
        struct dirent *de;
        unsigned n = 0;

        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!streq(de->d_name, RECORD_FILE_NAME)) {
                        closedir(d);
                        fail_msg("%s: stray file \"%s\" in the state directory", name, de->d_name);
                }
                n++;
        }
        closedir(d);
        if (n != 1)
                fail_msg("%s: %u files, want the record alone", name, n);
}

static void write_file(const char *dir, const char *name, const char *content, size_t len) {
        char path[PATH_MAX];
        _cleanup_close_ int fd = -EBADF;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, len), (ssize_t) len);
}

static void test_save_load(void **state) {
        static const Record records[] = {
                { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100, .saved_sleep_millisecs = 20 },
                { .claimed = true, .have_saved = true, .saved_pages_to_scan = 5000, .saved_sleep_millisecs = 10 },
                { .claimed = false },
        };
        char base[64], dir[128], path[PATH_MAX];
        mode_t old_umask;

        make_tmpdir(base, sizeof(base));
        /* The state directory itself does not exist yet: record_save creates it 0700. */
        (void) snprintf(dir, sizeof(dir), "%s/kubevirt-ksmd", base);
        (void) snprintf(path, sizeof(path), "%s/" RECORD_FILE_NAME, dir);

        /* A permissive umask must not widen the file, a strict one must not narrow it. */
        old_umask = umask(0);

        for (size_t i = 0; i < ELEMENTSOF(records); i++) {
                char name[64];
                struct stat st;
                Record got;
                int r;

                (void) snprintf(name, sizeof(name), "save %zu", i);
                if (i == 2)
                        (void) umask(0077);

                r = record_save(dir, &records[i]);
                if (r != 0)
                        fail_msg("%s: record_save = %d", name, r);

                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        fail_msg("%s: no state directory", name);
                if (i == 0 && (st.st_mode & 07777) != 0700)
                        fail_msg("%s: directory mode %o, want 0700", name, st.st_mode & 07777);
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        fail_msg("%s: no record file", name);
                if ((st.st_mode & 07777) != 0600)
                        fail_msg("%s: file mode %o, want 0600", name, st.st_mode & 07777);
                check_only_record(name, dir);

                memset(&got, 0xaa, sizeof(got));
                r = record_load(dir, &got);
                if (r != 1)
                        fail_msg("%s: record_load = %d, want 1", name, r);
                check_record(name, &got, &records[i]);
        }

        (void) umask(old_umask);
        remove_dir(dir);
        remove_dir(base);
}

static void test_load_errors(void **state) {
        char base[64], dir[PATH_MAX];
        _cleanup_free_ char *big = NULL;
        Record got;
        int r;

        make_tmpdir(base, sizeof(base));

        /* Missing directory, then an empty one: no record, not an error. */
        (void) snprintf(dir, sizeof(dir), "%s/missing", base);
        memset(&got, 0xaa, sizeof(got));
        assert_int_equal(record_load(dir, &got), 0);
        check_record("missing directory", &got, &(Record) {});

        memset(&got, 0xaa, sizeof(got));
        assert_int_equal(record_load(base, &got), 0);
        check_record("missing file", &got, &(Record) {});

        /* Corrupt contents. */
        static const struct {
                const char *name;
                const char *content;
                size_t len;
        } corrupt[] = {
                { "empty file", "", 0 },
                { "truncated", "{\"version\":1,\"clai", 18 },
                { "not JSON", "hello\n", 6 },
                { "NUL inside", "{\"version\":1,\"claimed\":true}\0junk", 34 },
                { "wrong version", "{\"version\":7,\"claimed\":true}\n", 29 },
        };
        for (size_t i = 0; i < ELEMENTSOF(corrupt); i++) {
                write_file(base, RECORD_FILE_NAME, corrupt[i].content, corrupt[i].len);
                memset(&got, 0xaa, sizeof(got));
                r = record_load(base, &got);
                if (r != -EBADMSG)
                        fail_msg("%s: record_load = %d, want -EBADMSG", corrupt[i].name, r);
                check_record(corrupt[i].name, &got, &(Record) {});
        }

        /* Larger than any record could be: refused without parsing. */
        big = malloc(128 * 1024);
        assert_non_null(big);
        memset(big, ' ', 128 * 1024);
        memcpy(big, "{\"version\":1,\"claimed\":true}", 28);
        write_file(base, RECORD_FILE_NAME, big, 128 * 1024);
        assert_int_equal(record_load(base, &got), -EBADMSG);

        /* The record is a directory: an I/O error, not "no record". */
        (void) snprintf(dir, sizeof(dir), "%s/" RECORD_FILE_NAME, base);
        assert_int_equal(unlink(dir), 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        r = record_load(base, &got);
        if (r != -EISDIR)
                fail_msg("record is a directory: record_load = %d, want -EISDIR", r);

        /* ...and record_save cannot replace it, and leaves no temporary file behind. */
        r = record_save(base, &(Record) { .claimed = true });
        if (r >= 0)
                fail_msg("save over a directory: record_save = %d, want an error", r);
        check_only_record("failed save", base);

        remove_dir(base);
}

static void test_save_dir_errors(void **state) {
        char base[64], path[PATH_MAX];
        int r;

        make_tmpdir(base, sizeof(base));

        /* The state directory path is a regular file. */
        (void) snprintf(path, sizeof(path), "%s/file", base);
        write_file(base, "file", "x", 1);
        r = record_save(path, &(Record) { .claimed = true });
        if (r != -ENOTDIR)
                fail_msg("state dir is a file: record_save = %d, want -ENOTDIR", r);

        /* Its parent does not exist: not created recursively. */
        (void) snprintf(path, sizeof(path), "%s/a/b", base);
        r = record_save(path, &(Record) { .claimed = true });
        if (r != -ENOENT)
                fail_msg("missing parent: record_save = %d, want -ENOENT", r);

        remove_dir(base);
}

/* A damaged record is moved to state.json.corrupt with a sentence saying what was found; a good
 * one, or none, is left alone and says nothing. */
typedef struct AsideCase {
        const char *name;
        const char *content;            /* NULL: no record file */
        int r;
        const char *says;               /* in the damage sentence; NULL: no sentence, nothing moved */
} AsideCase;

static const AsideCase aside_cases[] = {
        { "aside: valid record stays", "{\"version\":1,\"claimed\":true}\n", 1, NULL },
        { "aside: no record", NULL, 0, NULL },
        { "aside: empty file", "", -EBADMSG, "truncated, corrupt or not written by this daemon" },
        { "aside: truncated", "{\"version\":1,\"claimed\":tr", -EBADMSG, "truncated, corrupt" },
        { "aside: foreign JSON", "{\"kind\":\"Node\"}", -EBADMSG, "not written by this daemon" },
        { "aside: binary", "\x7f" "ELF\x02\x01\x01", -EBADMSG, "corrupt" },
        { "aside: pages 0", "{\"version\":1,\"claimed\":true,\"saved\":{\"pages_to_scan\":0,\"sleep_millisecs\":20}}",
          -ERANGE, "a saved setting is out of range" },
};

static void test_set_aside(void **state) {
        const AsideCase *c = *state;
        char base[64], path[PATH_MAX], aside[PATH_MAX];
        _cleanup_free_ char *damage = NULL;
        struct stat st;
        Record got;
        int r;

        make_tmpdir(base, sizeof(base));
        (void) snprintf(path, sizeof(path), "%s/" RECORD_FILE_NAME, base);
        (void) snprintf(aside, sizeof(aside), "%s/" RECORD_DAMAGED_NAME, base);
        if (c->content)
                write_file(base, RECORD_FILE_NAME, c->content, strlen(c->content));

        memset(&got, 0xaa, sizeof(got));
        r = record_load_or_set_aside(base, &got, &damage);
        if (r != c->r)
                fail_msg("%s: record_load_or_set_aside = %d, want %d", c->name, r, c->r);
        if (!c->says) {
                if (damage)
                        fail_msg("%s: unexpected damage report \"%s\"", c->name, damage);
                if (stat(aside, &st) == 0)
                        fail_msg("%s: a record was set aside", c->name);
                if (c->content && stat(path, &st) < 0)
                        fail_msg("%s: the record is gone", c->name);
        } else {
                _cleanup_free_ char *kept = NULL;
                size_t len = 0;

                if (!damage || !strstr(damage, c->says) || !strstr(damage, aside))
                        fail_msg("%s: damage report \"%s\" should say \"%s\" and name %s", c->name, strna(damage),
                                 c->says, aside);
                check_record(c->name, &got, &(Record) {});
                if (stat(path, &st) == 0)
                        fail_msg("%s: the damaged record is still in place", c->name);
                /* Kept byte for byte. */
                {
                        _cleanup_close_ int fd = open(aside, O_RDONLY|O_CLOEXEC);

                        if (fd < 0 || read_full_fd(fd, 4096, &kept, &len) < 0)
                                fail_msg("%s: %s not readable", c->name, aside);
                        if (len != strlen(c->content) || memcmp(kept, c->content, len) != 0)
                                fail_msg("%s: %s differs from the damaged record", c->name, aside);
                }
                /* The next load finds no record: the daemon starts afresh from the annotation. */
                damage = mfree(damage);
                assert_int_equal(record_load_or_set_aside(base, &got, &damage), 0);
                assert_null(damage);
        }
        remove_dir(base);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(format_cases) + ELEMENTSOF(parse_cases) + ELEMENTSOF(aside_cases) + 4];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, format_cases, test_format_roundtrip);
        TEST_ADD_TABLE(tests, n, parse_cases, test_parse);
        TEST_ADD_TABLE(tests, n, aside_cases, test_set_aside);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_parse_truncated);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_save_load);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_errors);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_save_dir_errors);

        return test_run_group("record", tests, n);
}
