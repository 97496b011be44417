/* metrics.c — the Prometheus text exposition format (0.0.4) of the daemon's state and counters. */
#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"
#include "util.h"

#define PREFIX "kubevirt_ksmd_"

const uint64_t metrics_reconcile_bucket_usec[METRICS_RECONCILE_BUCKETS] = {
        100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 250000, 1000000,
};

const char *const metrics_names[] = {
        PREFIX "build_info",
        PREFIX "node_info",
        PREFIX "policy_info",
        PREFIX "available",
        PREFIX "running",
        PREFIX "selected",
        PREFIX "managed",
        PREFIX "connected",
        PREFIX "conflict",
        PREFIX "pages_sharing",
        PREFIX "pages_shared",
        PREFIX "pages_unshared",
        PREFIX "pages_volatile",
        PREFIX "ksm_zero_pages",
        PREFIX "full_scans_total",
        PREFIX "general_profit_bytes",
        PREFIX "saved_bytes",
        PREFIX "pages_to_scan",
        PREFIX "sleep_seconds",
        PREFIX "ksmd_cpu_seconds_total",
        PREFIX "last_reconcile_timestamp_seconds",
        PREFIX "reconciles_total",
        PREFIX "reconcile_duration_seconds",
        PREFIX "node_patches_total",
        PREFIX "api_errors_total",
        NULL
};

void metrics_code_counts_add(MetricsCodeCounts *c, const char *code) {
        assert(c);
        assert(code);

        for (size_t i = 0; i < c->n; i++)
                if (strncmp(c->entries[i].code, code, METRICS_CODE_LEN - 1) == 0) {
                        c->entries[i].count++;
                        return;
                }
        /* The last slot is kept for "other", so that an unexpected flood of codes still counts. */
        if (c->n >= METRICS_CODES_MAX - 1) {
                for (size_t i = 0; i < c->n; i++)
                        if (streq(c->entries[i].code, "other")) {
                                c->entries[i].count++;
                                return;
                        }
                code = "other";
        }
        snprintf(c->entries[c->n].code, METRICS_CODE_LEN, "%s", code);
        c->entries[c->n].count = 1;
        c->n++;
}

uint64_t metrics_code_counts_get(const MetricsCodeCounts *c, const char *code) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->entries[i].code, code))
                        return c->entries[i].count;
        return 0;
}

void metrics_histogram_observe(MetricsHistogram *h, uint64_t usec) {
        assert(h);

        for (size_t i = 0; i < METRICS_RECONCILE_BUCKETS; i++)
                if (usec <= metrics_reconcile_bucket_usec[i]) {
                        h->bucket[i]++;
                        break;
                }
        /* Beyond the last bound it lands in +Inf only, which is count. */
        h->count++;
        h->sum_usec += usec;
}

void metrics_count_api_result(MetricsCounters *c, int error, long status) {
        char code[METRICS_CODE_LEN];

        assert(c);

        if (error < 0) {
                metrics_code_counts_add(&c->api_errors,
                                        error == -ETIMEDOUT ? "timeout" :
                                        error == -ECONNREFUSED ? "refused" :
                                        error == -ECONNRESET ? "reset" :
                                        error == -EPROTO ? "tls" : "transport");
                return;
        }
        if (status >= 200 && status <= 299)
                return;
        snprintf(code, sizeof(code), "%ld", status);
        metrics_code_counts_add(&c->api_errors, code);
}

int metrics_escape_label_value(const char *value, char **ret) {
        char *buf, *p;

        assert(value);
        assert(ret);

        buf = malloc(strlen(value) * 2 + 1);
        if (!buf)
                return -ENOMEM;
        p = buf;
        for (const char *s = value; *s; s++) {
                if (*s == '\\' || *s == '"') {
                        *p++ = '\\';
                        *p++ = *s;
                } else if (*s == '\n') {
                        *p++ = '\\';
                        *p++ = 'n';
                } else
                        *p++ = *s;
        }
        *p = 0;
        *ret = buf;
        return 0;
}

/* ---- the writer ------------------------------------------------------------------------------ */

typedef struct Writer {
        FILE *f;
        int error;      /* the first -ENOMEM, then everything is a no-op */
} Writer;

static void family(Writer *w, const char *name, const char *type, const char *help) {
        /* The help texts are ours and hold neither backslash nor newline: no escaping needed. */
        assert(!strpbrk(help, "\\\n"));
        fprintf(w->f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

static void sample_u64(Writer *w, const char *name, uint64_t v) {
        fprintf(w->f, PREFIX "%s %" PRIu64 "\n", name, v);
}

static void sample_i64(Writer *w, const char *name, int64_t v) {
        fprintf(w->f, PREFIX "%s %" PRIi64 "\n", name, v);
}

/* µs as seconds, exactly: six decimals, trailing zeros dropped. */
static void fprint_usec_as_sec(FILE *f, uint64_t usec) {
        char frac[8];
        size_t n;

        if (usec % USEC_PER_SEC == 0) {
                fprintf(f, "%" PRIu64, usec / USEC_PER_SEC);
                return;
        }
        snprintf(frac, sizeof(frac), "%06" PRIu64, usec % USEC_PER_SEC);
        for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
                frac[n - 1] = 0;
        fprintf(f, "%" PRIu64 ".%s", usec / USEC_PER_SEC, frac);
}

static void sample_usec(Writer *w, const char *name, uint64_t usec) {
        fprintf(w->f, PREFIX "%s ", name);
        fprint_usec_as_sec(w->f, usec);
        fputc('\n', w->f);
}

static void gauge_bool(Writer *w, const char *name, bool v, const char *help) {
        family(w, name, "gauge", help);
        sample_u64(w, name, v);
}

static void gauge_u64(Writer *w, const char *name, uint64_t v, const char *help) {
        family(w, name, "gauge", help);
        sample_u64(w, name, v);
}

/* One sample with labels: NULL-terminated name/value pairs after the metric name. */
_sentinel_
static void sample_labels(Writer *w, const char *name, uint64_t v, ...) {
        va_list ap;
        bool first = true;

        fprintf(w->f, PREFIX "%s{", name);
        va_start(ap, v);
        for (const char *label; (label = va_arg(ap, const char *)); first = false) {
                const char *value = va_arg(ap, const char *);
                _cleanup_free_ char *escaped = NULL;

                if (metrics_escape_label_value(strempty(value), &escaped) < 0) {
                        w->error = -ENOMEM;
                        break;
                }
                fprintf(w->f, "%s%s=\"%s\"", first ? "" : ",", label, escaped);
        }
        va_end(ap);
        fprintf(w->f, "} %" PRIu64 "\n", v);
}

static int code_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A by-code counter, its samples sorted by code so that two scrapes list them alike. */
static void counter_by_code(Writer *w, const char *name, const MetricsCodeCounts *c, const char *help) {
        const char *codes[METRICS_CODES_MAX];

        family(w, name, "counter", help);
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                codes[i] = c->entries[i].code;
        qsort(codes, c->n, sizeof(codes[0]), code_cmp);
        for (size_t i = 0; i < c->n; i++)
                sample_labels(w, name, metrics_code_counts_get(c, codes[i]), "code", codes[i], NULL);
}

static void histogram(Writer *w, const char *name, const MetricsHistogram *h, const char *help) {
        static const MetricsHistogram empty = {};
        uint64_t cumulative = 0;

        if (!h)
                h = &empty;
        family(w, name, "histogram", help);
        for (size_t i = 0; i < METRICS_RECONCILE_BUCKETS; i++) {
                cumulative += h->bucket[i];
                fprintf(w->f, PREFIX "%s_bucket{le=\"", name);
                fprint_usec_as_sec(w->f, metrics_reconcile_bucket_usec[i]);
                fprintf(w->f, "\"} %" PRIu64 "\n", cumulative);
        }
        fprintf(w->f, PREFIX "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
        fprintf(w->f, PREFIX "%s_sum ", name);
        fprint_usec_as_sec(w->f, h->sum_usec);
        fprintf(w->f, "\n" PREFIX "%s_count %" PRIu64 "\n", name, h->count);
}

int metrics_format(const MetricsSnapshot *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const MetricsCounters *c;
        size_t size = 0;
        Writer w = {};

        assert(s);
        assert(ret);

        c = s->counters;
        w.f = open_memstream(&buf, &size);
        if (!w.f)
                return -ENOMEM;

        family(&w, "build_info", "gauge", "Always 1; the version of kubevirt-ksmd in a label.");
        sample_labels(&w, "build_info", 1, "version", s->version, NULL);
        family(&w, "node_info", "gauge", "Always 1; the Kubernetes node this daemon manages in a label.");
        sample_labels(&w, "node_info", 1, "node", s->node_name, NULL);
        family(&w, "policy_info", "gauge",
               "Always 1; the tuning policy and the state of the scan controller in labels.");
        sample_labels(&w, "policy_info", 1, "policy", s->policy, "state", s->scan_state, NULL);

        gauge_bool(&w, "available", s->available, "1 if the kernel offers KSM.");
        gauge_bool(&w, "running", s->running, "1 if KSM is merging (run is 1), whoever switched it on.");
        gauge_bool(&w, "selected", s->selected, "1 if the KubeVirt CR's node label selector selects this node.");
        gauge_bool(&w, "managed", s->managed, "1 if this daemon switched KSM on and owns its settings.");
        gauge_bool(&w, "connected", s->connected, "1 if the source of the cluster view is current.");
        gauge_bool(&w, "conflict", s->conflict, "1 while another writer of KSM or the Node holds the daemon back.");

        if (s->available) {
                gauge_u64(&w, "pages_sharing", s->pages_sharing,
                          "Pages that share a merged page (the kernel's pages_sharing).");
                gauge_u64(&w, "pages_shared", s->pages_shared, "Merged pages in use (the kernel's pages_shared).");
                gauge_u64(&w, "pages_unshared", s->pages_unshared,
                          "Pages checked but unique so far (the kernel's pages_unshared).");
                gauge_u64(&w, "pages_volatile", s->pages_volatile,
                          "Pages changing too fast to merge (the kernel's pages_volatile).");
                if (s->has_ksm_zero_pages)
                        gauge_u64(&w, "ksm_zero_pages", s->ksm_zero_pages,
                                  "Empty pages merged with the kernel's zero page (the kernel's ksm_zero_pages).");
                family(&w, "full_scans_total", "counter", "Full scans of the mergeable areas (the kernel's full_scans).");
                sample_u64(&w, "full_scans_total", s->full_scans);
                family(&w, "general_profit_bytes", "gauge",
                       "Memory saved by KSM minus its own overhead (the kernel's general_profit).");
                sample_i64(&w, "general_profit_bytes", s->general_profit_bytes);
                gauge_u64(&w, "saved_bytes", s->saved_bytes,
                          "Memory saved by merging: (pages_sharing + ksm_zero_pages) times the page size.");
                gauge_u64(&w, "pages_to_scan", s->pages_to_scan, "Pages ksmd scans per wake-up (pages_to_scan).");
                family(&w, "sleep_seconds", "gauge", "Time ksmd sleeps between wake-ups (sleep_millisecs).");
                sample_usec(&w, "sleep_seconds", (uint64_t) s->sleep_millisecs * USEC_PER_MSEC);
        }
        if (s->has_ksmd_cpu) {
                family(&w, "ksmd_cpu_seconds_total", "counter", "CPU time used by the kernel's ksmd thread since boot.");
                sample_usec(&w, "ksmd_cpu_seconds_total", s->ksmd_cpu_usec);
        }
        if (s->last_reconcile_usec > 0) {
                family(&w, "last_reconcile_timestamp_seconds", "gauge", "When the last reconcile finished, in seconds since the epoch.");
                sample_usec(&w, "last_reconcile_timestamp_seconds", s->last_reconcile_usec);
        }

        family(&w, "reconciles_total", "counter", "Reconciles run since the daemon started.");
        sample_u64(&w, "reconciles_total", c ? c->reconcile.count : 0);
        histogram(&w, "reconcile_duration_seconds", c ? &c->reconcile : NULL, "How long reconciles took.");
        counter_by_code(&w, "node_patches_total", c ? &c->node_patches : NULL,
                        "Node patches the API server settled, by HTTP status.");
        counter_by_code(&w, "api_errors_total", c ? &c->api_errors : NULL,
                        "API server answers other than 2xx by HTTP status, and transport failures by kind.");

        if (fclose(w.f) != 0 || w.error < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- Listen= --------------------------------------------------------------------------------- */

int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len, const char **reterr_msg) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *port_s, *end;
        struct sockaddr_storage sa = {};
        socklen_t len;
        uint32_t port;
        bool ipv6;
        size_t n;

        assert(s);

        ipv6 = s[0] == '[';
        if (ipv6) {
                end = strchr(s, ']');
                if (!end || end[1] != ':') {
                        *reterr_msg = "expected [IPV6]:PORT, such as [::1]:9842";
                        return -EINVAL;
                }
                n = (size_t) (end - s - 1);
                port_s = end + 2;
                s++;
        } else {
                end = strrchr(s, ':');
                if (!end) {
                        *reterr_msg = "expected ADDRESS:PORT, such as 127.0.0.1:9842 or [::1]:9842";
                        return -EINVAL;
                }
                n = (size_t) (end - s);
                port_s = end + 1;
        }
        if (n == 0 || n >= sizeof(host)) {
                *reterr_msg = "expected a numeric IPv4 or IPv6 address";
                return -EINVAL;
        }
        memcpy(host, s, n);
        host[n] = 0;

        if (safe_atou32(port_s, &port) < 0 || port < 1 || port > 65535) {
                *reterr_msg = "expected a port between 1 and 65535";
                return -EINVAL;
        }

        if (ipv6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;

                if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
                        *reterr_msg = "expected a numeric IPv6 address in brackets";
                        return -EINVAL;
                }
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                len = sizeof(*in6);
        } else {
                struct sockaddr_in *in4 = (struct sockaddr_in *) &sa;

                if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
                        *reterr_msg = strchr(host, ':') ? "an IPv6 address goes in brackets, such as [::1]:9842"
                                                        : "expected a numeric IPv4 address";
                        return -EINVAL;
                }
                in4->sin_family = AF_INET;
                in4->sin_port = htons((uint16_t) port);
                len = sizeof(*in4);
        }

        if (ret)
                *ret = sa;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ---- the request ----------------------------------------------------------------------------- */

static const char *memmem_str(const char *buf, size_t len, const char *needle) {
        return memmem(buf, len, needle, strlen(needle));
}

MetricsRequest metrics_parse_request(const char *buf, size_t len, bool *ret_head) {
        const char *eol, *sp1, *sp2, *path, *version;
        size_t method_len, path_len, line_len;
        bool get, head;

        assert(buf || len == 0);

        /* The request line: METHOD SP PATH SP HTTP/1.x CRLF. A bare LF is accepted, as most
         * servers do. Judged as soon as it is complete, so garbage is refused without waiting. */
        eol = memchr(buf, '\n', len);
        if (!eol) {
                /* No line yet: anything that cannot start a request line is refused now. */
                for (size_t i = 0; i < len; i++)
                        if ((unsigned char) buf[i] < 0x20 && buf[i] != '\r')
                                return METRICS_REQUEST_BAD;
                return METRICS_REQUEST_INCOMPLETE;
        }
        line_len = (size_t) (eol - buf);
        if (line_len > 0 && buf[line_len - 1] == '\r')
                line_len--;

        sp1 = memchr(buf, ' ', line_len);
        if (!sp1 || sp1 == buf)
                return METRICS_REQUEST_BAD;
        method_len = (size_t) (sp1 - buf);
        path = sp1 + 1;
        sp2 = memchr(path, ' ', line_len - method_len - 1);
        if (!sp2 || sp2 == path)
                return METRICS_REQUEST_BAD;
        path_len = (size_t) (sp2 - path);
        version = sp2 + 1;
        if ((size_t) (buf + line_len - version) != strlen("HTTP/1.0") ||
            (memcmp(version, "HTTP/1.0", 8) != 0 && memcmp(version, "HTTP/1.1", 8) != 0))
                return METRICS_REQUEST_BAD;
        for (size_t i = 0; i < method_len; i++)
                if (buf[i] < 'A' || buf[i] > 'Z')
                        return METRICS_REQUEST_BAD;
        for (size_t i = 0; i < path_len; i++)
                if ((unsigned char) path[i] <= 0x20 || (unsigned char) path[i] >= 0x7f)
                        return METRICS_REQUEST_BAD;

        /* The headers are not needed, but the request is only complete at the blank line. */
        if (!memmem_str(buf, len, "\r\n\r\n") && !memmem_str(buf, len, "\n\n"))
                return METRICS_REQUEST_INCOMPLETE;

        get = method_len == 3 && memcmp(buf, "GET", 3) == 0;
        head = method_len == 4 && memcmp(buf, "HEAD", 4) == 0;
        if (!get && !head)
                return METRICS_REQUEST_BAD_METHOD;
        if (ret_head)
                *ret_head = head;

        /* The query string is ignored, as Prometheus' own exporters do. */
        {
                const char *q = memchr(path, '?', path_len);

                if (q)
                        path_len = (size_t) (q - path);
        }
        if (path_len == strlen("/metrics") && memcmp(path, "/metrics", path_len) == 0)
                return METRICS_REQUEST_METRICS;
        return METRICS_REQUEST_NOT_FOUND;
}
