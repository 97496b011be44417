/* source.c — the generic half of a view source: ownership of the view and change notification. */
#include <assert.h>
#include <stdlib.h>

#include "kube-objects.h"
#include "macro.h"
#include "source.h"

int source_new(const SourceVTable *vt, sd_event *e, const char *node_name,
               SourceChangedFn cb, void *userdata, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;

        assert(vt && e && node_name && ret);

        s = calloc(1, sizeof(Source));
        if (!s)
                return -ENOMEM;
        s->vtable = vt;
        s->event = sd_event_ref(e);
        s->on_changed = cb;
        s->userdata = userdata;
        s->node_name = strdup(node_name);
        if (!s->node_name)
                return -ENOMEM;

        *ret = TAKE_PTR(s);
        return 0;
}

Source *source_free(Source *s) {
        if (!s)
                return NULL;
        if (s->vtable && s->vtable->done)
                s->vtable->done(s);
        kubevirts_free(s->kubevirts, s->n_kubevirts);
        if (s->node)
                json_object_put(s->node);
        free(s->error);
        free(s->node_name);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int source_patch_node(Source *s, json_object *patch) {
        int r;

        r = s->vtable->patch_node(s, patch);
        if (r >= 0)
                s->n_patches++;
        return r;
}

void source_post_event(Source *s, const char *type, const char *reason, const char *message) {
        if (s->vtable->post_event)
                s->vtable->post_event(s, type, reason, message);
}

void source_set_kubevirts(Source *s, json_object **crs, size_t n) {
        kubevirts_free(s->kubevirts, s->n_kubevirts);
        s->kubevirts = crs;
        s->n_kubevirts = n;
        s->kubevirts_known = true;
}

void source_set_node(Source *s, json_object *node) {
        if (s->node)
                json_object_put(s->node);
        s->node = node ? json_object_get(node) : NULL;
}

int source_set_error(Source *s, const char *error) {
        return free_and_strdup(&s->error, error);
}

void source_notify(Source *s) {
        if (s->on_changed)
                s->on_changed(s, s->userdata);
}
