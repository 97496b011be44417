/* fuzz-meminfo.c — fuzz target: /proc/meminfo text. The parser accepts only a positive MemTotal,
 * the reader agrees with it, and MemAvailable is reported present only when the text has it. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "meminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        MemInfo mi = {}, mr = {};
        char path[64];
        int r, r_read;

        if (size > 60 * 1024)   /* meminfo_read() takes 64 KiB */
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = meminfo_parse(text, &mi);
        fuzz_check(r == 0 || r == -EINVAL);
        if (r == 0) {
                fuzz_check(mi.total_kb > 0);
                fuzz_check(strstr(text, "MemTotal"));
                fuzz_check(!mi.has_available || strstr(text, "MemAvailable"));
        }

        /* meminfo_read() on the same bytes, from a memfd (procfs files read the same way). */
        fd = memfd_create("fuzz-meminfo", MFD_CLOEXEC);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                return 0;
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r_read = meminfo_read(path, &mr);
        if (r_read == -ENOMEM)
                return 0;
        if (memchr(data, 0, size))
                fuzz_check(r_read == -EINVAL);
        else {
                fuzz_check(r_read == r);
                fuzz_check(r < 0 || (mr.total_kb == mi.total_kb && mr.free_kb == mi.free_kb &&
                                     mr.available_kb == mi.available_kb && mr.has_available == mi.has_available));
        }
        return 0;
}
