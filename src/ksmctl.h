/* ksmctl.h — what the modules of kubevirt-ksmctl share: the parsed options, the verbs, output helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "ksmctl-util.h"

/* Exit status when the daemon is not on the bus (like systemctl's "inactive"). */
#define EXIT_NOT_RUNNING 3

/* Unmerging a large host takes a while: the client waits minutes, not sd-bus's default 25 s. */
#define UNMERGE_TIMEOUT_USEC (10 * 60 * UINT64_C(1000000))

/* Everything the command line said, read-only once parsed. */
typedef struct CtlArgs {
        JsonMode json;
        StatsFormat format;
        char **properties;              /* -p/--property and positional names, NULL-terminated */
        bool value;                     /* --value */
        bool all;                       /* -a/--all */
        bool color;                     /* escape sequences on stdout */
        bool err_tty;                   /* stderr is a terminal: progress as one updating line */
        const char *host;               /* -H/--host */
        const char *machine;            /* -M/--machine */
} CtlArgs;

/* Colour for stdout: the sequence, or "" when colour is off. */
const char *ctl_ansi(const CtlArgs *a, const char *seq);
#define ANSI_RED "\033[0;31m"
#define ANSI_GREEN "\033[0;32m"
#define ANSI_YELLOW "\033[0;33m"
#define ANSI_BOLD "\033[0;1;39m"
#define ANSI_NORMAL "\033[0m"

/* Prints the message for a failed bus call (e and r from sd-bus) and returns the exit status:
 * EXIT_NOT_RUNNING when nobody owns the name, EXIT_FAILURE otherwise. */
int ctl_bus_error(const CtlArgs *a, const sd_bus_error *e, int r, const char *what);

/* Reads a{sv} (GetAll's reply or PropertiesChanged's changed set) into out, keyed by name.
 * 0 or -errno. */
int ctl_read_properties(sd_bus_message *m, json_object *out);

/* The text form of one property value for show and monitor: yes/no, numbers, strings as is.
 * Returns a pointer into buf or into the JSON object. */
const char *ctl_format_value(json_object *v, char *buf, size_t n);

/* Prints a JSON value in the selected mode, followed by a newline. */
void ctl_print_json(const CtlArgs *a, json_object *o);

/* The verbs: each returns the exit status. */
int verb_status(sd_bus *bus, char **args, const CtlArgs *a);
int verb_show(sd_bus *bus, char **args, const CtlArgs *a);
int verb_stats(sd_bus *bus, char **args, const CtlArgs *a);
int verb_reconcile(sd_bus *bus, char **args, const CtlArgs *a);
int verb_unmerge(sd_bus *bus, char **args, const CtlArgs *a);
int verb_monitor(sd_bus *bus, char **args, const CtlArgs *a);
