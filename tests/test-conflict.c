/* test-conflict.c — noticing another writer (conflict_detect) and the correct-once-then-hold rule (conflict_step). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "conflict.h"
#include "macro.h"
#include "test-tables.h"

#define SEC UINT64_C(1000000)
#define LABEL "kubevirt.io/ksm-enabled"
#define ANN "kubevirt.io/ksm-handler-managed"

/* run, pages, sleep, label, annotation; all known. */
#define V(r, p, s, l, a) { .has_run = true, .has_pages = true, .has_sleep = true, .has_label = true, \
                           .has_annotation = true, .run = (r), .pages_to_scan = (p), .sleep_millisecs = (s), \
                           .label = (l), .annotation = (a) }

typedef struct DetectCase {
        const char *name;
        OwnedValues wrote, before, now;
        const char *label_manager, *annotation_manager;
        const char *what;               /* NULL: no foreign change */
} DetectCase;

static const DetectCase detect_cases[] = {
        { .name = "nothing changed",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 100, 20, "true", "true") },
        { .name = "our own write is no conflict",
          .wrote = V(1, 500, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 500, 20, "true", "true") },
        { .name = "run switched off by someone else",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(0, 100, 20, "true", "true"), .what = "run changed from 1 to 0" },
        { .name = "scan rate changed by someone else",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 50, 33, "true", "true"),
          .what = "pages_to_scan changed from 100 to 50; sleep_millisecs changed from 20 to 33" },
        { .name = "annotation rewritten, manager named",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 100, 20, "true", "false"), .annotation_manager = "virt-handler",
          .what = "annotation " ANN " changed from true to false by virt-handler" },
        { .name = "label rewritten, no managedFields",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 100, 20, "false", "true"),
          .what = "label " LABEL " changed from true to false" },
        { .name = "label removed: put back, no conflict",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 100, 20, NULL, "true") },
        { .name = "unchanged since last seen, even if not ours (already counted)",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(0, 100, 20, "true", "true"),
          .now = V(0, 100, 20, "true", "true") },
        { .name = "nothing seen before: no comparison",
          .wrote = V(1, 100, 20, "true", "true"), .before = { 0 },
          .now = V(0, 7, 7, "false", "false") },
        { .name = "nothing written yet: a change is still someone else's",
          .wrote = { 0 }, .before = V(1, 100, 20, "true", "true"),
          .now = V(1, 100, 20, "true", "false"), .what = "annotation " ANN " changed from true to false" },
        { .name = "values not owned now are not compared",
          .wrote = V(1, 100, 20, "true", "true"), .before = V(1, 100, 20, "true", "true"),
          .now = { .has_label = true, .has_annotation = true, .label = "true", .annotation = "true" } },
};

static void test_detect(void **state) {
        const DetectCase *c = *state;
        char *what = NULL;
        int r;

        r = conflict_detect(&c->wrote, &c->before, &c->now, LABEL, c->label_manager, ANN, c->annotation_manager, &what);
        if (r != (c->what ? 1 : 0))
                fail_msg("%s: returned %d", c->name, r);
        if (!streq_ptr(what, c->what))
                fail_msg("%s: \"%s\", want \"%s\"", c->name, strna(what), strna(c->what));
        free(what);
}

typedef struct StepRow {
        uint64_t t_sec;
        bool foreign;
        ConflictStep want;
} StepRow;

typedef struct StepCase {
        const char *name;
        StepRow rows[8];
} StepCase;

/* quiet = 100 s */
static const StepCase step_cases[] = {
        { .name = "nobody else",
          .rows = { { 1, false, CONFLICT_NONE }, { 500, false, CONFLICT_NONE } } },
        { .name = "one change: corrected, then forgotten",
          .rows = { { 10, true, CONFLICT_CORRECT }, { 50, false, CONFLICT_NONE }, { 200, true, CONFLICT_CORRECT } } },
        { .name = "again within the quiet time: hold, then leave when quiet",
          .rows = { { 10, true, CONFLICT_CORRECT }, { 20, true, CONFLICT_ENTER }, { 60, false, CONFLICT_HOLD },
                    { 110, false, CONFLICT_HOLD }, { 121, false, CONFLICT_LEAVE }, { 130, false, CONFLICT_NONE } } },
        { .name = "the other writer keeps going: holding restarts the quiet time",
          .rows = { { 10, true, CONFLICT_CORRECT }, { 20, true, CONFLICT_ENTER }, { 90, true, CONFLICT_HOLD },
                    { 150, false, CONFLICT_HOLD }, { 190, false, CONFLICT_LEAVE } } },
        { .name = "after leaving, one correction again before holding",
          .rows = { { 10, true, CONFLICT_CORRECT }, { 20, true, CONFLICT_ENTER }, { 130, false, CONFLICT_LEAVE },
                    { 140, true, CONFLICT_CORRECT }, { 150, true, CONFLICT_ENTER } } },
};

static void test_step(void **state) {
        const StepCase *c = *state;
        ConflictState s = {};

        for (size_t i = 0; i < ELEMENTSOF(c->rows) && c->rows[i].t_sec; i++) {
                ConflictStep got = conflict_step(&s, c->rows[i].t_sec * SEC, c->rows[i].foreign, 100 * SEC);

                if (got != c->rows[i].want)
                        fail_msg("%s, at %" PRIu64 " s: %s, want %s", c->name, c->rows[i].t_sec,
                                 conflict_step_to_string(got), conflict_step_to_string(c->rows[i].want));
                if (s.holding != (got == CONFLICT_ENTER || got == CONFLICT_HOLD))
                        fail_msg("%s, at %" PRIu64 " s: holding %d after %s", c->name, c->rows[i].t_sec, s.holding,
                                 conflict_step_to_string(got));
        }
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(detect_cases) + ELEMENTSOF(step_cases)];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, detect_cases, test_detect);
        TEST_ADD_TABLE(tests, n, step_cases, test_step);
        return test_run_group("conflict", tests, n);
}
