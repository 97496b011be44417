/* source-file.h — [Source] Type=file: a KubeVirt CR and a Node object in local JSON files. */
#pragma once

#include "source.h"

/* Creates the source; source_start() adds the inotify watch and reads both files.
 * kubevirt_file and node_file must be absolute. 0 or -errno. */
int source_file_new(sd_event *e, const char *node_name, const char *kubevirt_file, const char *node_file,
                    SourceChangedFn cb, void *userdata, Source **ret);

/* Reads and parses a JSON file of at most 16 MiB. 0, -ENOENT, -EBADMSG (not JSON; *reterr_reason
 * says where) or -errno. Exposed for the tests. */
int source_file_read_json(const char *path, json_object **ret, char **reterr_reason);

/* Writes obj to path atomically (temporary file in the same directory, fsync, rename, fsync of
 * the directory) as compact JSON, keeping the old file's owner, group and mode; a symlink stays a
 * link and its target is replaced. With expect, only while the file is still the one expect
 * describes (else -ESTALE, file untouched). 0 or -errno. */
struct stat;
int source_file_write_json(const char *path, json_object *obj, const struct stat *expect);
