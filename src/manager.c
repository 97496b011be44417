/* manager.c — wires the event loop and runs the reconcile line: inputs → decide → record → sysfs → node → bus. */
#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "bus-manager.h"
#include "crash-point.h"
#include "kube-objects.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "meminfo.h"
#include "message-id.h"
#include "policy.h"
#include "record.h"
#include "source-file.h"
#include "source-kube.h"
#include "manager-internal.h"
#include "manager-metrics.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

void manager_schedule_reconcile(Manager *m) {
        if (m->reconcile_source)
                (void) sd_event_source_set_enabled(m->reconcile_source, SD_EVENT_ONESHOT);
}

bool manager_connected(const Manager *m) {
        return m->source && m->source->connected;
}

void manager_set_last_error(Manager *m, const char *error) {
        if (streq_ptr(m->last_error, error))
                return;
        if (free_and_strdup(&m->last_error, error) < 0)
                (void) log_oom();
        bus_manager_emit_changed(m);
}

static void on_source_changed(Source *s, void *userdata) {
        manager_schedule_reconcile(userdata);
}

static void on_memory_hotplug(void *userdata) {
        Manager *m = userdata;

        log_debug("Memory hotplug event, re-tuning.");
        m->policy_tick = true;
        manager_wake_scan(m, SCAN_WAKE_HOTPLUG);
        manager_schedule_reconcile(m);
}

static int manager_open_sysfs(Manager *m) {
        int r;

        m->sysfs = ksm_sysfs_free(m->sysfs);
        r = ksm_sysfs_open(m->config.sysfs_dir, &m->sysfs);
        if (r == -ENOENT) {
                log_notice("KSM directory %s does not exist: this kernel has no KSM.", m->config.sysfs_dir);
                return 0;
        }
        if (r < 0)
                return log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_SYSFS_ERROR, "Failed to open KSM directory %s: %m",
                                         m->config.sysfs_dir);
        return 0;
}

/* What identifies the source the configuration asks for: a different key needs a new source. */
static char *manager_source_key(const Config *c) {
        return strdup_printf("%s\n%s\n%s\n%s", source_type_to_string(c->source_type), strempty(c->kubevirt_file),
                             strempty(c->node_file), strempty(c->kubeconfig));
}

/* Creates and starts the source the configuration asks for, and only then replaces the running
 * one with it: a new source that fails leaves the old one in place. 0 or -errno (logged). */
static int manager_start_source(Manager *m) {
        _cleanup_(source_freep) Source *s = NULL;
        _cleanup_free_ char *key = NULL;
        int r;

        key = manager_source_key(&m->config);
        if (!key)
                return log_oom();

        switch (m->config.source_type) {
        case SOURCE_FILE:
                r = source_file_new(m->event, m->node_name, m->config.kubevirt_file, m->config.node_file,
                                    on_source_changed, m, &s);
                break;
        case SOURCE_KUBERNETES: {
                _cleanup_free_ char *reason = NULL;
                const char *host = getenv("KUBERNETES_SERVICE_HOST");
                KubeCredentials creds = {};

                if (m->config.kubeconfig)
                        r = kubeconfig_load(m->config.kubeconfig, NULL, &creds, &reason);
                else if (host && *host)
                        r = kubeconfig_in_cluster(host, getenv("KUBERNETES_SERVICE_PORT") ?: "443", NULL, &creds, &reason);
                else
                        return log_error_errno(-ENOENT, "[Source] Type=kubernetes needs [Kubernetes] Kubeconfig= or an "
                                               "in-cluster service account ($KUBERNETES_SERVICE_HOST is not set).");
                if (r < 0)
                        return log_error_errno(r, "Failed to load Kubernetes credentials from %s: %s",
                                               m->config.kubeconfig ?: "the service account", reason ?: strerror(-r));

                r = source_kube_new(m->event, m->node_name,
                                    &(SourceKubeOptions) {
                                            .credentials = &creds,
                                            .watch_idle_timeout_usec = m->config.watch_idle_timeout_usec,
                                            .event_namespace = "default",
                                    },
                                    on_source_changed, m, &s);
                kube_credentials_done(&creds);
                if (r >= 0)
                        log_info("Using the API server at %s.", m->config.kubeconfig ? "the kubeconfig's server" : host);
                break;
        }
        default:
                return log_error_errno(-EOPNOTSUPP, "Source type '%s' is not supported by this build.",
                                       source_type_to_string(m->config.source_type));
        }
        if (r < 0)
                return log_error_errno(r, "Failed to create %s source: %m",
                                       source_type_to_string(m->config.source_type));

        r = source_start(s);
        if (r < 0)
                return log_error_errno(r, "Failed to start %s source: %m",
                                       source_type_to_string(m->config.source_type));

        source_free(m->source);
        m->source = TAKE_PTR(s);
        free(m->source_key);
        m->source_key = TAKE_PTR(key);
        return 0;
}

static int manager_arm_recheck(Manager *m) {
        return sd_event_source_set_time_relative(m->recheck_timer, m->config.recheck_usec);
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->policy_tick = true;
        if (m->control.state == SCAN_STATE_OFF)
                manager_measure_ksmd_cpu(m);
        manager_schedule_reconcile(m);
        (void) manager_arm_recheck(m);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* ---- the reconcile line ------------------------------------------------------------------- */

/* One sentence on the selection, for the Reason property. */
static char *manager_selection_why(Manager *m, const KsmConfig *kc) {
        const char *where = m->config.selector_annotation ? "the selector annotation" : "the nodeLabelSelector";
        const char *cr = strna(kc->source);

        switch (kc->state) {
        case KSM_CONFIG_NO_CR:
                return strdup("not selected: no KubeVirt resource found");
        case KSM_CONFIG_ABSENT:
                return m->config.selector_annotation
                        ? strdup_printf("not selected: KubeVirt %s has no annotation %s", cr, m->config.selector_annotation)
                        : strdup_printf("not selected: KubeVirt %s has no ksmConfiguration.nodeLabelSelector", cr);
        case KSM_CONFIG_SELECTOR:
                return m->selection == SELECTION_YES
                        ? strdup_printf("selected by %s of KubeVirt %s", where, cr)
                        : strdup_printf("not selected: %s of KubeVirt %s does not match this node's labels", where, cr);
        case KSM_CONFIG_AMBIGUOUS:
                return strdup_printf("%s: changing nothing", strna(kc->error));
        default:
                return strdup_printf("not selected: %s", strna(kc->error));
        }
}

/* Works out the selection from the source's view, saying a configuration problem once. */
static void manager_update_selection(Manager *m, const NodeView *node, bool have_node) {
        Source *s = m->source;
        KsmConfig kc = {};
        _cleanup_free_ char *old_error = TAKE_PTR(m->config_error);
        int r;

        /* While the inputs are not current (API server away, a file that does not parse) KSM is
         * left as it is. */
        if (!have_node || !s || !s->connected || !s->kubevirts_known || !s->node) {
                m->selection = SELECTION_HOLD;
                m->config_error = TAKE_PTR(old_error);
                free(m->selection_why);
                m->selection_why = strdup_printf("selection unknown: %s", s && s->error ? s->error :
                                                 "waiting for the KubeVirt resources and this node's object");
                return;
        }

        r = ksm_config_from_kubevirts_with(s->kubevirts, s->n_kubevirts, m->config.selector_annotation, &kc);
        if (r < 0) {
                (void) log_oom();
                m->selection = SELECTION_HOLD;
                return;
        }

        m->selection = reconcile_selection(&kc, node->labels);
        free(m->selection_why);
        m->selection_why = manager_selection_why(m, &kc);
        if (kc.error) {
                m->config_error = strdup(kc.error);
                if (!streq_ptr(old_error, kc.error))
                        log_warning("%s", kc.error);
        } else if (old_error)
                log_info("KSM configuration is usable again.");

        log_debug("KSM configuration: %s%s%s, selection: %s.", ksm_config_state_to_string(kc.state),
                  kc.source ? " from " : "", strempty(kc.source), selection_to_string(m->selection));
        ksm_config_done(&kc);
}

static void manager_load_record(Manager *m) {
        _cleanup_free_ char *damage = NULL;
        int r;

        r = record_load_or_set_aside(m->state_dir, &m->record, &damage);
        if (damage && m->record_state != RECORD_CORRUPT && free_and_strdup(&m->record_error, damage) >= 0)
                log_full_errno_id(LOG_WARNING, 0, KSMD_MESSAGE_RECORD_ERROR, "%s.", damage);
        if (r > 0)
                m->record_state = RECORD_VALID;
        else if (r == 0)
                m->record_state = RECORD_NONE;
        else {
                if (m->record_state != RECORD_CORRUPT && !damage)
                        log_full_errno_id(LOG_WARNING, r, KSMD_MESSAGE_RECORD_ERROR,
                                          "Ownership record %s/" RECORD_FILE_NAME " is unreadable (%s), "
                                          "falling back to the node annotation " KSM_ANNOTATION_MANAGED ".",
                                          m->state_dir, r == -EBADMSG ? "corrupt or truncated" : strerror(-r));
                m->record_state = RECORD_CORRUPT;
                m->record = (Record) {};
        }
}

/* Policy=pressure: the override annotations, with their complaints said when they change. */
static int manager_apply_overrides(Manager *m, const NodeView *node, PolicyParams *params) {
        _cleanup_strv_free_ char **msgs = NULL;
        _cleanup_free_ char *joined = NULL;
        int r;

        r = policy_apply_overrides(params, node->annotations, &msgs);
        if (r < 0)
                return r;
        joined = strv_join(msgs, "\n");
        if (!joined)
                return -ENOMEM;
        if (!streq(joined, strempty(m->override_warnings))) {
                for (char **i = msgs; i && *i; i++)
                        log_warning("%s", *i);
                free(m->override_warnings);
                m->override_warnings = TAKE_PTR(joined);
        }
        return 0;
}

static void gathered_done(Gathered *g) {
        node_view_done(&g->node);
}

static int manager_gather(Manager *m, Gathered *g, ReconcileInput *ret) {
        bool stepped;
        int r;

        if (!m->sysfs)
                (void) manager_open_sysfs(m);
        if (m->sysfs) {
                r = ksm_sysfs_snapshot(m->sysfs, &m->snapshot);
                if (r < 0)
                        return r;
        } else
                m->snapshot = (KsmSnapshot) {};

        if (m->source && m->source->node) {
                _cleanup_free_ char *reason = NULL;

                r = node_view_from_json(m->source->node, &g->node, &reason);
                if (r == -ENOMEM)
                        return r;
                g->have_node = r >= 0;
        }

        manager_update_selection(m, &g->node, g->have_node);
        m->selected = m->selection == SELECTION_YES;
        manager_load_record(m);

        policy_params_from_config(&m->config, &g->params);
        if (m->config.policy == POLICY_PRESSURE && g->have_node) {
                r = manager_apply_overrides(m, &g->node, &g->params);
                if (r < 0)
                        return r;
        }
        r = meminfo_read(m->config.meminfo_file, &g->mi);
        if (r < 0)
                log_debug_errno(r, "Failed to read %s, assuming no memory pressure: %m", m->config.meminfo_file);
        g->have_mi = r >= 0;

        *ret = (ReconcileInput) {
                .available = m->snapshot.available,
                .selection = m->selection,
                .run = m->snapshot.run,
                .pages_merged = m->snapshot.pages_shared > 0 || m->snapshot.pages_sharing > 0,
                .pages_to_scan = m->snapshot.pages_to_scan,
                .sleep_millisecs = m->snapshot.sleep_millisecs,
                .pages_locked = streq(m->snapshot.advisor_mode, "scan-time"),
                .record_state = m->record_state,
                .record = m->record,
                .has_advisor = m->snapshot.has_advisor,
                .advisor = m->snapshot.advisor,
                .want_advisor = policy_effective(m->config.policy, m->snapshot.has_advisor) == POLICY_ADVISOR,
                .advisor_want = {
                        .scan_time = true,
                        .target_scan_time_sec = m->config.advisor_target_scan_time_sec,
                        .max_cpu = m->config.advisor_max_cpu,
                        .min_pages = m->config.advisor_min_pages,
                        .max_pages = m->config.advisor_max_pages,
                },
                .have_node = g->have_node,
                .node_annotation = g->have_node ? node_view_annotation(&g->node, m->config.managed_annotation) : NULL,
        };
        r = manager_observe(m, g);
        if (r < 0)
                return r;
        ret->hold = m->conflict.holding;

        policy_want(&(PolicyInput) {
                        .kind = m->config.policy,
                        .params = &g->params,
                        .scan = &m->scan_params,
                        .mi = g->have_mi ? &g->mi : NULL,
                        .owned_running = m->record_state == RECORD_VALID && m->record.claimed &&
                                         ret->run == KSM_RUN_MERGING,
                        .now = { .run = true, .pages_to_scan = ret->pages_to_scan,
                                 .sleep_millisecs = ret->sleep_millisecs },
                        .tick = m->policy_tick,
                        .fresh = m->policy_fresh,
                        .last = m->have_last_want ? &m->last_want : NULL,
                        .control = m->control.state != SCAN_STATE_OFF ? &m->control : NULL,
                        .advisor_available = m->snapshot.has_advisor,
                    }, &ret->want, &stepped);
        if (stepped) {
                m->last_want = ret->want;
                m->have_last_want = true;
        }
        m->policy_tick = m->policy_fresh = false;
        return 0;
}

static int manager_write_record(Manager *m, const Record *rec) {
        int r;

        r = record_save(m->state_dir, rec);
        if (r < 0)
                return log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_RECORD_ERROR,
                                         "Failed to write ownership record to %s: %m", m->state_dir);
        m->record = *rec;
        m->record_state = RECORD_VALID;
        return 0;
}

static int manager_write_attr(Manager *m, const char *attr, uint64_t value, char **errors) {
        int r;

        r = ksm_sysfs_write_u64(m->sysfs, attr, value);
        if (r >= 0) {
                /* What the daemon wrote is not someone else's change. */
                if (streq(attr, "run")) {
                        m->wrote.has_run = m->seen.has_run = true;
                        m->wrote.run = m->seen.run = (KsmRun) value;
                } else if (streq(attr, "pages_to_scan")) {
                        m->wrote.has_pages = m->seen.has_pages = true;
                        m->wrote.pages_to_scan = m->seen.pages_to_scan = (uint32_t) value;
                } else if (streq(attr, "sleep_millisecs")) {
                        m->wrote.has_sleep = m->seen.has_sleep = true;
                        m->wrote.sleep_millisecs = m->seen.sleep_millisecs = (uint32_t) value;
                }
        }
        if (r < 0) {
                char *e = NULL;

                log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_SYSFS_ERROR, "Failed to write %" PRIu64 " to %s/%s: %m", value,
                                  m->config.sysfs_dir, attr);
                if ((e = strdup_printf("Failed to write %" PRIu64 " to %s/%s: %s", value, m->config.sysfs_dir, attr,
                             strerror(-r)))) {
                        free(*errors);
                        *errors = e;
                }
        }
        return r;
}

/* The advisor's settings, then advisor_mode: the mode applies settings already in place. */
static int manager_write_advisor(Manager *m, const KsmAdvisor *a, char **errors) {
        const char *mode = a->scan_time ? "scan-time" : "none";
        int r;

        /* Minimum and maximum in the order that keeps min <= max at every step. */
        if (a->min_pages > m->snapshot.advisor.max_pages) {
                (void) manager_write_attr(m, "advisor_max_pages_to_scan", a->max_pages, errors);
                (void) manager_write_attr(m, "advisor_min_pages_to_scan", a->min_pages, errors);
        } else {
                (void) manager_write_attr(m, "advisor_min_pages_to_scan", a->min_pages, errors);
                (void) manager_write_attr(m, "advisor_max_pages_to_scan", a->max_pages, errors);
        }
        (void) manager_write_attr(m, "advisor_target_scan_time", a->target_scan_time_sec, errors);
        (void) manager_write_attr(m, "advisor_max_cpu", a->max_cpu, errors);

        r = ksm_sysfs_write_string(m->sysfs, "advisor_mode", mode);
        if (r < 0) {
                log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_SYSFS_ERROR, "Failed to write %s to %s/advisor_mode: %m", mode,
                                  m->config.sysfs_dir);
                free(*errors);
                *errors = strdup_printf("Failed to write %s to %s/advisor_mode: %s", mode, m->config.sysfs_dir,
                                        strerror(-r));
                return r;
        }
        log_info("KSM advisor_mode set to %s.", mode);
        return 0;
}

static int manager_apply_writes(Manager *m, const ReconcileDecision *d, char **errors) {
        int r = 0;

        /* Starting: set the rate first so ksmd never runs at a stale rate. Stopping: stop first,
         * then put the old rate back. The advisor goes before pages_to_scan either way: writing
         * advisor_mode resets pages_to_scan, and the kernel refuses pages_to_scan under it. */
        if (d->write_run && d->run == KSM_RUN_STOPPED) {
                r = manager_write_attr(m, "run", d->run, errors);
                if (r < 0)
                        return r;
        }
        if (d->write_advisor)
                (void) manager_write_advisor(m, &d->advisor, errors);
        if (d->write_pages)
                (void) manager_write_attr(m, "pages_to_scan", d->pages_to_scan, errors);
        if (d->write_sleep)
                (void) manager_write_attr(m, "sleep_millisecs", d->sleep_millisecs, errors);
        if (d->write_run && d->run != KSM_RUN_STOPPED)
                r = manager_write_attr(m, "run", d->run, errors);
        return r;
}

static void manager_log_decision(Manager *m, const ReconcileInput *in, const ReconcileDecision *d) {
        if (d->action == KSM_ACTION_NONE) {
                log_debug("Node %s: %s.", m->node_name, d->reason);
                return;
        }
        log_action_id(d->action == KSM_ACTION_TUNE ? LOG_INFO : LOG_NOTICE,
                      d->action == KSM_ACTION_START ? KSMD_MESSAGE_KSM_ENABLED :
                      d->action == KSM_ACTION_TUNE ? KSMD_MESSAGE_KSM_TUNED : KSMD_MESSAGE_KSM_RESTORED,
                      ksm_action_to_string(d->action), ksm_run_to_string(d->write_run ? d->run : in->run),
                      "Node %s: %s.", m->node_name, d->reason);
}

/* Switching KSM on failed after the record claimed it: put back the scan settings already written
 * and the record as it was, so that the record never says the daemon manages a KSM it did not
 * switch on. If a setting cannot be put back, the claim stays: it is what lets a later restore
 * put it back. */
static void manager_undo_start(Manager *m, const ReconcileInput *in, const ReconcileDecision *d) {
        _cleanup_free_ char *ignored = NULL;
        Record before = in->record_state == RECORD_VALID ? in->record : (Record) { .claimed = false };
        int r = 0;

        if (d->write_advisor && in->has_advisor && manager_write_advisor(m, &in->advisor, &ignored) < 0)
                r = -EIO;
        if (d->write_pages && manager_write_attr(m, "pages_to_scan", in->pages_to_scan, &ignored) < 0)
                r = -EIO;
        if (d->write_sleep && manager_write_attr(m, "sleep_millisecs", in->sleep_millisecs, &ignored) < 0)
                r = -EIO;
        if (r < 0) {
                log_warning("Switching KSM on failed and a scan setting could not be put back: keeping the "
                            "claim, so that a later restore puts it back.");
                return;
        }
        if (manager_write_record(m, &before) < 0)
                return;
        log_notice("Switching KSM on failed: put the scan settings back, the ownership record does not claim KSM.");
}

/* Carries the decision out: record, sysfs, record, in the order it says; then the Event. Failures
 * end up in *errors. */
static void manager_apply(Manager *m, const ReconcileInput *in, const ReconcileDecision *d, char **errors) {
        _cleanup_free_ char *msg = NULL;
        const char *reason;
        int r;

        if (d->record_write_before && manager_write_record(m, &d->new_record) < 0) {
                /* Without the record a crash could lose track of what we change: do not touch KSM. */
                (void) free_and_strdup(errors, "Failed to write the ownership record; KSM left unchanged");
                return;
        }
        if (d->record_write_before) crash_point("record-written-before-sysfs");

        if (m->sysfs && (d->write_run || d->write_pages || d->write_sleep || d->write_advisor)) {
                r = manager_apply_writes(m, d, errors);
                if (r < 0 && d->action == KSM_ACTION_RESTORE)
                        return;         /* still ours: keep the claim so the next pass tries again */
                if (r < 0 && d->action == KSM_ACTION_START && !d->claimed) {
                        manager_undo_start(m, in, d);
                        return;
                }
        }

        if (d->record_write_after && manager_write_record(m, &d->new_record) < 0 && !*errors)
                (void) free_and_strdup(errors, "Failed to write the ownership record");
        else if (d->record_write_after) crash_point("record-written-after-sysfs");

        if (*errors || !m->source)
                return;
        r = reconcile_event(in, d, &reason, &msg);
        if (r < 0)
                (void) log_oom();
        else if (r > 0)
                source_post_event(m->source, "Normal", reason, msg);
}

void manager_update_status(Manager *m) {
        _cleanup_free_ char *s = NULL;
        const char *what;

        if (!m->snapshot.available)
                what = "KSM not available in this kernel";
        else if (m->snapshot.run == KSM_RUN_MERGING)
                what = m->managed ? "KSM running (managed)" : "KSM running (not managed)";
        else
                what = m->managed ? "KSM stopped (managed)" : "KSM stopped";

        if (!(s = strdup_printf("%s; node %s %s; source %s; scan %s; saved %" PRIu64 " KiB",
                     what, m->node_name,
                     m->selection == SELECTION_YES ? "selected" :
                     m->selection == SELECTION_NO ? "not selected" : "selection unknown",
                     manager_connected(m) ? "connected" : "not connected",
                     scan_state_to_string(m->control.state),
                     ksm_snapshot_saved_bytes(&m->snapshot, (uint64_t) sysconf(_SC_PAGESIZE)) / 1024)))
                return;

        if (!streq_ptr(s, m->status)) {
                (void) sd_notifyf(false, "STATUS=%s", s);
                free(m->status);
                m->status = TAKE_PTR(s);
        }
}

static int manager_patch_node(Manager *m, const NodeView *node, const char *label, const char *annotation) {
        _cleanup_(json_object_putp) json_object *patch = NULL;
        int r;

        r = node_build_patch_keys(node, m->config.enabled_label, label, m->config.managed_annotation, annotation,
                                  &patch);
        if (r < 0)
                return log_oom();
        owned_set_string(&m->wrote.label, &m->wrote_label, label);
        owned_set_string(&m->wrote.annotation, &m->wrote_annotation, annotation);
        m->wrote.has_label = m->wrote.has_annotation = true;
        if (r == 0)
                return 0;

        log_info("Updating node %s: %s", m->node_name,
                 json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        crash_point("node-patch-before");
        r = source_patch_node(m->source, patch);
        if (r < 0)
                return r;       /* logged by the source */
        return 1;
}

/* Tells the world what is true now: the Node's label and annotation, LastError, the status, the
 * bus. */
/* A failure that stays on the node (a refused Node patch, a failed record write, an invalid
 * selector) is also told to the cluster as a Warning Event: once per text, and not more than one
 * a minute. */
#define WARNING_EVENT_INTERVAL_USEC (60 * USEC_PER_SEC)

static void manager_warn_cluster(Manager *m, const char *error) {
        uint64_t now = now_usec(CLOCK_BOOTTIME);

        if (!error || !m->source || streq_ptr(error, m->warned_text))
                return;
        if (m->warned_usec > 0 && now < m->warned_usec + WARNING_EVENT_INTERVAL_USEC)
                return;
        if (free_and_strdup(&m->warned_text, error) < 0)
                return;
        m->warned_usec = now;
        source_post_event(m->source, "Warning", "KSMError", error);
}

static void manager_publish(Manager *m, const ReconcileDecision *d, const NodeView *node, const char *errors) {
        if (m->sysfs)
                (void) ksm_sysfs_snapshot(m->sysfs, &m->snapshot);
        m->managed = m->record_state == RECORD_VALID ? m->record.claimed : d->claimed;
        m->last_reconcile_usec = now_usec(CLOCK_REALTIME);

        if (d->patch_node) {
                const char *label = d->label, *annotation = d->annotation;

                /* A write failed: the label follows the truth, not the plan. */
                if (errors)
                        reconcile_node_keys(m->snapshot.available, m->snapshot.run, m->managed, &label, &annotation);
                if (manager_patch_node(m, node, label, annotation) > 0)
                        manager_seen_node_again(m);
        }

        {
                _cleanup_free_ char *conflict = m->conflict_what ? strdup_printf("Conflict: %s", m->conflict_what) : NULL;
                const char *failure = errors ?: m->reload_error ?: m->source_error ?: m->config_error ?: m->record_error;

                manager_set_last_error(m, failure ?: conflict ?: (m->source ? m->source->error : NULL));
                /* A source error while connected is a refused Node patch: tell the cluster; one
                 * while not connected is about reaching it: no point. */
                manager_warn_cluster(m, failure ?: (m->source && m->source->connected ? m->source->error : NULL));
        }
        manager_update_status(m);
        bus_manager_emit_changed(m);
}

/* How often run is read while it says 2 (someone else unmerging). */
#define UNMERGE_POLL_USEC USEC_PER_SEC

static int manager_reconcile(Manager *m) {
        _cleanup_free_ char *errors = NULL;
        _cleanup_(gathered_done) Gathered g = {};
        ReconcileInput in;
        ReconcileDecision d;
        uint64_t start_usec;
        int r;

        /* While an unmerge runs, run reads 2 and a write to it would block: wait for it. */
        if (m->unmerge_pid > 0)
                return 0;
        m->n_reconciles++;
        start_usec = now_usec(CLOCK_MONOTONIC);

        r = manager_gather(m, &g, &in);
        if (r < 0)
                return log_oom();

        reconcile_decide(&in, &d);
        manager_log_decision(m, &in, &d);
        manager_apply(m, &in, &d, &errors);
        free(m->reason);
        m->reason = reconcile_explain(&in, &d, m->selection_why, m->conflict.holding ? m->conflict_what : NULL);
        manager_publish(m, &d, &g.node, errors);
        manager_update_scan_control(m);
        metrics_histogram_observe(&metrics_counters.reconcile, now_usec(CLOCK_MONOTONIC) - start_usec);

        /* Someone else's unmerge: look again soon rather than at the next RecheckSec, so that KSM
         * is managed again shortly after it is done. */
        if (reconcile_unmerge_in_progress(&in) && m->config.recheck_usec > UNMERGE_POLL_USEC) {
                (void) sd_event_source_set_time_relative(m->recheck_timer, UNMERGE_POLL_USEC);
                (void) sd_event_source_set_enabled(m->recheck_timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int on_reconcile(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int r;

        r = manager_reconcile(m);
        if (r == -ENOMEM)
                return sd_event_exit(m->event, EXIT_FAILURE);
        return 0;
}

/* ---- reload --------------------------------------------------------------------------------- */

/* A source that failed to start after a reload is retried with a backoff, from 1 s up to 1 min:
 * a kubeconfig or a directory that is only late is picked up without another SIGHUP. */
#define SOURCE_RETRY_MIN_USEC USEC_PER_SEC
#define SOURCE_RETRY_MAX_USEC (60 * USEC_PER_SEC)

static void manager_source_retry_off(Manager *m) {
        m->source_retry_usec = 0;
        if (m->source_retry_timer)
                (void) sd_event_source_set_enabled(m->source_retry_timer, SD_EVENT_OFF);
}

static int on_source_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* Starts the source the configuration asks for; on failure keeps the running one, says so in
 * LastError, and arms the next attempt. */
static void manager_try_source(Manager *m) {
        _cleanup_free_ char *e = NULL;
        int r;

        r = manager_start_source(m);
        if (r >= 0) {
                if (m->source_retry_usec > 0)
                        log_info("Started the %s source from the reloaded configuration.",
                                 source_type_to_string(m->config.source_type));
                manager_source_retry_off(m);
                m->source_error = mfree(m->source_error);
                manager_schedule_reconcile(m);
                return;
        }

        m->source_retry_usec = m->source_retry_usec == 0 ? SOURCE_RETRY_MIN_USEC :
                               MIN(m->source_retry_usec * 2, SOURCE_RETRY_MAX_USEC);
        e = strdup_printf("Failed to start the %s source of the reloaded configuration: %s; %s, retrying in %" PRIu64 " s",
                          source_type_to_string(m->config.source_type), strerror(-r),
                          m->source ? "kept the old source" : "no source is running",
                          m->source_retry_usec / USEC_PER_SEC);
        if (e)
                log_warning("%s", e);
        free(m->source_error);
        m->source_error = TAKE_PTR(e);
        manager_schedule_reconcile(m);          /* publishes it as LastError */

        if (!m->source_retry_timer) {
                r = sd_event_add_time_relative(m->event, &m->source_retry_timer, CLOCK_BOOTTIME,
                                               m->source_retry_usec, USEC_PER_SEC / 10, on_source_retry, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to arm the source retry timer, retrying on the next SIGHUP: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->source_retry_timer, "source-retry");
                return;
        }
        (void) sd_event_source_set_time_relative(m->source_retry_timer, m->source_retry_usec);
        (void) sd_event_source_set_enabled(m->source_retry_timer, SD_EVENT_ONESHOT);
}

static int on_source_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        manager_try_source(m);
        return 0;
}

static void on_config_warning(const char *file, unsigned line, const char *msg, void *userdata) {
        log_warning("%s:%u: %s", strna(file), line, msg);
}

int manager_reload(Manager *m) {
        _cleanup_free_ char *file = NULL, *msg = NULL;
        _cleanup_free_ char *key = NULL;
        const char *where = NULL;
        Config c;
        bool source_changed, sysfs_changed;
        unsigned line = 0;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=Reloading configuration...",
                          now_usec(CLOCK_MONOTONIC));

        r = config_init(&c);
        if (r < 0)
                return log_oom();
        r = config_load(&c, m->config_path, true, on_config_warning, NULL, &file, &line, &msg);
        if (r >= 0)
                r = config_verify(&c, &msg);
        if (r >= 0) {
                r = config_check_paths(&c, &where, &msg);
                if (r == -ENOMEM) {
                        config_done(&c);
                        return log_oom();
                }
                if (r < 0 && where) {
                        /* "FILE:LINE" of the key at fault. */
                        free(file);
                        file = strdup(where);
                }
        }
        if (r < 0) {
                _cleanup_free_ char *e = NULL;

                if (line > 0)
                        e = strdup_printf("Invalid configuration, kept the old one: %s:%u: %s",
                                        strna(file), line, strna(msg));
                else
                        e = strdup_printf("Invalid configuration, kept the old one: %s: %s",
                                        file ?: m->config_path, msg ?: strerror(-r));
                log_full_errno_id(LOG_WARNING, 0, KSMD_MESSAGE_RELOAD_REFUSED, "%s", strna(e));
                free(m->reload_error);
                m->reload_error = TAKE_PTR(e);
                manager_set_last_error(m, m->reload_error);
                config_done(&c);
                free(m->status);
                m->status = NULL;
                manager_update_status(m);
                (void) sd_notify(false, "READY=1");
                return 0;
        }

        /* The node name and the state directory come from the environment at start and stay. The
         * source is compared with the one running, which a failed start may have kept. */
        key = manager_source_key(&c);
        if (!key) {
                config_done(&c);
                return log_oom();
        }
        source_changed = !streq_ptr(key, m->source_key);
        sysfs_changed = !streq_ptr(c.sysfs_dir, m->config.sysfs_dir);
        if (c.policy != m->config.policy) {
                m->policy_fresh = true;
                m->have_last_want = false;
        }

        config_move(&m->config, &c);
        crash_point("reload-mid");
        m->reload_error = mfree(m->reload_error);
        m->record_error = mfree(m->record_error);
        if (m->log_level_override >= 0)
                log_set_max_level(m->log_level_override);
        else if (m->config.log_level >= 0)
                log_set_max_level(m->config.log_level);
        else
                log_set_max_level(LOG_INFO);
        /* New bounds or a new policy apply now, not at the next tick; the scan controller starts
         * over with its new parameters. */
        m->policy_tick = true;
        scan_params_from_config(&m->config, &m->scan_params);
        m->control.state = SCAN_STATE_OFF;

        if (sysfs_changed)
                (void) manager_open_sysfs(m);
        if (source_changed)
                manager_try_source(m);
        else
                manager_source_retry_off(m);
        (void) manager_arm_recheck(m);
        if (manager_update_metrics_server(m) < 0)
                return -ENOMEM;

        log_full_errno_id(LOG_INFO, 0, KSMD_MESSAGE_RELOADED, "Configuration reloaded from %s (policy %s).",
                          m->config_path, policy_kind_to_string(m->config.policy));
        manager_schedule_reconcile(m);
        bus_manager_emit_changed(m);
        (void) sd_notify(false, "READY=1");
        return 1;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        int r;

        r = manager_reload(userdata);
        if (r == -ENOMEM)
                return sd_event_exit(sd_event_source_get_event(s), EXIT_FAILURE);
        return 0;
}

/* ---- unmerge -------------------------------------------------------------------------------- */

static int on_unmerge_done(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = TAKE_PTR(m->unmerge_message);
        int r = 0;

        m->unmerge_child = sd_event_source_disable_unref(m->unmerge_child);
        m->unmerge_pid = 0;

        if (si->si_code != CLD_EXITED || si->si_status != 0) {
                r = si->si_code == CLD_EXITED ? -si->si_status : -EIO;
                log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_SYSFS_ERROR, "Unmerging failed: %m");
        } else
                log_action_id(LOG_NOTICE, KSMD_MESSAGE_UNMERGED, "unmerge", "unmerging",
                              "Unmerged all KSM pages on node %s.", m->node_name);

        crash_point("unmerge-finished");
        /* Back to where we were: a KSM that ran (ours or not) runs again, a stopped one reads 0
         * again (the kernel leaves 2 in run, which reconcile takes for someone else's unmerge);
         * reconcile decides the rest. */
        if (m->unmerge_run_before != KSM_RUN_UNMERGING && m->sysfs) {
                int k = ksm_sysfs_write_u64(m->sysfs, "run", m->unmerge_run_before);
                if (k >= 0) {
                        m->wrote.has_run = m->seen.has_run = true;
                        m->wrote.run = m->seen.run = m->unmerge_run_before;
                }
                if (k < 0)
                        log_full_errno_id(LOG_ERR, k, KSMD_MESSAGE_SYSFS_ERROR,
                                          "Failed to write %u back to run after unmerging: %m",
                                          (unsigned) m->unmerge_run_before);
        }
        manager_schedule_reconcile(m);

        if (msg) {
                if (r < 0)
                        (void) sd_bus_reply_method_errorf(msg, KSM_BUS_ERROR_IO, "Failed to unmerge: %s", strerror(-r));
                else
                        (void) sd_bus_reply_method_return(msg, NULL);
        }
        return 0;
}

int manager_start_unmerge(Manager *m, sd_bus_message *msg) {
        uint64_t run = 0;
        pid_t pid;
        int r;

        if (m->unmerge_pid > 0)
                return -EBUSY;
        if (!m->sysfs)
                return -ENOENT;

        r = ksm_sysfs_read_u64(m->sysfs, "run", &run);
        if (r < 0)
                return r;

        /* Writing 2 blocks until every merged page is copied back, seconds on a large host:
         * do it in a child, never in the event loop. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t ss;

                sigemptyset(&ss);
                (void) sigprocmask(SIG_SETMASK, &ss, NULL);
                r = ksm_sysfs_write_u64(m->sysfs, "run", KSM_RUN_UNMERGING);
                _exit(r < 0 ? (-r > 255 ? 255 : -r) : 0);
        }

        r = sd_event_add_child(m->event, &m->unmerge_child, pid, WEXITED, on_unmerge_done, m);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        (void) sd_event_source_set_description(m->unmerge_child, "unmerge");
        m->unmerge_pid = pid;
        m->unmerge_run_before = (KsmRun) run;
        /* The child's write is the daemon's own, not someone else's. */
        m->wrote.has_run = m->seen.has_run = true;
        m->wrote.run = m->seen.run = KSM_RUN_UNMERGING;
        m->unmerge_message = sd_bus_message_ref(msg);
        crash_point("unmerge-started");
        return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int manager_setup_loop(Manager *m) {
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");

        r = sd_event_set_signal_exit(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up SIGTERM/SIGINT handling: %m");

        r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up SIGHUP handling: %m");
        (void) sd_event_source_set_description(m->sighup_source, "sighup");

        (void) sd_event_set_watchdog(m->event, true);

        r = sd_event_add_defer(m->event, &m->reconcile_source, on_reconcile, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add reconcile event source: %m");
        (void) sd_event_source_set_description(m->reconcile_source, "reconcile");
        (void) sd_event_source_set_enabled(m->reconcile_source, SD_EVENT_OFF);

        r = sd_event_add_time_relative(m->event, &m->recheck_timer, CLOCK_BOOTTIME, m->config.recheck_usec,
                                       USEC_PER_SEC / 10, on_recheck, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add recheck timer: %m");
        (void) sd_event_source_set_description(m->recheck_timer, "recheck");

        r = sd_event_add_time_relative(m->event, &m->sample_timer, CLOCK_BOOTTIME, USEC_PER_SEC,
                                       USEC_PER_SEC / 10, on_scan_sample, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add scan sample timer: %m");
        (void) sd_event_source_set_description(m->sample_timer, "scan-sample");
        (void) sd_event_source_set_enabled(m->sample_timer, SD_EVENT_OFF);
        return 0;
}

static char *default_node_name(void) {
        const char *e = getenv("NODE_NAME");
        char host[256] = {};

        if (e && *e)
                return strdup(e);
        if (gethostname(host, sizeof(host) - 1) < 0)
                return strdup("localhost");
        return strdup(host);
}

int manager_new(Config *config, const char *config_path, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *sd;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->record_state = RECORD_NONE;
        m->selection = SELECTION_HOLD;
        m->log_level_override = -1;
        m->ksmd_cpu_percent = -1;
        r = config_init(&m->config);
        if (r < 0)
                return log_oom();
        config_move(&m->config, config);
        scan_params_from_config(&m->config, &m->scan_params);

        m->config_path = strdup(config_path);
        m->node_name = m->config.node_name ? strdup(m->config.node_name) : default_node_name();

        /* StateDirectory= in the config wins; else systemd's $STATE_DIRECTORY (first entry). */
        sd = getenv("STATE_DIRECTORY");
        if (m->config.state_dir)
                m->state_dir = strdup(m->config.state_dir);
        else if (sd && *sd)
                m->state_dir = strndup(sd, strcspn(sd, ":"));
        else
                m->state_dir = strdup(CONF_DEFAULT_STATE_DIR);
        if (!m->config_path || !m->node_name || !m->state_dir)
                return log_oom();

        if (!node_name_is_valid(m->node_name))
                log_warning("Node name '%s' is not a valid Kubernetes node name.", m->node_name);
        log_set_node(m->node_name);
        if (m->config.log_level >= 0)
                log_set_max_level(m->config.log_level);

        r = manager_setup_loop(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_start(Manager *m) {
        int r;

        r = manager_open_sysfs(m);
        if (r < 0)
                return r;

        manager_load_record(m);
        log_info("Ownership record: %s%s.",
                 m->record_state == RECORD_VALID ? "valid" : m->record_state == RECORD_NONE ? "none" : "corrupt",
                 m->record_state == RECORD_VALID && m->record.claimed ? ", KSM managed by this daemon" : "");

        r = sd_bus_open_system_with_description(&m->bus, "kubevirt-ksmd");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = bus_manager_add_object(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register object " KSM_BUS_PATH ": %m");
        r = sd_bus_request_name(m->bus, KSM_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name " KSM_BUS_NAME ": %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");

        r = manager_start_source(m);
        if (r < 0)
                return r;

        r = manager_update_metrics_server(m);
        if (r < 0)
                return r;

        r = udev_memory_new(m->event, on_memory_hotplug, m, &m->udev_memory);
        if (r < 0)
                log_warning_errno(r, "Failed to watch memory hotplug, ignoring: %m");

        manager_schedule_reconcile(m);

        log_full_errno_id(LOG_INFO, 0, KSMD_MESSAGE_STARTED,
                          "Started on node %s: source %s, policy %s, KSM directory %s, state in %s.",
                          m->node_name, source_type_to_string(m->config.source_type),
                          policy_kind_to_string(m->config.policy), m->config.sysfs_dir, m->state_dir);
        (void) sd_notifyf(false, "READY=1\nSTATUS=Started on node %s", m->node_name);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down, leaving KSM as it is");
        log_full_errno_id(LOG_INFO, 0, KSMD_MESSAGE_STOPPED,
                          "Stopping; KSM is left as it is and the ownership record is kept.");
        return r;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        if (m->unmerge_pid > 0) {
                /* Let a running unmerge finish: killing it mid-way is harmless but pointless. */
                (void) waitpid(m->unmerge_pid, NULL, 0);
        }
        sd_event_source_disable_unref(m->unmerge_child);
        sd_bus_message_unref(m->unmerge_message);

        m->source = source_free(m->source);
        udev_memory_free(m->udev_memory);
        metrics_server_free(m->metrics_server);
        sd_event_source_disable_unref(m->reconcile_source);
        sd_event_source_disable_unref(m->recheck_timer);
        sd_event_source_disable_unref(m->sample_timer);
        sd_event_source_disable_unref(m->sighup_source);
        sd_event_source_disable_unref(m->source_retry_timer);
        sd_bus_slot_unref(m->object_slot);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        ksm_sysfs_free(m->sysfs);

        config_done(&m->config);
        free(m->config_path);
        free(m->node_name);
        free(m->state_dir);
        free(m->last_error);
        free(m->config_error);
        free(m->reload_error);
        free(m->source_key);
        free(m->source_error);
        free(m->record_error);
        free(m->override_warnings);
        free(m->status);
        free(m->conflict_what);
        free(m->wrote_label);
        free(m->wrote_annotation);
        free(m->seen_label);
        free(m->seen_annotation);
        free(m->selection_why);
        free(m->reason);
        free(m->warned_text);
        free(m->published.reason);
        free(m->published.conflict);
        free(m->published.last_error);
        free(m);
        return NULL;
}
