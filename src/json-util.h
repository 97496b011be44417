/* json-util.h — JSON parsing with a bound on what json-c may allocate: a pre-scan counts the
 * values and the nesting before json-c sees a byte. */
#pragma once

#include <stddef.h>
#include <json-c/json.h>

/* json-c spends up to ~800 bytes on an empty object `{}` (measured on json-c 0.16: a 16-slot
 * hash table), so a byte limit alone lets 4 MiB of `{},` cost ~1 GB. The scan counts one unit
 * per value or member (1 + commas + opening brackets, outside strings), and one unit costs at
 * most ~450 bytes (`{}` with its comma: 2 units, 800 bytes). 20000 units are ~9 MB at worst,
 * while a real Node (kubelet, 50 images, managedFields) is 1500-3000. */
#define JSON_MAX_VALUES 20000U
/* json-c's own default is 32; a watch event wraps the object in one more level and CRDs with
 * deep schemas come close. Also bounds json-c's recursion when the tree is freed. */
#define JSON_MAX_DEPTH 64U

/* Scans s[0..n) without building anything. *ret_values (optional) gets the unit count.
 *   0:          within the limits (the text may still be invalid JSON: json-c decides).
 *   -EMSGSIZE:  more than max_values units.
 *   -EBADMSG:   nested deeper than max_depth, or a bracket that does not close what is open.
 * *reterr (optional) says which; it points to a static string. Pure. */
int json_scan(const char *s, size_t n, size_t max_values, unsigned max_depth, size_t *ret_values,
              const char **reterr);

/* Parses exactly one JSON value from s[0..n) (trailing whitespace allowed), strict mode (no
 * comments, single quotes, trailing commas or NaN), after json_scan() with max_values (0:
 * JSON_MAX_VALUES) and JSON_MAX_DEPTH. 0, -EMSGSIZE (too many values), -EBADMSG (not one JSON
 * value, too deep) or -ENOMEM. *reterr (optional, static string) says why. Pure. */
int json_parse_bounded(const char *s, size_t n, size_t max_values, json_object **ret, const char **reterr);

/* The number of units of a parsed tree, counted as json_scan() does (every value and member
 * once), stopping at limit (returns limit + 1 then). For budgets over kept objects. Pure. */
size_t json_value_count(json_object *o, size_t limit);
