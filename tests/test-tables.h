/* SPDX-License-Identifier: Apache-2.0 */
/* test-tables.h — what the cmocka table-driven tests share: registering a table of cases as
 * tests, running them, and parsing a case's JSON text. Include after <cmocka.h> and <json-c/json.h>. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* TEST_ADD_TABLE(TESTS, N, TABLE, FN): appends one test per row of TABLE to the array TESTS at
 * index N (advanced), each named after the row and handed the row as its initial state. */
#define TEST_ADD_TABLE(tests, n, table, fn)                                     \
        for (size_t _i = 0; _i < ELEMENTSOF(table); _i++)                       \
                (tests)[(n)++] = (struct CMUnitTest) {                          \
                        .name = (table)[_i].name,                               \
                        .test_func = (fn),                                      \
                        .initial_state = (void *) &(table)[_i],                 \
                }

/* Runs TESTS[0..N) as the group GROUP. Cases are reported by name only, so a name used twice is a
 * mistake in the tables: it aborts before anything runs. Returns what cmocka returns. */
static inline int test_run_group(const char *group, const struct CMUnitTest *tests, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(tests[i].name, tests[j].name) == 0) {
                                fprintf(stderr, "%s: test name used twice: %s\n", group, tests[i].name);
                                abort();
                        }
        return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

/* Parses JSON text from a table; NULL text is a NULL pointer (which is also what "null" gives).
 * Bad JSON is a mistake in the table and fails the case with its name. */
static inline json_object *test_parse_json(const char *case_name, const char *text) {
        enum json_tokener_error e;
        json_object *o;

        if (!text)
                return NULL;
        o = json_tokener_parse_verbose(text, &e);
        if (e != json_tokener_success)
                fail_msg("%s: bad JSON in the test table: %s", case_name, json_tokener_error_desc(e));
        return o;
}
