/* record.h — the ownership record in the state directory: crash-safe save, validated load. */
#pragma once

#include "reconcile.h"

/* The file name predates the module's name; it stays so that existing records keep loading. */
#define RECORD_FILE_NAME "state.json"
/* Where a damaged record is kept for inspection (the newest one). */
#define RECORD_DAMAGED_NAME RECORD_FILE_NAME ".corrupt"

/* Loads DIR/state.json.
 *   1:         a valid record in *ret.
 *   0:         no record (ENOENT); *ret zeroed.
 *   -EBADMSG:  the file exists but is unreadable as a record (truncated, not JSON, wrong
 *              version, a field missing or of the wrong type or beyond 32 bits); *ret zeroed.
 *   -ERANGE:   a record, but a saved setting is one that must not be put back
 *              (record_saved_in_range); *ret zeroed.
 *   -errno:    another I/O error (the caller treats it like -EBADMSG). */
int record_load(const char *dir, Record *ret);

/* record_load(), and when the file is damaged (-EBADMSG, -ERANGE) record_set_aside() too, with
 * *reterr_damage (malloc'd) saying what was found and where it was kept; NULL otherwise. Returns
 * what record_load returns, or -ENOMEM. */
int record_load_or_set_aside(const char *dir, Record *ret, char **reterr_damage);

/* Renames a damaged DIR/state.json to DIR/state.json.corrupt (replacing an older one), so that it
 * can be inspected and the next save starts afresh. 0 or -errno (-ENOENT: no record). */
int record_set_aside(const char *dir);

/* Writes DIR/state.json atomically: a temporary file (mode 0600) written, fsync'ed, renamed over
 * the old one, then the directory fsync'ed. Creates DIR (0700) if missing. 0 or -errno. */
int record_save(const char *dir, const Record *r);

/* Serialises and parses the record (pure; used by record_save/record_load and the tests).
 * record_format returns a malloc'd string or NULL on ENOMEM (the saved rate, or the saved
 * advisor settings, that are not record_saved_in_range are left out); record_parse returns 0, -EBADMSG or -ERANGE as
 * record_load. */
char *record_format(const Record *r);
int record_parse(const char *text, Record *ret);

/* Whether every saved setting is one that may be written back to the kernel: pages 1..10^7,
 * sleep 1 ms..1 h, the advisor's target 1 s..1 week, CPU 1..100 %, page bounds 1..10^7. */
bool record_saved_in_range(const Record *r);
