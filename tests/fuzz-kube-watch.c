/* fuzz-kube-watch.c — fuzz target: a watch stream cut into data-derived chunks gives the same events as fed whole; LIST bodies never crash. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "kube-watch.h"
#include "macro.h"

/* Small, so that inputs of a few KiB reach the limit from both sides. */
#define FUZZ_MAX_EVENT_BYTES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything a run delivers, folded into one number, so two runs compare in O(1) memory. */
typedef struct Digest {
        uint64_t hash;
        size_t count;
        size_t fail_at;         /* the callback fails on this event (1-based), 0: never */
} Digest;

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
        const unsigned char *s = p;

        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static uint64_t fnv1a_str(uint64_t h, const char *s) {
        /* NULL and "" differ: hash a marker byte first. */
        h = fnv1a(h, s ? "s" : "n", 1);
        return s ? fnv1a(h, s, strlen(s) + 1) : h;
}

static int on_event(const WatchEvent *e, void *userdata) {
        Digest *d = userdata;
        const char *type, *obj;

        /* What the parser promises to every callback. */
        type = watch_event_type_to_string(e->type);
        if (!type || !json_object_is_type(e->object, json_type_object))
                abort();
        if (e->type != WATCH_EVENT_ERROR && (e->status_code != 0 || e->status_reason))
                abort();

        d->count++;
        if (d->fail_at > 0 && d->count == d->fail_at)
                return -ECANCELED;

        obj = json_object_to_json_string_ext(e->object, JSON_C_TO_STRING_PLAIN);
        d->hash = fnv1a_str(d->hash, type);
        d->hash = fnv1a_str(d->hash, e->resource_version);
        d->hash = fnv1a(d->hash, &e->status_code, sizeof(e->status_code));
        d->hash = fnv1a_str(d->hash, e->status_reason);
        d->hash = fnv1a_str(d->hash, obj);
        return 0;
}

static uint64_t xorshift64(uint64_t *s) {
        uint64_t x = *s;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

/* Only the documented results, and the callback's own. */
#define IN_SET(x, a, b, c, d) ((x) == (a) || (x) == (b) || (x) == (c) || (x) == (d))

static void check_bounded(const WatchParser *p) {
        if (p->alloc > p->max_event_bytes + 1 || p->len > p->alloc)
                abort();
}

/* Feeds the input in chunks whose sizes come from rng; returns the first error. */
static int feed_chunked(WatchParser *p, const char *s, size_t n, uint64_t rng, size_t max_chunk, Digest *d) {
        int first = 0;

        while (n > 0) {
                size_t k = 1 + (size_t) (xorshift64(&rng) % max_chunk);
                int r;

                k = MIN(k, n);

                r = watch_parser_feed(p, s, k, on_event, d);
                check_bounded(p);
                if (first < 0 && r != -EBADMSG)
                        abort();        /* a failed parser must stay failed */
                if (first == 0 && r < 0)
                        first = r;
                s += k;
                n -= k;
        }
        return first;
}

static void fuzz_watch(const char *s, size_t n, uint64_t seed) {
        static const size_t max_chunks[] = { 1, 3, 17, 256, 5000 };
        /* One input in eight makes the callback fail on one of its first three events. */
        Digest whole = { .hash = 1, .fail_at = (seed >> 8) % 8 == 0 ? 1 + (size_t) ((seed >> 11) % 3) : 0 }, again;
        WatchParser p;
        int r_whole, r;

        watch_parser_init(&p, FUZZ_MAX_EVENT_BYTES);

        r_whole = watch_parser_feed(&p, s, n, on_event, &whole);
        check_bounded(&p);
        if (r_whole < 0 && !p.failed)
                abort();
        if (!IN_SET(r_whole, 0, -EMSGSIZE, -EBADMSG, -ECANCELED))
                abort();

        /* Same bytes, other cuts: same events, same verdict. */
        for (size_t i = 0; i < ELEMENTSOF(max_chunks); i++) {
                again = (Digest) { .hash = 1, .fail_at = whole.fail_at };
                watch_parser_reset(&p);
                r = feed_chunked(&p, s, n, seed + i + 1, max_chunks[i], &again);
                if (r != r_whole || again.hash != whole.hash || again.count != whole.count)
                        abort();
        }

        watch_parser_done(&p);
}

static void fuzz_list(const char *s, size_t n) {
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        size_t count = 0;
        int r;

        r = kube_list_parse(s, n, &items, &count, &rv, &reason);
        if (r < 0) {
                if (r != -EBADMSG || !reason || items || rv)
                        abort();
                return;
        }
        if (!rv || !*rv || reason || (count == 0) != (items == NULL))
                abort();
        for (size_t i = 0; i < count; i++)
                if (!json_object_is_type(items[i], json_type_object))
                        abort();
        kube_list_free(items, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;

        /* The chunking comes from the input itself, so every crash reproduces from its file. */
        fuzz_watch(s, size, fnv1a(UINT64_C(0xcbf29ce484222325), data, size) | 1);
        fuzz_list(s, size);
        return 0;
}

#ifdef FUZZ_STANDALONE
/* Without libFuzzer: run the files given, or a deterministic corpus mutated from built-in seeds,
 * so that `make check` exercises the target with gcc alone. Output is TAP. */

#define STANDALONE_INPUTS 20000U

static const char *const seeds[] = {
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"node01\","
        "\"resourceVersion\":\"1201\",\"labels\":{\"kubernetes.io/hostname\":\"node01\"}}}}\n",
        "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\",\"resourceVersion\":\"1250\","
        "\"labels\":{\"kubevirt.io/ksm-enabled\":\"true\"},\"annotations\":{\"kubevirt.io/ksm-handler-managed\":\"true\"}}}}\r\n"
        "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"node02\",\"resourceVersion\":\"1302\"}}}\r\n",
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"2417\","
        "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n\n",
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}\n",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\",\"labels\":{\"note\":\"Größe ≥ 5 µs — 日本語 🚀\","
        "\"e\":\"a\\\\b\\\"c\\u00e9\\n\"},\"n\":[1,-2.5e3,true,false,null]}}}\n",
        "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\"},\"items\":["
        "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\"}},{\"metadata\":{\"name\":\"node02\"}}]}",
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"nodes is forbidden\","
        "\"reason\":\"Forbidden\",\"code\":403}",
};

static const char interesting[] = { '\n', '\r', '{', '}', '[', ']', '"', ':', ',', '\\', ' ', '0', 'e', '-',
                                    '\0', (char) 0xff, (char) 0xc3, (char) 0xa9, (char) 0xf0 };

/* Builds one mutated input in buf (capacity cap); returns its length. */
static size_t mutate(uint64_t *rng, char *buf, size_t cap) {
        const char *seed = seeds[xorshift64(rng) % ELEMENTSOF(seeds)];
        size_t n = MIN(strlen(seed), cap), rounds;

        memcpy(buf, seed, n);
        rounds = 1 + xorshift64(rng) % 8;

        for (size_t i = 0; i < rounds; i++) {
                size_t at = n > 0 ? xorshift64(rng) % (n + 1) : 0, len = xorshift64(rng);
                const char *other;

                /* MIN() evaluates its arguments twice: random numbers are drawn beforehand. */
                switch (xorshift64(rng) % 9) {
                case 0: /* flip a bit */
                        if (at < n)
                                buf[at] ^= (char) (1u << (xorshift64(rng) % 8));
                        break;
                case 1: /* insert an interesting byte */
                        if (n < cap) {
                                memmove(buf + at + 1, buf + at, n - at);
                                buf[at] = interesting[xorshift64(rng) % ELEMENTSOF(interesting)];
                                n++;
                        }
                        break;
                case 2: /* overwrite with an interesting byte */
                        if (at < n)
                                buf[at] = interesting[xorshift64(rng) % ELEMENTSOF(interesting)];
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
                case 5: /* splice in another seed */
                        other = seeds[xorshift64(rng) % ELEMENTSOF(seeds)];
                        len = MIN(strlen(other), cap - n);
                        memmove(buf + at + len, buf + at, n - at);
                        memcpy(buf + at, other, len);
                        n += len;
                        break;
                case 6: /* truncate */
                        n = at;
                        break;
                case 7: /* a long run, to cross the event size limit */
                        len = MIN(len % (2 * FUZZ_MAX_EVENT_BYTES), cap - n);
                        memmove(buf + at + len, buf + at, n - at);
                        memset(buf + at, xorshift64(rng) % 2 ? ' ' : 'x', len);
                        n += len;
                        break;
                default: /* a random byte */
                        if (at < n)
                                buf[at] = (char) xorshift64(rng);
                        break;
                }
        }
        return n;
}

static int run_file(const char *path) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t k;

                if (n == cap) {
                        char *b = realloc(buf, cap = cap ? cap * 2 : 65536);

                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = fread(buf + n, 1, cap - n, f);
                if (k == 0)
                        break;
                n += k;
        }
        if (ferror(f))
                return -EIO;

        /* An exactly-sized copy, so that a sanitizer sees any read past the end. */
        {
                _cleanup_free_ uint8_t *exact = malloc(n ?: 1);

                if (!exact)
                        return -ENOMEM;
                memcpy(exact, buf, n);
                (void) LLVMFuzzerTestOneInput(exact, n);
        }
        return 0;
}

int main(int argc, char **argv) {
        static const size_t cap = 3 * FUZZ_MAX_EVENT_BYTES;
        _cleanup_free_ char *buf = NULL;
        uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);
        int failed = 0;

        if (argc > 1) {
                printf("1..%d\n", argc - 1);
                for (int i = 1; i < argc; i++) {
                        int r = run_file(argv[i]);

                        if (r < 0) {
                                printf("not ok %d - %s: %s\n", i, argv[i], strerror(-r));
                                failed = 1;
                        } else
                                printf("ok %d - %s\n", i, argv[i]);
                }
                return failed;
        }

        buf = malloc(cap);
        if (!buf)
                return 1;

        printf("1..2\n");
        for (size_t i = 0; i < ELEMENTSOF(seeds); i++)
                (void) LLVMFuzzerTestOneInput((const uint8_t *) seeds[i], strlen(seeds[i]));
        printf("ok 1 - %zu seed inputs\n", ELEMENTSOF(seeds));

        for (unsigned i = 0; i < STANDALONE_INPUTS; i++) {
                size_t n = mutate(&rng, buf, cap);
                _cleanup_free_ uint8_t *exact = malloc(n ?: 1);

                if (!exact)
                        return 1;
                memcpy(exact, buf, n);
                (void) LLVMFuzzerTestOneInput(exact, n);
        }
        printf("ok 2 - %u mutated inputs\n", STANDALONE_INPUTS);
        return 0;
}
#endif
