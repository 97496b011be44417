/* kube-client.c — Kubernetes API requests on libcurl multi: bearer tokens (re-read when the file
 * changes), TLS from the kubeconfig, connect/total/idle timeouts, streamed watch bodies. */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "curl-glue.h"
#include "kube-client.h"
#include "log.h"
#include "macro.h"
#include "util.h"

struct KubeClient {
        sd_event *event;
        CurlGlue *glue;
        KubeCredentials creds;          /* a private copy of what we need */
        char *token;                    /* current bearer token (never logged) */
        struct stat token_stat;         /* of token_file when token was read */
        bool token_stale;
        unsigned n_active;
};

struct KubeRequest {
        KubeClient *client;
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char *body_out;                 /* request body copy */
        bool stream, streaming;         /* streaming: a 200 response body is passed to on_data */
        long status;
        uint64_t retry_after_usec;
        char *buf;                      /* buffered response body */
        size_t len;
        int error;                      /* set by callbacks to abort */
        sd_event_source *idle_timer;
        uint64_t idle_timeout_usec;
        KubeDataFn on_data;
        KubeDoneFn on_done;
        void *userdata;
};

static void kube_request_free(KubeRequest *r) {
        if (!r)
                return;
        if (r->easy) {
                curl_glue_remove(r->client->glue, r->easy);
                curl_easy_cleanup(r->easy);
                r->client->n_active--;
        }
        curl_slist_free_all(r->headers);
        sd_event_source_disable_unref(r->idle_timer);
        free(r->url);
        free(r->body_out);
        free(r->buf);
        free(r);
}

KubeRequest *kube_request_cancel(KubeRequest *r) {
        kube_request_free(r);
        return NULL;
}

uint64_t kube_request_retry_after_usec(const KubeRequest *r) {
        return r ? r->retry_after_usec : 0;
}

void kube_client_invalidate_token(KubeClient *c) {
        c->token_stale = true;
}

static int kube_client_refresh_token(KubeClient *c) {
        _cleanup_free_ char *t = NULL;
        struct stat st;
        int r;

        if (!c->creds.token_file)
                return 0;

        if (stat(c->creds.token_file, &st) < 0)
                return log_error_errno(errno, "Failed to access token file %s: %m", c->creds.token_file);
        if (c->token && !c->token_stale &&
            st.st_ino == c->token_stat.st_ino && st.st_dev == c->token_stat.st_dev &&
            st.st_size == c->token_stat.st_size &&
            st.st_mtim.tv_sec == c->token_stat.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == c->token_stat.st_mtim.tv_nsec)
                return 0;

        r = kube_token_read(c->creds.token_file, &t);
        if (r < 0)
                return log_error_errno(r, "Failed to read token file %s: %m", c->creds.token_file);

        if (c->token)
                log_info("Re-read token file %s.", c->creds.token_file);
        if (c->token)
                explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        c->token = TAKE_PTR(t);
        c->token_stat = st;
        c->token_stale = false;
        return 0;
}

static int errno_from_curl(CURLcode cc) {
        switch (cc) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CIPHER:
                return -EPROTO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static void on_glue_done(CurlGlue *g, CURL *easy, CURLcode result, void *userdata) {
        KubeRequest *r = NULL;
        int error;

        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                return;

        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
        error = r->error < 0 ? r->error : errno_from_curl(result);
        if (error < 0 && error != r->error)
                log_debug("%s %s: %s", r->stream ? "Watch" : "Request", r->url, curl_easy_strerror(result));

        if (r->on_done)
                r->on_done(r, error, r->status, r->buf, r->len, r->userdata);
        kube_request_free(r);
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        KubeRequest *r = userdata;
        KubeDoneFn done = r->on_done;
        void *ud = r->userdata;

        log_debug("No data on %s for %" PRIu64 " s, closing it.", r->url, r->idle_timeout_usec / USEC_PER_SEC);
        r->on_done = NULL;
        if (done)
                done(r, -ETIMEDOUT, r->status, NULL, 0, ud);
        kube_request_free(r);
        return 0;
}

static void kube_request_touch(KubeRequest *r) {
        if (r->idle_timer)
                (void) sd_event_source_set_time_relative(r->idle_timer, r->idle_timeout_usec);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        KubeRequest *r = userdata;
        size_t len = size * n;

        kube_request_touch(r);

        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or 100-continue) starts over. */
                r->status = 0;
                r->retry_after_usec = 0;
                r->streaming = false;
                const char *sp = memchr(data, ' ', len);
                if (sp)
                        r->status = strtol(sp + 1, NULL, 10);
        } else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                char tmp[32] = {};
                uint64_t sec;

                memcpy(tmp, data + 12, MIN(len - 12, sizeof(tmp) - 1));
                if (safe_atou64(tmp, &sec) >= 0 && sec < 3600)
                        r->retry_after_usec = sec * USEC_PER_SEC;
        } else if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
                /* End of headers. */
                if (r->stream && r->status == 200 && r->on_data) {
                        r->streaming = true;
                        int k = r->on_data(r, NULL, 0, r->userdata);
                        if (k < 0) {
                                r->error = k;
                                return 0;       /* makes curl fail the transfer */
                        }
                }
        }
        return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        KubeRequest *r = userdata;
        size_t len = size * n;
        char *p;

        kube_request_touch(r);

        if (r->streaming) {
                int k = r->on_data(r, data, len, r->userdata);
                if (k < 0) {
                        r->error = k;
                        return 0;
                }
                return len;
        }

        if (r->len + len > KUBE_MAX_BODY_BYTES) {
                r->error = -EFBIG;
                return 0;
        }
        p = realloc(r->buf, r->len + len + 1);
        if (!p) {
                r->error = -ENOMEM;
                return 0;
        }
        r->buf = p;
        memcpy(r->buf + r->len, data, len);
        r->len += len;
        r->buf[r->len] = 0;
        return len;
}

static int kube_request_setup_tls(KubeClient *c, CURL *e) {
        const KubeCredentials *k = &c->creds;
        bool ok = true;

        if (k->insecure_skip_tls_verify) {
                ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
                ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
        } else {
                ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
                ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
        }
        if (k->ca_data) {
                struct curl_blob b = { .data = k->ca_data, .len = k->ca_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) == CURLE_OK;
        } else if (k->ca_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, k->ca_file) == CURLE_OK;

        if (k->client_cert_data) {
                struct curl_blob b = { .data = k->client_cert_data, .len = k->client_cert_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b) == CURLE_OK;
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
        } else if (k->client_cert_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT, k->client_cert_file) == CURLE_OK;
        if (k->client_key_data) {
                struct curl_blob b = { .data = k->client_key_data, .len = k->client_key_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b) == CURLE_OK;
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
        } else if (k->client_key_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY, k->client_key_file) == CURLE_OK;

        return ok ? 0 : -EIO;
}

int kube_client_start(KubeClient *c, const KubeRequestOptions *o, KubeDataFn on_data, KubeDoneFn on_done,
                      void *userdata, KubeRequest **ret) {
        KubeRequest *r;
        char *h = NULL;
        bool ok = true;
        int k;

        assert(c && o && o->method && o->path);

        k = kube_client_refresh_token(c);
        if (k < 0)
                return k;

        r = calloc(1, sizeof(KubeRequest));
        if (!r)
                return -ENOMEM;
        r->client = c;
        r->stream = o->stream;
        r->on_data = on_data;
        r->on_done = on_done;
        r->userdata = userdata;
        r->idle_timeout_usec = o->idle_timeout_usec;

        if (!(r->url = strdup_printf("%s%s", c->creds.server, o->path))) {
                r->url = NULL;
                goto oom;
        }
        if (o->body) {
                r->body_out = strdup(o->body);
                if (!r->body_out)
                        goto oom;
        }

        r->headers = curl_slist_append(r->headers, "Accept: application/json");
        if (o->content_type) {
                if (!(h = strdup_printf("Content-Type: %s", o->content_type)))
                        goto oom;
                r->headers = curl_slist_append(r->headers, h);
                free(h);
                h = NULL;
        }
        if (c->token) {
                if (!(h = strdup_printf("Authorization: Bearer %s", c->token)))
                        goto oom;
                r->headers = curl_slist_append(r->headers, h);
                explicit_bzero(h, strlen(h));
                free(h);
                h = NULL;
        }
        if (!r->headers)
                goto oom;

        r->easy = curl_easy_init();
        if (!r->easy)
                goto oom;
        c->n_active++;

        ok = ok && curl_easy_setopt(r->easy, CURLOPT_URL, r->url) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https,http") == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, o->method) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
                                    (long) (KUBE_CONNECT_TIMEOUT_USEC / USEC_PER_MSEC)) == CURLE_OK;
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
        if (r->body_out) {
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body_out) == CURLE_OK;
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(r->body_out)) == CURLE_OK;
        }
        if (!o->stream) {
                /* Whole-request timeout, and a stalled transfer (under 1 B/s for 15 s) fails early. */
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
                                            (long) ((o->timeout_usec ?: KUBE_REQUEST_TIMEOUT_USEC) / USEC_PER_MSEC)) == CURLE_OK;
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK;
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, 15L) == CURLE_OK;
        }
        if (!ok || kube_request_setup_tls(c, r->easy) < 0) {
                kube_request_free(r);
                return -EIO;
        }

        if (o->stream && o->idle_timeout_usec > 0) {
                k = sd_event_add_time_relative(c->event, &r->idle_timer, CLOCK_BOOTTIME, o->idle_timeout_usec,
                                               USEC_PER_SEC, on_idle_timeout, r);
                if (k < 0) {
                        kube_request_free(r);
                        return k;
                }
                (void) sd_event_source_set_description(r->idle_timer, "kube-watch-idle");
        }

        k = curl_glue_add(c->glue, r->easy);
        if (k < 0) {
                kube_request_free(r);
                return k;
        }

        if (ret)
                *ret = r;
        return 0;

oom:
        free(h);
        kube_request_free(r);
        return -ENOMEM;
}

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

static char *memdup_or_null(const char *s, size_t n) {
        char *p;

        if (!s)
                return NULL;
        p = malloc(n + 1);
        if (!p)
                return NULL;
        memcpy(p, s, n);
        p[n] = 0;
        return p;
}

int kube_client_new(sd_event *e, const KubeCredentials *creds, KubeClient **ret) {
        _cleanup_(kube_client_freep) KubeClient *c = NULL;
        int r;

        assert(e && creds && ret);
        if (!creds->server)
                return -EINVAL;

        c = calloc(1, sizeof(KubeClient));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);

        r = curl_glue_new(e, on_glue_done, c, &c->glue);
        if (r < 0)
                return r;

        c->creds.server = strdup(creds->server);
        c->creds.insecure_skip_tls_verify = creds->insecure_skip_tls_verify;
        c->creds.ca_file = dup_or_null(creds->ca_file);
        c->creds.ca_data = memdup_or_null(creds->ca_data, creds->ca_data_len);
        c->creds.ca_data_len = creds->ca_data_len;
        c->creds.client_cert_file = dup_or_null(creds->client_cert_file);
        c->creds.client_cert_data = memdup_or_null(creds->client_cert_data, creds->client_cert_data_len);
        c->creds.client_cert_data_len = creds->client_cert_data_len;
        c->creds.client_key_file = dup_or_null(creds->client_key_file);
        c->creds.client_key_data = memdup_or_null(creds->client_key_data, creds->client_key_data_len);
        c->creds.client_key_data_len = creds->client_key_data_len;
        c->creds.token_file = dup_or_null(creds->token_file);
        c->token = dup_or_null(creds->token);
        if (!c->creds.server ||
            (creds->ca_file && !c->creds.ca_file) || (creds->ca_data && !c->creds.ca_data) ||
            (creds->client_cert_file && !c->creds.client_cert_file) ||
            (creds->client_cert_data && !c->creds.client_cert_data) ||
            (creds->client_key_file && !c->creds.client_key_file) ||
            (creds->client_key_data && !c->creds.client_key_data) ||
            (creds->token_file && !c->creds.token_file) || (creds->token && !c->token))
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

KubeClient *kube_client_free(KubeClient *c) {
        if (!c)
                return NULL;
        if (c->token) {
                explicit_bzero(c->token, strlen(c->token));
                free(c->token);
        }
        if (c->creds.client_key_data)
                explicit_bzero(c->creds.client_key_data, c->creds.client_key_data_len);
        kube_credentials_done(&c->creds);
        curl_glue_free(c->glue);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

const char *kube_status_message(const char *body, char *buf, size_t size) {
        json_object *o, *m;
        const char *s = "no message";

        if (!body)
                return s;
        o = json_tokener_parse(body);
        if (o && json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string)) {
                snprintf(buf, size, "%s", json_object_get_string(m));
                s = buf;
        } else {
                /* Not a Status: the first line, bounded. */
                snprintf(buf, size, "%.*s", (int) strcspn(body, "\r\n"), body);
                s = buf;
        }
        if (o)
                json_object_put(o);
        return s;
}
