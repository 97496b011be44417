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
#include "json-util.h"
#include "kube-client.h"
#include "log.h"
#include "macro.h"
#include "metrics-server.h"
#include "util.h"

/* First retry delay; client-go's reflector starts its backoff at 800 ms, we at 500 ms. */
#define BACKOFF_BASE_USEC (500 * USEC_PER_MSEC)

DEFINE_TRIVIAL_CLEANUP_FUNC(char *, curl_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(CURLU *, curl_url_cleanup);

struct KubeClient {
        sd_event *event;
        CurlGlue *glue;
        KubeCredentials creds;          /* a private copy of what we need */
        char *token;                    /* current bearer token (never logged) */
        char *static_token;             /* the kubeconfig's token: the fallback while token_file is unreadable */
        struct stat token_stat;         /* of token_file when token was read */
        bool token_stale;
        bool token_fallback;            /* using static_token because token_file failed (said once) */
        char *url_base;                 /* scheme://host[:port][/path] requests go to (tls-server-name as host) */
        char *log_base;                 /* the server for messages: without any user:password@ */
        struct curl_slist *connect_to;  /* tls-server-name: "name:port:host:port", else NULL */
        char *host_header;              /* tls-server-name: "Host: host:port" of the real server */
        unsigned n_active;
};

struct KubeRequest {
        KubeClient *client;
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char *log_url;                  /* url without userinfo: the only one that is logged */
        char *body_out;                 /* request body copy */
        bool stream, streaming;         /* streaming: a 200 response body is passed to on_data */
        bool wrong_type;                /* Content-Type is not application/json */
        long status;
        uint64_t retry_after_usec;
        char *buf;                      /* buffered response body */
        size_t len, alloc;
        int error;                      /* set by callbacks to abort */
        sd_event_source *idle_timer;
        uint64_t idle_timeout_usec;
        bool idle_manual;               /* only kube_request_touch() restarts idle_timer */
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
        free(r->log_url);
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

static void token_set(KubeClient *c, char *t) {
        if (c->token) {
                explicit_bzero(c->token, strlen(c->token));
                free(c->token);
        }
        c->token = t;
}

/* The token file cannot be read (error): client-go then sends the kubeconfig's static token, if
 * there is one. Said once per failing stretch; without a static token the request fails. */
static int kube_client_token_fallback(KubeClient *c, int error) {
        char *t;

        if (!c->static_token)
                return log_error_errno(error, "Failed to read token file %s: %m", c->creds.token_file);
        if (c->token_fallback && c->token)
                return 0;

        t = strdup(c->static_token);
        if (!t)
                return log_oom();
        log_warning_errno(error, "Failed to read token file %s, using the kubeconfig's token instead: %m",
                          c->creds.token_file);
        token_set(c, t);
        c->token_fallback = true;
        c->token_stale = false;
        return 0;
}

static int kube_client_refresh_token(KubeClient *c) {
        _cleanup_free_ char *t = NULL;
        struct stat st;
        int r;

        if (!c->creds.token_file)
                return 0;

        if (stat(c->creds.token_file, &st) < 0)
                return kube_client_token_fallback(c, -errno);
        if (c->token && !c->token_fallback && !c->token_stale &&
            st.st_ino == c->token_stat.st_ino && st.st_dev == c->token_stat.st_dev &&
            st.st_size == c->token_stat.st_size &&
            st.st_mtim.tv_sec == c->token_stat.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == c->token_stat.st_mtim.tv_nsec)
                return 0;

        r = kube_token_read(c->creds.token_file, &t);
        if (r < 0)
                return kube_client_token_fallback(c, r);

        if (c->token_fallback)
                log_info("Token file %s is readable again; using it instead of the kubeconfig's token.",
                         c->creds.token_file);
        else if (c->token)
                log_info("Re-read token file %s.", c->creds.token_file);
        c->token_fallback = false;
        token_set(c, TAKE_PTR(t));
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
                log_debug("%s %s: %s", r->stream ? "Watch" : "Request", r->log_url, curl_easy_strerror(result));
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

        log_debug("No data on %s for %" PRIu64 " s, closing it.", r->log_url, r->idle_timeout_usec / USEC_PER_SEC);
        r->on_done = NULL;
        if (done)
                done(r, -ETIMEDOUT, r->status, NULL, 0, ud);
        kube_request_free(r);
        return 0;
}

void kube_request_touch(KubeRequest *r) {
        if (r && r->idle_timer)
                (void) sd_event_source_set_time_relative(r->idle_timer, r->idle_timeout_usec);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
        KubeRequest *r = userdata;
        size_t len = size * n;

        if (!r->idle_manual)
                kube_request_touch(r);

        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or 100-continue) starts over. */
                r->status = 0;
                r->retry_after_usec = 0;
                r->streaming = false;
                r->wrong_type = false;
                const char *sp = memchr(data, ' ', len);
                if (sp)
                        r->status = strtol(sp + 1, NULL, 10);
        } else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                char tmp[32] = {};
                uint64_t sec;

                memcpy(tmp, data + 12, MIN(len - 12, sizeof(tmp) - 1));
                if (safe_atou64(tmp, &sec) >= 0 && sec < 3600)
                        r->retry_after_usec = sec * USEC_PER_SEC;
        } else if (len > 13 && strncasecmp(data, "Content-Type:", 13) == 0) {
                const char *v = data + 13;
                size_t l = len - 13;

                while (l > 0 && (*v == ' ' || *v == '\t')) {
                        v++;
                        l--;
                }
                /* "application/json", with or without parameters; anything else (an HTML error
                 * page of a proxy, a redirect target) is not the API server speaking. */
                r->wrong_type = !(l >= 16 && strncasecmp(v, "application/json", 16) == 0 &&
                                  (l == 16 || strchr(";\r\n \t", v[16])));
        } else if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
                /* End of headers. */
                if (r->status >= 200 && r->status < 300 && r->wrong_type) {
                        log_debug("%s answered %ld with a Content-Type other than application/json.", r->log_url,
                                  r->status);
                        r->error = -EPROTO;
                        return 0;
                }
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

        if (!r->idle_manual)
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
        if (r->len + len + 1 > r->alloc) {
                /* Doubling: a realloc per 16 KiB chunk copies a 4 MiB body ~250 times. */
                size_t a = MIN(MAX(r->len + len + 1, MAX(r->alloc * 2, (size_t) 16384)),
                               (size_t) KUBE_MAX_BODY_BYTES + 1);

                p = realloc(r->buf, a);
                if (!p) {
                        r->error = -ENOMEM;
                        return 0;
                }
                r->buf = p;
                r->alloc = a;
        }
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
        r->idle_manual = o->idle_manual;

        r->url = strdup_printf("%s%s", c->url_base, o->path);
        r->log_url = strdup_printf("%s%s", c->log_base, o->path);
        if (!r->url || !r->log_url)
                goto oom;
        if (o->body) {
                r->body_out = strdup(o->body);
                if (!r->body_out)
                        goto oom;
        }

        r->headers = curl_slist_append(r->headers, "Accept: application/json");
        if (c->host_header)
                r->headers = curl_slist_append(r->headers, c->host_header);
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
        /* A redirect is never followed: the token would go to wherever it points. It ends the
         * request as an unexpected status. */
        ok = ok && curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
        if (c->connect_to)
                ok = ok && curl_easy_setopt(r->easy, CURLOPT_CONNECT_TO, c->connect_to) == CURLE_OK;
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

/* curl adds a "/" for an empty path, and kubeconfig_parse() dropped any trailing one from the
 * server (paths are appended to it): a copy without it. */
static char *strdup_no_slash(const char *url) {
        size_t l = strlen(url);

        return strndup(url, l > 0 && url[l - 1] == '/' ? l - 1 : l);
}

/* Splits the server URL: where requests go, what is logged, and for tls-server-name where to
 * connect. Warns about settings that expose credentials. 0, -EINVAL (not a URL) or -ENOMEM. */
static int kube_client_setup_server(KubeClient *c) {
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
        bool https, userinfo;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, c->creds.server, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
                return log_error_errno(-EINVAL, "The kubeconfig's server is not a URL curl can use.");
        https = streq(scheme, "https");
        userinfo = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;

        /* What is logged never has a user:password@ in it. */
        if (userinfo) {
                _cleanup_(curl_freep) char *clean = NULL;

                if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
                    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
                    curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK)
                        return -ENOMEM;
                c->log_base = strdup_no_slash(clean);
        } else
                c->log_base = strdup(c->creds.server);
        c->url_base = strdup(c->creds.server);
        if (!c->log_base || !c->url_base)
                return -ENOMEM;

        if (c->creds.insecure_skip_tls_verify && https)
                log_warning("TLS certificate verification of the API server at %s is off (insecure-skip-tls-verify "
                            "in the kubeconfig): anyone in the path can read the credentials.", c->log_base);
        if (!https && (c->token || c->creds.token_file || userinfo))
                log_warning("The API server at %s is plain http://: the %s goes over the network unencrypted.",
                            c->log_base, userinfo ? "user name and password" : "bearer token");

        if (c->creds.tls_server_name && https) {
                _cleanup_(curl_freep) char *url = NULL;
                _cleanup_free_ char *ct = NULL;

                /* tls-server-name is the name for SNI and the certificate check (as Go's
                 * tls.Config.ServerName), while the connection goes to the server's host: the URL
                 * carries the name, CONNECT_TO sends the connection to the real host and port, and
                 * the Host header stays the real one. */
                ct = strdup_printf("%s:%s:%s:%s", c->creds.tls_server_name, port, host, port);
                c->host_header = strdup_printf("Host: %s:%s", host, port);
                if (!ct || !c->host_header)
                        return -ENOMEM;
                if (curl_url_set(u, CURLUPART_HOST, c->creds.tls_server_name, 0) != CURLUE_OK)
                        return log_error_errno(-EINVAL, "tls-server-name %s is not a host name curl accepts.",
                                               c->creds.tls_server_name);
                /* Userinfo was dropped above; it goes back for the request URL. */
                if (userinfo && curl_url_set(u, CURLUPART_URL, c->creds.server, 0) == CURLUE_OK)
                        (void) curl_url_set(u, CURLUPART_HOST, c->creds.tls_server_name, 0);
                if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
                        return -ENOMEM;
                free(c->url_base);
                c->url_base = strdup_no_slash(url);
                c->connect_to = curl_slist_append(NULL, ct);
                if (!c->url_base || !c->connect_to)
                        return -ENOMEM;
                log_debug("Connecting to %s:%s with TLS server name %s.", host, port, c->creds.tls_server_name);
        }
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
        /* The static token serves until a token file, if any, is read, and whenever it cannot be. */
        c->token = TAKE_PTR(c->creds.token);
        if (c->token && c->creds.token_file) {
                c->static_token = strdup(c->token);
                if (!c->static_token)
                        return -ENOMEM;
        }

        r = kube_client_setup_server(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

KubeClient *kube_client_free(KubeClient *c) {
        if (!c)
                return NULL;
        token_set(c, NULL);
        if (c->static_token) {
                explicit_bzero(c->static_token, strlen(c->static_token));
                free(c->static_token);
        }
        free(c->url_base);
        free(c->log_base);
        free(c->host_header);
        curl_slist_free_all(c->connect_to);
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
        /* A hostile body must not cost more here than anywhere else. */
        if (json_parse_bounded(body, strlen(body), 0, &o, NULL) < 0)
                o = NULL;
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
