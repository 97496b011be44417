/* test-selector.c — table tests of label selector parsing, validation and matching (metav1.LabelSelector). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "macro.h"
#include "test-tables.h"
#include "selector.h"

/* Long names built at compile time: S63/S64 are label names of 63 and 64 characters, D253/D254
 * are DNS-1123 subdomains of 253 and 254 characters. */
#define S8 "abcdefgh"
#define S56 S8 S8 S8 S8 S8 S8 S8
#define S63 S56 "abcdefg"
#define S64 S56 S8
#define D10 "abcdefghi."
#define D50 D10 D10 D10 D10 D10
#define D253 D50 D50 D50 D50 D50 "xyz"
#define D254 D50 D50 D50 D50 D50 "wxyz"
#define S320 S64 S64 S64 S64 S64

#define SEED_HOSTNAME \
        "{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":\"In\"," \
        "\"values\":[\"node01\",\"node03\"]}]}"
#define SEED_TWO_LABELS \
        "{\"matchLabels\":{\"kubevirt.io/first-label\":\"true\",\"kubevirt.io/second-label\":\"true\"}}"
#define ZONE_A_NO_GPU \
        "{\"matchLabels\":{\"zone\":\"a\"},\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}"


typedef struct MatchCase {
        const char *name;
        const char *selector;   /* JSON text; NULL: a NULL pointer */
        const char *labels;     /* JSON text; NULL: a node without labels */
        bool match;
} MatchCase;

static const MatchCase match_cases[] = {
        /* The seeds' examples. */
        { "seed: hostname In [node01,node03] selects node01",
          SEED_HOSTNAME, "{\"kubernetes.io/hostname\":\"node01\",\"kubernetes.io/os\":\"linux\"}", true },
        { "seed: hostname In [node01,node03] skips node02",
          SEED_HOSTNAME, "{\"kubernetes.io/hostname\":\"node02\",\"kubernetes.io/os\":\"linux\"}", false },
        { "seed: hostname In [node01,node03] selects node03",
          SEED_HOSTNAME, "{\"kubernetes.io/hostname\":\"node03\"}", true },
        { "seed: hostname In [node01,node03] skips a node without the hostname label",
          SEED_HOSTNAME, "{\"kubernetes.io/os\":\"linux\"}", false },
        { "seed: hostname In [node01,node03] skips a node without labels",
          SEED_HOSTNAME, NULL, false },
        { "seed: first-label and second-label, node has both",
          SEED_TWO_LABELS, "{\"kubevirt.io/first-label\":\"true\",\"kubevirt.io/second-label\":\"true\",\"x\":\"y\"}", true },
        { "seed: first-label and second-label, node has only the first",
          SEED_TWO_LABELS, "{\"kubevirt.io/first-label\":\"true\"}", false },
        { "seed: first-label and second-label, node has only the second",
          SEED_TWO_LABELS, "{\"kubevirt.io/second-label\":\"true\"}", false },
        { "seed: first-label and second-label, node has neither",
          SEED_TWO_LABELS, "{\"kubernetes.io/hostname\":\"node01\"}", false },
        { "seed: first-label and second-label, one is \"false\"",
          SEED_TWO_LABELS, "{\"kubevirt.io/first-label\":\"false\",\"kubevirt.io/second-label\":\"true\"}", false },
        { "seed: matchLabels values are case-sensitive",
          SEED_TWO_LABELS, "{\"kubevirt.io/first-label\":\"True\",\"kubevirt.io/second-label\":\"true\"}", false },
        { "seed: {} selects a node without labels", "{}", NULL, true },
        { "seed: {} selects a node with empty labels", "{}", "{}", true },
        { "seed: {} selects a node with labels", "{}", "{\"kubernetes.io/hostname\":\"node02\"}", true },
        { "seed: null selector selects nothing", "null", "{\"kubernetes.io/hostname\":\"node01\"}", false },
        { "seed: null selector skips a node without labels", "null", NULL, false },
        { "NULL selector pointer selects nothing", NULL, "{}", false },

        /* Operators. */
        { "NotIn selects a node lacking the key",
          "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", "{\"other\":\"a\"}", true },
        { "NotIn selects a node without labels",
          "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", NULL, true },
        { "NotIn skips a node with a listed value",
          "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\",\"b\"]}]}", "{\"zone\":\"b\"}", false },
        { "NotIn selects a node with another value",
          "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\",\"b\"]}]}", "{\"zone\":\"c\"}", true },
        { "DoesNotExist selects a node lacking the key",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}", "{\"zone\":\"a\"}", true },
        { "DoesNotExist skips a node with the key",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}", "{\"gpu\":\"\"}", false },
        { "DoesNotExist with values: null is valid",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\",\"values\":null}]}", NULL, true },
        { "Exists skips a node lacking the key",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", "{\"zone\":\"a\"}", false },
        { "Exists selects a node with an empty value",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", "{\"gpu\":\"\"}", true },
        { "Exists with values: [] is valid",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\",\"values\":[]}]}", "{\"gpu\":\"x\"}", true },
        { "In with an empty-string value selects an empty label",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"In\",\"values\":[\"\"]}]}", "{\"gpu\":\"\"}", true },
        { "In with an empty-string value skips a node lacking the key",
          "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"In\",\"values\":[\"\"]}]}", "{}", false },

        /* matchLabels AND matchExpressions, and several expressions. */
        { "matchLabels AND matchExpressions: both hold", ZONE_A_NO_GPU, "{\"zone\":\"a\"}", true },
        { "matchLabels AND matchExpressions: expression fails", ZONE_A_NO_GPU, "{\"zone\":\"a\",\"gpu\":\"t4\"}", false },
        { "matchLabels AND matchExpressions: label fails", ZONE_A_NO_GPU, "{\"zone\":\"b\"}", false },
        { "two expressions on one key are ANDed (a)",
          "{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
          "{\"key\":\"k\",\"operator\":\"NotIn\",\"values\":[\"b\"]}]}", "{\"k\":\"a\"}", true },
        { "two expressions on one key are ANDed (b)",
          "{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
          "{\"key\":\"k\",\"operator\":\"NotIn\",\"values\":[\"b\"]}]}", "{\"k\":\"b\"}", false },

        /* Empty and null parts, unknown fields, odd labels. */
        { "matchLabels and matchExpressions null select everything",
          "{\"matchLabels\":null,\"matchExpressions\":null}", "{\"a\":\"b\"}", true },
        { "empty matchLabels and matchExpressions select everything",
          "{\"matchLabels\":{},\"matchExpressions\":[]}", NULL, true },
        { "unknown selector fields are ignored",
          "{\"matchFields\":[1],\"foo\":\"bar\",\"matchLabels\":{\"a\":\"b\"}}", "{\"a\":\"b\"}", true },
        { "unknown expression fields are ignored",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"comment\":7}]}", "{\"a\":\"b\"}", true },
        { "a non-string label value counts as absent (Exists)",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", "{\"a\":5}", false },
        { "a non-string label value counts as absent (DoesNotExist)",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\"}]}", "{\"a\":true}", true },
        { "a non-string label value counts as absent (NotIn)",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"5\"]}]}", "{\"a\":5}", true },
        { "labels that are not an object count as none",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", "[\"a\"]", false },
        { "matching is by exact key (no prefix matching)",
          "{\"matchLabels\":{\"hostname\":\"node01\"}}", "{\"kubernetes.io/hostname\":\"node01\"}", false },
        { "prefixed key with dots, dashes and underscores",
          "{\"matchLabels\":{\"sub.example-1.com/a_b.c-d\":\"V_1.x-y\"}}", "{\"sub.example-1.com/a_b.c-d\":\"V_1.x-y\"}", true },
        { "63-character name and value",
          "{\"matchLabels\":{\"" S63 "\":\"" S63 "\"}}", "{\"" S63 "\":\"" S63 "\"}", true },
        { "253-character prefix",
          "{\"matchExpressions\":[{\"key\":\"" D253 "/a\",\"operator\":\"Exists\"}]}", "{\"" D253 "/a\":\"\"}", true },
};

typedef struct InvalidCase {
        const char *name;
        const char *selector;
        const char *reason;     /* must occur in the reason */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
        /* Operators: unknown, wrong case, empty, missing, wrong type. */
        { "operator Gt",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
          "matchExpressions[0]: operator \"Gt\" is not one of In, NotIn, Exists, DoesNotExist" },
        { "operator in (lowercase)",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"1\"]}]}",
          "matchExpressions[0]: operator \"in\" is not one of In, NotIn, Exists, DoesNotExist" },
        { "operator empty",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"\"}]}",
          "matchExpressions[0]: operator \"\" is not one of In, NotIn, Exists, DoesNotExist" },
        { "operator missing",
          "{\"matchExpressions\":[{\"key\":\"a\",\"values\":[\"1\"]}]}",
          "matchExpressions[0]: operator is missing" },
        { "operator null",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":null}]}",
          "matchExpressions[0]: operator is missing" },
        { "operator not a string",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":1}]}",
          "matchExpressions[0]: operator must be a string, not int" },
        { "the index names the offending expression",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"b\",\"operator\":\"Gt\"}]}",
          "matchExpressions[1]: operator \"Gt\" is not one of" },

        /* Values against the operator. */
        { "In with empty values",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}",
          "matchExpressions[0]: values must be non-empty for operator In" },
        { "In with missing values",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
          "matchExpressions[0]: values must be non-empty for operator In" },
        { "In with values null",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":null}]}",
          "matchExpressions[0]: values must be non-empty for operator In" },
        { "NotIn with missing values",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\"}]}",
          "matchExpressions[0]: values must be non-empty for operator NotIn" },
        { "Exists with values",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
          "matchExpressions[0]: values must be empty for operator Exists" },
        { "DoesNotExist with values",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\",\"values\":[\"\"]}]}",
          "matchExpressions[0]: values must be empty for operator DoesNotExist" },
        { "values not an array",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}",
          "matchExpressions[0]: values must be an array of strings, not string" },
        { "values with a number",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}",
          "matchExpressions[0]: values[0] must be a string, not int" },
        { "values with a null",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"ok\",null]}]}",
          "matchExpressions[0]: values[1] must be a string, not null" },
        { "values with an invalid value",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"ok\",\"a b\"]}]}",
          "matchExpressions[0]: values[1]: invalid value \"a b\": must consist of alphanumeric characters" },
        { "values with a 64-character value",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"" S64 "\"]}]}",
          "matchExpressions[0]: values[0]: invalid value \"" S64 "\": must be no more than 63 characters" },

        /* Expression keys. */
        { "expression key missing",
          "{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
          "matchExpressions[0]: key is missing" },
        { "expression key not a string",
          "{\"matchExpressions\":[{\"key\":[],\"operator\":\"Exists\"}]}",
          "matchExpressions[0]: key must be a string, not array" },
        { "expression key empty",
          "{\"matchExpressions\":[{\"key\":\"\",\"operator\":\"Exists\"}]}",
          "matchExpressions[0]: invalid key \"\": name part must not be empty" },
        { "expression key -bad",
          "{\"matchExpressions\":[{\"key\":\"-bad\",\"operator\":\"Exists\"}]}",
          "matchExpressions[0]: invalid key \"-bad\": name part must consist of alphanumeric characters" },
        { "expression key a/b/c",
          "{\"matchExpressions\":[{\"key\":\"a/b/c\",\"operator\":\"Exists\"}]}",
          "matchExpressions[0]: invalid key \"a/b/c\": must be a name with an optional DNS-1123 subdomain prefix" },
        { "expression key with a 64-character name",
          "{\"matchExpressions\":[{\"key\":\"example.com/" S64 "\",\"operator\":\"Exists\"}]}",
          "name part must be no more than 63 characters" },
        { "expression key with an empty prefix",
          "{\"matchExpressions\":[{\"key\":\"/a\",\"operator\":\"Exists\"}]}",
          "invalid key \"/a\": prefix part must not be empty" },
        { "expression key with an empty name",
          "{\"matchExpressions\":[{\"key\":\"example.com/\",\"operator\":\"Exists\"}]}",
          "invalid key \"example.com/\": name part must not be empty" },
        { "expression key with an uppercase prefix",
          "{\"matchExpressions\":[{\"key\":\"Kubernetes.io/hostname\",\"operator\":\"Exists\"}]}",
          "prefix part must be a lowercase DNS-1123 subdomain" },
        { "expression key with a 254-character prefix",
          "{\"matchExpressions\":[{\"key\":\"" D254 "/a\",\"operator\":\"Exists\"}]}",
          "prefix part must be no more than 253 characters" },

        /* matchLabels. */
        { "matchLabels value a number",
          "{\"matchLabels\":{\"foo\":1}}",
          "matchLabels[\"foo\"]: value must be a string" },
        { "matchLabels value true",
          "{\"matchLabels\":{\"foo\":true}}",
          "matchLabels[\"foo\"]: value must be a string, not boolean" },
        { "matchLabels value null",
          "{\"matchLabels\":{\"foo\":null}}",
          "matchLabels[\"foo\"]: value must be a string, not null" },
        { "matchLabels value an object",
          "{\"matchLabels\":{\"ok\":\"1\",\"foo\":{}}}",
          "matchLabels[\"foo\"]: value must be a string, not object" },
        { "matchLabels key empty",
          "{\"matchLabels\":{\"\":\"x\"}}",
          "matchLabels[\"\"]: invalid key: name part must not be empty" },
        { "matchLabels key -bad",
          "{\"matchLabels\":{\"-bad\":\"x\"}}",
          "matchLabels[\"-bad\"]: invalid key: name part must consist of alphanumeric characters" },
        { "matchLabels key a/b/c",
          "{\"matchLabels\":{\"a/b/c\":\"x\"}}",
          "matchLabels[\"a/b/c\"]: invalid key: must be a name with an optional DNS-1123 subdomain prefix" },
        { "matchLabels key with a 64-character name",
          "{\"matchLabels\":{\"" S64 "\":\"x\"}}",
          "invalid key: name part must be no more than 63 characters" },
        { "matchLabels value with a space",
          "{\"matchLabels\":{\"a\":\"has space\"}}",
          "matchLabels[\"a\"]: invalid value \"has space\": must consist of alphanumeric characters" },
        { "matchLabels value starting with a dash",
          "{\"matchLabels\":{\"a\":\"-x\"}}",
          "matchLabels[\"a\"]: invalid value \"-x\"" },
        { "matchLabels value with a slash",
          "{\"matchLabels\":{\"a\":\"x/y\"}}",
          "matchLabels[\"a\"]: invalid value \"x/y\"" },
        { "matchLabels value too long",
          "{\"matchLabels\":{\"a\":\"" S64 "\"}}",
          "matchLabels[\"a\"]: invalid value \"" S64 "\": must be no more than 63 characters" },
        { "matchLabels key checked before its value",
          "{\"matchLabels\":{\"-bad\":1}}",
          "matchLabels[\"-bad\"]: invalid key" },
        { "matchLabels checked before matchExpressions",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\"}],\"matchLabels\":{\"b\":2}}",
          "matchLabels[\"b\"]: value must be a string" },

        /* Wrong shapes. */
        { "matchLabels an array",
          "{\"matchLabels\":[\"a\"]}",
          "matchLabels: must be an object, not array" },
        { "matchLabels a string",
          "{\"matchLabels\":\"a=b\"}",
          "matchLabels: must be an object, not string" },
        { "matchExpressions not an array",
          "{\"matchExpressions\":{\"key\":\"a\",\"operator\":\"Exists\"}}",
          "matchExpressions: must be an array, not object" },
        { "matchExpressions element a string",
          "{\"matchExpressions\":[\"a in (b)\"]}",
          "matchExpressions[0]: must be an object, not string" },
        { "matchExpressions element null",
          "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},null]}",
          "matchExpressions[1]: must be an object, not null" },
        { "selector a string", "\"kubernetes.io/hostname=node01\"", "selector must be an object, not string" },
        { "selector an array", "[]", "selector must be an object, not array" },
        { "selector a number", "0", "selector must be an object, not int" },
        { "selector a boolean", "false", "selector must be an object, not boolean" },

        /* Hostile text is quoted, escaped and truncated in the reason. */
        { "hostile key is escaped",
          "{\"matchLabels\":{\"a\\\"b\\nc\\\\\":\"x\"}}",
          "matchLabels[\"a\\\"b\\x0ac\\\\\"]: invalid key" },
        { "hostile non-ASCII value is escaped",
          "{\"matchLabels\":{\"a\":\"\\u00e4\"}}",
          "invalid value \"\\xc3\\xa4\"" },
        { "very long key is truncated",
          "{\"matchLabels\":{\"" S320 "\":\"x\"}}",
          "...]: invalid key: name part must be no more than 63 characters" },
};

typedef struct SyntaxCase {
        const char *name;
        const char *text;
        bool valid;
} SyntaxCase;

static const SyntaxCase key_cases[] = {
        { "key: single letter", "a", true },
        { "key: single digit", "9", true },
        { "key: uppercase name", "Zone", true },
        { "key: kubernetes.io/hostname", "kubernetes.io/hostname", true },
        { "key: kubevirt.io/ksm-enabled", "kubevirt.io/ksm-enabled", true },
        { "key: name with - _ .", "a.b-c_d", true },
        { "key: 63-character name", S63, true },
        { "key: 253-character prefix", D253 "/a", true },
        { "key: empty", "", false },
        { "key: -bad", "-bad", false },
        { "key: bad-", "bad-", false },
        { "key: _a", "_a", false },
        { "key: a/b/c", "a/b/c", false },
        { "key: empty prefix", "/a", false },
        { "key: empty name", "a/", false },
        { "key: just a slash", "/", false },
        { "key: 64-character name", S64, false },
        { "key: 254-character prefix", D254 "/a", false },
        { "key: uppercase prefix", "Kubernetes.io/hostname", false },
        { "key: prefix with ..", "a..b/c", false },
        { "key: prefix with -.", "a-.b/c", false },
        { "key: prefix starting with .", ".a/b", false },
        { "key: prefix with _", "a_b/c", false },
        { "key: space", "a b", false },
        { "key: tab", "a\tb", false },
        { "key: non-ASCII", "\xc3\xa4", false },
};

static const SyntaxCase value_cases[] = {
        { "value: empty", "", true },
        { "value: true", "true", true },
        { "value: node01", "node01", true },
        { "value: uppercase", "A", true },
        { "value: with - _ .", "a-b_c.d", true },
        { "value: 63 characters", S63, true },
        { "value: 64 characters", S64, false },
        { "value: leading -", "-a", false },
        { "value: trailing -", "a-", false },
        { "value: leading .", ".a", false },
        { "value: lone _", "_", false },
        { "value: slash", "a/b", false },
        { "value: space", "a b", false },
        { "value: newline", "a\n", false },
        { "value: non-ASCII", "\xc3\xa4", false },
};

static void test_match(void **state) {
        const MatchCase *c = *state;
        _cleanup_(selector_freep) LabelSelector *s = NULL;
        _cleanup_free_ char *reason = NULL;
        json_object *sel, *labels;
        bool m;
        int r;

        sel = test_parse_json(c->name, c->selector);
        labels = test_parse_json(c->name, c->labels);

        r = selector_from_json(sel, &s, &reason);
        if (r != 0)
                fail_msg("%s: selector_from_json() = %d (%s), expected 0", c->name, r, strna(reason));
        if (reason)
                fail_msg("%s: reason set on success: %s", c->name, reason);

        m = selector_matches(s, labels);
        if (m != c->match)
                fail_msg("%s: selector_matches() = %s, expected %s", c->name,
                         m ? "true" : "false", c->match ? "true" : "false");

        json_object_put(sel);
        json_object_put(labels);
}

static void test_invalid(void **state) {
        const InvalidCase *c = *state;
        LabelSelector *s = NULL;
        _cleanup_free_ char *reason = NULL;
        json_object *sel;
        int r;

        sel = test_parse_json(c->name, c->selector);

        r = selector_from_json(sel, &s, &reason);
        if (r != -EINVAL)
                fail_msg("%s: selector_from_json() = %d, expected -EINVAL", c->name, r);
        if (s)
                fail_msg("%s: selector returned on failure", c->name);
        if (!reason)
                fail_msg("%s: no reason", c->name);
        if (!strstr(reason, c->reason))
                fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name, reason, c->reason);
        for (const char *p = reason; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                        fail_msg("%s: reason has a raw control or non-ASCII byte: %s", c->name, reason);
        if (strlen(reason) > 512)
                fail_msg("%s: reason is %zu bytes long", c->name, strlen(reason));

        /* Without reterr_reason the result is the same. */
        r = selector_from_json(sel, &s, NULL);
        if (r != -EINVAL || s)
                fail_msg("%s: without reterr_reason: %d, expected -EINVAL", c->name, r);

        json_object_put(sel);
}

static void test_key_syntax(void **state) {
        const SyntaxCase *c = *state;

        if (label_key_is_valid(c->text) != c->valid)
                fail_msg("%s: label_key_is_valid() = %s", c->name, c->valid ? "false" : "true");
}

static void test_value_syntax(void **state) {
        const SyntaxCase *c = *state;

        if (label_value_is_valid(c->text) != c->valid)
                fail_msg("%s: label_value_is_valid() = %s", c->name, c->valid ? "false" : "true");
}

/* matchLabels come first as In with one value, then the expressions, in order. */
static void test_structure(void **state) {
        _cleanup_(selector_freep) LabelSelector *s = NULL;
        json_object *sel;
        int r;

        sel = test_parse_json("structure",
                    "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Exists\"},"
                    "{\"key\":\"c\",\"operator\":\"NotIn\",\"values\":[\"x\",\"y\"]}],"
                    "\"matchLabels\":{\"a\":\"1\"}}");
        r = selector_from_json(sel, &s, NULL);
        assert_int_equal(r, 0);
        assert_false(s->nothing);
        assert_int_equal(s->n_requirements, 3);

        assert_string_equal(s->requirements[0].key, "a");
        assert_int_equal(s->requirements[0].op, SELECTOR_OP_IN);
        assert_int_equal(s->requirements[0].n_values, 1);
        assert_string_equal(s->requirements[0].values[0], "1");
        assert_null(s->requirements[0].values[1]);

        assert_string_equal(s->requirements[1].key, "b");
        assert_int_equal(s->requirements[1].op, SELECTOR_OP_EXISTS);
        assert_int_equal(s->requirements[1].n_values, 0);
        assert_null(s->requirements[1].values);

        assert_string_equal(s->requirements[2].key, "c");
        assert_int_equal(s->requirements[2].op, SELECTOR_OP_NOT_IN);
        assert_int_equal(s->requirements[2].n_values, 2);
        assert_string_equal(s->requirements[2].values[0], "x");
        assert_string_equal(s->requirements[2].values[1], "y");
        assert_null(s->requirements[2].values[2]);

        json_object_put(sel);
}

static void test_null_and_empty(void **state) {
        _cleanup_(selector_freep) LabelSelector *nothing = NULL, *all = NULL;
        json_object *empty;

        assert_int_equal(selector_from_json(NULL, &nothing, NULL), 0);
        assert_true(nothing->nothing);
        assert_int_equal(nothing->n_requirements, 0);

        empty = json_object_new_object();
        assert_int_equal(selector_from_json(empty, &all, NULL), 0);
        assert_false(all->nothing);
        assert_int_equal(all->n_requirements, 0);
        json_object_put(empty);

        assert_false(selector_matches(NULL, NULL));
        assert_null(selector_free(NULL));
}

static void test_ops(void **state) {
        for (int op = 0; op < _SELECTOR_OP_MAX; op++) {
                const char *s = selector_op_to_string(op);

                if (!s)
                        fail_msg("op %d: no name", op);
                if (selector_op_from_string(s) != op)
                        fail_msg("op %s: does not round-trip", s);
        }

        assert_int_equal(selector_op_from_string("In"), SELECTOR_OP_IN);
        assert_int_equal(selector_op_from_string("NotIn"), SELECTOR_OP_NOT_IN);
        assert_int_equal(selector_op_from_string("Exists"), SELECTOR_OP_EXISTS);
        assert_int_equal(selector_op_from_string("DoesNotExist"), SELECTOR_OP_DOES_NOT_EXIST);
        assert_int_equal(selector_op_from_string("in"), -EINVAL);
        assert_int_equal(selector_op_from_string("exists"), -EINVAL);
        assert_int_equal(selector_op_from_string("Gt"), -EINVAL);
        assert_int_equal(selector_op_from_string(""), -EINVAL);
        assert_int_equal(selector_op_from_string(NULL), -EINVAL);
        assert_null(selector_op_to_string(_SELECTOR_OP_MAX));
        assert_null(selector_op_to_string(_SELECTOR_OP_INVALID));
}

static void test_null_syntax(void **state) {
        assert_false(label_key_is_valid(NULL));
        assert_false(label_value_is_valid(NULL));
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(match_cases) + ELEMENTSOF(invalid_cases) +
                                ELEMENTSOF(key_cases) + ELEMENTSOF(value_cases) + 4];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, match_cases, test_match);
        TEST_ADD_TABLE(tests, n, invalid_cases, test_invalid);
        TEST_ADD_TABLE(tests, n, key_cases, test_key_syntax);
        TEST_ADD_TABLE(tests, n, value_cases, test_value_syntax);
        tests[n++] = (struct CMUnitTest) { .name = "requirements keep their order and values", .test_func = test_structure };
        tests[n++] = (struct CMUnitTest) { .name = "null selector is nothing, {} is everything", .test_func = test_null_and_empty };
        tests[n++] = (struct CMUnitTest) { .name = "operator names round-trip, case-sensitively", .test_func = test_ops };
        tests[n++] = (struct CMUnitTest) { .name = "NULL key and value are invalid", .test_func = test_null_syntax };

        if (n != ELEMENTSOF(tests))
                abort();
        return test_run_group("selector", tests, n);
}
