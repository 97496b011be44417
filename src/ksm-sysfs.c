/* ksm-sysfs.c — typed reads and writes of the KSM sysfs directory, all relative to one dir fd. */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "crash-point.h"
#include "ksm-sysfs.h"
#include "macro.h"
#include "util.h"

/* A sysfs attribute is at most one page (fs/sysfs/file.c), so a bigger file is not a KSM
 * attribute. A number needs at most 20 digits, a sign and a newline. */
#define ATTR_MAX_BYTES          4096
#define ATTR_NUMBER_BYTES       32

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

typedef struct NameList {
        char **names;
        size_t n, allocated;
} NameList;

static void name_list_done(NameList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
        *l = (NameList) {};
}

static int name_list_add(NameList *l, const char *name) {
        if (l->n >= l->allocated) {
                size_t na = l->allocated ? l->allocated * 2 : 32;
                char **nn;

                nn = reallocarray(l->names, na, sizeof(char *));
                if (!nn)
                        return -ENOMEM;
                l->names = nn;
                l->allocated = na;
        }

        l->names[l->n] = strdup(name);
        if (!l->names[l->n])
                return -ENOMEM;
        l->n++;
        return 0;
}

static bool attr_name_is_valid(const char *attr) {
        /* One entry of the directory, never a path out of it. */
        return attr && *attr && !strchr(attr, '/') && !streq(attr, ".") && !streq(attr, "..");
}

int ksm_sysfs_open(const char *path, KsmSysfs **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *p = NULL;
        KsmSysfs *k;

        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);

        fd = open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (fd < 0)
                return -errno;

        p = strdup(path);
        if (!p)
                return -ENOMEM;

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;

        k->dir_fd = TAKE_FD(fd);
        k->path = TAKE_PTR(p);
        *ret = k;
        return 0;
}

KsmSysfs *ksm_sysfs_free(KsmSysfs *k) {
        if (!k)
                return NULL;

        if (k->dir_fd >= 0)
                (void) close(k->dir_fd);
        free(k->path);
        free(k);
        return NULL;
}

/* Reads the whole attribute into buf (NUL-terminated). 0, -EFBIG when it does not fit, or -errno. */
static int read_attr(const KsmSysfs *k, const char *attr, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;

        if (!attr_name_is_valid(attr))
                return -EINVAL;

        fd = openat(k->dir_fd, attr, O_RDONLY|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_fd_into(fd, buf, size, NULL);
}

/* Reads a number attribute into buf: 0, -EINVAL (too long to be a number) or -errno. */
static int read_number_attr(const KsmSysfs *k, const char *attr, char buf[static ATTR_NUMBER_BYTES]) {
        int r;

        r = read_attr(k, attr, buf, ATTR_NUMBER_BYTES);
        return r == -EFBIG ? -EINVAL : r;
}

int ksm_sysfs_read_u64(const KsmSysfs *k, const char *attr, uint64_t *ret) {
        char buf[ATTR_NUMBER_BYTES];
        int r;

        assert_return(k, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_number_attr(k, attr, buf);
        if (r < 0)
                return r;
        return safe_atou64(buf, ret) < 0 ? -EINVAL : 0;
}

int ksm_sysfs_read_i64(const KsmSysfs *k, const char *attr, int64_t *ret) {
        char buf[ATTR_NUMBER_BYTES];
        int r;

        assert_return(k, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_number_attr(k, attr, buf);
        if (r < 0)
                return r;
        return safe_atoi64(buf, ret) < 0 ? -EINVAL : 0;
}

/* One write(2), as the kernel parses each write as a whole value. O_TRUNC does nothing on sysfs
 * but keeps a regular-file test tree from ending up with stale trailing bytes. */
static int write_attr(const KsmSysfs *k, const char *attr, const char *data, size_t len) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        if (!attr_name_is_valid(attr))
                return -EINVAL;

        fd = openat(k->dir_fd, attr, O_WRONLY|O_TRUNC|O_CLOEXEC|O_NOCTTY);
        if (fd < 0)
                return -errno;

        do
                n = write(fd, data, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;

        crash_point_after_write(attr);
        return 0;
}

int ksm_sysfs_write_u64(const KsmSysfs *k, const char *attr, uint64_t value) {
        char buf[ATTR_NUMBER_BYTES];
        int n;

        assert_return(k, -EINVAL);

        n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);
        assert(n > 0 && (size_t) n < sizeof(buf));

        return write_attr(k, attr, buf, (size_t) n);
}

int ksm_sysfs_write_string(const KsmSysfs *k, const char *attr, const char *value) {
        _cleanup_free_ char *buf = NULL;
        size_t len;

        assert_return(k, -EINVAL);
        assert_return(value, -EINVAL);

        len = strlen(value);
        if (len >= ATTR_MAX_BYTES)
                return -EINVAL;
        if (len > 0 && value[len - 1] == '\n')
                return write_attr(k, attr, value, len);

        /* sysfs_streq() in the kernel accepts the value with or without the newline. */
        buf = malloc(len + 2);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, value, len);
        buf[len] = '\n';
        buf[len + 1] = 0;

        return write_attr(k, attr, buf, len + 1);
}

int ksm_sysfs_read_choice(const KsmSysfs *k, const char *attr, char **ret) {
        char buf[ATTR_MAX_BYTES + 1];
        const char *start, *end;
        char *s, *v;
        int r;

        assert_return(k, -EINVAL);
        assert_return(ret, -EINVAL);

        r = read_attr(k, attr, buf, sizeof(buf));
        if (r == -EFBIG)
                return -EINVAL;
        if (r < 0)
                return r;

        /* "[none] scan-time": the kernel marks the selected choice with brackets. */
        start = strchr(buf, '[');
        if (start) {
                start++;
                end = strchr(start, ']');
                if (!end || end == start)
                        return -EINVAL;
                v = strndup(start, (size_t) (end - start));
        } else {
                s = strstrip(buf);
                if (!*s)
                        return -EINVAL;
                v = strdup(s);
        }
        if (!v)
                return -ENOMEM;

        *ret = v;
        return 0;
}

static bool read_u32(const KsmSysfs *k, const char *attr, uint32_t *ret) {
        uint64_t v;

        if (ksm_sysfs_read_u64(k, attr, &v) < 0 || v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static bool read_u64(const KsmSysfs *k, const char *attr, uint64_t *ret) {
        return ksm_sysfs_read_u64(k, attr, ret) >= 0;
}

int ksm_sysfs_snapshot(const KsmSysfs *k, KsmSnapshot *ret) {
        _cleanup_free_ char *mode = NULL;
        KsmSnapshot s = {};
        uint64_t run;
        int64_t profit;
        int r;

        assert_return(k, -EINVAL);
        assert_return(ret, -EINVAL);

        /* Only "run" is mandatory: without it (or with content the kernel never writes) there is
         * no KSM to manage. */
        if (ksm_sysfs_read_u64(k, "run", &run) < 0 || run >= _KSM_RUN_MAX) {
                *ret = (KsmSnapshot) { .available = false, .run = KSM_RUN_STOPPED };
                return 0;
        }
        s.available = true;
        s.run = (KsmRun) run;

        s.has_pages_to_scan = read_u32(k, "pages_to_scan", &s.pages_to_scan);
        s.has_sleep_millisecs = read_u32(k, "sleep_millisecs", &s.sleep_millisecs);

        s.has_stats = read_u64(k, "pages_sharing", &s.pages_sharing);
        (void) read_u64(k, "pages_shared", &s.pages_shared);
        (void) read_u64(k, "pages_unshared", &s.pages_unshared);
        (void) read_u64(k, "pages_volatile", &s.pages_volatile);
        (void) read_u64(k, "full_scans", &s.full_scans);

        /* Kernel 6.5+ (≈); older kernels count zero pages nowhere. */
        s.has_ksm_zero_pages = read_u64(k, "ksm_zero_pages", &s.ksm_zero_pages);

        /* Kernel 6.4+: bytes, negative while the rmap overhead exceeds the savings. */
        if (ksm_sysfs_read_i64(k, "general_profit", &profit) >= 0) {
                s.has_general_profit = true;
                s.general_profit_signed = profit;
                s.general_profit = profit > 0 ? (uint64_t) profit : 0;
        }

        s.has_merge_across_nodes = read_u64(k, "merge_across_nodes", &s.merge_across_nodes);

        /* Kernel 6.8+. */
        r = ksm_sysfs_read_choice(k, "advisor_mode", &mode);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                s.has_advisor = true;
                (void) snprintf(s.advisor_mode, sizeof(s.advisor_mode), "%s", mode);
                s.advisor.scan_time = streq(mode, "scan-time");
                (void) read_u32(k, "advisor_target_scan_time", &s.advisor.target_scan_time_sec);
                (void) read_u32(k, "advisor_max_cpu", &s.advisor.max_cpu);
                (void) read_u32(k, "advisor_min_pages_to_scan", &s.advisor.min_pages);
                (void) read_u32(k, "advisor_max_pages_to_scan", &s.advisor.max_pages);
        }

        *ret = s;
        return 0;
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int ksm_sysfs_foreach_numeric(const KsmSysfs *k, KsmSysfsStatFn cb, void *userdata) {
        _cleanup_(name_list_done) NameList list = {};
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        assert_return(k, -EINVAL);
        assert_return(cb, -EINVAL);

        /* A fresh fd for the stream: readdir() owns its offset, k->dir_fd stays untouched. */
        fd = openat(k->dir_fd, ".", O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);

        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }

                if (de->d_name[0] == '.')
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;

                r = name_list_add(&list, de->d_name);
                if (r < 0)
                        return r;
        }

        if (list.n > 0)
                qsort(list.names, list.n, sizeof(char *), name_compare);

        for (size_t i = 0; i < list.n; i++) {
                struct stat st;
                int64_t v;

                /* d_type is DT_UNKNOWN on some file systems: check for real. */
                if (fstatat(k->dir_fd, list.names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;

                /* Not a single integer (advisor_mode), unreadable or vanished: not a statistic. */
                if (ksm_sysfs_read_i64(k, list.names[i], &v) < 0)
                        continue;

                r = cb(list.names[i], v, userdata);
                if (r < 0)
                        return r;
        }

        return 0;
}

uint64_t ksm_snapshot_saved_bytes(const KsmSnapshot *s, uint64_t page_size) {
        uint64_t pages, bytes;

        assert(s);

        if (__builtin_add_overflow(s->pages_sharing, s->ksm_zero_pages, &pages) ||
            __builtin_mul_overflow(pages, page_size, &bytes))
                return UINT64_MAX;
        return bytes;
}

int64_t ksm_snapshot_general_profit(const KsmSnapshot *s, uint64_t page_size) {
        unsigned __int128 saved, items;
        __int128 profit;

        assert(s);

        if (s->has_general_profit)
                return s->general_profit_signed;

        /* mm/ksm.c: general_profit = (pages_sharing + ksm_zero_pages) x PAGE_SIZE
         *                            - ksm_rmap_items x sizeof(struct ksm_rmap_item).
         * Older kernels do not export the rmap item count; every scanned page that is shared,
         * sharing, unshared or volatile holds one, which is the kernel's own worst case. */
        saved = ((unsigned __int128) s->pages_sharing + s->ksm_zero_pages) * page_size;
        items = (unsigned __int128) s->pages_sharing + s->pages_shared + s->pages_unshared + s->pages_volatile;

        profit = (__int128) saved - (__int128) (items * KSM_RMAP_ITEM_BYTES);
        if (profit > INT64_MAX)
                return INT64_MAX;
        if (profit < INT64_MIN)
                return INT64_MIN;
        return (int64_t) profit;
}
