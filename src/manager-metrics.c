/* manager-metrics.c — gathers a MetricsSnapshot from the Manager and runs the scrape listener. */
#include <unistd.h>

#include "ksmd-cpu.h"
#include "log.h"
#include "macro.h"
#include "manager-metrics.h"
#include "metrics-server.h"

int manager_metrics_text(Manager *m, char **ret) {
        uint64_t page_size = (uint64_t) sysconf(_SC_PAGESIZE);
        KsmSnapshot k = {};
        MetricsSnapshot s;
        uint64_t cpu_usec = 0;
        bool have_cpu = false;
        int r;

        /* The counters change all the time: read them now, as the bus properties do. */
        if (m->sysfs)
                (void) ksm_sysfs_snapshot(m->sysfs, &k);

        /* The same pid cache as the scan controller's (manager-scan.c): looked up once. */
        if (m->ksmd_pid == 0 && ksmd_find_pid("/proc", &m->ksmd_pid) < 0)
                m->ksmd_pid = -1;
        if (m->ksmd_pid > 0) {
                r = ksmd_read_cpu_usec("/proc", m->ksmd_pid, &cpu_usec);
                if (r >= 0)
                        have_cpu = true;
                else if (r == -ESRCH)
                        m->ksmd_pid = 0;        /* gone: look it up again next time */
        }

        s = (MetricsSnapshot) {
                .version = PACKAGE_VERSION,
                .node_name = m->node_name,
                .policy = policy_kind_to_string(m->config.policy),
                .scan_state = scan_state_to_string(m->control.state),
                .available = k.available,
                .running = k.available && k.run == KSM_RUN_MERGING,
                .selected = m->selected,
                .managed = m->managed,
                .connected = manager_connected(m),
                .conflict = m->conflict.holding,
                .pages_sharing = k.pages_sharing,
                .pages_shared = k.pages_shared,
                .pages_unshared = k.pages_unshared,
                .pages_volatile = k.pages_volatile,
                .full_scans = k.full_scans,
                .has_ksm_zero_pages = k.has_ksm_zero_pages,
                .ksm_zero_pages = k.ksm_zero_pages,
                .general_profit_bytes = ksm_snapshot_general_profit(&k, page_size),
                .saved_bytes = ksm_snapshot_saved_bytes(&k, page_size),
                .pages_to_scan = k.pages_to_scan,
                .sleep_millisecs = k.sleep_millisecs,
                .has_ksmd_cpu = have_cpu,
                .ksmd_cpu_usec = cpu_usec,
                .last_reconcile_usec = m->last_reconcile_usec,
                .counters = &metrics_counters,
        };
        return metrics_format(&s, ret);
}

static int on_scrape(void *userdata, char **ret) {
        return manager_metrics_text(userdata, ret);
}

int manager_update_metrics_server(Manager *m) {
        const char *want = m->config.metrics_listen;
        int r;

        if (streq_ptr(want, metrics_server_listen(m->metrics_server)))
                return 0;

        /* Closed first: the new address may be the same port on another address. */
        if (m->metrics_server) {
                log_info("Closing the metrics listener on %s.", metrics_server_listen(m->metrics_server));
                m->metrics_server = metrics_server_free(m->metrics_server);
        }
        if (!want)
                return 0;

        r = metrics_server_new(m->event, want, on_scrape, m, &m->metrics_server);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_warning_errno(r, "Failed to listen for metrics scrapes on %s, continuing without: %m", want);
                return 0;
        }
        log_info("Serving metrics on http://%s/metrics.", want);
        return 0;
}
