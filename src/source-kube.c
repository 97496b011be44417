/* source-kube.c — [Source] Type=kubernetes: the Source glue over two reflectors (the KubeVirt CRs
 * and this Node) and the node writer, publishing what they see as the view. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "kube-client.h"
#include "kube-node-writer.h"
#include "kube-objects.h"
#include "kube-reflector.h"
#include "log.h"
#include "macro.h"
#include "util.h"
#include "source-kube.h"

typedef struct SourceKube {
        Source *source;
        KubeClient *client;
        KubeReflector *kubevirts, *node;
        KubeNodeWriter *writer;
        bool published_connected;
} SourceKube;

static SourceKube *kube(Source *s) {
        return s->data;
}

/* Hands the KubeVirt CRs of the store to the source. 0 or -ENOMEM. */
static int publish_kubevirts(SourceKube *k) {
        json_object *store = kube_reflector_store(k->kubevirts);
        size_t n = (size_t) json_object_object_length(store), i = 0;
        json_object **crs = NULL;

        if (n > 0) {
                crs = calloc(n, sizeof(json_object *));
                if (!crs)
                        return -ENOMEM;
        }
        json_object_object_foreach(store, key, val) {
                (void) key;
                crs[i++] = json_object_get(val);
        }
        source_set_kubevirts(k->source, crs, n);
        return 0;
}

static void publish_node(SourceKube *k) {
        json_object *node = NULL;

        /* The field selector matches one name: at most one object. */
        json_object_object_foreach(kube_reflector_store(k->node), key, val) {
                (void) key;
                node = val;
        }
        source_set_node(k->source, node);
}

/* Publishes what changed in the reflectors and the writer, and tells the owner if anything did. */
static void source_kube_publish(SourceKube *k) {
        Source *s = k->source;
        bool connected = kube_reflector_current(k->kubevirts) && kube_reflector_current(k->node);
        bool changed = kube_reflector_changed(k->kubevirts) || kube_reflector_changed(k->node) ||
                       connected != k->published_connected;

        if (kube_reflector_changed(k->kubevirts) && kube_reflector_synced(k->kubevirts) &&
            publish_kubevirts(k) < 0) {
                (void) log_oom();
                return;
        }
        if (kube_reflector_changed(k->node) && kube_reflector_synced(k->node))
                publish_node(k);
        kube_reflector_clear_changed(k->kubevirts);
        kube_reflector_clear_changed(k->node);

        if (connected != k->published_connected) {
                if (connected)
                        log_info("Watching the KubeVirt CRs and node %s on %s.", s->node_name, "the API server");
                else
                        log_warning("Lost the watch on the API server; KSM is left as it is until it is back.");
        }
        k->published_connected = connected;
        s->connected = connected;

        if (connected) {
                const char *e = kube_node_writer_error(k->writer);

                if (!streq_ptr(s->error, e)) {
                        (void) source_set_error(s, e);
                        changed = true;
                }
        } else {
                const char *e = kube_reflector_last_error(k->kubevirts) ?: kube_reflector_last_error(k->node);
                _cleanup_free_ char *msg = NULL;

                if (e && (msg = strdup_printf("Not connected to the API server: %s", e)) && !streq_ptr(msg, s->error)) {
                        (void) source_set_error(s, msg);
                        changed = true;
                }
        }

        if (changed)
                source_notify(s);
}

static void on_reflector_changed(KubeReflector *r, void *userdata) {
        source_kube_publish(userdata);
}

static void on_node_written(KubeNodeWriter *w, bool refused, json_object *node, void *userdata) {
        SourceKube *k = userdata;

        if (node)
                (void) kube_reflector_put(k->node, node);
        source_kube_publish(k);
        if (refused)
                source_notify(k->source);
}

static int source_kube_start(Source *s) {
        SourceKube *k = kube(s);

        kube_reflector_start(k->kubevirts);
        kube_reflector_start(k->node);
        return 0;
}

static int source_kube_patch_node(Source *s, json_object *patch) {
        return kube_node_writer_patch(kube(s)->writer, patch);
}

static void source_kube_post_event(Source *s, const char *type, const char *reason, const char *message) {
        kube_node_writer_post_event(kube(s)->writer, kube_object_uid(s->node), type, reason, message);
}

static void source_kube_done(Source *s) {
        SourceKube *k = kube(s);

        if (!k)
                return;
        kube_reflector_free(k->kubevirts);
        kube_reflector_free(k->node);
        kube_node_writer_free(k->writer);
        kube_client_free(k->client);
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
        _cleanup_free_ char *esc = NULL, *sel = NULL, *what = NULL, *missing = NULL;
        SourceKube *k;
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

        r = kube_client_new(e, o->credentials, &k->client);
        if (r < 0)
                return r;

        esc = kube_client_escape(node_name);
        if (!esc ||
            !(sel = strdup_printf("metadata.name%%3D%s", esc)) ||
            !(what = strdup_printf("node %s", node_name)) ||
            !(missing = strdup_printf("Node %s does not exist on the API server; KSM is left as it is.", node_name)))
                return -ENOMEM;

        r = kube_reflector_new(e, k->client,
                               &(KubeReflectorOptions) {
                                       .what = "KubeVirt CRs",
                                       .resource = "kubevirts.kubevirt.io",
                                       .path = "/apis/kubevirt.io/v1/kubevirts",
                                       .optional = true,
                                       .idle_timeout_usec = o->watch_idle_timeout_usec,
                               },
                               on_reflector_changed, k, &k->kubevirts);
        if (r < 0)
                return r;
        r = kube_reflector_new(e, k->client,
                               &(KubeReflectorOptions) {
                                       .what = what,
                                       .resource = "nodes",
                                       .path = "/api/v1/nodes",
                                       .field_selector = sel,
                                       .name = node_name,
                                       .empty_warning = missing,
                                       .idle_timeout_usec = o->watch_idle_timeout_usec,
                               },
                               on_reflector_changed, k, &k->node);
        if (r < 0)
                return r;

        r = kube_node_writer_new(e, k->client, node_name, o->event_namespace ?: "default",
                                 on_node_written, k, &k->writer);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}
