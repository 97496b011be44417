/* log.h — logging to the journal with structured fields, or to stderr when not under systemd. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,        /* journal when stderr is connected to it ($JOURNAL_STREAM), else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
} LogTarget;

void log_setup(LogTarget target);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Adds KSM_NODE= to every journal record (NULL to drop it). */
void log_set_node(const char *node);

/* Repeated identical lines (same call site, level and text) are rate-limited: per interval the
 * first `burst` go out, the others are counted and told in one "Suppressed N similar messages"
 * line after the interval (or at exit). Debug lines and log_action() records are never held
 * back. A burst or interval of 0 turns the limit off. Resets every count. */
#define LOG_RATELIMIT_INTERVAL_USEC_DEFAULT (30 * USEC_PER_SEC)
#define LOG_RATELIMIT_BURST_DEFAULT 5
void log_set_ratelimit(uint64_t interval_usec, unsigned burst);

/* Tells every pending count of held-back lines now (also run at exit). */
void log_ratelimit_flush(void);

/* Logs fmt (which may use %m for error) and returns -abs(error) (or 0 when error is 0). message_id
 * (32 hex digits, from message-id.h), action and run may be NULL. */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *message_id,
                 const char *action, const char *run, const char *fmt, ...) _printf_(9, 10);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, NULL, NULL, NULL, __VA_ARGS__)

/* The same with a MESSAGE_ID= (message-id.h), for the records the journal catalog explains. */
#define log_full_errno_id(level, error, id, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, (id), NULL, NULL, __VA_ARGS__)

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(r, ...)   log_full_errno(LOG_DEBUG, (r), __VA_ARGS__)
#define log_info_errno(r, ...)    log_full_errno(LOG_INFO, (r), __VA_ARGS__)
#define log_notice_errno(r, ...)  log_full_errno(LOG_NOTICE, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, (r), __VA_ARGS__)
#define log_error_errno(r, ...)   log_full_errno(LOG_ERR, (r), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/* A record about a KSM action, with KSM_ACTION= and KSM_RUN= fields. */
#define log_action(level, action, run, ...) \
        log_internal((level), 0, __FILE__, __LINE__, __func__, NULL, (action), (run), __VA_ARGS__)
#define log_action_id(level, id, action, run, ...) \
        log_internal((level), 0, __FILE__, __LINE__, __func__, (id), (action), (run), __VA_ARGS__)

