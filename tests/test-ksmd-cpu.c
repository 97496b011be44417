/* test-ksmd-cpu.c — parsing ksmd's CPU time from /proc/PID/stat, and finding ksmd in a fake /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "ksmd-cpu.h"
#include "macro.h"
#include "test-tables.h"

typedef struct StatCase {
        const char *name;
        const char *line;
        int ret;
        uint64_t ticks;
} StatCase;

/* Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ... */
static const StatCase stat_cases[] = {
        { .name = "ksmd as the kernel shows it",
          .line = "39 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 1234 5678 0 0 25 5 1 0 35 0 0 18446744073709551615\n",
          .ret = 0, .ticks = 6912 },
        { .name = "command with spaces and parentheses",
          .line = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0 0\n", .ret = 0, .ticks = 30 },
        { .name = "exactly up to stime, no newline",
          .line = "1 (x) S 0 0 0 0 0 0 0 0 0 0 3 4", .ret = 0, .ticks = 7 },
        { .name = "cut before stime", .line = "1 (x) S 0 0 0 0 0 0 0 0 0 0 3", .ret = -EINVAL },
        { .name = "no command", .line = "1 x S 0 0 0 0 0 0 0 0 0 0 3 4", .ret = -EINVAL },
        { .name = "utime not a number", .line = "1 (x) S 0 0 0 0 0 0 0 0 0 0 3a 4", .ret = -EINVAL },
        { .name = "negative stime", .line = "1 (x) S 0 0 0 0 0 0 0 0 0 0 3 -4", .ret = -EINVAL },
        { .name = "two spaces make an empty field", .line = "1 (x) S 0 0  0 0 0 0 0 0 0 3 4", .ret = -EINVAL },
        { .name = "sum overflows",
          .line = "1 (x) S 0 0 0 0 0 0 0 0 0 0 18446744073709551615 1", .ret = -EINVAL },
        { .name = "empty", .line = "", .ret = -EINVAL },
};

static void test_stat(void **state) {
        const StatCase *c = *state;
        uint64_t ticks = 0;
        int r;

        r = proc_stat_parse_cputime(c->line, &ticks);
        if (r != c->ret)
                fail_msg("%s: returned %d, want %d", c->name, r, c->ret);
        if (r == 0 && ticks != c->ticks)
                fail_msg("%s: %" PRIu64 " ticks, want %" PRIu64, c->name, ticks, c->ticks);
}

static void write_text(const char *dir, const char *name, const char *text) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_find_in_fake_proc(void **state) {
        char root[] = "/tmp/test-ksmd-cpu.XXXXXX", dir[512];
        pid_t pid = 0;
        uint64_t usec = 0;

        assert_non_null(mkdtemp(root));
        assert_int_equal(ksmd_find_pid(root, &pid), -ENOENT);

        snprintf(dir, sizeof(dir), "%s/1", root);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_text(dir, "comm", "systemd\n");
        snprintf(dir, sizeof(dir), "%s/self", root);
        assert_int_equal(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof(dir), "%s/39", root);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_text(dir, "comm", "ksmd\n");
        write_text(dir, "stat", "39 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 100 50 0 0 25 5 1 0 35\n");

        assert_int_equal(ksmd_find_pid(root, &pid), 0);
        assert_int_equal(pid, 39);
        assert_int_equal(ksmd_read_cpu_usec(root, pid, &usec), 0);
        assert_int_equal(usec, 150 * (1000000 / sysconf(_SC_CLK_TCK)));
        assert_int_equal(ksmd_read_cpu_usec(root, 40, &usec), -ESRCH);

        assert_int_equal(system(((void) snprintf(dir, sizeof(dir), "rm -rf '%s'", root), dir)), 0);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(stat_cases) + 1];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, stat_cases, test_stat);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_find_in_fake_proc);
        return _cmocka_run_group_tests("ksmd-cpu", tests, n, NULL, NULL);
}
