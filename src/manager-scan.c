/* manager-scan.c — the Manager's side of the scan controller: samples on a timer, the rate into reconcile, ksmd's CPU. */
#include <inttypes.h>

#include "bus-manager.h"
#include "ksmd-cpu.h"
#include "log.h"
#include "manager-internal.h"
#include "message-id.h"

void manager_measure_ksmd_cpu(Manager *m) {
        uint64_t cpu, now = now_usec(CLOCK_BOOTTIME);
        int r;

        if (m->ksmd_pid == 0 && ksmd_find_pid("/proc", &m->ksmd_pid) < 0)
                m->ksmd_pid = -1;
        if (m->ksmd_pid <= 0)
                return;

        r = ksmd_read_cpu_usec("/proc", m->ksmd_pid, &cpu);
        if (r < 0) {
                log_debug_errno(r, "Failed to read ksmd's CPU time, ignoring: %m");
                m->ksmd_pid = 0;        /* look it up again next time */
                m->ksmd_cpu_at_usec = 0;
                return;
        }
        if (m->ksmd_cpu_at_usec > 0 && now > m->ksmd_cpu_at_usec && cpu >= m->ksmd_cpu_usec)
                m->ksmd_cpu_percent = 100.0 * (double) (cpu - m->ksmd_cpu_usec) / (double) (now - m->ksmd_cpu_at_usec);
        m->ksmd_cpu_usec = cpu;
        m->ksmd_cpu_at_usec = now;
}

/* Reads the counters into m->snapshot and a ScanSample. 0 or -ENOMEM. */
static int manager_read_sample(Manager *m, ScanSample *ret) {
        MemInfo mi;
        int r;

        r = ksm_sysfs_snapshot(m->sysfs, &m->snapshot);
        if (r < 0)
                return r;
        *ret = (ScanSample) {
                .now_usec = now_usec(CLOCK_BOOTTIME),
                .pages_shared = m->snapshot.pages_shared,
                .pages_sharing = m->snapshot.pages_sharing,
                .pages_unshared = m->snapshot.pages_unshared,
                .pages_volatile = m->snapshot.pages_volatile,
                .full_scans = m->snapshot.full_scans,
                .ksm_zero_pages = m->snapshot.ksm_zero_pages,
        };
        if (meminfo_read(m->config.meminfo_file, &mi) >= 0) {
                ret->have_meminfo = true;
                ret->mem_total_kb = mi.total_kb;
                ret->mem_available_kb = mi.available_kb;
        }
        return 0;
}

static void manager_log_scan_state(Manager *m, ScanState before) {
        log_action_id(LOG_INFO, KSMD_MESSAGE_SCAN_STATE, "scan", ksm_run_to_string(m->snapshot.run),
                      "Scan controller: %s -> %s (%s): pages_to_scan=%" PRIu32 " sleep_millisecs=%" PRIu32
                      ", last pass merged %" PRIi64 " pages.",
                      scan_state_to_string(before), scan_state_to_string(m->control.state),
                      scan_wake_to_string(m->control.wake), m->control.pages_to_scan, m->control.sleep_millisecs,
                      m->control.last_pass_merged);
}

static void manager_arm_sample(Manager *m, uint64_t delay_usec) {
        (void) sd_event_source_set_time_relative(m->sample_timer, delay_usec);
        (void) sd_event_source_set_enabled(m->sample_timer, SD_EVENT_ONESHOT);
}

/* The rate the controller asks for is not the one in force: reconcile writes it. */
static void manager_follow_control(Manager *m) {
        if (m->control.pages_to_scan != m->snapshot.pages_to_scan ||
            m->control.sleep_millisecs != m->snapshot.sleep_millisecs)
                manager_schedule_reconcile(m);
}

static void manager_stop_scan_control(Manager *m) {
        ScanState before = m->control.state;

        if (before != SCAN_STATE_OFF) {
                m->control.state = SCAN_STATE_OFF;
                manager_log_scan_state(m, before);
        }
        (void) sd_event_source_set_enabled(m->sample_timer, SD_EVENT_OFF);
}

int on_scan_sample(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        ScanState before = m->control.state;
        ScanWake hint = m->pending_wake;
        ScanSample smp;
        int r;

        if (m->control.state == SCAN_STATE_OFF || !m->sysfs)
                return 0;

        r = manager_read_sample(m, &smp);
        if (r < 0)
                return sd_event_exit(m->event, EXIT_FAILURE);
        if (m->snapshot.run != KSM_RUN_MERGING) {
                /* Stopped behind our back: the recheck notices and reconciles (RecheckSec), as it
                 * does with every other policy; until then there is nothing to steer. */
                manager_stop_scan_control(m);
                bus_manager_emit_changed(m);
                return 0;
        }
        m->pending_wake = SCAN_WAKE_NONE;
        if (scan_control_step(&m->control, &m->scan_params, &smp, hint))
                manager_log_scan_state(m, before);
        manager_measure_ksmd_cpu(m);
        manager_follow_control(m);
        bus_manager_emit_changed(m);
        manager_arm_sample(m, scan_control_interval_usec(&m->control, &m->scan_params));
        return 0;
}

void manager_update_scan_control(Manager *m) {
        ScanState before = m->control.state;
        ScanSample smp;
        bool active;

        active = m->sysfs && m->managed && m->snapshot.available && m->snapshot.run == KSM_RUN_MERGING &&
                 !streq(m->snapshot.advisor_mode, "scan-time") && !m->conflict.holding &&
                 policy_effective(m->config.policy, m->snapshot.has_advisor) == POLICY_ALWAYS;

        if (!active) {
                manager_stop_scan_control(m);
                return;
        }
        if (before != SCAN_STATE_OFF)
                return;

        if (manager_read_sample(m, &smp) < 0) {
                (void) log_oom();
                return;
        }
        scan_control_start(&m->control, &m->scan_params, &smp, m->pending_wake);
        m->pending_wake = SCAN_WAKE_NONE;
        manager_log_scan_state(m, before);
        manager_follow_control(m);
        manager_arm_sample(m, scan_control_interval_usec(&m->control, &m->scan_params));
        manager_update_status(m);
        bus_manager_emit_changed(m);
}

void manager_wake_scan(Manager *m, ScanWake why) {
        if (m->control.state == SCAN_STATE_OFF)
                return;
        m->pending_wake = why;
        manager_arm_sample(m, 0);
}
