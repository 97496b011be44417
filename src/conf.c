/* conf.c — the daemon's configuration: built-in defaults, a table-driven INI parser, drop-ins. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "metrics.h"
#include "selector.h"
#include "util.h"

/* A config file is a few kilobytes; the cap only keeps a mistyped --config=/dev/zero from eating
 * memory. There is no limit on the length of a line below it. */
#define CONFIG_FILE_SIZE_MAX (4U * 1024U * 1024U)

/* Values quoted in error messages are cut to this many bytes, so a hostile line does not produce
 * a megabyte of journal. */
#define CONFIG_QUOTE_MAX 64

/* Sane upper bounds. The kernel takes any unsigned int for pages_to_scan and sleep_millisecs,
 * but a value beyond these is a typo, not a tuning: 100000 pages per batch is about 400 MiB per
 * wake-up, and 10 minutes of sleep means KSM effectively never runs. */
#define PAGES_MAX               UINT32_C(100000)
#define SLEEP_MSEC_MAX          UINT32_C(600000)
#define ADVISOR_SCAN_SEC_MAX    UINT32_C(86400)         /* one day */
#define ADVISOR_PAGES_MAX       UINT32_C(10000000)
#define RECHECK_USEC_MIN        USEC_PER_SEC
#define RECHECK_USEC_MAX        (24 * 3600 * USEC_PER_SEC)
#define SAMPLE_USEC_MIN         USEC_PER_SEC
#define SAMPLE_USEC_MAX         (60 * USEC_PER_SEC)
#define WAKE_MEMORY_MIB_MAX     UINT32_C(1048576)       /* 1 TiB */

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

typedef struct ConfigItem ConfigItem;

/* Parses value (stripped; "" means "reset to the default", the systemd convention) into field.
 * default_field points at the same field of the built-in defaults. 0, -EINVAL with *reterr_msg,
 * or -ENOMEM. */
typedef int (*ConfigParseFn)(const ConfigItem *item, const char *value, void *field,
                             const void *default_field, char **reterr_msg);

struct ConfigItem {
        const char *section;
        const char *key;
        ConfigParseFn parse;
        size_t offset;          /* offsetof(Config, field) */
        int64_t min, max;       /* inclusive bounds, for the numeric parsers */
};

static int parse_path(const ConfigItem *item, const char *value, void *field,
                      const void *default_field, char **reterr_msg);
static int parse_node_name(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_namespace(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_source_type(const ConfigItem *item, const char *value, void *field,
                             const void *default_field, char **reterr_msg);
static int parse_label_key(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_policy(const ConfigItem *item, const char *value, void *field,
                        const void *default_field, char **reterr_msg);
static int parse_sec_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_u32_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_percent(const ConfigItem *item, const char *value, void *field,
                         const void *default_field, char **reterr_msg);
static int parse_i32_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_log_level(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg);
static int parse_listen(const ConfigItem *item, const char *value, void *field,
                        const void *default_field, char **reterr_msg);

/* The one table: X(section, key, parser, Config field, min, max). It is expanded twice below, into
 * the parser's lookup table and into config_known_keys[], so the two cannot disagree. */
#define CONFIG_ITEMS(X)                                                                                 \
        X("Kubernetes", "Kubeconfig",               parse_path,        kubeconfig,                   0, 0) \
        X("Kubernetes", "NodeName",                 parse_node_name,   node_name,                    0, 0) \
        X("Kubernetes", "KubeVirtNamespace",        parse_namespace,   kubevirt_namespace,           0, 0) \
        X("Kubernetes", "WatchIdleTimeoutSec",      parse_sec_range,   watch_idle_timeout_usec,      RECHECK_USEC_MIN, RECHECK_USEC_MAX) \
        X("Source",     "Type",                     parse_source_type, source_type,                  0, 0) \
        X("Source",     "KubeVirtFile",             parse_path,        kubevirt_file,                0, 0) \
        X("Source",     "NodeFile",                 parse_path,        node_file,                    0, 0) \
        X("Source",     "SelectorAnnotation",       parse_label_key,   selector_annotation,          0, 0) \
        X("Source",     "EnabledLabel",             parse_label_key,   enabled_label,                0, 0) \
        X("Source",     "ManagedAnnotation",        parse_label_key,   managed_annotation,           0, 0) \
        X("KSM",        "SysfsDir",                 parse_path,        sysfs_dir,                    0, 0) \
        X("KSM",        "MeminfoFile",              parse_path,        meminfo_file,                 0, 0) \
        X("KSM",        "Policy",                   parse_policy,      policy,                       0, 0) \
        X("KSM",        "RecheckSec",               parse_sec_range,   recheck_usec,                 RECHECK_USEC_MIN, RECHECK_USEC_MAX) \
        X("KSM",        "PagesBoost",               parse_u32_range,   pages_boost,                  1, PAGES_MAX) \
        X("KSM",        "PagesDecay",               parse_i32_range,   pages_decay,                  -(int64_t) PAGES_MAX, 0) \
        X("KSM",        "PagesMin",                 parse_u32_range,   pages_min,                    1, PAGES_MAX) \
        X("KSM",        "PagesMax",                 parse_u32_range,   pages_max,                    1, PAGES_MAX) \
        X("KSM",        "PagesInit",                parse_u32_range,   pages_init,                   1, PAGES_MAX) \
        X("KSM",        "SleepBaselineMsec",        parse_u32_range,   sleep_baseline_ms,            1, SLEEP_MSEC_MAX) \
        X("KSM",        "SleepMinMsec",             parse_u32_range,   sleep_min_ms,                 1, SLEEP_MSEC_MAX) \
        X("KSM",        "SleepMaxMsec",             parse_u32_range,   sleep_max_ms,                 1, SLEEP_MSEC_MAX) \
        X("KSM",        "FreePercent",              parse_percent,     free_percent,                 0, 100) \
        X("KSM",        "AdvisorTargetScanTimeSec", parse_u32_range,   advisor_target_scan_time_sec, 1, ADVISOR_SCAN_SEC_MAX) \
        X("KSM",        "AdvisorMaxCPU",            parse_percent,     advisor_max_cpu,              1, 100) \
        X("KSM",        "AdvisorMinPagesToScan",    parse_u32_range,   advisor_min_pages,            1, ADVISOR_PAGES_MAX) \
        X("KSM",        "AdvisorMaxPagesToScan",    parse_u32_range,   advisor_max_pages,            1, ADVISOR_PAGES_MAX) \
        X("KSM",        "ScanFastPages",            parse_u32_range,   scan_fast_pages,              1, PAGES_MAX) \
        X("KSM",        "ScanFastSleepMsec",        parse_u32_range,   scan_fast_sleep_ms,           1, SLEEP_MSEC_MAX) \
        X("KSM",        "ScanIdlePages",            parse_u32_range,   scan_idle_pages,              1, PAGES_MAX) \
        X("KSM",        "ScanIdleSleepMsec",        parse_u32_range,   scan_idle_sleep_ms,           1, SLEEP_MSEC_MAX) \
        X("KSM",        "ScanSampleSec",            parse_sec_range,   scan_sample_usec,             SAMPLE_USEC_MIN, SAMPLE_USEC_MAX) \
        X("KSM",        "ScanIdleSampleSec",        parse_sec_range,   scan_idle_sample_usec,        SAMPLE_USEC_MIN, SAMPLE_USEC_MAX) \
        X("KSM",        "ScanWakeMemoryMiB",        parse_u32_range,   scan_wake_memory_mib,         0, WAKE_MEMORY_MIB_MAX) \
        X("KSM",        "ScanQuietPassPages",       parse_u32_range,   scan_quiet_pass_pages,        1, ADVISOR_PAGES_MAX) \
        X("KSM",        "ScanWakeHoldoffMaxSec",    parse_sec_range,   scan_holdoff_max_usec,        RECHECK_USEC_MIN, RECHECK_USEC_MAX) \
        X("KSM",        "ConflictQuietSec",         parse_sec_range,   conflict_quiet_usec,          RECHECK_USEC_MIN, RECHECK_USEC_MAX) \
        X("Daemon",     "StateDirectory",           parse_path,        state_dir,                    0, 0) \
        X("Daemon",     "LogLevel",                 parse_log_level,   log_level,                    0, 0) \
        X("Metrics",    "Listen",                   parse_listen,      metrics_listen,               0, 0)

#define CONFIG_ITEM(section, key, parse, field, min, max) \
        { section, key, parse, offsetof(Config, field), min, max },
static const ConfigItem config_items[] = {
        CONFIG_ITEMS(CONFIG_ITEM)
};

#define CONFIG_KNOWN_KEY(section, key, ...) section "." key,
const char *const config_known_keys[] = {
        CONFIG_ITEMS(CONFIG_KNOWN_KEY)
        NULL
};

static const char *const config_sections[] = { "Kubernetes", "Source", "KSM", "Daemon", "Metrics" };

/* Every char * field of Config, so that init, done and move treat them alike. */
static const size_t config_string_fields[] = {
        offsetof(Config, kubeconfig),
        offsetof(Config, node_name),
        offsetof(Config, kubevirt_namespace),
        offsetof(Config, kubevirt_file),
        offsetof(Config, node_file),
        offsetof(Config, selector_annotation),
        offsetof(Config, enabled_label),
        offsetof(Config, managed_annotation),
        offsetof(Config, sysfs_dir),
        offsetof(Config, meminfo_file),
        offsetof(Config, state_dir),
        offsetof(Config, metrics_listen),
        offsetof(Config, kubevirt_file_origin),
        offsetof(Config, node_file_origin),
};

/* The keys whose "FILE:LINE" is kept for config_check_paths()'s messages. */
static const struct {
        size_t field, origin;
} config_origins[] = {
        { offsetof(Config, kubevirt_file), offsetof(Config, kubevirt_file_origin) },
        { offsetof(Config, node_file), offsetof(Config, node_file_origin) },
};

/* The built-in defaults. The strings are literals here; config_init() duplicates them. */
static const Config config_defaults = {
        .kubevirt_namespace = (char *) CONF_DEFAULT_KUBEVIRT_NAMESPACE,
        .watch_idle_timeout_usec = CONF_DEFAULT_WATCH_IDLE_TIMEOUT_USEC,

        .source_type = SOURCE_FILE,     /* runs with no cluster at all */
        .kubevirt_file = (char *) CONF_DEFAULT_KUBEVIRT_FILE,
        .node_file = (char *) CONF_DEFAULT_NODE_FILE,
        .enabled_label = (char *) CONF_DEFAULT_ENABLED_LABEL,
        .managed_annotation = (char *) CONF_DEFAULT_MANAGED_ANNOTATION,

        .sysfs_dir = (char *) CONF_DEFAULT_SYSFS_DIR,
        .meminfo_file = (char *) CONF_DEFAULT_MEMINFO_FILE,
        .policy = POLICY_ALWAYS,
        .recheck_usec = CONF_DEFAULT_RECHECK_USEC,
        .pages_boost = CONF_DEFAULT_PAGES_BOOST,
        .pages_decay = CONF_DEFAULT_PAGES_DECAY,
        .pages_min = CONF_DEFAULT_PAGES_MIN,
        .pages_max = CONF_DEFAULT_PAGES_MAX,
        .pages_init = CONF_DEFAULT_PAGES_INIT,
        .sleep_baseline_ms = CONF_DEFAULT_SLEEP_BASELINE_MS,
        .sleep_min_ms = CONF_DEFAULT_SLEEP_MIN_MS,
        .sleep_max_ms = CONF_DEFAULT_SLEEP_MAX_MS,
        .free_percent = CONF_DEFAULT_FREE_PERCENT,
        .advisor_target_scan_time_sec = CONF_DEFAULT_ADVISOR_TARGET_SEC,
        .advisor_max_cpu = CONF_DEFAULT_ADVISOR_MAX_CPU,
        .advisor_min_pages = CONF_DEFAULT_ADVISOR_MIN_PAGES,
        .advisor_max_pages = CONF_DEFAULT_ADVISOR_MAX_PAGES,
        .scan_fast_pages = CONF_DEFAULT_SCAN_FAST_PAGES,
        .scan_fast_sleep_ms = CONF_DEFAULT_SCAN_FAST_SLEEP_MS,
        .scan_idle_pages = CONF_DEFAULT_SCAN_IDLE_PAGES,
        .scan_idle_sleep_ms = CONF_DEFAULT_SCAN_IDLE_SLEEP_MS,
        .scan_sample_usec = CONF_DEFAULT_SCAN_SAMPLE_USEC,
        .scan_idle_sample_usec = CONF_DEFAULT_SCAN_IDLE_SAMPLE_USEC,
        .scan_wake_memory_mib = CONF_DEFAULT_SCAN_WAKE_MEMORY_MIB,
        .scan_quiet_pass_pages = CONF_DEFAULT_SCAN_QUIET_PASS_PAGES,
        .scan_holdoff_max_usec = CONF_DEFAULT_SCAN_HOLDOFF_MAX_USEC,
        .conflict_quiet_usec = CONF_DEFAULT_CONFLICT_QUIET_USEC,

        .state_dir = NULL,              /* $STATE_DIRECTORY, else CONF_DEFAULT_STATE_DIR */
        .log_level = -1,
};

static const char *const policy_kind_table[_POLICY_MAX] = {
        [POLICY_ALWAYS] = "always",
        [POLICY_PRESSURE] = "pressure",
        [POLICY_ADVISOR] = "advisor",
};

static const char *const source_type_table[_SOURCE_TYPE_MAX] = {
        [SOURCE_FILE] = "file",
        [SOURCE_KUBERNETES] = "kubernetes",
};

/* Case-sensitive, like every other value of the file. */
DEFINE_STRING_TABLE(policy_kind, PolicyKind, _POLICY_MAX);
DEFINE_STRING_TABLE(source_type, SourceType, _SOURCE_TYPE_MAX);

static char **config_string_field(Config *c, size_t offset) {
        return (char **) ((uint8_t *) c + offset);
}

int config_init(Config *c) {
        assert(c);

        *c = config_defaults;
        for (size_t i = 0; i < ELEMENTSOF(config_string_fields); i++) {
                char **p = config_string_field(c, config_string_fields[i]);

                if (!*p)
                        continue;
                *p = strdup(*p);
                if (!*p) {
                        /* The fields after this one still point at the literals: forget them. */
                        for (size_t j = i + 1; j < ELEMENTSOF(config_string_fields); j++)
                                *config_string_field(c, config_string_fields[j]) = NULL;
                        config_done(c);
                        return -ENOMEM;
                }
        }
        return 0;
}

void config_done(Config *c) {
        if (!c)
                return;

        for (size_t i = 0; i < ELEMENTSOF(config_string_fields); i++)
                free(*config_string_field(c, config_string_fields[i]));
        *c = (Config) {};
}

void config_move(Config *dst, Config *src) {
        assert(dst);
        assert(src);

        if (dst == src)
                return;

        config_done(dst);
        *dst = *src;
        *src = (Config) {};
}

/* Sets *reterr_msg to the message for a bad line (control characters replaced, since it may quote
 * the file) and returns -EINVAL, or -ENOMEM when it cannot be built. */
#define bad_line(reterr_msg, ...) set_reterr((reterr_msg), -EINVAL, __VA_ARGS__)

/* "Invalid KEY= value 'VALUE': WHY", the value cut to CONFIG_QUOTE_MAX bytes. Returns -EINVAL, or
 * -ENOMEM when the message cannot be built. */
_printf_(4, 5)
static int invalid_value(char **reterr_msg, const ConfigItem *item, const char *value, const char *why_fmt, ...) {
        _cleanup_free_ char *why = NULL;
        size_t n = strlen(value);
        va_list ap;

        va_start(ap, why_fmt);
        why = strdup_vprintf(why_fmt, ap);
        va_end(ap);
        if (!why)
                return -ENOMEM;

        return bad_line(reterr_msg, "Invalid %s= value '%.*s%s': %s",
                        item->key, (int) MIN(n, (size_t) CONFIG_QUOTE_MAX), value,
                        n > CONFIG_QUOTE_MAX ? "..." : "", why);
}

static int reset_string(char **field, const void *default_field) {
        return free_and_strdup(field, *(char *const *) default_field);
}

static int parse_path(const ConfigItem *item, const char *value, void *field,
                      const void *default_field, char **reterr_msg) {
        if (*value == 0)
                return reset_string(field, default_field);

        /* Relative paths would depend on the daemon's working directory, which is "/" under
         * systemd and something else under a test: refuse them, as systemd does for its paths. */
        if (value[0] != '/')
                return invalid_value(reterr_msg, item, value, "expected an absolute path");

        return free_and_strdup(field, value);
}

static int parse_node_name(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        if (*value == 0)
                return reset_string(field, default_field);

        if (!node_name_is_valid(value))
                return invalid_value(reterr_msg, item, value,
                                     "expected a Kubernetes node name (lowercase DNS-1123 subdomain)");

        return free_and_strdup(field, value);
}

static int parse_namespace(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        if (*value == 0)
                return reset_string(field, default_field);

        /* Namespaces are DNS-1123 labels: a subdomain without dots, at most 63 characters. */
        if (!node_name_is_valid(value) || strchr(value, '.') || strlen(value) > 63)
                return invalid_value(reterr_msg, item, value,
                                     "expected a Kubernetes namespace (lowercase DNS-1123 label)");

        return free_and_strdup(field, value);
}

/* A label or annotation key as Kubernetes takes it: [prefix/]name. */
static int parse_label_key(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        if (*value == 0)
                return reset_string(field, default_field);

        if (!label_key_is_valid(value))
                return invalid_value(reterr_msg, item, value,
                                     "expected a Kubernetes label or annotation key ([prefix/]name)");

        return free_and_strdup(field, value);
}

static int parse_source_type(const ConfigItem *item, const char *value, void *field,
                             const void *default_field, char **reterr_msg) {
        SourceType t;

        if (*value == 0) {
                *(SourceType *) field = *(const SourceType *) default_field;
                return 0;
        }

        t = source_type_from_string(value);
        if (t < 0)
                return invalid_value(reterr_msg, item, value, "expected one of %s, %s",
                                     source_type_table[SOURCE_FILE], source_type_table[SOURCE_KUBERNETES]);

        *(SourceType *) field = t;
        return 0;
}

static int parse_policy(const ConfigItem *item, const char *value, void *field,
                        const void *default_field, char **reterr_msg) {
        PolicyKind p;

        if (*value == 0) {
                *(PolicyKind *) field = *(const PolicyKind *) default_field;
                return 0;
        }

        p = policy_kind_from_string(value);
        if (p < 0)
                return invalid_value(reterr_msg, item, value, "expected one of %s, %s, %s",
                                     policy_kind_table[POLICY_ALWAYS], policy_kind_table[POLICY_PRESSURE],
                                     policy_kind_table[POLICY_ADVISOR]);

        *(PolicyKind *) field = p;
        return 0;
}

static int parse_sec_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        uint64_t usec;
        int r;

        if (*value == 0) {
                *(uint64_t *) field = *(const uint64_t *) default_field;
                return 0;
        }

        r = parse_sec(value, &usec);
        if (r < 0 && r != -ERANGE)
                return invalid_value(reterr_msg, item, value,
                                     "expected a time span such as 30, 30s, 2min or 1h");
        if (r == -ERANGE || usec < (uint64_t) item->min || usec > (uint64_t) item->max)
                return invalid_value(reterr_msg, item, value, "must be between %" PRIu64 "s and %" PRIu64 "s",
                                     (uint64_t) item->min / USEC_PER_SEC, (uint64_t) item->max / USEC_PER_SEC);

        *(uint64_t *) field = usec;
        return 0;
}

/* The common part of parse_u32_range() and parse_percent(): s is the number proper, value what
 * the file said, what the expected form for the message. */
static int parse_u32_bounded(const ConfigItem *item, const char *value, const char *s, const char *what,
                             void *field, char **reterr_msg) {
        uint32_t v;
        int r;

        r = safe_atou32(s, &v);
        if (r == -ERANGE || (r >= 0 && (v < item->min || v > item->max)))
                return invalid_value(reterr_msg, item, value, "must be between %" PRIi64 " and %" PRIi64,
                                     item->min, item->max);
        if (r < 0)
                return invalid_value(reterr_msg, item, value, "expected %s", what);

        *(uint32_t *) field = v;
        return 0;
}

static int parse_u32_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        if (*value == 0) {
                *(uint32_t *) field = *(const uint32_t *) default_field;
                return 0;
        }

        return parse_u32_bounded(item, value, value, "an unsigned integer", field, reterr_msg);
}

static int parse_percent(const ConfigItem *item, const char *value, void *field,
                         const void *default_field, char **reterr_msg) {
        _cleanup_free_ char *number = NULL;
        size_t n;

        if (*value == 0) {
                *(uint32_t *) field = *(const uint32_t *) default_field;
                return 0;
        }

        /* "20" and "20%" mean the same (safe_atou32() also takes the space of "20 %"). */
        n = strlen(value);
        number = strndup(value, value[n - 1] == '%' ? n - 1 : n);
        if (!number)
                return -ENOMEM;

        return parse_u32_bounded(item, value, number, "a percentage such as 20 or 20%", field, reterr_msg);
}

static int parse_i32_range(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        int64_t v;
        int r;

        if (*value == 0) {
                *(int32_t *) field = *(const int32_t *) default_field;
                return 0;
        }

        r = safe_atoi64(value, &v);
        if (r == -ERANGE || (r >= 0 && (v < item->min || v > item->max)))
                return invalid_value(reterr_msg, item, value, "must be between %" PRIi64 " and %" PRIi64,
                                     item->min, item->max);
        if (r < 0)
                return invalid_value(reterr_msg, item, value, "expected an integer");

        *(int32_t *) field = (int32_t) v;
        return 0;
}

static int parse_log_level(const ConfigItem *item, const char *value, void *field,
                           const void *default_field, char **reterr_msg) {
        int level;

        if (*value == 0) {
                *(int *) field = *(const int *) default_field;
                return 0;
        }

        level = log_level_from_string(value);
        if (level < 0)
                return invalid_value(reterr_msg, item, value,
                                     "expected a syslog level (emerg, alert, crit, err, warning, notice, info, debug) or 0-7");

        *(int *) field = level;
        return 0;
}

/* [Metrics] Listen=: a numeric address and port; "" switches the listener off. */
static int parse_listen(const ConfigItem *item, const char *value, void *field,
                        const void *default_field, char **reterr_msg) {
        const char *why = NULL;

        if (*value == 0)
                return reset_string(field, default_field);

        if (metrics_parse_listen(value, NULL, NULL, &why) < 0)
                return invalid_value(reterr_msg, item, value, "%s", why);

        return free_and_strdup(field, value);
}

static const ConfigItem *config_item_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(config_items); i++)
                if (streq(config_items[i].section, section) && streq(config_items[i].key, key))
                        return config_items + i;
        return NULL;
}

static bool config_section_known(const char *section) {
        for (size_t i = 0; i < ELEMENTSOF(config_sections); i++)
                if (streq(config_sections[i], section))
                        return true;
        return false;
}

_printf_(5, 6)
static int config_warn(ConfigWarnFn warn, void *userdata, const char *fname, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (!warn)
                return 0;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return -ENOMEM;

        warn(fname, line, msg, userdata);
        return 0;
}

/* Handles one stripped, non-empty, non-comment line. *section is the current section (NULL
 * before the first header); *section_known says whether its keys are looked up. */
static int config_parse_line(Config *c, char *l, const char *fname, unsigned line,
                             char **section, bool *section_known,
                             ConfigWarnFn warn, void *userdata, char **reterr_msg) {
        const ConfigItem *item;
        char *eq, *key, *value;
        size_t n = strlen(l);
        int r;

        if (l[0] == '[') {
                if (n < 2 || l[n - 1] != ']')
                        return bad_line(reterr_msg, "Invalid section header '%.*s%s': expected [Section]",
                                        (int) MIN(n, (size_t) CONFIG_QUOTE_MAX), l,
                                        n > CONFIG_QUOTE_MAX ? "..." : "");

                l[n - 1] = 0;
                l++;
                if (*l == 0 || strpbrk(l, "[]"))
                        return bad_line(reterr_msg, "Invalid section name '%.*s'", CONFIG_QUOTE_MAX, l);

                r = free_and_strdup(section, l);
                if (r < 0)
                        return r;

                *section_known = config_section_known(l);
                /* As in systemd, sections starting with "X-" are for extensions and ignored quietly. */
                if (!*section_known && strncmp(l, "X-", 2) != 0)
                        return config_warn(warn, userdata, fname, line, "Unknown section [%s], ignoring", l);
                return 0;
        }

        eq = strchr(l, '=');
        if (!eq)
                return bad_line(reterr_msg, "Missing '=' in line '%.*s%s': expected [Section], Key=Value or a comment",
                                (int) MIN(n, (size_t) CONFIG_QUOTE_MAX), l, n > CONFIG_QUOTE_MAX ? "..." : "");

        *eq = 0;
        key = strstrip(l);
        value = strstrip(eq + 1);

        if (*key == 0)
                return bad_line(reterr_msg, "Missing key name before '='");

        if (!*section)
                return bad_line(reterr_msg, "Assignment %.*s= outside of any section", CONFIG_QUOTE_MAX, key);

        if (!*section_known)
                return 0;       /* warned once, at its header */

        item = config_item_find(*section, key);
        if (!item) {
                if (strncmp(key, "X-", 2) == 0)
                        return 0;
                return config_warn(warn, userdata, fname, line, "Unknown key '%s' in section [%s], ignoring",
                                   key, *section);
        }

        r = item->parse(item, value, (uint8_t *) c + item->offset,
                        (const uint8_t *) &config_defaults + item->offset, reterr_msg);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(config_origins); i++)
                if (config_origins[i].field == item->offset) {
                        char **o = config_string_field(c, config_origins[i].origin);

                        free(*o);
                        *o = *value ? strdup_printf("%s:%u", strna(fname), line) : NULL;
                        if (*value && !*o)
                                return -ENOMEM;
                }
        return 0;
}

int config_parse_string(Config *c, const char *text, const char *fname,
                        ConfigWarnFn warn, void *userdata,
                        unsigned *reterr_line, char **reterr_msg) {
        _cleanup_free_ char *copy = NULL, *section = NULL, *msg = NULL;
        bool section_known = false;
        unsigned line = 0;
        char *p;
        int r;

        assert(c);
        assert(text);

        copy = strdup(text);
        if (!copy)
                return -ENOMEM;

        p = copy;
        /* A UTF-8 byte order mark, as some editors write it; systemd skips it too. */
        if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;

        while (p) {
                char *nl, *l;

                line++;
                nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;

                l = strstrip(p);        /* also drops the \r of CRLF files */
                p = nl ? nl + 1 : NULL;

                if (*l == 0 || *l == '#' || *l == ';')
                        continue;

                r = config_parse_line(c, l, fname, line, &section, &section_known, warn, userdata, &msg);
                if (r == -EINVAL) {
                        if (reterr_line)
                                *reterr_line = line;
                        if (reterr_msg)
                                *reterr_msg = TAKE_PTR(msg);
                        return r;
                }
                if (r < 0)
                        return r;
        }

        return 0;
}

/* A configuration file says where the daemon, running as root, reads and writes: one that
 * someone else could change is refused (like sshd's StrictModes). 0 or -EPERM with *reterr_msg. */
static int config_check_owner(const struct stat *st, char **reterr_msg) {
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return set_reterr(reterr_msg, -EPERM,
                                  "is writable by %s (mode %04o); refusing it: make it writable by its owner only",
                                  (st->st_mode & S_IWOTH) ? "everyone" : "its group",
                                  (unsigned) (st->st_mode & 07777));
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return set_reterr(reterr_msg, -EPERM,
                                  "is owned by uid %u, neither root nor this daemon's user; refusing it",
                                  (unsigned) st->st_uid);
        return 0;
}

static int config_load_file(Config *c, const char *path, bool allow_missing,
                            ConfigWarnFn warn, void *userdata,
                            char **reterr_file, unsigned *reterr_line, char **reterr_msg) {
        _cleanup_free_ char *text = NULL, *msg = NULL;
        _cleanup_close_ int fd = -EBADF;
        unsigned line = 0;
        const char *nul;
        struct stat st;
        size_t size = 0;
        int r;

        fd = open_regular_file(path, &st);
        if (fd == -ENOENT && allow_missing)
                return 0;
        r = fd < 0 ? fd : 0;
        if (r == -EBADFD)
                r = set_reterr(&msg, r, "is not a regular file (a FIFO, socket or device is never read)");
        if (r >= 0)
                r = config_check_owner(&st, &msg);
        if (r >= 0)
                r = read_full_fd(fd, CONFIG_FILE_SIZE_MAX, &text, &size);
        if (r >= 0) {
                /* The parser works on C strings: a NUL byte would silently hide the rest of the file. */
                nul = memchr(text, 0, size);
                if (nul) {
                        line = 1;
                        for (const char *q = text; q < nul; q++)
                                if (*q == '\n')
                                        line++;
                        r = bad_line(&msg, "Unexpected NUL byte");
                } else
                        r = config_parse_string(c, text, path, warn, userdata, &line, &msg);
        }
        if (r >= 0 || r == -ENOMEM)
                return r;

        /* Name the file; a bad line also gets its number and message, a file refused as a whole
         * (-EBADFD, -EPERM) a message and line 0, another I/O error neither. */
        if (reterr_file) {
                *reterr_file = strdup(path);
                if (!*reterr_file)
                        return -ENOMEM;
        }
        if (reterr_line)
                *reterr_line = line;
        if (reterr_msg)
                *reterr_msg = TAKE_PTR(msg);
        return r;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Lists the drop-ins of dir: "*.conf" names, not hidden, regular files (a symlink to /dev/null
 * masks one, as in systemd), sorted with strcmp() so the order does not depend on the locale.
 * A missing directory gives an empty list. */
static int config_list_dropins(const char *dir, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d && errno != ENOENT)
                return -errno;

        for (errno = 0; d && (de = readdir(d)); errno = 0) {
                _cleanup_free_ char *path = NULL;
                size_t len = strlen(de->d_name);
                struct stat st;

                if (de->d_name[0] == '.' || len <= strlen(".conf") ||
                    !streq(de->d_name + len - strlen(".conf"), ".conf"))
                        continue;

                path = strdup_printf("%s/%s", dir, de->d_name);
                if (!path)
                        return -ENOMEM;
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;

                if (n + 2 > allocated) {
                        size_t a = allocated ? allocated * 2 : 8;
                        char **t = realloc(l, a * sizeof(char *));

                        if (!t)
                                return -ENOMEM;
                        l = t;
                        allocated = a;
                }
                l[n++] = TAKE_PTR(path);
                l[n] = NULL;
        }
        if (d && errno != 0)
                return -errno;

        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        qsort(l, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(l);
        return 0;
}

int config_load(Config *c, const char *path, bool allow_missing,
                ConfigWarnFn warn, void *userdata,
                char **reterr_file, unsigned *reterr_line, char **reterr_msg) {
        _cleanup_strv_free_ char **dropins = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(c);
        assert(path);

        r = config_load_file(c, path, allow_missing, warn, userdata, reterr_file, reterr_line, reterr_msg);
        if (r < 0)
                return r;

        dir = strdup_printf("%s.d", path);
        if (!dir)
                return -ENOMEM;

        r = config_list_dropins(dir, &dropins);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (reterr_line)
                        *reterr_line = 0;
                if (reterr_msg)
                        *reterr_msg = NULL;
                if (reterr_file)
                        *reterr_file = TAKE_PTR(dir);
                return r;
        }

        for (char **i = dropins; *i; i++) {
                /* A drop-in that vanished between the listing and now is simply gone. */
                r = config_load_file(c, *i, true, warn, userdata, reterr_file, reterr_line, reterr_msg);
                if (r < 0)
                        return r;
        }

        return 0;
}

int config_verify(const Config *c, char **reterr_msg) {
        _cleanup_free_ char *msg = NULL;
        int r;

        assert(c);

        if (c->pages_min > c->pages_max)
                r = bad_line(&msg, "PagesMin=%" PRIu32 " is greater than PagesMax=%" PRIu32,
                             c->pages_min, c->pages_max);
        else if (c->pages_init < c->pages_min || c->pages_init > c->pages_max)
                r = bad_line(&msg, "PagesInit=%" PRIu32 " is outside PagesMin=%" PRIu32 "..PagesMax=%" PRIu32,
                             c->pages_init, c->pages_min, c->pages_max);
        else if (c->sleep_min_ms > c->sleep_max_ms)
                r = bad_line(&msg, "SleepMinMsec=%" PRIu32 " is greater than SleepMaxMsec=%" PRIu32,
                             c->sleep_min_ms, c->sleep_max_ms);
        else if (c->advisor_min_pages > c->advisor_max_pages)
                r = bad_line(&msg, "AdvisorMinPagesToScan=%" PRIu32 " is greater than AdvisorMaxPagesToScan=%" PRIu32,
                             c->advisor_min_pages, c->advisor_max_pages);
        else if (c->source_type == SOURCE_FILE && (!c->kubevirt_file || !c->node_file))
                r = bad_line(&msg, "[Source] Type=file needs KubeVirtFile= and NodeFile=");
        else
                return 0;

        if (r == -EINVAL && reterr_msg)
                *reterr_msg = TAKE_PTR(msg);
        return r;
}

/* One path of the file source, as the source will use it: a file in an existing directory (the
 * directory is watched), not a directory, and a regular file when it exists. */
static int check_source_path(const char *key, const char *path, char **reterr_msg) {
        _cleanup_free_ char *dir = NULL;
        const char *slash;
        struct stat st;

        slash = strrchr(path, '/');
        if (!slash || slash[1] == 0)
                return set_reterr(reterr_msg, -EINVAL, "%s=%s names a directory, expected a file", key, path);
        dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        if (stat(dir, &st) < 0) {
                /* The unit creates its ConfigurationDirectory= before the daemon starts. */
                if (errno == ENOENT && streq(dir, CONF_SOURCE_DIR))
                        return 0;
                return set_reterr(reterr_msg, -EINVAL, "%s=%s: directory %s: %s", key, path, dir, strerror(errno));
        }
        if (!S_ISDIR(st.st_mode))
                return set_reterr(reterr_msg, -EINVAL, "%s=%s: %s is not a directory", key, path, dir);
        if (stat(path, &st) < 0)
                return 0;       /* may appear later: the source waits for it */
        if (S_ISDIR(st.st_mode))
                return set_reterr(reterr_msg, -EINVAL, "%s=%s is a directory, expected a file", key, path);
        if (!S_ISREG(st.st_mode))
                return set_reterr(reterr_msg, -EINVAL, "%s=%s is not a regular file (a FIFO, socket or device "
                                  "is never read)", key, path);
        return 0;
}

int config_check_paths(const Config *c, const char **ret_where, char **reterr_msg) {
        int r;

        assert(c);

        if (ret_where)
                *ret_where = NULL;
        if (c->source_type != SOURCE_FILE)
                return 0;

        r = check_source_path("KubeVirtFile", c->kubevirt_file, reterr_msg);
        if (r == -EINVAL && ret_where)
                *ret_where = c->kubevirt_file_origin;
        if (r < 0)
                return r;

        r = check_source_path("NodeFile", c->node_file, reterr_msg);
        if (r == -EINVAL && ret_where)
                *ret_where = c->node_file_origin;
        return r;
}
