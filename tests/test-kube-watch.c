/* test-kube-watch.c — table tests of the watch stream parser under every chunking, and of LIST bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include <errno.h>
#include <limits.h>

#include "json-util.h"
#include "kube-watch.h"
#include "macro.h"
#include "test-tables.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

/* Every event the callback sees, one line each: "TYPE rv code reason object". */
typedef struct Recorder {
        char *log;
        size_t len;
        size_t count;
        size_t fail_at;         /* 1-based event number at which the callback fails; 0: never */
        int fail_with;
} Recorder;

static void recorder_done(Recorder *rec) {
        free(rec->log);
        *rec = (Recorder) {};
}

static void recorder_append(Recorder *rec, const char *s) {
        size_t l = strlen(s);
        char *n;

        n = realloc(rec->log, rec->len + l + 1);
        assert_non_null(n);
        memcpy(n + rec->len, s, l + 1);
        rec->log = n;
        rec->len += l;
}

static int on_event(const WatchEvent *e, void *userdata) {
        Recorder *rec = userdata;
        const char *obj;
        char head[256];

        assert_non_null(e->object);
        assert_true(json_object_is_type(e->object, json_type_object));

        rec->count++;
        if (rec->fail_at > 0 && rec->count == rec->fail_at)
                return rec->fail_with;

        (void) snprintf(head, sizeof(head), "%s rv=%s code=%d reason=%s ", watch_event_type_to_string(e->type),
                        e->resource_version ?: "-", e->status_code, e->status_reason ?: "-");
        recorder_append(rec, head);
        obj = json_object_to_json_string_ext(e->object, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        recorder_append(rec, obj);
        recorder_append(rec, "\n");
        return 0;
}

/* Feeds stream in the chunks given by the boundaries cuts[0..n_cuts) (increasing offsets).
 * Returns the first error, or 0. After an error every further feed must say -EBADMSG. */
static int feed_split(const char *name, WatchParser *p, const char *stream, size_t len, const size_t *cuts,
                      size_t n_cuts, Recorder *rec) {
        size_t start = 0;
        int first = 0;

        for (size_t i = 0; i <= n_cuts; i++) {
                size_t end = i < n_cuts ? cuts[i] : len;
                int r;

                r = watch_parser_feed(p, stream + start, end - start, on_event, rec);
                if (first < 0 && r != -EBADMSG)
                        fail_msg("%s: feed after failure = %d, expected -EBADMSG", name, r);
                if (first == 0 && r < 0)
                        first = r;
                if (p->alloc > p->max_event_bytes + 1)
                        fail_msg("%s: buffer of %zu bytes for a %zu-byte limit", name, p->alloc, p->max_event_bytes);
                start = end;
        }
        return first;
}

typedef struct FeedCase {
        const char *name;
        const char *stream;
        int r;                  /* the first error, or 0 */
        const char *events;     /* what on_event() records before it */
        size_t max;             /* max_event_bytes; 0: the default */
        size_t len;             /* 0: strlen(stream) */
} FeedCase;

#define NODE(rv) "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"node01\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}"
#define STATUS_410 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\"," \
        "\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}"
#define REC(type, rv, obj) type " rv=" rv " code=0 reason=- " obj "\n"

/* 40-byte events, to test the limit: {"type":"ADDED","object":{"a":"xxxxxx"}} */
#define E40 "{\"type\":\"ADDED\",\"object\":{\"a\":\"xxxxxx\"}}"
#define R40 "ADDED rv=- code=0 reason=- {\"a\":\"xxxxxx\"}\n"

static const FeedCase feed_cases[] = {
        { "ADDED", EV("ADDED", NODE("11")) "\n", 0, REC("ADDED", "11", NODE("11")) },
        { "MODIFIED", EV("MODIFIED", NODE("12")) "\n", 0, REC("MODIFIED", "12", NODE("12")) },
        { "DELETED", EV("DELETED", NODE("13")) "\n", 0, REC("DELETED", "13", NODE("13")) },
        { "BOOKMARK",
          EV("BOOKMARK", "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"12746\","
             "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}") "\n", 0,
          "BOOKMARK rv=12746 code=0 reason=- {\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":"
          "{\"resourceVersion\":\"12746\",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}\n" },
        { "ERROR 410 Expired", EV("ERROR", STATUS_410) "\n", 0, "ERROR rv=- code=410 reason=Expired " STATUS_410 "\n" },
        { "ERROR 500 without reason",
          EV("ERROR", "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"etcd timeout\",\"code\":500}") "\n", 0,
          "ERROR rv=- code=500 reason=- {\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"etcd timeout\",\"code\":500}\n" },
        { "ERROR with a non-integer code", EV("ERROR", "{\"code\":\"410\",\"reason\":7}") "\n", 0,
          "ERROR rv=- code=0 reason=- {\"code\":\"410\",\"reason\":7}\n" },
        { "ERROR with a huge code", EV("ERROR", "{\"code\":99999999999}") "\n", 0,
          "ERROR rv=- code=0 reason=- {\"code\":99999999999}\n" },
        { "code outside ERROR is ignored", EV("ADDED", "{\"code\":410,\"reason\":\"Expired\"}") "\n", 0,
          "ADDED rv=- code=0 reason=- {\"code\":410,\"reason\":\"Expired\"}\n" },
        { "every type in one stream",
          EV("ADDED", NODE("1")) "\n" EV("MODIFIED", NODE("2")) "\n" EV("DELETED", NODE("3")) "\n"
          EV("BOOKMARK", "{\"metadata\":{\"resourceVersion\":\"4\"}}") "\n" EV("ERROR", STATUS_410) "\n", 0,
          REC("ADDED", "1", NODE("1")) REC("MODIFIED", "2", NODE("2")) REC("DELETED", "3", NODE("3"))
          REC("BOOKMARK", "4", "{\"metadata\":{\"resourceVersion\":\"4\"}}")
          "ERROR rv=- code=410 reason=Expired " STATUS_410 "\n" },
        { "CRLF line endings", EV("ADDED", NODE("1")) "\r\n" EV("DELETED", NODE("2")) "\r\n", 0,
          REC("ADDED", "1", NODE("1")) REC("DELETED", "2", NODE("2")) },
        { "blank and whitespace-only lines ignored",
          "\n\r\n" EV("ADDED", NODE("1")) "\n\n  \t \n\r\n" EV("DELETED", NODE("2")) "\n\n", 0,
          REC("ADDED", "1", NODE("1")) REC("DELETED", "2", NODE("2")) },
        { "pretty whitespace inside and around the object", "  { \"type\" : \"ADDED\" ,\t\"object\" : { } }  \r\n", 0,
          "ADDED rv=- code=0 reason=- {}\n" },
        { "a trailing partial line waits", EV("ADDED", NODE("1")) "\n" EV("DELETED", NODE("2")), 0,
          REC("ADDED", "1", NODE("1")) },
        { "a trailing partial junk line waits", EV("ADDED", NODE("1")) "\n{\"ty", 0, REC("ADDED", "1", NODE("1")) },
        { "empty stream", "", 0, "" },
        { "only line breaks", "\n\n\r\n\n", 0, "" },
        { "multi-byte UTF-8 in values",
          EV("ADDED", "{\"metadata\":{\"resourceVersion\":\"7\",\"labels\":{\"note\":\"Größe ≥ 5 µs — 日本語 🚀\"}}}") "\n", 0,
          REC("ADDED", "7", "{\"metadata\":{\"resourceVersion\":\"7\",\"labels\":{\"note\":\"Größe ≥ 5 µs — 日本語 🚀\"}}}") },
        { "escaped line break inside a string", EV("ADDED", "{\"a\":\"x\\ny\"}") "\n", 0,
          "ADDED rv=- code=0 reason=- {\"a\":\"x\\ny\"}\n" },
        { "resourceVersion not a string", EV("ADDED", "{\"metadata\":{\"resourceVersion\":12}}") "\n", 0,
          REC("ADDED", "-", "{\"metadata\":{\"resourceVersion\":12}}") },
        { "no metadata", EV("MODIFIED", "{\"kind\":\"Node\"}") "\n", 0, REC("MODIFIED", "-", "{\"kind\":\"Node\"}") },
        { "keys in another order, extra keys", "{\"object\":" NODE("5") ",\"extra\":[1],\"type\":\"ADDED\"}\n", 0,
          REC("ADDED", "5", NODE("5")) },
        { "a line of exactly the limit", E40 "\n" E40 "\n", 0, R40 R40, 40 },
        { "a line of the limit plus CR", E40 "\r\n" E40 "\r\n", 0, R40 R40, 40 },
        { "a line one byte over the limit", E40 "\n " E40 "\n", -EMSGSIZE, R40, 40 },
        { "a partial line over the limit", E40 "\n" E40 E40, -EMSGSIZE, R40, 40 },
        { "an oversize line that is junk too", E40 "\n" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", -EMSGSIZE, R40, 40 },
        { "blank lines longer than the limit", E40 "\n" "                                                 \n",
          -EMSGSIZE, R40, 40 },
        { "junk line", EV("ADDED", NODE("1")) "\nHTTP/1.1 500 Internal Server Error\n" EV("ADDED", NODE("2")) "\n",
          -EBADMSG, REC("ADDED", "1", NODE("1")) },
        { "truncated JSON line", "{\"type\":\"ADDED\",\"object\":{}\n", -EBADMSG, "" },
        { "a JSON array", "[" EV("ADDED", "{}") "]\n", -EBADMSG, "" },
        { "a JSON string", "\"ADDED\"\n", -EBADMSG, "" },
        { "a JSON number", "410\n", -EBADMSG, "" },
        { "JSON null", "null\n", -EBADMSG, "" },
        { "two objects on one line", EV("ADDED", "{}") EV("ADDED", "{}") "\n", -EBADMSG, "" },
        { "junk after the object", EV("ADDED", "{}") " x\n", -EBADMSG, "" },
        { "single quotes (not strict JSON)", "{'type':'ADDED','object':{}}\n", -EBADMSG, "" },
        { "a trailing comma (not strict JSON)", "{\"type\":\"ADDED\",\"object\":{},}\n", -EBADMSG, "" },
        { "a NUL byte in the line", "{\"type\":\"ADDED\",\0\"object\":{}}\n", -EBADMSG, "", 0, 30 },
        { "missing type", "{\"object\":{}}\n", -EBADMSG, "" },
        { "type null", "{\"type\":null,\"object\":{}}\n", -EBADMSG, "" },
        { "type not a string", "{\"type\":1,\"object\":{}}\n", -EBADMSG, "" },
        { "unknown type", EV("SYNC", "{}") "\n", -EBADMSG, "" },
        { "lower-case type", EV("added", "{}") "\n", -EBADMSG, "" },
        { "empty type", EV("", "{}") "\n", -EBADMSG, "" },
        { "missing object", "{\"type\":\"ADDED\"}\n", -EBADMSG, "" },
        { "object null", EV("ADDED", "null") "\n", -EBADMSG, "" },
        { "object a string", EV("DELETED", "\"node01\"") "\n", -EBADMSG, "" },
        { "object an array", EV("DELETED", "[]") "\n", -EBADMSG, "" },
        { "ERROR without an object", "{\"type\":\"ERROR\"}\n", -EBADMSG, "" },
        { "bad line after good ones", EV("ADDED", NODE("1")) "\n" EV("DELETED", NODE("2")) "\n{}\n" EV("ADDED", NODE("3")) "\n",
          -EBADMSG, REC("ADDED", "1", NODE("1")) REC("DELETED", "2", NODE("2")) },
};

static void check_recorded(const char *name, const char *how, const Recorder *rec, int r, const FeedCase *c) {
        if (r != c->r)
                fail_msg("%s (%s): result %d, expected %d", name, how, r, c->r);
        if (!streq(rec->log ?: "", c->events))
                fail_msg("%s (%s): events\n%s\nexpected\n%s", name, how, strempty(rec->log), c->events);
}

/* The same stream, whole, in every 2-way split, in every 3-way split of short streams, and byte
 * by byte: the same events and the same result every time. */
static void test_feed(void **state) {
        const FeedCase *c = *state;
        size_t len = c->len > 0 ? c->len : strlen(c->stream);
        WatchParser p;
        Recorder rec = {};
        char how[64];
        int r;

        watch_parser_init(&p, c->max);

        r = feed_split(c->name, &p, c->stream, len, NULL, 0, &rec);
        check_recorded(c->name, "whole", &rec, r, c);

        for (size_t k = 0; k <= len; k++) {
                watch_parser_reset(&p);
                recorder_done(&rec);
                r = feed_split(c->name, &p, c->stream, len, &k, 1, &rec);
                (void) snprintf(how, sizeof(how), "split at %zu", k);
                check_recorded(c->name, how, &rec, r, c);
        }

        if (len <= 256)
                for (size_t a = 0; a <= len; a++)
                        for (size_t b = a; b <= len; b++) {
                                size_t cuts[2] = { a, b };

                                watch_parser_reset(&p);
                                recorder_done(&rec);
                                r = feed_split(c->name, &p, c->stream, len, cuts, 2, &rec);
                                (void) snprintf(how, sizeof(how), "split at %zu and %zu", a, b);
                                check_recorded(c->name, how, &rec, r, c);
                        }

        watch_parser_reset(&p);
        recorder_done(&rec);
        {
                _cleanup_free_ size_t *cuts = calloc(len + 1, sizeof(size_t));

                assert_non_null(cuts);
                for (size_t k = 0; k < len; k++)
                        cuts[k] = k + 1;
                r = feed_split(c->name, &p, c->stream, len, cuts, len, &rec);
                check_recorded(c->name, "1-byte chunks", &rec, r, c);
        }

        recorder_done(&rec);
        watch_parser_done(&p);
}

/* A callback error stops the feed, is returned as is, and fails the parser until reset. */
static void test_callback_error(void **state) {
        static const char stream[] = EV("ADDED", NODE("1")) "\n" EV("MODIFIED", NODE("2")) "\n" EV("DELETED", NODE("3")) "\n";
        WatchParser p;
        Recorder rec = { .fail_at = 2, .fail_with = -ECANCELED };

        watch_parser_init(&p, 0);
        assert_int_equal(p.max_event_bytes, WATCH_DEFAULT_MAX_EVENT_BYTES);

        assert_int_equal(watch_parser_feed(&p, stream, strlen(stream), on_event, &rec), -ECANCELED);
        assert_int_equal(rec.count, 2);
        assert_true(p.failed);
        assert_string_equal(rec.log, REC("ADDED", "1", NODE("1")));

        /* Failed: nothing more is delivered, even a good line, even nothing at all. */
        assert_int_equal(watch_parser_feed(&p, stream, strlen(stream), on_event, &rec), -EBADMSG);
        assert_int_equal(watch_parser_feed(&p, "", 0, on_event, &rec), -EBADMSG);
        assert_int_equal(watch_parser_feed(&p, NULL, 0, on_event, &rec), -EBADMSG);
        assert_int_equal(rec.count, 2);

        /* Reset: the stream parses again from the start. */
        watch_parser_reset(&p);
        assert_false(p.failed);
        rec.fail_at = 0;
        assert_int_equal(watch_parser_feed(&p, stream, strlen(stream), on_event, &rec), 0);
        assert_int_equal(rec.count, 5);

        /* A positive callback return is not an error. */
        recorder_done(&rec);
        rec = (Recorder) { .fail_at = 1, .fail_with = 1 };
        assert_int_equal(watch_parser_feed(&p, stream, strlen(stream), on_event, &rec), 0);
        assert_int_equal(rec.count, 3);

        recorder_done(&rec);
        watch_parser_done(&p);
}

/* A failure mid-line, then a reset, forgets the partial line: the next event parses cleanly. */
static void test_failed_state_and_reset(void **state) {
        static const char good[] = EV("ADDED", NODE("1")) "\n";
        WatchParser p;
        Recorder rec = {};

        watch_parser_init(&p, 128);

        /* A partial line, then a reset (a reconnect): it is forgotten. */
        assert_int_equal(watch_parser_feed(&p, "{\"type\":\"AD", 11, on_event, &rec), 0);
        assert_int_equal(p.len, 11);
        watch_parser_reset(&p);
        assert_int_equal(p.len, 0);
        assert_null(p.buf);
        assert_int_equal(watch_parser_feed(&p, good, strlen(good), on_event, &rec), 0);
        assert_int_equal(rec.count, 1);

        /* Junk fails the parser, with the rest of the chunk unread. */
        assert_int_equal(watch_parser_feed(&p, "junk\n" EV("ADDED", "{}") "\n", 5 + 32, on_event, &rec), -EBADMSG);
        assert_true(p.failed);
        assert_int_equal(watch_parser_feed(&p, good, strlen(good), on_event, &rec), -EBADMSG);
        assert_int_equal(rec.count, 1);

        watch_parser_reset(&p);
        assert_int_equal(watch_parser_feed(&p, good, strlen(good), on_event, &rec), 0);
        assert_int_equal(rec.count, 2);

        /* So does an oversize line; the buffer is released. */
        assert_int_equal(watch_parser_feed(&p, good, 100, on_event, &rec), 0);
        assert_int_equal(watch_parser_feed(&p, good, 100, on_event, &rec), -EMSGSIZE);
        assert_true(p.failed);
        assert_null(p.buf);
        assert_int_equal(p.len, 0);
        watch_parser_reset(&p);
        assert_int_equal(watch_parser_feed(&p, good, strlen(good), on_event, &rec), 0);
        assert_int_equal(rec.count, 3);

        /* Done twice is harmless, and leaves a parser that can be initialized again. */
        watch_parser_done(&p);
        watch_parser_done(&p);
        watch_parser_done(NULL);
        recorder_done(&rec);
}

/* A never-ending line of 100 MB in 64 KiB chunks: -EMSGSIZE once past the limit, and the buffer
 * never grows beyond it. */
static void test_endless_line(void **state) {
        static const size_t chunk = 64 * 1024, total = 100 * 1024 * 1024;
        _cleanup_free_ char *buf = malloc(chunk), *huge = NULL;
        WatchParser p;
        Recorder rec = {};
        size_t fed = 0;
        int r = 0;

        assert_non_null(buf);
        memset(buf, 'x', chunk);
        buf[0] = '{';

        watch_parser_init(&p, 0);
        while (fed < total) {
                r = watch_parser_feed(&p, buf, chunk, on_event, &rec);
                assert_true(p.alloc <= p.max_event_bytes + 1);
                if (r < 0)
                        break;
                fed += chunk;
        }
        assert_int_equal(r, -EMSGSIZE);
        assert_true(fed <= WATCH_DEFAULT_MAX_EVENT_BYTES);
        assert_true(fed + chunk > WATCH_DEFAULT_MAX_EVENT_BYTES);
        assert_null(p.buf);
        assert_int_equal(rec.count, 0);
        assert_int_equal(watch_parser_feed(&p, buf, chunk, on_event, &rec), -EBADMSG);

        /* One huge chunk is refused without being copied at all. */
        watch_parser_reset(&p);
        huge = malloc(2 * WATCH_DEFAULT_MAX_EVENT_BYTES);
        assert_non_null(huge);
        memset(huge, ' ', 2 * WATCH_DEFAULT_MAX_EVENT_BYTES);
        assert_int_equal(watch_parser_feed(&p, huge, 2 * WATCH_DEFAULT_MAX_EVENT_BYTES, on_event, &rec), -EMSGSIZE);
        assert_int_equal(p.alloc, 0);

        /* Nor is a whole line of the same size. */
        watch_parser_reset(&p);
        huge[2 * WATCH_DEFAULT_MAX_EVENT_BYTES - 1] = '\n';
        assert_int_equal(watch_parser_feed(&p, huge, 2 * WATCH_DEFAULT_MAX_EVENT_BYTES, on_event, &rec), -EMSGSIZE);
        assert_int_equal(p.alloc, 0);

        watch_parser_done(&p);
        recorder_done(&rec);
}

/* Nesting up to 64 levels parses; deeper is refused rather than recursing without bound. */
static void test_depth(void **state) {
        WatchParser p;
        Recorder rec = {};

        watch_parser_init(&p, 0);
        for (size_t depth = 60; depth <= 70; depth++) {
                _cleanup_free_ char *s = NULL;
                size_t n = 0;
                int r;

                s = malloc(64 + 6 * depth);
                assert_non_null(s);
                n += (size_t) sprintf(s, "{\"type\":\"ADDED\",\"object\":");
                for (size_t i = 2; i < depth; i++)
                        n += (size_t) sprintf(s + n, "{\"a\":");
                n += (size_t) sprintf(s + n, "{}");
                for (size_t i = 2; i < depth; i++)
                        s[n++] = '}';
                n += (size_t) sprintf(s + n, "}\n");

                watch_parser_reset(&p);
                r = watch_parser_feed(&p, s, n, on_event, &rec);
                if (r != (depth <= 64 ? 0 : -EBADMSG))
                        fail_msg("depth %zu: %d", depth, r);
        }
        watch_parser_done(&p);
        recorder_done(&rec);
}

static void test_event_type_names(void **state) {
        static const char *const names[_WATCH_EVENT_TYPE_MAX] = {
                [WATCH_EVENT_ADDED] = "ADDED",
                [WATCH_EVENT_MODIFIED] = "MODIFIED",
                [WATCH_EVENT_DELETED] = "DELETED",
                [WATCH_EVENT_BOOKMARK] = "BOOKMARK",
                [WATCH_EVENT_ERROR] = "ERROR",
        };

        for (int t = 0; t < _WATCH_EVENT_TYPE_MAX; t++) {
                assert_string_equal(watch_event_type_to_string(t), names[t]);
                assert_int_equal(watch_event_type_from_string(names[t]), t);
        }
        assert_null(watch_event_type_to_string(_WATCH_EVENT_TYPE_MAX));
        assert_null(watch_event_type_to_string(_WATCH_EVENT_TYPE_INVALID));
        assert_int_equal(watch_event_type_from_string(NULL), _WATCH_EVENT_TYPE_INVALID);
        assert_int_equal(watch_event_type_from_string(""), _WATCH_EVENT_TYPE_INVALID);
        assert_int_equal(watch_event_type_from_string("added"), _WATCH_EVENT_TYPE_INVALID);
        assert_int_equal(watch_event_type_from_string("ADDED "), _WATCH_EVENT_TYPE_INVALID);
}

/* ------------------------------------------------------------------------------------------ */
/* Fixture streams */

typedef struct FixtureCase {
        const char *name;
        const char *file;
        size_t events;
        const char *last;       /* type of the last event */
        const char *last_rv;
} FixtureCase;

static const FixtureCase fixture_cases[] = {
        { "fixture: nodes", "nodes.jsonl", 3, "DELETED", "1302" },
        { "fixture: bookmark, CRLF", "bookmark.jsonl", 2, "BOOKMARK", "2417" },
        { "fixture: ERROR 410", "error-410.jsonl", 2, "ERROR", "-" },
        { "fixture: long events", "long-events.jsonl", 3, "BOOKMARK", "4200" },
};

static char *read_fixture(const char *file, size_t *ret_len) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[PATH_MAX], *buf;
        long n;

        (void) snprintf(path, sizeof(path), "%s/watch/%s", FIXTURES_DIR, file);
        f = fopen(path, "re");
        if (!f)
                fail_msg("%s: %s", path, strerror(errno));
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        buf = malloc((size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = 0;
        *ret_len = (size_t) n;
        return buf;
}

static void test_fixture(void **state) {
        const FixtureCase *c = *state;
        _cleanup_free_ char *stream = NULL, *whole = NULL, *last = NULL;
        _cleanup_free_ size_t *cuts = NULL;
        size_t len = 0, chunks;
        WatchParser p;
        Recorder rec = {};
        char want[64];
        int r;

        stream = read_fixture(c->file, &len);

        watch_parser_init(&p, 0);
        r = watch_parser_feed(&p, stream, len, on_event, &rec);
        if (r != 0)
                fail_msg("%s: feed = %d", c->name, r);
        if (rec.count != c->events)
                fail_msg("%s: %zu events, expected %zu", c->name, rec.count, c->events);
        if (p.len != 0)
                fail_msg("%s: %zu bytes left over", c->name, p.len);

        /* The type and resourceVersion of the last event. */
        last = strdup(rec.log);
        assert_non_null(last);
        last[strlen(last) - 1] = 0;
        (void) snprintf(want, sizeof(want), "%s rv=%s ", c->last, c->last_rv);
        if (!strstr(strrchr(last, '\n') ? strrchr(last, '\n') + 1 : last, want))
                fail_msg("%s: last event does not start with \"%s\"", c->name, want);
        whole = TAKE_PTR(rec.log);
        recorder_done(&rec);

        /* Byte by byte, and in odd-sized chunks: identical. */
        for (size_t step = 1; step <= 4099; step += 2049) {
                chunks = len / step;
                free(cuts);
                cuts = calloc(chunks + 1, sizeof(size_t));
                assert_non_null(cuts);
                for (size_t k = 0; k < chunks; k++)
                        cuts[k] = (k + 1) * step;

                watch_parser_reset(&p);
                r = feed_split(c->name, &p, stream, len, cuts, chunks, &rec);
                if (r != 0 || !streq(rec.log, whole))
                        fail_msg("%s: %zu-byte chunks give %d and different events", c->name, step, r);
                recorder_done(&rec);
        }

        watch_parser_done(&p);
}

/* ------------------------------------------------------------------------------------------ */
/* kube_list_parse() */

typedef struct ListCase {
        const char *name;
        const char *body;
        int r;
        size_t n;
        const char *rv;         /* or, on error, the reason (substring) */
        const char *first;      /* metadata.name of the first item */
} ListCase;

#define ITEM(n) "{\"kind\":\"Node\",\"metadata\":{\"name\":\"" n "\",\"resourceVersion\":\"100\"}}"

static const ListCase list_cases[] = {
        { "list: NodeList with two items",
          "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\"},\"items\":["
          ITEM("node01") "," ITEM("node02") "]}", 0, 2, "123", "node01" },
        { "list: items empty", "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}",
          0, 0, "5" },
        { "list: items null", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":null}", 0, 0, "5" },
        { "list: items missing", "{\"kind\":\"KubeVirtList\",\"metadata\":{\"resourceVersion\":\"9\",\"continue\":\"\"}}",
          0, 0, "9" },
        { "list: kind missing", "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[" ITEM("a") "]}", 0, 1, "1", "a" },
        { "list: kind List", "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{}]}", 0, 1, "1" },
        { "list: surrounding whitespace", "\r\n  {\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"2\"}}\n\n", 0, 0, "2" },
        { "list: resourceVersion missing", "{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[]}", -EBADMSG, 0,
          "LIST response has no metadata.resourceVersion" },
        { "list: resourceVersion a number", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":123},\"items\":[]}",
          -EBADMSG, 0, "no metadata.resourceVersion" },
        { "list: resourceVersion empty", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[]}",
          -EBADMSG, 0, "no metadata.resourceVersion" },
        { "list: metadata missing", "{\"kind\":\"NodeList\",\"items\":[]}", -EBADMSG, 0, "LIST response has no metadata" },
        { "list: metadata a string", "{\"kind\":\"NodeList\",\"metadata\":\"x\",\"items\":[]}", -EBADMSG, 0, "has no metadata" },
        { "list: items an object", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":{}}", -EBADMSG, 0,
          "LIST response items must be an array, not object" },
        { "list: an item a string",
          "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[" ITEM("a") ",\"b\"]}", -EBADMSG, 0,
          "LIST response items[1] must be an object, not string" },
        { "list: an item null", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[null]}", -EBADMSG, 0,
          "items[0] must be an object, not null" },
        { "list: a Status (403)",
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"nodes is "
          "forbidden: User \\\"system:anonymous\\\" cannot list resource \\\"nodes\\\"\",\"reason\":\"Forbidden\",\"code\":403}",
          -EBADMSG, 0, "LIST response is a Status: nodes is forbidden: User \"system:anonymous\" cannot list resource \"nodes\" (Forbidden)" },
        { "list: a Status with control characters",
          "{\"kind\":\"Status\",\"message\":\"a\\nb\\u001b[31m\"}", -EBADMSG, 0, "is a Status: a?b?[31m (n/a)" },
        { "list: a single object", "{\"kind\":\"Node\",\"metadata\":{\"resourceVersion\":\"1\"}}", -EBADMSG, 0,
          "LIST response is of kind \"Node\", not a list" },
        { "list: kind not a string", "{\"kind\":1,\"metadata\":{\"resourceVersion\":\"1\"}}", -EBADMSG, 0,
          "kind must be a string, not int" },
        { "list: not JSON", "<html>502 Bad Gateway</html>", -EBADMSG, 0, "LIST response is not JSON" },
        { "list: truncated", "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[", -EBADMSG, 0,
          "LIST response is not JSON: truncated JSON" },
        { "list: trailing junk", "{\"metadata\":{\"resourceVersion\":\"1\"}} x", -EBADMSG, 0, "trailing data" },
        { "list: two objects", "{\"metadata\":{\"resourceVersion\":\"1\"}}{}", -EBADMSG, 0, "trailing data" },
        { "list: empty body", "", -EBADMSG, 0, "LIST response is not JSON" },
        { "list: an array", "[" ITEM("a") "]", -EBADMSG, 0, "LIST response must be a JSON object, not array" },
        { "list: null", "null", -EBADMSG, 0, "must be a JSON object, not null" },
};

static void test_list(void **state) {
        const ListCase *c = *state;
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        size_t n = 99;
        int r;

        r = kube_list_parse(c->body, strlen(c->body), &items, &n, &rv, &reason);
        if (r != c->r)
                fail_msg("%s: kube_list_parse() = %d (%s), expected %d", c->name, r, strna(reason), c->r);

        if (r < 0) {
                if (!reason || !strstr(reason, c->rv))
                        fail_msg("%s: reason \"%s\" does not contain \"%s\"", c->name, strna(reason), c->rv);
                if (items || rv)
                        fail_msg("%s: results set on failure", c->name);
                if (kube_list_parse(c->body, strlen(c->body), &items, &n, &rv, NULL) != c->r)
                        fail_msg("%s: different result without reterr_reason", c->name);
                return;
        }

        if (reason)
                fail_msg("%s: reason \"%s\" on success", c->name, reason);
        if (!streq_ptr(rv, c->rv))
                fail_msg("%s: resourceVersion \"%s\", expected \"%s\"", c->name, strna(rv), c->rv);
        if (n != c->n)
                fail_msg("%s: %zu items, expected %zu", c->name, n, c->n);
        if (n == 0 && items)
                fail_msg("%s: an array for no items", c->name);
        if (c->first) {
                json_object *md = NULL, *name = NULL;

                (void) json_object_object_get_ex(items[0], "metadata", &md);
                (void) json_object_object_get_ex(md, "name", &name);
                if (!name || !streq(json_object_get_string(name), c->first))
                        fail_msg("%s: first item is not %s", c->name, c->first);
        }
        kube_list_free(items, n);
}

/* The items outlive the parsed body; resourceVersion is optional to ask for. */
static void test_list_ownership(void **state) {
        static const char body[] = "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"77\"},\"items\":["
                ITEM("a") "," ITEM("b") "," ITEM("c") "]}";
        json_object **items = NULL;
        size_t n = 0;

        assert_int_equal(kube_list_parse(body, strlen(body), &items, &n, NULL, NULL), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
                assert_true(json_object_is_type(items[i], json_type_object));
        /* Each item holds its own reference: dropping two leaves the third intact. */
        json_object_put(items[0]);
        json_object_put(items[1]);
        items[0] = items[1] = NULL;
        assert_true(json_object_is_type(items[2], json_type_object));
        kube_list_free(items, n);
        kube_list_free(NULL, 0);

        /* Not NUL-terminated: only n bytes are read. */
        assert_int_equal(kube_list_parse(body, strlen(body) - 1, &items, &n, NULL, NULL), -EBADMSG);
}

/* Bounded parsing: json-c spends ~800 bytes on a "{}", so the byte limits alone let a 2 MiB line
 * cost ~550 MB. Each row is PREFIX + ITEM x COUNT (comma-separated) + SUFFIX, fed as one watch
 * line (a newline appended) and as a LIST body. */
typedef struct BoundCase {
        const char *name;
        const char *prefix, *item, *suffix;
        size_t count;
        int watch_r;            /* watch_parser_feed() */
        int list_r;             /* kube_list_parse() */
} BoundCase;

#define WPRE "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"1\"},\"x\":["
#define LPRE "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":["

static const BoundCase bound_cases[] = {
        { "bound: 9000 {} in an event parse", WPRE, "{}", "]}}", 9000, 0, -EBADMSG },
        { "bound: 20000 {} in an event (4 MiB of them cost 1 GB before) are refused", WPRE, "{}", "]}}", 20000,
          -EMSGSIZE, -EBADMSG },
        { "bound: 600000 {} in 2 MiB are refused before json-c", WPRE, "{}", "]}}", 600000, -EMSGSIZE, -EBADMSG },
        { "bound: 30000 numbers refused", WPRE, "1", "]}}", 30000, -EMSGSIZE, -EBADMSG },
        { "bound: commas inside strings do not count", WPRE, "\",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\"", "]}}", 15000, 0, -EBADMSG },
        { "bound: brackets inside strings do not count", WPRE, "\"{[{[\\\"{[{[\"", "]}}", 15000, 0, -EBADMSG },
        { "bound: a LIST of 6000 items parses", LPRE, "{\"metadata\":{\"name\":\"a\"}}", "]}", 6000, -EBADMSG, 0 },
        { "bound: a LIST of 100000 items is refused", LPRE, "{}", "]}", 100000, -EMSGSIZE, -EBADMSG },
        { "bound: unbalanced brackets", WPRE, "[}", "]}}", 1, -EBADMSG, -EBADMSG },
};

static void test_bound(void **state) {
        const BoundCase *c = *state;
        size_t il = strlen(c->item), n = 0;
        _cleanup_free_ char *s = malloc(strlen(c->prefix) + c->count * (il + 1) + strlen(c->suffix) + 2);
        _cleanup_free_ char *rv = NULL, *reason = NULL;
        json_object **items = NULL;
        size_t n_items = 0;
        WatchParser p;
        Recorder rec = {};
        int r;

        assert_non_null(s);
        n += (size_t) sprintf(s, "%s", c->prefix);
        for (size_t i = 0; i < c->count; i++) {
                if (i > 0)
                        s[n++] = ',';
                memcpy(s + n, c->item, il);
                n += il;
        }
        n += (size_t) sprintf(s + n, "%s", c->suffix);

        r = kube_list_parse(s, n, &items, &n_items, &rv, &reason);
        if (r != c->list_r)
                fail_msg("%s: kube_list_parse() = %d (%s), expected %d", c->name, r, strna(reason), c->list_r);
        if (r == 0)
                kube_list_free(items, n_items);
        if (c->list_r < 0 && c->watch_r == -EMSGSIZE && (!reason || !strstr(reason, "more than")))
                fail_msg("%s: reason \"%s\" does not name the limit", c->name, strna(reason));

        s[n++] = '\n';
        watch_parser_init(&p, 0);
        r = watch_parser_feed(&p, s, n, on_event, &rec);
        if (r != c->watch_r)
                fail_msg("%s: watch_parser_feed() = %d, expected %d", c->name, r, c->watch_r);
        watch_parser_done(&p);
        recorder_done(&rec);
}

/* json_scan()'s count is the one json_value_count() gives for the parsed tree. */
static void test_value_count(void **state) {
        static const char *const docs[] = {
                "1", "{}", "[]", "[1,2,3]", "[{},[]]", "{\"a\":{}}", "{\"a\":1,\"b\":[{},{\"c\":null}]}", "[[[]],[\",\"]]",
        };

        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                json_object *o = NULL;
                size_t scanned = 0, counted;

                assert_int_equal(json_scan(docs[i], strlen(docs[i]), 100, 64, &scanned, NULL), 0);
                assert_int_equal(json_parse_bounded(docs[i], strlen(docs[i]), 0, &o, NULL), 0);
                counted = json_value_count(o, 100);
                if (counted != scanned)
                        fail_msg("%s: scanned %zu, counted %zu", docs[i], scanned, counted);
                if (json_value_count(o, 1) > 2)
                        fail_msg("%s: the limit does not stop the count", docs[i]);
                json_object_put(o);
        }
}

#define N_CASES (ELEMENTSOF(feed_cases) + ELEMENTSOF(fixture_cases) + ELEMENTSOF(list_cases) + ELEMENTSOF(bound_cases))

int main(void) {
        struct CMUnitTest tests[N_CASES + 7];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, feed_cases, test_feed);
        TEST_ADD_TABLE(tests, n, fixture_cases, test_fixture);
        TEST_ADD_TABLE(tests, n, list_cases, test_list);
        TEST_ADD_TABLE(tests, n, bound_cases, test_bound);

        tests[n++] = (struct CMUnitTest) { .name = "callback error propagates and fails the parser", .test_func = test_callback_error };
        tests[n++] = (struct CMUnitTest) { .name = "failed state and reset", .test_func = test_failed_state_and_reset };
        tests[n++] = (struct CMUnitTest) { .name = "a 100 MB line in 64 KiB chunks stays bounded", .test_func = test_endless_line };
        tests[n++] = (struct CMUnitTest) { .name = "nesting depth limit", .test_func = test_depth };
        tests[n++] = (struct CMUnitTest) { .name = "event type names", .test_func = test_event_type_names };
        tests[n++] = (struct CMUnitTest) { .name = "list: items are owned references", .test_func = test_list_ownership };
        tests[n++] = (struct CMUnitTest) { .name = "bound: scan count equals tree count", .test_func = test_value_count };

        if (n != ELEMENTSOF(tests))
                abort();
        return test_run_group("kube-watch", tests, n);
}
