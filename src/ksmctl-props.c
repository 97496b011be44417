/* ksmctl-props.c — kubevirt-ksmctl's reading verbs (status, show, stats) and reconcile: one bus call each. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ksm-bus.h"
#include "ksmctl.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* One value of a basic D-Bus type, as sd_bus_message_read_basic() stores it. */
typedef union BusBasic {
        int b;
        const char *s;
        uint32_t u;
        uint64_t t;
        int64_t x;
        double d;
} BusBasic;

static json_object *json_from_basic(char type, const BusBasic *val) {
        switch (type) {
        case 'b': return json_object_new_boolean(val->b);
        case 's': return json_object_new_string(val->s);
        case 'u': return json_object_new_int64(val->u);
        case 't': return json_object_new_uint64(val->t);
        case 'x': return json_object_new_int64(val->x);
        case 'd': return json_object_new_double(val->d);
        default:  return NULL;
        }
}

int ctl_read_properties(sd_bus_message *reply, json_object *out) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name, *contents;
                json_object *v = NULL;
                BusBasic val;
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

                if (contents[0] && !contents[1] && strchr("bsutxd", contents[0])) {
                        r = sd_bus_message_read_basic(reply, contents[0], &val);
                        if (r >= 0)
                                v = json_from_basic(contents[0], &val);
                } else
                        r = sd_bus_message_skip(reply, contents);
                if (r < 0) {
                        json_object_put(v);
                        return r;
                }
                if (v && json_object_object_add(out, name, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }

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

const char *ctl_format_value(json_object *v, char *buf, size_t n) {
        switch (json_object_get_type(v)) {
        case json_type_boolean:
                return json_object_get_boolean(v) ? "yes" : "no";
        case json_type_double:
                snprintf(buf, n, "%.1f", json_object_get_double(v));
                return buf;
        case json_type_int:
                /* json-c keeps uint64 and int64 apart; print each in its own range. */
                if (json_object_get_int64(v) == INT64_MAX)
                        snprintf(buf, n, "%" PRIu64, json_object_get_uint64(v));
                else
                        snprintf(buf, n, "%" PRIi64, json_object_get_int64(v));
                return buf;
        case json_type_string:
                return json_object_get_string(v);
        default:
                return "";
        }
}

void ctl_print_json(const CtlArgs *a, json_object *o) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

        flags |= a->json == JSON_SHORT ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY;
        printf("%s\n", json_object_to_json_string_ext(o, flags));
}

/* GetAll into a JSON object; the exit status on failure (message printed), 0 on success. */
static int get_all(sd_bus *bus, const CtlArgs *a, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *props = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", KSM_BUS_INTERFACE);
        if (r < 0)
                return ctl_bus_error(a, &error, r, "read the daemon's properties");

        props = json_object_new_object();
        if (!props)
                return EXIT_FAILURE;
        r = ctl_read_properties(reply, props);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the daemon's properties: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        *ret = TAKE_PTR(props);
        return 0;
}

/* ---- status --------------------------------------------------------------------------------- */

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

/* yes/no of a boolean property, with the colour for each answer ("" for none). */
static const char *yes_no(json_object *o, const char *key, const char *yes_color, const char *no_color,
                          const char **ret_color) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret_color = "";
                return "n/a";
        }
        *ret_color = json_object_get_boolean(v) ? yes_color : no_color;
        return json_object_get_boolean(v) ? "yes" : "no";
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

/* One "Label: value" line of status: the label bold, the value in color (NULL or "" for none).
 * tests/integration/test-man.sh compares the labels of these calls with the manual's sample. */
_printf_(4, 5)
static void field(const CtlArgs *a, const char *label, const char *color, const char *fmt, ...) {
        va_list ap;

        printf("%s%s:%s %s", ctl_ansi(a, ANSI_BOLD), label, ctl_ansi(a, ANSI_NORMAL),
               color && *color ? ctl_ansi(a, color) : "");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("%s\n", color && *color ? ctl_ansi(a, ANSI_NORMAL) : "");
}

static void print_status(const CtlArgs *a, json_object *p) {
        char saved[32], profit[32], when[64] = "never", scan[160], cpu[32];
        const char *err = str(p, "LastError"), *conflict = str(p, "Conflict");
        const char *available, *running, *selected, *managed, *connected;
        const char *c_available, *c_running, *c_selected, *c_managed, *c_connected;
        uint64_t last = last_reconcile_usec(p);
        json_object *v;
        int64_t gp = 0;

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
        /* Health in green and red; selection is a choice, not a fault: only "yes" is green. */
        available = yes_no(p, "Available", ANSI_GREEN, ANSI_RED, &c_available);
        running = yes_no(p, "Running", ANSI_GREEN, ANSI_RED, &c_running);
        selected = yes_no(p, "Selected", ANSI_GREEN, NULL, &c_selected);
        managed = yes_no(p, "Managed", ANSI_GREEN, NULL, &c_managed);
        connected = yes_no(p, "Connected", ANSI_GREEN, ANSI_RED, &c_connected);

        field(a, "      Selection", NULL, "%s", str(p, "Selection"));
        field(a, "         Reason", NULL, "%s", str(p, "Reason"));
        field(a, "       Conflict", *conflict ? ANSI_YELLOW : NULL, "%s", *conflict ? conflict : "none");
        field(a, "           Node", NULL, "%s", str(p, "NodeName"));
        field(a, "      Available", c_available, "%s", available);
        field(a, "        Running", c_running, "%s", running);
        field(a, "       Selected", c_selected, "%s", selected);
        field(a, "        Managed", c_managed, "%s", managed);
        field(a, "         Policy", NULL, "%s", str(p, "Policy"));
        field(a, "           Scan", NULL, "%s", scan);
        field(a, "     CPU (ksmd)", NULL, "%s", cpu);
        field(a, "      Connected", c_connected, "%s", connected);
        field(a, "  Pages to scan", NULL, "%" PRIu64, u64(p, "PagesToScan"));
        field(a, "  Sleep (msecs)", NULL, "%" PRIu64, u64(p, "SleepMillisecs"));
        field(a, "   Pages shared", NULL, "%" PRIu64, u64(p, "PagesShared"));
        field(a, "  Pages sharing", NULL, "%" PRIu64, u64(p, "PagesSharing"));
        field(a, " Pages unshared", NULL, "%" PRIu64, u64(p, "PagesUnshared"));
        field(a, " Pages volatile", NULL, "%" PRIu64, u64(p, "PagesVolatile"));
        field(a, "     Full scans", NULL, "%" PRIu64, u64(p, "FullScans"));
        field(a, "          Saved", NULL, "%s", saved);
        field(a, " General profit", NULL, "%s", profit);
        field(a, " Last reconcile", NULL, "%s", when);
        field(a, "     Last error", err && *err ? ANSI_RED : NULL, "%s", err && *err ? err : "none");
}

int verb_status(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(json_object_putp) json_object *props = NULL;
        int r;

        r = get_all(bus, a, &props);
        if (r != 0)
                return r;
        if (a->json != JSON_OFF)
                ctl_print_json(a, props);
        else
                print_status(a, props);
        return EXIT_SUCCESS;
}

/* ---- show ----------------------------------------------------------------------------------- */

static bool wanted(char **names, const char *name) {
        if (!names)
                return true;
        for (size_t i = 0; names[i]; i++)
                if (streq(names[i], name))
                        return true;
        return false;
}

int verb_show(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(json_object_putp) json_object *props = NULL, *out = NULL;
        int r;

        r = get_all(bus, a, &props);
        if (r != 0)
                return r;

        /* Every name asked for must exist: a typo is an error, not an empty answer. */
        for (size_t i = 0; a->properties && a->properties[i]; i++)
                if (!json_object_object_get_ex(props, a->properties[i], NULL)) {
                        fprintf(stderr, "Unknown property '%s' of %s.\n", a->properties[i], KSM_BUS_INTERFACE);
                        return EXIT_FAILURE;
                }

        out = json_object_new_object();
        if (!out)
                return EXIT_FAILURE;
        json_object_object_foreach(props, name, v) {
                char buf[64];
                const char *s;

                if (!wanted(a->properties, name))
                        continue;
                if (a->json != JSON_OFF) {
                        if (json_object_object_add(out, name, json_object_get(v)) < 0)
                                return EXIT_FAILURE;
                        continue;
                }
                s = ctl_format_value(v, buf, sizeof(buf));
                /* Like systemctl show: empty values only with --all or when asked for by name. */
                if (!*s && !a->all && !a->properties)
                        continue;
                if (a->value)
                        printf("%s\n", s);
                else
                        printf("%s=%s\n", name, s);
        }
        if (a->json != JSON_OFF)
                ctl_print_json(a, out);
        return EXIT_SUCCESS;
}

/* ---- stats ---------------------------------------------------------------------------------- */

static int stats_prometheus(sd_bus *bus, const CtlArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *text;
        size_t n;
        int r;

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, "GetMetrics",
                               &error, &reply, NULL);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                        fprintf(stderr, "Failed to read metrics: the daemon does not export metrics; update it.\n");
                        return EXIT_FAILURE;
                }
                return ctl_bus_error(a, &error, r, "read metrics");
        }
        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0) {
                fprintf(stderr, "Failed to parse metrics: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        n = strlen(text);
        fputs(text, stdout);
        if (n > 0 && text[n - 1] != '\n')
                putchar('\n');
        return EXIT_SUCCESS;
}

int verb_stats(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *out = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        StatsFormat format = a->format;
        const char *name;
        int64_t value;
        int r;

        /* --json picks the JSON table unless --format= said otherwise. */
        if (format == _STATS_FORMAT_INVALID)
                format = a->json != JSON_OFF ? STATS_FORMAT_JSON : STATS_FORMAT_TABLE;
        if (format == STATS_FORMAT_PROMETHEUS)
                return stats_prometheus(bus, a);

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, "GetStatistics",
                               &error, &reply, NULL);
        if (r < 0)
                return ctl_bus_error(a, &error, r, "read statistics");

        out = json_object_new_object();
        if (!out)
                return EXIT_FAILURE;
        r = sd_bus_message_enter_container(reply, 'a', "{sx}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_read(reply, "{sx}", &name, &value)) > 0) {
                if (format == STATS_FORMAT_JSON)
                        json_object_object_add(out, name, json_object_new_int64(value));
                else
                        printf("%-36s %" PRId64 "\n", name, value);
        }
        if (r < 0)
                goto fail;
        if (format == STATS_FORMAT_JSON) {
                CtlArgs j = *a;

                if (j.json == JSON_OFF)
                        j.json = JSON_PRETTY;
                ctl_print_json(&j, out);
        }
        return EXIT_SUCCESS;

fail:
        fprintf(stderr, "Failed to parse statistics: %s\n", strerror(-r));
        return EXIT_FAILURE;
}

/* ---- reconcile ------------------------------------------------------------------------------ */

int verb_reconcile(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, "Reconcile", &error, NULL, NULL);
        if (r < 0)
                return ctl_bus_error(a, &error, r, "reconcile");
        printf("Reconcile requested.\n");
        return EXIT_SUCCESS;
}
