/* ksmd.c — main(): arguments, --check-config, --version, then the Manager's lifecycle. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "conf.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "util.h"

static const char *arg_config = CONF_DEFAULT_CONFIG_FILE;
static bool arg_check_config = false;
static int arg_log_level = -1;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Manages Kernel Samepage Merging on a KubeVirt node: reads the KubeVirt CR's\n"
               "ksmConfiguration and this node's labels, switches KSM on or off, tunes its scan\n"
               "rate, restores only what it changed, and labels the Node.\n\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "  -c --config=PATH       Configuration file (default: %s);\n"
               "                         drop-ins are read from PATH.d/*.conf\n"
               "     --check-config      Parse the configuration, check what start checks (file\n"
               "                         owners and modes, the file source's paths), report the\n"
               "                         first error as FILE:LINE: reason, and exit 0 (valid)\n"
               "                         or 78 (invalid)\n"
               "     --log-level=LEVEL   emerg, alert, crit, err, warning, notice, info, debug\n"
               "                         or 0-7 (default: info); wins over LogLevel=\n"
               "     --list-config-keys  List every Section.Key the configuration accepts\n\n"
               "The daemon exports org.kubevirt.KSM1 on the system bus; see kubevirt-ksmctl(1).\n",
               program_invocation_short_name, CONF_DEFAULT_CONFIG_FILE);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_LOG_LEVEL,
                ARG_LIST_CONFIG_KEYS,
        };
        static const struct option options[] = {
                { "help",         no_argument,       NULL, 'h'              },
                { "version",      no_argument,       NULL, ARG_VERSION      },
                { "config",       required_argument, NULL, 'c'              },
                { "check-config", no_argument,       NULL, ARG_CHECK_CONFIG },
                { "log-level",    required_argument, NULL, ARG_LOG_LEVEL    },
                { "list-config-keys", no_argument,   NULL, ARG_LIST_CONFIG_KEYS },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_LIST_CONFIG_KEYS:
                        for (const char *const *k = config_known_keys; *k; k++)
                                printf("%s\n", *k);
                        return 0;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                fprintf(stderr, "Invalid log level '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc) {
                fprintf(stderr, "%s takes no positional arguments.\n", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

static void on_config_warning(const char *file, unsigned line, const char *msg, void *userdata) {
        log_warning("%s:%u: %s", file, line, msg);
}

/* Loads and verifies the configuration. 0, or EX_CONFIG after printing "FILE:LINE: reason" (plain,
 * on stderr, so that editors and scripts can jump to it). */
static int load_config(Config *c) {
        _cleanup_free_ char *file = NULL, *msg = NULL;
        const char *where = NULL;
        unsigned line = 0;
        int r;

        r = config_init(c);
        if (r < 0)
                return log_oom();

        /* The default path may be missing (built-in defaults); a path given explicitly may not. */
        r = config_load(c, arg_config, streq(arg_config, CONF_DEFAULT_CONFIG_FILE),
                        on_config_warning, NULL, &file, &line, &msg);
        if (r == -EINVAL && line > 0) {
                fprintf(stderr, "%s:%u: %s\n", strna(file), line, strna(msg));
                return EX_CONFIG;
        }
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", file ?: arg_config, msg ?: strerror(-r));
                return EX_CONFIG;
        }

        r = config_verify(c, &msg);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", arg_config, strna(msg));
                return EX_CONFIG;
        }

        /* What start would refuse, --check-config refuses too. */
        r = config_check_paths(c, &where, &msg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", where ?: arg_config, strna(msg));
                return EX_CONFIG;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config c = {};
        sigset_t ss;
        int r;

        log_setup(LOG_TARGET_AUTO);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;
        if (arg_log_level >= 0)
                log_set_max_level(arg_log_level);

        r = load_config(&c);
        if (r != 0) {
                config_done(&c);
                return r;
        }

        if (arg_check_config) {
                /* The kubeconfig too: unreadable, unusable or writable by others is an error. */
                if (c.source_type == SOURCE_KUBERNETES && c.kubeconfig) {
                        _cleanup_free_ char *reason = NULL;
                        KubeCredentials creds = {};

                        r = kubeconfig_load(c.kubeconfig, NULL, &creds, &reason);
                        kube_credentials_done(&creds);
                        if (r < 0) {
                                fprintf(stderr, "%s: %s\n", c.kubeconfig, reason ?: strerror(-r));
                                config_done(&c);
                                return EX_CONFIG;
                        }
                }
                printf("%s: configuration is valid (source %s, policy %s).\n", arg_config,
                       source_type_to_string(c.source_type), policy_kind_to_string(c.policy));
                config_done(&c);
                return EXIT_SUCCESS;
        }

        /* Signals are handled by the event loop; SIGCHLD for the unmerge child. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);

        r = manager_new(&c, arg_config, &m);
        config_done(&c);
        if (r < 0)
                return EXIT_FAILURE;
        m->log_level_override = arg_log_level;
        if (arg_log_level >= 0)
                log_set_max_level(arg_log_level);

        r = manager_start(m);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : r;
}
