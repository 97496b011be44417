/* kube-client.h — HTTP requests to the Kubernetes API server over libcurl in the event loop:
 * authentication, TLS, timeouts, streaming for watches. Knows URLs, not their meaning. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kubeconfig.h"

typedef struct KubeClient KubeClient;
typedef struct KubeRequest KubeRequest;

/* Streaming requests only: called once with (NULL, 0) when a 200 response starts, then with
 * each chunk of the body. A negative return aborts the request (on_done gets that error). */
typedef int (*KubeDataFn)(KubeRequest *req, const char *data, size_t n, void *userdata);

/* Called exactly once per request that was not cancelled.
 *   error:  0 when an HTTP exchange completed (status holds the HTTP status), else -errno:
 *           -ETIMEDOUT (connect, total or read-idle timeout), -ECONNREFUSED, -ECONNRESET,
 *           -EPROTO (TLS), -EIO (other transport errors), or the data callback's error.
 *   body:   the buffered body for non-streaming requests, and for streaming requests whose
 *           status is not 200 (an API Status object); NUL-terminated; NULL when empty.
 * The request is freed after the callback returns. */
typedef void (*KubeDoneFn)(KubeRequest *req, int error, long status, const char *body, size_t len, void *userdata);

typedef struct KubeRequestOptions {
        const char *method;             /* "GET", "PATCH", "POST" */
        const char *path;               /* "/api/v1/nodes?fieldSelector=..." (already escaped) */
        const char *content_type;       /* for a body */
        const char *body;
        bool stream;                    /* deliver the body through on_data (watches) */
        uint64_t timeout_usec;          /* whole request, non-streaming; 0: default 30 s */
        uint64_t idle_timeout_usec;     /* streaming: no byte for this long ends the request */
} KubeRequestOptions;

#define KUBE_CONNECT_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define KUBE_REQUEST_TIMEOUT_USEC (30 * UINT64_C(1000000))
#define KUBE_MAX_BODY_BYTES (16U * 1024U * 1024U)

/* Copies what it needs from creds. 0, -EINVAL (no server) or -ENOMEM. */
int kube_client_new(sd_event *e, const KubeCredentials *creds, KubeClient **ret);
KubeClient *kube_client_free(KubeClient *c);
static inline void kube_client_freep(KubeClient **c) {
        if (*c)
                kube_client_free(*c);
}

/* Starts a request. *ret (optional) stays valid until on_done ran or kube_request_cancel().
 * 0 or -errno (the token file cannot be read, -ENOMEM, -EIO). */
int kube_client_start(KubeClient *c, const KubeRequestOptions *o, KubeDataFn on_data, KubeDoneFn on_done,
                      void *userdata, KubeRequest **ret);

/* Stops a request without calling on_done and frees it. Returns NULL. */
KubeRequest *kube_request_cancel(KubeRequest *r);

/* The Retry-After of a 429/503 response, in µs (0 if none). */
uint64_t kube_request_retry_after_usec(const KubeRequest *r);

/* Makes the next request re-read the token file (after a 401: bound tokens rotate). */
void kube_client_invalidate_token(KubeClient *c);

/* Extracts "message" from a Status body for logs; returns a static fallback if none. The
 * result points into buf. */
const char *kube_status_message(const char *body, char *buf, size_t size);
