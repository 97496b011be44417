/* conf.h — the daemon's configuration: defaults, systemd-style INI parsing with drop-ins. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum PolicyKind {
        POLICY_ALWAYS,          /* selected means running; scan rate adapts to pressure */
        POLICY_PRESSURE,        /* upstream virt-handler: run only under memory pressure */
        POLICY_ADVISOR,         /* the kernel's scan-time advisor, else like ALWAYS */
        _POLICY_MAX,
        _POLICY_INVALID = -EINVAL,
} PolicyKind;

typedef enum SourceType {
        SOURCE_FILE,            /* local KubeVirt CR and Node JSON files */
        SOURCE_KUBERNETES,      /* the API server */
        _SOURCE_TYPE_MAX,
        _SOURCE_TYPE_INVALID = -EINVAL,
} SourceType;

/* Built-in defaults. Upstream values are those of KubeVirt's virt-handler
 * (pkg/virt-handler/ksm/ksm.go) unless noted. */
#define CONF_DEFAULT_CONFIG_FILE        SYSCONFDIR "/kubevirt-ksmd.conf"
#define CONF_DEFAULT_SYSFS_DIR          "/sys/kernel/mm/ksm"
#define CONF_DEFAULT_MEMINFO_FILE       "/proc/meminfo"
#define CONF_DEFAULT_STATE_DIR          LOCALSTATEDIR "/lib/kubevirt-ksmd"
/* The unit's ConfigurationDirectory=: systemd creates it before the daemon starts. */
#define CONF_SOURCE_DIR                 SYSCONFDIR "/kubevirt-ksmd"
#define CONF_DEFAULT_KUBEVIRT_FILE      SYSCONFDIR "/kubevirt-ksmd/kubevirt.json"
#define CONF_DEFAULT_NODE_FILE          SYSCONFDIR "/kubevirt-ksmd/node.json"
#define CONF_DEFAULT_RECHECK_USEC       (30 * UINT64_C(1000000))
#define CONF_DEFAULT_PAGES_BOOST        300     /* upstream */
#define CONF_DEFAULT_PAGES_DECAY        (-50)   /* upstream */
#define CONF_DEFAULT_PAGES_MIN          64      /* upstream */
#define CONF_DEFAULT_PAGES_MAX          1250    /* upstream */
#define CONF_DEFAULT_PAGES_INIT         100     /* upstream; also the kernel's default */
#define CONF_DEFAULT_SLEEP_BASELINE_MS  100     /* upstream: per 16 GiB */
#define CONF_DEFAULT_SLEEP_MIN_MS       10      /* ksmtuned/MOM floor */
#define CONF_DEFAULT_SLEEP_MAX_MS       1000
#define CONF_DEFAULT_FREE_PERCENT       20      /* upstream: 0.2 */
#define CONF_DEFAULT_ADVISOR_TARGET_SEC 200     /* kernel default advisor_target_scan_time */
#define CONF_DEFAULT_ADVISOR_MAX_CPU    70      /* kernel default advisor_max_cpu, percent */
#define CONF_DEFAULT_ADVISOR_MIN_PAGES  500     /* kernel default */
#define CONF_DEFAULT_ADVISOR_MAX_PAGES  30000   /* kernel default */
/* Policy=always, the adaptive scan controller (src/scan-control.c). Measured on a 2-vCPU VM,
 * kernel 6.18: 5000 pages / 10 ms merged 90 % of 1.5 GiB in 5 s with ksmd at ~55 % of a core
 * while merging; 100 pages / 200 ms over converged memory costs well below 1 % of a core. */
#define CONF_DEFAULT_SCAN_FAST_PAGES            10000
#define CONF_DEFAULT_SCAN_FAST_SLEEP_MS         10
#define CONF_DEFAULT_SCAN_IDLE_PAGES            100
#define CONF_DEFAULT_SCAN_IDLE_SLEEP_MS         200
#define CONF_DEFAULT_SCAN_SAMPLE_USEC           (1 * UINT64_C(1000000))
#define CONF_DEFAULT_SCAN_IDLE_SAMPLE_USEC      (2 * UINT64_C(1000000))
#define CONF_DEFAULT_SCAN_WAKE_MEMORY_MIB       64      /* a small VM; normal host churn is a few MiB */
#define CONF_DEFAULT_SCAN_QUIET_PASS_PAGES      256
#define CONF_DEFAULT_SCAN_HOLDOFF_MAX_USEC      (300 * UINT64_C(1000000))
/* How long another writer of what the daemon owns must stay quiet before the daemon steers again;
 * longer than virt-handler's KSM loop period (10 min; 3 min in older releases). */
#define CONF_DEFAULT_CONFLICT_QUIET_USEC        (30 * 60 * UINT64_C(1000000))
#define CONF_DEFAULT_ENABLED_LABEL              "kubevirt.io/ksm-enabled"
#define CONF_DEFAULT_MANAGED_ANNOTATION         "kubevirt.io/ksm-handler-managed"
#define CONF_DEFAULT_KUBEVIRT_NAMESPACE "kubevirt"
/* API servers send a bookmark about once a minute on watches that ask for them. */
#define CONF_DEFAULT_WATCH_IDLE_TIMEOUT_USEC (120 * UINT64_C(1000000))

typedef struct Config {
        /* [Kubernetes] */
        char *kubeconfig;               /* NULL: in-cluster service account */
        char *node_name;                /* NULL: $NODE_NAME, else the host name */
        char *kubevirt_namespace;       /* informational; CRs are watched in all namespaces */
        uint64_t watch_idle_timeout_usec; /* a watch silent this long (no event, no bookmark) is renewed */

        /* [Source] */
        SourceType source_type;
        char *kubevirt_file;
        char *node_file;
        char *selector_annotation;      /* NULL: the CR's ksmConfiguration.nodeLabelSelector */
        char *enabled_label;            /* the label the daemon writes (kubevirt.io/ksm-enabled) */
        char *managed_annotation;       /* the annotation it writes (kubevirt.io/ksm-handler-managed) */
        char *kubevirt_file_origin;     /* "FILE:LINE" that set KubeVirtFile=, NULL: the default */
        char *node_file_origin;         /* "FILE:LINE" that set NodeFile=, NULL: the default */

        /* [KSM] */
        char *sysfs_dir;
        char *meminfo_file;
        PolicyKind policy;
        uint64_t recheck_usec;
        uint32_t pages_boost;
        int32_t pages_decay;            /* negative */
        uint32_t pages_min;
        uint32_t pages_max;
        uint32_t pages_init;
        uint32_t sleep_baseline_ms;
        uint32_t sleep_min_ms;
        uint32_t sleep_max_ms;
        uint32_t free_percent;          /* 0..100 */
        uint32_t advisor_target_scan_time_sec;
        uint32_t advisor_max_cpu;       /* percent */
        uint32_t advisor_min_pages;
        uint32_t advisor_max_pages;
        uint32_t scan_fast_pages;
        uint32_t scan_fast_sleep_ms;
        uint32_t scan_idle_pages;
        uint32_t scan_idle_sleep_ms;
        uint64_t scan_sample_usec;
        uint64_t scan_idle_sample_usec;
        uint32_t scan_wake_memory_mib;
        uint32_t scan_quiet_pass_pages;
        uint64_t scan_holdoff_max_usec;
        uint64_t conflict_quiet_usec;   /* another writer quiet this long: the daemon steers again */

        /* [Daemon] */
        char *state_dir;                /* NULL: $STATE_DIRECTORY, else CONF_DEFAULT_STATE_DIR */
        int log_level;                  /* syslog priority; -1: default (LOG_INFO) */

        /* [Metrics] */
        char *metrics_listen;           /* "ADDRESS:PORT" of the scrape listener; NULL: none */
} Config;

/* Fills c with the built-in defaults (every string NULL except the ones with a default). 0 or -ENOMEM. */
int config_init(Config *c);

/* Frees every string; c can be reused with config_init(). */
void config_done(Config *c);

/* Moves src into dst (dst freed first); src is left empty. */
void config_move(Config *dst, Config *src);

/* Callback for unknown keys and other warnings that do not fail parsing. */
typedef void (*ConfigWarnFn)(const char *file, unsigned line, const char *msg, void *userdata);

/* Parses INI text into c (on top of what is already there). fname is used in messages only.
 *   0:        parsed; warnings (unknown section or key) were passed to warn, which may be NULL.
 *   -EINVAL:  the first bad line; *reterr_line and *reterr_msg (malloc'd) say which and why.
 *   -ENOMEM.
 * Pure: no I/O. */
int config_parse_string(Config *c, const char *text, const char *fname,
                        ConfigWarnFn warn, void *userdata,
                        unsigned *reterr_line, char **reterr_msg);

/* Parses path, then path.d/ *.conf in lexical order (systemd drop-in style). A missing main file
 * is fine when allow_missing is true. Errors as config_parse_string(), with *reterr_file
 * (malloc'd) naming the file; a file refused as a whole is -EBADFD (not a regular file: FIFO,
 * socket, device) or -EPERM (writable by group or others, or owned by a user neither root nor the
 * caller), with *reterr_line 0 and *reterr_msg saying why; other I/O errors (-EISDIR, -EFBIG...)
 * are returned as -errno with *reterr_file set and no message. Files are opened O_NONBLOCK. */
int config_load(Config *c, const char *path, bool allow_missing,
                ConfigWarnFn warn, void *userdata,
                char **reterr_file, unsigned *reterr_line, char **reterr_msg);

/* What start would refuse about the file source's paths, checked on the file system: a path that
 * names a directory, a missing parent directory, something that is not a regular file. 0, or
 * -EINVAL with *reterr_msg and *ret_where ("FILE:LINE" that set the key, NULL for a default; points
 * into c), or -ENOMEM. */
int config_check_paths(const Config *c, const char **ret_where, char **reterr_msg);

/* Cross-key checks after loading (e.g. PagesMin <= PagesMax). 0 or -EINVAL with *reterr_msg. */
int config_verify(const Config *c, char **reterr_msg);

const char *policy_kind_to_string(PolicyKind p);
PolicyKind policy_kind_from_string(const char *s);
const char *source_type_to_string(SourceType t);
SourceType source_type_from_string(const char *s);

/* The table of every "Section.Key" this parser knows, NULL-terminated (docs cross-check). */
extern const char *const config_known_keys[];
