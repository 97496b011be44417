/* record.h — the ownership record in the state directory: crash-safe save, validated load. */
#pragma once

#include "reconcile.h"

/* The file name predates the module's name; it stays so that existing records keep loading. */
#define RECORD_FILE_NAME "state.json"

/* Loads DIR/state.json.
 *   1:         a valid record in *ret.
 *   0:         no record (ENOENT); *ret zeroed.
 *   -EBADMSG:  the file exists but is unreadable as a record (truncated, not JSON, wrong
 *              version, a field missing or out of range); *ret zeroed.
 *   -errno:    another I/O error (the caller treats it like -EBADMSG). */
int record_load(const char *dir, Record *ret);

/* Writes DIR/state.json atomically: a temporary file (mode 0600) written, fsync'ed, renamed over
 * the old one, then the directory fsync'ed. Creates DIR (0700) if missing. 0 or -errno. */
int record_save(const char *dir, const Record *r);

/* Serialises and parses the record (pure; used by record_save/record_load and the tests).
 * record_format returns a malloc'd string or NULL on ENOMEM; record_parse returns 0 or -EBADMSG. */
char *record_format(const Record *r);
int record_parse(const char *text, Record *ret);
