/* ksmd-cpu.c — finds the ksmd kernel thread and reads its CPU time (utime + stime) from /proc. */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ksmd-cpu.h"
#include "macro.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

int proc_stat_parse_cputime(const char *line, uint64_t *ret_ticks) {
        const char *p;
        uint64_t utime = 0, stime = 0;
        int field = 2;          /* the field the last ')' ends */

        assert(line);
        assert(ret_ticks);

        p = strrchr(line, ')');
        if (!p)
                return -EINVAL;
        p++;

        /* Fields 3 (state) onwards, separated by single spaces. */
        while (*p && field < 15) {
                const char *start;
                char buf[32];
                size_t n;

                if (*p != ' ')
                        return -EINVAL;
                p++;
                field++;
                start = p;
                while (*p && *p != ' ' && *p != '\n')
                        p++;
                n = (size_t) (p - start);
                if (n == 0)
                        return -EINVAL;
                if (field == 14 || field == 15) {
                        if (n >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, start, n);
                        buf[n] = 0;
                        if (safe_atou64(buf, field == 14 ? &utime : &stime) < 0)
                                return -EINVAL;
                }
        }
        if (field < 15)
                return -EINVAL;
        if (utime > UINT64_MAX - stime)
                return -EINVAL;
        *ret_ticks = utime + stime;
        return 0;
}

int ksmd_find_pid(const char *proc_dir, pid_t *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        assert(proc_dir);
        assert(ret);

        d = opendir(proc_dir);
        if (!d)
                return -errno;

        /* Kernel threads are started early: their pids are small, found in the first entries. */
        while ((de = readdir(d))) {
                char path[256], comm[32];
                _cleanup_close_ int fd = -EBADF;
                size_t n;
                int r;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                if ((size_t) snprintf(path, sizeof(path), "%s/%s/comm", proc_dir, de->d_name) >= sizeof(path))
                        continue;
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        continue;
                r = read_fd_into(fd, comm, sizeof(comm), &n);
                if (r < 0)
                        continue;
                if (streq(comm, "ksmd\n") || streq(comm, "ksmd")) {
                        int64_t pid;

                        if (safe_atoi64(de->d_name, &pid) < 0 || pid <= 0)
                                continue;
                        *ret = (pid_t) pid;
                        return 0;
                }
        }
        return -ENOENT;
}

int ksmd_read_cpu_usec(const char *proc_dir, pid_t pid, uint64_t *ret_usec) {
        char path[256], buf[1024];
        _cleanup_close_ int fd = -EBADF;
        uint64_t ticks;
        long hz;
        int r;

        assert(proc_dir);
        assert(ret_usec);

        if ((size_t) snprintf(path, sizeof(path), "%s/%d/stat", proc_dir, (int) pid) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        r = read_fd_into(fd, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        r = proc_stat_parse_cputime(buf, &ticks);
        if (r < 0)
                return r;

        hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                hz = 100;
        *ret_usec = ticks * (USEC_PER_SEC / (uint64_t) hz);
        return 0;
}
