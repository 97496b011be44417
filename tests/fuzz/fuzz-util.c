/* fuzz-util.c — the fuzz targets' I/O helpers: the failure report and a scratch directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch[4096];

_Noreturn void fuzz_fail(const char *file, int line, const char *expr) {
        fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, expr);
        abort();
}

static void remove_tree(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;
        char sub[4096 + 256];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                if (de->d_type == DT_DIR)
                        remove_tree(sub);
                else
                        (void) unlink(sub);
        }
        closedir(d);
        (void) rmdir(path);
}

static void scratch_cleanup(void) {
        if (scratch[0])
                remove_tree(scratch);
}

const char *fuzz_scratch_dir(void) {
        const char *tmp;

        if (scratch[0])
                return scratch;

        /* Memory-backed when possible: some targets write several files per input. */
        tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
                tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        if ((size_t) snprintf(scratch, sizeof(scratch), "%s/ksmd-fuzz.XXXXXX", tmp) >= sizeof(scratch) ||
            !mkdtemp(scratch)) {
                scratch[0] = 0;
                return NULL;
        }
        (void) atexit(scratch_cleanup);
        return scratch;
}

int fuzz_write_file(const char *dir, const char *name, const void *data, size_t size) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        const char *p = data;

        dfd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, name, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        while (size > 0) {
                ssize_t n = write(fd, p, size);

                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}
