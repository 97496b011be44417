/* test-log.c — repeated identical log lines: the first ones go out, the rest are counted and told once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "log.h"
#include "macro.h"
#include "test-tables.h"
#include "util.h"

/* The rate limiter reads CLOCK_BOOTTIME through clock_gettime(); the test links with
 * -Wl,--wrap=clock_gettime and sets that clock by hand. Every other clock is the real one. */
static uint64_t fake_boottime_usec = 1000 * USEC_PER_SEC;
int __real_clock_gettime(clockid_t c, struct timespec *ts);
int __wrap_clock_gettime(clockid_t c, struct timespec *ts) {
        if (c != CLOCK_BOOTTIME)
                return __real_clock_gettime(c, ts);
        ts->tv_sec = (time_t) (fake_boottime_usec / USEC_PER_SEC);
        ts->tv_nsec = (long) (fake_boottime_usec % USEC_PER_SEC * NSEC_PER_USEC);
        return 0;
}

typedef enum StepKind {
        STEP_LOG,               /* log_internal() from call site `site` */
        STEP_ACTION,            /* a log_action() record */
        STEP_FLUSH,             /* log_ratelimit_flush(), as at exit */
} StepKind;

typedef struct Step {
        uint64_t at_ms;         /* since the case started, on CLOCK_BOOTTIME */
        StepKind kind;
        int level;
        int site;               /* the line number the call claims */
        const char *text;
        unsigned times;         /* how many copies at that instant (0: 1) */
} Step;

typedef struct RatelimitCase {
        const char *name;
        unsigned burst;
        uint64_t interval_sec;
        Step steps[8];
        const char *expect;     /* everything written to stderr */
} RatelimitCase;

#define W LOG_WARNING
static const RatelimitCase ratelimit_cases[] = {
        { .name = "the first five go out, three are told after the interval",
          .burst = 5, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "API server unreachable", 8 },
                     { 31000, STEP_LOG, W, 2, "something else" } },
          .expect = "<warning> API server unreachable\n<warning> API server unreachable\n"
                    "<warning> API server unreachable\n<warning> API server unreachable\n"
                    "<warning> API server unreachable\n"
                    "<warning> Suppressed 3 similar messages in the last 31 s: \"API server unreachable\"\n"
                    "<warning> something else\n" },
        { .name = "a new interval lets the first ones out again",
          .burst = 2, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "retrying", 4 }, { 40000, STEP_LOG, W, 1, "retrying", 3 },
                     { 40000, STEP_FLUSH } },
          .expect = "<warning> retrying\n<warning> retrying\n"
                    "<warning> Suppressed 2 similar messages in the last 40 s: \"retrying\"\n"
                    "<warning> retrying\n<warning> retrying\n"
                    "<warning> Suppressed 1 similar messages in the last 0 s: \"retrying\"\n" },
        { .name = "still inside the interval: still held back",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "down" }, { 29000, STEP_LOG, W, 1, "down" }, { 29999, STEP_FLUSH } },
          .expect = "<warning> down\n<warning> Suppressed 1 similar messages in the last 30 s: \"down\"\n" },
        { .name = "a different text is a different message: every state change is told",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, LOG_INFO, 1, "label true" }, { 1, STEP_LOG, LOG_INFO, 1, "label false" },
                     { 2, STEP_LOG, LOG_INFO, 1, "label true, again" } },
          .expect = "<info> label true\n<info> label false\n<info> label true, again\n" },
        { .name = "the same text from another call site is another message",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "failed" }, { 0, STEP_LOG, W, 2, "failed" } },
          .expect = "<warning> failed\n<warning> failed\n" },
        { .name = "the same text at another level is another message",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "failed" }, { 0, STEP_LOG, LOG_ERR, 1, "failed" } },
          .expect = "<warning> failed\n<err> failed\n" },
        { .name = "debug lines are never held back",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, LOG_DEBUG, 1, "tick", 4 }, { 0, STEP_FLUSH } },
          .expect = "<debug> tick\n<debug> tick\n<debug> tick\n<debug> tick\n" },
        { .name = "KSM action records are never held back",
          .burst = 1, .interval_sec = 30,
          .steps = { { 0, STEP_ACTION, LOG_NOTICE, 1, "switching KSM on", 3 }, { 0, STEP_FLUSH } },
          .expect = "<notice> switching KSM on [action=start run=merging]\n"
                    "<notice> switching KSM on [action=start run=merging]\n"
                    "<notice> switching KSM on [action=start run=merging]\n" },
        { .name = "nothing held back: a flush says nothing",
          .burst = 5, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "once", 5 }, { 100000, STEP_FLUSH } },
          .expect = "<warning> once\n<warning> once\n<warning> once\n<warning> once\n<warning> once\n" },
        { .name = "burst 0 turns the limit off",
          .burst = 0, .interval_sec = 30,
          .steps = { { 0, STEP_LOG, W, 1, "x", 3 }, { 0, STEP_FLUSH } },
          .expect = "<warning> x\n<warning> x\n<warning> x\n" },
        { .name = "the summary quotes a long message cut short",
          .burst = 1, .interval_sec = 1,
          .steps = { { 0, STEP_LOG, W, 1,
                       "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                       "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                       "tail", 2 },
                     { 1000, STEP_FLUSH } },
          .expect = "<warning> 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789tail\n"
                    "<warning> Suppressed 1 similar messages in the last 1 s: \""
                    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
                    "012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678\"\n" },
};
#undef W

/* Runs fn with stderr sent to a temporary file; returns what was written (malloc'd). */
static char *capture_stderr(void (*fn)(const void *), const void *arg) {
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);
        char *buf;
        long n;

        assert_non_null(f);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
        fn(arg);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);

        n = ftell(f);
        assert_true(n >= 0);
        buf = calloc(1, (size_t) n + 1);
        assert_non_null(buf);
        rewind(f);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        return buf;
}

static void run_steps(const void *arg) {
        const RatelimitCase *c = arg;
        uint64_t t0 = fake_boottime_usec;

        log_set_ratelimit(c->interval_sec * USEC_PER_SEC, c->burst);
        for (const Step *s = c->steps; s < c->steps + ELEMENTSOF(c->steps) && (s->text || s->kind == STEP_FLUSH); s++) {
                fake_boottime_usec = t0 + s->at_ms * 1000;
                if (s->kind == STEP_FLUSH) {
                        log_ratelimit_flush();
                        break;
                }
                for (unsigned i = 0; i < (s->times ?: 1); i++)
                        (void) log_internal(s->level, 0, "test-log.c", s->site, "run_steps", NULL,
                                            s->kind == STEP_ACTION ? "start" : NULL,
                                            s->kind == STEP_ACTION ? "merging" : NULL, "%s", s->text);
        }
        /* The next case starts an hour later, with nothing pending from this one. */
        fake_boottime_usec = t0 + 3600 * USEC_PER_SEC;
        log_set_ratelimit(c->interval_sec * USEC_PER_SEC, c->burst);
}

static void test_ratelimit(void **state) {
        const RatelimitCase *c = *state;
        _cleanup_free_ char *out = capture_stderr(run_steps, c);

        if (strcmp(out, c->expect) != 0)
                fail_msg("%s:\n--- got\n%s--- want\n%s", c->name, out, c->expect);
}

/* More different messages in one interval than the limiter has slots: the oldest count is told
 * when its slot is taken, and nothing is lost or told twice. */
static void many_messages(const void *arg) {
        log_set_ratelimit(30 * USEC_PER_SEC, 1);
        (void) log_internal(LOG_WARNING, 0, "f", 1, "f", NULL, NULL, NULL, "first");
        (void) log_internal(LOG_WARNING, 0, "f", 1, "f", NULL, NULL, NULL, "first");
        for (int i = 0; i < 100; i++) {
                fake_boottime_usec += 1000;
                (void) log_internal(LOG_WARNING, 0, "f", 1, "f", NULL, NULL, NULL, "message %d", i);
        }
        log_ratelimit_flush();
}

static void test_many_messages(void **state) {
        _cleanup_free_ char *out = capture_stderr(many_messages, NULL);
        const char *summary = "<warning> Suppressed 1 similar messages in the last 0 s: \"first\"\n";
        const char *p;
        unsigned lines = 0;

        for (p = out; *p; p++)
                lines += *p == '\n';
        assert_int_equal(lines, 1 + 1 + 100);
        p = strstr(out, summary);
        assert_non_null(p);
        assert_null(strstr(p + 1, summary));
        assert_non_null(strstr(out, "<warning> message 99\n"));
}

/* %m is the error given, also in a line that is held back and in one that goes out after. */
static void errno_lines(const void *arg) {
        log_set_ratelimit(30 * USEC_PER_SEC, 1);
        errno = 0;
        for (int i = 0; i < 3; i++)
                assert_int_equal(log_internal(LOG_ERR, ENOENT, "f", 9, "f", NULL, NULL, NULL, "open: %m"), -ENOENT);
        assert_int_equal(errno, 0);
        (void) log_internal(LOG_ERR, -EACCES, "f", 9, "f", NULL, NULL, NULL, "open: %m");
        log_ratelimit_flush();
}

static void test_errno(void **state) {
        _cleanup_free_ char *out = capture_stderr(errno_lines, NULL);
        _cleanup_free_ char *want = strdup_printf("<err> open: %s\n<err> open: %s\n"
                                                  "<err> Suppressed 2 similar messages in the last 0 s: \"open: %s\"\n",
                                                  strerror(ENOENT), strerror(EACCES), strerror(ENOENT));

        assert_string_equal(out, want);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(ratelimit_cases) + 3];
        size_t n = 0;

        log_setup(LOG_TARGET_STDERR);
        log_set_max_level(LOG_DEBUG);
        cmocka_set_message_output(CM_OUTPUT_TAP);
        TEST_ADD_TABLE(tests, n, ratelimit_cases, test_ratelimit);
        tests[n++] = (struct CMUnitTest) { .name = "more messages than slots", .test_func = test_many_messages };
        tests[n++] = (struct CMUnitTest) { .name = "%m is the given error", .test_func = test_errno };
        return test_run_group("log", tests, n);
}
