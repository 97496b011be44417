/* fuzz.h — what every fuzz target shares: the libFuzzer entry point and small pure helpers. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test does not hold: abort, so that libFuzzer (or the standalone
 * replay under make check) reports the input. The condition is printed first. */
#define fuzz_check(expr)                                                                \
        do {                                                                            \
                if (!(expr))                                                            \
                        fuzz_fail(__FILE__, __LINE__, #expr);                           \
        } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *expr);

/* The input as a NUL-terminated string (parsers that take C strings). NULL on ENOMEM. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

static inline uint64_t fuzz_hash(uint64_t h, const void *p, size_t n) {
        const unsigned char *s = p;

        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* A small deterministic generator for the replay's mutations. */
static inline uint64_t fuzz_xorshift64(uint64_t *s) {
        uint64_t x = *s;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

/* Splits data at NUL bytes: up to max pieces, the last one taking the rest (NULs included).
 * pieces[i] point into data, lengths in lens; returns the number of pieces (at least 1). */
static inline size_t fuzz_split(const uint8_t *data, size_t size, size_t max,
                                const uint8_t **pieces, size_t *lens) {
        size_t n = 0;

        while (n + 1 < max) {
                const uint8_t *nul = memchr(data, 0, size);

                if (!nul)
                        break;
                pieces[n] = data;
                lens[n++] = (size_t) (nul - data);
                size -= (size_t) (nul - data) + 1;
                data = nul + 1;
        }
        pieces[n] = data;
        lens[n++] = size;
        return n;
}

/* A private scratch directory, made once per process (mkdtemp under $TMPDIR, else /dev/shm or /tmp) and
 * removed at exit. Its path, or NULL. */
const char *fuzz_scratch_dir(void);

/* Writes size bytes to dir/name (created or truncated). 0 or -errno. */
int fuzz_write_file(const char *dir, const char *name, const void *data, size_t size);
