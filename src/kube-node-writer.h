/* kube-node-writer.h — writes to this node on the API server: merge patches of the Node (one in
 * flight, the newest queued, retried with backoff) and Events about it. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "kube-client.h"

typedef struct KubeNodeWriter KubeNodeWriter;

/* Called when the server settled a patch: accepted (refused false; node is the object it
 * answered with, or NULL when the answer was not one), or refused (refused true, node NULL,
 * kube_node_writer_error() says why; the patch is retried with backoff anyway, so a permission
 * granted later is picked up). Transient failures (transport, 429, 5xx) are retried silently. */
typedef void (*KubeNodeWriterFn)(KubeNodeWriter *w, bool refused, json_object *node, void *userdata);

/* client must outlive the writer. Events go to event_namespace. 0 or -ENOMEM. */
int kube_node_writer_new(sd_event *e, KubeClient *client, const char *node_name, const char *event_namespace,
                         KubeNodeWriterFn cb, void *userdata, KubeNodeWriter **ret);
/* Cancels the requests in flight without calling back. NULL is fine; returns NULL. */
KubeNodeWriter *kube_node_writer_free(KubeNodeWriter *w);

/* Queues patch (a JSON merge patch; a new reference is taken), replacing a queued one not yet
 * sent, and sends it now unless a patch is in flight or waiting out a backoff. Always 0: the
 * outcome comes through the callback. */
int kube_node_writer_patch(KubeNodeWriter *w, json_object *patch);

/* Posts an Event about the node, fire and forget: failures are logged at debug level (403 at
 * warning), and with 4 posts in flight further ones are dropped. node_uid NULL: the name. */
void kube_node_writer_post_event(KubeNodeWriter *w, const char *node_uid, const char *type, const char *reason,
                                 const char *message);

/* Why the last patch was refused, until one is accepted; NULL otherwise. */
const char *kube_node_writer_error(const KubeNodeWriter *w);
