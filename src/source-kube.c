/* source-kube.c — [Source] Type=kubernetes: list then watch the KubeVirt CRs and this Node the way
 * client-go's reflector does, merge-patch the Node, and post Events. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "kube-client.h"
#include "kube-objects.h"
#include "kube-watch.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "source-kube.h"

#define BACKOFF_BASE_USEC (500 * USEC_PER_MSEC)
#define BACKOFF_CAP_USEC (30 * USEC_PER_SEC)
#define CRD_MISSING_RETRY_USEC (60 * USEC_PER_SEC)
/* client-go picks a watch timeout between 5 and 10 minutes so that watches of many clients
 * do not all end together. */
#define WATCH_TIMEOUT_MIN_SEC 300
#define WATCH_TIMEOUT_SPREAD_SEC 300
#define MAX_EVENT_REQUESTS 4

typedef struct SourceKube SourceKube;

typedef struct Reflector {
        SourceKube *owner;
        char *what;                     /* for messages: "KubeVirt CRs", "node node01" */
        char *resource;                 /* for RBAC messages: "kubevirts.kubevirt.io", "nodes" */
        char *path;                     /* the collection */
        char *field_selector;           /* escaped "metadata.name%3Dnode01", or NULL */
        bool optional;                  /* 404 on the collection means "none" (CRD not installed) */

        json_object *store;             /* "namespace/name" → object */
        char *resource_version;
        bool synced;                    /* listed at least once */
        bool current;                   /* a watch is established (or the CRD is absent) */
        bool relist;                    /* the next attempt is a LIST */
        bool changed;                   /* the store changed since the last publish */
        unsigned failures;
        KubeRequest *req;
        WatchParser parser;
        sd_event_source *retry;
        char *last_error;
} Reflector;

struct SourceKube {
        Source *source;
        KubeClient *client;
        Reflector kubevirts, node;
        uint64_t idle_timeout_usec;
        char *event_namespace;

        KubeRequest *patch_req;
        json_object *patch_inflight;
        json_object *patch_pending;
        unsigned patch_failures;
        sd_event_source *patch_retry;

        char *patch_error;              /* why the last node patch was refused, until one succeeds */

        KubeRequest *event_reqs[MAX_EVENT_REQUESTS];

        bool published_connected;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static uint32_t random_u32(void) {
        uint32_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint32_t) time(NULL) ^ (uint32_t) getpid();
        return v;
}

uint64_t source_kube_backoff_usec(unsigned attempt, uint64_t cap_usec, uint32_t random) {
        uint64_t d = BACKOFF_BASE_USEC;

        for (unsigned i = 0; i < attempt && d < cap_usec; i++)
                d *= 2;
        d = MIN(d, cap_usec);
        /* ±20 % jitter so that a fleet of nodes does not come back in lockstep. */
        return d - d / 5 + (d * 2 / 5) * (random % 1001) / 1000;
}

static SourceKube *kube(Source *s) {
        return s->data;
}

/* ---- publishing the view ------------------------------------------------------------------ */

static void source_kube_publish(SourceKube *k) {
        Source *s = k->source;
        bool connected = k->kubevirts.current && k->node.current;
        bool changed = k->kubevirts.changed || k->node.changed || connected != k->published_connected;

        if (k->kubevirts.changed && k->kubevirts.synced) {
                size_t n = (size_t) json_object_object_length(k->kubevirts.store), i = 0;
                json_object **crs = n > 0 ? calloc(n, sizeof(json_object *)) : NULL;

                if (n > 0 && !crs) {
                        (void) log_oom();
                        return;
                }
                json_object_object_foreach(k->kubevirts.store, key, val) {
                        (void) key;
                        crs[i++] = json_object_get(val);
                }
                source_set_kubevirts(s, crs, n);
        }
        if (k->node.changed && k->node.synced) {
                json_object *node = NULL;

                json_object_object_foreach(k->node.store, key, val) {
                        (void) key;
                        node = val;
                }
                source_set_node(s, node);
        }
        k->kubevirts.changed = k->node.changed = false;

        if (connected != k->published_connected) {
                if (connected)
                        log_info("Watching the KubeVirt CRs and node %s on %s.", s->node_name, "the API server");
                else
                        log_warning("Lost the watch on the API server; KSM is left as it is until it is back.");
        }
        k->published_connected = connected;
        s->connected = connected;

        if (connected) {
                if (!streq_ptr(s->error, k->patch_error)) {
                        (void) source_set_error(s, k->patch_error);
                        changed = true;
                }
        } else {
                const char *e = k->kubevirts.last_error ?: k->node.last_error;
                _cleanup_free_ char *msg = NULL;

                if (e && (msg = strdup_printf("Not connected to the API server: %s", e)) && !streq_ptr(msg, s->error)) {
                        (void) source_set_error(s, msg);
                        changed = true;
                }
        }

        if (changed)
                source_notify(s);
}

/* ---- reflectors ----------------------------------------------------------------------------- */

static void reflector_attempt(Reflector *r);

static int on_reflector_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        reflector_attempt(userdata);
        return 0;
}

static void reflector_schedule(Reflector *r, uint64_t delay_usec) {
        Source *s = r->owner->source;
        int k;

        if (!r->retry) {
                k = sd_event_add_time_relative(s->event, &r->retry, CLOCK_BOOTTIME, delay_usec, USEC_PER_MSEC * 10,
                                               on_reflector_retry, r);
                if (k < 0) {
                        log_error_errno(k, "Failed to schedule a retry for %s: %m", r->what);
                        return;
                }
                (void) sd_event_source_set_description(r->retry, "kube-reflector-retry");
                return;
        }
        (void) sd_event_source_set_time_relative(r->retry, delay_usec);
        (void) sd_event_source_set_enabled(r->retry, SD_EVENT_ONESHOT);
}

static void reflector_fail(Reflector *r, const char *fmt, ...) _printf_(2, 3);
static void reflector_fail(Reflector *r, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        uint64_t delay;
        va_list ap;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);

        delay = source_kube_backoff_usec(r->failures, BACKOFF_CAP_USEC, random_u32());
        /* The first failure is news; repeats while the server stays away are not. */
        log_full_errno(r->failures == 0 ? LOG_WARNING : LOG_DEBUG, 0, "%s; retrying in %" PRIu64 " ms.",
                       strna(msg), delay / USEC_PER_MSEC);
        r->failures++;
        if (msg) {
                free(r->last_error);
                r->last_error = TAKE_PTR(msg);
        }
        r->current = false;
        reflector_schedule(r, delay);
        source_kube_publish(r->owner);
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

static void reflector_store_put(Reflector *r, json_object *obj) {
        char key[512];

        if (!store_key(obj, key, sizeof(key)))
                return;
        json_object_object_add(r->store, key, json_object_get(obj));
        r->changed = true;
}

static void reflector_store_delete(Reflector *r, json_object *obj) {
        char key[512];

        if (!store_key(obj, key, sizeof(key)))
                return;
        json_object_object_del(r->store, key);
        r->changed = true;
}

static int reflector_set_rv(Reflector *r, const char *rv) {
        if (!rv || !*rv)
                return 0;
        return free_and_strdup(&r->resource_version, rv);
}

static const char *http_problem(Reflector *r, long status, const char *verb) {
        switch (status) {
        case 401:
                kube_client_invalidate_token(r->owner->client);
                return "unauthorized (token rejected; re-reading the token file)";
        case 403:
                return verb;    /* the caller words the RBAC hint */
        case 429:
                return "too many requests";
        default:
                return status >= 500 ? "server error" : "unexpected response";
        }
}

static void on_list_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        Reflector *r = userdata;
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        size_t n = 0;
        char msg[256];
        int k;

        r->req = NULL;

        if (error < 0) {
                reflector_fail(r, "Failed to list %s: %s", r->what, strerror(-error));
                return;
        }
        if (status == 404 && r->optional) {
                log_notice("The API server has no %s (is KubeVirt installed?); treating it as no KubeVirt CR.",
                           r->resource);
                json_object_put(r->store);
                r->store = json_object_new_object();
                r->synced = r->current = r->changed = true;
                r->relist = true;
                r->failures = 0;
                reflector_schedule(r, CRD_MISSING_RETRY_USEC);
                source_kube_publish(r->owner);
                return;
        }
        if (status == 403) {
                reflector_fail(r, "Forbidden to list %s: the daemon's identity needs get/list/watch on %s "
                               "(see deploy/rbac.yaml): %s", r->what, r->resource,
                               kube_status_message(body, msg, sizeof(msg)));
                return;
        }
        if (status != 200) {
                reflector_fail(r, "Failed to list %s: HTTP %ld, %s: %s", r->what, status,
                               http_problem(r, status, "forbidden"), kube_status_message(body, msg, sizeof(msg)));
                return;
        }

        k = kube_list_parse(body, len, &items, &n, &rv, &reason);
        if (k < 0) {
                reflector_fail(r, "Failed to parse the list of %s: %s", r->what, reason ?: strerror(-k));
                return;
        }

        json_object_put(r->store);
        r->store = json_object_new_object();
        for (size_t i = 0; i < n; i++) {
                reflector_store_put(r, items[i]);
                json_object_put(items[i]);
        }
        free(items);
        r->changed = true;
        r->synced = true;
        r->relist = false;
        (void) reflector_set_rv(r, rv);

        if (r == &r->owner->node && n == 0)
                log_warning("Node %s does not exist on the API server; KSM is left as it is.", r->owner->source->node_name);
        log_debug("Listed %zu %s at resourceVersion %s.", n, r->what, strna(r->resource_version));

        reflector_attempt(r);   /* watch from here */
        source_kube_publish(r->owner);
}

static int on_watch_event(const WatchEvent *e, void *userdata) {
        Reflector *r = userdata;

        switch (e->type) {
        case WATCH_EVENT_ADDED:
        case WATCH_EVENT_MODIFIED:
                reflector_store_put(r, e->object);
                break;
        case WATCH_EVENT_DELETED:
                reflector_store_delete(r, e->object);
                break;
        case WATCH_EVENT_BOOKMARK:
                break;
        case WATCH_EVENT_ERROR:
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
        Reflector *r = userdata;
        int k;

        if (!data) {
                /* 200: the watch is established. */
                r->current = true;
                r->failures = 0;
                free(r->last_error);
                r->last_error = NULL;
                source_kube_publish(r->owner);
                return 0;
        }

        k = watch_parser_feed(&r->parser, data, n, on_watch_event, r);
        if (r->changed)
                source_kube_publish(r->owner);
        return k;
}

static void on_watch_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        Reflector *r = userdata;
        char msg[256];

        r->req = NULL;
        r->current = false;
        watch_parser_reset(&r->parser);

        if (error == -ESTALE || status == 410) {
                log_info("resourceVersion of %s expired (410 Gone), re-listing.", r->what);
                r->relist = true;
                source_kube_publish(r->owner);
                reflector_attempt(r);
                return;
        }
        if (error == 0 && status == 200) {
                /* The server ended the watch (timeoutSeconds): resume from the last resourceVersion. */
                log_debug("Watch of %s ended, resuming from %s.", r->what, strna(r->resource_version));
                reflector_attempt(r);
                return;
        }
        if (error == -EMSGSIZE || error == -EBADMSG) {
                r->relist = true;
                reflector_fail(r, "Watch of %s sent %s; re-listing", r->what,
                               error == -EMSGSIZE ? "an event over the size limit" : "a malformed event");
                return;
        }
        if (error < 0) {
                reflector_fail(r, "Watch of %s failed: %s", r->what, strerror(-error));
                return;
        }
        if (status == 403) {
                reflector_fail(r, "Forbidden to watch %s: the daemon's identity needs watch on %s "
                               "(see deploy/rbac.yaml): %s", r->what, r->resource,
                               kube_status_message(body, msg, sizeof(msg)));
                return;
        }
        reflector_fail(r, "Watch of %s failed: HTTP %ld, %s: %s", r->what, status,
                       http_problem(r, status, "forbidden"), kube_status_message(body, msg, sizeof(msg)));
}

static void reflector_attempt(Reflector *r) {
        SourceKube *k = r->owner;
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ char *rv = NULL;
        int e;

        if (r->req)
                return;
        if (r->retry)
                (void) sd_event_source_set_enabled(r->retry, SD_EVENT_OFF);

        if (r->relist || !r->resource_version) {
                if (!(path = strdup_printf("%s%s%s", r->path, r->field_selector ? "?fieldSelector=" : "",
                             strempty(r->field_selector))))
                        goto oom;
                e = kube_client_start(k->client, &(KubeRequestOptions) { .method = "GET", .path = path },
                                      NULL, on_list_done, r, &r->req);
        } else {
                rv = curl_easy_escape(NULL, r->resource_version, 0);
                if (!rv)
                        goto oom;
                if (!(path = strdup_printf("%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u%s%s",
                             r->path, rv, WATCH_TIMEOUT_MIN_SEC + random_u32() % WATCH_TIMEOUT_SPREAD_SEC,
                             r->field_selector ? "&fieldSelector=" : "", strempty(r->field_selector))))
                        goto oom;
                e = kube_client_start(k->client,
                                      &(KubeRequestOptions) { .method = "GET", .path = path, .stream = true,
                                                              .idle_timeout_usec = k->idle_timeout_usec },
                                      on_watch_data, on_watch_done, r, &r->req);
        }
        if (e < 0)
                reflector_fail(r, "Failed to start a request for %s: %s", r->what, strerror(-e));
        return;

oom:
        (void) log_oom();
}

static int reflector_init(Reflector *r, SourceKube *owner, const char *what, const char *resource,
                          const char *path, const char *field_selector, bool optional) {
        r->owner = owner;
        r->optional = optional;
        r->what = strdup(what);
        r->resource = strdup(resource);
        r->path = strdup(path);
        r->field_selector = field_selector ? strdup(field_selector) : NULL;
        r->store = json_object_new_object();
        r->relist = true;
        watch_parser_init(&r->parser, WATCH_DEFAULT_MAX_EVENT_BYTES);
        if (!r->what || !r->resource || !r->path || (field_selector && !r->field_selector) || !r->store)
                return -ENOMEM;
        return 0;
}

static void reflector_done(Reflector *r) {
        r->req = kube_request_cancel(r->req);
        sd_event_source_disable_unref(r->retry);
        watch_parser_done(&r->parser);
        if (r->store)
                json_object_put(r->store);
        free(r->resource_version);
        free(r->what);
        free(r->resource);
        free(r->path);
        free(r->field_selector);
        free(r->last_error);
}

/* ---- node patches ---------------------------------------------------------------------------- */

static void patch_send(SourceKube *k);

static int on_patch_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        patch_send(userdata);
        return 0;
}

static void patch_retry_later(SourceKube *k, uint64_t delay) {
        int e;

        /* Retry what was in flight unless something newer replaced it meanwhile. */
        if (!k->patch_pending)
                k->patch_pending = TAKE_PTR(k->patch_inflight);
        else
                k->patch_inflight = (json_object_put(k->patch_inflight), NULL);

        if (!k->patch_retry) {
                e = sd_event_add_time_relative(k->source->event, &k->patch_retry, CLOCK_BOOTTIME, delay,
                                               USEC_PER_MSEC * 10, on_patch_retry, k);
                if (e < 0)
                        log_error_errno(e, "Failed to schedule a node patch retry: %m");
                return;
        }
        (void) sd_event_source_set_time_relative(k->patch_retry, delay);
        (void) sd_event_source_set_enabled(k->patch_retry, SD_EVENT_ONESHOT);
}

static void on_patch_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        SourceKube *k = userdata;
        const char *node = k->source->node_name;
        char msg[256];

        k->patch_req = NULL;

        if (error == 0 && status == 200) {
                _cleanup_(json_object_putp) json_object *obj = body ? json_tokener_parse(body) : NULL;

                k->patch_failures = 0;
                if (k->patch_error) {
                        k->patch_error = mfree(k->patch_error);
                        k->node.changed = true;         /* publish the cleared error */
                }
                k->patch_inflight = (json_object_put(k->patch_inflight), NULL);
                /* The watch will say the same; taking the answer now keeps the next reconcile from
                 * sending the same patch again. */
                if (obj && json_object_is_type(obj, json_type_object) && k->node.synced)
                        reflector_store_put(&k->node, obj);
                if (k->node.changed)
                        source_kube_publish(k);
                if (k->patch_pending)
                        patch_send(k);
                return;
        }

        if (error == 0 && (status == 429 || status >= 500)) {
                uint64_t delay = kube_request_retry_after_usec(req);

                if (delay == 0)
                        delay = source_kube_backoff_usec(k->patch_failures, BACKOFF_CAP_USEC, random_u32());
                log_full_errno(k->patch_failures == 0 ? LOG_WARNING : LOG_DEBUG, 0,
                               "Patching node %s: HTTP %ld (%s); retrying in %" PRIu64 " ms.", node, status,
                               kube_status_message(body, msg, sizeof(msg)), delay / USEC_PER_MSEC);
                k->patch_failures++;
                patch_retry_later(k, delay);
                return;
        }
        if (error < 0) {
                uint64_t delay = source_kube_backoff_usec(k->patch_failures, BACKOFF_CAP_USEC, random_u32());

                log_full_errno(k->patch_failures == 0 ? LOG_WARNING : LOG_DEBUG, error,
                               "Failed to patch node %s: %m; retrying in %" PRIu64 " ms.", node, delay / USEC_PER_MSEC);
                k->patch_failures++;
                patch_retry_later(k, delay);
                return;
        }

        /* A refusal: retried with the backoff like any other failure (a permission granted later
         * is picked up without a restart), said once at error level, and published on the bus.
         * A newer patch from a reconcile replaces the pending one but still waits for the backoff,
         * so a refused patch is never hammered at the server. */
        int level = k->patch_failures == 0 ? LOG_ERR : LOG_DEBUG;
        if (status == 403)
                log_full_errno(level, 0, "Forbidden to patch node %s: the daemon's identity needs 'patch' on nodes, limited "
                               "to the kubevirt.io/ksm-* keys (see deploy/rbac.yaml and deploy/node-patch-policy.yaml): %s",
                               node, kube_status_message(body, msg, sizeof(msg)));
        else if (status == 404)
                log_full_errno(level == LOG_ERR ? LOG_WARNING : level, 0, "Node %s is gone from the API server; retrying the patch with backoff: %s",
                               node, kube_status_message(body, msg, sizeof(msg)));
        else if (status == 401) {
                kube_client_invalidate_token(k->client);
                log_warning("Patching node %s: unauthorized; the token file will be re-read.", node);
        } else
                log_full_errno(level, 0, "Failed to patch node %s: HTTP %ld: %s", node, status,
                               kube_status_message(body, msg, sizeof(msg)));
        free(k->patch_error);
        k->patch_error = strdup_printf("Failed to update node %s's KSM label and annotation: HTTP %ld%s",
                                       node, status, status == 403 ? " Forbidden (see the journal for the missing permission)" :
                                       status == 404 ? " Not Found (the node is gone)" : "");
        patch_retry_later(k, source_kube_backoff_usec(k->patch_failures++, BACKOFF_CAP_USEC, random_u32()));
        source_kube_publish(k);
        source_notify(k->source);
}

static void patch_send(SourceKube *k) {
        _cleanup_free_ char *path = NULL, *name = NULL;
        const char *body;
        int e;

        if (k->patch_req || !k->patch_pending)
                return;
        if (k->patch_retry)
                (void) sd_event_source_set_enabled(k->patch_retry, SD_EVENT_OFF);

        json_object_put(k->patch_inflight);
        k->patch_inflight = TAKE_PTR(k->patch_pending);
        body = json_object_to_json_string_ext(k->patch_inflight, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        name = curl_easy_escape(NULL, k->source->node_name, 0);
        if (!name || !(path = strdup_printf("/api/v1/nodes/%s", name))) {
                (void) log_oom();
                return;
        }
        e = kube_client_start(k->client,
                              &(KubeRequestOptions) { .method = "PATCH", .path = path,
                                                      .content_type = "application/merge-patch+json", .body = body },
                              NULL, on_patch_done, k, &k->patch_req);
        if (e < 0) {
                log_warning_errno(e, "Failed to start patching node %s: %m", k->source->node_name);
                patch_retry_later(k, source_kube_backoff_usec(k->patch_failures++, BACKOFF_CAP_USEC, random_u32()));
        }
}

static int source_kube_patch_node(Source *s, json_object *patch) {
        SourceKube *k = kube(s);

        json_object_put(k->patch_pending);
        k->patch_pending = json_object_get(patch);
        if (!k->patch_req && !(k->patch_retry && sd_event_source_get_enabled(k->patch_retry, NULL) > 0))
                patch_send(k);
        return 0;
}

/* ---- events ---------------------------------------------------------------------------------- */

static void on_event_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        SourceKube *k = userdata;
        char msg[256];

        for (size_t i = 0; i < MAX_EVENT_REQUESTS; i++)
                if (k->event_reqs[i] == req)
                        k->event_reqs[i] = NULL;

        if (error < 0)
                log_debug_errno(error, "Failed to post an event on node %s: %m", k->source->node_name);
        else if (status == 403)
                log_warning("Forbidden to post events: the daemon's identity needs 'create' on events "
                            "(see deploy/rbac.yaml): %s", kube_status_message(body, msg, sizeof(msg)));
        else if (status != 201 && status != 200)
                log_debug("Posting an event on node %s: HTTP %ld: %s", k->source->node_name, status,
                          kube_status_message(body, msg, sizeof(msg)));
}

static void source_kube_post_event(Source *s, const char *type, const char *reason, const char *message) {
        SourceKube *k = kube(s);
        _cleanup_(json_object_putp) json_object *ev = NULL;
        _cleanup_free_ char *path = NULL, *gen = NULL;
        KubeRequest **slot = NULL;
        const char *uid = s->node_name;
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        int e;

        for (size_t i = 0; i < MAX_EVENT_REQUESTS; i++)
                if (!k->event_reqs[i]) {
                        slot = &k->event_reqs[i];
                        break;
                }
        if (!slot) {
                log_debug("Too many events in flight, dropping '%s'.", reason);
                return;
        }

        if (s->node) {
                json_object *meta, *u;
                if (json_object_object_get_ex(s->node, "metadata", &meta) &&
                    json_object_object_get_ex(meta, "uid", &u) && json_object_is_type(u, json_type_string))
                        uid = json_object_get_string(u);
        }
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!(gen = strdup_printf("%s.", s->node_name)))
                return;

        ev = json_object_new_object();
        json_object *meta = json_object_new_object(), *inv = json_object_new_object(), *src = json_object_new_object();
        if (!ev || !meta || !inv || !src) {
                json_object_put(meta);
                json_object_put(inv);
                json_object_put(src);
                return;
        }
        json_object_object_add(ev, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(ev, "kind", json_object_new_string("Event"));
        json_object_object_add(meta, "generateName", json_object_new_string(gen));
        json_object_object_add(meta, "namespace", json_object_new_string(k->event_namespace));
        json_object_object_add(ev, "metadata", meta);
        json_object_object_add(inv, "apiVersion", json_object_new_string("v1"));
        json_object_object_add(inv, "kind", json_object_new_string("Node"));
        json_object_object_add(inv, "name", json_object_new_string(s->node_name));
        json_object_object_add(inv, "uid", json_object_new_string(uid));
        json_object_object_add(ev, "involvedObject", inv);
        json_object_object_add(ev, "reason", json_object_new_string(reason));
        json_object_object_add(ev, "message", json_object_new_string(message));
        json_object_object_add(ev, "type", json_object_new_string(type));
        json_object_object_add(src, "component", json_object_new_string(PACKAGE_NAME));
        json_object_object_add(src, "host", json_object_new_string(s->node_name));
        json_object_object_add(ev, "source", src);
        json_object_object_add(ev, "firstTimestamp", json_object_new_string(ts));
        json_object_object_add(ev, "lastTimestamp", json_object_new_string(ts));
        json_object_object_add(ev, "count", json_object_new_int(1));
        json_object_object_add(ev, "reportingComponent", json_object_new_string(PACKAGE_NAME));
        json_object_object_add(ev, "reportingInstance", json_object_new_string(s->node_name));

        if (!(path = strdup_printf("/api/v1/namespaces/%s/events", k->event_namespace)))
                return;
        e = kube_client_start(k->client,
                              &(KubeRequestOptions) { .method = "POST", .path = path, .content_type = "application/json",
                                                      .body = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
                                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE) },
                              NULL, on_event_done, k, slot);
        if (e < 0)
                log_debug_errno(e, "Failed to post an event: %m");
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static int source_kube_start(Source *s) {
        SourceKube *k = kube(s);

        reflector_attempt(&k->kubevirts);
        reflector_attempt(&k->node);
        return 0;
}

static void source_kube_done(Source *s) {
        SourceKube *k = kube(s);

        if (!k)
                return;
        reflector_done(&k->kubevirts);
        reflector_done(&k->node);
        k->patch_req = kube_request_cancel(k->patch_req);
        for (size_t i = 0; i < MAX_EVENT_REQUESTS; i++)
                k->event_reqs[i] = kube_request_cancel(k->event_reqs[i]);
        sd_event_source_disable_unref(k->patch_retry);
        if (k->patch_inflight)
                json_object_put(k->patch_inflight);
        if (k->patch_pending)
                json_object_put(k->patch_pending);
        kube_client_free(k->client);
        free(k->patch_error);
        free(k->event_namespace);
        free(k);
        s->data = NULL;
}

static const SourceVTable kube_source_vtable = {
        .type = "kubernetes",
        .start = source_kube_start,
        .patch_node = source_kube_patch_node,
        .post_event = source_kube_post_event,
        .done = source_kube_done,
};

int source_kube_new(sd_event *e, const char *node_name, const SourceKubeOptions *o,
                    SourceChangedFn cb, void *userdata, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;
        _cleanup_free_ char *sel = NULL, *what = NULL;
        SourceKube *k;
        char *esc;
        int r;

        assert(o && o->credentials && ret);

        r = source_new(&kube_source_vtable, e, node_name, cb, userdata, &s);
        if (r < 0)
                return r;

        k = calloc(1, sizeof(SourceKube));
        if (!k)
                return -ENOMEM;
        s->data = k;
        k->source = s;
        k->idle_timeout_usec = o->watch_idle_timeout_usec;
        k->event_namespace = strdup(o->event_namespace ?: "default");
        if (!k->event_namespace)
                return -ENOMEM;

        r = kube_client_new(e, o->credentials, &k->client);
        if (r < 0)
                return r;

        esc = curl_easy_escape(NULL, node_name, 0);
        if (!esc)
                return -ENOMEM;
        sel = strdup_printf("metadata.name%%3D%s", esc);
        r = sel ? 0 : -ENOMEM;
        curl_free(esc);
        if (r < 0 || !(what = strdup_printf("node %s", node_name)))
                return -ENOMEM;

        r = reflector_init(&k->kubevirts, k, "KubeVirt CRs", "kubevirts.kubevirt.io",
                           "/apis/kubevirt.io/v1/kubevirts", NULL, true);
        if (r < 0)
                return r;
        r = reflector_init(&k->node, k, what, "nodes", "/api/v1/nodes", sel, false);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}
