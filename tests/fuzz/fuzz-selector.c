/* fuzz-selector.c — fuzz target: a nodeLabelSelector as JSON text, parsed directly and through the
 * SelectorAnnotation= string form; both give the same verdict, a valid one obeys Kubernetes'
 * syntax and matches labels exactly as an independent evaluation says. */
#include <stdio.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "json-util.h"
#include "kube-objects.h"
#include "selector.h"

#define ANNOTATION "ksm.example.com/selector"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool reason_is_clean(const char *s) {
        /* Reasons end up in the journal and on the bus, and quote input: no control characters. */
        for (; s && *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

static bool value_in(const SelectorRequirement *req, const char *v) {
        for (size_t i = 0; i < req->n_values; i++)
                if (strcmp(req->values[i], v) == 0)
                        return true;
        return false;
}

/* labels.Requirement.Matches(), written again from the Kubernetes documentation. */
static bool expect_match(const LabelSelector *s, json_object *labels) {
        if (s->nothing)
                return false;
        for (size_t i = 0; i < s->n_requirements; i++) {
                const SelectorRequirement *req = &s->requirements[i];
                json_object *v = NULL;
                const char *value = NULL;
                bool ok;

                if (labels && json_object_object_get_ex(labels, req->key, &v) && json_object_is_type(v, json_type_string))
                        value = json_object_get_string(v);

                switch (req->op) {
                case SELECTOR_OP_IN:            ok = value && value_in(req, value); break;
                case SELECTOR_OP_NOT_IN:        ok = !value || !value_in(req, value); break;
                case SELECTOR_OP_EXISTS:        ok = value; break;
                case SELECTOR_OP_DOES_NOT_EXIST: ok = !value; break;
                default:                        fuzz_fail(__FILE__, __LINE__, "operator out of range");
                }
                if (!ok)
                        return false;
        }
        return true;
}

static void check_valid(const LabelSelector *s) {
        fuzz_check(s->n_requirements == 0 || s->requirements);
        for (size_t i = 0; i < s->n_requirements; i++) {
                const SelectorRequirement *req = &s->requirements[i];

                fuzz_check(req->key && label_key_is_valid(req->key));
                fuzz_check(req->op >= 0 && req->op < _SELECTOR_OP_MAX);
                fuzz_check(selector_op_from_string(selector_op_to_string(req->op)) == req->op);
                if (req->op == SELECTOR_OP_IN || req->op == SELECTOR_OP_NOT_IN) {
                        fuzz_check(req->n_values > 0 && req->values && !req->values[req->n_values]);
                        for (size_t j = 0; j < req->n_values; j++)
                                fuzz_check(label_value_is_valid(req->values[j]));
                } else
                        fuzz_check(req->n_values == 0);
        }
}

/* Label sets to match against: none, the values the selector asks for, and the other ones. */
static void check_matching(const LabelSelector *s) {
        _cleanup_(json_object_putp) json_object *want = json_object_new_object(), *other = json_object_new_object();

        if (!want || !other)
                return;

        for (size_t i = 0; i < s->n_requirements; i++) {
                const SelectorRequirement *req = &s->requirements[i];

                if (json_object_object_get_ex(want, req->key, NULL))
                        continue;
                (void) json_object_object_add(want, req->key,
                                              json_object_new_string(req->n_values > 0 ? req->values[0] : ""));
                (void) json_object_object_add(other, req->key,
                                              req->n_values > 0 ? json_object_new_string(req->values[req->n_values - 1])
                                                                : json_object_new_int(1));
        }

        fuzz_check(selector_matches(s, NULL) == expect_match(s, NULL));
        fuzz_check(selector_matches(s, want) == expect_match(s, want));
        fuzz_check(selector_matches(s, other) == expect_match(s, other));
        if (s->nothing)
                fuzz_check(!selector_matches(s, want));
        else if (s->n_requirements == 0)
                fuzz_check(selector_matches(s, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(selector_freep) LabelSelector *sel = NULL;
        _cleanup_(json_object_putp) json_object *doc = NULL, *cr = NULL;
        _cleanup_(ksm_config_done) KsmConfig kc = {};
        _cleanup_free_ char *text = NULL, *reason = NULL;
        int r, verdict;

        if (size > 64 * 1024)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        /* As the annotation path parses it: bounded and strict, the whole string. */
        r = json_parse_bounded(text, strlen(text), 0, &doc, NULL);
        if (r == -ENOMEM)
                return 0;
        if (r < 0)
                verdict = -EINVAL;
        else if (!doc)
                verdict = 0;    /* "null" */
        else {
                r = selector_from_json(doc, &sel, &reason);
                fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
                if (r == -ENOMEM)
                        return 0;
                if (r < 0) {
                        fuzz_check(reason && *reason && reason_is_clean(reason));
                        fuzz_check(!sel);
                } else {
                        fuzz_check(sel && !reason && !sel->nothing);
                        check_valid(sel);
                        check_matching(sel);
                }
                verdict = r < 0 ? -EINVAL : 1;
        }

        /* The same text as a KubeVirt CR's SelectorAnnotation= value. */
        cr = json_object_new_object();
        if (!cr)
                return 0;
        {
                json_object *md = json_object_new_object(), *ann = json_object_new_object();

                if (!md || !ann || json_object_object_add(cr, "metadata", md) < 0) {
                        json_object_put(md);
                        json_object_put(ann);
                        return 0;
                }
                (void) json_object_object_add(md, "name", json_object_new_string("kubevirt"));
                (void) json_object_object_add(md, "namespace", json_object_new_string("kubevirt"));
                (void) json_object_object_add(md, "annotations", ann);
                (void) json_object_object_add(ann, ANNOTATION, json_object_new_string_len(text, (int) size));
        }
        r = ksm_config_from_kubevirts_with(&cr, 1, ANNOTATION, &kc);
        if (r == -ENOMEM)
                return 0;
        fuzz_check(r == 0);
        fuzz_check(streq_ptr(kc.source, "kubevirt/kubevirt"));
        fuzz_check((kc.state == KSM_CONFIG_SELECTOR) == !!kc.selector);
        fuzz_check((kc.state == KSM_CONFIG_INVALID) == !!kc.error);
        fuzz_check(reason_is_clean(kc.error));
        /* json-c stops at a NUL inside the string: compare only inputs without one. */
        if (!memchr(data, 0, size)) {
                if (verdict < 0)
                        fuzz_check(kc.state == KSM_CONFIG_INVALID);
                else if (verdict == 0)
                        fuzz_check(kc.state == KSM_CONFIG_ABSENT);
                else {
                        fuzz_check(kc.state == KSM_CONFIG_SELECTOR);
                        fuzz_check(kc.selector->n_requirements == sel->n_requirements);
                }
        }
        return 0;
}
