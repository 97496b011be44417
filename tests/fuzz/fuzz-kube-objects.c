/* fuzz-kube-objects.c — fuzz target: the file source's two JSON files (KubeVirt CR or list, then
 * the Node, separated by a NUL byte) read as the daemon reads them; the KSM configuration is
 * consistent, and the merge patch built for a node, applied to it, gives a node that carries the
 * wanted label and annotation and needs no further patch. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "json-util.h"
#include "kube-objects.h"
#include "source-file.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* Reads data through source_file_read_json(), from a memfd: the real reader, no disk. */
static int read_json(const uint8_t *data, size_t size, json_object **ret, char **reterr) {
        _cleanup_close_ int fd = -EBADF;
        char path[64];

        fd = memfd_create("fuzz-json", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                return -EIO;
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        return source_file_read_json(path, ret, reterr);
}

/* The same rules in memory: what the fuzzer runs on most inputs, as the real reader allocates its
 * 16 MiB limit up front (slow under ASan). 0 or -EBADMSG. */
/* The in-memory parse the readers use: one strict JSON value, bounded by value count and depth
 * (too many values reads as -EBADMSG, as the file reader says). */
static int parse_json(const uint8_t *data, size_t size, json_object **ret) {
        int r;

        r = json_parse_bounded((const char *) data, size, 0, ret, NULL);
        return r == -EMSGSIZE ? -EBADMSG : r;
}

static void check_kubevirts(json_object *doc) {
        _cleanup_(ksm_config_done) KsmConfig kc = {}, ka = {};
        _cleanup_free_ char *reason = NULL;
        json_object **crs = NULL;
        size_t n = 0;
        int r;

        r = kubevirts_from_document(doc, &crs, &n, &reason);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r < 0) {
                fuzz_check(r == -ENOMEM || reason);
                return;
        }
        fuzz_check(!reason && (n == 0) == !crs);

        for (const char *ann = NULL;; ann = "ksm.example.com/selector") {
                KsmConfig *c = ann ? &ka : &kc;

                r = ksm_config_from_kubevirts_with(crs, n, ann, c);
                if (r == -ENOMEM)
                        break;
                fuzz_check(r == 0);
                fuzz_check(c->state >= 0 && c->state < _KSM_CONFIG_STATE_MAX);
                fuzz_check((c->state == KSM_CONFIG_NO_CR) == (n == 0));
                fuzz_check((c->state == KSM_CONFIG_AMBIGUOUS) == (n > 1));
                fuzz_check((c->state == KSM_CONFIG_SELECTOR) == !!c->selector);
                fuzz_check((c->state == KSM_CONFIG_INVALID || c->state == KSM_CONFIG_AMBIGUOUS) == !!c->error);
                fuzz_check(ksm_config_state_to_string(c->state));
                if (ann)
                        break;
        }
        kubevirts_free(crs, n);
}

static void check_patch(json_object *node, const NodeView *v, const char *label, const char *annotation) {
        _cleanup_(json_object_putp) json_object *patch = NULL, *merged = NULL, *again = NULL;
        _cleanup_(node_view_done) NodeView mv = {};
        int r;

        r = node_build_patch(v, label, annotation, &patch);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0 || r == 1);
        if (r == 0) {
                /* Nothing to change: the node already says what is wanted. */
                fuzz_check(!patch);
                fuzz_check(streq_ptr(node_view_label(v, KSM_LABEL_ENABLED), label));
                fuzz_check(streq_ptr(node_view_annotation(v, KSM_ANNOTATION_MANAGED), annotation));
                return;
        }
        fuzz_check(patch && json_object_is_type(patch, json_type_object));

        if (json_merge_patch(node, patch, &merged) < 0)
                return;
        r = node_view_from_json(merged, &mv, NULL);
        if (r == -ENOMEM)
                return;
        fuzz_check(r == 0);
        fuzz_check(streq(mv.name, v->name));
        fuzz_check(streq_ptr(node_view_label(&mv, KSM_LABEL_ENABLED), label));
        fuzz_check(streq_ptr(node_view_annotation(&mv, KSM_ANNOTATION_MANAGED), annotation));
        /* Other labels and annotations are untouched. */
        if (v->labels) {
                json_object_object_foreach(v->labels, k, val)
                        if (strcmp(k, KSM_LABEL_ENABLED) != 0) {
                                json_object *m = NULL;

                                fuzz_check(json_object_object_get_ex(mv.labels, k, &m) && json_object_equal(m, val));
                        }
        }
        r = node_build_patch(&mv, label, annotation, &again);
        fuzz_check(r == 0 || r == -ENOMEM);
}

static void check_node(json_object *node, json_object *kubevirt_doc) {
        _cleanup_(node_view_done) NodeView v = {};
        _cleanup_free_ char *reason = NULL;
        int r;

        (void) kube_field_manager(node, "labels", KSM_LABEL_ENABLED);
        (void) kube_field_manager(node, "annotations", KSM_ANNOTATION_MANAGED);
        (void) kube_object_uid(node);

        r = node_view_from_json(node, &v, &reason);
        fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r < 0) {
                fuzz_check(r == -ENOMEM || reason);
                return;
        }
        fuzz_check(v.name && *v.name && !reason);
        /* The whole name: one cut short at a NUL would be another node's. */
        fuzz_check(strlen(v.name) == (size_t) json_object_get_string_len(json_object_object_get(
                json_object_object_get(node, "metadata"), "name")));
        fuzz_check(!v.labels || json_object_is_type(v.labels, json_type_object));
        fuzz_check(!v.annotations || json_object_is_type(v.annotations, json_type_object));

        check_patch(node, &v, "true", "true");
        check_patch(node, &v, "false", "true");
        check_patch(node, &v, NULL, NULL);

        /* The selector of the CR file against this node's labels. */
        if (kubevirt_doc) {
                _cleanup_(ksm_config_done) KsmConfig kc = {};
                json_object **crs = NULL;
                size_t n = 0;

                if (kubevirts_from_document(kubevirt_doc, &crs, &n, NULL) == 0) {
                        if (ksm_config_from_kubevirts(crs, n, &kc) == 0 && kc.state == KSM_CONFIG_SELECTOR)
                                (void) selector_matches(kc.selector, v.labels);
                        kubevirts_free(crs, n);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_object_putp) json_object *kv = NULL, *node = NULL;
        const uint8_t *pieces[2];
        size_t lens[2], n;
        bool through_reader;

        if (size > 256 * 1024)
                return 0;

        /* One input in eight also goes through the real reader, which must agree. */
        through_reader = fuzz_hash(UINT64_C(0xcbf29ce484222325), data, size) % 8 == 0;

        n = fuzz_split(data, size, 2, pieces, lens);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(json_object_putp) json_object *o_read = NULL;
                _cleanup_free_ char *reason = NULL;
                json_object *o = NULL;
                int r, r_read;

                r = parse_json(pieces[i], lens[i], &o);
                if (r == -ENOMEM)
                        return 0;
                if (through_reader) {
                        r_read = read_json(pieces[i], lens[i], &o_read, &reason);
                        fuzz_check(r_read == 0 || r_read == -EBADMSG || r_read == -ENOMEM);
                        fuzz_check(r_read == 0 || r_read == -ENOMEM || reason);
                        if (r_read != -ENOMEM) {
                                fuzz_check(r_read == r);
                                /* As text: json_object_equal() finds NaN unequal to itself. */
                                fuzz_check(r < 0 || streq(json_object_to_json_string(o),
                                                          json_object_to_json_string(o_read)));
                        }
                }
                if (r < 0)
                        continue;
                if (i == 0)
                        kv = o;
                else
                        node = o;
        }

        if (kv) {
                check_kubevirts(kv);
                check_node(kv, NULL);   /* a Node file's parser, given the other file */
        }
        if (node) {
                check_kubevirts(node);
                check_node(node, kv);
        }
        return 0;
}
