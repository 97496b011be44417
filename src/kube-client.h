/* kube-client.h — HTTP requests to the Kubernetes API server over libcurl in the event loop:
 * authentication, TLS, timeouts, streaming for watches. Knows URLs, not their meaning. */
#pragma once

#include <errno.h>
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
 *           -EPROTO (TLS, or a 2xx whose Content-Type is not application/json), -EIO (other
 *           transport errors), -EFBIG (a buffered body over KUBE_MAX_BODY_BYTES), or the data
 *           callback's error. Redirects are not followed (a 3xx is a status like any other).
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
        bool idle_manual;               /* ...no kube_request_touch() instead of no byte: a server that
                                         * drips bytes without completing an event is idle too */
} KubeRequestOptions;

#define KUBE_CONNECT_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define KUBE_REQUEST_TIMEOUT_USEC (30 * UINT64_C(1000000))
/* A buffered body (LIST, PATCH answer). A LIST of one Node or of the KubeVirt CRs is far smaller;
 * with JSON_MAX_VALUES this bounds what one answer costs (README.md, "Limits"). */
#define KUBE_MAX_BODY_BYTES (4U * 1024U * 1024U)
#define KUBE_BACKOFF_CAP_USEC (30 * UINT64_C(1000000))

/* What an HTTP status from the API server means. The one place that gives statuses a meaning;
 * on a 401 the client has already dropped its token before on_done runs. */
typedef enum KubeStatusClass {
        KUBE_STATUS_SUCCESS,            /* 2xx */
        KUBE_STATUS_UNAUTHORIZED,       /* 401: token rejected; the next request re-reads the token file */
        KUBE_STATUS_FORBIDDEN,          /* 403: RBAC refused; the caller names the missing permission */
        KUBE_STATUS_NOT_FOUND,          /* 404 */
        KUBE_STATUS_GONE,               /* 410: the resourceVersion expired; re-list */
        KUBE_STATUS_THROTTLED,          /* 429: retry, after Retry-After if given */
        KUBE_STATUS_SERVER_ERROR,       /* 5xx: retry, after Retry-After if given */
        KUBE_STATUS_UNEXPECTED,         /* anything else */
        _KUBE_STATUS_CLASS_MAX,
        _KUBE_STATUS_CLASS_INVALID = -EINVAL,
} KubeStatusClass;

/* Pure. Never _KUBE_STATUS_CLASS_INVALID. */
KubeStatusClass kube_status_class(long status);
/* A few words for messages ("too many requests"), or NULL when out of range. */
const char *kube_status_class_to_string(KubeStatusClass c);

/* true for a status worth retrying as is, with backoff or Retry-After: 429 and 5xx. */
static inline bool kube_status_class_is_transient(KubeStatusClass c) {
        return c == KUBE_STATUS_THROTTLED || c == KUBE_STATUS_SERVER_ERROR;
}

/* The delay before retry number attempt (from 0) while the server is away: exponential from
 * 500 ms, capped at cap_usec, with ±20 % jitter taken from random. Pure, exposed for tests. */
uint64_t kube_client_backoff_usec(unsigned attempt, uint64_t cap_usec, uint32_t random);
/* The same with the KUBE_BACKOFF_CAP_USEC cap and fresh jitter. */
uint64_t kube_client_retry_delay_usec(unsigned attempt);
/* A random number for jitter: getrandom(), or time and pid while the pool is not ready. */
uint32_t kube_client_random_u32(void);

/* Percent-escapes s for a path segment or query value. A malloc'd string (free() it), or NULL
 * when out of memory. */
char *kube_client_escape(const char *s);

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

/* Restarts the idle timeout of a streaming request (see idle_manual). NULL is fine. */
void kube_request_touch(KubeRequest *r);

/* The Retry-After of a 429/503 response, in µs (0 if none). */
uint64_t kube_request_retry_after_usec(const KubeRequest *r);

/* Extracts "message" from a Status body for logs; returns a static fallback if none. The
 * result points into buf. */
const char *kube_status_message(const char *body, char *buf, size_t size);
