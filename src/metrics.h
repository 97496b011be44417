/* metrics.h — the daemon's metrics in the Prometheus text exposition format (0.0.4), the counters
 * behind them, the [Metrics] Listen= address and the request line of a scrape. Pure: no I/O. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The content type of a scrape answer, as Prometheus asks for it. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Codes seen by a by-code counter. HTTP statuses and a few transport failures are all there is,
 * so a handful is plenty; past it, further codes are counted under "other". */
#define METRICS_CODES_MAX 16
#define METRICS_CODE_LEN 16

typedef struct MetricsCodeCounts {
        size_t n;
        struct {
                char code[METRICS_CODE_LEN];
                uint64_t count;
        } entries[METRICS_CODES_MAX];
} MetricsCodeCounts;

/* Upper bounds of the reconcile duration buckets, in µs. A reconcile reads a dozen sysfs files
 * and writes a few: normally well under a millisecond; a slow disk for the record shows as tens
 * of milliseconds. */
#define METRICS_RECONCILE_BUCKETS 11
extern const uint64_t metrics_reconcile_bucket_usec[METRICS_RECONCILE_BUCKETS];

typedef struct MetricsHistogram {
        uint64_t bucket[METRICS_RECONCILE_BUCKETS];     /* per bucket, not cumulative */
        uint64_t count;
        uint64_t sum_usec;
} MetricsHistogram;

/* What the daemon counts as it goes: one instance for the process (metrics-server.h). */
typedef struct MetricsCounters {
        MetricsHistogram reconcile;     /* its count is reconciles_total */
        MetricsCodeCounts node_patches; /* settled Node patches by HTTP status */
        MetricsCodeCounts api_errors;   /* API server answers other than 2xx, and transport failures */
} MetricsCounters;

/* Counts one more under code (cut to METRICS_CODE_LEN - 1 bytes); "other" once the table is full. */
void metrics_code_counts_add(MetricsCodeCounts *c, const char *code);
/* The count of code, 0 if never seen. */
uint64_t metrics_code_counts_get(const MetricsCodeCounts *c, const char *code);
void metrics_histogram_observe(MetricsHistogram *h, uint64_t usec);

/* Counts an API request's outcome as kube-client.h's KubeDoneFn gets it: error < 0 is a
 * transport failure (code "timeout", "refused", "reset", "tls" or "transport"), else the HTTP
 * status; 2xx is not an error and is not counted. */
void metrics_count_api_result(MetricsCounters *c, int error, long status);

/* Everything one scrape shows, gathered by the daemon (manager-metrics.c). */
typedef struct MetricsSnapshot {
        const char *version;
        const char *node_name;
        const char *policy;             /* "always", "pressure", "advisor" */
        const char *scan_state;         /* scan-control.h's state names */

        bool available, running, selected, managed, connected, conflict;

        /* The KSM files, meaningful when available. */
        uint64_t pages_sharing, pages_shared, pages_unshared, pages_volatile, full_scans;
        bool has_ksm_zero_pages;
        uint64_t ksm_zero_pages;
        int64_t general_profit_bytes;
        uint64_t saved_bytes;
        uint32_t pages_to_scan, sleep_millisecs;

        bool has_ksmd_cpu;              /* the ksmd thread was found */
        uint64_t ksmd_cpu_usec;

        uint64_t last_reconcile_usec;   /* CLOCK_REALTIME; 0: none yet */

        const MetricsCounters *counters;
} MetricsSnapshot;

/* The metric names metrics_format() can write (each family's name; a histogram's samples add
 * _bucket, _sum and _count), NULL-terminated. The dashboard test checks its queries against it. */
extern const char *const metrics_names[];

/* Writes s in the text exposition format into *ret (malloc'd, NUL-terminated). 0 or -ENOMEM. */
int metrics_format(const MetricsSnapshot *s, char **ret);

/* Appends value to buf as a label value: backslash, double quote and newline escaped. Exposed
 * for tests. 0 or -ENOMEM. */
int metrics_escape_label_value(const char *value, char **ret);

/* Parses a Listen= value: "IPV4:PORT" or "[IPV6]:PORT", port 1..65535, numeric addresses only
 * (no name lookups in a daemon's config). 0, or -EINVAL with *reterr_msg (a static string). */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len, const char **reterr_msg);

/* What the first bytes of an HTTP request ask for. */
typedef enum MetricsRequest {
        METRICS_REQUEST_INCOMPLETE,     /* no blank line yet: read more */
        METRICS_REQUEST_METRICS,        /* GET or HEAD /metrics */
        METRICS_REQUEST_NOT_FOUND,      /* GET or HEAD of another path */
        METRICS_REQUEST_BAD_METHOD,     /* a well-formed request with another method */
        METRICS_REQUEST_BAD,            /* not an HTTP/1.x request */
        _METRICS_REQUEST_MAX,
        _METRICS_REQUEST_INVALID = -EINVAL,
} MetricsRequest;

/* Looks at the bytes received so far (not NUL-terminated). *ret_head is set for HEAD (send the
 * headers only). Pure. */
MetricsRequest metrics_parse_request(const char *buf, size_t len, bool *ret_head);
