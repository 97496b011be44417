/* macro.h — cleanup attributes, ownership transfer and small helpers shared by every module. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved_errno = errno;
                (void) close(*fd);
                errno = saved_errno;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

static inline void strv_freep(char ***p);

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hands ownership of a pointer or fd out of a cleanup-managed variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -EBADF; _tf; })

#define assert_return(expr, r)                  \
        do {                                    \
                if (!(expr))                    \
                        return (r);             \
        } while (false)

/* Defines NAME_to_string() and NAME_from_string() over a designated-initializer table of
 * strings indexed by the enum; out-of-range values give NULL, unknown strings -EINVAL. */
#define DEFINE_STRING_TABLE_TO_STRING(name, type, max)                          \
        const char *name##_to_string(type v) {                                  \
                if ((int) v < 0 || (int) v >= (int) (max))                      \
                        return NULL;                                            \
                return name##_table[v];                                         \
        }
#define DEFINE_STRING_TABLE_FROM_STRING(name, type, max)                        \
        type name##_from_string(const char *s) {                                \
                if (!s)                                                         \
                        return (type) -EINVAL;                                  \
                for (int i = 0; i < (int) (max); i++)                           \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0) \
                                return (type) i;                                \
                return (type) -EINVAL;                                          \
        }
#define DEFINE_STRING_TABLE(name, type, max)                                    \
        DEFINE_STRING_TABLE_TO_STRING(name, type, max)                          \
        DEFINE_STRING_TABLE_FROM_STRING(name, type, max)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static inline void strv_freep(char ***p) {
        strv_free(*p);
}

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Replaces *p with a copy of s (or NULL). 0 or -ENOMEM. */
static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}
