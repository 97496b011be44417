/* test-kube-objects.c — table tests of the KubeVirt CR and Node views, the node patch, RFC 7386 merge
 * patch, and the Event body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "json-util.h"
#include "kube-objects.h"
#include "macro.h"
#include "test-tables.h"
#include "selector.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);


static const char *to_string(json_object *o) {
        return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                 : "null";
}

/* want NULL: got must be NULL. Otherwise got must equal want (exact) or contain it (substr). */
static void check_str(const char *case_name, const char *what, const char *got, const char *want, bool substr) {
        if (!want) {
                if (got)
                        fail_msg("%s: %s is \"%s\", expected NULL", case_name, what, got);
                return;
        }
        if (!got)
                fail_msg("%s: %s is NULL, expected \"%s\"", case_name, what, want);
        if (substr ? !strstr(got, want) : !streq(got, want))
                fail_msg("%s: %s is \"%s\", expected %s\"%s\"", case_name, what, got,
                         substr ? "something containing " : "", want);
}

/* ------------------------------------------------------------------------------------------ */
/* ksm_config_from_kubevirts() */

#define KV(md, spec) "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":" md ",\"spec\":" spec "}"
#define MD_KUBEVIRT "{\"name\":\"kubevirt\",\"namespace\":\"kubevirt\"}"
#define KSM(nls) "{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":" nls "}}}"
#define SEED_HOSTNAME \
        "{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":\"In\"," \
        "\"values\":[\"node01\",\"node03\"]}]}"
#define SEED_TWO_LABELS \
        "{\"matchLabels\":{\"kubevirt.io/first-label\":\"true\",\"kubevirt.io/second-label\":\"true\"}}"
#define GT "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}"

typedef struct ConfigCase {
        const char *name;
        const char *crs[3];
        size_t n;
        KsmConfigState state;
        const char *source;
        const char *error;      /* exact */
        const char *labels;     /* for SELECTOR: a node's labels, and whether they match */
        bool match;
} ConfigCase;

static const ConfigCase config_cases[] = {
        { "config: no CR", {}, 0, KSM_CONFIG_NO_CR },
        { "config: two CRs are ambiguous",
          { KV(MD_KUBEVIRT, "{}"), KV("{\"name\":\"kv2\",\"namespace\":\"other\"}", KSM("{}")) }, 2,
          KSM_CONFIG_AMBIGUOUS, NULL,
          "2 KubeVirt resources found (kubevirt/kubevirt, other/kv2); refusing to choose" },
        { "config: three CRs, one unnamed, one without namespace",
          { KV(MD_KUBEVIRT, "{}"), "{\"kind\":\"KubeVirt\",\"spec\":{}}", KV("{\"name\":\"kv3\"}", "{}") }, 3,
          KSM_CONFIG_AMBIGUOUS, NULL,
          "3 KubeVirt resources found (kubevirt/kubevirt, (unnamed), kv3); refusing to choose" },
        { "config: CR without spec", { "{\"kind\":\"KubeVirt\",\"metadata\":" MD_KUBEVIRT "}" }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: CR without configuration", { KV(MD_KUBEVIRT, "{\"certificateRotateStrategy\":{}}") }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: configuration null", { KV(MD_KUBEVIRT, "{\"configuration\":null}") }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: configuration without ksmConfiguration",
          { KV(MD_KUBEVIRT, "{\"configuration\":{\"developerConfiguration\":{\"featureGates\":[]}}}") }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: ksmConfiguration null", { KV(MD_KUBEVIRT, "{\"configuration\":{\"ksmConfiguration\":null}}") }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: ksmConfiguration {} (nodeLabelSelector absent)",
          { KV(MD_KUBEVIRT, "{\"configuration\":{\"ksmConfiguration\":{}}}") }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: nodeLabelSelector null", { KV(MD_KUBEVIRT, KSM("null")) }, 1,
          KSM_CONFIG_ABSENT, "kubevirt/kubevirt" },
        { "config: nodeLabelSelector {} selects a node without labels", { KV(MD_KUBEVIRT, KSM("{}")) }, 1,
          KSM_CONFIG_SELECTOR, "kubevirt/kubevirt", NULL, NULL, true },
        { "config: nodeLabelSelector {} selects a labelled node", { KV(MD_KUBEVIRT, KSM("{}")) }, 1,
          KSM_CONFIG_SELECTOR, "kubevirt/kubevirt", NULL, "{\"kubernetes.io/hostname\":\"node02\"}", true },
        { "config: seed hostname selector, node01", { KV(MD_KUBEVIRT, KSM(SEED_HOSTNAME)) }, 1,
          KSM_CONFIG_SELECTOR, "kubevirt/kubevirt", NULL, "{\"kubernetes.io/hostname\":\"node01\"}", true },
        { "config: seed hostname selector, node02", { KV(MD_KUBEVIRT, KSM(SEED_HOSTNAME)) }, 1,
          KSM_CONFIG_SELECTOR, "kubevirt/kubevirt", NULL, "{\"kubernetes.io/hostname\":\"node02\"}", false },
        { "config: seed two labels, node has both", { KV(MD_KUBEVIRT, KSM(SEED_TWO_LABELS)) }, 1,
          KSM_CONFIG_SELECTOR, "kubevirt/kubevirt", NULL,
          "{\"kubevirt.io/first-label\":\"true\",\"kubevirt.io/second-label\":\"true\"}", true },
        { "config: CR without namespace", { KV("{\"name\":\"kv\"}", KSM("{}")) }, 1,
          KSM_CONFIG_SELECTOR, "kv", NULL, NULL, true },
        { "config: invalid selector names the CR", { KV(MD_KUBEVIRT, KSM(GT)) }, 1,
          KSM_CONFIG_INVALID, "kubevirt/kubevirt",
          "KubeVirt kubevirt/kubevirt: invalid nodeLabelSelector: matchExpressions[0]: operator \"Gt\" "
          "is not one of In, NotIn, Exists, DoesNotExist" },
        { "config: In without values", { KV(MD_KUBEVIRT, KSM("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}")) }, 1,
          KSM_CONFIG_INVALID, "kubevirt/kubevirt",
          "KubeVirt kubevirt/kubevirt: invalid nodeLabelSelector: matchExpressions[0]: values must be non-empty "
          "for operator In" },
        { "config: nodeLabelSelector a string", { KV("{\"name\":\"kv\"}", KSM("\"all\"")) }, 1,
          KSM_CONFIG_INVALID, "kv",
          "KubeVirt kv: invalid nodeLabelSelector: selector must be an object, not string" },
        { "config: invalid selector in an unnamed CR", { "{\"spec\":" KSM(GT) "}" }, 1,
          KSM_CONFIG_INVALID, NULL,
          "KubeVirt (unnamed): invalid nodeLabelSelector: matchExpressions[0]: operator \"Gt\" "
          "is not one of In, NotIn, Exists, DoesNotExist" },
        { "config: CR not an object", { "\"kubevirt\"" }, 1,
          KSM_CONFIG_INVALID, NULL, "KubeVirt resource must be an object, not string" },
        { "config: CR null", { "null" }, 1,
          KSM_CONFIG_INVALID, NULL, "KubeVirt resource must be an object, not null" },
        { "config: spec a string", { KV(MD_KUBEVIRT, "\"x\"") }, 1,
          KSM_CONFIG_INVALID, "kubevirt/kubevirt", "KubeVirt kubevirt/kubevirt: spec must be an object, not string" },
        { "config: ksmConfiguration a boolean", { KV(MD_KUBEVIRT, "{\"configuration\":{\"ksmConfiguration\":true}}") }, 1,
          KSM_CONFIG_INVALID, "kubevirt/kubevirt",
          "KubeVirt kubevirt/kubevirt: spec.configuration.ksmConfiguration must be an object, not boolean" },
        { "config: control characters in the name are replaced",
          { KV("{\"name\":\"a\\nb\",\"namespace\":\"ns\"}", KSM(GT)) }, 1,
          KSM_CONFIG_INVALID, "ns/a?b", NULL },
};

static void test_config(void **state) {
        const ConfigCase *c = *state;
        json_object *crs[ELEMENTSOF(c->crs)] = {};
        _cleanup_(json_object_putp) json_object *labels = NULL;
        _cleanup_(ksm_config_done) KsmConfig cfg = {};
        int r;

        for (size_t i = 0; i < c->n; i++)
                crs[i] = test_parse_json(c->name, c->crs[i]);
        labels = test_parse_json(c->name, c->labels);

        r = ksm_config_from_kubevirts(c->n > 0 ? crs : NULL, c->n, &cfg);
        if (r != 0)
                fail_msg("%s: ksm_config_from_kubevirts() = %d", c->name, r);

        /* The config must not borrow from the CRs. */
        for (size_t i = 0; i < c->n; i++)
                json_object_put(crs[i]);

        if (cfg.state != c->state)
                fail_msg("%s: state %s, expected %s", c->name,
                         ksm_config_state_to_string(cfg.state), ksm_config_state_to_string(c->state));
        check_str(c->name, "source", cfg.source, c->source, false);
        if (c->state == KSM_CONFIG_INVALID && !c->error) {
                if (!cfg.error || !strstr(cfg.error, c->source))
                        fail_msg("%s: error \"%s\" does not name %s", c->name, strna(cfg.error), c->source);
        } else
                check_str(c->name, "error", cfg.error, c->error, false);

        if (c->state == KSM_CONFIG_SELECTOR) {
                if (!cfg.selector)
                        fail_msg("%s: no selector", c->name);
                if (selector_matches(cfg.selector, labels) != c->match)
                        fail_msg("%s: selector_matches() = %s", c->name, c->match ? "false" : "true");
        } else if (cfg.selector)
                fail_msg("%s: selector set in state %s", c->name, ksm_config_state_to_string(cfg.state));
}

static void test_config_many(void **state) {
        json_object *crs[12];
        _cleanup_(ksm_config_done) KsmConfig cfg = {};

        for (size_t i = 0; i < ELEMENTSOF(crs); i++) {
                char buf[128];

                (void) snprintf(buf, sizeof(buf), "{\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kv%zu\"}}", i);
                crs[i] = test_parse_json("many CRs", buf);
        }

        assert_int_equal(ksm_config_from_kubevirts(crs, ELEMENTSOF(crs), &cfg), 0);
        assert_int_equal(cfg.state, KSM_CONFIG_AMBIGUOUS);
        assert_null(cfg.source);
        assert_null(cfg.selector);
        assert_string_equal(cfg.error,
                            "12 KubeVirt resources found (kv0, kv1, kv2, kv3, kv4, kv5, kv6, kv7, ...); refusing to choose");

        for (size_t i = 0; i < ELEMENTSOF(crs); i++)
                json_object_put(crs[i]);

        /* Done twice, and on a zeroed config, is harmless. */
        ksm_config_done(&cfg);
        ksm_config_done(&cfg);
        assert_int_equal(cfg.state, KSM_CONFIG_NO_CR);
        ksm_config_done(NULL);
}

static void test_config_state_names(void **state) {
        static const char *const names[_KSM_CONFIG_STATE_MAX] = {
                [KSM_CONFIG_NO_CR] = "no-cr",
                [KSM_CONFIG_ABSENT] = "absent",
                [KSM_CONFIG_SELECTOR] = "selector",
                [KSM_CONFIG_INVALID] = "invalid",
                [KSM_CONFIG_AMBIGUOUS] = "ambiguous",
        };

        for (int s = 0; s < _KSM_CONFIG_STATE_MAX; s++)
                assert_string_equal(ksm_config_state_to_string(s), names[s]);
        assert_null(ksm_config_state_to_string(_KSM_CONFIG_STATE_MAX));
        assert_null(ksm_config_state_to_string((KsmConfigState) -1));
}

/* ------------------------------------------------------------------------------------------ */
/* kubevirts_from_document() */

typedef struct DocumentCase {
        const char *name;
        const char *doc;
        int r;
        size_t n;
        const char *first;      /* metadata.name of the first CR, or the reason (substring) on error */
} DocumentCase;

static const DocumentCase document_cases[] = {
        { "document: a single KubeVirt", KV(MD_KUBEVIRT, "{}"), 0, 1, "kubevirt" },
        { "document: a KubeVirtList",
          "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirtList\",\"metadata\":{\"resourceVersion\":\"7\"},"
          "\"items\":[" KV("{\"name\":\"a\"}", "{}") "," KV("{\"name\":\"b\"}", "{}") "]}", 0, 2, "a" },
        { "document: a List whose items have no kind",
          "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"a\"},\"spec\":{}}]}", 0, 1, "a" },
        { "document: an empty KubeVirtList", "{\"kind\":\"KubeVirtList\",\"items\":[]}", 0, 0 },
        { "document: a KubeVirtList with items null", "{\"kind\":\"KubeVirtList\",\"items\":null}", 0, 0 },
        { "document: a KubeVirtList without items", "{\"kind\":\"KubeVirtList\"}", 0, 0 },
        { "document: items without kind", "{\"items\":[{\"metadata\":{\"name\":\"x\"}}]}", 0, 1, "x" },
        { "document: no kind, but metadata and spec (lenient)", "{\"metadata\":{\"name\":\"kv\"},\"spec\":{}}", 0, 1, "kv" },
        { "document: no kind, only spec (lenient)", "{\"spec\":" KSM("{}") "}", 0, 1, NULL },
        { "document: kind KubeVirt wins over items", "{\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"k\"},\"items\":7}", 0, 1, "k" },
        { "document: wrong kind", "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\"}}", -EINVAL, 0,
          "document is of kind \"Node\", not KubeVirt or a list of KubeVirts" },
        { "document: a list of the wrong kind",
          "{\"kind\":\"NodeList\",\"items\":[{\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}}]}", -EINVAL, 0,
          "items[0]: kind \"Node\" is not KubeVirt" },
        { "document: a list item not an object", "{\"kind\":\"List\",\"items\":[{\"spec\":{}},\"x\"]}", -EINVAL, 0,
          "items[1]: must be an object, not string" },
        { "document: a list item kind not a string", "{\"kind\":\"List\",\"items\":[{\"kind\":1}]}", -EINVAL, 0,
          "items[0]: kind must be a string, not int" },
        { "document: items not an array", "{\"kind\":\"KubeVirtList\",\"items\":{}}", -EINVAL, 0,
          "items must be an array, not object" },
        { "document: kind not a string", "{\"kind\":[\"KubeVirt\"],\"spec\":{}}", -EINVAL, 0,
          "kind must be a string, not array" },
        { "document: an empty object", "{}", -EINVAL, 0, "neither a KubeVirt nor a list of KubeVirts" },
        { "document: an array", "[" KV(MD_KUBEVIRT, "{}") "]", -EINVAL, 0, "document must be a JSON object, not array" },
        { "document: a string", "\"KubeVirt\"", -EINVAL, 0, "document must be a JSON object, not string" },
        { "document: null", "null", -EINVAL, 0, "document must be a JSON object, not null" },
};

static void test_document(void **state) {
        const DocumentCase *c = *state;
        json_object **crs = NULL;
        _cleanup_free_ char *reason = NULL;
        json_object *doc;
        size_t n = 99;
        int r;

        doc = test_parse_json(c->name, c->doc);
        r = kubevirts_from_document(doc, &crs, &n, &reason);
        json_object_put(doc);   /* the result holds its own references */

        if (r != c->r)
                fail_msg("%s: kubevirts_from_document() = %d (%s), expected %d", c->name, r, strna(reason), c->r);

        if (r < 0) {
                check_str(c->name, "reason", reason, c->first, true);
                return;
        }

        check_str(c->name, "reason", reason, NULL, false);
        if (n != c->n)
                fail_msg("%s: %zu CRs, expected %zu", c->name, n, c->n);
        if (n == 0 && crs)
                fail_msg("%s: array returned for no CRs", c->name);
        for (size_t i = 0; i < n; i++)
                if (json_object_get_type(crs[i]) != json_type_object)
                        fail_msg("%s: CR %zu is not an object", c->name, i);
        if (n > 0) {
                json_object *md = NULL, *name = NULL;

                (void) json_object_object_get_ex(crs[0], "metadata", &md);
                (void) json_object_object_get_ex(md, "name", &name);
                check_str(c->name, "first name", name ? json_object_get_string(name) : NULL, c->first, false);
        }

        kubevirts_free(crs, n);
}

/* A LIST of two CRs, straight through to the config. */
static void test_document_to_config(void **state) {
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_(ksm_config_done) KsmConfig cfg = {};
        json_object **crs = NULL;
        size_t n = 0;

        doc = test_parse_json("list to config",
                    "{\"kind\":\"KubeVirtList\",\"items\":[" KV(MD_KUBEVIRT, KSM("{}")) ","
                    KV("{\"name\":\"kv2\",\"namespace\":\"other\"}", "{}") "]}");
        assert_int_equal(kubevirts_from_document(doc, &crs, &n, NULL), 0);
        assert_int_equal(ksm_config_from_kubevirts(crs, n, &cfg), 0);
        assert_int_equal(cfg.state, KSM_CONFIG_AMBIGUOUS);
        assert_string_equal(cfg.error, "2 KubeVirt resources found (kubevirt/kubevirt, other/kv2); refusing to choose");
        kubevirts_free(crs, n);
        kubevirts_free(NULL, 0);

        /* Without reterr_reason, errors still come back. */
        assert_int_equal(kubevirts_from_document(NULL, &crs, &n, NULL), -EINVAL);
}

/* ------------------------------------------------------------------------------------------ */
/* node_view_from_json() */

typedef struct NodeCase {
        const char *name;
        const char *node;
        int r;
        const char *node_name;  /* or, on error, the reason (substring) */
        const char *resource_version;
        bool has_labels, has_annotations;
        const char *label;      /* node_view_label(KSM_LABEL_ENABLED) */
        const char *annotation; /* node_view_annotation(KSM_ANNOTATION_MANAGED) */
} NodeCase;

static const NodeCase node_cases[] = {
        { "node: full",
          "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\",\"resourceVersion\":\"12345\","
          "\"labels\":{\"kubernetes.io/hostname\":\"node01\",\"kubevirt.io/ksm-enabled\":\"true\"},"
          "\"annotations\":{\"kubevirt.io/ksm-handler-managed\":\"false\",\"x\":\"y\"}},"
          "\"spec\":{},\"status\":{\"capacity\":{\"memory\":\"16Gi\"}}}",
          0, "node01", "12345", true, true, "true", "false" },
        { "node: minimal", "{\"metadata\":{\"name\":\"n\"}}", 0, "n", NULL, false, false, NULL, NULL },
        { "node: labels and annotations null", "{\"metadata\":{\"name\":\"n\",\"labels\":null,\"annotations\":null}}",
          0, "n", NULL, false, false, NULL, NULL },
        { "node: labels without ours", "{\"metadata\":{\"name\":\"n\",\"labels\":{\"a\":\"b\"},\"annotations\":{}}}",
          0, "n", NULL, true, true, NULL, NULL },
        { "node: non-string label value reads as absent",
          "{\"metadata\":{\"name\":\"n\",\"labels\":{\"kubevirt.io/ksm-enabled\":true},"
          "\"annotations\":{\"kubevirt.io/ksm-handler-managed\":null}}}",
          0, "n", NULL, true, true, NULL, NULL },
        { "node: non-string resourceVersion is ignored", "{\"metadata\":{\"name\":\"n\",\"resourceVersion\":5}}",
          0, "n", NULL, false, false, NULL, NULL },
        { "node: missing name", "{\"metadata\":{\"labels\":{}}}", -EINVAL, "metadata.name is missing" },
        { "node: name null", "{\"metadata\":{\"name\":null}}", -EINVAL, "metadata.name is missing" },
        { "node: name not a string", "{\"metadata\":{\"name\":1}}", -EINVAL, "metadata.name must be a string, not int" },
        { "node: empty name", "{\"metadata\":{\"name\":\"\"}}", -EINVAL, "metadata.name must not be empty" },
        { "node: no metadata", "{\"kind\":\"Node\"}", -EINVAL, "Node has no metadata" },
        { "node: metadata a string", "{\"metadata\":\"node01\"}", -EINVAL, "metadata must be an object, not string" },
        { "node: not an object", "[{\"metadata\":{\"name\":\"n\"}}]", -EINVAL, "Node must be an object, not array" },
        { "node: null", "null", -EINVAL, "Node must be an object, not null" },
        /* Our choice: reject, rather than let a patch silently replace a broken value. */
        { "node: labels not an object is rejected", "{\"metadata\":{\"name\":\"n\",\"labels\":[\"a\"]}}", -EINVAL,
          "metadata.labels must be an object, not array" },
        { "node: annotations not an object is rejected", "{\"metadata\":{\"name\":\"n\",\"annotations\":\"a=b\"}}", -EINVAL,
          "metadata.annotations must be an object, not string" },
};

static void test_node(void **state) {
        const NodeCase *c = *state;
        _cleanup_(node_view_done) NodeView v = {};
        _cleanup_free_ char *reason = NULL;
        json_object *node;
        int r;

        node = test_parse_json(c->name, c->node);
        r = node_view_from_json(node, &v, &reason);
        json_object_put(node);  /* the view holds its own references */

        if (r != c->r)
                fail_msg("%s: node_view_from_json() = %d (%s), expected %d", c->name, r, strna(reason), c->r);
        if (r < 0) {
                check_str(c->name, "reason", reason, c->node_name, true);
                if (v.name || v.labels || v.annotations)
                        fail_msg("%s: view filled on failure", c->name);
                return;
        }

        check_str(c->name, "name", v.name, c->node_name, false);
        check_str(c->name, "resourceVersion", v.resource_version, c->resource_version, false);
        if ((v.labels != NULL) != c->has_labels)
                fail_msg("%s: labels %s", c->name, v.labels ? "set" : "not set");
        if ((v.annotations != NULL) != c->has_annotations)
                fail_msg("%s: annotations %s", c->name, v.annotations ? "set" : "not set");
        check_str(c->name, "label", node_view_label(&v, KSM_LABEL_ENABLED), c->label, false);
        check_str(c->name, "annotation", node_view_annotation(&v, KSM_ANNOTATION_MANAGED), c->annotation, false);
}

static void test_node_null(void **state) {
        NodeView v = {};

        assert_null(node_view_label(NULL, KSM_LABEL_ENABLED));
        assert_null(node_view_annotation(NULL, KSM_ANNOTATION_MANAGED));
        assert_null(node_view_label(&v, KSM_LABEL_ENABLED));
        node_view_done(&v);
        node_view_done(NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* node_build_patch() */

typedef struct PatchCase {
        const char *name;
        const char *node;               /* NULL: cur is NULL */
        const char *want_label, *want_annotation;
        const char *patch;              /* expected; NULL: no patch (return 0) */
} PatchCase;

#define NODE(labels, annotations) \
        "{\"metadata\":{\"name\":\"node01\",\"resourceVersion\":\"9\",\"labels\":" labels ",\"annotations\":" annotations "}," \
        "\"spec\":{\"podCIDR\":\"10.0.0.0/24\"}}"
#define L_TRUE "\"kubevirt.io/ksm-enabled\":\"true\""
#define L_FALSE "\"kubevirt.io/ksm-enabled\":\"false\""
#define A_TRUE "\"kubevirt.io/ksm-handler-managed\":\"true\""
#define A_FALSE "\"kubevirt.io/ksm-handler-managed\":\"false\""
#define OTHER_L "\"kubernetes.io/hostname\":\"node01\""
#define OTHER_A "\"node.alpha.kubernetes.io/ttl\":\"0\""

static const PatchCase patch_cases[] = {
        { "patch: no change", NODE("{" L_TRUE "," OTHER_L "}", "{" A_TRUE "}"), "true", "true", NULL },
        { "patch: no change, false/false", NODE("{" L_FALSE "}", "{" A_FALSE "," OTHER_A "}"), "false", "false", NULL },
        { "patch: label differs only", NODE("{" L_FALSE "," OTHER_L "}", "{" A_TRUE "," OTHER_A "}"), "true", "true",
          "{\"metadata\":{\"labels\":{" L_TRUE "}}}" },
        { "patch: annotation differs only", NODE("{" L_TRUE "}", "{" A_FALSE "}"), "true", "true",
          "{\"metadata\":{\"annotations\":{" A_TRUE "}}}" },
        { "patch: both differ, other keys untouched", NODE("{" OTHER_L "," L_FALSE "}", "{" OTHER_A "}"), "true", "true",
          "{\"metadata\":{\"labels\":{" L_TRUE "},\"annotations\":{" A_TRUE "}}}" },
        { "patch: node without labels or annotations", "{\"metadata\":{\"name\":\"n\"}}", "false", "false",
          "{\"metadata\":{\"labels\":{" L_FALSE "},\"annotations\":{" A_FALSE "}}}" },
        { "patch: labels and annotations null", NODE("null", "null"), "true", NULL,
          "{\"metadata\":{\"labels\":{" L_TRUE "}}}" },
        { "patch: cur NULL", NULL, "true", "true",
          "{\"metadata\":{\"labels\":{" L_TRUE "},\"annotations\":{" A_TRUE "}}}" },
        { "patch: want NULL, key present: null", NODE("{" L_TRUE "," OTHER_L "}", "{" OTHER_A "}"), NULL, NULL,
          "{\"metadata\":{\"labels\":{\"kubevirt.io/ksm-enabled\":null}}}" },
        { "patch: want NULL, both present: both null", NODE("{" L_FALSE "}", "{" A_FALSE "}"), NULL, NULL,
          "{\"metadata\":{\"labels\":{\"kubevirt.io/ksm-enabled\":null},"
          "\"annotations\":{\"kubevirt.io/ksm-handler-managed\":null}}}" },
        { "patch: want NULL, key absent: nothing", NODE("{" OTHER_L "}", "{" OTHER_A "}"), NULL, NULL, NULL },
        { "patch: want NULL, no maps: nothing", "{\"metadata\":{\"name\":\"n\"}}", NULL, NULL, NULL },
        { "patch: cur NULL, want NULL: nothing", NULL, NULL, NULL, NULL },
        { "patch: set label, remove annotation", NODE("{" OTHER_L "}", "{" A_TRUE "}"), "true", NULL,
          "{\"metadata\":{\"labels\":{" L_TRUE "},\"annotations\":{\"kubevirt.io/ksm-handler-managed\":null}}}" },
        { "patch: values are compared exactly", NODE("{\"kubevirt.io/ksm-enabled\":\"True\"}", "{}"), "true", NULL,
          "{\"metadata\":{\"labels\":{" L_TRUE "}}}" },
        { "patch: a non-string value is replaced", NODE("{\"kubevirt.io/ksm-enabled\":true}", "{}"), "true", NULL,
          "{\"metadata\":{\"labels\":{" L_TRUE "}}}" },
        { "patch: a non-string value is removed", NODE("{\"kubevirt.io/ksm-enabled\":1}", "{}"), NULL, NULL,
          "{\"metadata\":{\"labels\":{\"kubevirt.io/ksm-enabled\":null}}}" },
};

/* Sets or removes key in the object at metadata.<map> of a copy of the node, by hand. */
static void expect_key(json_object *node, const char *map, const char *key, const char *want) {
        json_object *md = NULL, *m = NULL;

        assert_true(json_object_object_get_ex(node, "metadata", &md));
        (void) json_object_object_get_ex(md, map, &m);
        if (json_object_get_type(m) != json_type_object) {
                if (!want)
                        return;
                m = json_object_new_object();
                json_object_object_add(md, map, m);
        }
        if (want)
                json_object_object_add(m, key, json_object_new_string(want));
        else
                json_object_object_del(m, key);
}

static void test_patch(void **state) {
        const PatchCase *c = *state;
        _cleanup_(json_object_putp) json_object *node = NULL, *want = NULL, *patch = NULL, *patched = NULL,
                *expected = NULL;
        _cleanup_(node_view_done) NodeView v = {};
        int r;

        node = test_parse_json(c->name, c->node);
        want = test_parse_json(c->name, c->patch);
        if (node && node_view_from_json(node, &v, NULL) < 0)
                fail_msg("%s: bad node in the test table", c->name);

        r = node_build_patch(node ? &v : NULL, c->want_label, c->want_annotation, &patch);
        if (r != (c->patch ? 1 : 0))
                fail_msg("%s: node_build_patch() = %d, expected %d", c->name, r, c->patch ? 1 : 0);
        if (!json_object_equal(patch, want))
                fail_msg("%s: patch %s, expected %s", c->name, to_string(patch), to_string(want));

        if (!node)
                return;

        /* Applying the patch (if any) gives exactly the node with our two keys set as wanted. */
        if (patch)
                assert_int_equal(json_merge_patch(node, patch, &patched), 0);
        else
                assert_int_equal(json_object_deep_copy(node, &patched, NULL), 0);
        assert_int_equal(json_object_deep_copy(node, &expected, NULL), 0);
        expect_key(expected, "labels", KSM_LABEL_ENABLED, c->want_label);
        expect_key(expected, "annotations", KSM_ANNOTATION_MANAGED, c->want_annotation);
        if (!json_object_equal(patched, expected))
                fail_msg("%s: patched node %s, expected %s", c->name, to_string(patched), to_string(expected));
}

/* ------------------------------------------------------------------------------------------ */
/* json_merge_patch() */

typedef struct MergeCase {
        const char *name;
        const char *target, *patch, *result;
} MergeCase;

static const MergeCase merge_cases[] = {
        /* RFC 7386 Appendix A, every example in order. */
        { "RFC 7386 A.1: replace a member", "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "RFC 7386 A.2: add a member", "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
        { "RFC 7386 A.3: remove a member", "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
        { "RFC 7386 A.4: remove one of two", "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
        { "RFC 7386 A.5: array replaced by string", "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
        { "RFC 7386 A.6: string replaced by array", "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
        { "RFC 7386 A.7: nested merge with removal", "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
          "{\"a\":{\"b\":\"d\"}}" },
        { "RFC 7386 A.8: arrays are replaced, not merged", "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
        { "RFC 7386 A.9: array target, array patch", "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
        { "RFC 7386 A.10: object target, array patch", "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
        { "RFC 7386 A.11: null patch", "{\"a\":\"foo\"}", "null", "null" },
        { "RFC 7386 A.12: string patch", "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
        { "RFC 7386 A.13: nulls in the target stay", "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
        { "RFC 7386 A.14: array target, object patch", "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
        { "RFC 7386 A.15: nulls deep in a new member", "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },

        /* More. */
        { "merge: empty patch copies the target", "{\"a\":{\"b\":[1,{\"c\":2}]}}", "{}", "{\"a\":{\"b\":[1,{\"c\":2}]}}" },
        { "merge: null target, object patch", "null", "{\"a\":{\"b\":null,\"c\":1}}", "{\"a\":{\"c\":1}}" },
        { "merge: scalar target, object patch", "42", "{\"a\":1}", "{\"a\":1}" },
        { "merge: scalar member replaced by object", "{\"a\":1}", "{\"a\":{\"b\":2}}", "{\"a\":{\"b\":2}}" },
        { "merge: removing an absent member", "{\"a\":1}", "{\"b\":null}", "{\"a\":1}" },
        { "merge: numbers, booleans and doubles", "{\"a\":1}", "{\"b\":true,\"c\":1.5,\"d\":-3}",
          "{\"a\":1,\"b\":true,\"c\":1.5,\"d\":-3}" },
        { "merge: a node label patch",
          "{\"metadata\":{\"name\":\"n\",\"labels\":{\"a\":\"b\"}},\"spec\":{}}",
          "{\"metadata\":{\"labels\":{\"kubevirt.io/ksm-enabled\":\"true\"},\"annotations\":{\"x\":null}}}",
          "{\"metadata\":{\"name\":\"n\",\"labels\":{\"a\":\"b\",\"kubevirt.io/ksm-enabled\":\"true\"},\"annotations\":{}},"
          "\"spec\":{}}" },
};

/* True when a node of tree also occurs (by pointer) somewhere in other. */
static bool contains_node(json_object *tree, json_object *node) {
        if (!tree || !node)
                return false;
        if (tree == node)
                return true;
        switch (json_object_get_type(tree)) {
        case json_type_object: {
                json_object_object_foreach(tree, k, v) {
                        (void) k;
                        if (contains_node(v, node))
                                return true;
                }
                return false;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(tree); i++)
                        if (contains_node(json_object_array_get_idx(tree, i), node))
                                return true;
                return false;
        default:
                return false;
        }
}

static bool shares_nodes(json_object *result, json_object *other) {
        if (!result)
                return false;
        if (contains_node(other, result))
                return true;
        switch (json_object_get_type(result)) {
        case json_type_object: {
                json_object_object_foreach(result, k, v) {
                        (void) k;
                        if (shares_nodes(v, other))
                                return true;
                }
                return false;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(result); i++)
                        if (shares_nodes(json_object_array_get_idx(result, i), other))
                                return true;
                return false;
        default:
                return false;
        }
}

static void test_merge(void **state) {
        const MergeCase *c = *state;
        _cleanup_(json_object_putp) json_object *target = NULL, *patch = NULL, *want = NULL, *got = NULL;
        _cleanup_free_ char *target_before = NULL, *patch_before = NULL;
        int r;

        target = test_parse_json(c->name, c->target);
        patch = test_parse_json(c->name, c->patch);
        want = test_parse_json(c->name, c->result);
        target_before = strdup(to_string(target));
        patch_before = strdup(to_string(patch));
        assert_non_null(target_before);
        assert_non_null(patch_before);

        r = json_merge_patch(target, patch, &got);
        if (r != 0)
                fail_msg("%s: json_merge_patch() = %d", c->name, r);
        if (!json_object_equal(got, want))
                fail_msg("%s: result %s, expected %s", c->name, to_string(got), to_string(want));

        /* The inputs are untouched, and the result shares no node with them. */
        if (!streq(to_string(target), target_before))
                fail_msg("%s: target modified: %s", c->name, to_string(target));
        if (!streq(to_string(patch), patch_before))
                fail_msg("%s: patch modified: %s", c->name, to_string(patch));
        if (shares_nodes(got, target) || shares_nodes(got, patch))
                fail_msg("%s: result shares nodes with the inputs", c->name);
}

static void test_merge_order(void **state) {
        _cleanup_(json_object_putp) json_object *target = NULL, *patch = NULL, *got = NULL;

        target = test_parse_json("order", "{\"a\":1,\"b\":2,\"c\":{\"x\":1,\"y\":2},\"d\":4}");
        patch = test_parse_json("order", "{\"e\":5,\"c\":{\"x\":null,\"z\":3},\"a\":10,\"d\":null}");
        assert_int_equal(json_merge_patch(target, patch, &got), 0);
        assert_string_equal(to_string(got), "{\"a\":10,\"b\":2,\"c\":{\"y\":2,\"z\":3},\"e\":5}");
}

/* ------------------------------------------------------------------------------------------ */
/* kube_object_uid() */

typedef struct UidCase {
        const char *name;
        const char *object;
        const char *uid;
} UidCase;

static const UidCase uid_cases[] = {
        { "uid: a string", "{\"metadata\":{\"name\":\"n\",\"uid\":\"6f1c0e2a-1b3d\"}}", "6f1c0e2a-1b3d" },
        { "uid: empty string is a string", "{\"metadata\":{\"uid\":\"\"}}", "" },
        { "uid: absent", "{\"metadata\":{\"name\":\"n\"}}", NULL },
        { "uid: null", "{\"metadata\":{\"uid\":null}}", NULL },
        { "uid: a number is not a uid", "{\"metadata\":{\"uid\":42}}", NULL },
        { "uid: an object is not a uid", "{\"metadata\":{\"uid\":{\"a\":\"b\"}}}", NULL },
        { "uid: metadata not an object", "{\"metadata\":[\"uid\"]}", NULL },
        { "uid: no metadata", "{\"uid\":\"top-level\"}", NULL },
        { "uid: not an object", "[{\"metadata\":{\"uid\":\"x\"}}]", NULL },
        { "uid: NULL object", NULL, NULL },
};

static void test_uid(void **state) {
        const UidCase *c = *state;
        _cleanup_(json_object_putp) json_object *o = test_parse_json(c->name, c->object);

        check_str(c->name, "uid", kube_object_uid(o), c->uid, false);
}

/* ------------------------------------------------------------------------------------------ */
/* kube_event_build() */

/* 2023-11-14T22:13:20Z */
#define T0 (UINT64_C(1700000000) * UINT64_C(1000000))

#define INFO(ns, node, uid, typ, why, msg, comp, ts)                                                     \
        { .namespace = (ns), .node_name = (node), .node_uid = (uid), .type = (typ), .reason = (why),        \
          .message = (msg), .component = (comp), .timestamp_usec = (ts) }
/* The usual fields, at time ts. */
#define INFO0(ts) INFO("default", "node01", "uid-1", "Normal", "KsmEnabled", "KSM switched on.", "kubevirt-ksmd", ts)

/* The whole Event, in the order it is built (the comparison includes the order). */
#define EVENT(ns, node, uid, reason, message, type, component, ts)                                      \
        "{\"apiVersion\":\"v1\",\"kind\":\"Event\","                                                   \
        "\"metadata\":{\"generateName\":\"" node ".\",\"namespace\":\"" ns "\"},"                       \
        "\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\"" node "\",\"uid\":\"" uid "\"}," \
        "\"reason\":\"" reason "\",\"message\":\"" message "\",\"type\":\"" type "\","                   \
        "\"source\":{\"component\":\"" component "\",\"host\":\"" node "\"},"                           \
        "\"firstTimestamp\":\"" ts "\",\"lastTimestamp\":\"" ts "\",\"count\":1,"                         \
        "\"reportingComponent\":\"" component "\",\"reportingInstance\":\"" node "\"}"

#define EVENT0(ts) EVENT("default", "node01", "uid-1", "KsmEnabled", "KSM switched on.", "Normal", "kubevirt-ksmd", ts)

typedef struct EventCase {
        const char *name;
        KubeEventInfo info;
        int ret;
        const char *event;      /* when ret is 0 */
} EventCase;

static const EventCase event_cases[] = {
        { "event: Normal, with the node's uid", INFO0(T0), 0, EVENT0("2023-11-14T22:13:20Z") },
        { "event: no uid: the node name stands in",
          INFO("default", "node01", NULL, "Normal", "KsmEnabled", "KSM switched on.", "kubevirt-ksmd", T0), 0,
          EVENT("default", "node01", "node01", "KsmEnabled", "KSM switched on.", "Normal", "kubevirt-ksmd",
                "2023-11-14T22:13:20Z") },
        { "event: Warning, another namespace, node and component",
          INFO("kubevirt", "worker-7.example", "uid-2", "Warning", "KsmNodePatchFailed", "HTTP 403", "x", T0), 0,
          EVENT("kubevirt", "worker-7.example", "uid-2", "KsmNodePatchFailed", "HTTP 403", "Warning", "x",
                "2023-11-14T22:13:20Z") },
        { "event: the part of a second is dropped", INFO0(T0 + 999999), 0, EVENT0("2023-11-14T22:13:20Z") },
        { "event: the epoch", INFO0(0), 0, EVENT0("1970-01-01T00:00:00Z") },
        { "event: a leap day", INFO0(UINT64_C(1709208000) * 1000000), 0, EVENT0("2024-02-29T12:00:00Z") },
        { "event: the last second of year 9999", INFO0(UINT64_C(253402300799) * 1000000), 0,
          EVENT0("9999-12-31T23:59:59Z") },
        { "event: year 10000 does not fit", INFO0(UINT64_C(253402300800) * 1000000), -EINVAL },
        { "event: the largest timestamp", INFO0(UINT64_MAX), -EINVAL },
        { "event: quotes, backslash, newline, control and UTF-8 in the message",
          INFO("default", "node01", "uid-1", "Normal", "KsmEnabled", "say \"hi\"\\\n\x01 — ok", "kubevirt-ksmd", T0), 0,
          EVENT("default", "node01", "uid-1", "KsmEnabled", "say \\\"hi\\\"\\\\\\n\\u0001 — ok", "Normal",
                "kubevirt-ksmd", "2023-11-14T22:13:20Z") },
        { "event: an empty message is kept",
          INFO("default", "node01", "uid-1", "Normal", "KsmEnabled", "", "kubevirt-ksmd", T0), 0,
          EVENT("default", "node01", "uid-1", "KsmEnabled", "", "Normal", "kubevirt-ksmd", "2023-11-14T22:13:20Z") },
        { "event: no namespace",
          INFO(NULL, "node01", "uid-1", "Normal", "KsmEnabled", "KSM switched on.", "kubevirt-ksmd", T0), -EINVAL },
        { "event: no node name",
          INFO("default", NULL, "uid-1", "Normal", "KsmEnabled", "KSM switched on.", "kubevirt-ksmd", T0), -EINVAL },
        { "event: no type",
          INFO("default", "node01", "uid-1", NULL, "KsmEnabled", "KSM switched on.", "kubevirt-ksmd", T0), -EINVAL },
        { "event: no reason",
          INFO("default", "node01", "uid-1", "Normal", NULL, "KSM switched on.", "kubevirt-ksmd", T0), -EINVAL },
        { "event: no message",
          INFO("default", "node01", "uid-1", "Normal", "KsmEnabled", NULL, "kubevirt-ksmd", T0), -EINVAL },
        { "event: no component",
          INFO("default", "node01", "uid-1", "Normal", "KsmEnabled", "KSM switched on.", NULL, T0), -EINVAL },
};

static void test_event(void **state) {
        const EventCase *c = *state;
        _cleanup_(json_object_putp) json_object *got = NULL, *want = NULL;
        _cleanup_free_ char *want_text = NULL;
        int r;

        r = kube_event_build(&c->info, &got);
        if (r != c->ret)
                fail_msg("%s: kube_event_build() = %d, expected %d", c->name, r, c->ret);
        if (r < 0) {
                if (got)
                        fail_msg("%s: an event was returned with an error", c->name);
                return;
        }

        /* Both printed by json-c: equal text means equal members in equal order. */
        want = test_parse_json(c->name, c->event);
        want_text = strdup(to_string(want));
        assert_non_null(want_text);
        if (!streq(to_string(got), want_text))
                fail_msg("%s: event %s, expected %s", c->name, to_string(got), want_text);
}

/* ------------------------------------------------------------------------------------------ */

/* --- the selector from an annotation, other keys, managedFields ---------------------------- */

typedef struct AnnotationCase {
        const char *name;
        const char *cr;
        KsmConfigState state;
        const char *labels;
        bool match;
} AnnotationCase;

#define SEL_ANN "ksmd.kubevirt.io/node-label-selector"
#define CR_ANN(v) "{\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"kubevirt\",\"annotations\":{\"" SEL_ANN "\":" v "}}," \
                  "\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{}}}}}"

static const AnnotationCase annotation_cases[] = {
        { "annotation: matchLabels selects", CR_ANN("\"{\\\"matchLabels\\\":{\\\"ksm\\\":\\\"on\\\"}}\""),
          KSM_CONFIG_SELECTOR, "{\"ksm\":\"on\"}", true },
        { "annotation: matchLabels does not select", CR_ANN("\"{\\\"matchLabels\\\":{\\\"ksm\\\":\\\"on\\\"}}\""),
          KSM_CONFIG_SELECTOR, "{\"ksm\":\"off\"}", false },
        { "annotation: the CR's ksmConfiguration is ignored",
          "{\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"kubevirt\"},"
          "\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{}}}}}",
          KSM_CONFIG_ABSENT, NULL, false },
        { "annotation: null selects nothing", CR_ANN("\"null\""), KSM_CONFIG_ABSENT, NULL, false },
        { "annotation: not JSON", CR_ANN("\"{nope\""), KSM_CONFIG_INVALID, NULL, false },
        { "annotation: not a string", CR_ANN("{}"), KSM_CONFIG_INVALID, NULL, false },
        { "annotation: invalid selector", CR_ANN("\"{\\\"matchExpressions\\\":[{\\\"key\\\":\\\"a\\\",\\\"operator\\\":\\\"Gt\\\"}]}\""),
          KSM_CONFIG_INVALID, NULL, false },
};

static void test_annotation_selector(void **state) {
        const AnnotationCase *c = *state;
        _cleanup_(json_object_putp) json_object *cr = test_parse_json(c->name, c->cr);
        _cleanup_(json_object_putp) json_object *labels = test_parse_json(c->name, c->labels);
        _cleanup_(ksm_config_done) KsmConfig cfg = {};

        if (ksm_config_from_kubevirts_with(&cr, 1, SEL_ANN, &cfg) != 0)
                fail_msg("%s: failed", c->name);
        if (cfg.state != c->state)
                fail_msg("%s: state %s, expected %s (%s)", c->name, ksm_config_state_to_string(cfg.state),
                         ksm_config_state_to_string(c->state), strna(cfg.error));
        if (c->state == KSM_CONFIG_SELECTOR && selector_matches(cfg.selector, labels) != c->match)
                fail_msg("%s: match %d", c->name, !c->match);
}

/* The annotation's text is a JSON document parsed on its own: bounded like every other one (a
 * 15,000-{} selector would cost json-c ~12 MB per reconcile). */
static void test_annotation_bounded(void **state) {
        static const size_t counts[] = { 100, 15000 };

        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                _cleanup_(json_object_putp) json_object *cr = NULL;
                _cleanup_(ksm_config_done) KsmConfig cfg = {};
                _cleanup_free_ char *text = malloc(3 * counts[i] + 64);
                json_object *md, *ann;
                size_t n = 0;

                assert_non_null(text);
                n += (size_t) sprintf(text, "{\"matchExpressions\":[");
                for (size_t k = 0; k < counts[i]; k++)
                        n += (size_t) sprintf(text + n, "%s{}", k ? "," : "");
                (void) sprintf(text + n, "]}");

                cr = test_parse_json("bounded", CR_ANN("\"x\""));
                assert_true(json_object_object_get_ex(cr, "metadata", &md));
                assert_true(json_object_object_get_ex(md, "annotations", &ann));
                assert_int_equal(json_object_object_add(ann, SEL_ANN, json_object_new_string(text)), 0);

                assert_int_equal(ksm_config_from_kubevirts_with(&cr, 1, SEL_ANN, &cfg), 0);
                assert_int_equal(cfg.state, KSM_CONFIG_INVALID);
                if (counts[i] > JSON_MAX_VALUES / 2 && (!cfg.error || !strstr(cfg.error, "too many values")))
                        fail_msg("%zu values: error \"%s\"", counts[i], strna(cfg.error));
                if (counts[i] < JSON_MAX_VALUES / 2 && cfg.error && strstr(cfg.error, "too many values"))
                        fail_msg("%zu values refused as too many", counts[i]);
        }
}

typedef struct ManagerCase {
        const char *name;
        const char *node;
        const char *map, *key;
        const char *want;
} ManagerCase;

#define MF(entries) "{\"metadata\":{\"name\":\"node01\",\"managedFields\":[" entries "]}}"
#define ENTRY(mgr, time, map, key) "{\"manager\":\"" mgr "\",\"operation\":\"Update\",\"time\":\"" time "\"," \
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:" map "\":{\"f:" key "\":{}}}}}"

static const ManagerCase manager_cases[] = {
        { "managedFields: the manager of a label", MF(ENTRY("virt-handler", "2026-12-01T10:00:00Z", "labels", "kubevirt.io/ksm-enabled")),
          "labels", "kubevirt.io/ksm-enabled", "virt-handler" },
        { "managedFields: the latest of two", MF(ENTRY("kubevirt-ksmd", "2026-12-01T10:00:00Z", "annotations", "a") ","
                                                 ENTRY("virt-handler", "2026-12-01T11:00:00Z", "annotations", "a")),
          "annotations", "a", "virt-handler" },
        { "managedFields: a label is not an annotation", MF(ENTRY("virt-handler", "2026-12-01T10:00:00Z", "labels", "a")),
          "annotations", "a", NULL },
        { "managedFields: another key", MF(ENTRY("kubectl", "2026-12-01T10:00:00Z", "labels", "b")),
          "labels", "a", NULL },
        { "managedFields: none kept", "{\"metadata\":{\"name\":\"node01\"}}", "labels", "a", NULL },
        { "managedFields: not an array", "{\"metadata\":{\"managedFields\":{}}}", "labels", "a", NULL },
        { "managedFields: entry without manager", MF("{\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\"f:a\":{}}}}}"),
          "labels", "a", NULL },
};

static void test_field_manager(void **state) {
        const ManagerCase *c = *state;
        _cleanup_(json_object_putp) json_object *node = test_parse_json(c->name, c->node);

        check_str(c->name, "manager", kube_field_manager(node, c->map, c->key), c->want, false);
}

static void test_patch_other_keys(void **state) {
        _cleanup_(json_object_putp) json_object *node = json_tokener_parse(
                "{\"metadata\":{\"name\":\"node01\",\"labels\":{\"kubevirt.io/ksm-enabled\":\"false\"}}}");
        _cleanup_(json_object_putp) json_object *patch = NULL;
        NodeView v = {};

        assert_int_equal(node_view_from_json(node, &v, NULL), 0);
        assert_int_equal(node_build_patch_keys(&v, "ksmd.kubevirt.io/ksm-enabled", "true",
                                               "ksmd.kubevirt.io/managed", "true", &patch), 1);
        assert_string_equal(json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            "{\"metadata\":{\"labels\":{\"ksmd.kubevirt.io/ksm-enabled\":\"true\"},"
                            "\"annotations\":{\"ksmd.kubevirt.io/managed\":\"true\"}}}");
        node_view_done(&v);
}

#define N_CASES (ELEMENTSOF(annotation_cases) + ELEMENTSOF(manager_cases) + ELEMENTSOF(config_cases) + ELEMENTSOF(document_cases) + ELEMENTSOF(node_cases) + \
                 ELEMENTSOF(patch_cases) + ELEMENTSOF(merge_cases) + ELEMENTSOF(uid_cases) + \
                 ELEMENTSOF(event_cases))

int main(void) {
        struct CMUnitTest tests[N_CASES + 7];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, annotation_cases, test_annotation_selector);
        TEST_ADD_TABLE(tests, n, manager_cases, test_field_manager);
        tests[n++] = (struct CMUnitTest) { .name = "patch: other label and annotation keys", .test_func = test_patch_other_keys };
        tests[n++] = (struct CMUnitTest) { .name = "annotation: a selector of 15000 {} is refused, bounded", .test_func = test_annotation_bounded };

        TEST_ADD_TABLE(tests, n, config_cases, test_config);
        TEST_ADD_TABLE(tests, n, document_cases, test_document);
        TEST_ADD_TABLE(tests, n, node_cases, test_node);
        TEST_ADD_TABLE(tests, n, patch_cases, test_patch);
        TEST_ADD_TABLE(tests, n, merge_cases, test_merge);
        TEST_ADD_TABLE(tests, n, uid_cases, test_uid);
        TEST_ADD_TABLE(tests, n, event_cases, test_event);

        tests[n++] = (struct CMUnitTest) { .name = "config: many CRs are listed, then \"...\"", .test_func = test_config_many };
        tests[n++] = (struct CMUnitTest) { .name = "config: state names", .test_func = test_config_state_names };
        tests[n++] = (struct CMUnitTest) { .name = "document: a list straight to an ambiguous config", .test_func = test_document_to_config };
        tests[n++] = (struct CMUnitTest) { .name = "node: NULL and empty views", .test_func = test_node_null };
        tests[n++] = (struct CMUnitTest) { .name = "merge: target key order is kept, new keys follow", .test_func = test_merge_order };

        if (n != ELEMENTSOF(tests))
                abort();
        return test_run_group("kube-objects", tests, n);
}
