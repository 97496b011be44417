/* kube-node-writer.c — merge-patches this Node (newest patch wins, refusals and outages retried
 * with backoff) and posts Events about it. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crash-point.h"
#include "event-util.h"
#include "json-util.h"
#include "kube-node-writer.h"
#include "kube-objects.h"
#include "log.h"
#include "macro.h"
#include "message-id.h"
#include "metrics-server.h"
#include "util.h"

/* Events are best effort: a few in flight is plenty for the handful a reconcile posts. */
#define MAX_EVENT_REQUESTS 4

struct KubeNodeWriter {
        sd_event *event;
        KubeClient *client;
        KubeNodeWriterFn cb;
        void *userdata;
        char *node_name;
        char *node_path;                /* "/api/v1/nodes/NAME", escaped */
        char *event_path;               /* "/api/v1/namespaces/NAMESPACE/events" */
        char *event_namespace;

        KubeRequest *patch_req;
        json_object *patch_inflight;
        json_object *patch_pending;
        unsigned failures;
        sd_event_source *patch_retry;
        char *patch_error;              /* why the last patch was refused, until one succeeds */

        KubeRequest *event_reqs[MAX_EVENT_REQUESTS];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(KubeNodeWriter *, kube_node_writer_free);

static const char *json_body(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void patch_send(KubeNodeWriter *w);

static int on_patch_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        patch_send(userdata);
        return 0;
}

static void patch_retry_later(KubeNodeWriter *w, uint64_t delay_usec) {
        int k;

        /* Retry what was in flight unless something newer replaced it meanwhile. */
        if (!w->patch_pending)
                w->patch_pending = TAKE_PTR(w->patch_inflight);
        else
                w->patch_inflight = (json_object_put(w->patch_inflight), NULL);

        k = event_timer_arm(w->event, &w->patch_retry, delay_usec, on_patch_retry, w, "kube-patch-retry");
        if (k < 0)
                log_error_errno(k, "Failed to schedule a node patch retry: %m");
}

static void patch_accepted(KubeNodeWriter *w, const char *body) {
        _cleanup_(json_object_putp) json_object *obj = NULL;

        if (body && json_parse_bounded(body, strlen(body), 0, &obj, NULL) < 0)
                obj = NULL;

        crash_point("node-patch-after");
        w->failures = 0;
        w->patch_error = mfree(w->patch_error);
        w->patch_inflight = (json_object_put(w->patch_inflight), NULL);
        /* The watch will say the same; taking the answer now keeps the next reconcile from
         * sending the same patch again. */
        if (w->cb)
                w->cb(w, false, json_object_is_type(obj, json_type_object) ? obj : NULL, w->userdata);
        if (w->patch_pending)
                patch_send(w);
}

/* A refusal: retried with the backoff like any other failure (a permission granted later is
 * picked up without a restart), said once at error level, and handed to the owner to publish.
 * A newer patch from a reconcile replaces the pending one but still waits for the backoff, so a
 * refused patch is never hammered at the server. */
static void patch_refused(KubeNodeWriter *w, long status, const char *body) {
        KubeStatusClass c = kube_status_class(status);
        int level = w->failures == 0 ? LOG_ERR : LOG_DEBUG;
        const char *node = w->node_name;
        char buf[256];
        const char *msg = kube_status_message(body, buf, sizeof(buf));

        switch (c) {
        case KUBE_STATUS_FORBIDDEN:
                log_full_errno_id(level, 0, KSMD_MESSAGE_NODE_UPDATE_ERROR,
                                  "Forbidden to patch node %s: the daemon's identity needs 'patch' on nodes, limited "
                                  "to the kubevirt.io/ksm-* keys (see deploy/rbac.yaml and deploy/node-patch-policy.yaml): %s",
                                  node, msg);
                break;
        case KUBE_STATUS_NOT_FOUND:
                log_full_errno(level == LOG_ERR ? LOG_WARNING : level, 0,
                               "Node %s is gone from the API server; retrying the patch with backoff: %s", node, msg);
                break;
        case KUBE_STATUS_UNAUTHORIZED:
                /* kube-client already dropped the token. */
                log_warning("Patching node %s: unauthorized; the token file will be re-read.", node);
                break;
        default:
                log_full_errno_id(level, 0, KSMD_MESSAGE_NODE_UPDATE_ERROR, "Failed to patch node %s: HTTP %ld: %s",
                                  node, status, msg);
        }

        free(w->patch_error);
        w->patch_error = strdup_printf("Failed to update node %s's KSM label and annotation: HTTP %ld%s", node, status,
                                       c == KUBE_STATUS_FORBIDDEN ? " Forbidden (see the journal for the missing permission)" :
                                       c == KUBE_STATUS_NOT_FOUND ? " Not Found (the node is gone)" : "");
        patch_retry_later(w, kube_client_retry_delay_usec(w->failures++));
        if (w->cb)
                w->cb(w, true, NULL, w->userdata);
}

static void on_patch_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        KubeNodeWriter *w = userdata;
        KubeStatusClass c = kube_status_class(status);
        int level = w->failures == 0 ? LOG_WARNING : LOG_DEBUG;
        uint64_t delay;
        char buf[256];

        w->patch_req = NULL;
        if (error == 0) {
                snprintf(buf, sizeof(buf), "%ld", status);
                metrics_code_counts_add(&metrics_counters.node_patches, buf);
        }

        if (error == 0 && c == KUBE_STATUS_SUCCESS) {
                patch_accepted(w, body);
                return;
        }
        if (error == 0 && kube_status_class_is_transient(c)) {
                delay = kube_request_retry_after_usec(req) ?: kube_client_retry_delay_usec(w->failures);
                log_full_errno(level, 0, "Patching node %s: HTTP %ld (%s); retrying in %" PRIu64 " ms.", w->node_name,
                               status, kube_status_message(body, buf, sizeof(buf)), delay / USEC_PER_MSEC);
                w->failures++;
                patch_retry_later(w, delay);
                return;
        }
        if (error < 0) {
                delay = kube_client_retry_delay_usec(w->failures);
                log_full_errno(level, error, "Failed to patch node %s: %m; retrying in %" PRIu64 " ms.", w->node_name,
                               delay / USEC_PER_MSEC);
                w->failures++;
                patch_retry_later(w, delay);
                return;
        }
        patch_refused(w, status, body);
}

static void patch_send(KubeNodeWriter *w) {
        int k;

        if (w->patch_req || !w->patch_pending)
                return;
        event_timer_disarm(w->patch_retry);

        json_object_put(w->patch_inflight);
        w->patch_inflight = TAKE_PTR(w->patch_pending);

        k = kube_client_start(w->client,
                              &(KubeRequestOptions) { .method = "PATCH", .path = w->node_path,
                                                      .content_type = "application/merge-patch+json",
                                                      .body = json_body(w->patch_inflight) },
                              NULL, on_patch_done, w, &w->patch_req);
        if (k < 0) {
                log_warning_errno(k, "Failed to start patching node %s: %m", w->node_name);
                patch_retry_later(w, kube_client_retry_delay_usec(w->failures++));
        }
}

int kube_node_writer_patch(KubeNodeWriter *w, json_object *patch) {
        assert(w);

        json_object_put(w->patch_pending);
        /* The same as the patch on its way: that one already brings the Node there. */
        w->patch_pending = w->patch_req && json_object_equal(patch, w->patch_inflight) ? NULL : json_object_get(patch);
        if (!w->patch_req && !event_timer_armed(w->patch_retry))
                patch_send(w);
        return 0;
}

static void on_event_done(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata) {
        KubeNodeWriter *w = userdata;
        char buf[256];

        for (size_t i = 0; i < MAX_EVENT_REQUESTS; i++)
                if (w->event_reqs[i] == req)
                        w->event_reqs[i] = NULL;

        if (error < 0)
                log_debug_errno(error, "Failed to post an event on node %s: %m", w->node_name);
        else if (kube_status_class(status) == KUBE_STATUS_FORBIDDEN)
                log_warning("Forbidden to post events: the daemon's identity needs 'create' on events "
                            "(see deploy/rbac.yaml): %s", kube_status_message(body, buf, sizeof(buf)));
        else if (kube_status_class(status) != KUBE_STATUS_SUCCESS)
                log_debug("Posting an event on node %s: HTTP %ld: %s", w->node_name, status,
                          kube_status_message(body, buf, sizeof(buf)));
}

void kube_node_writer_post_event(KubeNodeWriter *w, const char *node_uid, const char *type, const char *reason,
                                 const char *message) {
        _cleanup_(json_object_putp) json_object *ev = NULL;
        KubeRequest **slot = NULL;
        int k;

        assert(w);

        for (size_t i = 0; i < MAX_EVENT_REQUESTS && !slot; i++)
                if (!w->event_reqs[i])
                        slot = &w->event_reqs[i];
        if (!slot) {
                log_debug("Too many events in flight, dropping '%s'.", strna(reason));
                return;
        }

        k = kube_event_build(&(KubeEventInfo) {
                                     .namespace = w->event_namespace,
                                     .node_name = w->node_name,
                                     .node_uid = node_uid,
                                     .type = type,
                                     .reason = reason,
                                     .message = message,
                                     .component = PACKAGE_NAME,
                                     .timestamp_usec = (uint64_t) time(NULL) * USEC_PER_SEC,
                             }, &ev);
        if (k < 0) {
                log_debug_errno(k, "Failed to build an event: %m");
                return;
        }

        k = kube_client_start(w->client,
                              &(KubeRequestOptions) { .method = "POST", .path = w->event_path,
                                                      .content_type = "application/json", .body = json_body(ev) },
                              NULL, on_event_done, w, slot);
        if (k < 0)
                log_debug_errno(k, "Failed to post an event: %m");
}

const char *kube_node_writer_error(const KubeNodeWriter *w) {
        return w->patch_error;
}

int kube_node_writer_new(sd_event *e, KubeClient *client, const char *node_name, const char *event_namespace,
                         KubeNodeWriterFn cb, void *userdata, KubeNodeWriter **ret) {
        _cleanup_(kube_node_writer_freep) KubeNodeWriter *w = NULL;
        _cleanup_free_ char *escaped = NULL;

        assert(e && client && node_name && event_namespace && ret);

        w = calloc(1, sizeof(KubeNodeWriter));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(e);
        w->client = client;
        w->cb = cb;
        w->userdata = userdata;

        escaped = kube_client_escape(node_name);
        if (!escaped)
                return -ENOMEM;
        w->node_name = strdup(node_name);
        w->event_namespace = strdup(event_namespace);
        w->node_path = strdup_printf("/api/v1/nodes/%s", escaped);
        w->event_path = strdup_printf("/api/v1/namespaces/%s/events", event_namespace);
        if (!w->node_name || !w->event_namespace || !w->node_path || !w->event_path)
                return -ENOMEM;

        *ret = TAKE_PTR(w);
        return 0;
}

KubeNodeWriter *kube_node_writer_free(KubeNodeWriter *w) {
        if (!w)
                return NULL;
        kube_request_cancel(w->patch_req);
        for (size_t i = 0; i < MAX_EVENT_REQUESTS; i++)
                kube_request_cancel(w->event_reqs[i]);
        sd_event_source_disable_unref(w->patch_retry);
        json_object_put(w->patch_inflight);
        json_object_put(w->patch_pending);
        free(w->patch_error);
        free(w->node_name);
        free(w->node_path);
        free(w->event_path);
        free(w->event_namespace);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}
