/* kube-objects.c — pure json-c views of the KubeVirt CR and the Node, the minimal merge patch, and
 * the Event body. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "json-util.h"
#include "kube-objects.h"
#include "macro.h"
#include "selector.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* How many CR names an "ambiguous" message lists before it says "...". */
#define AMBIGUOUS_NAMES_MAX 8U

static const char *const ksm_config_state_table[_KSM_CONFIG_STATE_MAX] = {
        [KSM_CONFIG_NO_CR] = "no-cr",
        [KSM_CONFIG_ABSENT] = "absent",
        [KSM_CONFIG_SELECTOR] = "selector",
        [KSM_CONFIG_INVALID] = "invalid",
        [KSM_CONFIG_AMBIGUOUS] = "ambiguous",
};

DEFINE_STRING_TABLE_TO_STRING(ksm_config_state, KsmConfigState, _KSM_CONFIG_STATE_MAX);

/* Sets *reterr (when non-NULL) and returns -EINVAL, or -ENOMEM. */
#define fail(reterr, ...) set_reterr((reterr), -EINVAL, __VA_ARGS__)

/* Appends s to the malloc'd string *p (which may be NULL). 0 or -ENOMEM. */
static int strextend(char **p, const char *s) {
        size_t a = *p ? strlen(*p) : 0, b = strlen(s);
        char *n;

        n = realloc(*p, a + b + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + a, s, b + 1);
        *p = n;
        return 0;
}

static const char *type_name(json_object *o) {
        return json_type_to_name(json_object_get_type(o));
}

/* A member of an object, or NULL when o is not an object, lacks key, or holds a JSON null
 * there: for Kubernetes objects all three mean "unset". */
static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        if (json_object_get_type(o) != json_type_object)
                return NULL;
        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *member_string(json_object *o, const char *key) {
        json_object *v = member(o, key);

        if (json_object_get_type(v) != json_type_string)
                return NULL;
        return json_object_get_string(v);
}

/* "NAMESPACE/NAME" (or "NAME" for an object without a namespace) of an object, with control
 * characters replaced so a hand-written file cannot forge journal lines. *ret = NULL when the
 * object has no name. 0 or -ENOMEM. */
static int object_identity(json_object *o, char **ret) {
        json_object *md = member(o, "metadata");
        const char *ns = member_string(md, "namespace"), *name = member_string(md, "name");
        char *s;

        if (!name || !*name) {
                *ret = NULL;
                return 0;
        }

        s = ns && *ns ? strdup_printf("%s/%s", ns, name) : strdup(name);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';

        *ret = s;
        return 0;
}

void ksm_config_done(KsmConfig *c) {
        if (!c)
                return;

        selector_free(c->selector);
        free(c->source);
        free(c->error);
        *c = (KsmConfig) {};
}

static int ambiguous_error(json_object *const *crs, size_t n, char **ret) {
        _cleanup_free_ char *s = NULL;
        char head[64];
        int r;

        (void) snprintf(head, sizeof(head), "%zu KubeVirt resources found (", n);
        r = strextend(&s, head);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *id = NULL;

                if (i > 0) {
                        r = strextend(&s, ", ");
                        if (r < 0)
                                return r;
                }
                if (i >= AMBIGUOUS_NAMES_MAX) {
                        r = strextend(&s, "...");
                        if (r < 0)
                                return r;
                        break;
                }

                r = object_identity(crs[i], &id);
                if (r < 0)
                        return r;
                r = strextend(&s, id ?: "(unnamed)");
                if (r < 0)
                        return r;
        }

        r = strextend(&s, "); refusing to choose");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

/* Follows spec.configuration.ksmConfiguration.nodeLabelSelector. Returns 1 and *ret_nls (a
 * borrowed reference, never NULL) when a selector is set, 0 when any step is absent or null,
 * -EINVAL (with *reterr) when a step is not an object — the API server's schema forbids that,
 * so only a hand-written file can get here — or -ENOMEM. */
/* The selector from the CR's annotation `key`: a LabelSelector as JSON text. *ret_nls is a new
 * reference. 1, 0 (no such annotation), -EINVAL (not JSON; *reterr says why) or -ENOMEM. */
static int find_annotation_selector(json_object *cr, const char *key, json_object **ret_nls, char **reterr) {
        json_object *a = member(member(cr, "metadata"), "annotations"), *v;
        json_object *nls = NULL;
        const char *jerr;
        size_t len;
        int r;

        v = member(a, key);
        if (!v)
                return 0;
        if (json_object_get_type(v) != json_type_string)
                return fail(reterr, "annotation %s must be a string", key);
        /* The annotation's text is a JSON document of its own: bounded like any other. */
        len = (size_t) json_object_get_string_len(v);
        r = json_parse_bounded(json_object_get_string(v), len, 0, &nls, &jerr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(reterr, "annotation %s is not JSON: %s", key, jerr);
        if (!nls)
                return 0;       /* "null": no selector, like an absent one */
        *ret_nls = nls;
        return 1;
}

static int find_node_label_selector(json_object *cr, json_object **ret_nls, char **reterr) {
        static const char *const path[] = { "spec", "configuration", "ksmConfiguration" };
        json_object *o = cr, *nls;

        for (size_t i = 0; i < ELEMENTSOF(path); i++) {
                o = member(o, path[i]);
                if (!o)
                        return 0;
                if (json_object_get_type(o) != json_type_object) {
                        static const char *const names[] = {
                                "spec", "spec.configuration", "spec.configuration.ksmConfiguration",
                        };

                        return fail(reterr, "%s must be an object, not %s", names[i], type_name(o));
                }
        }

        nls = member(o, "nodeLabelSelector");
        if (!nls)
                return 0;

        *ret_nls = json_object_get(nls);
        return 1;
}

int ksm_config_from_kubevirts(json_object *const *crs, size_t n, KsmConfig *ret) {
        return ksm_config_from_kubevirts_with(crs, n, NULL, ret);
}

int ksm_config_from_kubevirts_with(json_object *const *crs, size_t n, const char *selector_annotation,
                                   KsmConfig *ret) {
        _cleanup_(selector_freep) LabelSelector *sel = NULL;
        _cleanup_free_ char *source = NULL, *reason = NULL, *error = NULL;
        _cleanup_(json_object_putp) json_object *nls = NULL;
        json_object *cr;
        KsmConfigState state;
        int r;

        assert(ret);
        assert(crs || n == 0);

        *ret = (KsmConfig) { .state = KSM_CONFIG_NO_CR };

        if (n == 0)
                return 0;

        if (n > 1) {
                /* virt-operator only ever honours one KubeVirt CR; guessing which one an admin
                 * meant could switch KSM off under running VMs, so change nothing. */
                r = ambiguous_error(crs, n, &error);
                if (r < 0)
                        return r;
                *ret = (KsmConfig) {
                        .state = KSM_CONFIG_AMBIGUOUS,
                        .error = TAKE_PTR(error),
                };
                return 0;
        }

        cr = crs[0];
        if (json_object_get_type(cr) != json_type_object) {
                error = strdup_printf("KubeVirt resource must be an object, not %s", type_name(cr));
                if (!error)
                        return -ENOMEM;
                *ret = (KsmConfig) {
                        .state = KSM_CONFIG_INVALID,
                        .error = TAKE_PTR(error),
                };
                return 0;
        }

        r = object_identity(cr, &source);
        if (r < 0)
                return r;

        if (selector_annotation)
                r = find_annotation_selector(cr, selector_annotation, &nls, &reason);
        else
                r = find_node_label_selector(cr, &nls, &reason);
        if (r == -EINVAL) {
                state = KSM_CONFIG_INVALID;
                error = strdup_printf("KubeVirt %s: %s", source ?: "(unnamed)", reason);
                if (!error)
                        return -ENOMEM;
        } else if (r < 0)
                return r;
        else if (r == 0)
                state = KSM_CONFIG_ABSENT;
        else {
                r = selector_from_json(nls, &sel, &reason);
                if (r == -EINVAL) {
                        state = KSM_CONFIG_INVALID;
                        error = strdup_printf("KubeVirt %s: invalid nodeLabelSelector: %s",
                                              source ?: "(unnamed)", reason);
                        if (!error)
                                return -ENOMEM;
                } else if (r < 0)
                        return r;
                else
                        state = KSM_CONFIG_SELECTOR;
        }

        *ret = (KsmConfig) {
                .state = state,
                .selector = TAKE_PTR(sel),
                .source = TAKE_PTR(source),
                .error = TAKE_PTR(error),
        };
        return 0;
}

const char *kube_field_manager(json_object *obj, const char *map, const char *key) {
        json_object *mf = member(member(obj, "metadata"), "managedFields");
        const char *best = NULL, *best_time = "";
        char fmap[64], fkey[320];
        size_t n;

        if (json_object_get_type(mf) != json_type_array)
                return NULL;
        if ((size_t) snprintf(fmap, sizeof(fmap), "f:%s", map) >= sizeof(fmap) ||
            (size_t) snprintf(fkey, sizeof(fkey), "f:%s", key) >= sizeof(fkey))
                return NULL;

        n = json_object_array_length(mf);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(mf, i), *m = member(e, "manager"), *t = member(e, "time");
                const char *time = json_object_get_type(t) == json_type_string ? json_object_get_string(t) : "";

                if (json_object_get_type(m) != json_type_string)
                        continue;
                if (!member(member(member(member(e, "fieldsV1"), "f:metadata"), fmap), fkey))
                        continue;
                /* RFC 3339 times in UTC compare as strings; a later entry wins a tie. */
                if (!best || strcmp(time, best_time) >= 0) {
                        best = json_object_get_string(m);
                        best_time = time;
                }
        }
        return best;
}

void kubevirts_free(json_object **crs, size_t n) {
        if (!crs)
                return;

        for (size_t i = 0; i < n; i++)
                json_object_put(crs[i]);
        free(crs);
}

static bool string_endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

/* The kind, JSON-quoted, for an error message. The string belongs to o. */
static const char *quoted(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int kubevirts_from_list(json_object *items, json_object ***ret, size_t *ret_n, char **reterr) {
        json_object **crs;
        size_t n;

        n = items ? json_object_array_length(items) : 0;
        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }

        for (size_t i = 0; i < n; i++) {
                json_object *item = json_object_array_get_idx(items, i), *kind;

                if (json_object_get_type(item) != json_type_object)
                        return fail(reterr, "items[%zu]: must be an object, not %s", i, type_name(item));

                /* The API server leaves kind out of the items of a typed list; accept that. */
                kind = member(item, "kind");
                if (kind && json_object_get_type(kind) != json_type_string)
                        return fail(reterr, "items[%zu]: kind must be a string, not %s", i, type_name(kind));
                if (kind && !streq(json_object_get_string(kind), "KubeVirt"))
                        return fail(reterr, "items[%zu]: kind %s is not KubeVirt", i, quoted(kind));
        }

        crs = calloc(n, sizeof(json_object *));
        if (!crs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                crs[i] = json_object_get(json_object_array_get_idx(items, i));

        *ret = crs;
        *ret_n = n;
        return 0;
}

int kubevirts_from_document(json_object *doc, json_object ***ret, size_t *ret_n, char **reterr_reason) {
        json_object *kind, *items;
        const char *k = NULL;

        assert(ret);
        assert(ret_n);

        if (json_object_get_type(doc) != json_type_object)
                return fail(reterr_reason, "document must be a JSON object, not %s", type_name(doc));

        kind = member(doc, "kind");
        if (kind) {
                if (json_object_get_type(kind) != json_type_string)
                        return fail(reterr_reason, "kind must be a string, not %s", type_name(kind));
                k = json_object_get_string(kind);
        }

        items = member(doc, "items");

        if (!(k && streq(k, "KubeVirt")) && (items || (k && string_endswith(k, "List")))) {
                /* KubeVirtList from a LIST call, or a generic "List" from kubectl get -o json.
                 * "items": null is how Go encodes an empty list. */
                if (items && json_object_get_type(items) != json_type_array)
                        return fail(reterr_reason, "items must be an array, not %s", type_name(items));
                return kubevirts_from_list(items, ret, ret_n, reterr_reason);
        }

        if (k && !streq(k, "KubeVirt"))
                return fail(reterr_reason, "document is of kind %s, not KubeVirt or a list of KubeVirts",
                            quoted(kind));

        /* Lenient on purpose: a hand-written KubeVirtFile= often holds just metadata and spec,
         * without apiVersion and kind. An object with neither is more likely the wrong file. */
        if (!k && !member(doc, "spec") && !member(doc, "metadata"))
                return fail(reterr_reason, "document is neither a KubeVirt nor a list of KubeVirts "
                            "(it has no kind, metadata, spec or items)");

        *ret = calloc(1, sizeof(json_object *));
        if (!*ret)
                return -ENOMEM;
        (*ret)[0] = json_object_get(doc);
        *ret_n = 1;
        return 0;
}

void node_view_done(NodeView *v) {
        if (!v)
                return;

        free(v->name);
        free(v->resource_version);
        json_object_put(v->labels);
        json_object_put(v->annotations);
        *v = (NodeView) {};
}

/* metadata.labels and metadata.annotations: absent or null is "none". Anything but an object is
 * rejected rather than treated as none: the API server never sends that, and in a hand-written
 * NodeFile= our merge patch would otherwise silently replace the operator's (broken) value. */
static int node_map(json_object *md, const char *field, json_object **ret, char **reterr) {
        json_object *m = member(md, field);

        if (m && json_object_get_type(m) != json_type_object)
                return fail(reterr, "metadata.%s must be an object, not %s", field, type_name(m));

        *ret = json_object_get(m);
        return 0;
}

int node_view_from_json(json_object *node, NodeView *ret, char **reterr_reason) {
        _cleanup_(node_view_done) NodeView v = {};
        json_object *md, *name;
        const char *rv;
        int r;

        assert(ret);

        if (json_object_get_type(node) != json_type_object)
                return fail(reterr_reason, "Node must be an object, not %s", type_name(node));

        md = member(node, "metadata");
        if (!md)
                return fail(reterr_reason, "Node has no metadata");
        if (json_object_get_type(md) != json_type_object)
                return fail(reterr_reason, "metadata must be an object, not %s", type_name(md));

        name = member(md, "name");
        if (!name)
                return fail(reterr_reason, "metadata.name is missing");
        if (json_object_get_type(name) != json_type_string)
                return fail(reterr_reason, "metadata.name must be a string, not %s", type_name(name));
        if (json_object_get_string_len(name) == 0)
                return fail(reterr_reason, "metadata.name must not be empty");
        /* "\u0000" is valid JSON: a name cut short at it would be another node's (or empty). */
        if (strlen(json_object_get_string(name)) != (size_t) json_object_get_string_len(name))
                return fail(reterr_reason, "metadata.name must not contain a NUL character");

        v.name = strdup(json_object_get_string(name));
        if (!v.name)
                return -ENOMEM;

        /* Optional: a file source has none. A non-string one is ignored, never sent back. */
        rv = member_string(md, "resourceVersion");
        if (rv) {
                v.resource_version = strdup(rv);
                if (!v.resource_version)
                        return -ENOMEM;
        }

        r = node_map(md, "labels", &v.labels, reterr_reason);
        if (r < 0)
                return r;
        r = node_map(md, "annotations", &v.annotations, reterr_reason);
        if (r < 0)
                return r;

        *ret = v;
        v = (NodeView) {};
        return 0;
}

const char *node_view_label(const NodeView *v, const char *key) {
        return v ? member_string(v->labels, key) : NULL;
}

const char *node_view_annotation(const NodeView *v, const char *key) {
        return v ? member_string(v->annotations, key) : NULL;
}

/* Adds key to *patch_map (created on demand) when the node's map cur disagrees with want.
 * A present non-string value (only possible in a hand-written file) counts as different. */
static int patch_key(json_object *cur, const char *key, const char *want, json_object **patch_map) {
        json_object *have = member(cur, key), *v = NULL;

        if (want) {
                if (json_object_get_type(have) == json_type_string && streq(json_object_get_string(have), want))
                        return 0;
                v = json_object_new_string(want);
                if (!v)
                        return -ENOMEM;
        } else if (!have)
                return 0;

        if (!*patch_map) {
                *patch_map = json_object_new_object();
                if (!*patch_map) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }

        /* v == NULL adds a JSON null: in a merge patch, "delete this key". */
        if (json_object_object_add(*patch_map, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int node_build_patch(const NodeView *cur, const char *want_label, const char *want_annotation,
                     json_object **ret_patch) {
        return node_build_patch_keys(cur, KSM_LABEL_ENABLED, want_label, KSM_ANNOTATION_MANAGED, want_annotation,
                                     ret_patch);
}

int node_build_patch_keys(const NodeView *cur, const char *label_key, const char *want_label,
                          const char *annotation_key, const char *want_annotation, json_object **ret_patch) {
        _cleanup_(json_object_putp) json_object *labels = NULL, *annotations = NULL, *md = NULL, *patch = NULL;
        int r;

        assert(label_key);
        assert(annotation_key);
        assert(ret_patch);

        /* cur == NULL is a node that carries nothing yet. */
        r = patch_key(cur ? cur->labels : NULL, label_key, want_label, &labels);
        if (r < 0)
                return r;
        r = patch_key(cur ? cur->annotations : NULL, annotation_key, want_annotation, &annotations);
        if (r < 0)
                return r;

        if (!labels && !annotations) {
                *ret_patch = NULL;
                return 0;
        }

        md = json_object_new_object();
        patch = json_object_new_object();
        if (!md || !patch)
                return -ENOMEM;

        if (labels) {
                if (json_object_object_add(md, "labels", labels) < 0)
                        return -ENOMEM;
                labels = NULL;  /* owned by md now */
        }
        if (annotations) {
                if (json_object_object_add(md, "annotations", annotations) < 0)
                        return -ENOMEM;
                annotations = NULL;
        }
        if (json_object_object_add(patch, "metadata", md) < 0)
                return -ENOMEM;
        md = NULL;

        *ret_patch = TAKE_PTR(patch);
        return 1;
}

/* A deep copy of src; a JSON null (NULL) copies to NULL. 0 or -ENOMEM. */
static int deep_copy(json_object *src, json_object **ret) {
        json_object *dst = NULL;

        if (!src) {
                *ret = NULL;
                return 0;
        }
        if (json_object_deep_copy(src, &dst, NULL) < 0)
                return -ENOMEM;

        *ret = dst;
        return 0;
}

/* Adds value (consumed, may be NULL) under key. 0 or -ENOMEM. */
static int object_add_consume(json_object *o, const char *key, json_object *value) {
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

int json_merge_patch(json_object *target, json_object *patch, json_object **ret) {
        _cleanup_(json_object_putp) json_object *result = NULL;
        int r;

        assert(ret);

        /* RFC 7386 section 2, MergePatch(Target, Patch). Each node of the result is copied
         * exactly once, and target's keys keep their order (the file source writes the Node
         * back, and a stable order keeps its diffs small). */
        if (json_object_get_type(patch) != json_type_object)
                return deep_copy(patch, ret);

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;

        /* A target that is not an object is replaced by {}. */
        if (json_object_get_type(target) == json_type_object) {
                json_object_object_foreach(target, key, tval) {
                        json_object *pval, *merged = NULL;

                        if (json_object_object_get_ex(patch, key, &pval)) {
                                if (!pval)
                                        continue;       /* null: remove */
                                r = json_merge_patch(tval, pval, &merged);
                        } else
                                r = deep_copy(tval, &merged);
                        if (r < 0)
                                return r;

                        r = object_add_consume(result, key, merged);
                        if (r < 0)
                                return r;
                }
        }

        json_object_object_foreach(patch, pkey, pval) {
                json_object *merged = NULL;

                if (!pval)
                        continue;       /* null for a key target lacks: nothing to remove */
                if (json_object_get_type(target) == json_type_object &&
                    json_object_object_get_ex(target, pkey, NULL))
                        continue;       /* merged above, in target's order */

                r = json_merge_patch(NULL, pval, &merged);
                if (r < 0)
                        return r;

                r = object_add_consume(result, pkey, merged);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(result);
        return 0;
}

const char *kube_object_uid(json_object *o) {
        return member_string(member(o, "metadata"), "uid");
}

/* Adds key/value string pairs, up to a NULL key. 0, -EINVAL (a NULL value) or -ENOMEM. */
static int object_add_strings(json_object *o, ...) _sentinel_;
static int object_add_strings(json_object *o, ...) {
        const char *key;
        va_list ap;
        int r = 0;

        va_start(ap, o);
        while (r >= 0 && (key = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);
                json_object *v;

                if (!value) {
                        r = -EINVAL;
                        break;
                }
                v = json_object_new_string(value);
                r = v ? object_add_consume(o, key, v) : -ENOMEM;
        }
        va_end(ap);
        return r;
}

/* Adds a new object under key and returns it (borrowed from o), or NULL when out of memory. */
static json_object *object_add_object(json_object *o, const char *key) {
        json_object *v = json_object_new_object();

        if (!v || object_add_consume(o, key, v) < 0)
                return NULL;
        return v;
}

int kube_event_build(const KubeEventInfo *e, json_object **ret) {
        _cleanup_(json_object_putp) json_object *ev = NULL;
        _cleanup_free_ char *generate_name = NULL;
        json_object *md, *inv, *src, *count;
        char ts[sizeof("YYYY-MM-DDTHH:MM:SSZ")];
        time_t t;
        struct tm tm;
        int r;

        assert(e && ret);

        if (!e->namespace || !e->node_name || !e->type || !e->reason || !e->message || !e->component)
                return -EINVAL;

        /* RFC 3339 in UTC, as metav1.Time marshals; a year past 9999 does not fit. */
        t = (time_t) (e->timestamp_usec / USEC_PER_SEC);
        if (!gmtime_r(&t, &tm) || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) != sizeof(ts) - 1)
                return -EINVAL;

        generate_name = strdup_printf("%s.", e->node_name);
        ev = json_object_new_object();
        if (!generate_name || !ev)
                return -ENOMEM;

        /* The member order is the order kubectl prints; keep it stable for tests and diffs. */
        r = object_add_strings(ev, "apiVersion", "v1", "kind", "Event", NULL);
        if (r < 0)
                return r;
        md = object_add_object(ev, "metadata");
        if (!md)
                return -ENOMEM;
        r = object_add_strings(md, "generateName", generate_name, "namespace", e->namespace, NULL);
        if (r < 0)
                return r;
        inv = object_add_object(ev, "involvedObject");
        if (!inv)
                return -ENOMEM;
        r = object_add_strings(inv, "apiVersion", "v1", "kind", "Node", "name", e->node_name,
                               "uid", e->node_uid ?: e->node_name, NULL);
        if (r < 0)
                return r;
        r = object_add_strings(ev, "reason", e->reason, "message", e->message, "type", e->type, NULL);
        if (r < 0)
                return r;
        src = object_add_object(ev, "source");
        if (!src)
                return -ENOMEM;
        r = object_add_strings(src, "component", e->component, "host", e->node_name, NULL);
        if (r < 0)
                return r;
        r = object_add_strings(ev, "firstTimestamp", ts, "lastTimestamp", ts, NULL);
        if (r < 0)
                return r;
        count = json_object_new_int(1);
        if (!count)
                return -ENOMEM;
        r = object_add_consume(ev, "count", count);
        if (r < 0)
                return r;
        r = object_add_strings(ev, "reportingComponent", e->component, "reportingInstance", e->node_name, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(ev);
        return 0;
}
