/* log.c — journal records with structured fields, or plain lines on stderr. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
/* The records carry the caller's CODE_FILE/LINE/FUNC, not log_internal()'s own. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <time.h>

#include "log.h"
#include "util.h"

static int log_max_level = LOG_INFO;
static bool log_to_journal = false;
static char log_node[254];

/*
 * Rate limiting. A failure retried every few seconds (an API server that is down, a file that
 * stays unreadable) says the same thing every time; after the first few lines the rest is noise
 * that pushes everything else out of the journal. A message is "the same" when its call site,
 * level and whole text are: a different value is a different message, so every state change
 * gets its line. Per interval (CLOCK_BOOTTIME: a wall-clock step neither opens nor closes one)
 * the first `burst` copies go out, the rest are counted, and the count is told in one line of
 * the same level ("Suppressed N similar messages ...") once the interval is over: at the next
 * line logged after it, or at exit. Debug lines (asked for) and KSM action records (the story of
 * what the daemon did) are never held back.
 */
#define LOG_RATELIMIT_SLOTS 32
#define LOG_RATELIMIT_TEXT 200          /* what a summary quotes of the message */

typedef struct LogRatelimit {
        uint64_t hash;                  /* 0: free slot */
        uint64_t start_usec;            /* the interval began; CLOCK_BOOTTIME */
        unsigned count;                 /* copies seen in this interval */
        unsigned suppressed;            /* of those, held back */
        int level;
        char text[LOG_RATELIMIT_TEXT];
} LogRatelimit;

static LogRatelimit log_rl[LOG_RATELIMIT_SLOTS];
static uint64_t log_rl_interval_usec = LOG_RATELIMIT_INTERVAL_USEC_DEFAULT;
static unsigned log_rl_burst = LOG_RATELIMIT_BURST_DEFAULT;
static bool log_rl_atexit;

static uint64_t log_now_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

/* FNV-1a 64 over the call site, the level and the text; never 0 (0 marks a free slot). */
static uint64_t log_hash(const char *file, int line, int level, const char *text) {
        uint64_t h = UINT64_C(14695981039346656037);
        const unsigned char *p;
        char num[32];

        snprintf(num, sizeof(num), "\037%d\037%d\037", line, level);
        for (const char *part[] = { file, num, text, NULL }, **q = part; *q; q++)
                for (p = (const unsigned char *) *q; *p; p++)
                        h = (h ^ *p) * UINT64_C(1099511628211);
        return h ?: 1;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected stderr to
 * (systemd.exec(5)); only then is the journal the right target. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(LogTarget target) {
        switch (target) {
        case LOG_TARGET_JOURNAL:
                log_to_journal = true;
                break;
        case LOG_TARGET_STDERR:
                log_to_journal = false;
                break;
        default:
                log_to_journal = stderr_is_journal();
        }
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_node(const char *node) {
        snprintf(log_node, sizeof(log_node), "%s", strempty(node));
}

void log_set_ratelimit(uint64_t interval_usec, unsigned burst) {
        log_rl_interval_usec = interval_usec;
        log_rl_burst = burst;
        memset(log_rl, 0, sizeof(log_rl));
}

static void log_emit(int level, int error, const char *file, int line, const char *func, const char *message_id,
                     const char *action, const char *run, unsigned suppressed, const char *buf);

static void log_ratelimit_summary(LogRatelimit *e, uint64_t now) {
        char buf[LOG_RATELIMIT_TEXT + 128];

        if (e->suppressed > 0) {
                uint64_t secs = (now - e->start_usec + USEC_PER_SEC / 2) / USEC_PER_SEC;

                snprintf(buf, sizeof(buf), "Suppressed %u similar messages in the last %" PRIu64 " s: \"%s\"",
                         e->suppressed, secs, e->text);
                log_emit(e->level, 0, __FILE__, __LINE__, __func__, NULL, NULL, NULL, e->suppressed, buf);
        }
        e->suppressed = 0;
}

/* Tells every count whose interval is over (all of them with force) and frees those slots. */
static void log_ratelimit_expire(uint64_t now, bool force) {
        for (size_t i = 0; i < LOG_RATELIMIT_SLOTS; i++) {
                LogRatelimit *e = &log_rl[i];

                if (e->hash == 0 || (!force && now < e->start_usec + log_rl_interval_usec))
                        continue;
                log_ratelimit_summary(e, now);
                e->hash = 0;
        }
}

void log_ratelimit_flush(void) {
        log_ratelimit_expire(log_now_usec(), true);
}

/* true: this copy goes out; false: held back (and counted). */
static bool log_ratelimit_pass(int level, const char *file, int line, const char *text) {
        uint64_t now = log_now_usec(), h = log_hash(file, line, level, text);
        LogRatelimit *e = NULL, *oldest = NULL;

        if (log_rl_burst == 0 || log_rl_interval_usec == 0)
                return true;
        if (!log_rl_atexit)
                log_rl_atexit = atexit(log_ratelimit_flush) == 0;

        log_ratelimit_expire(now, false);

        for (size_t i = 0; i < LOG_RATELIMIT_SLOTS; i++) {
                if (log_rl[i].hash == h) {
                        e = &log_rl[i];
                        break;
                }
                if (!oldest || log_rl[i].hash == 0 ||
                    (oldest->hash != 0 && log_rl[i].start_usec < oldest->start_usec))
                        oldest = &log_rl[i];
        }
        if (!e) {
                /* More different messages than slots in one interval: the oldest count is told now. */
                e = oldest;
                if (e->hash != 0)
                        log_ratelimit_summary(e, now);
                *e = (LogRatelimit) { .hash = h, .start_usec = now, .level = level };
                snprintf(e->text, sizeof(e->text), "%.*s", (int) sizeof(e->text) - 1, text);
        }
        if (++e->count <= log_rl_burst)
                return true;
        e->suppressed++;
        return false;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *message_id,
                 const char *action, const char *run, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved_errno = errno;

        error = error < 0 ? -error : error;
        if (level > log_max_level) {
                errno = saved_errno;
                return -error;
        }

        /* %m expands to strerror(errno): make it the error we were given. */
        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (level < LOG_DEBUG && !action && !log_ratelimit_pass(level, file, line, buf)) {
                errno = saved_errno;
                return -error;
        }
        log_emit(level, error, file, line, func, message_id, action, run, 0, buf);
        errno = saved_errno;
        return -error;
}

static void log_emit(int level, int error, const char *file, int line, const char *func, const char *message_id,
                     const char *action, const char *run, unsigned suppressed, const char *buf) {
        if (log_to_journal) {
                char f[11][300];
                struct iovec iov[12];
                size_t n = 0;

                /* MESSAGE goes in whole; every other field is short and bounded. */
                iov[n++] = (struct iovec) { .iov_base = (char *) "MESSAGE=", .iov_len = 8 };
                snprintf(f[0], sizeof(f[0]), "PRIORITY=%d", level);
                snprintf(f[1], sizeof(f[1]), "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
                snprintf(f[2], sizeof(f[2]), "CODE_FILE=%s", file);
                snprintf(f[3], sizeof(f[3]), "CODE_LINE=%d", line);
                snprintf(f[4], sizeof(f[4]), "CODE_FUNC=%s", func);
                size_t nf = 5;
                if (message_id)
                        snprintf(f[nf++], sizeof(f[0]), "MESSAGE_ID=%s", message_id);
                if (error > 0)
                        snprintf(f[nf++], sizeof(f[0]), "ERRNO=%d", error);
                if (log_node[0])
                        snprintf(f[nf++], sizeof(f[0]), "KSM_NODE=%s", log_node);
                if (action)
                        snprintf(f[nf++], sizeof(f[0]), "KSM_ACTION=%s", action);
                if (run)
                        snprintf(f[nf++], sizeof(f[0]), "KSM_RUN=%s", run);
                if (suppressed > 0)
                        snprintf(f[nf++], sizeof(f[0]), "KSM_SUPPRESSED=%u", suppressed);

                _cleanup_free_ char *msg = NULL;
                if ((msg = strdup_printf("MESSAGE=%s", buf)))
                        iov[0] = (struct iovec) { .iov_base = msg, .iov_len = strlen(msg) };
                for (size_t i = 0; i < nf; i++)
                        iov[n++] = (struct iovec) { .iov_base = f[i], .iov_len = strlen(f[i]) };
                (void) sd_journal_sendv(iov, (int) n);
        } else {
                const char *lvl = log_level_to_string(level);

                if (action)
                        fprintf(stderr, "<%s> %s [action=%s run=%s]\n", strna(lvl), buf, action, strna(run));
                else
                        fprintf(stderr, "<%s> %s\n", strna(lvl), buf);
        }
}
