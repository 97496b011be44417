/* kube-objects.h — pure json-c views of the KubeVirt CR and the Node, the minimal merge patch, and
 * the Event body. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "selector.h"

#define KSM_LABEL_ENABLED       "kubevirt.io/ksm-enabled"
#define KSM_ANNOTATION_MANAGED  "kubevirt.io/ksm-handler-managed"

typedef enum KsmConfigState {
        KSM_CONFIG_NO_CR,       /* no KubeVirt CR at all: nothing selected */
        KSM_CONFIG_ABSENT,      /* ksmConfiguration or nodeLabelSelector absent/null: nothing selected */
        KSM_CONFIG_SELECTOR,    /* a valid selector (possibly empty: everything) */
        KSM_CONFIG_INVALID,     /* a selector Kubernetes would reject: nothing selected, error set */
        KSM_CONFIG_AMBIGUOUS,   /* more than one CR: change nothing, error set */
        _KSM_CONFIG_STATE_MAX,
} KsmConfigState;

typedef struct KsmConfig {
        KsmConfigState state;
        LabelSelector *selector;        /* set for KSM_CONFIG_SELECTOR only */
        char *source;                   /* "NAMESPACE/NAME" of the CR used, or NULL */
        char *error;                    /* human-readable reason for INVALID and AMBIGUOUS */
} KsmConfig;

/* Derives the KSM configuration from every KubeVirt CR seen (crs may be NULL when n == 0).
 * Never fails on content: bad content is reported through state and error.
 * 0 or -ENOMEM. */
int ksm_config_from_kubevirts(json_object *const *crs, size_t n, KsmConfig *ret);
/* The same, with the selector read from the CR's annotation selector_annotation (a LabelSelector as
 * JSON text, e.g. '{"matchLabels":{"ksm":"on"}}'; absent or "null": nothing selected) instead of
 * spec.configuration.ksmConfiguration.nodeLabelSelector, when that is not NULL. */
int ksm_config_from_kubevirts_with(json_object *const *crs, size_t n, const char *selector_annotation,
                                   KsmConfig *ret);
void ksm_config_done(KsmConfig *c);
const char *ksm_config_state_to_string(KsmConfigState s);

/* Splits a parsed document into KubeVirt objects: a single object of kind KubeVirt, or a list
 * (kind ending in "List", or any object with an "items" array). *ret is a new array of new
 * references (NULL when *ret_n is 0: an empty list). An object without kind but with metadata or
 * spec is taken as a KubeVirt (hand-written files); list items may lack kind, but one that has it
 * must say KubeVirt. 0 or -EINVAL (not a KubeVirt or a list of them; *reterr_reason says why) or
 * -ENOMEM. */
int kubevirts_from_document(json_object *doc, json_object ***ret, size_t *ret_n, char **reterr_reason);
void kubevirts_free(json_object **crs, size_t n);

typedef struct NodeView {
        char *name;
        char *resource_version;         /* NULL if absent */
        json_object *labels;            /* new reference to metadata.labels, NULL if absent */
        json_object *annotations;       /* new reference to metadata.annotations, NULL if absent */
} NodeView;

/* Builds a view of a Node object. Absent or null labels/annotations give NULL. 0, or -EINVAL (not
 * an object with a non-empty string metadata.name, or labels/annotations present but not objects;
 * *reterr_reason says why; *ret untouched), or -ENOMEM. */
int node_view_from_json(json_object *node, NodeView *ret, char **reterr_reason);
void node_view_done(NodeView *v);

/* The value of a label or annotation, or NULL if the node does not carry it. */
const char *node_view_label(const NodeView *v, const char *key);
const char *node_view_annotation(const NodeView *v, const char *key);

/* Builds the JSON merge patch (RFC 7386) that makes the node carry want_label under
 * KSM_LABEL_ENABLED and want_annotation under KSM_ANNOTATION_MANAGED (NULL: the key must be
 * absent). Only keys whose value differs appear; no other key is touched.
 *   0: nothing to change (*ret_patch = NULL);  1: *ret_patch set;  -ENOMEM. */
int node_build_patch(const NodeView *cur, const char *want_label, const char *want_annotation,
                     json_object **ret_patch);

/* The same for other keys than the KubeVirt ones (EnabledLabel=, ManagedAnnotation=). */
int node_build_patch_keys(const NodeView *cur, const char *label_key, const char *want_label,
                          const char *annotation_key, const char *want_annotation, json_object **ret_patch);

/* Applies a JSON merge patch (RFC 7386) to a deep copy of target. 0 or -ENOMEM. */
int json_merge_patch(json_object *target, json_object *patch, json_object **ret);

/* Who last wrote metadata.MAP.KEY (map: "labels" or "annotations") according to the object's
 * metadata.managedFields (the entry with the latest time whose fieldsV1 has the key), or NULL when
 * the server keeps none or none has it. Borrowed from obj. */
const char *kube_field_manager(json_object *obj, const char *map, const char *key);

/* metadata.uid of an object when it is a string, else NULL. Borrowed from o. */
const char *kube_object_uid(json_object *o);

typedef struct KubeEventInfo {
        const char *namespace;          /* where the Event is created ("default", as kubelet does) */
        const char *node_name;          /* the Node the Event is about, and the reporting host */
        const char *node_uid;           /* its metadata.uid; NULL: the name stands in */
        const char *type;               /* "Normal" or "Warning" */
        const char *reason;             /* CamelCase, e.g. "KsmEnabled" */
        const char *message;
        const char *component;          /* source.component and reportingComponent */
        uint64_t timestamp_usec;        /* CLOCK_REALTIME; first and last timestamp, whole seconds */
} KubeEventInfo;

/* Builds a core/v1 Event about a Node (count 1, generateName "NODE."), ready to POST to
 * /api/v1/namespaces/NAMESPACE/events. 0, -EINVAL (a field other than node_uid is NULL, or the
 * timestamp is past year 9999) or -ENOMEM. */
int kube_event_build(const KubeEventInfo *info, json_object **ret);
