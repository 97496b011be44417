/* util.c — pure string and number parsers: strict, no locale, no hidden errno state; bounded
 * whole-file reads and the one atomic file writer. */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "util.h"

static const char *skip_ws(const char *s) {
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

static bool only_ws(const char *s) {
        return *skip_ws(s) == 0;
}

int safe_atou64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s)
                return -EINVAL;
        s = skip_ws(s);
        if (!isdigit((unsigned char) *s))
                return -EINVAL;         /* rejects "", "-1", "+1" */

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s || !only_ws(end))
                return -EINVAL;

        if (ret)
                *ret = (uint64_t) v;
        return 0;
}

int safe_atou32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r;

        r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        if (ret)
                *ret = (uint32_t) v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret) {
        long long v;
        char *end;
        const char *p;

        if (!s)
                return -EINVAL;
        s = skip_ws(s);
        p = s;
        if (*p == '-' || *p == '+')
                p++;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s || !only_ws(end))
                return -EINVAL;

        if (ret)
                *ret = (int64_t) v;
        return 0;
}

int safe_atod(const char *s, double *ret) {
        double v = 0, scale = 1;
        bool digits = false;

        if (!s)
                return -EINVAL;
        s = skip_ws(s);

        /* Parsed by hand: strtod() depends on the locale and accepts hex, inf and nan. */
        for (; isdigit((unsigned char) *s); s++) {
                v = v * 10 + (*s - '0');
                digits = true;
        }
        if (*s == '.') {
                s++;
                for (; isdigit((unsigned char) *s); s++) {
                        scale /= 10;
                        v += (*s - '0') * scale;
                        digits = true;
                }
        }
        if (!digits || !only_ws(s))
                return -EINVAL;
        if (!isfinite(v))
                return -ERANGE;

        if (ret)
                *ret = v;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

int parse_sec(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                /* longest first so that "ms" is not read as "m" followed by junk */
                { "usec", 1 },
                { "us", 1 },
                { "msec", USEC_PER_MSEC },
                { "ms", USEC_PER_MSEC },
                { "seconds", USEC_PER_SEC },
                { "second", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "minutes", 60 * USEC_PER_SEC },
                { "minute", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "hours", 3600 * USEC_PER_SEC },
                { "hour", 3600 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        uint64_t total = 0;
        bool any = false;

        if (!s)
                return -EINVAL;

        for (;;) {
                unsigned long long v;
                uint64_t mult = USEC_PER_SEC;
                char *end;

                s = skip_ws(s);
                if (*s == 0)
                        break;
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;

                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                s = skip_ws(end);

                for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                        size_t l = strlen(units[i].suffix);

                        if (strncmp(s, units[i].suffix, l) == 0 && !isalpha((unsigned char) s[l])) {
                                mult = units[i].usec;
                                s += l;
                                break;
                        }
                }
                if (*s != 0 && !isspace((unsigned char) *s) && !isdigit((unsigned char) *s))
                        return -EINVAL;

                if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
                        return -ERANGE;
                total += v * mult;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

char *strstrip(char *s) {
        char *e;

        while (*s && isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        *e = 0;
        return s;
}

bool node_name_is_valid(const char *s) {
        size_t n;
        bool label_start = true;

        /* DNS-1123 subdomain: at most 253 characters of [a-z0-9.-], labels start and end alphanumeric. */
        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 253)
                return false;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

                if (c == '.') {
                        if (label_start || s[i - 1] == '-')
                                return false;
                        label_start = true;
                        continue;
                }
                if (c == '-') {
                        if (label_start)
                                return false;
                        continue;
                }
                if (!alnum)
                        return false;
                label_start = false;
        }
        return !label_start && s[n - 1] != '-';
}

static const char *const log_level_names[] = {
        [LOG_EMERG] = "emerg",
        [LOG_ALERT] = "alert",
        [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        uint32_t v;

        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        for (size_t i = 0; i < ELEMENTSOF(log_level_names); i++)
                if (strcasecmp(s, log_level_names[i]) == 0)
                        return (int) i;
        if (safe_atou32(s, &v) >= 0 && v <= LOG_DEBUG)
                return (int) v;
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(log_level_names))
                return NULL;
        return log_level_names[level];
}

char *strdup_vprintf(const char *fmt, va_list ap) {
        va_list aq;
        char *s;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return NULL;

        s = malloc((size_t) n + 1);
        if (!s)
                return NULL;
        (void) vsnprintf(s, (size_t) n + 1, fmt, ap);
        return s;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return s;
}

size_t strv_length(char * const *l) {
        size_t n = 0;

        for (; l && *l; l++)
                n++;
        return n;
}

static int strv_push(char ***l, char *s) {
        size_t n;
        char **nl;

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        nl = reallocarray(*l, n + 2, sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        assert(l);
        assert(s);
        return strv_push(l, strdup(s));
}

int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        char *s;

        assert(l);
        va_start(ap, fmt);
        s = strdup_vprintf(fmt, ap);
        va_end(ap);
        return strv_push(l, s);
}

char *strv_join(char * const *l, const char *sep) {
        size_t n = 0, k = strlen(sep);
        char *s, *p;

        for (char * const *i = l; i && *i; i++)
                n += strlen(*i) + k;
        s = malloc(n + 1);
        if (!s)
                return NULL;
        p = s;
        for (char * const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        *p = 0;
        return s;
}

int set_reterr(char **reterr, int error, const char *fmt, ...) {
        va_list ap;
        char *msg;

        if (!reterr)
                return error;

        va_start(ap, fmt);
        msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!msg)
                return -ENOMEM;

        for (char *c = msg; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
        free(*reterr);
        *reterr = msg;
        return error;
}

int read_fd_into(int fd, char *buf, size_t size, size_t *ret_len) {
        size_t len = 0;

        assert_return(buf && size > 0, -EINVAL);

        /* Until EOF: sysfs gives everything in one read(), regular files and pipes may not. Reading
         * one byte past the room tells "exactly full" from "too large". */
        for (;;) {
                char extra;
                bool full = len == size - 1;
                ssize_t n = read(fd, full ? &extra : buf + len, full ? 1 : size - 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                if (full)
                        return -EFBIG;
                len += (size_t) n;
        }

        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_full_fd(int fd, size_t max_bytes, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        int r;

        buf = malloc(max_bytes + 1);
        if (!buf)
                return -ENOMEM;
        r = read_fd_into(fd, buf, max_bytes + 1, ret_size);
        if (r < 0) {
                /* Wiped: the callers read kubeconfigs and token files too. */
                explicit_bzero(buf, max_bytes + 1);
                return r;
        }
        *ret = TAKE_PTR(buf);
        return 0;
}

int open_regular_file(const char *path, struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever, and
         * with it the event loop (SIGTERM included). It does nothing to a regular file. */
        fd = open(path, O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

int read_full_file(const char *path, size_t max_bytes, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = open_regular_file(path, NULL);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, max_bytes, ret, ret_size);
}

/* The code point of the well-formed UTF-8 sequence at s (its length in *ret_len), or -1. */
static int32_t utf8_decode(const unsigned char *s, size_t *ret_len) {
        uint32_t c;
        size_t n;

        if (s[0] < 0x80) {
                *ret_len = 1;
                return s[0];
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, c = s[0] & 0x07;
        else
                return -1;      /* a continuation byte, an overlong lead (c0, c1) or beyond U+10FFFF */

        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return -1;      /* also stops at the NUL of a cut sequence */
                c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
                return -1;      /* overlong, or too large */
        /* What sd-bus refuses besides: surrogates and the non-characters. */
        if ((c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
                return -1;
        *ret_len = n;
        return (int32_t) c;
}

char *utf8_sanitize(const char *s, size_t max_bytes) {
        const unsigned char *p = (const unsigned char *) strempty(s);
        size_t len = 0, size = strlen((const char *) p);
        char *out;

        out = malloc(MIN(size, max_bytes) + 1);
        if (!out)
                return NULL;

        while (*p) {
                size_t n;
                int32_t c = utf8_decode(p, &n);

                if (c < 0)
                        n = 1;          /* one '?' per bad byte; resynchronise on the next one */
                if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
                        /* A control character (n bytes for a C1 one) or a bad byte: one '?'. */
                        if (len + 1 > max_bytes)
                                break;
                        out[len++] = '?';
                } else {
                        if (len + n > max_bytes)
                                break;
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
        }
        out[len] = 0;
        return out;
}

/* A name collision needs the same 64 random bits twice; a few retries cover a weak fallback. */
#define TEMP_FILE_ATTEMPTS 16

static int write_all(int fd, const uint8_t *p, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Creates an exclusive temporary file for base in dir_fd, named ".#BASE.RANDOM" so that nothing
 * mistakes it for the real file (BASE is cut so that the name fits in NAME_MAX). Its name is left
 * in name. The fd, or -errno. */
static int open_temp_beside(int dir_fd, const char *base, char name[static NAME_MAX + 1]) {
        int keep = (int) MIN(strlen(base), (size_t) NAME_MAX - strlen(".#.") - 16);

        for (unsigned i = 0; i < TEMP_FILE_ATTEMPTS; i++) {
                uint64_t rnd;
                int fd;

                /* Uniqueness, not secrecy: O_EXCL is what makes the file ours. */
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                        rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) (uintptr_t) name ^ i;

                (void) snprintf(name, NAME_MAX + 1, ".#%.*s.%016" PRIx64, keep, base, rnd);

                fd = openat(dir_fd, name, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC|O_NOCTTY|O_NOFOLLOW, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int write_file_atomic_full(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                           const struct stat *expect) {
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        struct stat st;
        _cleanup_free_ char *dir = NULL;
        char tmp[NAME_MAX + 1];
        const char *slash, *base;
        int r;

        assert_return(path, -EINVAL);
        assert_return(data || size == 0, -EINVAL);

        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        if (*base == 0)
                return -EINVAL;
        dir = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;

        dir_fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;

        fd = open_temp_beside(dir_fd, base, tmp);
        if (fd < 0)
                return fd;

        /* The owner first: chown() clears the set-id bits that the mode may then set again. Only
         * when it differs from the writer's: the shipped unit filters chown() (@privileged) and
         * has no CAP_CHOWN, and there a file of another owner can only become the writer's. */
        r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r >= 0 && ((uid != (uid_t) -1 && uid != st.st_uid) || (gid != (gid_t) -1 && gid != st.st_gid)) &&
            fchown(fd, uid, gid) < 0 && errno != EPERM)
                r = -errno;
        /* Exactly mode: the umask may have narrowed it at creation, and must not decide it. */
        if (r >= 0)
                r = fchmod(fd, mode) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0)
                /* close() can report a deferred write error (NFS); do not lose it. */
                r = close(TAKE_FD(fd)) < 0 ? -errno : 0;
        if (r >= 0 && expect && (fstatat(dir_fd, base, &st, 0) < 0 || !same_file(&st, expect)))
                r = -ESTALE;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, base) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }

        /* The rename is durable only once the directory is. */
        if (fsync(dir_fd) < 0)
                return -errno;

        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        return write_file_atomic_full(path, data, size, mode, (uid_t) -1, (gid_t) -1, NULL);
}
