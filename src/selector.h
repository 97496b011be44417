/* selector.h — Kubernetes label selectors (metav1.LabelSelector): parse, validate, match. Pure. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

typedef enum SelectorOp {
        SELECTOR_OP_IN,
        SELECTOR_OP_NOT_IN,
        SELECTOR_OP_EXISTS,
        SELECTOR_OP_DOES_NOT_EXIST,
        _SELECTOR_OP_MAX,
        _SELECTOR_OP_INVALID = -EINVAL,
} SelectorOp;

typedef struct SelectorRequirement {
        char *key;
        SelectorOp op;
        char **values;          /* NULL-terminated; NULL for Exists/DoesNotExist */
        size_t n_values;
} SelectorRequirement;

typedef struct LabelSelector {
        bool nothing;           /* a null selector: matches no node */
        SelectorRequirement *requirements;      /* matchLabels (as In with one value) then matchExpressions, ANDed */
        size_t n_requirements;
} LabelSelector;

/* Parses a nodeLabelSelector. sel may be NULL or a JSON null: the result matches nothing.
 * An empty object matches everything.
 *   0:       *ret set.
 *   -EINVAL: a selector Kubernetes would reject (not an object, unknown operator, In/NotIn
 *            without values, Exists/DoesNotExist with values, invalid key or value syntax,
 *            non-string values); *reterr_reason (malloc'd, may be NULL if reterr_reason is NULL)
 *            says why, e.g. "matchExpressions[0]: operator \"Foo\" is not one of In, NotIn, Exists, DoesNotExist".
 *   -ENOMEM. */
int selector_from_json(json_object *sel, LabelSelector **ret, char **reterr_reason);

/* True when labels (a JSON object of string values, or NULL for a node without labels)
 * satisfy every requirement. A "nothing" selector never matches; an empty one always does. */
bool selector_matches(const LabelSelector *s, json_object *labels);

LabelSelector *selector_free(LabelSelector *s);
static inline void selector_freep(LabelSelector **s) {
        if (*s)
                selector_free(*s);
}

const char *selector_op_to_string(SelectorOp op);
SelectorOp selector_op_from_string(const char *s);

/* Validates a label key (optional DNS-1123 subdomain prefix "/" name of at most 63 characters)
 * and a label value (at most 63 characters, alphanumeric at both ends, '-', '_', '.' inside;
 * may be empty). */
bool label_key_is_valid(const char *key);
bool label_value_is_valid(const char *value);
