/* ksmctl-follow.c — kubevirt-ksmctl's long-running verbs on one sd-event loop: monitor, and unmerge with progress. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "ksm-bus.h"
#include "ksmctl.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* How often unmerge asks for the pages still merged: on a terminal the line updates each
 * second; into a file or pipe a line every 5 s keeps a log readable. */
#define PROGRESS_TTY_USEC (1 * USEC_PER_SEC)
#define PROGRESS_LOG_USEC (5 * USEC_PER_SEC)

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* ---- monitor -------------------------------------------------------------------------------- */

typedef struct Monitor {
        const CtlArgs *args;
        char **names;                   /* the properties to print, NULL for all */
} Monitor;

static bool monitor_wants(const Monitor *m, const char *name) {
        if (!m->names)
                return true;
        for (size_t i = 0; m->names[i]; i++)
                if (streq(m->names[i], name))
                        return true;
        return false;
}

static void monitor_print(const Monitor *m, uint64_t usec, const char *name, json_object *v) {
        const CtlArgs *a = m->args;
        char stamp[64], buf[64];
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (a->json != JSON_OFF) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (!o)
                        return;
                json_object_object_add(o, "timestamp", json_object_new_uint64(usec));
                json_object_object_add(o, "property", json_object_new_string(name));
                json_object_object_add(o, "value", v ? json_object_get(v) : NULL);
                ctl_print_json(a, o);
        } else {
                if (!localtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                        snprintf(stamp, sizeof(stamp), "%" PRIu64, usec / USEC_PER_SEC);
                printf("%s%s.%06u%s %s%s%s=%s\n", ctl_ansi(a, ANSI_BOLD), stamp,
                       (unsigned) (usec % USEC_PER_SEC), ctl_ansi(a, ANSI_NORMAL),
                       ctl_ansi(a, ANSI_BOLD), name, ctl_ansi(a, ANSI_NORMAL),
                       v ? ctl_format_value(v, buf, sizeof(buf)) : "(invalidated)");
        }
        /* One change, one line, now: the reader may be a script waiting for it. */
        fflush(stdout);
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;
        _cleanup_(json_object_putp) json_object *changed = NULL;
        uint64_t usec = now_usec(CLOCK_REALTIME);
        const char *iface, *name;
        int r;

        r = sd_bus_message_read(msg, "s", &iface);
        if (r < 0 || !streq(iface, KSM_BUS_INTERFACE))
                return 0;

        changed = json_object_new_object();
        if (!changed)
                return -ENOMEM;
        r = ctl_read_properties(msg, changed);
        if (r < 0) {
                fprintf(stderr, "Failed to parse a PropertiesChanged signal, ignoring: %s\n", strerror(-r));
                return 0;
        }
        json_object_object_foreach(changed, key, v)
                if (monitor_wants(m, key))
                        monitor_print(m, usec, key, v);

        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(msg, "s", &name) > 0)
                if (monitor_wants(m, name))
                        monitor_print(m, usec, name, NULL);
        return 0;
}

/* The daemon came or went: said on stderr, so stdout stays one change per line. */
static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, KSM_BUS_NAME))
                return 0;
        fprintf(stderr, "kubevirt-ksmd %s.\n", *new_owner ? "appeared on the bus" : "left the bus");
        return 0;
}

int verb_monitor(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot_changed = NULL, *slot_owner = NULL;
        Monitor m = { .args = a, .names = args && args[0] ? args : NULL };
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                goto fail;
        /* SIGINT and SIGTERM end the loop with status 0: stopping a monitor is its normal end. */
        r = sd_event_set_signal_exit(event, true);
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;

        /* Matched on path and member; the interface (arg0) is checked in the callback. The
         * AddMatch calls are synchronous, so a change made after the "Monitoring" line is seen. */
        r = sd_bus_match_signal(bus, &slot_changed, NULL, KSM_BUS_PATH, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &m);
        if (r < 0)
                return ctl_bus_error(a, NULL, r, "subscribe to property changes");
        r = sd_bus_match_signal(bus, &slot_owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL);
        if (r < 0)
                return ctl_bus_error(a, NULL, r, "subscribe to name owner changes");

        fprintf(stderr, "Monitoring %s property changes; press Ctrl+C to stop.\n", KSM_BUS_INTERFACE);
        r = sd_event_loop(event);
        if (r < 0)
                goto fail;
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

fail:
        return ctl_bus_error(a, NULL, r, "monitor");
}

/* ---- unmerge with progress ------------------------------------------------------------------ */

typedef struct Unmerge {
        const CtlArgs *args;
        sd_bus *bus;
        sd_event *event;
        sd_bus_slot *poll_slot;         /* the GetAll in flight, if any */
        bool line_open;                 /* a progress line without its newline is on the terminal */
        bool done;
        int exit_status;
} Unmerge;

static void unmerge_clear_line(Unmerge *u) {
        if (u->line_open) {
                fputs("\r\033[K", stderr);
                u->line_open = false;
        }
}

static int on_poll_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Unmerge *u = userdata;
        _cleanup_(json_object_putp) json_object *p = json_object_new_object();
        json_object *sharing, *shared;

        u->poll_slot = sd_bus_slot_unref(u->poll_slot);
        if (u->done || !p || sd_bus_message_is_method_error(reply, NULL))
                return 0;       /* progress is best effort; the Unmerge reply has the verdict */
        if (ctl_read_properties(reply, p) < 0 ||
            !json_object_object_get_ex(p, "PagesSharing", &sharing) ||
            !json_object_object_get_ex(p, "PagesShared", &shared))
                return 0;

        if (u->args->err_tty) {
                fprintf(stderr, "\r\033[KUnmerging: %" PRIu64 " pages sharing, %" PRIu64 " pages shared still merged...",
                        json_object_get_uint64(sharing), json_object_get_uint64(shared));
                u->line_open = true;
        } else
                fprintf(stderr, "Unmerging: %" PRIu64 " pages sharing, %" PRIu64 " pages shared still merged.\n",
                        json_object_get_uint64(sharing), json_object_get_uint64(shared));
        fflush(stderr);
        return 0;
}

static int unmerge_poll(Unmerge *u) {
        if (u->poll_slot)
                return 0;       /* the last one has not answered yet */
        return sd_bus_call_method_async(u->bus, &u->poll_slot, KSM_BUS_NAME, KSM_BUS_PATH,
                                        "org.freedesktop.DBus.Properties", "GetAll", on_poll_reply, u,
                                        "s", KSM_BUS_INTERFACE);
}

static int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Unmerge *u = userdata;
        uint64_t period = u->args->err_tty ? PROGRESS_TTY_USEC : PROGRESS_LOG_USEC;

        (void) unmerge_poll(u);
        (void) sd_event_source_set_time(s, usec + period);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int on_unmerge_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Unmerge *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        u->done = true;
        unmerge_clear_line(u);
        if (e)
                /* A reply made up by sd-bus for a connection that went away (ssh failed, the bus
                 * died) is a transport failure, reported as such. */
                u->exit_status = ctl_bus_error(u->args, e,
                                               sd_bus_is_open(u->bus) > 0 ? -sd_bus_error_get_errno(e) : -ENOTCONN,
                                               "unmerge");
        else {
                printf("Unmerged all KSM pages.\n");
                u->exit_status = EXIT_SUCCESS;
        }
        return sd_event_exit(u->event, 0);
}

int verb_unmerge(sd_bus *bus, char **args, const CtlArgs *a) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_event_source_disable_unrefp) sd_event_source *timer = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *call_slot = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Unmerge u = { .args = a, .bus = bus, .exit_status = EXIT_FAILURE };
        uint64_t period = a->err_tty ? PROGRESS_TTY_USEC : PROGRESS_LOG_USEC;
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                goto fail;
        u.event = event;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;

        /* The first reading goes out before Unmerge(): the daemon answers in order, so the
         * pages still merged at the start are always shown, even when the unmerge is quick. */
        r = unmerge_poll(&u);
        if (r < 0)
                goto fail;
        r = sd_bus_message_new_method_call(bus, &call, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, "Unmerge");
        if (r < 0)
                goto fail;
        r = sd_bus_call_async(bus, &call_slot, call, on_unmerge_reply, &u, UNMERGE_TIMEOUT_USEC);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(event, &timer, CLOCK_MONOTONIC, period, 0, on_progress_timer, &u);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(timer, "unmerge-progress");

        r = sd_event_loop(event);
        u.poll_slot = sd_bus_slot_unref(u.poll_slot);
        (void) sd_bus_detach_event(bus);
        if (r < 0)
                goto fail;
        return u.exit_status;

fail:
        u.poll_slot = sd_bus_slot_unref(u.poll_slot);
        unmerge_clear_line(&u);
        return ctl_bus_error(a, NULL, r, "unmerge");
}
