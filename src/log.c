/* log.c — journal records with structured fields, or plain lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
/* The records carry the caller's CODE_FILE/LINE/FUNC, not log_internal()'s own. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

static int log_max_level = LOG_INFO;
static bool log_to_journal = false;
static char log_node[254];

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

        if (log_to_journal) {
                char f[10][300];
                struct iovec iov[11];
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

        errno = saved_errno;
        return -error;
}
