/* kube-reflector.c — list+watch of one Kubernetes collection into a store, after client-go's
 * reflector: bookmarks, re-list on 410 Gone, jittered watch timeouts, backoff while away. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "event-util.h"
#include "json-util.h"
#include "kube-reflector.h"
#include "kube-watch.h"
#include "log.h"
#include "macro.h"
#include "metrics-server.h"
#include "util.h"

/* Without the CRD, looking again every minute picks up a KubeVirt installed later. */
#define CRD_MISSING_RETRY_USEC (60 * USEC_PER_SEC)
/* client-go picks a watch timeout between 5 and 10 minutes so that watches of many clients
 * do not all end together. */
#define WATCH_TIMEOUT_MIN_SEC 300
#define WATCH_TIMEOUT_SPREAD_SEC 300
/* Two kinds of failure back off. The server away (refused, reset, 5xx, a bad LIST) counts in
 * failures, which a watch established again resets. A server that answers but misbehaves on the
 * watch (ends it cleanly at once, 410 after every LIST, an oversized, malformed or foreign event)
 * counts in bad_streak, which only a watch that proved healthy resets: one that lived
 * WATCH_HEALTHY_MIN_USEC, or WATCH_HEALTHY_USEC when the server ended it cleanly without a single
 * event. So such a server is retried with the growing backoff, not at the speed of the network
 * (client-go resets its backoff only after a quiet period too). */
#define WATCH_HEALTHY_USEC (30 * USEC_PER_SEC)
#define WATCH_HEALTHY_MIN_USEC (2 * USEC_PER_SEC)
/* 410 Gone re-lists at once this many times in a row (compaction can catch a fresh LIST's
 * resourceVersion once more); after that, with the backoff. */
#define GONE_STREAK_MAX 2
/* What the objects kept in one store may add up to, in json_scan() units (~450 bytes each at
 * worst): the same as one document, ~9 MB. */
#define STORE_MAX_VALUES JSON_MAX_VALUES

struct KubeReflector {
        sd_event *event;
        KubeClient *client;
        KubeReflectorFn cb;
        void *userdata;

        char *what;
        char *resource;
        char *path;
        char *field_selector;
        char *name;                     /* the one object this collection may hold, or NULL */
        bool optional;
        char *empty_warning;
        uint64_t idle_timeout_usec;

        json_object *store;             /* "namespace/name" → object */
        char *resource_version;
        char *put_key, *put_rv;         /* put from a write's answer; its watch event not seen yet */
        unsigned put_skips;             /* events held back meanwhile */
        char *seen_rv[16];              /* the resourceVersions of the last events */
        unsigned seen_next;
        bool synced;                    /* listed at least once */
        bool current;                   /* a watch is established (or the CRD is absent) */
        bool relist;                    /* the next attempt is a LIST */
        bool changed;                   /* the store changed since the owner cleared this */
        unsigned failures;
        unsigned bad_streak;            /* watches that misbehaved since the last healthy one */
        uint64_t watch_start_usec;      /* when the current watch was established */
        unsigned watch_events;          /* ADDED/MODIFIED/DELETED/BOOKMARK it delivered */
        unsigned gone_streak;           /* 410 re-lists since the last healthy watch */
        KubeRequest *req;
        WatchParser parser;
        sd_event_source *retry;
        char *last_error;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(KubeReflector *, kube_reflector_free);

static void reflector_attempt(KubeReflector *r);

static void reflector_notify(KubeReflector *r) {
        if (r->cb)
                r->cb(r, r->userdata);
}

static int on_reflector_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        reflector_attempt(userdata);
        return 0;
}

static void reflector_schedule(KubeReflector *r, uint64_t delay_usec) {
        int k;

        k = event_timer_arm(r->event, &r->retry, delay_usec, on_reflector_retry, r, "kube-reflector-retry");
        if (k < 0)
                log_error_errno(k, "Failed to schedule a retry for %s: %m", r->what);
}

static void reflector_fail(KubeReflector *r, const char *fmt, ...) _printf_(2, 3);
static void reflector_fail(KubeReflector *r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        uint64_t delay;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);

        delay = kube_client_retry_delay_usec(MAX(r->failures, r->bad_streak));
        /* The first failure is news; repeats while the server stays away are not. */
        log_full_errno(r->failures == 0 && r->bad_streak <= 1 ? LOG_WARNING : LOG_DEBUG, 0,
                       "%s; retrying in %" PRIu64 " ms.",
                       strna(msg), delay / USEC_PER_MSEC);
        r->failures++;
        if (msg) {
                free(r->last_error);
                r->last_error = TAKE_PTR(msg);
        }
        r->current = false;
        reflector_schedule(r, delay);
        reflector_notify(r);
}

/* Fails the attempt after an HTTP answer that is not a success, saying what the status means. */
static void reflector_fail_status(KubeReflector *r, bool watch, long status, const char *body) {
        KubeStatusClass c = kube_status_class(status);
        char buf[256];
        const char *msg = kube_status_message(body, buf, sizeof(buf));

        if (c == KUBE_STATUS_FORBIDDEN)
                reflector_fail(r, "Forbidden to %s %s: the daemon's identity needs %s on %s (see deploy/rbac.yaml): %s",
                               watch ? "watch" : "list", r->what, watch ? "watch" : "get/list/watch", r->resource, msg);
        else if (watch)
                reflector_fail(r, "Watch of %s failed: HTTP %ld, %s: %s", r->what, status,
                               kube_status_class_to_string(c), msg);
        else
                reflector_fail(r, "Failed to list %s: HTTP %ld, %s: %s", r->what, status,
                               kube_status_class_to_string(c), msg);
}

/* The store key of an object, "namespace/name". false for an object without a name. */
static bool store_key(json_object *obj, char *key, size_t size) {
        json_object *meta, *ns = NULL, *name = NULL;

        if (!json_object_object_get_ex(obj, "metadata", &meta) ||
            !json_object_object_get_ex(meta, "name", &name))
                return false;
        (void) json_object_object_get_ex(meta, "namespace", &ns);
        snprintf(key, size, "%s/%s", ns ? json_object_get_string(ns) : "", json_object_get_string(name));
        return true;
}

static const char *object_name(json_object *obj) {
        json_object *meta, *name;

        if (!json_object_object_get_ex(obj, "metadata", &meta) ||
            !json_object_object_get_ex(meta, "name", &name) ||
            !json_object_is_type(name, json_type_string))
                return NULL;
        return json_object_get_string(name);
}

/* A collection of one name (the node's field selector) holds nothing else, whatever the server
 * sends: an object of another name must not become the basis for KSM. */
static bool reflector_wants(const KubeReflector *r, json_object *obj) {
        return !r->name || streq_ptr(object_name(obj), r->name);
}

/* 1 stored, 0 no name, -EXDEV another name than the collection's one, -EMSGSIZE the store would
 * grow over STORE_MAX_VALUES. */
static int reflector_store_put(KubeReflector *r, json_object *obj) {
        size_t total;
        char key[512];

        if (!store_key(obj, key, sizeof(key)))
                return 0;
        if (!reflector_wants(r, obj))
                return -EXDEV;

        total = json_value_count(obj, STORE_MAX_VALUES);
        json_object_object_foreach(r->store, k, v)
                if (total <= STORE_MAX_VALUES && !streq(k, key))
                        total += json_value_count(v, STORE_MAX_VALUES);
        if (total > STORE_MAX_VALUES)
                return -EMSGSIZE;

        json_object_object_add(r->store, key, json_object_get(obj));
        r->changed = true;
        return 1;
}

static void reflector_store_delete(KubeReflector *r, json_object *obj) {
        char key[512];

        if (!store_key(obj, key, sizeof(key)))
                return;
        json_object_object_del(r->store, key);
        r->changed = true;
}

static const char *object_rv(json_object *obj) {
        json_object *meta, *rv;

        if (!json_object_object_get_ex(obj, "metadata", &meta) || !json_object_object_get_ex(meta, "resourceVersion", &rv))
                return NULL;
        return json_object_get_string(rv);
}

static void reflector_put_forget(KubeReflector *r) {
        r->put_key = mfree(r->put_key);
        r->put_rv = mfree(r->put_rv);
        r->put_skips = 0;
}

static void reflector_seen_add(KubeReflector *r, json_object *obj) {
        const char *rv = object_rv(obj);

        if (rv && free_and_strdup(&r->seen_rv[r->seen_next], rv) >= 0)
                r->seen_next = (r->seen_next + 1) % ELEMENTSOF(r->seen_rv);
}

static bool reflector_seen(KubeReflector *r, const char *rv) {
        for (size_t i = 0; i < ELEMENTSOF(r->seen_rv); i++)
                if (streq_ptr(r->seen_rv[i], rv))
                        return true;
        return false;
}

static void reflector_seen_forget(KubeReflector *r) {
        reflector_put_forget(r);
        for (size_t i = 0; i < ELEMENTSOF(r->seen_rv); i++)
                r->seen_rv[i] = mfree(r->seen_rv[i]);
}

/* Past this many events without the one of a write's answer, it is not coming (it cannot be
 * overtaken: events come in order): the event at hand is taken. */
#define PUT_MAX_SKIPS 64

/* Events come in order: until the event of the object put from a write's answer arrives, every
 * event about that object is older than what the store holds, and must not replace it (a
 * reconcile on that older view would send the same patch again). True: obj is held back. */
static bool reflector_put_is_newer(KubeReflector *r, json_object *obj) {
        const char *rv = object_rv(obj);
        char key[512];

        reflector_seen_add(r, obj);
        if (!r->put_rv || !store_key(obj, key, sizeof(key)) || !streq_ptr(key, r->put_key))
                return false;
        if (streq_ptr(rv, r->put_rv) || ++r->put_skips > PUT_MAX_SKIPS) {
                reflector_put_forget(r);
                return false;
        }
        return true;
}

static int reflector_set_rv(KubeReflector *r, const char *rv) {
        if (!rv || !*rv)
                return 0;
        return free_and_strdup(&r->resource_version, rv);
}

/* The optional collection does not exist: an empty store that counts as current. */
static void reflector_collection_missing(KubeReflector *r) {
        log_notice("The API server has no %s (is KubeVirt installed?); treating it as no KubeVirt CR.",
                   r->resource);
        json_object_put(r->store);
        r->store = json_object_new_object();
        r->synced = r->current = r->changed = true;
        r->relist = true;
        r->failures = 0;
        reflector_schedule(r, CRD_MISSING_RETRY_USEC);
        reflector_notify(r);
}

static void on_list_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        KubeReflector *r = userdata;
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        KubeStatusClass c;
        size_t n = 0;
        int k;

        r->req = NULL;

        if (error < 0) {
                reflector_fail(r, "Failed to list %s: %s", r->what, strerror(-error));
                return;
        }
        c = kube_status_class(status);
        if (c == KUBE_STATUS_NOT_FOUND && r->optional) {
                reflector_collection_missing(r);
                return;
        }
        if (c != KUBE_STATUS_SUCCESS) {
                reflector_fail_status(r, false, status, body);
                return;
        }

        k = kube_list_parse(body, len, &items, &n, &rv, &reason);
        if (k < 0) {
                reflector_fail(r, "Failed to parse the list of %s: %s", r->what, reason ?: strerror(-k));
                return;
        }

        if (r->name && (n > 1 || (n == 1 && !reflector_wants(r, items[0])))) {
                if (n > 1)
                        reflector_fail(r, "Failed to list %s: the answer holds %zu objects, expected at most one",
                                       r->what, n);
                else
                        reflector_fail(r, "Failed to list %s: the answer holds an object named %.64s", r->what,
                                       strna(object_name(items[0])));
                kube_list_free(items, n);
                return;
        }

        json_object_put(r->store);
        r->store = json_object_new_object();
        reflector_seen_forget(r);
        for (size_t i = 0; i < n; i++)
                (void) reflector_store_put(r, items[i]);
        kube_list_free(items, n);
        r->changed = true;
        r->synced = true;
        r->relist = false;
        (void) reflector_set_rv(r, rv);

        if (n == 0 && r->empty_warning)
                log_warning("%s", r->empty_warning);
        log_debug("Listed %zu %s at resourceVersion %s.", n, r->what, strna(r->resource_version));

        reflector_attempt(r);   /* watch from here */
        reflector_notify(r);
}

static int on_watch_event(const WatchEvent *e, void *userdata) {
        KubeReflector *r = userdata;
        int k;

        /* Only a complete event proves the watch alive: bytes dripping without one do not. */
        kube_request_touch(r->req);

        switch (e->type) {
        case WATCH_EVENT_ADDED:
        case WATCH_EVENT_MODIFIED:
                if (!reflector_wants(r, e->object))
                        return -EXDEV;
                if (!reflector_put_is_newer(r, e->object)) {
                        k = reflector_store_put(r, e->object);
                        if (k < 0)
                                return k;
                }
                r->watch_events++;
                break;
        case WATCH_EVENT_DELETED:
                if (!reflector_wants(r, e->object))
                        return -EXDEV;
                reflector_put_forget(r);
                reflector_store_delete(r, e->object);
                r->watch_events++;
                break;
        case WATCH_EVENT_BOOKMARK:
                r->watch_events++;
                break;
        case WATCH_EVENT_ERROR:
                /* An API Status inside the stream: counted like one in a response. */
                metrics_count_api_result(&metrics_counters, 0, e->status_code);
                if (e->status_code == 410)
                        return -ESTALE;
                log_warning("Watch of %s ended with an error: %d %s.", r->what, e->status_code, strna(e->status_reason));
                return -EPROTO;
        default:
                return -EBADMSG;
        }
        return reflector_set_rv(r, e->resource_version);
}

static int on_watch_data(KubeRequest *req, const char *data, size_t n, void *userdata) {
        KubeReflector *r = userdata;
        int k;

        if (!data) {
                /* 200: the watch is established: the server is back (bad_streak is reset only
                 * once the watch proved healthy). */
                r->current = true;
                r->failures = 0;
                r->watch_events = 0;
                kube_request_touch(req);
                (void) sd_event_now(r->event, CLOCK_BOOTTIME, &r->watch_start_usec);
                r->last_error = mfree(r->last_error);
                reflector_notify(r);
                return 0;
        }

        k = watch_parser_feed(&r->parser, data, n, on_watch_event, r);
        if (r->changed)
                reflector_notify(r);
        return k;
}

/* Whether the watch that just ended (established at watch_start_usec) showed a sane server, see
 * WATCH_HEALTHY_USEC. clean: the server ended it with a normal end of the stream. */
static bool reflector_watch_healthy(KubeReflector *r, bool clean) {
        uint64_t now = 0, lived;

        if (r->watch_start_usec == 0)
                return false;   /* never established */
        (void) sd_event_now(r->event, CLOCK_BOOTTIME, &now);
        lived = now > r->watch_start_usec ? now - r->watch_start_usec : 0;
        return lived >= WATCH_HEALTHY_USEC ||
                (lived >= WATCH_HEALTHY_MIN_USEC && (r->watch_events > 0 || !clean));
}

static void on_watch_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        KubeReflector *r = userdata;
        KubeStatusClass c = kube_status_class(status);
        bool healthy = reflector_watch_healthy(r, error == 0 && c == KUBE_STATUS_SUCCESS);

        r->req = NULL;
        r->current = false;
        r->watch_start_usec = 0;
        watch_parser_reset(&r->parser);
        if (healthy) {
                r->bad_streak = 0;
                r->gone_streak = 0;
        }

        if (error == -ESTALE || c == KUBE_STATUS_GONE) {
                r->relist = true;
                if (r->gone_streak >= GONE_STREAK_MAX) {
                        /* 410 again and again with no healthy watch in between: a loop, not
                         * compaction (which the first re-lists answered). */
                        r->bad_streak++;
                        reflector_fail(r, "Watch of %s answered 410 Gone again right after listing; re-listing", r->what);
                        return;
                }
                r->gone_streak++;
                log_info("resourceVersion of %s expired (410 Gone), re-listing.", r->what);
                reflector_notify(r);
                reflector_attempt(r);
                return;
        }
        if (error == 0 && c == KUBE_STATUS_SUCCESS) {
                if (!healthy) {
                        r->bad_streak++;
                        reflector_fail(r, "Watch of %s ended at once without events", r->what);
                        return;
                }
                /* The server ended the watch (timeoutSeconds): resume from the last resourceVersion. */
                log_debug("Watch of %s ended, resuming from %s.", r->what, strna(r->resource_version));
                reflector_attempt(r);
                return;
        }
        if (error == -EMSGSIZE || error == -EBADMSG || error == -EXDEV) {
                r->relist = true;
                if (!healthy)
                        r->bad_streak++;
                reflector_fail(r, "Watch of %s sent %s; re-listing", r->what,
                               error == -EMSGSIZE ? "an event over the size limit" :
                               error == -EXDEV ? "an object of another name" : "a malformed event");
                return;
        }
        if (error < 0) {
                reflector_fail(r, "Watch of %s failed: %s", r->what, strerror(-error));
                return;
        }
        reflector_fail_status(r, true, status, body);
}

static void reflector_attempt(KubeReflector *r) {
        _cleanup_free_ char *path = NULL, *rv = NULL;
        int e;

        if (r->req)
                return;
        event_timer_disarm(r->retry);

        if (r->relist || !r->resource_version) {
                path = strdup_printf("%s%s%s", r->path, r->field_selector ? "?fieldSelector=" : "",
                                     strempty(r->field_selector));
                if (!path) {
                        (void) log_oom();
                        return;
                }
                e = kube_client_start(r->client, &(KubeRequestOptions) { .method = "GET", .path = path },
                                      NULL, on_list_done, r, &r->req);
        } else {
                rv = kube_client_escape(r->resource_version);
                if (rv)
                        path = strdup_printf("%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u%s%s",
                                             r->path, rv,
                                             WATCH_TIMEOUT_MIN_SEC + kube_client_random_u32() % WATCH_TIMEOUT_SPREAD_SEC,
                                             r->field_selector ? "&fieldSelector=" : "", strempty(r->field_selector));
                if (!path) {
                        (void) log_oom();
                        return;
                }
                e = kube_client_start(r->client,
                                      &(KubeRequestOptions) { .method = "GET", .path = path, .stream = true,
                                                              .idle_timeout_usec = r->idle_timeout_usec,
                                                              .idle_manual = true },
                                      on_watch_data, on_watch_done, r, &r->req);
        }
        if (e < 0)
                reflector_fail(r, "Failed to start a request for %s: %s", r->what, strerror(-e));
}

void kube_reflector_start(KubeReflector *r) {
        assert(r);
        reflector_attempt(r);
}

int kube_reflector_new(sd_event *e, KubeClient *client, const KubeReflectorOptions *o,
                       KubeReflectorFn cb, void *userdata, KubeReflector **ret) {
        _cleanup_(kube_reflector_freep) KubeReflector *r = NULL;

        assert(e && client && o && o->what && o->resource && o->path && ret);

        r = calloc(1, sizeof(KubeReflector));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        r->client = client;
        r->cb = cb;
        r->userdata = userdata;
        r->optional = o->optional;
        r->idle_timeout_usec = o->idle_timeout_usec;
        r->relist = true;
        watch_parser_init(&r->parser, WATCH_DEFAULT_MAX_EVENT_BYTES);

        if (free_and_strdup(&r->what, o->what) < 0 ||
            free_and_strdup(&r->resource, o->resource) < 0 ||
            free_and_strdup(&r->path, o->path) < 0 ||
            free_and_strdup(&r->field_selector, o->field_selector) < 0 ||
            free_and_strdup(&r->name, o->name) < 0 ||
            free_and_strdup(&r->empty_warning, o->empty_warning) < 0)
                return -ENOMEM;
        r->store = json_object_new_object();
        if (!r->store)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

KubeReflector *kube_reflector_free(KubeReflector *r) {
        if (!r)
                return NULL;
        kube_request_cancel(r->req);
        sd_event_source_disable_unref(r->retry);
        watch_parser_done(&r->parser);
        if (r->store)
                json_object_put(r->store);
        free(r->resource_version);
        reflector_seen_forget(r);
        free(r->what);
        free(r->resource);
        free(r->path);
        free(r->field_selector);
        free(r->name);
        free(r->empty_warning);
        free(r->last_error);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

json_object *kube_reflector_store(const KubeReflector *r) {
        return r->store;
}

int kube_reflector_put(KubeReflector *r, json_object *obj) {
        json_object *old = NULL;
        const char *rv = object_rv(obj);
        char key[512];
        int k;

        if (!r->synced || !rv || !store_key(obj, key, sizeof(key)))
                return 0;
        /* A write that changed nothing keeps the resourceVersion and has no watch event to wait
         * for; and the watch may have brought the write's event (and newer ones) already. */
        if (json_object_object_get_ex(r->store, key, &old) && streq_ptr(object_rv(old), rv))
                return 0;
        if (reflector_seen(r, rv))
                return 0;
        reflector_put_forget(r);
        if (free_and_strdup(&r->put_key, key) < 0 || free_and_strdup(&r->put_rv, rv) < 0) {
                reflector_put_forget(r);
                return -ENOMEM;
        }
        k = reflector_store_put(r, obj);
        if (k <= 0)
                reflector_put_forget(r);
        return k > 0;
}

bool kube_reflector_synced(const KubeReflector *r) {
        return r->synced;
}

bool kube_reflector_current(const KubeReflector *r) {
        return r->current;
}

const char *kube_reflector_last_error(const KubeReflector *r) {
        return r->last_error;
}

bool kube_reflector_changed(const KubeReflector *r) {
        return r->changed;
}

void kube_reflector_clear_changed(KubeReflector *r) {
        r->changed = false;
}
