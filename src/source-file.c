/* source-file.c — [Source] Type=file: inotify on two JSON files, atomic write-back of the Node. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash-point.h"
#include "json-util.h"
#include "kube-objects.h"
#include "log.h"
#include "macro.h"
#include "message-id.h"
#include "source-file.h"
#include "util.h"

#define JSON_FILE_MAX_BYTES (16U * 1024U * 1024U)

typedef struct FileSource {
        char *kubevirt_file, *node_file;
        char *kubevirt_dir, *node_dir;
        const char *kubevirt_base, *node_base;
        int inotify_fd;
        int kubevirt_wd, node_wd;
        sd_event_source *inotify_source;
        sd_event_source *reload_source;         /* defer: several events, one reload */
        bool reload_kubevirt, reload_node;
        bool kubevirt_ok, node_ok;
} FileSource;

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

int source_file_read_json(const char *path, json_object **ret, char **reterr_reason) {
        _cleanup_free_ char *buf = NULL;
        json_object *obj = NULL;
        const char *jerr;
        size_t len;
        int r;

        r = read_full_file(path, JSON_FILE_MAX_BYTES, &buf, &len);
        if (r == -EFBIG && reterr_reason)
                *reterr_reason = strdup_printf("file larger than %u bytes", JSON_FILE_MAX_BYTES);
        if ((r == -EISDIR || r == -EBADFD) && reterr_reason)
                *reterr_reason = strdup(r == -EISDIR ? "is a directory, not a file" :
                                        "not a regular file (a FIFO, socket or device is never read)");
        if (r == -EISDIR || r == -EBADFD)
                return -EBADMSG;
        if (r < 0)
                return r;

        /* Bounded by value count, not only bytes: json-c spends ~800 bytes on a "{}". */
        r = json_parse_bounded(buf, len, 0, &obj, &jerr);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (reterr_reason)
                        *reterr_reason = len == 0 ? strdup("empty file") :
                                         r == -EMSGSIZE ? strdup_printf("more than %u JSON values", JSON_MAX_VALUES) :
                                         strdup_printf("invalid JSON: %s", jerr);
                return -EBADMSG;
        }

        *ret = obj;
        return 0;
}

int source_file_write_json(const char *path, json_object *obj, const struct stat *expect) {
        _cleanup_free_ char *text = NULL, *target = NULL;
        uid_t uid = (uid_t) -1;
        gid_t gid = (gid_t) -1;
        mode_t mode = 0644;
        const char *json;
        struct stat st;

        /* Compact: pretty printing grew a large Node past what the reader accepts. */
        json = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!json)
                return -ENOMEM;
        text = strdup_printf("%s\n", json);
        if (!text)
                return -ENOMEM;

        /* A symlinked Node file stays a link: the new file replaces the link's target, beside it.
         * A file that is not there yet is created where the path says. */
        target = realpath(path, NULL);
        if (!target && errno != ENOENT)
                return -errno;

        /* The replacement keeps the owner, group and mode of the file it replaces. */
        if (stat(target ?: path, &st) >= 0) {
                if (!S_ISREG(st.st_mode))
                        return -EBADFD;
                mode = st.st_mode & 07777;
                uid = st.st_uid;
                gid = st.st_gid;
        }

        return write_file_atomic_full(target ?: path, text, strlen(text), mode, uid, gid, expect);
}

static FileSource *file_source(Source *s) {
        return s->data;
}

static void file_source_update_connected(Source *s) {
        FileSource *f = file_source(s);

        s->connected = f->inotify_fd >= 0 && f->kubevirt_ok && f->node_ok;
}

static void file_source_load_kubevirt(Source *s) {
        FileSource *f = file_source(s);
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_free_ char *reason = NULL, *err = NULL;
        json_object **crs = NULL;
        size_t n = 0;
        int r;

        r = source_file_read_json(f->kubevirt_file, &doc, &reason);
        if (r == -ENOENT) {
                /* No file, no KubeVirt CR: nothing is selected. */
                log_info("KubeVirt file %s does not exist: no KubeVirt CR.", f->kubevirt_file);
                source_set_kubevirts(s, NULL, 0);
                f->kubevirt_ok = true;
                (void) source_set_error(s, NULL);
                return;
        }
        if (r >= 0) {
                r = kubevirts_from_document(doc, &crs, &n, &reason);
                if (r == -ENOMEM) {
                        (void) log_oom();
                        return;
                }
        }
        if (r < 0) {
                if (!(err = strdup_printf("Failed to read KubeVirt file %s: %s", f->kubevirt_file,
                             reason ?: strerror(-r))))
                        return;
                log_warning("%s; keeping the last good view.", err);
                (void) source_set_error(s, err);
                f->kubevirt_ok = false;
                return;
        }

        log_debug("Read %zu KubeVirt CR(s) from %s.", n, f->kubevirt_file);
        source_set_kubevirts(s, crs, n);
        f->kubevirt_ok = true;
        if (f->node_ok)
                (void) source_set_error(s, NULL);
}

static void file_source_load_node(Source *s) {
        FileSource *f = file_source(s);
        _cleanup_(json_object_putp) json_object *doc = NULL;
        _cleanup_free_ char *reason = NULL, *err = NULL;
        NodeView v = {};
        int r;

        r = source_file_read_json(f->node_file, &doc, &reason);
        if (r >= 0) {
                r = node_view_from_json(doc, &v, &reason);
                if (r == -ENOMEM) {
                        (void) log_oom();
                        return;
                }
        }
        if (r == -ENOENT) {
                /* A fresh install: nothing to keep, nothing wrong but a missing input. */
                if (!(err = strdup_printf("Waiting for the Node file %s (it does not exist)", f->node_file)))
                        return;
                log_notice("%s; KSM is left as it is until it appears.", err);
                (void) source_set_error(s, err);
                source_set_node(s, NULL);
                f->node_ok = false;
                return;
        }
        if (r < 0) {
                if (!(err = strdup_printf("Failed to read Node file %s: %s", f->node_file,
                             reason ?: strerror(-r))))
                        return;
                log_warning("%s; keeping the last good view.", err);
                (void) source_set_error(s, err);
                f->node_ok = false;
                return;
        }

        if (!streq(v.name, s->node_name))
                log_notice("Node file %s describes node '%s', not '%s'; using it anyway.",
                           f->node_file, v.name, s->node_name);
        node_view_done(&v);

        source_set_node(s, doc);
        f->node_ok = true;
        if (f->kubevirt_ok)
                (void) source_set_error(s, NULL);
}

static bool json_equal_or_both_null(json_object *a, json_object *b) {
        if (!a || !b)
                return a == b;
        return json_object_equal(a, b);
}

static int on_reload(sd_event_source *es, void *userdata) {
        Source *s = userdata;
        FileSource *f = file_source(s);
        _cleanup_(json_object_putp) json_object *old_node = s->node ? json_object_get(s->node) : NULL;
        _cleanup_free_ char *old_error = s->error ? strdup(s->error) : NULL;
        json_object **old_crs = s->kubevirts;
        size_t old_n = s->n_kubevirts;
        bool old_known = s->kubevirts_known, old_connected = s->connected, changed;
        bool reloaded_kubevirt = f->reload_kubevirt;

        /* Keep the old CR array alive across the reload to compare with it. */
        s->kubevirts = NULL;
        s->n_kubevirts = 0;
        if (!f->reload_kubevirt) {
                s->kubevirts = old_crs;
                s->n_kubevirts = old_n;
                old_crs = NULL;
        } else if (old_crs) {
                /* A failed read keeps the last good view: hand it back first. */
                json_object **copy = calloc(old_n ?: 1, sizeof(json_object *));
                if (!copy) {
                        s->kubevirts = old_crs;
                        s->n_kubevirts = old_n;
                        return log_oom();
                }
                for (size_t i = 0; i < old_n; i++)
                        copy[i] = json_object_get(old_crs[i]);
                s->kubevirts = copy;
                s->n_kubevirts = old_n;
        }

        if (f->reload_kubevirt)
                file_source_load_kubevirt(s);
        if (f->reload_node)
                file_source_load_node(s);
        f->reload_kubevirt = f->reload_node = false;
        file_source_update_connected(s);

        /* Our own write-back of the Node file comes back through inotify; a view that did not
         * change is no reason to reconcile again. */
        changed = s->connected != old_connected || !streq_ptr(s->error, old_error) ||
                  s->kubevirts_known != old_known || !json_equal_or_both_null(s->node, old_node);
        if (reloaded_kubevirt) {
                changed = changed || s->n_kubevirts != old_n;
                for (size_t i = 0; !changed && i < old_n; i++)
                        changed = !json_object_equal(s->kubevirts[i], old_crs[i]);
                kubevirts_free(old_crs, old_n);
        }

        if (changed)
                source_notify(s);
        else
                log_debug("Input files changed on disk, but not their content for us.");
        return 0;
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Source *s = userdata;
        FileSource *f = file_source(s);
        union {
                struct inotify_event ev;
                uint8_t raw[4096];
        } buf;
        ssize_t n;

        n = read(fd, &buf, sizeof(buf));
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return log_error_errno(errno, "Failed to read inotify events: %m");
        }

        for (uint8_t *p = buf.raw; p < buf.raw + n; ) {
                struct inotify_event *e = (struct inotify_event *) p;

                if (e->mask & IN_Q_OVERFLOW)
                        f->reload_kubevirt = f->reload_node = true;
                else if (e->len > 0) {
                        if (e->wd == f->kubevirt_wd && streq(e->name, f->kubevirt_base))
                                f->reload_kubevirt = true;
                        if (e->wd == f->node_wd && streq(e->name, f->node_base))
                                f->reload_node = true;
                }
                p += sizeof(struct inotify_event) + e->len;
        }

        if (f->reload_kubevirt || f->reload_node)
                (void) sd_event_source_set_enabled(f->reload_source, SD_EVENT_ONESHOT);
        return 0;
}

/* Watching the directories, not the files, catches editors that write a new file and rename
 * it over the old one, and files that appear later. */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR)

static int file_source_start(Source *s) {
        FileSource *f = file_source(s);
        int r;

        f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (f->inotify_fd < 0)
                return log_error_errno(errno, "Failed to create inotify instance: %m");

        f->kubevirt_wd = inotify_add_watch(f->inotify_fd, f->kubevirt_dir, WATCH_MASK);
        if (f->kubevirt_wd < 0)
                return log_error_errno(errno, "Failed to watch directory %s: %m", f->kubevirt_dir);
        f->node_wd = inotify_add_watch(f->inotify_fd, f->node_dir, WATCH_MASK);
        if (f->node_wd < 0)
                return log_error_errno(errno, "Failed to watch directory %s: %m", f->node_dir);

        r = sd_event_add_io(s->event, &f->inotify_source, f->inotify_fd, EPOLLIN, on_inotify, s);
        if (r < 0)
                return log_error_errno(r, "Failed to add inotify event source: %m");
        (void) sd_event_source_set_description(f->inotify_source, "file-source-inotify");

        r = sd_event_add_defer(s->event, &f->reload_source, on_reload, s);
        if (r < 0)
                return log_error_errno(r, "Failed to add reload event source: %m");
        (void) sd_event_source_set_description(f->reload_source, "file-source-reload");
        (void) sd_event_source_set_enabled(f->reload_source, SD_EVENT_OFF);

        file_source_load_kubevirt(s);
        file_source_load_node(s);
        file_source_update_connected(s);
        log_info("Watching KubeVirt file %s and Node file %s.", f->kubevirt_file, f->node_file);
        return 0;
}

static int file_source_patch_node(Source *s, json_object *patch) {
        FileSource *f = file_source(s);
        _cleanup_(json_object_putp) json_object *cur = NULL, *patched = NULL;
        _cleanup_free_ char *reason = NULL;
        bool stale;
        int r;

        /* Patch what is on disk now, not our cached copy, so that concurrent edits of other keys
         * survive; and when an editor replaces the file between that read and the rename, start
         * again rather than undo its edit. If the file does not parse, leave it alone: someone
         * is editing it. */
        for (unsigned attempt = 0;; attempt++) {
                struct stat st;

                if (stat(f->node_file, &st) < 0)
                        return log_warning_errno(errno, "Not updating Node file %s, it cannot be read: %m",
                                                 f->node_file);
                json_object_put(cur);
                cur = NULL;
                reason = mfree(reason);
                r = source_file_read_json(f->node_file, &cur, &reason);
                if (r < 0)
                        return log_warning_errno(r, "Not updating Node file %s, it cannot be read (%s).",
                                                 f->node_file, reason ?: strerror(-r));

                json_object_put(patched);
                patched = NULL;
                r = json_merge_patch(cur, patch, &patched);
                if (r < 0)
                        return log_oom();

                r = source_file_write_json(f->node_file, patched, attempt < 5 ? &st : NULL);
                if (r != -ESTALE)
                        break;
                log_debug("Node file %s changed while being patched; patching the new one.", f->node_file);
        }
        if (r < 0)
                return log_full_errno_id(LOG_ERR, r, KSMD_MESSAGE_NODE_UPDATE_ERROR, "Failed to write Node file %s: %m",
                                         f->node_file);
        crash_point("node-patch-after");

        log_debug("Patched Node file %s with %s", f->node_file,
                  json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        /* The file on disk had an edit the view had not seen yet (its inotify event is still
         * queued, and will find nothing new once this write is in the view): the reconcile that
         * sent this patch decided without it, so another one must run. */
        stale = !json_equal_or_both_null(cur, s->node);
        source_set_node(s, patched);
        if (stale)
                source_notify(s);
        return 0;
}

static void file_source_done(Source *s) {
        FileSource *f = file_source(s);

        if (!f)
                return;
        sd_event_source_disable_unref(f->inotify_source);
        sd_event_source_disable_unref(f->reload_source);
        if (f->inotify_fd >= 0)
                (void) close(f->inotify_fd);
        free(f->kubevirt_file);
        free(f->node_file);
        free(f->kubevirt_dir);
        free(f->node_dir);
        free(f);
        s->data = NULL;
}

static const SourceVTable file_source_vtable = {
        .type = "file",
        .start = file_source_start,
        .patch_node = file_source_patch_node,
        .done = file_source_done,
};

static int split_path(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash = strrchr(path, '/');

        if (!slash || slash[1] == 0)
                return -EINVAL;
        *ret_dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!*ret_dir)
                return -ENOMEM;
        *ret_base = slash + 1;
        return 0;
}

int source_file_new(sd_event *e, const char *node_name, const char *kubevirt_file, const char *node_file,
                    SourceChangedFn cb, void *userdata, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;
        FileSource *f;
        int r;

        assert(kubevirt_file && node_file && ret);

        r = source_new(&file_source_vtable, e, node_name, cb, userdata, &s);
        if (r < 0)
                return r;

        f = calloc(1, sizeof(FileSource));
        if (!f)
                return -ENOMEM;
        s->data = f;
        f->inotify_fd = -EBADF;
        f->kubevirt_wd = f->node_wd = -1;

        f->kubevirt_file = strdup(kubevirt_file);
        f->node_file = strdup(node_file);
        if (!f->kubevirt_file || !f->node_file)
                return -ENOMEM;
        r = split_path(f->kubevirt_file, &f->kubevirt_dir, &f->kubevirt_base);
        if (r < 0)
                return r;
        r = split_path(f->node_file, &f->node_dir, &f->node_base);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}
