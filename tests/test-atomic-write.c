/* test-atomic-write.c — write_file_atomic_full() with an expected file: a read-modify-write never undoes another writer's change. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "macro.h"
#include "test-tables.h"
#include "util.h"

typedef enum Meanwhile {
        MEANWHILE_NOTHING,
        MEANWHILE_RENAMED_OVER,         /* an editor wrote a new file and renamed it over */
        MEANWHILE_REWRITTEN,            /* rewritten in place: same inode, new size */
        MEANWHILE_REMOVED,
} Meanwhile;

typedef struct AtomicCase {
        const char *name;
        Meanwhile meanwhile;
        int ret;
        const char *content;            /* what the file holds after; NULL: no file */
} AtomicCase;

static const AtomicCase atomic_cases[] = {
        { "unchanged since it was read: replaced", MEANWHILE_NOTHING, 0, "new\n" },
        { "an editor renamed a new file over it: -ESTALE, the editor's file kept",
          MEANWHILE_RENAMED_OVER, -ESTALE, "editor's\n" },
        { "rewritten in place: -ESTALE, the rewrite kept", MEANWHILE_REWRITTEN, -ESTALE, "rewritten\n" },
        { "removed: -ESTALE, not created again", MEANWHILE_REMOVED, -ESTALE, NULL },
};

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static unsigned entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

static void test_atomic(void **state) {
        const AtomicCase *c = *state;
        char dir[] = "/tmp/test-atomic-write.XXXXXX", path[64], other[64];
        _cleanup_free_ char *got = NULL;
        struct stat st;
        size_t size;
        int r;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/node.json", dir);
        snprintf(other, sizeof(other), "%s/node.json.new", dir);
        put(path, "old\n");
        assert_int_equal(stat(path, &st), 0);

        switch (c->meanwhile) {
        case MEANWHILE_RENAMED_OVER:
                put(other, "editor's\n");
                assert_int_equal(rename(other, path), 0);
                break;
        case MEANWHILE_REWRITTEN:
                put(path, "rewritten\n");
                break;
        case MEANWHILE_REMOVED:
                assert_int_equal(unlink(path), 0);
                break;
        default:
                break;
        }

        r = write_file_atomic_full(path, "new\n", 4, 0644, (uid_t) -1, (gid_t) -1, &st);
        if (r != c->ret)
                fail_msg("%s: returned %d, want %d", c->name, r, c->ret);

        if (c->content) {
                assert_int_equal(read_full_file(path, 1024, &got, &size), 0);
                if (strcmp(got, c->content) != 0)
                        fail_msg("%s: the file holds '%s', want '%s'", c->name, got, c->content);
                assert_int_equal(unlink(path), 0);
        } else
                assert_int_equal(access(path, F_OK), -1);
        /* No temporary file left behind. */
        assert_int_equal(entries(dir), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(atomic_cases)];
        size_t n = 0;

        cmocka_set_message_output(CM_OUTPUT_TAP);
        TEST_ADD_TABLE(tests, n, atomic_cases, test_atomic);
        return test_run_group("atomic-write", tests, n);
}
