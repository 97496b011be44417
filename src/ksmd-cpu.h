/* ksmd-cpu.h — the CPU time of the kernel's ksmd thread, from /proc. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Parses the utime and stime fields (14 and 15) of a /proc/PID/stat line into their sum in clock
 * ticks. The command name may hold spaces and parentheses: fields are counted after the last ')'.
 * 0 or -EINVAL. Pure. */
int proc_stat_parse_cputime(const char *line, uint64_t *ret_ticks);

/* Finds the pid of the kernel thread named "ksmd" under proc_dir ("/proc"). 0, -ENOENT or -errno. */
int ksmd_find_pid(const char *proc_dir, pid_t *ret);

/* The CPU time ksmd has used since boot, in microseconds. 0, -ESRCH (gone) or -errno. */
int ksmd_read_cpu_usec(const char *proc_dir, pid_t pid, uint64_t *ret_usec);
