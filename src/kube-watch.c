/* kube-watch.c — incremental parser of watch streams (one JSON event per line) and LIST bodies. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "json-util.h"
#include "kube-watch.h"
#include "macro.h"
#include "util.h"
/* Sets *reterr (when non-NULL) and returns -EBADMSG, or -ENOMEM. */
#define fail(reterr, ...) set_reterr((reterr), -EBADMSG, __VA_ARGS__)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static const char *const watch_event_type_table[_WATCH_EVENT_TYPE_MAX] = {
        [WATCH_EVENT_ADDED] = "ADDED",
        [WATCH_EVENT_MODIFIED] = "MODIFIED",
        [WATCH_EVENT_DELETED] = "DELETED",
        [WATCH_EVENT_BOOKMARK] = "BOOKMARK",
        [WATCH_EVENT_ERROR] = "ERROR",
};

/* Case-sensitive: the API server sends the types in capitals. */
DEFINE_STRING_TABLE(watch_event_type, WatchEventType, _WATCH_EVENT_TYPE_MAX);

static bool is_json_ws(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A member of an object, or NULL when o is not an object, lacks key, or holds a JSON null. */
static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!json_object_is_type(o, json_type_object))
                return NULL;
        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *member_string(json_object *o, const char *key) {
        json_object *v = member(o, key);

        if (!json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

void watch_parser_init(WatchParser *p, size_t max_event_bytes) {
        assert(p);

        /* json-c takes an int length, so a longer line could never be parsed anyway. */
        *p = (WatchParser) {
                .max_event_bytes = max_event_bytes == 0 ? WATCH_DEFAULT_MAX_EVENT_BYTES :
                                   MIN(max_event_bytes, (size_t) INT_MAX - 1),
        };
}

void watch_parser_reset(WatchParser *p) {
        assert(p);

        /* Also gives the memory back: a reset follows a reconnect, which may be long after. */
        free(p->buf);
        p->buf = NULL;
        p->len = p->alloc = 0;
        p->failed = false;
}

void watch_parser_done(WatchParser *p) {
        if (p)
                watch_parser_reset(p);
}

/* The length of a line that counts against the limit: a trailing '\r' (half a CRLF) is free. */
static size_t line_length(const char *s, size_t n) {
        return n > 0 && s[n - 1] == '\r' ? n - 1 : n;
}

/* Appends to the pending line, growing the buffer to at most max_event_bytes + 1 (the limit
 * itself plus a '\r'). The caller has checked the limit. */
static int pending_append(WatchParser *p, const char *data, size_t n) {
        size_t need = p->len + n;

        if (need > p->alloc) {
                size_t a = MAX(need, MAX(p->alloc * 2, (size_t) 4096));
                char *b;

                a = MIN(a, p->max_event_bytes + 1);
                assert(a >= need);
                b = realloc(p->buf, a);
                if (!b)
                        return -ENOMEM;
                p->buf = b;
                p->alloc = a;
        }

        memcpy(p->buf + p->len, data, n);
        p->len = need;
        return 0;
}

static int watch_event_parse(json_object *root, WatchEvent *ret) {
        json_object *object, *code;
        const char *type;
        WatchEventType t;

        if (!json_object_is_type(root, json_type_object))
                return -EBADMSG;

        type = member_string(root, "type");
        t = watch_event_type_from_string(type);
        if (t < 0)
                return -EBADMSG;

        object = member(root, "object");
        if (!json_object_is_type(object, json_type_object))
                return -EBADMSG;

        *ret = (WatchEvent) {
                .type = t,
                .object = object,
                .resource_version = member_string(member(object, "metadata"), "resourceVersion"),
        };

        /* A metav1.Status: code 410 with reason "Expired" (or "Gone") means the resourceVersion is
         * too old and the client must re-list. */
        if (t == WATCH_EVENT_ERROR) {
                code = member(object, "code");
                if (json_object_is_type(code, json_type_int)) {
                        int64_t c = json_object_get_int64(code);

                        ret->status_code = c >= INT_MIN && c <= INT_MAX ? (int) c : 0;
                }
                ret->status_reason = member_string(object, "reason");
        }

        return 0;
}

/* One complete line, without its '\n'. */
static int watch_parser_line(WatchParser *p, const char *s, size_t n, WatchEventFn cb, void *userdata) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        WatchEvent e;
        bool blank = true;
        int r;

        n = line_length(s, n);
        if (n > p->max_event_bytes)
                return -EMSGSIZE;

        for (size_t i = 0; i < n && blank; i++)
                blank = is_json_ws(s[i]);
        if (blank)
                return 0;

        /* Bounded by value count too: json-c spends far more than the line's bytes. */
        r = json_parse_bounded(s, n, 0, &root, NULL);
        if (r < 0)
                return r;

        r = watch_event_parse(root, &e);
        if (r < 0)
                return r;

        r = cb(&e, userdata);
        return r < 0 ? r : 0;
}

static int watch_parser_fail(WatchParser *p, int r) {
        free(p->buf);
        p->buf = NULL;
        p->len = p->alloc = 0;
        p->failed = true;
        return r;
}

/* Hands out a length and zeroes it: the pending line is consumed before the callback runs. */
#define TAKE_LEN(l) ({ size_t _l = (l); (l) = 0; _l; })

/* Whether the pending line followed by s[0..n) (n > 0) is longer than the limit. */
static bool too_long(const WatchParser *p, const char *s, size_t n) {
        size_t l = line_length(s, n);

        return l > p->max_event_bytes || p->len > p->max_event_bytes - l;
}

int watch_parser_feed(WatchParser *p, const char *data, size_t n, WatchEventFn cb, void *userdata) {
        int r;

        assert(p);
        assert(data || n == 0);
        assert(cb);

        if (p->failed)
                return -EBADMSG;

        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t seg = nl ? (size_t) (nl - data) : n;

                /* The limit is checked before anything is buffered, so an endless line costs at
                 * most max_event_bytes, whatever the chunk size. */
                if (seg > 0 && too_long(p, data, seg))
                        return watch_parser_fail(p, -EMSGSIZE);

                if (!nl) {
                        r = pending_append(p, data, n);
                        if (r < 0)
                                return watch_parser_fail(p, r);
                        return 0;
                }

                if (p->len > 0) {
                        size_t l;

                        r = pending_append(p, data, seg);
                        if (r < 0)
                                return watch_parser_fail(p, r);
                        l = TAKE_LEN(p->len);
                        r = watch_parser_line(p, p->buf, l, cb, userdata);
                } else
                        r = watch_parser_line(p, data, seg, cb, userdata);
                if (r < 0)
                        return watch_parser_fail(p, r);

                data = nl + 1;
                n -= seg + 1;
        }

        return 0;
}

static const char *type_name(json_object *o) {
        return json_type_to_name(json_object_get_type(o));
}

/* The tail of a kind that says it is a list: "NodeList", "KubeVirtList", "List". */
static bool kind_is_list(const char *kind) {
        size_t l = strlen(kind);

        return l >= 4 && streq(kind + l - 4, "List");
}

void kube_list_free(json_object **items, size_t n) {
        for (size_t i = 0; i < n && items; i++)
                json_object_put(items[i]);
        free(items);
}

int kube_list_parse(const char *body, size_t n, json_object ***ret_items, size_t *ret_n,
                    char **ret_resource_version, char **reterr_reason) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *rv_copy = NULL;
        json_object *items, *kind_o, *md, **array = NULL;
        const char *jerr, *rv, *kind;
        size_t count = 0;
        int r;

        assert(body || n == 0);
        assert(ret_items);
        assert(ret_n);

        r = json_parse_bounded(body ?: "", n, 0, &root, &jerr);
        if (r == -EMSGSIZE)
                return fail(reterr_reason, "LIST response is too large: more than %u values", JSON_MAX_VALUES);
        if (r == -EBADMSG)
                return fail(reterr_reason, "LIST response is not JSON: %s", jerr);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return fail(reterr_reason, "LIST response must be a JSON object, not %s", type_name(root));

        kind_o = member(root, "kind");
        if (kind_o && !json_object_is_type(kind_o, json_type_string))
                return fail(reterr_reason, "LIST response kind must be a string, not %s", type_name(kind_o));
        kind = kind_o ? json_object_get_string(kind_o) : NULL;
        if (kind && streq(kind, "Status"))
                return fail(reterr_reason, "LIST response is a Status: %s (%s)",
                            strna(member_string(root, "message")), strna(member_string(root, "reason")));
        if (kind && !kind_is_list(kind))
                return fail(reterr_reason, "LIST response is of kind \"%s\", not a list", kind);

        md = member(root, "metadata");
        if (!json_object_is_type(md, json_type_object))
                return fail(reterr_reason, "LIST response has no metadata");
        rv = member_string(md, "resourceVersion");
        if (!rv || !*rv)
                return fail(reterr_reason, "LIST response has no metadata.resourceVersion");

        /* Kubernetes sends "items": [] or null for an empty list. */
        items = member(root, "items");
        if (items && !json_object_is_type(items, json_type_array))
                return fail(reterr_reason, "LIST response items must be an array, not %s", type_name(items));
        if (items)
                count = json_object_array_length(items);

        for (size_t i = 0; i < count; i++) {
                json_object *item = json_object_array_get_idx(items, i);

                if (!json_object_is_type(item, json_type_object))
                        return fail(reterr_reason, "LIST response items[%zu] must be an object, not %s", i,
                                    type_name(item));
        }

        if (ret_resource_version) {
                rv_copy = strdup(rv);
                if (!rv_copy)
                        return -ENOMEM;
        }

        if (count > 0) {
                array = calloc(count, sizeof(json_object *));
                if (!array)
                        return -ENOMEM;
                for (size_t i = 0; i < count; i++)
                        array[i] = json_object_get(json_object_array_get_idx(items, i));
        }

        *ret_items = array;
        *ret_n = count;
        if (ret_resource_version)
                *ret_resource_version = TAKE_PTR(rv_copy);
        return 0;
}
