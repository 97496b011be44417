/* fuzz-kube-watch.c — fuzz target: a watch stream cut into data-derived chunks gives the same events as fed whole; LIST bodies never crash. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "kube-watch.h"

/* Small, so that inputs of a few KiB reach the limit from both sides. */
#define FUZZ_MAX_EVENT_BYTES 4096

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
                size_t k = 1 + (size_t) (fuzz_xorshift64(&rng) % max_chunk);
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
