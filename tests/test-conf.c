/* test-conf.c — table tests for the configuration parser: keys, bad lines, drop-ins, cross checks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "macro.h"
#include "test-tables.h"

typedef enum FieldKind {
        FIELD_STR,
        FIELD_U32,
        FIELD_I32,
        FIELD_U64,
        FIELD_INT,      /* int and the enums */
} FieldKind;

#define F(kind, field) kind, offsetof(Config, field)

/* Counts what the parser's warn callback hands over, keeping the last one. */
typedef struct Warnings {
        unsigned n;
        unsigned last_line;
        char *last_file;
        char *last_msg;
} Warnings;

static void on_warn(const char *file, unsigned line, const char *msg, void *userdata) {
        Warnings *w = userdata;

        w->n++;
        w->last_line = line;
        free(w->last_file);
        w->last_file = file ? strdup(file) : NULL;
        free(w->last_msg);
        w->last_msg = strdup(msg);
}

static void warnings_done(Warnings *w) {
        free(w->last_file);
        free(w->last_msg);
        *w = (Warnings) {};
}

/* Like asprintf(), without needing _GNU_SOURCE. */
_printf_(2, 3)
static int format_string(char **ret, const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        s = malloc((size_t) n + 1);
        if (!s)
                return -ENOMEM;
        va_start(ap, fmt);
        (void) vsnprintf(s, (size_t) n + 1, fmt, ap);
        va_end(ap);
        *ret = s;
        return n;
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static void config_donep(Config *c) {
        config_done(c);
}
#define _cleanup_config_ _cleanup_(config_donep)

static bool endswith(const char *s, const char *suffix) {
        size_t a, b;

        if (!s)
                return false;
        a = strlen(s);
        b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static void check_field(const char *name, const Config *c, FieldKind kind, size_t offset,
                        int64_t num, const char *str) {
        const uint8_t *p = (const uint8_t *) c + offset;

        switch (kind) {
        case FIELD_STR: {
                const char *v = *(char *const *) p;

                if (!streq_ptr(v, str))
                        fail_msg("%s: got '%s', expected '%s'", name, strna(v), strna(str));
                break;
        }
        case FIELD_U32: {
                uint32_t v;

                memcpy(&v, p, sizeof(v));
                if ((int64_t) v != num)
                        fail_msg("%s: got %" PRIu32 ", expected %" PRIi64, name, v, num);
                break;
        }
        case FIELD_I32: {
                int32_t v;

                memcpy(&v, p, sizeof(v));
                if ((int64_t) v != num)
                        fail_msg("%s: got %" PRIi32 ", expected %" PRIi64, name, v, num);
                break;
        }
        case FIELD_U64: {
                uint64_t v;

                memcpy(&v, p, sizeof(v));
                if (v != (uint64_t) num)
                        fail_msg("%s: got %" PRIu64 ", expected %" PRIi64, name, v, num);
                break;
        }
        case FIELD_INT: {
                int v;

                memcpy(&v, p, sizeof(v));
                if ((int64_t) v != num)
                        fail_msg("%s: got %d, expected %" PRIi64, name, v, num);
                break;
        }
        }
}

/* Compares every field; name says which test asked. */
static void check_config_equal(const char *name, const Config *a, const Config *b) {
        check_field(name, a, F(FIELD_STR, kubeconfig), 0, b->kubeconfig);
        check_field(name, a, F(FIELD_STR, node_name), 0, b->node_name);
        check_field(name, a, F(FIELD_STR, kubevirt_namespace), 0, b->kubevirt_namespace);
        check_field(name, a, F(FIELD_INT, source_type), b->source_type, NULL);
        check_field(name, a, F(FIELD_STR, kubevirt_file), 0, b->kubevirt_file);
        check_field(name, a, F(FIELD_STR, node_file), 0, b->node_file);
        check_field(name, a, F(FIELD_STR, sysfs_dir), 0, b->sysfs_dir);
        check_field(name, a, F(FIELD_STR, meminfo_file), 0, b->meminfo_file);
        check_field(name, a, F(FIELD_INT, policy), b->policy, NULL);
        check_field(name, a, F(FIELD_U64, recheck_usec), (int64_t) b->recheck_usec, NULL);
        check_field(name, a, F(FIELD_U32, pages_boost), b->pages_boost, NULL);
        check_field(name, a, F(FIELD_I32, pages_decay), b->pages_decay, NULL);
        check_field(name, a, F(FIELD_U32, pages_min), b->pages_min, NULL);
        check_field(name, a, F(FIELD_U32, pages_max), b->pages_max, NULL);
        check_field(name, a, F(FIELD_U32, pages_init), b->pages_init, NULL);
        check_field(name, a, F(FIELD_U32, sleep_baseline_ms), b->sleep_baseline_ms, NULL);
        check_field(name, a, F(FIELD_U32, sleep_min_ms), b->sleep_min_ms, NULL);
        check_field(name, a, F(FIELD_U32, sleep_max_ms), b->sleep_max_ms, NULL);
        check_field(name, a, F(FIELD_U32, free_percent), b->free_percent, NULL);
        check_field(name, a, F(FIELD_U32, advisor_target_scan_time_sec), b->advisor_target_scan_time_sec, NULL);
        check_field(name, a, F(FIELD_U32, advisor_max_cpu), b->advisor_max_cpu, NULL);
        check_field(name, a, F(FIELD_U32, advisor_min_pages), b->advisor_min_pages, NULL);
        check_field(name, a, F(FIELD_U32, advisor_max_pages), b->advisor_max_pages, NULL);
        check_field(name, a, F(FIELD_STR, state_dir), 0, b->state_dir);
        check_field(name, a, F(FIELD_INT, log_level), b->log_level, NULL);
}

static void test_defaults(void **state) {
        _cleanup_config_ Config c = {};

        assert_int_equal(config_init(&c), 0);

        assert_null(c.kubeconfig);
        assert_null(c.node_name);
        assert_string_equal(c.kubevirt_namespace, "kubevirt");
        assert_int_equal(c.source_type, SOURCE_FILE);
        assert_string_equal(c.kubevirt_file, CONF_DEFAULT_KUBEVIRT_FILE);
        assert_string_equal(c.node_file, CONF_DEFAULT_NODE_FILE);
        assert_string_equal(c.sysfs_dir, "/sys/kernel/mm/ksm");
        assert_string_equal(c.meminfo_file, "/proc/meminfo");
        assert_int_equal(c.policy, POLICY_ALWAYS);
        assert_int_equal(c.recheck_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c.pages_boost, 300);
        assert_int_equal(c.pages_decay, -50);
        assert_int_equal(c.pages_min, 64);
        assert_int_equal(c.pages_max, 1250);
        assert_int_equal(c.pages_init, 100);
        assert_int_equal(c.sleep_baseline_ms, 100);
        assert_int_equal(c.sleep_min_ms, 10);
        assert_int_equal(c.sleep_max_ms, 1000);
        assert_int_equal(c.free_percent, 20);
        assert_int_equal(c.advisor_target_scan_time_sec, 200);
        assert_int_equal(c.advisor_max_cpu, 70);
        assert_int_equal(c.advisor_min_pages, 500);
        assert_int_equal(c.advisor_max_pages, 30000);
        assert_int_equal(c.scan_fast_pages, 10000);
        assert_int_equal(c.scan_fast_sleep_ms, 10);
        assert_int_equal(c.scan_idle_pages, 100);
        assert_int_equal(c.scan_idle_sleep_ms, 200);
        assert_int_equal(c.scan_sample_usec, 1 * USEC_PER_SEC);
        assert_int_equal(c.scan_idle_sample_usec, 2 * USEC_PER_SEC);
        assert_int_equal(c.scan_wake_memory_mib, 64);
        assert_int_equal(c.scan_quiet_pass_pages, 256);
        assert_int_equal(c.scan_holdoff_max_usec, 300 * USEC_PER_SEC);
        assert_null(c.state_dir);
        assert_int_equal(c.log_level, -1);

        assert_int_equal(config_verify(&c, NULL), 0);

        /* done, then init again: the struct is reusable */
        config_done(&c);
        assert_null(c.kubevirt_namespace);
        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.kubevirt_namespace, "kubevirt");
}

static const char every_key[] =
        "# every key once, with comments, blank lines and stray whitespace\n"
        "\n"
        "[Kubernetes]\n"
        "Kubeconfig = /etc/kubernetes/kubelet.conf\n"
        "NodeName=node01.example.com\n"
        "  KubeVirtNamespace\t=\tkubevirt-system  \n"
        "; a semicolon comment\n"
        "\n"
        "[Source]\n"
        "Type=kubernetes\n"
        "KubeVirtFile=/srv/kv.json\n"
        "NodeFile=/srv/node.json\n"
        "\n"
        "[KSM]\n"
        "SysfsDir=/tmp/ksm\n"
        "MeminfoFile=/tmp/meminfo\n"
        "Policy=pressure\n"
        "RecheckSec=2min\n"
        "PagesBoost=400\n"
        "PagesDecay=-25\n"
        "PagesMin=32\n"
        "PagesMax=2000\n"
        "PagesInit=50\n"
        "SleepBaselineMsec=150\n"
        "SleepMinMsec=5\n"
        "SleepMaxMsec=2000\n"
        "FreePercent=25%\n"
        "AdvisorTargetScanTimeSec=300\n"
        "AdvisorMaxCPU=50%\n"
        "AdvisorMinPagesToScan=100\n"
        "AdvisorMaxPagesToScan=40000\n"
        "    # an indented comment\n"
        "[Daemon]\n"
        "StateDirectory=/run/ksmd\n"
        "LogLevel=debug\n";

static void test_every_key(void **state) {
        _cleanup_config_ Config c = {};
        _cleanup_free_ char *msg = NULL;
        Warnings w = {};
        unsigned line = 0;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse_string(&c, every_key, "every-key", on_warn, &w, &line, &msg), 0);
        assert_int_equal(w.n, 0);
        warnings_done(&w);

        assert_string_equal(c.kubeconfig, "/etc/kubernetes/kubelet.conf");
        assert_string_equal(c.node_name, "node01.example.com");
        assert_string_equal(c.kubevirt_namespace, "kubevirt-system");
        assert_int_equal(c.source_type, SOURCE_KUBERNETES);
        assert_string_equal(c.kubevirt_file, "/srv/kv.json");
        assert_string_equal(c.node_file, "/srv/node.json");
        assert_string_equal(c.sysfs_dir, "/tmp/ksm");
        assert_string_equal(c.meminfo_file, "/tmp/meminfo");
        assert_int_equal(c.policy, POLICY_PRESSURE);
        assert_int_equal(c.recheck_usec, 120 * USEC_PER_SEC);
        assert_int_equal(c.pages_boost, 400);
        assert_int_equal(c.pages_decay, -25);
        assert_int_equal(c.pages_min, 32);
        assert_int_equal(c.pages_max, 2000);
        assert_int_equal(c.pages_init, 50);
        assert_int_equal(c.sleep_baseline_ms, 150);
        assert_int_equal(c.sleep_min_ms, 5);
        assert_int_equal(c.sleep_max_ms, 2000);
        assert_int_equal(c.free_percent, 25);
        assert_int_equal(c.advisor_target_scan_time_sec, 300);
        assert_int_equal(c.advisor_max_cpu, 50);
        assert_int_equal(c.advisor_min_pages, 100);
        assert_int_equal(c.advisor_max_pages, 40000);
        assert_string_equal(c.state_dir, "/run/ksmd");
        assert_int_equal(c.log_level, 7);

        assert_int_equal(config_verify(&c, NULL), 0);
}

/* One key each: the text is parsed over the defaults and one field checked. */
typedef struct GoodCase {
        const char *name;
        const char *text;
        FieldKind kind;
        size_t offset;
        int64_t num;
        const char *str;        /* FIELD_STR: NULL expects NULL */
} GoodCase;

static const GoodCase good_cases[] = {
        { "spaces around '=' and value",
          "[KSM]\n   PagesMax   =   2000   \n", F(FIELD_U32, pages_max), 2000 },
        { "tabs around '=' and value",
          "[KSM]\n\tPagesMax\t=\t2000\t\n", F(FIELD_U32, pages_max), 2000 },
        { "duplicate key: the last wins",
          "[KSM]\nPagesMax=2000\nPagesMax=3000\n", F(FIELD_U32, pages_max), 3000 },
        { "section repeated: the last assignment wins",
          "[KSM]\nPagesMax=2000\n[Daemon]\nLogLevel=info\n[KSM]\nPagesMax=3000\n", F(FIELD_U32, pages_max), 3000 },
        { "empty value resets an unsigned key",
          "[KSM]\nPagesMax=2000\nPagesMax=\n", F(FIELD_U32, pages_max), CONF_DEFAULT_PAGES_MAX },
        { "empty value with spaces resets",
          "[KSM]\nPagesMax=2000\nPagesMax =   \n", F(FIELD_U32, pages_max), CONF_DEFAULT_PAGES_MAX },
        { "empty value resets a signed key",
          "[KSM]\nPagesDecay=-7\nPagesDecay=\n", F(FIELD_I32, pages_decay), CONF_DEFAULT_PAGES_DECAY },
        { "empty value resets a time span",
          "[KSM]\nRecheckSec=5min\nRecheckSec=\n", F(FIELD_U64, recheck_usec), (int64_t) CONF_DEFAULT_RECHECK_USEC },
        { "empty value resets a percentage",
          "[KSM]\nFreePercent=50%\nFreePercent=\n", F(FIELD_U32, free_percent), CONF_DEFAULT_FREE_PERCENT },
        { "empty value resets Policy",
          "[KSM]\nPolicy=advisor\nPolicy=\n", F(FIELD_INT, policy), POLICY_ALWAYS },
        { "empty value resets Type",
          "[Source]\nType=kubernetes\nType=\n", F(FIELD_INT, source_type), SOURCE_FILE },
        { "empty value resets LogLevel",
          "[Daemon]\nLogLevel=debug\nLogLevel=\n", F(FIELD_INT, log_level), -1 },
        { "empty value resets a string to its default",
          "[Kubernetes]\nKubeVirtNamespace=foo\nKubeVirtNamespace=\n",
          F(FIELD_STR, kubevirt_namespace), 0, CONF_DEFAULT_KUBEVIRT_NAMESPACE },
        { "empty value resets a string without default to unset",
          "[Kubernetes]\nKubeconfig=/etc/kubeconfig\nKubeconfig=\n", F(FIELD_STR, kubeconfig), 0, NULL },
        { "empty value resets NodeName",
          "[Kubernetes]\nNodeName=node01\nNodeName=\n", F(FIELD_STR, node_name), 0, NULL },
        { "empty value resets SysfsDir",
          "[KSM]\nSysfsDir=/tmp/x\nSysfsDir=\n", F(FIELD_STR, sysfs_dir), 0, CONF_DEFAULT_SYSFS_DIR },
        { "empty value resets StateDirectory",
          "[Daemon]\nStateDirectory=/tmp/x\nStateDirectory=\n", F(FIELD_STR, state_dir), 0, NULL },
        { "FreePercent with a percent sign",
          "[KSM]\nFreePercent=20%\n", F(FIELD_U32, free_percent), 20 },
        { "FreePercent without a percent sign",
          "[KSM]\nFreePercent=35\n", F(FIELD_U32, free_percent), 35 },
        { "FreePercent with a space before the percent sign",
          "[KSM]\nFreePercent=35 %\n", F(FIELD_U32, free_percent), 35 },
        { "FreePercent 0",
          "[KSM]\nFreePercent=0\n", F(FIELD_U32, free_percent), 0 },
        { "FreePercent 100%",
          "[KSM]\nFreePercent=100%\n", F(FIELD_U32, free_percent), 100 },
        { "AdvisorMaxCPU with a percent sign",
          "[KSM]\nAdvisorMaxCPU=100%\n", F(FIELD_U32, advisor_max_cpu), 100 },
        { "RecheckSec: a bare number is seconds",
          "[KSM]\nRecheckSec=45\n", F(FIELD_U64, recheck_usec), 45 * (int64_t) USEC_PER_SEC },
        { "RecheckSec: combined units",
          "[KSM]\nRecheckSec=1min 30s\n", F(FIELD_U64, recheck_usec), 90 * (int64_t) USEC_PER_SEC },
        { "RecheckSec: lower bound 1s (as 1000ms)",
          "[KSM]\nRecheckSec=1000ms\n", F(FIELD_U64, recheck_usec), (int64_t) USEC_PER_SEC },
        { "RecheckSec: upper bound 24h",
          "[KSM]\nRecheckSec=24h\n", F(FIELD_U64, recheck_usec), 86400 * (int64_t) USEC_PER_SEC },
        { "PagesDecay 0",
          "[KSM]\nPagesDecay=0\n", F(FIELD_I32, pages_decay), 0 },
        { "PagesDecay lower bound",
          "[KSM]\nPagesDecay=-100000\n", F(FIELD_I32, pages_decay), -100000 },
        { "PagesMax upper bound",
          "[KSM]\nPagesMax=100000\n", F(FIELD_U32, pages_max), 100000 },
        { "SleepMaxMsec upper bound",
          "[KSM]\nSleepMaxMsec=600000\n", F(FIELD_U32, sleep_max_ms), 600000 },
        { "AdvisorTargetScanTimeSec upper bound",
          "[KSM]\nAdvisorTargetScanTimeSec=86400\n", F(FIELD_U32, advisor_target_scan_time_sec), 86400 },
        { "AdvisorMaxPagesToScan upper bound",
          "[KSM]\nAdvisorMaxPagesToScan=10000000\n", F(FIELD_U32, advisor_max_pages), 10000000 },
        { "Policy pressure",
          "[KSM]\nPolicy=pressure\n", F(FIELD_INT, policy), POLICY_PRESSURE },
        { "Policy advisor",
          "[KSM]\nPolicy=advisor\n", F(FIELD_INT, policy), POLICY_ADVISOR },
        { "Type file",
          "[Source]\nType=kubernetes\nType=file\n", F(FIELD_INT, source_type), SOURCE_FILE },
        { "LogLevel by name",
          "[Daemon]\nLogLevel=warning\n", F(FIELD_INT, log_level), 4 },
        { "LogLevel by number",
          "[Daemon]\nLogLevel=3\n", F(FIELD_INT, log_level), 3 },
        { "NodeName with dots and dashes",
          "[Kubernetes]\nNodeName=node-1.example.com\n", F(FIELD_STR, node_name), 0, "node-1.example.com" },
        { "SelectorAnnotation: a prefixed key",
          "[Source]\nSelectorAnnotation=kubevirt.io/ksm-ksmd-node-label-selector\n",
          F(FIELD_STR, selector_annotation), 0, "kubevirt.io/ksm-ksmd-node-label-selector" },
        { "SelectorAnnotation: empty resets to unset",
          "[Source]\nSelectorAnnotation=a/b\nSelectorAnnotation=\n", F(FIELD_STR, selector_annotation), 0, NULL },
        { "EnabledLabel: own key",
          "[Source]\nEnabledLabel=kubevirt.io/ksm-ksmd-enabled\n", F(FIELD_STR, enabled_label), 0,
          "kubevirt.io/ksm-ksmd-enabled" },
        { "ManagedAnnotation: empty resets to the KubeVirt key",
          "[Source]\nManagedAnnotation=x\nManagedAnnotation=\n", F(FIELD_STR, managed_annotation), 0,
          "kubevirt.io/ksm-handler-managed" },
        { "ScanWakeMemoryMiB: 0 never wakes on memory",
          "[KSM]\nScanWakeMemoryMiB=0\n", F(FIELD_U32, scan_wake_memory_mib), 0, NULL },
        { "ScanIdleSampleSec: a time span",
          "[KSM]\nScanIdleSampleSec=5s\n", F(FIELD_U64, scan_idle_sample_usec), 5000000, NULL },
        { "ConflictQuietSec: minutes",
          "[KSM]\nConflictQuietSec=15min\n", F(FIELD_U64, conflict_quiet_usec), 900000000, NULL },
        { "a value may contain '='",
          "[Kubernetes]\nKubeconfig=/etc/a=b\n", F(FIELD_STR, kubeconfig), 0, "/etc/a=b" },
        { "a value keeps its inner spaces",
          "[Kubernetes]\nKubeconfig=/etc/my kube/config\n", F(FIELD_STR, kubeconfig), 0, "/etc/my kube/config" },
        { "CRLF line endings",
          "[KSM]\r\nPagesMax=2000\r\n", F(FIELD_U32, pages_max), 2000 },
        { "UTF-8 byte order mark",
          "\xEF\xBB\xBF[KSM]\nPagesMax=2000\n", F(FIELD_U32, pages_max), 2000 },
        { "no newline at the end",
          "[KSM]\nPagesMax=2000", F(FIELD_U32, pages_max), 2000 },
        { "commented-out assignments are ignored",
          "# PagesMax=1\n; PagesMax=2\n[KSM]\n#PagesMax=3\n  ;PagesMax=4\nPagesMax=2000\n#PagesMax=5\n",
          F(FIELD_U32, pages_max), 2000 },
        { "X- sections and keys are ignored quietly",
          "[X-Vendor]\nAnything=1\n[KSM]\nX-Note=hello\nPagesMax=2000\n", F(FIELD_U32, pages_max), 2000 },
        { "empty text keeps the defaults",
          "", F(FIELD_U32, pages_max), CONF_DEFAULT_PAGES_MAX },
        { "only comments and blank lines",
          "\n\n# nothing\n   \n\t\n", F(FIELD_U32, pages_max), CONF_DEFAULT_PAGES_MAX },
};

/* Parses text over the defaults into c, warnings into w; an error fails the case. */
static void parse_over_defaults(const char *name, Config *c, const char *text, const char *fname, Warnings *w) {
        _cleanup_free_ char *msg = NULL;
        unsigned line = 0;
        int r;

        assert_int_equal(config_init(c), 0);
        r = config_parse_string(c, text, fname, on_warn, w, &line, &msg);
        if (r != 0)
                fail_msg("%s: r=%d line=%u msg=%s", name, r, line, strna(msg));
}

static void test_good(void **state) {
        const GoodCase *tc = *state;
        _cleanup_config_ Config c = {};
        Warnings w = {};

        parse_over_defaults(tc->name, &c, tc->text, "good", &w);
        if (w.n != 0)
                fail_msg("%s: %u unexpected warnings, last: %s", tc->name, w.n, strna(w.last_msg));
        warnings_done(&w);

        check_field(tc->name, &c, tc->kind, tc->offset, tc->num, tc->str);
}

/* Each must fail with -EINVAL on line, with a message containing needle. */
typedef struct BadCase {
        const char *name;
        const char *text;
        unsigned line;
        const char *needle;
} BadCase;

static const BadCase bad_cases[] = {
        { "key outside any section",            "PagesMax=100\n",                       1, "PagesMax" },
        { "key after comments, before section", "# hello\n\nPagesMax=100\n[KSM]\n",     3, "PagesMax" },
        { "line without '='",                   "[KSM]\nPagesMax 100\n",                2, "PagesMax 100" },
        { "line without '=' before a section",  "hello\n",                              1, "hello" },
        { "unterminated section header",        "[KSM\nPagesMax=100\n",                 1, "[KSM" },
        { "section header with trailing junk",  "[KSM] x\n",                            1, "[KSM] x" },
        { "lone '['",                           "[\n",                                  1, "[" },
        { "empty section name",                 "[]\n",                                 1, "section" },
        { "nested brackets",                    "[[KSM]]\n",                            1, "section" },
        { "missing key name",                   "[KSM]\n=100\n",                        2, "key" },
        { "PagesMax: not a number",             "[KSM]\nPagesMax=abc\n",                2, "PagesMax" },
        { "PagesMax: negative",                 "[KSM]\nPagesMax=-1\n",                 2, "PagesMax" },
        { "PagesMax: explicit plus sign",       "[KSM]\nPagesMax=+5\n",                 2, "PagesMax" },
        { "PagesMax: overflow",                 "[KSM]\nPagesMax=99999999999\n",        2, "PagesMax" },
        { "PagesMax: above 100000",             "[KSM]\nPagesMax=100001\n",             2, "PagesMax" },
        { "PagesMax: zero",                     "[KSM]\nPagesMax=0\n",                  2, "PagesMax" },
        { "PagesMax: trailing junk",            "[KSM]\nPagesMax=10x\n",                2, "PagesMax" },
        { "PagesMax: fraction",                 "[KSM]\nPagesMax=1.5\n",                2, "PagesMax" },
        { "PagesMax: hexadecimal",              "[KSM]\nPagesMax=0x10\n",               2, "PagesMax" },
        { "PagesMin: zero",                     "[KSM]\nPagesMin=0\n",                  2, "PagesMin" },
        { "PagesInit: not a number",            "[KSM]\nPagesInit=many\n",              2, "PagesInit" },
        { "PagesBoost: zero",                   "[KSM]\nPagesBoost=0\n",                2, "PagesBoost" },
        { "PagesBoost: percent sign",           "[KSM]\nPagesBoost=5%\n",               2, "PagesBoost" },
        { "PagesDecay: positive",               "[KSM]\nPagesDecay=1\n",                2, "PagesDecay" },
        { "PagesDecay: below -100000",          "[KSM]\nPagesDecay=-100001\n",          2, "PagesDecay" },
        { "PagesDecay: overflow",               "[KSM]\nPagesDecay=-99999999999999999999\n", 2, "PagesDecay" },
        { "PagesDecay: not a number",           "[KSM]\nPagesDecay=down\n",             2, "PagesDecay" },
        { "SleepBaselineMsec: zero",            "[KSM]\nSleepBaselineMsec=0\n",         2, "SleepBaselineMsec" },
        { "SleepMinMsec: above 600000",         "[KSM]\nSleepMinMsec=600001\n",         2, "SleepMinMsec" },
        { "SleepMaxMsec: not a number",         "[KSM]\nSleepMaxMsec=1s\n",             2, "SleepMaxMsec" },
        { "FreePercent: above 100",             "[KSM]\nFreePercent=101\n",             2, "FreePercent" },
        { "FreePercent: above 100%",            "[KSM]\nFreePercent=101%\n",            2, "FreePercent" },
        { "FreePercent: negative",              "[KSM]\nFreePercent=-5%\n",             2, "FreePercent" },
        { "FreePercent: two percent signs",     "[KSM]\nFreePercent=20%%\n",            2, "FreePercent" },
        { "FreePercent: lone percent sign",     "[KSM]\nFreePercent=%\n",               2, "FreePercent" },
        { "FreePercent: fraction",              "[KSM]\nFreePercent=0.2\n",             2, "FreePercent" },
        { "AdvisorMaxCPU: zero",                "[KSM]\nAdvisorMaxCPU=0\n",             2, "AdvisorMaxCPU" },
        { "AdvisorMaxCPU: above 100%",          "[KSM]\nAdvisorMaxCPU=101%\n",          2, "AdvisorMaxCPU" },
        { "AdvisorTargetScanTimeSec: too long", "[KSM]\nAdvisorTargetScanTimeSec=86401\n", 2, "AdvisorTargetScanTimeSec" },
        { "AdvisorMinPagesToScan: zero",        "[KSM]\nAdvisorMinPagesToScan=0\n",     2, "AdvisorMinPagesToScan" },
        { "AdvisorMaxPagesToScan: too many",    "[KSM]\nAdvisorMaxPagesToScan=10000001\n", 2, "AdvisorMaxPagesToScan" },
        { "Policy: unknown",                    "[KSM]\nPolicy=aggressive\n",           2, "Policy" },
        { "Policy: case-sensitive",             "[KSM]\nPolicy=Always\n",               2, "Policy" },
        { "Type: unknown",                      "[Source]\nType=cluster\n",             2, "Type" },
        { "Kubeconfig: relative path",          "[Kubernetes]\nKubeconfig=kube/config\n", 2, "Kubeconfig" },
        { "KubeVirtFile: relative path",        "[Source]\nKubeVirtFile=kv.json\n",     2, "KubeVirtFile" },
        { "NodeFile: relative path",            "[Source]\nNodeFile=./node.json\n",     2, "NodeFile" },
        { "SysfsDir: relative path",            "[KSM]\nSysfsDir=sys/kernel/mm/ksm\n",  2, "SysfsDir" },
        { "MeminfoFile: relative path",         "[KSM]\nMeminfoFile=meminfo\n",         2, "MeminfoFile" },
        { "StateDirectory: relative path",      "[Daemon]\nStateDirectory=var/lib\n",   2, "StateDirectory" },
        { "NodeName: underscore and capital",   "[Kubernetes]\nNodeName=Bad_Name\n",    2, "NodeName" },
        { "NodeName: ends with a dash",         "[Kubernetes]\nNodeName=node-\n",       2, "NodeName" },
        { "KubeVirtNamespace: has a dot",       "[Kubernetes]\nKubeVirtNamespace=a.b\n", 2, "KubeVirtNamespace" },
        { "RecheckSec: zero",                   "[KSM]\nRecheckSec=0\n",                2, "RecheckSec" },
        { "RecheckSec: unknown unit",           "[KSM]\nRecheckSec=5x\n",               2, "RecheckSec" },
        { "RecheckSec: below 1s",               "[KSM]\nRecheckSec=500ms\n",            2, "RecheckSec" },
        { "RecheckSec: above 24h",              "[KSM]\nRecheckSec=25h\n",              2, "RecheckSec" },
        { "RecheckSec: overflow",               "[KSM]\nRecheckSec=99999999999999999999\n", 2, "RecheckSec" },
        { "RecheckSec: negative",               "[KSM]\nRecheckSec=-5\n",               2, "RecheckSec" },
        { "LogLevel: unknown",                  "[Daemon]\nLogLevel=loud\n",            2, "LogLevel" },
        { "LogLevel: out of range",             "[Daemon]\nLogLevel=8\n",               2, "LogLevel" },
        { "first error wins, on its own line",  "[KSM]\n\n# c\nPagesMax=2000\nPagesMin=x\nPagesInit=y\n", 5, "PagesMin" },
        { "error after an unknown key",         "[KSM]\nFoo=1\nPagesMax=abc\n",         3, "PagesMax" },
        { "error in an unknown section still counts", "[Foo]\nbroken line\n",           2, "broken line" },
};

static void test_bad(void **state) {
        const BadCase *tc = *state;
        _cleanup_config_ Config c = {};
        _cleanup_free_ char *msg = NULL;
        unsigned line = 0;
        int r;

        assert_int_equal(config_init(&c), 0);
        r = config_parse_string(&c, tc->text, "bad", NULL, NULL, &line, &msg);
        if (r != -EINVAL)
                fail_msg("%s: r=%d, expected -EINVAL", tc->name, r);
        if (line != tc->line)
                fail_msg("%s: line %u, expected %u (%s)", tc->name, line, tc->line, strna(msg));
        if (!msg || !strstr(msg, tc->needle))
                fail_msg("%s: message '%s' does not mention '%s'", tc->name, strna(msg), tc->needle);
}

/* The message format the CLI and the journal show. */
typedef struct BadMessageCase {
        const char *name;
        const char *text;
        const char *msg;
} BadMessageCase;

static const BadMessageCase bad_message_cases[] = {
        { "unsigned",
          "[KSM]\nPagesMax=abc\n",
          "Invalid PagesMax= value 'abc': expected an unsigned integer" },
        { "range",
          "[KSM]\nPagesMax=0\n",
          "Invalid PagesMax= value '0': must be between 1 and 100000" },
        { "overflow",
          "[KSM]\nPagesMax=99999999999\n",
          "Invalid PagesMax= value '99999999999': must be between 1 and 100000" },
        { "label key with a space",
          "[Source]\nEnabledLabel=ksm enabled\n",
          "Invalid EnabledLabel= value 'ksm enabled': expected a Kubernetes label or annotation key ([prefix/]name)" },
        { "annotation key with two slashes",
          "[Source]\nManagedAnnotation=a/b/c\n",
          "Invalid ManagedAnnotation= value 'a/b/c': expected a Kubernetes label or annotation key ([prefix/]name)" },
        { "sample period below a second",
          "[KSM]\nScanSampleSec=100ms\n",
          "Invalid ScanSampleSec= value '100ms': must be between 1s and 60s" },
        { "fast rate 0 pages",
          "[KSM]\nScanFastPages=0\n",
          "Invalid ScanFastPages= value '0': must be between 1 and 100000" },
        { "percent keeps the sign in the quote",
          "[KSM]\nFreePercent=120%\n",
          "Invalid FreePercent= value '120%': must be between 0 and 100" },
        { "enum",
          "[KSM]\nPolicy=fast\n",
          "Invalid Policy= value 'fast': expected one of always, pressure, advisor" },
        { "time span",
          "[KSM]\nRecheckSec=0\n",
          "Invalid RecheckSec= value '0': must be between 1s and 86400s" },
        { "long values are cut",
          "[Kubernetes]\nKubeconfig=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
          "Invalid Kubeconfig= value 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': "
          "expected an absolute path" },
        { "outside a section",
          "PagesMax=1\n",
          "Assignment PagesMax= outside of any section" },
        { "control characters in the quote are replaced",
          "[KSM]\nPolicy=\x1b[31mfast\tnow\n",
          "Invalid Policy= value '?[31mfast?now': expected one of always, pressure, advisor" },
};

static void test_bad_message(void **state) {
        const BadMessageCase *tc = *state;
        _cleanup_config_ Config c = {};
        _cleanup_free_ char *msg = NULL;
        unsigned line = 0;

        assert_int_equal(config_init(&c), 0);
        if (config_parse_string(&c, tc->text, NULL, NULL, NULL, &line, &msg) != -EINVAL)
                fail_msg("%s: parsed", tc->name);
        if (!streq_ptr(msg, tc->msg))
                fail_msg("%s: got '%s', expected '%s'", tc->name, strna(msg), tc->msg);
}

/* A bad value leaves the field as it was; the error output pointers may be NULL. */
static void test_bad_keeps_value(void **state) {
        _cleanup_config_ Config c = {};

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse_string(&c, "[KSM]\nPagesMax=2000\nPagesMax=abc\n", NULL, NULL, NULL,
                                             NULL, NULL), -EINVAL);
        assert_int_equal(c.pages_max, 2000);
}

typedef struct WarnCase {
        const char *name;
        const char *text;
        unsigned warnings;
        unsigned last_line;
        const char *last_msg;
} WarnCase;

static const WarnCase warn_cases[] = {
        { "unknown key",
          "[KSM]\nFoo=1\n", 1, 2, "Unknown key 'Foo' in section [KSM], ignoring" },
        { "unknown section warns once, its keys quietly",
          "[Foo]\nA=1\nB=2\n", 1, 1, "Unknown section [Foo], ignoring" },
        { "keys are case-sensitive",
          "[KSM]\npagesmax=5\n", 1, 2, "Unknown key 'pagesmax' in section [KSM], ignoring" },
        { "sections are case-sensitive",
          "[ksm]\nPagesMax=5\n", 1, 1, "Unknown section [ksm], ignoring" },
        { "a key of another section",
          "[Daemon]\nPagesMax=5\n", 1, 2, "Unknown key 'PagesMax' in section [Daemon], ignoring" },
        { "two unknown keys",
          "[KSM]\nFoo=1\n\nBar=2\n", 2, 4, "Unknown key 'Bar' in section [KSM], ignoring" },
        { "unknown key and section",
          "[KSM]\nFoo=1\n[Bar]\nBaz=1\n", 2, 3, "Unknown section [Bar], ignoring" },
};

static void test_warnings(void **state) {
        const WarnCase *tc = *state;
        _cleanup_config_ Config c = {};
        _cleanup_config_ Config d = {};
        Warnings w = {};
        int r;

        parse_over_defaults(tc->name, &c, tc->text, "warn.conf", &w);
        if (w.n != tc->warnings)
                fail_msg("%s: %u warnings, expected %u", tc->name, w.n, tc->warnings);
        if (w.last_line != tc->last_line)
                fail_msg("%s: last warning on line %u, expected %u", tc->name, w.last_line, tc->last_line);
        if (!streq_ptr(w.last_msg, tc->last_msg))
                fail_msg("%s: last warning '%s', expected '%s'", tc->name, strna(w.last_msg), tc->last_msg);
        if (!streq_ptr(w.last_file, "warn.conf"))
                fail_msg("%s: warning names file '%s'", tc->name, strna(w.last_file));
        warnings_done(&w);

        /* nothing was applied */
        assert_int_equal(config_init(&d), 0);
        check_config_equal(tc->name, &c, &d);

        /* without a callback: same result, no crash */
        r = config_parse_string(&c, tc->text, "warn.conf", NULL, NULL, NULL, NULL);
        if (r != 0)
                fail_msg("%s: without callback r=%d", tc->name, r);
}

static void test_known_key_after_unknown(void **state) {
        _cleanup_config_ Config c = {};
        Warnings w = {};

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse_string(&c, "[KSM]\nFoo=1\nPagesMax=2000\n[Nope]\nPagesMax=1\n"
                                             "[KSM]\nPagesMin=70\n", "x", on_warn, &w, NULL, NULL), 0);
        assert_int_equal(w.n, 2);
        assert_int_equal(c.pages_max, 2000);
        assert_int_equal(c.pages_min, 70);
        warnings_done(&w);
}

/* config_parse_string() applies on top: a second text overrides like a drop-in. */
static void test_parse_on_top(void **state) {
        _cleanup_config_ Config c = {};

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse_string(&c, "[KSM]\nPagesMax=2000\nPagesMin=100\n", NULL, NULL, NULL,
                                             NULL, NULL), 0);
        assert_int_equal(config_parse_string(&c, "[KSM]\nPagesMax=3000\n", NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(c.pages_max, 3000);
        assert_int_equal(c.pages_min, 100);
}

typedef struct VerifyCase {
        const char *name;
        const char *text;
        int r;
        const char *needle;
} VerifyCase;

static const VerifyCase verify_cases[] = {
        { "defaults", "", 0, NULL },
        { "PagesMin greater than PagesMax",
          "[KSM]\nPagesMin=2000\n", -EINVAL, "PagesMin=2000 is greater than PagesMax=1250" },
        { "PagesMin == PagesInit == PagesMax",
          "[KSM]\nPagesMin=500\nPagesMax=500\nPagesInit=500\n", 0, NULL },
        { "PagesInit below PagesMin",
          "[KSM]\nPagesMin=200\n", -EINVAL, "PagesInit" },
        { "PagesInit above PagesMax",
          "[KSM]\nPagesInit=2000\n", -EINVAL, "PagesInit" },
        { "SleepMinMsec greater than SleepMaxMsec",
          "[KSM]\nSleepMinMsec=2000\n", -EINVAL, "SleepMinMsec" },
        { "SleepMinMsec == SleepMaxMsec",
          "[KSM]\nSleepMinMsec=100\nSleepMaxMsec=100\n", 0, NULL },
        { "AdvisorMinPagesToScan greater than AdvisorMaxPagesToScan",
          "[KSM]\nAdvisorMinPagesToScan=40000\n", -EINVAL, "AdvisorMinPagesToScan" },
        { "AdvisorMinPagesToScan == AdvisorMaxPagesToScan",
          "[KSM]\nAdvisorMinPagesToScan=1000\nAdvisorMaxPagesToScan=1000\n", 0, NULL },
        { "kubernetes source",
          "[Source]\nType=kubernetes\n", 0, NULL },
};

static void test_verify(void **state) {
        const VerifyCase *tc = *state;
        _cleanup_config_ Config c = {};
        _cleanup_free_ char *msg = NULL;
        int r;

        assert_int_equal(config_init(&c), 0);
        if (config_parse_string(&c, tc->text, NULL, NULL, NULL, NULL, NULL) != 0)
                fail_msg("%s: does not parse", tc->name);

        r = config_verify(&c, &msg);
        if (r != tc->r)
                fail_msg("%s: r=%d, expected %d (%s)", tc->name, r, tc->r, strna(msg));
        if (tc->needle && (!msg || !strstr(msg, tc->needle)))
                fail_msg("%s: message '%s' does not mention '%s'", tc->name, strna(msg), tc->needle);
        if (r == 0 && msg)
                fail_msg("%s: message on success: %s", tc->name, msg);
}

static void test_verify_file_source_needs_files(void **state) {
        _cleanup_config_ Config c = {};
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(config_init(&c), 0);
        c.node_file = mfree(c.node_file);
        assert_int_equal(config_verify(&c, &msg), -EINVAL);
        assert_non_null(strstr(msg, "NodeFile"));

        c.source_type = SOURCE_KUBERNETES;
        assert_int_equal(config_verify(&c, NULL), 0);
}

static const char *const expected_keys[] = {
        "Kubernetes.Kubeconfig",
        "Kubernetes.NodeName",
        "Kubernetes.KubeVirtNamespace",
        "Kubernetes.WatchIdleTimeoutSec",
        "Source.Type",
        "Source.KubeVirtFile",
        "Source.NodeFile",
        "Source.SelectorAnnotation",
        "Source.EnabledLabel",
        "Source.ManagedAnnotation",
        "KSM.SysfsDir",
        "KSM.MeminfoFile",
        "KSM.Policy",
        "KSM.RecheckSec",
        "KSM.PagesBoost",
        "KSM.PagesDecay",
        "KSM.PagesMin",
        "KSM.PagesMax",
        "KSM.PagesInit",
        "KSM.SleepBaselineMsec",
        "KSM.SleepMinMsec",
        "KSM.SleepMaxMsec",
        "KSM.FreePercent",
        "KSM.AdvisorTargetScanTimeSec",
        "KSM.AdvisorMaxCPU",
        "KSM.AdvisorMinPagesToScan",
        "KSM.AdvisorMaxPagesToScan",
        "KSM.ScanFastPages",
        "KSM.ScanFastSleepMsec",
        "KSM.ScanIdlePages",
        "KSM.ScanIdleSleepMsec",
        "KSM.ScanSampleSec",
        "KSM.ScanIdleSampleSec",
        "KSM.ScanWakeMemoryMiB",
        "KSM.ScanQuietPassPages",
        "KSM.ScanWakeHoldoffMaxSec",
        "KSM.ConflictQuietSec",
        "Daemon.StateDirectory",
        "Daemon.LogLevel",
        "Metrics.Listen",
};

static void test_known_keys(void **state) {
        size_t n = 0;

        for (const char *const *k = config_known_keys; *k; k++)
                n++;
        assert_int_equal(n, ELEMENTSOF(expected_keys));

        for (size_t i = 0; i < ELEMENTSOF(expected_keys); i++) {
                unsigned found = 0;

                for (const char *const *k = config_known_keys; *k; k++)
                        if (streq(*k, expected_keys[i]))
                                found++;
                if (found != 1)
                        fail_msg("%s: listed %u times", expected_keys[i], found);
        }

        /* and each of them is accepted by the parser, without warning */
        for (const char *const *k = config_known_keys; *k; k++) {
                _cleanup_config_ Config c = {};
                _cleanup_free_ char *text = NULL;
                const char *dot = strchr(*k, '.');
                Warnings w = {};
                int r;

                assert_non_null(dot);
                assert_true(format_string(&text, "[%.*s]\n%s=\n", (int) (dot - *k), *k, dot + 1) >= 0);
                assert_int_equal(config_init(&c), 0);
                r = config_parse_string(&c, text, NULL, on_warn, &w, NULL, NULL);
                if (r != 0 || w.n != 0)
                        fail_msg("%s: r=%d, %u warnings", *k, r, w.n);
                warnings_done(&w);
        }
}

static void test_enum_strings(void **state) {
        static const struct {
                const char *name;
                int value;
        } policies[] = {
                { "always", POLICY_ALWAYS },
                { "pressure", POLICY_PRESSURE },
                { "advisor", POLICY_ADVISOR },
        }, sources[] = {
                { "file", SOURCE_FILE },
                { "kubernetes", SOURCE_KUBERNETES },
        };

        for (size_t i = 0; i < ELEMENTSOF(policies); i++) {
                assert_string_equal(policy_kind_to_string(policies[i].value), policies[i].name);
                assert_int_equal(policy_kind_from_string(policies[i].name), policies[i].value);
        }
        assert_int_equal(policy_kind_from_string("Always"), -EINVAL);
        assert_int_equal(policy_kind_from_string(""), -EINVAL);
        assert_int_equal(policy_kind_from_string(NULL), -EINVAL);
        assert_null(policy_kind_to_string(_POLICY_MAX));
        assert_null(policy_kind_to_string(_POLICY_INVALID));

        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                assert_string_equal(source_type_to_string(sources[i].value), sources[i].name);
                assert_int_equal(source_type_from_string(sources[i].name), sources[i].value);
        }
        assert_int_equal(source_type_from_string("k8s"), -EINVAL);
        assert_int_equal(source_type_from_string(NULL), -EINVAL);
        assert_null(source_type_to_string(_SOURCE_TYPE_MAX));
        assert_null(source_type_to_string(_SOURCE_TYPE_INVALID));
}

static void test_move(void **state) {
        _cleanup_config_ Config a = {}, b = {};
        const Config zero = {};

        assert_int_equal(config_init(&a), 0);
        assert_int_equal(config_init(&b), 0);
        assert_int_equal(config_parse_string(&a, "[Kubernetes]\nNodeName=node01\n[KSM]\nPagesMax=2000\n"
                                             "[Daemon]\nStateDirectory=/tmp/s\n", NULL, NULL, NULL, NULL, NULL), 0);

        /* b's own strings are freed (the sanitizers and valgrind tell), a's are handed over */
        config_move(&b, &a);
        assert_string_equal(b.node_name, "node01");
        assert_string_equal(b.state_dir, "/tmp/s");
        assert_string_equal(b.kubevirt_namespace, "kubevirt");
        assert_int_equal(b.pages_max, 2000);
        assert_memory_equal(&a, &zero, sizeof(Config));

        /* moving into itself changes nothing */
        config_move(&b, &b);
        assert_string_equal(b.node_name, "node01");

        /* done on a moved-from or zeroed config is fine */
        config_done(&a);
        config_done(NULL);
}

/* ---- files ---------------------------------------------------------------------------------- */

static int rm_rf(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return -errno;

        if (S_ISDIR(st.st_mode)) {
                _cleanup_(closedirp) DIR *d = opendir(path);
                struct dirent *de;

                if (!d)
                        return -errno;
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL;

                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        if (format_string(&p, "%s/%s", path, de->d_name) < 0)
                                return -ENOMEM;
                        (void) rm_rf(p);
                }
                return rmdir(path) < 0 ? -errno : 0;
        }

        return unlink(path) < 0 ? -errno : 0;
}

static void rm_rf_freep(char **p) {
        if (*p) {
                (void) rm_rf(*p);
                free(*p);
        }
}
#define _cleanup_rm_rf_ _cleanup_(rm_rf_freep)

static char *make_tmpdir(void) {
        char *t = strdup("/tmp/test-conf-XXXXXX");

        assert_non_null(t);
        assert_non_null(mkdtemp(t));
        return t;
}

/* Writes size bytes of data to dir/name (name may contain a '/', the directory must exist). */
static void write_file_full(const char *dir, const char *name, const char *data, size_t size) {
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        assert_true(format_string(&p, "%s/%s", dir, name) >= 0);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, size, f), size);
        assert_int_equal(fclose(TAKE_PTR(f)), 0);
}

static void write_file(const char *dir, const char *name, const char *data) {
        write_file_full(dir, name, data, strlen(data));
}

static void make_dir(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;

        assert_true(format_string(&p, "%s/%s", dir, name) >= 0);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void make_symlink(const char *dir, const char *name, const char *target) {
        _cleanup_free_ char *p = NULL;

        assert_true(format_string(&p, "%s/%s", dir, name) >= 0);
        assert_int_equal(symlink(target, p), 0);
}

static void test_load_dropins(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {};
        Warnings w = {};
        unsigned line = 0;

        write_file(dir, "kubevirt-ksmd.conf",
                   "[KSM]\nPagesMax=1500\nPagesInit=200\nSleepMaxMsec=900\n");
        make_dir(dir, "kubevirt-ksmd.conf.d");
        /* written in the wrong order, so readdir() order cannot pass for sorting */
        write_file(dir, "kubevirt-ksmd.conf.d/20-b.conf", "[KSM]\nPagesMax=3000\n");
        write_file(dir, "kubevirt-ksmd.conf.d/10-a.conf", "[KSM]\nPagesMax=2000\nPagesMin=100\n\nFoo=1\n");
        write_file(dir, "kubevirt-ksmd.conf.d/README", "These files are not INI at all.\n");
        write_file(dir, "kubevirt-ksmd.conf.d/30-c.conf.disabled", "[KSM]\nPagesMax=1\n");
        write_file(dir, "kubevirt-ksmd.conf.d/.hidden.conf", "not ini\n");
        make_dir(dir, "kubevirt-ksmd.conf.d/40-dir.conf");
        make_symlink(dir, "kubevirt-ksmd.conf.d/15-masked.conf", "/dev/null");      /* systemd's masking */
        make_symlink(dir, "kubevirt-ksmd.conf.d/16-dangling.conf", "/nonexistent/x.conf");
        make_symlink(dir, "kubevirt-ksmd.conf.d/17-link.conf", "../extra.ini");
        write_file(dir, "extra.ini", "[KSM]\nSleepMinMsec=7\n");

        assert_true(format_string(&path, "%s/kubevirt-ksmd.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, false, on_warn, &w, &file, &line, &msg), 0);
        assert_null(file);
        assert_null(msg);

        assert_int_equal(c.pages_max, 3000);            /* 20-b over 10-a over the main file */
        assert_int_equal(c.pages_min, 100);             /* 10-a */
        assert_int_equal(c.pages_init, 200);            /* main file */
        assert_int_equal(c.sleep_max_ms, 900);          /* main file */
        assert_int_equal(c.sleep_min_ms, 7);            /* through the 17-link.conf symlink */

        /* the warning names the drop-in and its line */
        assert_int_equal(w.n, 1);
        assert_int_equal(w.last_line, 5);
        assert_true(endswith(w.last_file, "/kubevirt-ksmd.conf.d/10-a.conf"));
        warnings_done(&w);
}

/* Appends the base name of each warning's file, so a test sees the order files were read in. */
static void on_warn_log_file(const char *file, unsigned line, const char *msg, void *userdata) {
        char *log = userdata;
        const char *base = strrchr(file, '/');

        strcat(log, base ? base + 1 : file);
        strcat(log, " ");
}

/* strcmp() order, whatever the locale and whatever order readdir() returns. */
static void test_load_dropins_lexical(void **state) {
        static const char *const created[] = {
                "a.conf", "9-z.conf", "_x.conf", "B.conf", "10-a.conf", "Z.conf", "10-a-b.conf",
        };
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL;
        _cleanup_config_ Config c = {};
        char log[256] = "";

        make_dir(dir, "k.conf.d");
        for (size_t i = 0; i < ELEMENTSOF(created); i++) {
                _cleanup_free_ char *name = NULL;

                assert_true(format_string(&name, "k.conf.d/%s", created[i]) >= 0);
                write_file(dir, name, "[KSM]\nUnknownKeyToLogTheOrder=1\n");
        }

        assert_true(format_string(&path, "%s/k.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, true, on_warn_log_file, log, NULL, NULL, NULL), 0);
        assert_string_equal(log, "10-a-b.conf 10-a.conf 9-z.conf B.conf Z.conf _x.conf a.conf ");
}

static void test_load_dropin_error(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {};
        unsigned line = 0;

        write_file(dir, "kubevirt-ksmd.conf", "[KSM]\nPagesMax=1500\n");
        make_dir(dir, "kubevirt-ksmd.conf.d");
        write_file(dir, "kubevirt-ksmd.conf.d/10-a.conf", "[KSM]\nPagesMax=2000\n");
        write_file(dir, "kubevirt-ksmd.conf.d/20-b.conf", "# broken\n[KSM]\nPagesMin=abc\n");
        write_file(dir, "kubevirt-ksmd.conf.d/30-c.conf", "[KSM]\nPagesMax=3000\n");

        assert_true(format_string(&path, "%s/kubevirt-ksmd.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, false, NULL, NULL, &file, &line, &msg), -EINVAL);
        assert_true(endswith(file, "/kubevirt-ksmd.conf.d/20-b.conf"));
        assert_int_equal(line, 3);
        assert_non_null(strstr(msg, "PagesMin"));
}

static void test_load_main_error(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {};
        unsigned line = 0;

        write_file(dir, "kubevirt-ksmd.conf", "[KSM]\nPagesMax=1500\n[Source\n");
        assert_true(format_string(&path, "%s/kubevirt-ksmd.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, true, NULL, NULL, &file, &line, &msg), -EINVAL);
        assert_string_equal(file, path);
        assert_int_equal(line, 3);
        assert_non_null(strstr(msg, "[Source"));
}

static void test_load_missing(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {}, d = {};
        unsigned line = 0;

        assert_true(format_string(&path, "%s/nope.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_init(&d), 0);

        /* allowed: the defaults stay */
        assert_int_equal(config_load(&c, path, true, NULL, NULL, &file, &line, &msg), 0);
        assert_null(file);
        check_config_equal("missing, allowed", &c, &d);

        /* not allowed: -ENOENT naming the file */
        assert_int_equal(config_load(&c, path, false, NULL, NULL, &file, &line, &msg), -ENOENT);
        assert_string_equal(file, path);
        assert_int_equal(line, 0);
        assert_null(msg);
}

/* systemd reads drop-ins even when the main file is absent. */
static void test_load_missing_main_with_dropins(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL;
        _cleanup_config_ Config c = {};

        make_dir(dir, "nope.conf.d");
        write_file(dir, "nope.conf.d/50-policy.conf", "[KSM]\nPolicy=advisor\n");
        assert_true(format_string(&path, "%s/nope.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, true, NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(c.policy, POLICY_ADVISOR);
}

/* A megabyte-long comment and a megabyte-long value: no line length limit. */
static void test_load_long_lines(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *big = NULL;
        _cleanup_config_ Config c = {};
        const size_t long_line = 1024 * 1024;
        size_t n = 0;

        big = malloc(2 * long_line + 64);
        assert_non_null(big);
        big[n++] = '#';
        memset(big + n, 'c', long_line);
        n += long_line;
        n += (size_t) sprintf(big + n, "\n[Kubernetes]\nKubeconfig=/");
        memset(big + n, 'k', long_line);
        n += long_line;
        n += (size_t) sprintf(big + n, "\n[KSM]\nPagesMax=2000\n");
        write_file_full(dir, "big.conf", big, n);

        assert_true(format_string(&path, "%s/big.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, false, NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(strlen(c.kubeconfig), long_line + 1);
        assert_int_equal(c.pages_max, 2000);
}

/* A NUL byte is an error on its line, not the silent end of the file. */
static void test_load_nul_byte(void **state) {
        static const char text[] = "[KSM]\nPagesMax=2000\0\nPagesMin=1\n";
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {};
        unsigned line = 0;

        write_file_full(dir, "nul.conf", text, sizeof(text) - 1);
        assert_true(format_string(&path, "%s/nul.conf", dir) >= 0);
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, false, NULL, NULL, &file, &line, &msg), -EINVAL);
        assert_string_equal(file, path);
        assert_int_equal(line, 2);
        assert_non_null(strstr(msg, "NUL"));
}

/* I/O errors name the file, with line 0 and no message. */
static void test_load_wrong_file_types(void **state) {
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *dropin_dir = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {};
        unsigned line = 1;

        assert_int_equal(config_init(&c), 0);

        /* a directory where the file should be */
        assert_int_equal(config_load(&c, dir, false, NULL, NULL, &file, &line, &msg), -EISDIR);
        assert_string_equal(file, dir);
        assert_int_equal(line, 0);
        assert_null(msg);
        file = mfree(file);

        /* a file where the drop-in directory should be */
        write_file(dir, "plain.conf", "[KSM]\n");
        write_file(dir, "plain.conf.d", "");
        assert_true(format_string(&path, "%s/plain.conf", dir) >= 0);
        assert_true(format_string(&dropin_dir, "%s/plain.conf.d", dir) >= 0);
        line = 1;
        assert_int_equal(config_load(&c, path, false, NULL, NULL, &file, &line, &msg), -ENOTDIR);
        assert_string_equal(file, dropin_dir);
        assert_int_equal(line, 0);
        assert_null(msg);
}

/* Larger than any config file (say, --config=/dev/zero): refused, not read without end. */
static void test_load_too_big(void **state) {
        const size_t size = 5 * 1024 * 1024;
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = NULL, *file = NULL, *msg = NULL, *big = NULL;
        _cleanup_config_ Config c = {};
        unsigned line = 0;

        big = malloc(size);
        assert_non_null(big);
        memset(big, '#', size);
        write_file_full(dir, "huge.conf", big, size);
        assert_true(format_string(&path, "%s/huge.conf", dir) >= 0);

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, path, false, NULL, NULL, &file, &line, &msg), -EFBIG);
        assert_string_equal(file, path);
}

/* --- files refused as a whole: FIFOs, and files that someone other than root could change --- */

typedef enum FileKind {
        FILE_REGULAR,
        FILE_FIFO,
} FileKind;

typedef struct FileCase {
        const char *name;
        bool dropin;            /* the file under test is a drop-in (the main file is fine) */
        FileKind kind;
        mode_t mode;
        uid_t uid;              /* 0: leave the owner; else chown (root only) */
        int r;                  /* config_load()'s return */
        const char *msg;        /* a part of the message, NULL: no message */
} FileCase;

static const FileCase file_cases[] = {
        { "main 0644: read", false, FILE_REGULAR, 0644, 0, 0, NULL },
        { "main 0600: read", false, FILE_REGULAR, 0600, 0, 0, NULL },
        { "main 0664: group-writable, refused", false, FILE_REGULAR, 0664, 0, -EPERM, "writable by its group (mode 0664)" },
        { "main 0646: world-writable, refused", false, FILE_REGULAR, 0646, 0, -EPERM, "writable by everyone (mode 0646)" },
        { "main 0666: world-writable, refused", false, FILE_REGULAR, 0666, 0, -EPERM, "writable by everyone" },
        { "main owned by uid 1234: refused", false, FILE_REGULAR, 0644, 1234, -EPERM, "owned by uid 1234" },
        { "main a FIFO: refused, not waited on", false, FILE_FIFO, 0600, 0, -EBADFD, "not a regular file" },
        { "drop-in 0644: read", true, FILE_REGULAR, 0644, 0, 0, NULL },
        { "drop-in 0660: group-writable, refused", true, FILE_REGULAR, 0660, 0, -EPERM, "writable by its group" },
        { "drop-in 0602: world-writable, refused", true, FILE_REGULAR, 0602, 0, -EPERM, "writable by everyone" },
        { "drop-in owned by uid 1234: refused", true, FILE_REGULAR, 0644, 1234, -EPERM, "owned by uid 1234" },
        { "drop-in a FIFO: not a drop-in, skipped", true, FILE_FIFO, 0600, 0, 0, NULL },
};

static void test_load_file_kind(void **state) {
        const FileCase *c = *state;
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *main_path = NULL, *path = NULL, *file = NULL, *msg = NULL;
        _cleanup_config_ Config cfg = {};
        unsigned line = 99;
        int r;

        if (c->uid != 0 && geteuid() != 0)
                skip();

        assert_true(format_string(&main_path, "%s/k.conf", dir) >= 0);
        if (c->dropin) {
                write_file(dir, "k.conf", "[KSM]\nPagesMax=1500\n");
                assert_int_equal(chmod(main_path, 0644), 0);
                make_dir(dir, "k.conf.d");
                assert_true(format_string(&path, "%s/k.conf.d/10-x.conf", dir) >= 0);
        } else
                path = strdup(main_path);
        assert_non_null(path);

        if (c->kind == FILE_FIFO)
                assert_int_equal(mkfifo(path, c->mode), 0);
        else {
                _cleanup_fclose_ FILE *f = fopen(path, "we");

                assert_non_null(f);
                assert_true(fputs("[KSM]\nPagesMax=2000\n", f) >= 0);
        }
        assert_int_equal(chmod(path, c->mode), 0);
        if (c->uid != 0)
                assert_int_equal(chown(path, c->uid, c->uid), 0);

        assert_int_equal(config_init(&cfg), 0);
        r = config_load(&cfg, main_path, false, NULL, NULL, &file, &line, &msg);
        if (r != c->r)
                fail_msg("%s: config_load = %d, want %d (%s)", c->name, r, c->r, strna(msg));
        if (c->r == 0) {
                if (c->kind == FILE_REGULAR)
                        assert_int_equal(cfg.pages_max, 2000);
                return;
        }
        assert_string_equal(file, path);
        assert_int_equal(line, 0);
        if (!msg || !strstr(msg, c->msg))
                fail_msg("%s: message \"%s\", want \"%s\" in it", c->name, strna(msg), c->msg);
}

/* --- config_check_paths(): what start refuses, --check-config refuses, with FILE:LINE --- */

typedef struct PathCase {
        const char *name;
        const char *node_file;          /* "@" is replaced by the test directory */
        int r;
        const char *where;              /* "FILE:LINE" given, NULL: none */
        const char *msg;
} PathCase;

static const PathCase path_cases[] = {
        { "node file in an existing directory, not there yet: fine", "@/node.json", 0, NULL, NULL },
        { "node file that exists: fine", "@/exists.json", 0, NULL, NULL },
        { "a directory path (trailing slash)", "@/x/", -EINVAL, "paths.conf:4", "names a directory" },
        { "an existing directory", "@/sub", -EINVAL, "paths.conf:4", "is a directory" },
        { "parent directory missing", "@/missing/node.json", -EINVAL, "paths.conf:4", "No such file or directory" },
        { "parent is a file", "@/exists.json/node.json", -EINVAL, "paths.conf:4", "is not a directory" },
        { "a FIFO", "@/fifo", -EINVAL, "paths.conf:4", "not a regular file" },
};

static void test_check_paths(void **state) {
        const PathCase *c = *state;
        _cleanup_rm_rf_ char *dir = make_tmpdir();
        _cleanup_free_ char *node = NULL, *text = NULL, *msg = NULL, *fifo = NULL;
        _cleanup_config_ Config cfg = {};
        const char *at = strchr(c->node_file, '@'), *where = (const char *) 1;
        unsigned line = 0;
        int r;

        assert_true(format_string(&node, "%.*s%s%s", (int) (at - c->node_file), c->node_file, dir, at + 1) >= 0);
        write_file(dir, "exists.json", "{}");
        make_dir(dir, "sub");
        assert_true(format_string(&fifo, "%s/fifo", dir) >= 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);

        assert_true(format_string(&text, "[Source]\nType=file\nKubeVirtFile=%s/kubevirt.json\nNodeFile=%s\n", dir, node) >= 0);
        assert_int_equal(config_init(&cfg), 0);
        assert_int_equal(config_parse_string(&cfg, text, "paths.conf", NULL, NULL, &line, &msg), 0);

        r = config_check_paths(&cfg, &where, &msg);
        if (r != c->r)
                fail_msg("%s: config_check_paths = %d, want %d (%s)", c->name, r, c->r, strna(msg));
        if (c->r == 0) {
                assert_null(where);
                return;
        }
        assert_string_equal(where, c->where);
        if (!msg || !strstr(msg, c->msg) || !strstr(msg, "NodeFile="))
                fail_msg("%s: message \"%s\", want \"%s\" in it", c->name, strna(msg), c->msg);
}

/* Type=kubernetes has no file paths to check; a default path has no FILE:LINE. */
static void test_check_paths_defaults(void **state) {
        _cleanup_config_ Config cfg = {};
        _cleanup_free_ char *msg = NULL;
        const char *where = (const char *) 1;

        assert_int_equal(config_init(&cfg), 0);
        free(cfg.node_file);
        cfg.node_file = strdup("/nonexistent-dir-for-test/node.json");
        assert_non_null(cfg.node_file);
        assert_int_equal(config_check_paths(&cfg, &where, &msg), -EINVAL);
        assert_null(where);
        msg = mfree(msg);

        cfg.source_type = SOURCE_KUBERNETES;
        assert_int_equal(config_check_paths(&cfg, &where, &msg), 0);
        assert_null(msg);
}

/* The shipped example documents every key, commented out, with its built-in default. */
static char *example_path(void) {
        const char *top = getenv("top_srcdir");
        const char *self = __FILE__;
        char *p = NULL;

        if (top)
                assert_true(format_string(&p, "%s/src/kubevirt-ksmd.conf.example", top) >= 0);
        else {
                size_t n = strlen(self);

                assert_true(endswith(self, "tests/test-conf.c"));
                assert_true(format_string(&p, "%.*ssrc/kubevirt-ksmd.conf.example",
                                            (int) (n - strlen("tests/test-conf.c")), self) >= 0);
        }
        return p;
}

static void test_example_file(void **state) {
        _cleanup_free_ char *path = example_path(), *text = NULL, *uncommented = NULL, *section = NULL;
        _cleanup_free_ char *file = NULL, *msg = NULL;
        _cleanup_config_ Config c = {}, d = {};
        _cleanup_fclose_ FILE *f = NULL;
        unsigned seen[ELEMENTSOF(expected_keys)] = {};
        size_t size = 0, used = 0;
        Warnings w = {};
        unsigned line = 0;
        char *l, *nl;

        if (access(path, R_OK) < 0) {
                print_message("# %s not found, skipping\n", path);
                skip();
        }

        /* as shipped: nothing set, no warning */
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_init(&d), 0);
        if (config_load(&c, path, false, on_warn, &w, &file, &line, &msg) != 0)
                fail_msg("%s:%u: %s", strna(file), line, strna(msg));
        assert_int_equal(w.n, 0);
        check_config_equal("example as shipped", &c, &d);

        /* uncommented: every #Key=default sets the default */
        f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        size = (size_t) ftell(f);
        rewind(f);
        text = calloc(1, size + 1);
        uncommented = calloc(1, 2 * size + 1);
        assert_non_null(text);
        assert_non_null(uncommented);
        assert_int_equal(fread(text, 1, size, f), size);

        for (l = text; l; l = nl) {
                const char *key, *value;
                char *eq;
                size_t k;
                bool is_key = true;

                nl = strchr(l, '\n');
                if (nl)
                        *nl++ = 0;

                if (l[0] == '[') {
                        free(section);
                        section = strndup(l + 1, strlen(l) - 2);
                        used += (size_t) sprintf(uncommented + used, "%s\n", l);
                        continue;
                }

                eq = strchr(l, '=');
                if (l[0] != '#' || !eq || eq == l + 1)
                        continue;
                for (const char *q = l + 1; q < eq; q++)
                        if (!((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9')))
                                is_key = false;
                if (!is_key)
                        continue;

                /* "#Key=value" */
                *eq = 0;
                key = l + 1;
                value = eq + 1;
                assert_non_null(section);
                for (k = 0; k < ELEMENTSOF(expected_keys); k++) {
                        const char *dot = strchr(expected_keys[k], '.');

                        if (strncmp(expected_keys[k], section, (size_t) (dot - expected_keys[k])) == 0 &&
                            strlen(section) == (size_t) (dot - expected_keys[k]) && streq(dot + 1, key))
                                break;
                }
                if (k >= ELEMENTSOF(expected_keys))
                        fail_msg("example: [%s] %s= is not a known key", section, key);
                seen[k]++;

                /* the example is installed as is, so it spells the default sysconfdir */
                if (strncmp(value, "/etc/", 5) == 0)
                        used += (size_t) sprintf(uncommented + used, "%s=%s%s\n", key, SYSCONFDIR, value + 4);
                else
                        used += (size_t) sprintf(uncommented + used, "%s=%s\n", key, value);
        }

        for (size_t k = 0; k < ELEMENTSOF(expected_keys); k++)
                if (seen[k] != 1)
                        fail_msg("example: %s documented %u times", expected_keys[k], seen[k]);

        if (config_parse_string(&c, uncommented, "example", on_warn, &w, &line, &msg) != 0)
                fail_msg("example uncommented: line %u: %s", line, strna(msg));
        assert_int_equal(w.n, 0);
        check_config_equal("example uncommented", &c, &d);
        warnings_done(&w);
}

int main(void) {
        struct CMUnitTest tests[ELEMENTSOF(good_cases) + ELEMENTSOF(bad_cases) + ELEMENTSOF(bad_message_cases) +
                                ELEMENTSOF(warn_cases) + ELEMENTSOF(verify_cases) +
                                ELEMENTSOF(file_cases) + ELEMENTSOF(path_cases) + 21];
        size_t n = 0;

        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_defaults);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_every_key);
        TEST_ADD_TABLE(tests, n, good_cases, test_good);
        TEST_ADD_TABLE(tests, n, bad_cases, test_bad);
        TEST_ADD_TABLE(tests, n, bad_message_cases, test_bad_message);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_bad_keeps_value);
        TEST_ADD_TABLE(tests, n, warn_cases, test_warnings);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_known_key_after_unknown);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_parse_on_top);
        TEST_ADD_TABLE(tests, n, verify_cases, test_verify);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_verify_file_source_needs_files);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_known_keys);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_enum_strings);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_move);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_dropins);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_dropins_lexical);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_dropin_error);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_main_error);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_missing);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_missing_main_with_dropins);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_long_lines);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_nul_byte);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_wrong_file_types);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_load_too_big);
        TEST_ADD_TABLE(tests, n, file_cases, test_load_file_kind);
        TEST_ADD_TABLE(tests, n, path_cases, test_check_paths);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_check_paths_defaults);
        tests[n++] = (struct CMUnitTest) cmocka_unit_test(test_example_file);

        return test_run_group("conf", tests, n);
}
