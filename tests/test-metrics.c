/* test-metrics.c — the Prometheus text of metrics_format(), label escaping, the histogram, the
 * by-code counters, Listen= values, scrape request lines, and the dashboard's metric names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "metrics.h"
#include "test-tables.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif
#define DASHBOARD FIXTURES_DIR "/../../deploy/grafana-kubevirt-ksmd.json"

/* ---- label escaping ---------------------------------------------------------------------------- */

typedef struct EscapeCase {
        const char *name;
        const char *in, *want;
} EscapeCase;

static const EscapeCase escape_cases[] = {
        { "escape/plain",               "node01",               "node01" },
        { "escape/empty",               "",                     "" },
        { "escape/backslash",           "a\\b",                 "a\\\\b" },
        { "escape/double-quote",        "say \"hi\"",           "say \\\"hi\\\"" },
        { "escape/newline",             "two\nlines",           "two\\nlines" },
        { "escape/all-three",           "\\\"\n",               "\\\\\\\"\\n" },
        { "escape/trailing-backslash",  "end\\",                "end\\\\" },
        { "escape/utf8-kept",           "n\xc5\x93ud",          "n\xc5\x93ud" },
        { "escape/tab-and-cr-kept",     "a\tb\rc",              "a\tb\rc" },
        { "escape/single-quote-kept",   "it's",                 "it's" },
};

static void test_escape(void **state) {
        const EscapeCase *c = *state;
        _cleanup_free_ char *out = NULL;

        assert_int_equal(metrics_escape_label_value(c->in, &out), 0);
        assert_string_equal(out, c->want);
}

/* A label value reaches the output escaped: the node name and the version go through it. */
static void test_escape_in_output(void **state) {
        MetricsSnapshot s = {
                .version = "1.0\"\\\nx",
                .node_name = "a\"b",
                .policy = "always",
                .scan_state = "off",
        };
        _cleanup_free_ char *text = NULL;

        assert_int_equal(metrics_format(&s, &text), 0);
        assert_non_null(strstr(text, "\nkubevirt_ksmd_build_info{version=\"1.0\\\"\\\\\\nx\"} 1\n"));
        assert_non_null(strstr(text, "\nkubevirt_ksmd_node_info{node=\"a\\\"b\"} 1\n"));
        /* No raw newline inside a sample line: every line is a comment or a sample. */
        for (const char *l = text; *l; l = strchr(l, '\n') + 1)
                assert_true(l[0] == '#' || strncmp(l, "kubevirt_ksmd_", 14) == 0);
}

/* ---- the histogram ------------------------------------------------------------------------------- */

typedef struct HistogramCase {
        const char *name;
        uint64_t observe_usec[6];
        size_t n;
        const char *want;       /* the _bucket lines from le="0.0005" on, then _sum and _count */
} HistogramCase;

#define H "kubevirt_ksmd_reconcile_duration_seconds"
static const HistogramCase histogram_cases[] = {
        { "histogram/empty", {}, 0,
          H "_bucket{le=\"0.0001\"} 0\n" H "_bucket{le=\"0.00025\"} 0\n" H "_bucket{le=\"0.0005\"} 0\n"
          H "_bucket{le=\"0.001\"} 0\n" H "_bucket{le=\"0.0025\"} 0\n" H "_bucket{le=\"0.005\"} 0\n"
          H "_bucket{le=\"0.01\"} 0\n" H "_bucket{le=\"0.025\"} 0\n" H "_bucket{le=\"0.1\"} 0\n"
          H "_bucket{le=\"0.25\"} 0\n" H "_bucket{le=\"1\"} 0\n" H "_bucket{le=\"+Inf\"} 0\n"
          H "_sum 0\n" H "_count 0\n" },
        { "histogram/on-a-bound-counts-in-it", { 100 }, 1,
          H "_bucket{le=\"0.0001\"} 1\n" H "_bucket{le=\"0.00025\"} 1\n" H "_bucket{le=\"0.0005\"} 1\n"
          H "_bucket{le=\"0.001\"} 1\n" H "_bucket{le=\"0.0025\"} 1\n" H "_bucket{le=\"0.005\"} 1\n"
          H "_bucket{le=\"0.01\"} 1\n" H "_bucket{le=\"0.025\"} 1\n" H "_bucket{le=\"0.1\"} 1\n"
          H "_bucket{le=\"0.25\"} 1\n" H "_bucket{le=\"1\"} 1\n" H "_bucket{le=\"+Inf\"} 1\n"
          H "_sum 0.0001\n" H "_count 1\n" },
        { "histogram/cumulative", { 0, 101, 2600, 2600, 1000000, 3 }, 6,
          H "_bucket{le=\"0.0001\"} 2\n" H "_bucket{le=\"0.00025\"} 3\n" H "_bucket{le=\"0.0005\"} 3\n"
          H "_bucket{le=\"0.001\"} 3\n" H "_bucket{le=\"0.0025\"} 3\n" H "_bucket{le=\"0.005\"} 5\n"
          H "_bucket{le=\"0.01\"} 5\n" H "_bucket{le=\"0.025\"} 5\n" H "_bucket{le=\"0.1\"} 5\n"
          H "_bucket{le=\"0.25\"} 5\n" H "_bucket{le=\"1\"} 6\n" H "_bucket{le=\"+Inf\"} 6\n"
          H "_sum 1.005304\n" H "_count 6\n" },
        { "histogram/beyond-the-last-bound-only-in-inf", { 1000001, 7500000 }, 2,
          H "_bucket{le=\"0.0001\"} 0\n" H "_bucket{le=\"0.00025\"} 0\n" H "_bucket{le=\"0.0005\"} 0\n"
          H "_bucket{le=\"0.001\"} 0\n" H "_bucket{le=\"0.0025\"} 0\n" H "_bucket{le=\"0.005\"} 0\n"
          H "_bucket{le=\"0.01\"} 0\n" H "_bucket{le=\"0.025\"} 0\n" H "_bucket{le=\"0.1\"} 0\n"
          H "_bucket{le=\"0.25\"} 0\n" H "_bucket{le=\"1\"} 0\n" H "_bucket{le=\"+Inf\"} 2\n"
          H "_sum 8.500001\n" H "_count 2\n" },
};

static void test_histogram(void **state) {
        const HistogramCase *c = *state;
        MetricsCounters counters = {};
        MetricsSnapshot s = { .version = "v", .node_name = "n", .policy = "always", .scan_state = "off",
                              .counters = &counters };
        _cleanup_free_ char *text = NULL;
        const char *at;

        for (size_t i = 0; i < c->n; i++)
                metrics_histogram_observe(&counters.reconcile, c->observe_usec[i]);
        assert_int_equal(metrics_format(&s, &text), 0);

        assert_non_null(strstr(text, "# TYPE " H " histogram\n"));
        at = strstr(text, H "_bucket{le=\"0.0001\"}");
        assert_non_null(at);
        assert_memory_equal(at, c->want, strlen(c->want));
        /* reconciles_total is the histogram's count. */
        {
                char want[64];

                snprintf(want, sizeof(want), "\nkubevirt_ksmd_reconciles_total %zu\n", c->n);
                assert_non_null(strstr(text, want));
        }
}
#undef H

/* ---- every metric, and the syntax of every line ---------------------------------------------------- */

static const MetricsSnapshot *full_snapshot(MetricsCounters *counters) {
        static MetricsSnapshot s;

        *counters = (MetricsCounters) {};
        metrics_histogram_observe(&counters->reconcile, 1234);
        metrics_code_counts_add(&counters->node_patches, "200");
        metrics_code_counts_add(&counters->node_patches, "403");
        metrics_count_api_result(counters, -ETIMEDOUT, 0);
        metrics_count_api_result(counters, 0, 503);

        s = (MetricsSnapshot) {
                .version = "9.9", .node_name = "node01", .policy = "pressure", .scan_state = "idle",
                .available = true, .running = true, .selected = true, .managed = true, .connected = true,
                .conflict = false,
                .pages_sharing = 40, .pages_shared = 10, .pages_unshared = 5, .pages_volatile = 1, .full_scans = 3,
                .has_ksm_zero_pages = true, .ksm_zero_pages = 2,
                .general_profit_bytes = -4096, .saved_bytes = 172032,
                .pages_to_scan = 100, .sleep_millisecs = 200,
                .has_ksmd_cpu = true, .ksmd_cpu_usec = 1500000,
                .last_reconcile_usec = UINT64_C(1700000000000001),
                .counters = counters,
        };
        return &s;
}

typedef struct SampleCase {
        const char *name;
        const char *line;       /* a whole line the full snapshot must produce */
} SampleCase;

static const SampleCase sample_cases[] = {
        { "sample/pages_sharing",        "kubevirt_ksmd_pages_sharing 40" },
        { "sample/pages_shared",         "kubevirt_ksmd_pages_shared 10" },
        { "sample/pages_unshared",       "kubevirt_ksmd_pages_unshared 5" },
        { "sample/pages_volatile",       "kubevirt_ksmd_pages_volatile 1" },
        { "sample/ksm_zero_pages",       "kubevirt_ksmd_ksm_zero_pages 2" },
        { "sample/full_scans-counter",   "kubevirt_ksmd_full_scans_total 3" },
        { "sample/full_scans-type",      "# TYPE kubevirt_ksmd_full_scans_total counter" },
        { "sample/general-profit-negative", "kubevirt_ksmd_general_profit_bytes -4096" },
        { "sample/saved_bytes",          "kubevirt_ksmd_saved_bytes 172032" },
        { "sample/pages_to_scan",        "kubevirt_ksmd_pages_to_scan 100" },
        { "sample/sleep-in-seconds",     "kubevirt_ksmd_sleep_seconds 0.2" },
        { "sample/ksmd-cpu-seconds",     "kubevirt_ksmd_ksmd_cpu_seconds_total 1.5" },
        { "sample/ksmd-cpu-type",        "# TYPE kubevirt_ksmd_ksmd_cpu_seconds_total counter" },
        { "sample/last-reconcile",       "kubevirt_ksmd_last_reconcile_timestamp_seconds 1700000000.000001" },
        { "sample/running",              "kubevirt_ksmd_running 1" },
        { "sample/conflict",             "kubevirt_ksmd_conflict 0" },
        { "sample/policy-info",          "kubevirt_ksmd_policy_info{policy=\"pressure\",state=\"idle\"} 1" },
        { "sample/build-info",           "kubevirt_ksmd_build_info{version=\"9.9\"} 1" },
        { "sample/patches-200",          "kubevirt_ksmd_node_patches_total{code=\"200\"} 1" },
        { "sample/patches-403",          "kubevirt_ksmd_node_patches_total{code=\"403\"} 1" },
        { "sample/api-errors-timeout",   "kubevirt_ksmd_api_errors_total{code=\"timeout\"} 1" },
        { "sample/api-errors-503",       "kubevirt_ksmd_api_errors_total{code=\"503\"} 1" },
        { "sample/reconciles",           "kubevirt_ksmd_reconciles_total 1" },
};

static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, line, n) == 0 && l[n] == '\n')
                        return true;
        return false;
}

static void test_sample(void **state) {
        const SampleCase *c = *state;
        MetricsCounters counters;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(metrics_format(full_snapshot(&counters), &text), 0);
        if (!has_line(text, c->line))
                fail_msg("missing line '%s' in:\n%s", c->line, text);
}

/* Every name of metrics_names[] has its HELP, its TYPE and at least one sample. */
static void test_every_metric_present(void **state) {
        MetricsCounters counters;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(metrics_format(full_snapshot(&counters), &text), 0);
        for (const char *const *name = metrics_names; *name; name++) {
                char help[128], type[128], sample[128];

                snprintf(help, sizeof(help), "# HELP %s ", *name);
                snprintf(type, sizeof(type), "# TYPE %s ", *name);
                snprintf(sample, sizeof(sample), "\n%s", *name);
                if (!strstr(text, help) || !strstr(text, type))
                        fail_msg("%s: no HELP or TYPE", *name);
                if (!strstr(text, sample))
                        fail_msg("%s: no sample", *name);
        }
}

/* Every line is "# HELP name text", "# TYPE name type" or "name[{labels}] value", and a TYPE
 * comes once per name, before its samples. */
static void test_line_syntax(void **state) {
        static const char *const re_text =
                "^(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* [^\n]*"
                "|# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)"
                "|[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? "
                "(-?[0-9]+(\\.[0-9]+)?|\\+Inf|-Inf|NaN))$";
        MetricsCounters counters;
        _cleanup_free_ char *text = NULL;
        regex_t re;
        char *save = NULL;
        unsigned n_type = 0, n_names = 0;

        assert_int_equal(regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB), 0);
        assert_int_equal(metrics_format(full_snapshot(&counters), &text), 0);
        assert_true(text[strlen(text) - 1] == '\n');
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (regexec(&re, line, 0, NULL, 0) != 0)
                        fail_msg("not a line of the text format: '%s'", line);
                n_type += strncmp(line, "# TYPE ", 7) == 0;
        }
        regfree(&re);
        for (const char *const *name = metrics_names; *name; name++)
                n_names++;
        assert_int_equal(n_type, n_names);
}

/* Without KSM the KSM files are not reported, but the state is. */
static void test_unavailable(void **state) {
        MetricsSnapshot s = { .version = "v", .node_name = "n", .policy = "always", .scan_state = "off" };
        _cleanup_free_ char *text = NULL;

        assert_int_equal(metrics_format(&s, &text), 0);
        assert_true(has_line(text, "kubevirt_ksmd_available 0"));
        assert_true(has_line(text, "kubevirt_ksmd_running 0"));
        assert_null(strstr(text, "kubevirt_ksmd_pages_sharing"));
        assert_null(strstr(text, "kubevirt_ksmd_saved_bytes"));
        assert_null(strstr(text, "kubevirt_ksmd_ksmd_cpu_seconds_total"));
        assert_true(has_line(text, "kubevirt_ksmd_reconciles_total 0"));
        assert_true(has_line(text, "kubevirt_ksmd_reconcile_duration_seconds_count 0"));
}

/* ---- by-code counters ---------------------------------------------------------------------------- */

static void test_code_counts(void **state) {
        MetricsCodeCounts c = {};
        char code[8];

        metrics_code_counts_add(&c, "200");
        metrics_code_counts_add(&c, "200");
        metrics_code_counts_add(&c, "409");
        assert_int_equal(metrics_code_counts_get(&c, "200"), 2);
        assert_int_equal(metrics_code_counts_get(&c, "409"), 1);
        assert_int_equal(metrics_code_counts_get(&c, "500"), 0);
        /* A flood of distinct codes ends in "other", and the table stays bounded. */
        for (int i = 0; i < 100; i++) {
                snprintf(code, sizeof(code), "%d", 600 + i);
                metrics_code_counts_add(&c, code);
        }
        assert_true(c.n <= METRICS_CODES_MAX);
        assert_int_equal(metrics_code_counts_get(&c, "other"), 100 - (METRICS_CODES_MAX - 1 - 2));
        metrics_code_counts_add(&c, "200");
        assert_int_equal(metrics_code_counts_get(&c, "200"), 3);
}

typedef struct ApiCase {
        const char *name;
        int error;
        long status;
        const char *code;       /* NULL: not counted */
} ApiCase;

static const ApiCase api_cases[] = {
        { "api/200-not-an-error",       0, 200, NULL },
        { "api/201-not-an-error",       0, 201, NULL },
        { "api/404",                    0, 404, "404" },
        { "api/410",                    0, 410, "410" },
        { "api/503",                    0, 503, "503" },
        { "api/timeout",                -ETIMEDOUT, 0, "timeout" },
        { "api/refused",                -ECONNREFUSED, 0, "refused" },
        { "api/reset",                  -ECONNRESET, 0, "reset" },
        { "api/tls",                    -EPROTO, 0, "tls" },
        { "api/other-transport",        -EIO, 0, "transport" },
};

static void test_api(void **state) {
        const ApiCase *c = *state;
        MetricsCounters counters = {};

        metrics_count_api_result(&counters, c->error, c->status);
        if (!c->code)
                assert_int_equal(counters.api_errors.n, 0);
        else {
                assert_int_equal(counters.api_errors.n, 1);
                assert_int_equal(metrics_code_counts_get(&counters.api_errors, c->code), 1);
        }
}

/* ---- Listen= ------------------------------------------------------------------------------------- */

typedef struct ListenCase {
        const char *name;
        const char *value;
        int family;             /* 0: refused */
        const char *address;
        unsigned port;
        const char *why;        /* part of the message when refused */
} ListenCase;

static const ListenCase listen_cases[] = {
        { "listen/ipv4-loopback",       "127.0.0.1:9842",  AF_INET,  "127.0.0.1", 9842 },
        { "listen/ipv4-any",            "0.0.0.0:1",       AF_INET,  "0.0.0.0", 1 },
        { "listen/ipv6-loopback",       "[::1]:9842",      AF_INET6, "::1", 9842 },
        { "listen/ipv6-any",            "[::]:65535",      AF_INET6, "::", 65535 },
        { "listen/ipv6-full",           "[fd00:1::2]:80",  AF_INET6, "fd00:1::2", 80 },
        { "listen/port-0",              "127.0.0.1:0",     0, NULL, 0, "port between 1 and 65535" },
        { "listen/port-too-big",        "127.0.0.1:65536", 0, NULL, 0, "port between 1 and 65535" },
        { "listen/port-missing",        "127.0.0.1:",      0, NULL, 0, "port between 1 and 65535" },
        { "listen/port-not-a-number",   "127.0.0.1:http",  0, NULL, 0, "port between 1 and 65535" },
        { "listen/port-negative",       "127.0.0.1:-1",    0, NULL, 0, "port between 1 and 65535" },
        { "listen/no-port",             "127.0.0.1",       0, NULL, 0, "expected ADDRESS:PORT" },
        { "listen/host-name",           "localhost:9842",  0, NULL, 0, "numeric IPv4 address" },
        { "listen/ipv6-no-brackets",    "::1:9842",        0, NULL, 0, "in brackets" },
        { "listen/ipv6-unclosed",       "[::1:9842",       0, NULL, 0, "[IPV6]:PORT" },
        { "listen/ipv6-no-port",        "[::1]",           0, NULL, 0, "[IPV6]:PORT" },
        { "listen/ipv4-in-brackets",    "[127.0.0.1]:80",  0, NULL, 0, "IPv6 address in brackets" },
        { "listen/bad-octet",           "127.0.0.256:80",  0, NULL, 0, "numeric IPv4 address" },
        { "listen/empty-host",          ":9842",           0, NULL, 0, "numeric IPv4 or IPv6" },
        { "listen/space",               "127.0.0.1 :9842", 0, NULL, 0, "numeric IPv4 address" },
        { "listen/long-host",           "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:1", 0, NULL, 0, "numeric IPv4 or IPv6" },
};

static void test_listen(void **state) {
        const ListenCase *c = *state;
        struct sockaddr_storage sa;
        socklen_t len = 0;
        const char *why = NULL;
        char buf[INET6_ADDRSTRLEN];
        int r;

        r = metrics_parse_listen(c->value, &sa, &len, &why);
        if (c->family == 0) {
                assert_int_equal(r, -EINVAL);
                assert_non_null(why);
                if (!strstr(why, c->why))
                        fail_msg("message '%s' lacks '%s'", why, c->why);
                return;
        }
        assert_int_equal(r, 0);
        assert_int_equal(sa.ss_family, c->family);
        if (c->family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) &sa;

                assert_int_equal(len, sizeof(*in));
                assert_int_equal(ntohs(in->sin_port), c->port);
                assert_non_null(inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)));
        } else {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &sa;

                assert_int_equal(len, sizeof(*in6));
                assert_int_equal(ntohs(in6->sin6_port), c->port);
                assert_non_null(inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)));
        }
        assert_string_equal(buf, c->address);
}

/* The same through the configuration parser: [Metrics] Listen= keeps the text, "" resets to no
 * listener, a bad value names its line and says why. */
typedef struct ConfListenCase {
        const char *name;
        const char *text;
        const char *want;       /* the value kept; NULL: none */
        unsigned line;          /* > 0: refused on this line */
        const char *message;
} ConfListenCase;

static const ConfListenCase conf_listen_cases[] = {
        { "conf-listen/default-off",    "[Metrics]\n", NULL },
        { "conf-listen/ipv4",           "[Metrics]\nListen=127.0.0.1:9842\n", "127.0.0.1:9842" },
        { "conf-listen/ipv6-spaces",    "[Metrics]\nListen =  [::1]:9842  \n", "[::1]:9842" },
        { "conf-listen/empty-resets",   "[Metrics]\nListen=127.0.0.1:1\nListen=\n", NULL },
        { "conf-listen/last-wins",      "[Metrics]\nListen=127.0.0.1:1\nListen=127.0.0.1:2\n", "127.0.0.1:2" },
        { "conf-listen/host-name",      "# c\n[Metrics]\nListen=localhost:9842\n", NULL, 3,
          "Invalid Listen= value 'localhost:9842': expected a numeric IPv4 address" },
        { "conf-listen/bad-port",       "[Metrics]\nListen=[::1]:70000\n", NULL, 2,
          "Invalid Listen= value '[::1]:70000': expected a port between 1 and 65535" },
        { "conf-listen/long-value-cut", "[Metrics]\nListen=1111111111111111111111111111111111111111111111111111111111111111111111:1\n",
          NULL, 2, "...': expected a numeric IPv4 or IPv6 address" },
};

static void test_conf_listen(void **state) {
        const ConfListenCase *c = *state;
        _cleanup_free_ char *msg = NULL;
        unsigned line = 0;
        Config conf;
        int r;

        assert_int_equal(config_init(&conf), 0);
        r = config_parse_string(&conf, c->text, "test.conf", NULL, NULL, &line, &msg);
        if (c->line > 0) {
                assert_int_equal(r, -EINVAL);
                assert_int_equal(line, c->line);
                assert_non_null(msg);
                if (!strstr(msg, c->message))
                        fail_msg("message '%s' lacks '%s'", msg, c->message);
        } else {
                assert_int_equal(r, 0);
                if (c->want)
                        assert_string_equal(conf.metrics_listen, c->want);
                else
                        assert_null(conf.metrics_listen);
        }
        config_done(&conf);
}

/* ---- request lines ------------------------------------------------------------------------------- */

typedef struct RequestCase {
        const char *name;
        const char *text;
        MetricsRequest want;
        bool head;
} RequestCase;

static const RequestCase request_cases[] = {
        { "request/get-1.1",            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_REQUEST_METRICS },
        { "request/get-1.0",            "GET /metrics HTTP/1.0\r\n\r\n", METRICS_REQUEST_METRICS },
        { "request/bare-lf",            "GET /metrics HTTP/1.1\nHost: x\n\n", METRICS_REQUEST_METRICS },
        { "request/query-ignored",      "GET /metrics?x=1 HTTP/1.1\r\n\r\n", METRICS_REQUEST_METRICS },
        { "request/head",               "HEAD /metrics HTTP/1.1\r\n\r\n", METRICS_REQUEST_METRICS, true },
        { "request/other-path",         "GET / HTTP/1.1\r\n\r\n", METRICS_REQUEST_NOT_FOUND },
        { "request/prefix-path",        "GET /metricsx HTTP/1.1\r\n\r\n", METRICS_REQUEST_NOT_FOUND },
        { "request/post",               "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", METRICS_REQUEST_BAD_METHOD },
        { "request/delete-elsewhere",   "DELETE /x HTTP/1.1\r\n\r\n", METRICS_REQUEST_BAD_METHOD },
        { "request/no-blank-line-yet",  "GET /metrics HTTP/1.1\r\nHost: x\r\n", METRICS_REQUEST_INCOMPLETE },
        { "request/half-line",          "GET /met", METRICS_REQUEST_INCOMPLETE },
        { "request/nothing",            "", METRICS_REQUEST_INCOMPLETE },
        { "request/http-2",             "GET /metrics HTTP/2.0\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/http-0.9",           "GET /metrics\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/lowercase-method",   "get /metrics HTTP/1.1\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/two-spaces",         "GET  /metrics HTTP/1.1\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/garbage",            "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", METRICS_REQUEST_BAD },
        { "request/garbage-line",       "hello\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/control-in-path",    "GET /met\x01rics HTTP/1.1\r\n\r\n", METRICS_REQUEST_BAD },
        { "request/trailing-junk",      "GET /metrics HTTP/1.1x\r\n\r\n", METRICS_REQUEST_BAD },
};

static void test_request(void **state) {
        const RequestCase *c = *state;
        bool head = false;

        assert_int_equal(metrics_parse_request(c->text, strlen(c->text), &head), c->want);
        if (c->want == METRICS_REQUEST_METRICS)
                assert_int_equal(head, c->head);
}

/* ---- the dashboard ------------------------------------------------------------------------------- */

static void collect_exprs(json_object *o, char ***exprs, size_t *n) {
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, value) {
                        if (streq(key, "expr") && json_object_is_type(value, json_type_string)) {
                                *exprs = realloc(*exprs, (*n + 1) * sizeof(char *));
                                assert_non_null(*exprs);
                                (*exprs)[(*n)++] = strdup(json_object_get_string(value));
                        } else if (streq(key, "query") && json_object_is_type(value, json_type_string)) {
                                *exprs = realloc(*exprs, (*n + 1) * sizeof(char *));
                                assert_non_null(*exprs);
                                (*exprs)[(*n)++] = strdup(json_object_get_string(value));
                        } else
                                collect_exprs(value, exprs, n);
                }
        } else if (json_object_is_type(o, json_type_array))
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        collect_exprs(json_object_array_get_idx(o, i), exprs, n);
}

/* True if the scrape of the full snapshot has samples named exactly name. */
static bool exported(const char *text, const char *name) {
        char a[200], b[200];

        snprintf(a, sizeof(a), "\n%s ", name);
        snprintf(b, sizeof(b), "\n%s{", name);
        return strstr(text, a) || strstr(text, b);
}

/* The dashboard is valid JSON, and every kubevirt_ksmd_* name its queries use is one the daemon
 * exports (a sample name: a histogram's _bucket, _sum, _count). */
static void test_dashboard(void **state) {
        json_object *d = json_object_from_file(DASHBOARD);
        MetricsCounters counters;
        _cleanup_free_ char *text = NULL;
        char **exprs = NULL;
        size_t n = 0, n_names = 0;

        if (!d)
                fail_msg("%s: not valid JSON: %s", DASHBOARD, json_util_get_last_err());
        assert_int_equal(metrics_format(full_snapshot(&counters), &text), 0);
        collect_exprs(d, &exprs, &n);
        assert_true(n >= 8);
        for (size_t i = 0; i < n; i++) {
                for (const char *p = exprs[i]; (p = strstr(p, "kubevirt_ksmd_")); ) {
                        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
                        char name[160];

                        assert_true(len < sizeof(name));
                        memcpy(name, p, len);
                        name[len] = 0;
                        if (!exported(text, name))
                                fail_msg("the dashboard queries '%s', which the daemon does not export", name);
                        n_names++;
                        p += len;
                }
                free(exprs[i]);
        }
        free(exprs);
        json_object_put(d);
        assert_true(n_names >= 10);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(escape_cases) + ELEMENTSOF(histogram_cases) + ELEMENTSOF(sample_cases) +
                                ELEMENTSOF(api_cases) + ELEMENTSOF(listen_cases) + ELEMENTSOF(request_cases) +
                                ELEMENTSOF(conf_listen_cases) + 8];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, escape_cases, test_escape);
        TEST_ADD_TABLE(tests, n, histogram_cases, test_histogram);
        TEST_ADD_TABLE(tests, n, sample_cases, test_sample);
        TEST_ADD_TABLE(tests, n, api_cases, test_api);
        TEST_ADD_TABLE(tests, n, listen_cases, test_listen);
        TEST_ADD_TABLE(tests, n, request_cases, test_request);
        TEST_ADD_TABLE(tests, n, conf_listen_cases, test_conf_listen);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_escape_in_output);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_every_metric_present);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_line_syntax);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_unavailable);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_code_counts);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_dashboard);

        return test_run_group("metrics", tests, n);
}
