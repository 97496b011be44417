/* crash-point.h — a test hook: SIGKILL the daemon at a named step, to prove every step recoverable. */
#pragma once

/* Every point the daemon passes through (crash-point.c holds the table; the integration test
 * test-crash-points.sh checks that the table, the calls in the source and its own scenarios
 * agree).
 *
 * Armed by the environment variable KSMD_CRASH_AT=NAME[:NTH] (NTH counts from 1, default 1),
 * read once, at the first point reached. Unset, a point costs one branch and does nothing.
 * Only the process that read the variable dies: the unmerge child passes points inertly. */

/* Stops the process with SIGKILL when NAME is the armed point and this is its NTH pass. NAME
 * must be in the table (a name that is not is logged once when armed, and ignored). */
void crash_point(const char *name);

/* The point after a successful write of a KSM sysfs attribute: "write-ATTR". */
void crash_point_after_write(const char *attr);

/* The table, NULL-terminated (test-crash-points.sh reads it from crash-point.c). */
extern const char *const crash_point_names[];
