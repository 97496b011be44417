/* ksmctl.c — kubevirt-ksmctl: options, the verb table and the bus connection; the verbs live in ksmctl-*.c. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksm-bus.h"
#include "ksmctl.h"
#include "macro.h"

typedef enum VerbFlags {
        VERB_DEFAULT = 1 << 0,          /* run when no verb is given */
        VERB_NO_BUS = 1 << 1,           /* needs no connection */
} VerbFlags;

#define VERB_ANY UINT_MAX

/* systemd's verb table: name, the number of arguments after the verb (min, max), flags, function. */
typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        VerbFlags flags;
        int (*run)(sd_bus *bus, char **args, const CtlArgs *a);
} Verb;

static int verb_help(sd_bus *bus, char **args, const CtlArgs *a);

static const Verb verbs[] = {
        { "status",    0, 0,        VERB_DEFAULT, verb_status    },
        { "show",      0, VERB_ANY, 0,            verb_show      },
        { "stats",     0, 0,        0,            verb_stats     },
        { "reconcile", 0, 0,        0,            verb_reconcile },
        { "unmerge",   0, 0,        0,            verb_unmerge   },
        { "monitor",   0, VERB_ANY, 0,            verb_monitor   },
        { "help",      0, 0,        VERB_NO_BUS,  verb_help      },
};

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Query and control kubevirt-ksmd over D-Bus (%s).\n\n"
               "Commands:\n"
               "  status                 Show the daemon's view of KSM on this node (default)\n"
               "  show [NAME...]         Show properties as NAME=VALUE lines\n"
               "  stats                  Show every numeric KSM counter of the kernel\n"
               "  reconcile              Reconcile now (root only)\n"
               "  unmerge                Unmerge all KSM pages, showing progress, then return\n"
               "                         to the reconciled state (root only)\n"
               "  monitor [NAME...]      Print each property change until interrupted\n"
               "  help                   Show this help\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --no-pager          Do not pipe output into a pager (accepted; never paged)\n"
               "  -H --host=[USER@]HOST  Operate on a remote host (over ssh)\n"
               "  -M --machine=CONTAINER Operate on a local container\n"
               "  -p --property=NAME     Show only this property (show, monitor; repeatable,\n"
               "                         or several names separated by commas)\n"
               "     --value             Print only the values of the properties (show)\n"
               "  -a --all               Show empty properties too (show)\n"
               "     --json=MODE         Print status, show, stats or monitor as JSON:\n"
               "                         pretty, short or off (pretty without a value)\n"
               "     --format=FORMAT     Output of stats: table, json or prometheus\n\n"
               "Exit status: 0 on success, 1 on failure, %d when the daemon is not running.\n\n"
               "See the kubevirt-ksmctl(1) man page for details.\n",
               program_invocation_short_name, KSM_BUS_NAME, EXIT_NOT_RUNNING);
        return EXIT_SUCCESS;
}

static int verb_help(sd_bus *bus, char **args, const CtlArgs *a) {
        return help();
}

const char *ctl_ansi(const CtlArgs *a, const char *seq) {
        return a->color ? seq : "";
}

/* The errors sd-bus reports when the transport, not the daemon, failed. */
static bool connection_lost(int r) {
        return r == -ENOTCONN || r == -ECONNRESET || r == -ECONNREFUSED || r == -EPIPE;
}

int ctl_bus_error(const CtlArgs *a, const sd_bus_error *e, int r, const char *what) {
        const char *where = a->host ?: a->machine;

        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                if (where)
                        fprintf(stderr, "kubevirt-ksmd is not running on %s (no %s on its system bus).\n",
                                where, KSM_BUS_NAME);
                else
                        fprintf(stderr, "kubevirt-ksmd is not running (no %s on the system bus).\n", KSM_BUS_NAME);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
                fprintf(stderr, "Failed to %s: access denied (%s). Run it as root.\n", what,
                        e->message ?: "only root may do this");
                return EXIT_FAILURE;
        }
        if (sd_bus_error_is_set(e) && !connection_lost(r)) {
                fprintf(stderr, "Failed to %s: %s\n", what, e->message ?: e->name);
                return EXIT_FAILURE;
        }
        /* The connection itself failed, which with -H is ssh's doing (it said why just above). */
        if (a->host)
                fprintf(stderr, "Failed to %s: cannot reach the system bus of %s over ssh: %s\n",
                        what, a->host, strerror(-r));
        else if (a->machine)
                fprintf(stderr, "Failed to %s: cannot reach the system bus of container %s: %s\n",
                        what, a->machine, strerror(-r));
        else
                fprintf(stderr, "Failed to %s: %s\n", what, strerror(-r));
        return EXIT_FAILURE;
}

static int connect_bus(const CtlArgs *a, sd_bus **ret) {
        int r;

        if (a->host)
                r = sd_bus_open_system_remote(ret, a->host);
        else if (a->machine)
                r = sd_bus_open_system_machine(ret, a->machine);
        else
                r = sd_bus_open_system(ret);
        if (r < 0) {
                if (a->host || a->machine)
                        return ctl_bus_error(a, NULL, r, "connect");
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return 0;
}

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void verb_unknown(const char *name) {
        const char *names[ELEMENTSOF(verbs) + 1] = {};
        const char *guess;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                names[i] = verbs[i].name;
        guess = suggest_word(name, names);
        if (guess)
                fprintf(stderr, "Unknown command '%s'. Did you mean '%s'?\n", name, guess);
        else
                fprintf(stderr, "Unknown command '%s'. See '%s --help'.\n", name, program_invocation_short_name);
}

/* 0 when n arguments suit v, else prints why and returns EXIT_FAILURE. */
static int verb_check_args(const Verb *v, char **args, unsigned n) {
        if (n < v->min_args) {
                fprintf(stderr, "Command '%s' needs at least %u argument%s.\n", v->name, v->min_args,
                        v->min_args == 1 ? "" : "s");
                return EXIT_FAILURE;
        }
        if (n > v->max_args) {
                if (v->max_args == 0)
                        fprintf(stderr, "Command '%s' takes no arguments, got '%s'.\n", v->name, args[0]);
                else
                        fprintf(stderr, "Command '%s' takes at most %u argument%s.\n", v->name, v->max_args,
                                v->max_args == 1 ? "" : "s");
                return EXIT_FAILURE;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_PAGER, ARG_VALUE, ARG_FORMAT };
        static const struct option options[] = {
                { "help",     no_argument,       NULL, 'h'          },
                { "version",  no_argument,       NULL, ARG_VERSION  },
                { "no-pager", no_argument,       NULL, ARG_NO_PAGER },
                { "host",     required_argument, NULL, 'H'          },
                { "machine",  required_argument, NULL, 'M'          },
                { "property", required_argument, NULL, 'p'          },
                { "value",    no_argument,       NULL, ARG_VALUE    },
                { "all",      no_argument,       NULL, 'a'          },
                { "json",     optional_argument, NULL, ARG_JSON     },
                { "format",   required_argument, NULL, ARG_FORMAT   },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_strv_free_ char **properties = NULL;
        CtlArgs a = { .json = JSON_OFF, .format = _STATS_FORMAT_INVALID };
        const Verb *v;
        char **args;
        unsigned n_args;
        int c, r;

        while ((c = getopt_long(argc, argv, "hH:M:p:a", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        printf("%s %s\n", program_invocation_short_name, PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_NO_PAGER:
                        break;          /* nothing is paged; accepted like systemctl's */
                case 'H':
                        a.host = optarg;
                        break;
                case 'M':
                        a.machine = optarg;
                        break;
                case 'p':
                        if (strv_split_append(&properties, optarg) < 0) {
                                fprintf(stderr, "Out of memory.\n");
                                return EXIT_FAILURE;
                        }
                        break;
                case ARG_VALUE:
                        a.value = true;
                        break;
                case 'a':
                        a.all = true;
                        break;
                case ARG_JSON:
                        if (streq_ptr(optarg, "help")) {
                                for (JsonMode m = 0; m < _JSON_MODE_MAX; m++)
                                        puts(json_mode_to_string(m));
                                return EXIT_SUCCESS;
                        }
                        a.json = json_mode_from_string(optarg);
                        if (a.json < 0) {
                                fprintf(stderr, "Unknown --json= mode '%s': use pretty, short or off.\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case ARG_FORMAT:
                        if (streq(optarg, "help")) {
                                for (StatsFormat f = 0; f < _STATS_FORMAT_MAX; f++)
                                        puts(stats_format_to_string(f));
                                return EXIT_SUCCESS;
                        }
                        a.format = stats_format_from_string(optarg);
                        if (a.format < 0) {
                                fprintf(stderr, "Unknown --format= '%s': use table, json or prometheus.\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                default:
                        return EXIT_FAILURE;
                }

        if (a.host && a.machine) {
                fprintf(stderr, "--host= and --machine= exclude each other.\n");
                return EXIT_FAILURE;
        }

        if (optind < argc) {
                v = verb_find(argv[optind]);
                if (!v) {
                        verb_unknown(argv[optind]);
                        return EXIT_FAILURE;
                }
                args = argv + optind + 1;
                n_args = (unsigned) (argc - optind - 1);
        } else {
                v = &verbs[0];
                assert(v->flags & VERB_DEFAULT);
                args = argv + argc;
                n_args = 0;
        }
        r = verb_check_args(v, args, n_args);
        if (r != 0)
                return r;

        /* Names after show or monitor add to -p. */
        for (unsigned i = 0; i < n_args; i++)
                if (strv_split_append(&properties, args[i]) < 0) {
                        fprintf(stderr, "Out of memory.\n");
                        return EXIT_FAILURE;
                }
        a.properties = properties;
        a.color = color_wanted(getenv("NO_COLOR"), getenv("SYSTEMD_COLORS"), getenv("TERM"), isatty(STDOUT_FILENO));
        a.err_tty = isatty(STDERR_FILENO);

        if (!(v->flags & VERB_NO_BUS)) {
                r = connect_bus(&a, &bus);
                if (r != 0)
                        return r;
        }
        return v->run(bus, properties, &a);
}
