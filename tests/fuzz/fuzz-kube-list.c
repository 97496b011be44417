/* fuzz-kube-list.c — fuzz target: a LIST response body (KubeVirtList, NodeList, a Status) as the
 * reflector handles it: the items and resourceVersion are well formed, and each item goes through
 * the KubeVirt and Node views without crashing and with consistent results. */
#include <json-c/json.h>

#include "fuzz.h"
#include "kube-objects.h"
#include "kube-watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(ksm_config_done) KsmConfig kc = {};
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        size_t n = 0;
        int r;

        if (size > 1024 * 1024)
                return 0;

        r = kube_list_parse((const char *) data, size, &items, &n, &rv, &reason);
        fuzz_check(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                fuzz_check(r == -ENOMEM || (reason && *reason));
                fuzz_check(!items && !rv);
                return 0;
        }
        fuzz_check(rv && *rv && !reason);
        fuzz_check((n == 0) == !items);

        /* As a KubeVirtList: the CRs that decide the selector. */
        r = ksm_config_from_kubevirts(items, n, &kc);
        fuzz_check(r == 0 || r == -ENOMEM);
        if (r == 0) {
                fuzz_check((kc.state == KSM_CONFIG_NO_CR) == (n == 0));
                fuzz_check((kc.state == KSM_CONFIG_AMBIGUOUS) == (n > 1));
                fuzz_check((kc.state == KSM_CONFIG_SELECTOR) == !!kc.selector);
        }

        /* As a NodeList: every item is viewed as the daemon's own node would be. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_(node_view_done) NodeView v = {};
                _cleanup_free_ char *why = NULL;

                fuzz_check(json_object_is_type(items[i], json_type_object));
                r = node_view_from_json(items[i], &v, &why);
                fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
                if (r == 0) {
                        fuzz_check(v.name && *v.name);
                        fuzz_check(streq(v.name, json_object_get_string(json_object_object_get(
                                json_object_object_get(items[i], "metadata"), "name"))));
                        fuzz_check(strlen(v.name) == (size_t) json_object_get_string_len(json_object_object_get(
                                json_object_object_get(items[i], "metadata"), "name")));
                        if (kc.state == KSM_CONFIG_SELECTOR)
                                (void) selector_matches(kc.selector, v.labels);
                } else
                        fuzz_check(r == -ENOMEM || why);
        }

        kube_list_free(items, n);
        return 0;
}
