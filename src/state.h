/* state.h — the ownership record in the state directory: crash-safe save, validated load. */
#pragma once

#include "reconcile.h"

#define STATE_FILE_NAME "state.json"

/* Loads DIR/state.json.
 *   1:         a valid record in *ret.
 *   0:         no record (ENOENT); *ret zeroed.
 *   -EBADMSG:  the file exists but is unreadable as a record (truncated, not JSON, wrong
 *              version, a field missing or out of range); *ret zeroed.
 *   -errno:    another I/O error (the caller treats it like -EBADMSG). */
int state_load(const char *dir, Record *ret);

/* Writes DIR/state.json atomically: a temporary file (mode 0600) written, fsync'ed, renamed over
 * the old one, then the directory fsync'ed. Creates DIR (0700) if missing. 0 or -errno. */
int state_save(const char *dir, const Record *r);

/* Serialises and parses the record (pure; used by state_save/state_load and the tests).
 * state_format returns a malloc'd string or NULL on ENOMEM; state_parse returns 0 or -EBADMSG. */
char *state_format(const Record *r);
int state_parse(const char *text, Record *ret);
