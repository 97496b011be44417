/* selector.c — Kubernetes label selectors (metav1.LabelSelector): parse, validate, match. Pure. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "macro.h"
#include "selector.h"
#include "util.h"
/* Sets *reterr (when non-NULL) and returns -EINVAL, or -ENOMEM. */
#define fail(reterr, ...) set_reterr((reterr), -EINVAL, __VA_ARGS__)

/* Limits from k8s.io/apimachinery/pkg/util/validation: DNS1123SubdomainMaxLength,
 * qualifiedNameMaxLength and LabelValueMaxLength. */
#define DNS1123_SUBDOMAIN_MAX 253U
#define QUALIFIED_NAME_MAX 63U
#define LABEL_VALUE_MAX 63U

/* How much of a hostile key or value we quote back in an error message. */
#define QUOTE_MAX 80U

static const char *const selector_op_table[_SELECTOR_OP_MAX] = {
        [SELECTOR_OP_IN] = "In",
        [SELECTOR_OP_NOT_IN] = "NotIn",
        [SELECTOR_OP_EXISTS] = "Exists",
        [SELECTOR_OP_DOES_NOT_EXIST] = "DoesNotExist",
};

/* Case-sensitive, like the API server: "in" is not an operator. */
DEFINE_STRING_TABLE(selector_op, SelectorOp, _SELECTOR_OP_MAX);

static bool char_is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The regular expression ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] shared by label values and the
 * name part of label keys (qualifiedNameFmt in apimachinery). n must be at least 1. */
static bool qualified_chars_ok(const char *s, size_t n) {
        assert(n > 0);

        if (!char_is_alnum(s[0]) || !char_is_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!char_is_alnum(s[i]) && !strchr("-_.", s[i]))
                        return false;
        return true;
}

/* Lowercase RFC 1123 subdomain: dot-separated labels of [a-z0-9-], each starting and ending
 * alphanumeric. s need not be NUL-terminated. */
static bool dns1123_subdomain_ok(const char *s, size_t n) {
        bool label_start = true;

        if (n == 0 || n > DNS1123_SUBDOMAIN_MAX)
                return false;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '.') {
                        if (label_start || s[i - 1] == '-')
                                return false;
                        label_start = true;
                } else if (c == '-') {
                        if (label_start)
                                return false;
                } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                        label_start = false;
                else
                        return false;
        }
        return !label_start && s[n - 1] != '-';
}

/* Returns NULL when key is a valid label key, else why not (a static string). Mirrors
 * IsQualifiedName() of k8s.io/apimachinery/pkg/util/validation. */
static const char *label_key_problem(const char *key) {
        const char *slash, *name;
        size_t n;

        if (!key)
                return "must be a string";

        slash = strchr(key, '/');
        if (slash) {
                size_t prefix_len = slash - key;

                if (strchr(slash + 1, '/'))
                        return "must be a name with an optional DNS-1123 subdomain prefix and '/', "
                               "but contains more than one '/'";
                if (prefix_len == 0)
                        return "prefix part must not be empty";
                if (prefix_len > DNS1123_SUBDOMAIN_MAX)
                        return "prefix part must be no more than 253 characters";
                if (!dns1123_subdomain_ok(key, prefix_len))
                        return "prefix part must be a lowercase DNS-1123 subdomain "
                               "(lowercase alphanumeric characters, '-' or '.', starting and ending "
                               "with an alphanumeric character)";
                name = slash + 1;
        } else
                name = key;

        n = strlen(name);
        if (n == 0)
                return "name part must not be empty";
        if (n > QUALIFIED_NAME_MAX)
                return "name part must be no more than 63 characters";
        if (!qualified_chars_ok(name, n))
                return "name part must consist of alphanumeric characters, '-', '_' or '.', "
                       "and must start and end with an alphanumeric character";
        return NULL;
}

/* Returns NULL when value is a valid label value, else why not. Mirrors IsValidLabelValue(). */
static const char *label_value_problem(const char *value) {
        size_t n;

        if (!value)
                return "must be a string";

        n = strlen(value);
        if (n == 0)
                return NULL;
        if (n > LABEL_VALUE_MAX)
                return "must be no more than 63 characters";
        if (!qualified_chars_ok(value, n))
                return "must consist of alphanumeric characters, '-', '_' or '.', "
                       "and must start and end with an alphanumeric character";
        return NULL;
}

bool label_key_is_valid(const char *key) {
        return !label_key_problem(key);
}

bool label_value_is_valid(const char *value) {
        return !label_value_problem(value);
}

/* Quotes untrusted text for an error message: escapes quotes, backslashes and anything outside
 * printable ASCII, and truncates at QUOTE_MAX input bytes so a hostile megabyte key does not
 * end up in the journal. NULL on ENOMEM. */
static char *quote(const char *s) {
        size_t n = strlen(s), m = MIN(n, QUOTE_MAX);
        char *buf, *p;

        /* Worst case: every byte becomes \xNN, plus quotes, "..." and the NUL. */
        buf = malloc(m * 4 + 2 + 3 + 1);
        if (!buf)
                return NULL;

        p = buf;
        *p++ = '"';
        for (size_t i = 0; i < m; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == '"' || c == '\\') {
                        *p++ = '\\';
                        *p++ = (char) c;
                } else if (c < 0x20 || c >= 0x7f)
                        p += sprintf(p, "\\x%02x", c);
                else
                        *p++ = (char) c;
        }
        *p++ = '"';
        if (m < n)
                p = stpcpy(p, "...");
        *p = 0;
        return buf;
}

static const char *type_name(json_object *o) {
        return json_type_to_name(json_object_get_type(o));
}

static void requirement_done(SelectorRequirement *req) {
        free(req->key);
        strv_free(req->values);
        *req = (SelectorRequirement) {};
}

LabelSelector *selector_free(LabelSelector *s) {
        if (!s)
                return NULL;

        for (size_t i = 0; i < s->n_requirements; i++)
                requirement_done(&s->requirements[i]);
        free(s->requirements);
        free(s);
        return NULL;
}

/* matchLabels: {key: value} is the requirement key In [value]. */
static int parse_match_labels(json_object *ml, LabelSelector *s, char **reterr) {
        json_object_object_foreach(ml, key, val) {
                SelectorRequirement *req;
                const char *key_problem, *value = NULL, *value_problem = NULL;
                bool is_string;

                /* apimachinery's ValidateLabels() checks the key, then the value. */
                key_problem = label_key_problem(key);
                is_string = json_object_get_type(val) == json_type_string;
                if (is_string) {
                        value = json_object_get_string(val);
                        value_problem = label_value_problem(value);
                }

                if (key_problem || !is_string || value_problem) {
                        _cleanup_free_ char *qk = NULL, *qv = NULL;

                        qk = quote(key);
                        if (!qk)
                                return -ENOMEM;
                        if (key_problem)
                                return fail(reterr, "matchLabels[%s]: invalid key: %s", qk, key_problem);
                        if (!is_string)
                                return fail(reterr, "matchLabels[%s]: value must be a string, not %s",
                                            qk, type_name(val));
                        qv = quote(value);
                        if (!qv)
                                return -ENOMEM;
                        return fail(reterr, "matchLabels[%s]: invalid value %s: %s", qk, qv, value_problem);
                }

                req = &s->requirements[s->n_requirements];
                req->op = SELECTOR_OP_IN;
                req->key = strdup(key);
                req->values = calloc(2, sizeof(char *));
                if (req->values)
                        req->values[0] = strdup(value);
                if (!req->key || !req->values || !req->values[0]) {
                        requirement_done(req);
                        return -ENOMEM;
                }
                req->n_values = 1;
                s->n_requirements++;
        }

        return 0;
}

static int parse_expression(json_object *e, size_t idx, SelectorRequirement *ret, char **reterr) {
        _cleanup_strv_free_ char **values = NULL;
        _cleanup_free_ char *key_copy = NULL;
        json_object *k = NULL, *o = NULL, *vs = NULL;
        const char *key, *op_name, *problem;
        size_t n_values = 0;
        SelectorOp op;

        if (json_object_get_type(e) != json_type_object)
                return fail(reterr, "matchExpressions[%zu]: must be an object, not %s", idx, type_name(e));

        (void) json_object_object_get_ex(e, "key", &k);
        if (!k)
                return fail(reterr, "matchExpressions[%zu]: key is missing", idx);
        if (json_object_get_type(k) != json_type_string)
                return fail(reterr, "matchExpressions[%zu]: key must be a string, not %s", idx, type_name(k));
        key = json_object_get_string(k);
        problem = label_key_problem(key);
        if (problem) {
                _cleanup_free_ char *qk = quote(key);

                if (!qk)
                        return -ENOMEM;
                return fail(reterr, "matchExpressions[%zu]: invalid key %s: %s", idx, qk, problem);
        }

        (void) json_object_object_get_ex(e, "operator", &o);
        if (!o)
                return fail(reterr, "matchExpressions[%zu]: operator is missing (one of In, NotIn, Exists, DoesNotExist)",
                            idx);
        if (json_object_get_type(o) != json_type_string)
                return fail(reterr, "matchExpressions[%zu]: operator must be a string, not %s", idx, type_name(o));
        op_name = json_object_get_string(o);
        op = selector_op_from_string(op_name);
        if (op < 0) {
                _cleanup_free_ char *qo = quote(op_name);

                if (!qo)
                        return -ENOMEM;
                return fail(reterr, "matchExpressions[%zu]: operator %s is not one of In, NotIn, Exists, DoesNotExist",
                            idx, qo);
        }

        /* A JSON null is what Go's encoder writes for a nil slice: the same as no values. */
        (void) json_object_object_get_ex(e, "values", &vs);
        if (vs) {
                if (json_object_get_type(vs) != json_type_array)
                        return fail(reterr, "matchExpressions[%zu]: values must be an array of strings, not %s",
                                    idx, type_name(vs));
                n_values = json_object_array_length(vs);
        }

        switch (op) {
        case SELECTOR_OP_IN:
        case SELECTOR_OP_NOT_IN:
                if (n_values == 0)
                        return fail(reterr, "matchExpressions[%zu]: values must be non-empty for operator %s",
                                    idx, op_name);
                break;
        default:
                if (n_values > 0)
                        return fail(reterr, "matchExpressions[%zu]: values must be empty for operator %s",
                                    idx, op_name);
                break;
        }

        if (n_values > 0) {
                values = calloc(n_values + 1, sizeof(char *));
                if (!values)
                        return -ENOMEM;

                for (size_t i = 0; i < n_values; i++) {
                        json_object *v = json_object_array_get_idx(vs, i);
                        const char *value;

                        if (json_object_get_type(v) != json_type_string)
                                return fail(reterr, "matchExpressions[%zu]: values[%zu] must be a string, not %s",
                                            idx, i, type_name(v));

                        value = json_object_get_string(v);
                        problem = label_value_problem(value);
                        if (problem) {
                                _cleanup_free_ char *qv = quote(value);

                                if (!qv)
                                        return -ENOMEM;
                                return fail(reterr, "matchExpressions[%zu]: values[%zu]: invalid value %s: %s",
                                            idx, i, qv, problem);
                        }

                        values[i] = strdup(value);
                        if (!values[i])
                                return -ENOMEM;
                }
        }

        key_copy = strdup(key);
        if (!key_copy)
                return -ENOMEM;

        *ret = (SelectorRequirement) {
                .key = TAKE_PTR(key_copy),
                .op = op,
                .values = TAKE_PTR(values),
                .n_values = n_values,
        };
        return 0;
}

int selector_from_json(json_object *sel, LabelSelector **ret, char **reterr_reason) {
        _cleanup_(selector_freep) LabelSelector *s = NULL;
        json_object *ml = NULL, *me = NULL;
        size_t n = 0;
        int r;

        assert(ret);

        s = calloc(1, sizeof(LabelSelector));
        if (!s)
                return -ENOMEM;

        /* json-c represents a JSON null as a NULL pointer. */
        if (!sel) {
                s->nothing = true;
                *ret = TAKE_PTR(s);
                return 0;
        }

        if (json_object_get_type(sel) != json_type_object)
                return fail(reterr_reason, "selector must be an object, not %s", type_name(sel));

        /* Unknown fields are ignored, as the API server's decoder would prune them. A null
         * matchLabels or matchExpressions is a nil map or slice: no requirements. */
        (void) json_object_object_get_ex(sel, "matchLabels", &ml);
        (void) json_object_object_get_ex(sel, "matchExpressions", &me);

        if (ml) {
                if (json_object_get_type(ml) != json_type_object)
                        return fail(reterr_reason, "matchLabels: must be an object, not %s", type_name(ml));
                n += (size_t) json_object_object_length(ml);
        }
        if (me) {
                if (json_object_get_type(me) != json_type_array)
                        return fail(reterr_reason, "matchExpressions: must be an array, not %s", type_name(me));
                n += json_object_array_length(me);
        }

        if (n > 0) {
                s->requirements = calloc(n, sizeof(SelectorRequirement));
                if (!s->requirements)
                        return -ENOMEM;
        }

        if (ml) {
                r = parse_match_labels(ml, s, reterr_reason);
                if (r < 0)
                        return r;
        }

        if (me)
                for (size_t i = 0; i < json_object_array_length(me); i++) {
                        r = parse_expression(json_object_array_get_idx(me, i), i,
                                             &s->requirements[s->n_requirements], reterr_reason);
                        if (r < 0)
                                return r;
                        s->n_requirements++;
                }

        *ret = TAKE_PTR(s);
        return 0;
}

/* A label's value, or NULL when the node lacks it. Non-string values cannot come from the API
 * server; from a hand-written node file they are treated as absent. */
static const char *label_get(json_object *labels, const char *key) {
        json_object *v;

        if (json_object_get_type(labels) != json_type_object)
                return NULL;
        if (!json_object_object_get_ex(labels, key, &v) || json_object_get_type(v) != json_type_string)
                return NULL;
        return json_object_get_string(v);
}

static bool requirement_has_value(const SelectorRequirement *req, const char *value) {
        for (size_t i = 0; i < req->n_values; i++)
                if (streq(req->values[i], value))
                        return true;
        return false;
}

static bool requirement_matches(const SelectorRequirement *req, json_object *labels) {
        const char *v = label_get(labels, req->key);

        /* labels.Requirement.Matches() of k8s.io/apimachinery. */
        switch (req->op) {
        case SELECTOR_OP_IN:
                return v && requirement_has_value(req, v);
        case SELECTOR_OP_NOT_IN:
                return !v || !requirement_has_value(req, v);
        case SELECTOR_OP_EXISTS:
                return v != NULL;
        case SELECTOR_OP_DOES_NOT_EXIST:
                return v == NULL;
        default:
                return false;
        }
}

bool selector_matches(const LabelSelector *s, json_object *labels) {
        if (!s || s->nothing)
                return false;

        for (size_t i = 0; i < s->n_requirements; i++)
                if (!requirement_matches(&s->requirements[i], labels))
                        return false;
        return true;
}
