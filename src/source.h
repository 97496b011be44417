/* source.h — where the cluster view comes from: a seam for the file and Kubernetes sources. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

typedef struct Source Source;

/* Called (from the event loop) whenever the view, connected or error changed. */
typedef void (*SourceChangedFn)(Source *s, void *userdata);

typedef struct SourceVTable {
        const char *type;
        /* Sets up watches and reads the first view. 0 or -errno (fatal for the daemon). */
        int (*start)(Source *s);
        /* Applies a JSON merge patch to this node's object; may complete asynchronously.
         * 0 (applied or queued) or -errno. */
        int (*patch_node)(Source *s, json_object *patch);
        /* Records an event on this node for people to see (kubectl describe node); optional,
         * fire and forget. type is "Normal" or "Warning". */
        void (*post_event)(Source *s, const char *type, const char *reason, const char *message);
        /* Frees the implementation's data. */
        void (*done)(Source *s);
} SourceVTable;

struct Source {
        const SourceVTable *vtable;
        sd_event *event;
        char *node_name;
        SourceChangedFn on_changed;
        void *userdata;

        /* The current view, owned by the source and replaced whole on each change. */
        bool kubevirts_known;           /* false until the KubeVirt CRs were read once */
        json_object **kubevirts;
        size_t n_kubevirts;
        json_object *node;              /* NULL: this node's object is not known */

        bool connected;                 /* watches established and the view is current */
        char *error;                    /* the last input error, NULL while inputs are healthy */
        uint64_t n_patches;             /* node patches written, for tests and statistics */

        void *data;                     /* the implementation's */
};

int source_new(const SourceVTable *vt, sd_event *e, const char *node_name,
               SourceChangedFn cb, void *userdata, Source **ret);
Source *source_free(Source *s);
static inline void source_freep(Source **s) {
        if (*s)
                source_free(*s);
}

static inline int source_start(Source *s) {
        return s->vtable->start(s);
}
int source_patch_node(Source *s, json_object *patch);
void source_post_event(Source *s, const char *type, const char *reason, const char *message);

/* For implementations: replace the view (takes ownership of crs and its references, and of a
 * reference to node), set the error text (NULL clears it), and tell the owner. */
void source_set_kubevirts(Source *s, json_object **crs, size_t n);
void source_set_node(Source *s, json_object *node);
int source_set_error(Source *s, const char *error);
void source_notify(Source *s);
