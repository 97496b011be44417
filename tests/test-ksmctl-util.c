/* test-ksmctl-util.c — table tests of kubevirt-ksmctl's pure decisions: option values, colour, suggestions, name lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ksmctl-util.h"
#include "macro.h"
#include "test-tables.h"

typedef struct JsonCase {
        const char *name;
        const char *in;
        JsonMode want;
} JsonCase;

static const JsonCase json_cases[] = {
        { "json: a bare --json is pretty", NULL, JSON_PRETTY },
        { "json: pretty", "pretty", JSON_PRETTY },
        { "json: short", "short", JSON_SHORT },
        { "json: off", "off", JSON_OFF },
        { "json: empty value refused", "", _JSON_MODE_INVALID },
        { "json: case matters (systemd's spelling)", "Pretty", _JSON_MODE_INVALID },
        { "json: a prefix is no mode", "sho", _JSON_MODE_INVALID },
        { "json: yes is no mode", "yes", _JSON_MODE_INVALID },
};

static void test_json_mode(void **state) {
        const JsonCase *c = *state;
        JsonMode m = json_mode_from_string(c->in);

        if (m != c->want)
                fail_msg("%s: got %d, want %d", c->name, m, c->want);
        if (m >= 0 && c->in && strcmp(json_mode_to_string(m), c->in) != 0)
                fail_msg("%s: does not round-trip", c->name);
}

typedef struct FormatCase {
        const char *name;
        const char *in;
        StatsFormat want;
} FormatCase;

static const FormatCase format_cases[] = {
        { "format: table", "table", STATS_FORMAT_TABLE },
        { "format: json", "json", STATS_FORMAT_JSON },
        { "format: prometheus", "prometheus", STATS_FORMAT_PROMETHEUS },
        { "format: missing value", NULL, _STATS_FORMAT_INVALID },
        { "format: csv refused", "csv", _STATS_FORMAT_INVALID },
        { "format: trailing space refused", "json ", _STATS_FORMAT_INVALID },
};

static void test_stats_format(void **state) {
        const FormatCase *c = *state;
        StatsFormat f = stats_format_from_string(c->in);

        if (f != c->want)
                fail_msg("%s: got %d, want %d", c->name, f, c->want);
        if (f >= 0 && strcmp(stats_format_to_string(f), c->in) != 0)
                fail_msg("%s: does not round-trip", c->name);
}

typedef struct ColorCase {
        const char *name;
        const char *no_color, *systemd_colors, *term;
        bool tty, want;
} ColorCase;

static const ColorCase color_cases[] = {
        { "color: a terminal", NULL, NULL, "xterm", true, true },
        { "color: not a terminal", NULL, NULL, "xterm", false, false },
        { "color: NO_COLOR=1 on a terminal", "1", NULL, "xterm", true, false },
        { "color: NO_COLOR empty still counts", "", NULL, "xterm", true, false },
        { "color: NO_COLOR wins over SYSTEMD_COLORS=1", "1", "1", "xterm", true, false },
        { "color: SYSTEMD_COLORS=0 on a terminal", NULL, "0", "xterm", true, false },
        { "color: SYSTEMD_COLORS=no on a terminal", NULL, "no", "xterm", true, false },
        { "color: SYSTEMD_COLORS=1 forces it into a pipe", NULL, "1", "xterm", false, true },
        { "color: SYSTEMD_COLORS=true forces it even for a dumb terminal", NULL, "true", "dumb", false, true },
        { "color: SYSTEMD_COLORS=256 follows the terminal (on)", NULL, "256", "xterm", true, true },
        { "color: SYSTEMD_COLORS=256 follows the terminal (off)", NULL, "256", "xterm", false, false },
        { "color: TERM=dumb", NULL, NULL, "dumb", true, false },
        { "color: TERM unset", NULL, NULL, NULL, true, false },
        { "color: TERM empty", NULL, NULL, "", true, false },
};

static void test_color(void **state) {
        const ColorCase *c = *state;
        bool got = color_wanted(c->no_color, c->systemd_colors, c->term, c->tty);

        if (got != c->want)
                fail_msg("%s: got %d, want %d", c->name, got, c->want);
}

typedef struct DistanceCase {
        const char *name;
        const char *a, *b;
        size_t want;
} DistanceCase;

static const DistanceCase distance_cases[] = {
        { "distance: equal", "status", "status", 0 },
        { "distance: both empty", "", "", 0 },
        { "distance: from empty", "", "show", 4 },
        { "distance: to empty", "show", "", 4 },
        { "distance: one deletion", "statuss", "status", 1 },
        { "distance: a transposition is two", "statsu", "status", 2 },
        { "distance: one insertion", "stat", "stats", 1 },
        { "distance: one substitution", "shaw", "show", 1 },
        { "distance: transposition is two", "shwo", "show", 2 },
        { "distance: unrelated", "frobnicate", "status", 9 },
};

static void test_edit_distance(void **state) {
        const DistanceCase *c = *state;
        size_t d = edit_distance(c->a, c->b);

        if (d != c->want)
                fail_msg("%s: got %zu, want %zu", c->name, d, c->want);
        if (edit_distance(c->b, c->a) != d)
                fail_msg("%s: not symmetric", c->name);
}

static const char *const verb_names[] = {
        "status", "show", "stats", "reconcile", "unmerge", "monitor", "help", NULL
};

typedef struct SuggestCase {
        const char *name;
        const char *word;
        const char *want;
} SuggestCase;

static const SuggestCase suggest_cases[] = {
        { "suggest: missing letter", "reconcle", "reconcile" },
        { "suggest: swapped letters", "unmegre", "unmerge" },
        { "suggest: extra letter", "statsu", "stats" },
        { "suggest: nearest wins", "stat", "stats" },
        { "suggest: wrong case is a typo too", "Status", "status" },
        { "suggest: too far", "frobnicate", NULL },
        { "suggest: short words get nothing wild", "x", NULL },
        { "suggest: two letters two edits from help: not offered (as far as its length)", "he", NULL },
        { "suggest: empty word", "", NULL },
};

static void test_suggest(void **state) {
        const SuggestCase *c = *state;
        const char *got = suggest_word(c->word, verb_names);

        if (!streq_ptr(got, c->want))
                fail_msg("%s: got %s, want %s", c->name, strna(got), strna(c->want));
}

typedef struct SplitCase {
        const char *name;
        const char *first, *second;
        const char *want;               /* the list joined with '|' */
} SplitCase;

static const SplitCase split_cases[] = {
        { "split: one name", "Running", NULL, "Running" },
        { "split: a comma list", "Running,Managed", NULL, "Running|Managed" },
        { "split: empty names dropped", ",Running,,Managed,", NULL, "Running|Managed" },
        { "split: appended across calls", "A,B", "C", "A|B|C" },
        { "split: nothing", "", NULL, "" },
        { "split: only commas", ",,,", "", "" },
};

static void test_split(void **state) {
        const SplitCase *c = *state;
        _cleanup_strv_free_ char **l = NULL;
        char joined[256] = "";

        assert_int_equal(strv_split_append(&l, c->first), 0);
        if (c->second)
                assert_int_equal(strv_split_append(&l, c->second), 0);
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        strcat(joined, "|");
                strcat(joined, l[i]);
        }
        if (!streq(joined, c->want))
                fail_msg("%s: got '%s', want '%s'", c->name, joined, c->want);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(json_cases) + ELEMENTSOF(format_cases) + ELEMENTSOF(color_cases) +
                                ELEMENTSOF(distance_cases) + ELEMENTSOF(suggest_cases) + ELEMENTSOF(split_cases)];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, json_cases, test_json_mode);
        TEST_ADD_TABLE(tests, n, format_cases, test_stats_format);
        TEST_ADD_TABLE(tests, n, color_cases, test_color);
        TEST_ADD_TABLE(tests, n, distance_cases, test_edit_distance);
        TEST_ADD_TABLE(tests, n, suggest_cases, test_suggest);
        TEST_ADD_TABLE(tests, n, split_cases, test_split);
        return test_run_group("ksmctl-util", tests, n);
}
