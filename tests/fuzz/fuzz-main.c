/* fuzz-main.c — the standalone driver (no libFuzzer): replays a target's corpus and regression
 * inputs, then a deterministic set of mutations of them, so that make check runs every target with
 * gcc alone. Output is TAP. Without FUZZ_STANDALONE (the libFuzzer build) this file is empty. */
#ifdef FUZZ_STANDALONE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target (its corpus/ and crashes/ subdirectory)"
#endif
#ifndef FUZZ_DATA_DIR
#error "FUZZ_DATA_DIR must point at tests/fuzz"
#endif

/* Mutated inputs per run, spread over the corpus; FUZZ_MUTATIONS= overrides it. Small enough to
 * take well under a second per target, also under ASan. */
#define DEFAULT_MUTATIONS 2000U
#define MAX_INPUT_BYTES (1024U * 1024U)

typedef struct Input {
        char *path;
        uint8_t *data;
        size_t size;
} Input;

typedef struct InputList {
        Input *items;
        size_t n;
} InputList;

static void input_list_done(InputList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].path);
                free(l->items[i].data);
        }
        free(l->items);
}

static int input_compare(const void *a, const void *b) {
        return strcmp(((const Input *) a)->path, ((const Input *) b)->path);
}

static int load_file(InputList *l, const char *path) {
        _cleanup_free_ char *buf = NULL;
        Input *items;
        size_t size;
        int r;

        r = read_full_file(path, MAX_INPUT_BYTES, &buf, &size);
        if (r < 0)
                return r;

        items = realloc(l->items, (l->n + 1) * sizeof(Input));
        if (!items)
                return -ENOMEM;
        l->items = items;
        l->items[l->n] = (Input) { .path = strdup(path), .data = (uint8_t *) TAKE_PTR(buf), .size = size };
        if (!l->items[l->n].path) {
                free(l->items[l->n].data);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

/* A file, or every regular file of a directory (not recursive). A missing directory counts as
 * empty when optional. */
static int load_path(InputList *l, const char *path, bool optional) {
        struct stat st;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0)
                return optional && errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return load_file(l, path);

        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_name[0] == '.')
                        continue;
                sub = strdup_printf("%s/%s", path, de->d_name);
                if (!sub) {
                        r = -ENOMEM;
                        break;
                }
                if (stat(sub, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                r = load_file(l, sub);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static const char interesting[] = { '\n', '\r', '\t', ' ', '{', '}', '[', ']', '"', '\'', ':', ',', '=', '#',
                                    '\\', '/', '-', '0', '9', 'e', '\0', (char) 0xff, (char) 0xc3, (char) 0xf0 };

/* Builds one mutation of the inputs in buf (capacity cap); returns its length. */
static size_t mutate(const InputList *l, uint64_t *rng, size_t pick, uint8_t *buf, size_t cap) {
        const Input *in = &l->items[pick % l->n];
        size_t n = MIN(in->size, cap), rounds;

        memcpy(buf, in->data, n);
        rounds = 1 + fuzz_xorshift64(rng) % 6;

        for (size_t i = 0; i < rounds; i++) {
                /* MIN() evaluates its arguments twice: random numbers are drawn beforehand. */
                size_t at = n > 0 ? fuzz_xorshift64(rng) % (n + 1) : 0, len = fuzz_xorshift64(rng);
                uint64_t op = fuzz_xorshift64(rng) % 9, v = fuzz_xorshift64(rng);
                const Input *other;

                switch (op) {
                case 0: /* flip a bit */
                        if (at < n)
                                buf[at] ^= (uint8_t) (1u << (v % 8));
                        break;
                case 1: /* insert an interesting byte */
                        if (n < cap) {
                                memmove(buf + at + 1, buf + at, n - at);
                                buf[at] = (uint8_t) interesting[v % ELEMENTSOF(interesting)];
                                n++;
                        }
                        break;
                case 2: /* overwrite with an interesting byte */
                        if (at < n)
                                buf[at] = (uint8_t) interesting[v % ELEMENTSOF(interesting)];
                        break;
                case 3: /* delete a range */
                        len = MIN(n - at, len % 32);
                        memmove(buf + at, buf + at + len, n - at - len);
                        n -= len;
                        break;
                case 4: /* duplicate a range */
                        len = MIN(MIN(n - at, len % 256), cap - n);
                        memmove(buf + at + len, buf + at, n - at);
                        n += len;
                        break;
                case 5: /* splice in a piece of another input */
                        other = &l->items[v % l->n];
                        len = MIN(MIN(other->size, len % 512), cap - n);
                        memmove(buf + at + len, buf + at, n - at);
                        memcpy(buf + at, other->data + (other->size > len ? (v >> 16) % (other->size - len + 1) : 0), len);
                        n += len;
                        break;
                case 6: /* truncate */
                        n = at;
                        break;
                case 7: /* a run of digits, to overflow numbers */
                        len = MIN(len % 32, cap - n);
                        memmove(buf + at + len, buf + at, n - at);
                        memset(buf + at, v % 2 ? '9' : '0', len);
                        n += len;
                        break;
                default: /* a random byte */
                        if (at < n)
                                buf[at] = (uint8_t) v;
                        break;
                }
        }
        return n;
}

/* The input being run, written out by the signal handler when a mutation crashes, so that it can
 * be replayed by giving its file as the argument. */
static const uint8_t *current_data;
static size_t current_size;
static bool current_is_mutation;

static void on_crash(int sig) {
        static const char name[] = "fuzz-" FUZZ_TARGET "-crash.bin";
        int fd;

        if (current_is_mutation) {
                fd = open(name, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600);
                if (fd >= 0) {
                        (void) !write(fd, current_data, current_size);
                        (void) close(fd);
                        (void) !write(STDOUT_FILENO, "# mutated input saved as " , 25);
                        (void) !write(STDOUT_FILENO, name, sizeof(name) - 1);
                        (void) !write(STDOUT_FILENO, "\n", 1);
                }
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Paths under tests/fuzz/ are shown relative to it. */
static const char *display_path(const char *path) {
        size_t n = strlen(FUZZ_DATA_DIR);

        return strncmp(path, FUZZ_DATA_DIR "/", n + 1) == 0 ? path + n + 1 : path;
}

/* Runs one input from an exactly-sized copy, so that a sanitizer sees any read past its end. */
static int run_one(const uint8_t *data, size_t size, bool mutation) {
        _cleanup_free_ uint8_t *exact = malloc(size ?: 1);

        if (!exact)
                return -ENOMEM;
        memcpy(exact, data, size);
        current_data = exact;
        current_size = size;
        current_is_mutation = mutation;
        (void) LLVMFuzzerTestOneInput(exact, size);
        current_data = NULL;
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(input_list_done) InputList inputs = {};
        _cleanup_free_ char *corpus = NULL, *crashes = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
        unsigned mutations = DEFAULT_MUTATIONS;
        const char *e;
        size_t cap = 0;
        int r;

        if (argc > 1) {
                /* Given files or directories: replay them only (e.g. a crash from bench/fuzz.sh). */
                for (int i = 1; i < argc; i++) {
                        r = load_path(&inputs, argv[i], false);
                        if (r < 0) {
                                printf("1..0 # Bail out! %s: %s\n", argv[i], strerror(-r));
                                return 1;
                        }
                }
                mutations = 0;
        } else {
                corpus = strdup_printf("%s/corpus/%s", FUZZ_DATA_DIR, FUZZ_TARGET);
                crashes = strdup_printf("%s/crashes/%s", FUZZ_DATA_DIR, FUZZ_TARGET);
                if (!corpus || !crashes)
                        return 1;
                r = load_path(&inputs, corpus, false);
                if (r >= 0)
                        r = load_path(&inputs, crashes, true);
                if (r < 0) {
                        printf("1..0 # Bail out! %s: %s\n", corpus, strerror(-r));
                        return 1;
                }
                if (inputs.n == 0) {
                        printf("1..0 # Bail out! %s is empty\n", corpus);
                        return 1;
                }
        }

        e = getenv("FUZZ_MUTATIONS");
        if (e && argc <= 1 && safe_atou32(e, &mutations) < 0) {
                printf("1..0 # Bail out! FUZZ_MUTATIONS=%s is not a number\n", e);
                return 1;
        }

        (void) signal(SIGABRT, on_crash);
        (void) signal(SIGSEGV, on_crash);
        (void) signal(SIGBUS, on_crash);

        qsort(inputs.items, inputs.n, sizeof(Input), input_compare);
        printf("1..%zu\n", inputs.n + (mutations > 0));

        for (size_t i = 0; i < inputs.n; i++) {
                /* Named before it runs: a crash leaves the file's name as the last line. */
                printf("# %s: %s\n", FUZZ_TARGET, inputs.items[i].path);
                fflush(stdout);
                if (run_one(inputs.items[i].data, inputs.items[i].size, false) < 0)
                        return 1;
                printf("ok %zu - %s (%zu bytes)\n", i + 1, display_path(inputs.items[i].path), inputs.items[i].size);
                cap = MAX(cap, inputs.items[i].size);
        }

        if (mutations > 0) {
                cap = 2 * cap + 1024;
                buf = malloc(cap);
                if (!buf)
                        return 1;
                for (unsigned i = 0; i < mutations; i++) {
                        size_t n = mutate(&inputs, &rng, i, buf, cap);

                        if (run_one(buf, n, true) < 0)
                                return 1;
                }
                printf("ok %zu - %u mutations of the inputs above\n", inputs.n + 1, mutations);
        }
        return 0;
}
#endif
