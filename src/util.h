/* util.h — pure string and number parsers shared by the pure modules and the I/O layers. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

/* Parses a decimal unsigned integer; surrounding whitespace (a trailing newline from sysfs
 * included) is allowed, a sign, junk or overflow is not. 0, -EINVAL or -ERANGE. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou32(const char *s, uint32_t *ret);

/* Same for a signed decimal integer. 0, -EINVAL or -ERANGE. */
int safe_atoi64(const char *s, int64_t *ret);

/* Parses a non-negative decimal number with an optional fraction ("0.2", "20", "1.0").
 * 0, -EINVAL or -ERANGE. */
int safe_atod(const char *s, double *ret);

/* Parses yes/no/true/false/on/off/1/0 (case-insensitive). 0 or -EINVAL. */
int parse_boolean(const char *s, bool *ret);

/* Parses a time span: a bare number is seconds; suffixes us, ms, s, sec, m, min, h are
 * accepted, and several may be combined ("1min 30s"). 0, -EINVAL or -ERANGE. */
int parse_sec(const char *s, uint64_t *ret_usec);

/* Strips leading and trailing whitespace in place; returns s. */
char *strstrip(char *s);

/* True when s is a valid DNS-1123 subdomain (a Kubernetes node name). */
bool node_name_is_valid(const char *s);

/* Parses a syslog level name ("debug", "info", "notice", "warning", "err"/"error", "crit",
 * "alert", "emerg") or its number 0-7. Returns the level or -EINVAL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* A newly allocated formatted string, or NULL on ENOMEM. */
char *strdup_vprintf(const char *fmt, va_list ap);
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* String vectors (NULL-terminated, malloc'd, freed with strv_free()). */
size_t strv_length(char * const *l);
/* Appends a copy of s to *l (allocating *l when NULL). 0 or -ENOMEM; *l is unchanged on error. */
int strv_extend(char ***l, const char *s);
/* Appends a formatted string. 0 or -ENOMEM. */
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
/* The elements joined with sep (a NULL or empty vector gives ""), or NULL on ENOMEM. */
char *strv_join(char * const *l, const char *sep);

/* For the pure modules' error details: sets *reterr (when reterr is non-NULL) to the formatted
 * message, with control characters replaced by '?' (messages end up in the journal and may quote
 * input), and returns error; -ENOMEM if the message could not be allocated. */
int set_reterr(char **reterr, int error, const char *fmt, ...) _printf_(3, 4);

/* Reads everything from fd (until EOF, so procfs files of size 0 work) into buf of size bytes,
 * NUL-terminated, without allocating. 0, -EFBIG when there is more than size - 1 bytes, or -errno.
 * ret_len may be NULL. */
int read_fd_into(int fd, char *buf, size_t size, size_t *ret_len);

/* Reads everything from fd (until EOF, so procfs files of size 0 work) into a NUL-terminated
 * buffer. 0, -EFBIG when there are more than max_bytes (the partial data is wiped), -ENOMEM or
 * -errno. ret_size may be NULL. */
int read_full_fd(int fd, size_t max_bytes, char **ret, size_t *ret_size);

/* The same for a path, which must be a regular file: it is opened O_NONBLOCK (a FIFO or a device
 * never blocks the caller) and checked with fstat(). -EISDIR for a directory, -EBADFD for anything
 * else that is not a regular file (FIFO, socket, device), or as read_full_fd(). */
int read_full_file(const char *path, size_t max_bytes, char **ret, size_t *ret_size);

/* Opens path for reading as read_full_file() does: O_NONBLOCK, and only a regular file. The fd
 * (its stat in *ret_st when non-NULL), -EISDIR, -EBADFD or -errno. */
int open_regular_file(const char *path, struct stat *ret_st);

/* A copy of s fit for D-Bus and terminals: valid UTF-8 only (an invalid byte, an overlong form, a
 * surrogate or a non-character becomes '?'), control characters (C0, DEL, C1) replaced by '?', and
 * at most max_bytes bytes, cut on a character boundary. NULL gives "". NULL on ENOMEM. */
char *utf8_sanitize(const char *s, size_t max_bytes);

/* Replaces the file at path with the size bytes of data, atomically and durably: they go to a new
 * file beside it (an exclusive random name starting with ".#"), whose mode is set to exactly mode
 * whatever the umask, written in full and fsync'ed; it is then renamed over path and the directory
 * is fsync'ed. A reader sees the old file or the new one, never a mix. On failure the temporary
 * file is removed and path is left as it was, except when only the final directory fsync failed
 * (path is then replaced, but the rename may not survive a crash). 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* The same, and more: the new file is given owner uid and group gid (each (uid_t) -1 / (gid_t) -1
 * for the writer's own) before its mode is set, where permitted (without CAP_CHOWN, EPERM, the
 * file stays the writer's); and for a read-modify-write, with expect set,
 * -ESTALE (and path left alone) when, just before the rename, path is no longer the file expect
 * describes (another writer replaced or changed it since it was read). 0 or -errno. */
struct stat;
int write_file_atomic_full(const char *path, const void *data, size_t size, mode_t mode, uid_t uid, gid_t gid,
                           const struct stat *expect);
