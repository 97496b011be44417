/* kube-reflector.h — one Kubernetes collection kept current the way client-go's reflector does:
 * LIST, then WATCH from its resourceVersion with bookmarks, re-LIST on 410, backoff when away. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "kube-client.h"

typedef struct KubeReflector KubeReflector;

/* Called from the event loop when the store, the "current" state or the last error may have
 * changed; the owner then reads them and publishes. */
typedef void (*KubeReflectorFn)(KubeReflector *r, void *userdata);

typedef struct KubeReflectorOptions {
        const char *what;               /* for messages: "KubeVirt CRs", "node node01" */
        const char *resource;           /* for RBAC messages: "kubevirts.kubevirt.io", "nodes" */
        const char *path;               /* the collection: "/api/v1/nodes" */
        const char *field_selector;     /* escaped "metadata.name%3Dnode01", or NULL */
        const char *name;               /* the collection holds this one object at most: a LIST of more,
                                         * or any object of another name, is a server error */
        bool optional;                  /* 404 on the collection means "none" (CRD not installed) */
        const char *empty_warning;      /* logged when a LIST finds nothing, or NULL */
        uint64_t idle_timeout_usec;     /* a watch silent for this long (not even a bookmark) is redone */
} KubeReflectorOptions;

/* Copies what it needs from o; client must outlive the reflector. Nothing is requested before
 * kube_reflector_start(). 0 or -ENOMEM. */
int kube_reflector_new(sd_event *e, KubeClient *client, const KubeReflectorOptions *o,
                       KubeReflectorFn cb, void *userdata, KubeReflector **ret);
/* Cancels the request in flight without calling back. NULL is fine; returns NULL. */
KubeReflector *kube_reflector_free(KubeReflector *r);

/* Lists, then watches; failures are retried on their own. Failures are reported through the
 * callback and kube_reflector_last_error(), never returned. */
void kube_reflector_start(KubeReflector *r);

/* The objects, "namespace/name" → object. Borrowed; replaced by each LIST. */
json_object *kube_reflector_store(const KubeReflector *r);
/* Adds or replaces obj (a new reference is taken), a write's answer, in a store that was listed
 * at least once; until the watch brings the event of obj's resourceVersion, the older events of
 * that object in between are not stored. 1 stored, 0 ignored (not listed yet, obj has no name,
 * another name than the collection's one, no resourceVersion or the same one as the object
 * stored, or over the store's value budget), -ENOMEM. */
int kube_reflector_put(KubeReflector *r, json_object *obj);

/* Listed at least once: the store is the server's view (perhaps a little late). */
bool kube_reflector_synced(const KubeReflector *r);
/* A watch is established (or the optional collection does not exist). */
bool kube_reflector_current(const KubeReflector *r);
/* Why the last attempt failed, NULL once a watch is established again. */
const char *kube_reflector_last_error(const KubeReflector *r);

/* Whether the store changed since the owner last cleared the flag. */
bool kube_reflector_changed(const KubeReflector *r);
void kube_reflector_clear_changed(KubeReflector *r);
