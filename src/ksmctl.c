/* ksmctl.c — kubevirt-ksmctl: the command-line client of org.kubevirt.KSM1, one bus call per verb. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "ksm-bus.h"
#include "macro.h"

/* Exit status when the daemon is not on the bus (like systemctl's "inactive"). */
#define EXIT_NOT_RUNNING 3

static bool arg_json = false;

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static int help(void) {
        printf("%s [OPTIONS...] COMMAND\n\n"
               "Queries and controls kubevirt-ksmd over D-Bus (org.kubevirt.KSM1).\n\n"
               "Commands:\n"
               "  status             Show the daemon's view of KSM on this node (default)\n"
               "  stats              Show every numeric KSM counter of the kernel\n"
               "  reconcile          Reconcile now (root only)\n"
               "  unmerge            Unmerge all KSM pages, then return to the reconciled\n"
               "                     state (root only)\n\n"
               "Options:\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version\n"
               "     --json          Print status or stats as JSON\n\n"
               "Exit status: 0 on success, 1 on failure, %d when the daemon is not running.\n",
               program_invocation_short_name, EXIT_NOT_RUNNING);
        return 0;
}

static int bus_error_exit(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                fprintf(stderr, "kubevirt-ksmd is not running (no %s on the system bus).\n", KSM_BUS_NAME);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
                fprintf(stderr, "Failed to %s: access denied (%s). Run it as root.\n", what,
                        e->message ?: "only root may do this");
                return EXIT_FAILURE;
        }
        fprintf(stderr, "Failed to %s: %s\n", what, e && e->message ? e->message : strerror(-r));
        return EXIT_FAILURE;
}

static int connect_bus(sd_bus **ret) {
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return 0;
}

/* Reads GetAll's a{sv} into a JSON object keyed by property name. */
static int read_properties(sd_bus_message *reply, json_object *out) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name, *contents;
                json_object *v = NULL;
                char type;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(reply, 'v', contents);
                if (r < 0)
                        return r;

                switch (contents[0]) {
                case 'b': {
                        int b;
                        r = sd_bus_message_read(reply, "b", &b);
                        v = json_object_new_boolean(b);
                        break;
                }
                case 's': {
                        const char *s;
                        r = sd_bus_message_read(reply, "s", &s);
                        v = json_object_new_string(s);
                        break;
                }
                case 'u': {
                        uint32_t u;
                        r = sd_bus_message_read(reply, "u", &u);
                        v = json_object_new_int64(u);
                        break;
                }
                case 't': {
                        uint64_t t;
                        r = sd_bus_message_read(reply, "t", &t);
                        v = json_object_new_uint64(t);
                        break;
                }
                case 'x': {
                        int64_t x;
                        r = sd_bus_message_read(reply, "x", &x);
                        v = json_object_new_int64(x);
                        break;
                }
                case 'd': {
                        double d;
                        r = sd_bus_message_read(reply, "d", &d);
                        v = json_object_new_double(d);
                        break;
                }
                default:
                        r = sd_bus_message_skip(reply, contents);
                }
                if (r < 0)
                        return r;
                if (v)
                        json_object_object_add(out, name, v);

                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static const char *yes_no(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return "n/a";
        return json_object_get_boolean(v) ? "yes" : "no";
}

static const char *str(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return "n/a";
        return json_object_get_string(v);
}

static uint64_t u64(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        return json_object_get_uint64(v);
}

/* LastReconcileUSec, or its deprecated alias LastReconcile from a daemon that predates it. */
static uint64_t last_reconcile_usec(json_object *o) {
        json_object *v;

        if (json_object_object_get_ex(o, "LastReconcileUSec", &v))
                return json_object_get_uint64(v);
        return u64(o, "LastReconcile");
}

static void format_bytes(int64_t bytes, char *buf, size_t n) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) (bytes < 0 ? -bytes : bytes);
        size_t i = 0;

        while (v >= 1024 && i + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                i++;
        }
        snprintf(buf, n, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[i]);
}

/* The adaptive scan controller: state, why it woke, its rate and the last pass; ksmd's CPU share. */
static void format_scan(json_object *p, char *scan, size_t n_scan, char *cpu, size_t n_cpu) {
        const char *state = str(p, "ScanState");
        json_object *v;

        if (streq(state, "off") || streq(state, "n/a"))
                snprintf(scan, n_scan, "%s", state);
        else
                snprintf(scan, n_scan, "%s (woke on %s), %" PRIu64 " pages/s, last pass merged %" PRIi64 " pages",
                         state, str(p, "ScanWakeReason"), u64(p, "ScanPagesPerSecond"),
                         json_object_object_get_ex(p, "PagesMergedLastPass", &v) ? json_object_get_int64(v) : 0);
        if (json_object_object_get_ex(p, "KsmdCPUPercent", &v) && json_object_get_double(v) >= 0)
                snprintf(cpu, n_cpu, "%.1f %% of one CPU", json_object_get_double(v));
        else
                snprintf(cpu, n_cpu, "n/a");
}

static void print_status(json_object *p) {
        char saved[32], profit[32], when[64] = "never", scan[160], cpu[32];
        json_object *v;
        int64_t gp = 0;
        uint64_t last = last_reconcile_usec(p);
        const char *err = str(p, "LastError");

        if (json_object_object_get_ex(p, "GeneralProfit", &v))
                gp = json_object_get_int64(v);
        format_bytes((int64_t) u64(p, "SavedBytes"), saved, sizeof(saved));
        format_scan(p, scan, sizeof(scan), cpu, sizeof(cpu));
        format_bytes(gp, profit, sizeof(profit));
        if (last > 0) {
                time_t t = (time_t) (last / 1000000);
                struct tm tm;
                if (localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%a %Y-%m-%d %H:%M:%S %Z", &tm);
        }

        printf("      Selection: %s\n", str(p, "Selection"));
        printf("         Reason: %s\n", str(p, "Reason"));
        printf("       Conflict: %s\n", *str(p, "Conflict") ? str(p, "Conflict") : "none");
        printf("           Node: %s\n", str(p, "NodeName"));
        printf("      Available: %s\n", yes_no(p, "Available"));
        printf("        Running: %s\n", yes_no(p, "Running"));
        printf("       Selected: %s\n", yes_no(p, "Selected"));
        printf("        Managed: %s\n", yes_no(p, "Managed"));
        printf("         Policy: %s\n", str(p, "Policy"));
        printf("           Scan: %s\n", scan);
        printf("     CPU (ksmd): %s\n", cpu);
        printf("      Connected: %s\n", yes_no(p, "Connected"));
        printf("  Pages to scan: %" PRIu64 "\n", u64(p, "PagesToScan"));
        printf("  Sleep (msecs): %" PRIu64 "\n", u64(p, "SleepMillisecs"));
        printf("   Pages shared: %" PRIu64 "\n", u64(p, "PagesShared"));
        printf("  Pages sharing: %" PRIu64 "\n", u64(p, "PagesSharing"));
        printf(" Pages unshared: %" PRIu64 "\n", u64(p, "PagesUnshared"));
        printf(" Pages volatile: %" PRIu64 "\n", u64(p, "PagesVolatile"));
        printf("     Full scans: %" PRIu64 "\n", u64(p, "FullScans"));
        printf("          Saved: %s\n", saved);
        printf(" General profit: %s\n", profit);
        printf(" Last reconcile: %s\n", when);
        printf("     Last error: %s\n", err && *err ? err : "none");
}

static int verb_status(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *props = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", KSM_BUS_INTERFACE);
        if (r < 0) {
                r = bus_error_exit(&error, r, "read the daemon's properties");
                sd_bus_error_free(&error);
                return r;
        }

        props = json_object_new_object();
        if (!props)
                return EXIT_FAILURE;
        r = read_properties(reply, props);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the daemon's properties: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        if (arg_json)
                printf("%s\n", json_object_to_json_string_ext(props, JSON_C_TO_STRING_PRETTY |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                print_status(props);
        return EXIT_SUCCESS;
}

static int verb_stats(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *out = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name;
        int64_t value;
        int r;

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, "GetStatistics",
                               &error, &reply, NULL);
        if (r < 0) {
                r = bus_error_exit(&error, r, "read statistics");
                sd_bus_error_free(&error);
                return r;
        }

        out = json_object_new_object();
        if (!out)
                return EXIT_FAILURE;
        r = sd_bus_message_enter_container(reply, 'a', "{sx}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_read(reply, "{sx}", &name, &value)) > 0) {
                if (arg_json)
                        json_object_object_add(out, name, json_object_new_int64(value));
                else
                        printf("%-36s %" PRId64 "\n", name, value);
        }
        if (r < 0)
                goto fail;
        if (arg_json)
                printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
        return EXIT_SUCCESS;

fail:
        fprintf(stderr, "Failed to parse statistics: %s\n", strerror(-r));
        return EXIT_FAILURE;
}

static int verb_call(sd_bus *bus, const char *method, const char *what, const char *done) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Unmerging a large host takes a while: allow minutes, not the default 25 s. */
        r = sd_bus_set_method_call_timeout(bus, 10 * 60 * UINT64_C(1000000));
        if (r < 0)
                return EXIT_FAILURE;
        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, method, &error, NULL, NULL);
        if (r < 0) {
                r = bus_error_exit(&error, r, what);
                sd_bus_error_free(&error);
                return r;
        }
        printf("%s\n", done);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON };
        static const struct option options[] = {
                { "help",    no_argument, NULL, 'h'         },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json",    no_argument, NULL, ARG_JSON    },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *verb;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        printf("%s %s\n", program_invocation_short_name, PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return EXIT_FAILURE;
                }

        verb = optind < argc ? argv[optind] : "status";
        if (optind + 1 < argc) {
                fprintf(stderr, "Too many arguments.\n");
                return EXIT_FAILURE;
        }
        if (!streq(verb, "status") && !streq(verb, "stats") && !streq(verb, "reconcile") && !streq(verb, "unmerge")) {
                fprintf(stderr, "Unknown command '%s'. See '%s --help'.\n", verb, program_invocation_short_name);
                return EXIT_FAILURE;
        }

        r = connect_bus(&bus);
        if (r != 0)
                return r;

        if (streq(verb, "status"))
                return verb_status(bus);
        if (streq(verb, "stats"))
                return verb_stats(bus);
        if (streq(verb, "reconcile"))
                return verb_call(bus, "Reconcile", "reconcile", "Reconcile requested.");
        return verb_call(bus, "Unmerge", "unmerge", "Unmerged all KSM pages.");
}
