/* bus-manager.c — org.kubevirt.KSM1: properties, root-only methods, PropertiesChanged. */
#include <assert.h>
#include <unistd.h>

#include "bus-manager.h"
#include "ksm-sysfs.h"
#include "log.h"
#include "macro.h"
#include "manager-metrics.h"
#include "util.h"

/* Mutating methods are root only: the bus policy says so, and so does the daemon, in case the
 * policy file is missing or a bus without policies is used. */
static int bus_require_root(sd_bus_message *msg, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return r;
        if (uid != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may call %s().", sd_bus_message_get_member(msg));
        return 0;
}

/* Every text that goes onto the bus: valid UTF-8 (sd-bus refuses anything else, and with it the
 * whole reply or PropertiesChanged), no control characters (ksmctl prints it to a terminal),
 * bounded. The texts quote input: file names, server messages, label values. */
#define BUS_TEXT_MAX_BYTES 4096

static int bus_append_text(sd_bus_message *reply, const char *s) {
        _cleanup_free_ char *clean = NULL;

        clean = utf8_sanitize(s, BUS_TEXT_MAX_BYTES);
        if (!clean)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", clean);
}

/* A bool field of Manager by offset (sd-bus's own default reader expects an int for "b"). */
static int property_get_bool_field(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", *(bool *) userdata);
}

static const KsmSnapshot *snap(void *userdata) {
        return &((Manager *) userdata)->snapshot;
}

static int property_get_available(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", snap(userdata)->available);
}

static int property_get_running(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", snap(userdata)->available && snap(userdata)->run == KSM_RUN_MERGING);
}

static int property_get_policy(sd_bus *bus, const char *path, const char *iface, const char *prop,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", policy_kind_to_string(m->config.policy));
}

static int property_get_connected(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", manager_connected(userdata));
}

static const char *selection_name(Selection s) {
        return s == SELECTION_YES ? "yes" : s == SELECTION_NO ? "no" : "unknown";
}

static int property_get_selection(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", selection_name(m->selection));
}

/* A string field of Manager by offset, "" when NULL. */
static int property_get_string_field(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return bus_append_text(reply, *(char **) userdata);
}

static int property_get_conflict(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return bus_append_text(reply, m->conflict.holding ? m->conflict_what : NULL);
}

static int property_get_scan_state(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", scan_state_to_string(m->control.state));
}

static int property_get_scan_wake(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->control.state == SCAN_STATE_OFF ? "" :
                                     scan_wake_to_string(m->control.wake));
}

static uint32_t scan_pages_per_sec(const Manager *m) {
        if (m->control.state == SCAN_STATE_OFF)
                return 0;
        return scan_control_pages_per_sec(m->control.pages_to_scan, m->control.sleep_millisecs);
}

static int property_get_scan_rate(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", scan_pages_per_sec(userdata));
}

static int property_get_merged_last_pass(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "x", m->control.last_pass_merged);
}

static int property_get_ksmd_cpu(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "d", m->ksmd_cpu_percent);
}

static int property_get_last_error(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return bus_append_text(reply, m->last_error);
}

/* The counters change all the time: read them fresh on each Get instead of signalling. */
static int read_counter(Manager *m, const char *attr, uint64_t *ret) {
        if (!m->sysfs || ksm_sysfs_read_u64(m->sysfs, attr, ret) < 0)
                *ret = 0;
        return 0;
}

static int property_get_counter(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        static const struct {
                const char *property, *attr;
        } map[] = {
                { "PagesShared", "pages_shared" },
                { "PagesSharing", "pages_sharing" },
                { "PagesUnshared", "pages_unshared" },
                { "PagesVolatile", "pages_volatile" },
                { "FullScans", "full_scans" },
        };
        uint64_t v = 0;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(map[i].property, prop))
                        (void) read_counter(userdata, map[i].attr, &v);
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_scan(sd_bus *bus, const char *path, const char *iface, const char *prop,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const KsmSnapshot *s = snap(userdata);
        return sd_bus_message_append(reply, "u", streq(prop, "PagesToScan") ? s->pages_to_scan : s->sleep_millisecs);
}

static int fresh_snapshot(Manager *m, KsmSnapshot *ret) {
        *ret = (KsmSnapshot) {};
        if (!m->sysfs)
                return 0;
        return ksm_sysfs_snapshot(m->sysfs, ret);
}

/* SavedBytes and GeneralProfit, from a fresh read of the counters. */
static int property_get_savings(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        uint64_t page_size = (uint64_t) sysconf(_SC_PAGESIZE);
        KsmSnapshot s;
        int r;

        r = fresh_snapshot(userdata, &s);
        if (r < 0)
                return r;
        if (streq(prop, "SavedBytes"))
                return sd_bus_message_append(reply, "t", ksm_snapshot_saved_bytes(&s, page_size));
        return sd_bus_message_append(reply, "x", ksm_snapshot_general_profit(&s, page_size));
}

static int method_reconcile(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int r;

        r = bus_require_root(msg, error);
        if (r < 0)
                return r;

        log_info("Reconcile requested over D-Bus.");
        manager_wake_scan(userdata, SCAN_WAKE_REQUEST);
        manager_schedule_reconcile(userdata);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_unmerge(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = bus_require_root(msg, error);
        if (r < 0)
                return r;

        r = manager_start_unmerge(m, msg);
        if (r == -EBUSY)
                return sd_bus_error_set(error, KSM_BUS_ERROR_BUSY, "An unmerge is already running.");
        if (r == -ENOENT)
                return sd_bus_error_set(error, KSM_BUS_ERROR_NOT_AVAILABLE, "KSM is not available on this node.");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to start unmerging: %m");

        log_info("Unmerge requested over D-Bus.");
        return 1;       /* the reply is sent when the child finished */
}

static int append_stat(const char *name, int64_t value, void *userdata) {
        return sd_bus_message_append(userdata, "{sx}", name, value);
}

static int method_get_statistics(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        if (!m->sysfs)
                return sd_bus_error_set(error, KSM_BUS_ERROR_NOT_AVAILABLE, "KSM is not available on this node.");

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sx}");
        if (r < 0)
                return r;
        r = ksm_sysfs_foreach_numeric(m->sysfs, append_stat, reply);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read %s: %m", m->config.sysfs_dir);
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The Prometheus text of the daemon's state, the same a scrape of [Metrics] Listen= gets. Open to
 * everyone, like GetStatistics(): it reads, and tells no more than the properties do. */
static int method_get_metrics(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = manager_metrics_text(userdata, &text);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to gather metrics: %m");
        return sd_bus_reply_method_return(msg, "s", text);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NodeName", "s", property_get_string_field, offsetof(Manager, node_name),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Available", "b", property_get_available, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Running", "b", property_get_running, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Selected", "b", property_get_bool_field, offsetof(Manager, selected),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Managed", "b", property_get_bool_field, offsetof(Manager, managed),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policy", "s", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Connected", "b", property_get_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PagesToScan", "u", property_get_scan, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SleepMillisecs", "u", property_get_scan, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PagesShared", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("PagesSharing", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("PagesUnshared", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("PagesVolatile", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("FullScans", "t", property_get_counter, 0, 0),
        SD_BUS_PROPERTY("SavedBytes", "t", property_get_savings, 0, 0),
        SD_BUS_PROPERTY("GeneralProfit", "x", property_get_savings, 0, 0),
        SD_BUS_PROPERTY("LastReconcileUSec", "t", NULL, offsetof(Manager, last_reconcile_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* The old name of LastReconcileUSec, kept so that existing scripts keep working. */
        SD_BUS_PROPERTY("LastReconcile", "t", NULL, offsetof(Manager, last_reconcile_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_DEPRECATED),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Selection", "s", property_get_selection, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Reason", "s", property_get_string_field, offsetof(Manager, reason),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Conflict", "s", property_get_conflict, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ScanState", "s", property_get_scan_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ScanWakeReason", "s", property_get_scan_wake, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ScanPagesPerSecond", "u", property_get_scan_rate, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PagesMergedLastPass", "x", property_get_merged_last_pass, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KsmdCPUPercent", "d", property_get_ksmd_cpu, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Reconcile", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reconcile,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unmerge", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_unmerge,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStatistics", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sx}", statistics),
                                method_get_statistics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", metrics),
                                method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_manager_add_object(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, &m->object_slot, KSM_BUS_PATH, KSM_BUS_INTERFACE,
                                        manager_vtable, m);
}

void bus_manager_emit_changed(Manager *m) {
        const char *changed[32];        /* room for every name below (19) and the NULL */
        size_t n = 0;
        bool available = m->snapshot.available;
        bool running = available && m->snapshot.run == KSM_RUN_MERGING;
        bool connected = manager_connected(m);
        int r;

        if (!m->bus)
                return;

/* One field, announced under each of the property names that follow it. */
#define CHANGED(field, value, ...)                                      \
        do {                                                            \
                if (!m->published.valid || m->published.field != (value)) { \
                        m->published.field = (value);                   \
                        for (const char *const *_name = (const char *const[]) { __VA_ARGS__, NULL }; \
                             *_name; _name++)                           \
                                changed[n++] = *_name;                  \
                }                                                       \
        } while (false)

        CHANGED(available, available, "Available");
        CHANGED(running, running, "Running");
        CHANGED(selected, m->selected, "Selected");
        CHANGED(managed, m->managed, "Managed");
        CHANGED(policy, m->config.policy, "Policy");
        CHANGED(connected, connected, "Connected");
        CHANGED(pages_to_scan, m->snapshot.pages_to_scan, "PagesToScan");
        CHANGED(sleep_millisecs, m->snapshot.sleep_millisecs, "SleepMillisecs");
        CHANGED(last_reconcile_usec, m->last_reconcile_usec, "LastReconcileUSec", "LastReconcile");
        CHANGED(selection, m->selection, "Selection");
        CHANGED(scan_state, m->control.state, "ScanState", "ScanWakeReason");
        CHANGED(scan_pages_per_sec, scan_pages_per_sec(m), "ScanPagesPerSecond");
        CHANGED(pages_merged_last_pass, m->control.last_pass_merged, "PagesMergedLastPass");
        /* Announced in steps of a tenth of a percent, not on every sample. */
        CHANGED(ksmd_cpu_permille, (int) (m->ksmd_cpu_percent * 10), "KsmdCPUPercent");
#undef CHANGED

        if (!m->published.valid || !streq_ptr(m->published.last_error, m->last_error)) {
                if (free_and_strdup(&m->published.last_error, m->last_error) >= 0)
                        changed[n++] = "LastError";
        }
        if (!m->published.valid || !streq_ptr(m->published.reason, m->reason)) {
                if (free_and_strdup(&m->published.reason, m->reason) >= 0)
                        changed[n++] = "Reason";
        }
        {
                const char *conflict = m->conflict.holding ? m->conflict_what : NULL;

                if (!m->published.valid || !streq_ptr(m->published.conflict, conflict)) {
                        if (free_and_strdup(&m->published.conflict, conflict) >= 0)
                                changed[n++] = "Conflict";
                }
        }
        m->published.valid = true;
        changed[n] = NULL;

        if (n == 0)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, KSM_BUS_PATH, KSM_BUS_INTERFACE, (char **) changed);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged, ignoring: %m");
}
