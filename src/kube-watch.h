/* kube-watch.h — pure parsers of Kubernetes list bodies and watch streams (newline-delimited
 * JSON events, split across any chunk boundary). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

typedef enum WatchEventType {
        WATCH_EVENT_ADDED,
        WATCH_EVENT_MODIFIED,
        WATCH_EVENT_DELETED,
        WATCH_EVENT_BOOKMARK,
        WATCH_EVENT_ERROR,              /* object is a metav1.Status; code 410 means "re-list" */
        _WATCH_EVENT_TYPE_MAX,
        _WATCH_EVENT_TYPE_INVALID = -EINVAL,
} WatchEventType;

typedef struct WatchEvent {
        WatchEventType type;
        json_object *object;            /* borrowed for the callback's duration; take a ref to keep it */
        const char *resource_version;   /* object.metadata.resourceVersion, or NULL */
        int status_code;                /* ERROR events: Status.code (e.g. 410), else 0 */
        const char *status_reason;      /* ERROR events: Status.reason (e.g. "Expired"), else NULL */
} WatchEvent;

/* Return a negative errno to stop feeding; it is passed back by watch_parser_feed(). */
typedef int (*WatchEventFn)(const WatchEvent *e, void *userdata);

typedef struct WatchParser {
        char *buf;                      /* the partial line carried between chunks */
        size_t len, alloc;
        size_t max_event_bytes;         /* a line longer than this is an error, not a crash */
        bool failed;                    /* set after an error; feeding again returns -EBADMSG */
} WatchParser;

/* etcd's limit for one object is 1.5 MiB; a line over 2 MiB is no Kubernetes object. Together with
 * JSON_MAX_VALUES per line this bounds what one event costs (see README.md, "Limits"). */
#define WATCH_DEFAULT_MAX_EVENT_BYTES (2U * 1024U * 1024U)

void watch_parser_init(WatchParser *p, size_t max_event_bytes);
void watch_parser_done(WatchParser *p);
void watch_parser_reset(WatchParser *p);       /* forget any partial line and the failed state */

/* Feeds a chunk of the stream. Calls cb for every complete event, in order.
 *   0:           consumed (a trailing partial line is kept for the next call).
 *   -EMSGSIZE:   a line exceeds max_event_bytes, or holds more than JSON_MAX_VALUES values.
 *   -EBADMSG:    a line is not a JSON object with a known "type" and an object "object".
 *   cb's negative return, or -ENOMEM.
 * After an error the parser is failed until reset. Blank lines are ignored. */
int watch_parser_feed(WatchParser *p, const char *data, size_t n, WatchEventFn cb, void *userdata);

/* Parses a LIST response (kind *List): a new array of new references to its items, and
 * metadata.resourceVersion (malloc'd). 0, -EBADMSG (*reterr_reason; also for a body of more than
 * JSON_MAX_VALUES values) or -ENOMEM. */
int kube_list_parse(const char *body, size_t n, json_object ***ret_items, size_t *ret_n,
                    char **ret_resource_version, char **reterr_reason);

const char *watch_event_type_to_string(WatchEventType t);
WatchEventType watch_event_type_from_string(const char *s);

/* Releases what kube_list_parse() returned (items may be NULL when n is 0). */
void kube_list_free(json_object **items, size_t n);
