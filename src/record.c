/* record.c — the ownership record as JSON in the state directory: atomic, fsync'ed, strictly validated. */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "json-util.h"
#include "macro.h"
#include "record.h"
#include "util.h"

#define RECORD_VERSION          1
/* A record is under 100 bytes; anything near this bound is not ours. */
#define RECORD_MAX_BYTES        (64 * 1024)

/* What may be put back. The kernel takes any unsigned int for pages_to_scan, sleep_millisecs and
 * the advisor's page bounds, but 0 pages stalls KSM, 0 ms makes ksmd spin, and values beyond
 * these bounds are not settings anyone chose: a record holding them is damaged, not obeyed. */
#define RECORD_PAGES_MAX        UINT32_C(10000000)
#define RECORD_SLEEP_MSEC_MAX   UINT32_C(3600000)       /* one hour */
#define RECORD_SCAN_SEC_MAX     UINT32_C(604800)        /* one week */
#define RECORD_CPU_PERCENT_MAX  UINT32_C(100)           /* advisor_max_cpu is a percentage */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* Adds key → val to o, taking val (NULL from a failed constructor included). 0 or -ENOMEM. */
static int object_add(json_object *o, const char *key, json_object *val) {
        if (!val)
                return -ENOMEM;
        if (json_object_object_add(o, key, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

static bool in_range(uint32_t v, uint32_t max) {
        return v >= 1 && v <= max;
}

static bool saved_rate_in_range(const Record *r) {
        return !r->have_saved ||
                (in_range(r->saved_pages_to_scan, RECORD_PAGES_MAX) &&
                 in_range(r->saved_sleep_millisecs, RECORD_SLEEP_MSEC_MAX));
}

static bool saved_advisor_in_range(const Record *r) {
        const KsmAdvisor *a = &r->saved_advisor;

        return !r->have_saved_advisor ||
                (in_range(a->target_scan_time_sec, RECORD_SCAN_SEC_MAX) &&
                 in_range(a->max_cpu, RECORD_CPU_PERCENT_MAX) &&
                 in_range(a->min_pages, RECORD_PAGES_MAX) &&
                 in_range(a->max_pages, RECORD_PAGES_MAX));
}

bool record_saved_in_range(const Record *r) {
        return saved_rate_in_range(r) && saved_advisor_in_range(r);
}

char *record_format(const Record *r) {
        _cleanup_(json_object_putp) json_object *o = NULL, *saved = NULL;
        const char *s;
        char *text;
        size_t len;

        assert(r);

        /* Settings the kernel held that could not be put back are not saved (the rate and the
         * advisor each as a whole): giving KSM back then leaves them as they are, as for an
         * ownership taken over from the annotation. So every record written loads again. */
        if (!record_saved_in_range(r)) {
                Record copy = *r;

                copy.have_saved = copy.have_saved && saved_rate_in_range(r);
                copy.have_saved_advisor = copy.have_saved_advisor && saved_advisor_in_range(r);
                return record_format(&copy);
        }

        o = json_object_new_object();
        if (!o)
                return NULL;
        if (object_add(o, "version", json_object_new_int(RECORD_VERSION)) < 0 ||
            object_add(o, "claimed", json_object_new_boolean(r->claimed)) < 0)
                return NULL;

        if (r->have_saved) {
                saved = json_object_new_object();
                if (!saved)
                        return NULL;
                if (object_add(saved, "pages_to_scan", json_object_new_int64(r->saved_pages_to_scan)) < 0 ||
                    object_add(saved, "sleep_millisecs", json_object_new_int64(r->saved_sleep_millisecs)) < 0 ||
                    object_add(o, "saved", TAKE_PTR(saved)) < 0)
                        return NULL;
        }

        if (r->have_saved_advisor) {
                const KsmAdvisor *a = &r->saved_advisor;

                saved = json_object_new_object();
                if (!saved)
                        return NULL;
                if (object_add(saved, "mode", json_object_new_string(a->scan_time ? "scan-time" : "none")) < 0 ||
                    object_add(saved, "target_scan_time", json_object_new_int64(a->target_scan_time_sec)) < 0 ||
                    object_add(saved, "max_cpu", json_object_new_int64(a->max_cpu)) < 0 ||
                    object_add(saved, "min_pages_to_scan", json_object_new_int64(a->min_pages)) < 0 ||
                    object_add(saved, "max_pages_to_scan", json_object_new_int64(a->max_pages)) < 0 ||
                    object_add(o, "saved_advisor", TAKE_PTR(saved)) < 0)
                        return NULL;
        }

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!s)
                return NULL;

        len = strlen(s);
        text = malloc(len + 2);
        if (!text)
                return NULL;
        memcpy(text, s, len);
        text[len] = '\n';
        text[len + 1] = 0;
        return text;
}

/* An integer JSON value in [0, UINT32_MAX]. */
static bool json_get_u32(json_object *o, uint32_t *ret) {
        int64_t v;

        if (!json_object_is_type(o, json_type_int))
                return false;

        /* Above INT64_MAX json-c keeps a uint64; get_int64 then clamps to INT64_MAX. */
        v = json_object_get_int64(o);
        if (v < 0 || v > UINT32_MAX)
                return false;

        *ret = (uint32_t) v;
        return true;
}

static int parse_saved(json_object *saved, Record *rec) {
        bool have_pages = false, have_sleep = false;

        if (!json_object_is_type(saved, json_type_object))
                return -EBADMSG;

        json_object_object_foreach(saved, key, val) {
                if (streq(key, "pages_to_scan") && !have_pages) {
                        if (!json_get_u32(val, &rec->saved_pages_to_scan))
                                return -EBADMSG;
                        have_pages = true;
                } else if (streq(key, "sleep_millisecs") && !have_sleep) {
                        if (!json_get_u32(val, &rec->saved_sleep_millisecs))
                                return -EBADMSG;
                        have_sleep = true;
                } else
                        return -EBADMSG;
        }
        if (!have_pages || !have_sleep)
                return -EBADMSG;

        rec->have_saved = true;
        return 0;
}

/* "saved_advisor": every field present once, of the right type. */
static int parse_saved_advisor(json_object *saved, Record *rec) {
        KsmAdvisor *a = &rec->saved_advisor;
        unsigned seen = 0;

        if (!json_object_is_type(saved, json_type_object))
                return -EBADMSG;

        json_object_object_foreach(saved, key, val) {
                static const char *const keys[] = {
                        "mode", "target_scan_time", "max_cpu", "min_pages_to_scan", "max_pages_to_scan",
                };
                uint32_t *fields[] = { NULL, &a->target_scan_time_sec, &a->max_cpu, &a->min_pages, &a->max_pages };
                size_t i;

                for (i = 0; i < ELEMENTSOF(keys); i++)
                        if (streq(key, keys[i]))
                                break;
                if (i == ELEMENTSOF(keys) || (seen & (1u << i)))
                        return -EBADMSG;
                seen |= 1u << i;

                if (i == 0) {
                        const char *m;

                        if (!json_object_is_type(val, json_type_string))
                                return -EBADMSG;
                        m = json_object_get_string(val);
                        if (!streq(m, "none") && !streq(m, "scan-time"))
                                return -EBADMSG;
                        a->scan_time = streq(m, "scan-time");
                } else if (!json_get_u32(val, fields[i]))
                        return -EBADMSG;
        }
        if (seen != (1u << 5) - 1)
                return -EBADMSG;

        rec->have_saved_advisor = true;
        return 0;
}

static int parse_object(json_object *o, Record *rec) {
        bool have_version = false, have_claimed = false, have_saved = false, have_advisor = false;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        /* Every key known, each once, of the right type: a record we did not write is not trusted. */
        json_object_object_foreach(o, key, val) {
                if (streq(key, "version") && !have_version) {
                        if (!json_object_is_type(val, json_type_int) ||
                            json_object_get_int64(val) != RECORD_VERSION)
                                return -EBADMSG;
                        have_version = true;
                } else if (streq(key, "claimed") && !have_claimed) {
                        if (!json_object_is_type(val, json_type_boolean))
                                return -EBADMSG;
                        rec->claimed = json_object_get_boolean(val);
                        have_claimed = true;
                } else if (streq(key, "saved") && !have_saved) {
                        if (parse_saved(val, rec) < 0)
                                return -EBADMSG;
                        have_saved = true;
                } else if (streq(key, "saved_advisor") && !have_advisor) {
                        if (parse_saved_advisor(val, rec) < 0)
                                return -EBADMSG;
                        have_advisor = true;
                } else
                        return -EBADMSG;
        }
        if (!have_version || !have_claimed)
                return -EBADMSG;

        return 0;
}

int record_parse(const char *text, Record *ret) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        Record rec = {};
        size_t len;
        int r;

        assert(ret);

        *ret = (Record) {};
        if (!text)
                return -EBADMSG;

        len = strlen(text);
        if (len == 0 || len > RECORD_MAX_BYTES)
                return -EBADMSG;

        /* json-c's strict mode still takes single-quoted strings. No valid record has a quote
         * of that kind anywhere (fixed keys, numbers and booleans), so refuse it up front. */
        if (strchr(text, '\''))
                return -EBADMSG;

        /* Bounded by value count too; nothing but whitespace may follow the object. */
        r = json_parse_bounded(text, len, 0, &o, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !o)
                return -EBADMSG;

        r = parse_object(o, &rec);
        if (r < 0)
                return r;
        if (!record_saved_in_range(&rec))
                return -ERANGE;

        *ret = rec;
        return 0;
}

/* Reads the file into a NUL-terminated string. 0, -EBADMSG (too big or a NUL inside) or -errno. */
static int read_record_file(int fd, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = read_full_fd(fd, RECORD_MAX_BYTES, &buf, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        if (memchr(buf, 0, len))
                return -EBADMSG;

        *ret = TAKE_PTR(buf);
        return 0;
}

int record_load(const char *dir, Record *ret) {
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        int r;

        assert(dir);
        assert(ret);

        *ret = (Record) {};

        dir_fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (dir_fd < 0)
                return errno == ENOENT ? 0 : -errno;

        /* O_NONBLOCK and a regular file only: a FIFO put there must not stop the event loop. */
        fd = openat(dir_fd, RECORD_FILE_NAME, O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADMSG;

        r = read_record_file(fd, &text);
        if (r < 0)
                return r;

        r = record_parse(text, ret);
        if (r < 0)
                return r;

        return 1;
}

int record_set_aside(const char *dir) {
        _cleanup_close_ int dir_fd = -EBADF;

        assert(dir);

        dir_fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if (renameat(dir_fd, RECORD_FILE_NAME, dir_fd, RECORD_DAMAGED_NAME) < 0)
                return -errno;
        /* The rename is what matters after a crash; losing it only means finding the damage again. */
        (void) fsync(dir_fd);
        return 0;
}

int record_load_or_set_aside(const char *dir, Record *ret, char **reterr_damage) {
        _cleanup_free_ char *aside = NULL;
        int r, k;

        assert(dir);
        assert(ret);
        assert(reterr_damage);

        *reterr_damage = NULL;
        r = record_load(dir, ret);
        if (r != -EBADMSG && r != -ERANGE)
                return r;

        k = record_set_aside(dir);
        if (k >= 0)
                aside = strdup_printf("kept as %s/" RECORD_DAMAGED_NAME, dir);
        else
                aside = strdup_printf("could not be kept aside as " RECORD_DAMAGED_NAME ": %s", strerror(-k));
        if (!aside)
                return -ENOMEM;
        *reterr_damage = strdup_printf("Ownership record %s/" RECORD_FILE_NAME " is damaged (%s) and was not used, %s; "
                                       "falling back to the node annotation",
                                       dir, r == -ERANGE ? "a saved setting is out of range" :
                                       "truncated, corrupt or not written by this daemon", aside);
        if (!*reterr_damage)
                return -ENOMEM;
        return r;
}

int record_save(const char *dir, const Record *rec) {
        _cleanup_free_ char *text = NULL, *path = NULL;

        assert(dir);
        assert(rec);

        text = record_format(rec);
        if (!text)
                return -ENOMEM;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;

        path = strdup_printf("%s/" RECORD_FILE_NAME, dir);
        if (!path)
                return -ENOMEM;

        return write_file_atomic(path, text, strlen(text), 0600);
}
