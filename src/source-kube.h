/* source-kube.h — [Source] Type=kubernetes: list+watch of the KubeVirt CRs and this Node. */
#pragma once

#include "kubeconfig.h"
#include "source.h"

typedef struct SourceKubeOptions {
        const KubeCredentials *credentials;
        uint64_t watch_idle_timeout_usec;       /* no byte (not even a bookmark) for this long: re-watch */
        const char *event_namespace;            /* where Node events go; "default" as kubelet does */
} SourceKubeOptions;

/* 0 or -errno. */
int source_kube_new(sd_event *e, const char *node_name, const SourceKubeOptions *o,
                    SourceChangedFn cb, void *userdata, Source **ret);

/* Backoff between attempts while the server is away: exponential from 500 ms, capped, with
 * ±20 % jitter. Pure, exposed for tests. attempt counts from 0. */
uint64_t source_kube_backoff_usec(unsigned attempt, uint64_t cap_usec, uint32_t random);
