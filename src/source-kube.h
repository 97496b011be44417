/* source-kube.h — [Source] Type=kubernetes: list+watch of the KubeVirt CRs and this Node, and
 * writes to the Node. */
#pragma once

#include "kubeconfig.h"
#include "source.h"

typedef struct SourceKubeOptions {
        const KubeCredentials *credentials;
        uint64_t watch_idle_timeout_usec;       /* no byte (not even a bookmark) for this long: re-watch */
        const char *event_namespace;            /* where Node events go; "default" as kubelet does */
} SourceKubeOptions;

/* Creates the source; nothing is requested before source_start(). 0 or -errno (-EINVAL: no
 * server in the credentials). */
int source_kube_new(sd_event *e, const char *node_name, const SourceKubeOptions *o,
                    SourceChangedFn cb, void *userdata, Source **ret);
