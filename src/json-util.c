/* json-util.c — bounded JSON parsing: count first, then let json-c allocate. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

static void set_err(const char **reterr, const char *msg) {
        if (reterr)
                *reterr = msg;
}

int json_scan(const char *s, size_t n, size_t max_values, unsigned max_depth, size_t *ret_values,
              const char **reterr) {
        /* The open brackets, one bit each (1: object), for the mismatch check. */
        unsigned char stack[(JSON_MAX_DEPTH + 7) / 8 + 1] = {};
        size_t values = 1;
        unsigned depth = 0;

        assert(s || n == 0);
        set_err(reterr, NULL);
        max_depth = MIN(max_depth, (unsigned) JSON_MAX_DEPTH);

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                switch (c) {
                case '"':
                        /* Skip the string: its bytes are bounded by the caller's byte limit. */
                        for (i++; i < n && s[i] != '"'; i++)
                                if (s[i] == '\\')
                                        i++;
                        break;
                case '{':
                case '[':
                        if (depth >= max_depth) {
                                set_err(reterr, "nested too deeply");
                                return -EBADMSG;
                        }
                        if (c == '{')
                                stack[depth / 8] |= (unsigned char) (1U << (depth % 8));
                        else
                                stack[depth / 8] &= (unsigned char) ~(1U << (depth % 8));
                        depth++;
                        values++;
                        break;
                case '}':
                case ']':
                        if (depth == 0 || !!(stack[(depth - 1) / 8] & (1U << ((depth - 1) % 8))) != (c == '}')) {
                                set_err(reterr, "unbalanced brackets");
                                return -EBADMSG;
                        }
                        depth--;
                        break;
                case ',':
                        values++;
                        break;
                default:
                        continue;
                }
                if (values > max_values) {
                        set_err(reterr, "too many values");
                        return -EMSGSIZE;
                }
        }

        if (ret_values)
                *ret_values = values;
        return 0;
}

static bool is_json_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int json_parse_bounded(const char *s, size_t n, size_t max_values, json_object **ret, const char **reterr) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        enum json_tokener_error e;
        size_t end;
        int r;

        assert(s || n == 0);
        assert(ret);

        set_err(reterr, NULL);
        if (n > INT_MAX - 1) {
                set_err(reterr, "too large");
                return -EMSGSIZE;
        }
        r = json_scan(s ?: "", n, max_values ?: JSON_MAX_VALUES, JSON_MAX_DEPTH, NULL, reterr);
        if (r < 0)
                return r;

        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);

        o = json_tokener_parse_ex(tok, s ?: "", (int) n);
        e = json_tokener_get_error(tok);
        end = e == json_tokener_success ? json_tokener_get_parse_end(tok) : n;
        if (e == json_tokener_continue) {
                /* A value with no closing character (null, a number) ends only at the end of
                 * input, which json-c is told with a NUL. */
                o = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
                if (e != json_tokener_success) {
                        set_err(reterr, "truncated JSON");
                        return -EBADMSG;
                }
        }
        if (e != json_tokener_success) {
                set_err(reterr, json_tokener_error_desc(e));
                return -EBADMSG;
        }

        for (size_t i = end; i < n; i++)
                if (!is_json_ws(s[i])) {
                        set_err(reterr, "trailing data after the JSON value");
                        return -EBADMSG;
                }

        *ret = TAKE_PTR(o);
        return 0;
}

static size_t count(json_object *o, size_t limit, size_t acc) {
        acc++;
        if (acc > limit)
                return acc;

        switch (json_object_get_type(o)) {
        case json_type_object: {
                /* An empty container is one unit more, as in the scan (its opening bracket). */
                if (json_object_object_length(o) == 0)
                        acc++;
                json_object_object_foreach(o, k, v) {
                        (void) k;
                        acc = count(v, limit, acc);
                        if (acc > limit)
                                return acc;
                }
                break;
        }
        case json_type_array:
                if (json_object_array_length(o) == 0)
                        acc++;
                for (size_t i = 0, l = json_object_array_length(o); i < l && acc <= limit; i++)
                        acc = count(json_object_array_get_idx(o, i), limit, acc);
                break;
        default:
                break;
        }
        return acc;
}

size_t json_value_count(json_object *o, size_t limit) {
        return count(o, limit, 0);
}
