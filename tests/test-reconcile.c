/* test-reconcile.c — table tests of reconcile_decide(), and the seeds' three-node story. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "reconcile.h"
#include "test-tables.h"

#define WANT_ON { .run = true, .pages_to_scan = 100, .sleep_millisecs = 50 }
#define WANT_OFF { .run = false, .pages_to_scan = 64, .sleep_millisecs = 50 }
#define OURS(p, s) { .claimed = true, .have_saved = true, .saved_pages_to_scan = (p), .saved_sleep_millisecs = (s) }
#define NOT_OURS { .claimed = false }

/* An expected sysfs write; the zero value is "no write". */
typedef struct Write {
        bool set;
        int64_t value;
} Write;
#define WRITE(v) { .set = true, .value = (v) }

typedef enum RecordWrite {
        RECORD_WRITE_NONE,
        RECORD_WRITE_BEFORE,            /* before the sysfs writes */
        RECORD_WRITE_AFTER,             /* after them */
} RecordWrite;

typedef struct Case {
        const char *name;
        ReconcileInput in;
        KsmAction action;
        Write write_run, write_pages, write_sleep;
        bool claimed_after;
        RecordWrite record_write;
        const char *label;              /* NULL: absent */
        const char *annotation;         /* NULL: absent */
        Write write_advisor;            /* the advisor_mode written: 1 scan-time, 0 none */
} Case;

static const Case cases[] = {
        { .name = "no KSM in kernel: nothing, no label or annotation",
          .in = { .available = false, .selection = SELECTION_YES, .want = WANT_ON },
          .action = KSM_ACTION_NONE },
        { .name = "selected, off, no record: start and claim, saving old tuning first",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_NONE, .want = WANT_ON },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .write_sleep = WRITE(50), .claimed_after = true,
          .record_write = RECORD_WRITE_BEFORE, .label = "true", .annotation = "true" },
        { .name = "selected, not ours, someone unmerging (run=2): no write of run or tuning, label false",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_merged = true, .pages_to_scan = 300,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "false", .annotation = "false" },
        { .name = "selected, ours, someone unmerging (run=2): not switched back on, still claimed",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_merged = true, .pages_to_scan = 300,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "false", .annotation = "true" },
        { .name = "deselected, ours, someone unmerging (run=2): no restore yet, no record write",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_UNMERGING, .pages_merged = true, .pages_to_scan = 300,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "false", .annotation = "true" },
        { .name = "selected, no record, someone unmerging (run=2): the missing record is not written now",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_merged = true, .pages_to_scan = 300,
                  .sleep_millisecs = 20, .record_state = RECORD_NONE, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "false", .annotation = "false" },
        { .name = "run=2 and another writer held: still nothing written",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_merged = true, .pages_to_scan = 300,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON,
                  .hold = true },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "false", .annotation = "true" },
        { .name = "run=2 with nothing merged left (someone's unmerge is done), selected and ours: switched on again",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .claimed_after = true,
          .label = "true", .annotation = "true" },
        { .name = "run=2 with nothing merged left, selected, not ours: stopped KSM switched on and claimed",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_NONE, .want = WANT_ON },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .write_sleep = WRITE(50), .claimed_after = true,
          .record_write = RECORD_WRITE_BEFORE, .label = "true", .annotation = "true" },
        { .name = "run back to 0 after someone's unmerge, selected and ours: switched on again",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .claimed_after = true,
          .label = "true", .annotation = "true" },
        { .name = "selected, switched on by someone else: leave it, do not claim",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "true", .annotation = "false" },
        { .name = "selected, ours, running at wanted rate: nothing",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "true", .annotation = "true" },
        { .name = "selected, ours, rate differs: tune",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 400,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_TUNE, .write_pages = WRITE(100), .claimed_after = true, .label = "true",
          .annotation = "true" },
        { .name = "selected, ours, advisor locks pages_to_scan: never written",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 400,
                  .sleep_millisecs = 50, .pages_locked = true, .record_state = RECORD_VALID, .record = OURS(100, 20),
                  .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "true", .annotation = "true" },
        { .name = "selected, ours, switched off by hand (drift): switch back on",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .claimed_after = true, .label = "true",
          .annotation = "true" },
        { .name = "selected, ours, policy wants it off: stop, restore, release",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 64,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_OFF },
          .action = KSM_ACTION_RESTORE, .write_run = WRITE(0), .write_pages = WRITE(100),
          .write_sleep = WRITE(20), .record_write = RECORD_WRITE_AFTER, .label = "false",
          .annotation = "false" },
        { .name = "selected, not ours, off, policy wants it off: nothing",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_OFF },
          .action = KSM_ACTION_NONE, .label = "false", .annotation = "false" },
        { .name = "deselected, ours: stop and restore tuning",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(1000, 20), .want = WANT_ON },
          .action = KSM_ACTION_RESTORE, .write_run = WRITE(0), .write_pages = WRITE(1000),
          .write_sleep = WRITE(20), .record_write = RECORD_WRITE_AFTER, .label = "false",
          .annotation = "false" },
        { .name = "deselected, ours but already off: restore tuning only",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_RESTORE, .write_sleep = WRITE(20), .record_write = RECORD_WRITE_AFTER,
          .label = "false", .annotation = "false" },
        { .name = "deselected, not ours, running: touch nothing, label true",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "true", .annotation = "false" },
        { .name = "deselected, not ours, off: nothing",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "false", .annotation = "false" },
        { .name = "hold, ours, running: nothing, no record write",
          .in = { .available = true, .selection = SELECTION_HOLD, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "true", .annotation = "true" },
        { .name = "hold, no record: nothing, record not written before the annotation is known",
          .in = { .available = true, .selection = SELECTION_HOLD, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_NONE, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "false", .annotation = "false" },
        { .name = "corrupt record, annotation true, deselected: stop, tuning unknown so untouched",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_CORRUPT, .node_annotation = "true", .want = WANT_ON },
          .action = KSM_ACTION_RESTORE, .write_run = WRITE(0), .record_write = RECORD_WRITE_AFTER,
          .label = "false", .annotation = "false" },
        { .name = "corrupt record, annotation false, deselected: never switch off KSM it cannot prove it switched on",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_CORRUPT, .node_annotation = "false", .want = WANT_ON },
          .action = KSM_ACTION_NONE, .record_write = RECORD_WRITE_AFTER, .label = "true",
          .annotation = "false" },
        { .name = "corrupt record, no annotation, deselected: leave KSM on, repair the record",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_CORRUPT, .want = WANT_ON },
          .action = KSM_ACTION_NONE, .record_write = RECORD_WRITE_AFTER, .label = "true",
          .annotation = "false" },
        { .name = "corrupt record, annotation true, selected and running: keep ownership, repair the record",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_CORRUPT, .node_annotation = "true", .want = WANT_ON },
          .action = KSM_ACTION_NONE, .claimed_after = true, .record_write = RECORD_WRITE_AFTER,
          .label = "true", .annotation = "true" },
        { .name = "no record (state lost), annotation true, deselected: the annotation proves ownership",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_NONE, .node_annotation = "true", .want = WANT_ON },
          .action = KSM_ACTION_RESTORE, .write_run = WRITE(0), .record_write = RECORD_WRITE_AFTER,
          .label = "false", .annotation = "false" },
        { .name = "valid record wins over a stale annotation",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = NOT_OURS, .node_annotation = "true",
                  .want = WANT_ON },
          .action = KSM_ACTION_NONE, .label = "true", .annotation = "false" },
        { .name = "holding (another writer): ours, switched off by it: nothing written, node left alone",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 64,
                  .sleep_millisecs = 7, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON,
                  .have_node = true, .hold = true },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "false", .annotation = "true" },
        { .name = "holding: deselected, ours and running: not even restored until the other writer is quiet",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 64,
                  .sleep_millisecs = 7, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON,
                  .have_node = true, .hold = true },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "true", .annotation = "true" },
        { .name = "advisor wanted, not ours: start, the advisor on, pages_to_scan left to it",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS,
                  .want = { .run = true, .pages_to_scan = 100, .sleep_millisecs = 20 },
                  .has_advisor = true, .advisor = { .target_scan_time_sec = 200, .max_cpu = 70, .min_pages = 500,
                                                    .max_pages = 30000 },
                  .want_advisor = true, .advisor_want = { .scan_time = true, .target_scan_time_sec = 20,
                                                          .max_cpu = 30, .min_pages = 500, .max_pages = 30000 } },
          .action = KSM_ACTION_START, .write_run = WRITE(1), .claimed_after = true,
          .record_write = RECORD_WRITE_BEFORE, .write_advisor = WRITE(1), .label = "true", .annotation = "true" },
        { .name = "advisor ours, deselected: advisor back to none before pages_to_scan is restored",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 4321,
                  .sleep_millisecs = 20, .pages_locked = true, .record_state = RECORD_VALID,
                  .record = { .claimed = true, .have_saved = true, .saved_pages_to_scan = 100,
                              .saved_sleep_millisecs = 20, .have_saved_advisor = true,
                              .saved_advisor = { .target_scan_time_sec = 200, .max_cpu = 70, .min_pages = 500,
                                                 .max_pages = 30000 } },
                  .want = WANT_ON, .has_advisor = true,
                  .advisor = { .scan_time = true, .target_scan_time_sec = 20, .max_cpu = 30, .min_pages = 500,
                               .max_pages = 30000 } },
          .action = KSM_ACTION_RESTORE, .write_run = WRITE(0), .write_pages = WRITE(100),
          .record_write = RECORD_WRITE_AFTER, .write_advisor = WRITE(0), .label = "false", .annotation = "false" },
        { .name = "advisor on (someone's), Policy=always, ours: pages_to_scan never written",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 4321,
                  .sleep_millisecs = 50, .pages_locked = true, .record_state = RECORD_VALID, .record = OURS(100, 20),
                  .want = WANT_ON, .has_advisor = true, .advisor = { .scan_time = true } },
          .action = KSM_ACTION_NONE, .claimed_after = true, .label = "true", .annotation = "true" },
};

static void check_write(const char *name, const char *what, bool wrote, int64_t value, Write want) {
        if (wrote != want.set || (wrote && value != want.value))
                fail_msg("%s: %s write %lld, expected %lld", name, what, wrote ? (long long) value : -1LL,
                         want.set ? (long long) want.value : -1LL);
}

static void test_decide(void **state) {
        const Case *c = *state;
        ReconcileDecision d;
        RecordWrite record_write;

        reconcile_decide(&c->in, &d);

        record_write = d.record_write_before ? RECORD_WRITE_BEFORE :
                       d.record_write_after ? RECORD_WRITE_AFTER : RECORD_WRITE_NONE;
        if (d.action != c->action)
                fail_msg("%s: action %s, expected %s", c->name, ksm_action_to_string(d.action),
                         ksm_action_to_string(c->action));
        check_write(c->name, "run", d.write_run, d.run, c->write_run);
        check_write(c->name, "pages", d.write_pages, d.pages_to_scan, c->write_pages);
        check_write(c->name, "sleep", d.write_sleep, d.sleep_millisecs, c->write_sleep);
        check_write(c->name, "advisor_mode", d.write_advisor, d.advisor.scan_time, c->write_advisor);
        if (d.new_record.claimed != c->claimed_after)
                fail_msg("%s: claimed after %d, expected %d", c->name, d.new_record.claimed, c->claimed_after);
        if (record_write != c->record_write)
                fail_msg("%s: record write %d, expected %d", c->name, record_write, c->record_write);
        if (!streq_ptr(d.label, c->label))
                fail_msg("%s: label %s, expected %s", c->name, strna(d.label), strna(c->label));
        if (!streq_ptr(d.annotation, c->annotation))
                fail_msg("%s: annotation %s, expected %s", c->name, strna(d.annotation), strna(c->annotation));
        if (!d.reason)
                fail_msg("%s: no reason", c->name);
}

static void test_start_saves_tuning_before_write(void **state) {
        ReconcileInput in = {
                .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED,
                .pages_to_scan = 777, .sleep_millisecs = 33, .want = WANT_ON,
        };
        ReconcileDecision d;

        reconcile_decide(&in, &d);
        assert_true(d.record_write_before);
        assert_false(d.record_write_after);
        assert_true(d.new_record.have_saved);
        assert_int_equal(d.new_record.saved_pages_to_scan, 777);
        assert_int_equal(d.new_record.saved_sleep_millisecs, 33);
}

/* One simulated node: what sysfs holds and what the daemon persisted. */
typedef struct Node {
        const char *name;
        KsmRun run;
        uint32_t pages, sleep;
        RecordState record_state;
        Record record;
        const char *annotation;
        const char *label;
} Node;

static void step(Node *n, Selection sel) {
        ReconcileInput in = {
                .available = true, .selection = sel, .run = n->run,
                .pages_to_scan = n->pages, .sleep_millisecs = n->sleep,
                .record_state = n->record_state, .record = n->record,
                .node_annotation = n->annotation, .want = WANT_ON,
        };
        ReconcileDecision d;

        reconcile_decide(&in, &d);
        if (d.record_write_before || d.record_write_after) {
                n->record_state = RECORD_VALID;
                n->record = d.new_record;
        }
        if (d.write_pages)
                n->pages = d.pages_to_scan;
        if (d.write_sleep)
                n->sleep = d.sleep_millisecs;
        if (d.write_run)
                n->run = d.run;
        n->annotation = d.annotation;
        n->label = d.label;
}

/* The seeds' scenario: node01 has KSM switched on externally; the CR selects node02 and
 * node03; then ksmConfiguration is removed. Only node02 and node03 go back off, with their
 * scan settings restored; node01 keeps running. */
static void test_seeds_three_nodes(void **state) {
        Node nodes[] = {
                { "node01", KSM_RUN_MERGING, 100, 20, RECORD_NONE },
                { "node02", KSM_RUN_STOPPED, 100, 20, RECORD_NONE },
                { "node03", KSM_RUN_STOPPED, 222, 30, RECORD_NONE },
        };

        /* 1. No ksmConfiguration yet. */
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                step(&nodes[i], SELECTION_NO);
        assert_int_equal(nodes[0].run, KSM_RUN_MERGING);
        assert_string_equal(nodes[0].label, "true");
        assert_string_equal(nodes[0].annotation, "false");
        assert_int_equal(nodes[1].run, KSM_RUN_STOPPED);
        assert_string_equal(nodes[1].label, "false");

        /* 2. Selector In [node02, node03]. */
        step(&nodes[0], SELECTION_NO);
        step(&nodes[1], SELECTION_YES);
        step(&nodes[2], SELECTION_YES);
        assert_int_equal(nodes[0].run, KSM_RUN_MERGING);
        assert_string_equal(nodes[0].annotation, "false");
        for (size_t i = 1; i < 3; i++) {
                assert_int_equal(nodes[i].run, KSM_RUN_MERGING);
                assert_string_equal(nodes[i].label, "true");
                assert_string_equal(nodes[i].annotation, "true");
                assert_int_equal(nodes[i].sleep, 50);
        }

        /* A second pass changes nothing (idempotent). */
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                Node before = nodes[i];
                step(&nodes[i], i == 0 ? SELECTION_NO : SELECTION_YES);
                assert_int_equal(before.run, nodes[i].run);
                assert_int_equal(before.sleep, nodes[i].sleep);
        }

        /* 3. ksmConfiguration removed. */
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                step(&nodes[i], SELECTION_NO);
        assert_int_equal(nodes[0].run, KSM_RUN_MERGING);
        assert_string_equal(nodes[0].label, "true");
        assert_int_equal(nodes[1].run, KSM_RUN_STOPPED);
        assert_int_equal(nodes[1].pages, 100);
        assert_int_equal(nodes[1].sleep, 20);
        assert_string_equal(nodes[1].annotation, "false");
        assert_string_equal(nodes[1].label, "false");
        assert_int_equal(nodes[2].run, KSM_RUN_STOPPED);
        assert_int_equal(nodes[2].pages, 222);
        assert_int_equal(nodes[2].sleep, 30);
        assert_string_equal(nodes[2].label, "false");
}

/* A crash between the record write and the sysfs write: the next start finishes the job. */
static void test_crash_between_record_and_sysfs(void **state) {
        Node n = { "node02", KSM_RUN_STOPPED, 100, 20, RECORD_NONE };
        ReconcileInput in = {
                .available = true, .selection = SELECTION_YES, .run = n.run, .pages_to_scan = n.pages,
                .sleep_millisecs = n.sleep, .record_state = RECORD_NONE, .want = WANT_ON,
        };
        ReconcileDecision d;

        reconcile_decide(&in, &d);
        assert_true(d.record_write_before);
        /* Persisted, then crashed: sysfs untouched. */
        n.record_state = RECORD_VALID;
        n.record = d.new_record;

        /* Restart while deselected: the claim is honoured, saved tuning restored, nothing left on. */
        step(&n, SELECTION_NO);
        assert_int_equal(n.run, KSM_RUN_STOPPED);
        assert_int_equal(n.pages, 100);
        assert_int_equal(n.sleep, 20);
        assert_false(n.record.claimed);
}

static void test_strings(void **state) {
        for (int a = 0; a < _KSM_ACTION_MAX; a++)
                assert_non_null(ksm_action_to_string(a));
        assert_null(ksm_action_to_string(_KSM_ACTION_MAX));
        assert_null(ksm_action_to_string(_KSM_ACTION_INVALID));
        for (int s = 0; s < _SELECTION_MAX; s++)
                assert_non_null(selection_to_string(s));
}

typedef struct ExplainCase {
        const char *name;
        ReconcileInput in;
        const char *conflict;
        const char *want;
} ExplainCase;

#define WHY "selected by the nodeLabelSelector of KubeVirt kubevirt/kubevirt"

static const ExplainCase explain_cases[] = {
        { .name = "selected, ours",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 50, .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .want = WHY },
        { .name = "selected, someone else's KSM",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .want = WHY "; KSM was switched on by someone else: not claimed" },
        { .name = "selected, the policy keeps it off",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_OFF },
          .want = WHY "; the policy keeps KSM off for now (no memory pressure)" },
        { .name = "not selected, someone else's KSM left on",
          .in = { .available = true, .selection = SELECTION_NO, .run = KSM_RUN_MERGING, .pages_to_scan = 100,
                  .sleep_millisecs = 20, .record_state = RECORD_VALID, .record = NOT_OURS, .want = WANT_ON },
          .want = WHY "; KSM was switched on by someone else and is left on" },
        { .name = "no KSM in the kernel",
          .in = { .available = false, .selection = SELECTION_YES, .want = WANT_ON },
          .want = "KSM is not available in this kernel" },
        { .name = "someone unmerging: said so",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_UNMERGING, .pages_merged = true,
                  .record_state = RECORD_VALID, .record = OURS(100, 20), .want = WANT_ON },
          .want = WHY "; KSM is unmerging (run=2, written outside this daemon): left alone until it is done" },
        { .name = "holding: the conflict comes first",
          .in = { .available = true, .selection = SELECTION_YES, .run = KSM_RUN_STOPPED, .record_state = RECORD_VALID,
                  .record = OURS(100, 20), .want = WANT_ON, .hold = true },
          .conflict = "run changed from 1 to 0",
          .want = "another writer changed what this daemon manages (run changed from 1 to 0): holding until it is quiet" },
};

static void test_explain(void **state) {
        const ExplainCase *c = *state;
        ReconcileDecision d;
        char *s;

        reconcile_decide(&c->in, &d);
        s = reconcile_explain(&c->in, &d, WHY, c->conflict);
        assert_non_null(s);
        if (!streq(s, c->want))
                fail_msg("%s: \"%s\", want \"%s\"", c->name, s, c->want);
        free(s);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(cases) + ELEMENTSOF(explain_cases) + 4];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, cases, test_decide);
        TEST_ADD_TABLE(tests, n, explain_cases, test_explain);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_start_saves_tuning_before_write);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_seeds_three_nodes);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_crash_between_record_and_sysfs);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_strings);

        return test_run_group("reconcile", tests, n);
}
