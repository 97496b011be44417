/* kube-client.c — Kubernetes API requests on libcurl multi: bearer tokens (re-read when the file
 * changes), TLS from the kubeconfig, connect/total/idle timeouts, streamed watch bodies. */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "curl-glue.h"
#include "kube-client.h"
#include "log.h"
#include "macro.h"
#include "metrics-server.h"
#include "util.h"

/* First retry delay; client-go's reflector starts its backoff at 800 ms, we at 500 ms. */
#define BACKOFF_BASE_USEC (500 * USEC_PER_MSEC)

DEFINE_TRIVIAL_CLEANUP_FUNC(char *, curl_free);

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

static const char *const kube_status_class_table[_KUBE_STATUS_CLASS_MAX] = {
        [KUBE_STATUS_SUCCESS] = "success",
        [KUBE_STATUS_UNAUTHORIZED] = "unauthorized (token rejected; re-reading the token file)",
        [KUBE_STATUS_FORBIDDEN] = "forbidden",
        [KUBE_STATUS_NOT_FOUND] = "not found",
        [KUBE_STATUS_GONE] = "gone",
        [KUBE_STATUS_THROTTLED] = "too many requests",
        [KUBE_STATUS_SERVER_ERROR] = "server error",
        [KUBE_STATUS_UNEXPECTED] = "unexpected response",
};

DEFINE_STRING_TABLE_TO_STRING(kube_status_class, KubeStatusClass, _KUBE_STATUS_CLASS_MAX);

KubeStatusClass kube_status_class(long status) {
        if (status >= 200 && status < 300)
                return KUBE_STATUS_SUCCESS;
        switch (status) {
        case 401:
                return KUBE_STATUS_UNAUTHORIZED;
        case 403:
                return KUBE_STATUS_FORBIDDEN;
        case 404:
                return KUBE_STATUS_NOT_FOUND;
        case 410:
                return KUBE_STATUS_GONE;
        case 429:
                return KUBE_STATUS_THROTTLED;
        default:
                return status >= 500 ? KUBE_STATUS_SERVER_ERROR : KUBE_STATUS_UNEXPECTED;
        }
}

uint32_t kube_client_random_u32(void) {
        uint32_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint32_t) time(NULL) ^ (uint32_t) getpid();
        return v;
}

uint64_t kube_client_backoff_usec(unsigned attempt, uint64_t cap_usec, uint32_t random) {
        uint64_t d = BACKOFF_BASE_USEC;

        for (unsigned i = 0; i < attempt && d < cap_usec; i++)
                d *= 2;
        d = MIN(d, cap_usec);
        /* ±20 % jitter so that a fleet of nodes does not come back in lockstep. */
        return d - d / 5 + (d * 2 / 5) * (random % 1001) / 1000;
}

uint64_t kube_client_retry_delay_usec(unsigned attempt) {
        return kube_client_backoff_usec(attempt, KUBE_BACKOFF_CAP_USEC, kube_client_random_u32());
}

char *kube_client_escape(const char *s) {
        _cleanup_(curl_freep) char *e = NULL;

        assert(s);

        /* curl allocates with its own allocator: hand out a malloc'd copy. */
        e = curl_easy_escape(NULL, s, 0);
        return e ? strdup(e) : NULL;
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
        /* Bound service-account tokens rotate: whichever request the server refused, the next one
         * re-reads the token file. */
        if (error == 0 && kube_status_class(r->status) == KUBE_STATUS_UNAUTHORIZED)
                r->client->token_stale = true;
        metrics_count_api_result(&metrics_counters, error, r->status);

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

/* *ret = the len bytes at src with a NUL appended, or NULL when src is NULL. 0 or -ENOMEM. */
static int copy_blob(const char *src, size_t len, char **ret) {
        char *p = NULL;

        if (src) {
                p = malloc(len + 1);
                if (!p)
                        return -ENOMEM;
                memcpy(p, src, len);
                p[len] = 0;
        }
        *ret = p;
        return 0;
}

static int copy_text(const char *src, char **ret) {
        return copy_blob(src, src ? strlen(src) : 0, ret);
}

/* A deep copy of every field of src. 0 or -ENOMEM (*ret untouched). */
static int kube_credentials_copy(const KubeCredentials *src, KubeCredentials *ret) {
        /* The lengths go in first, so that kube_credentials_done() erases the right number of key
         * bytes on failure. */
        _cleanup_(kube_credentials_done) KubeCredentials c = {
                .insecure_skip_tls_verify = src->insecure_skip_tls_verify,
                .ca_data_len = src->ca_data_len,
                .client_cert_data_len = src->client_cert_data_len,
                .client_key_data_len = src->client_key_data_len,
        };

        if (copy_text(src->server, &c.server) < 0 ||
            copy_text(src->tls_server_name, &c.tls_server_name) < 0 ||
            copy_text(src->ca_file, &c.ca_file) < 0 ||
            copy_blob(src->ca_data, src->ca_data_len, &c.ca_data) < 0 ||
            copy_text(src->client_cert_file, &c.client_cert_file) < 0 ||
            copy_blob(src->client_cert_data, src->client_cert_data_len, &c.client_cert_data) < 0 ||
            copy_text(src->client_key_file, &c.client_key_file) < 0 ||
            copy_blob(src->client_key_data, src->client_key_data_len, &c.client_key_data) < 0 ||
            copy_text(src->token, &c.token) < 0 ||
            copy_text(src->token_file, &c.token_file) < 0 ||
            copy_text(src->namespace, &c.namespace) < 0)
                return -ENOMEM;

        *ret = c;
        c = (KubeCredentials) {};
        return 0;
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

        r = kube_credentials_copy(creds, &c->creds);
        if (r < 0)
                return r;
        /* The static token serves until a token file, if any, is read. */
        c->token = TAKE_PTR(c->creds.token);

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
        kube_credentials_done(&c->creds);       /* erases the key and any token it holds */
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
