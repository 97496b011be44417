/* fuzz-conf.c — fuzz target: kubevirt-ksmd.conf and its drop-ins (the input cut at NUL bytes into
 * the main file and up to three drop-ins). Loading the files from a scratch directory gives the
 * same configuration, or the same error at the same file and line, as parsing the texts in order;
 * errors and warnings always say where and why. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "util.h"

#define N_FILES 4

static const char *const dropin_names[N_FILES] = { NULL, "10-a.conf", "20-b.conf", "30-c.conf" };

static void on_warn(const char *file, unsigned line, const char *msg, void *userdata) {
        unsigned *n = userdata;

        fuzz_check(file && msg);
        (*n)++;
}

/* Every field, as text: two configurations are the same when these are. */
static char *config_dump(const Config *c) {
        return strdup_printf(
                "%s|%s|%s|%" PRIu64 "|%d|%s|%s|%s|%s|%s|%s|%s|%d|%" PRIu64 "|%" PRIu32 "|%" PRIi32 "|%" PRIu32
                "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32
                "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%" PRIu64 "|%" PRIu64
                "|%" PRIu32 "|%" PRIu32 "|%" PRIu64 "|%" PRIu64 "|%s|%d",
                strna(c->kubeconfig), strna(c->node_name), strna(c->kubevirt_namespace), c->watch_idle_timeout_usec,
                (int) c->source_type, strna(c->kubevirt_file), strna(c->node_file), strna(c->selector_annotation),
                strna(c->enabled_label), strna(c->managed_annotation), strna(c->sysfs_dir), strna(c->meminfo_file),
                (int) c->policy, c->recheck_usec, c->pages_boost, c->pages_decay, c->pages_min, c->pages_max,
                c->pages_init, c->sleep_baseline_ms, c->sleep_min_ms, c->sleep_max_ms, c->free_percent,
                c->advisor_target_scan_time_sec, c->advisor_max_cpu, c->advisor_min_pages, c->advisor_max_pages,
                c->scan_fast_pages, c->scan_fast_sleep_ms, c->scan_idle_pages, c->scan_idle_sleep_ms,
                c->scan_sample_usec, c->scan_idle_sample_usec, c->scan_wake_memory_mib, c->scan_quiet_pass_pages,
                c->scan_holdoff_max_usec, c->conflict_quiet_usec, strna(c->state_dir), c->log_level);
}

static bool text_is_clean(const char *s) {
        for (; s && *s; s++)
                if ((unsigned char) *s < 0x20 && *s != '\t')
                        return false;
        return true;
}

static unsigned count_lines(const uint8_t *p, size_t n) {
        unsigned lines = 1;

        for (size_t i = 0; i < n; i++)
                if (p[i] == '\n')
                        lines++;
        return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_done) Config parsed = {}, loaded = {};
        _cleanup_free_ char *main_path = NULL, *dropin_dir = NULL, *dump_parsed = NULL, *dump_loaded = NULL,
                *load_file = NULL, *load_msg = NULL, *verify_msg = NULL;
        const uint8_t *pieces[N_FILES];
        size_t lens[N_FILES], n;
        const char *scratch;
        unsigned load_line = 0, warnings = 0, warnings_loaded = 0;
        int r_parse = 0, r_load, fail_piece = -1;
        unsigned fail_line = 0;
        char *fail_msg = NULL;

        if (size > 64 * 1024)
                return 0;
        scratch = fuzz_scratch_dir();
        if (!scratch)
                return 0;
        main_path = strdup_printf("%s/ksmd.conf", scratch);
        dropin_dir = strdup_printf("%s/ksmd.conf.d", scratch);
        if (!main_path || !dropin_dir)
                return 0;
        if (mkdir(dropin_dir, 0700) < 0 && errno != EEXIST)
                return 0;

        n = fuzz_split(data, size, N_FILES, pieces, lens);

        /* The texts, parsed in order on top of the defaults. */
        if (config_init(&parsed) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text = fuzz_strndup(pieces[i], lens[i]), *msg = NULL;
                unsigned line = 0;

                if (!text)
                        return 0;
                if (memchr(pieces[i], 0, lens[i])) {
                        /* Only the last piece can hold a NUL: the loader refuses such a file. */
                        r_parse = -EINVAL;
                        fail_piece = (int) i;
                        break;
                }
                r_parse = config_parse_string(&parsed, text, "fuzz.conf", on_warn, &warnings, &line, &msg);
                if (r_parse == -ENOMEM)
                        return 0;
                fuzz_check(r_parse == 0 || r_parse == -EINVAL);
                if (r_parse < 0) {
                        fuzz_check(msg && *msg && text_is_clean(msg));
                        fuzz_check(line >= 1 && line <= count_lines(pieces[i], lens[i]));
                        fail_piece = (int) i;
                        fail_line = line;
                        fail_msg = TAKE_PTR(msg);
                        break;
                }
        }

        /* The same texts as files: ksmd.conf and ksmd.conf.d/NN-x.conf. One input in four only:
         * the loader allocates its 4 MiB limit per file, which dominates the time under ASan. */
        if (fuzz_hash(UINT64_C(0xcbf29ce484222325), data, size) % 4 != 0)
                goto out;
        for (size_t i = 0; i < N_FILES; i++) {
                _cleanup_free_ char *p = i == 0 ? strdup(main_path) : strdup_printf("%s/%s", dropin_dir, dropin_names[i]);

                if (!p)
                        goto out;
                if (i < n) {
                        if (fuzz_write_file(i == 0 ? scratch : dropin_dir, i == 0 ? "ksmd.conf" : dropin_names[i],
                                            pieces[i], lens[i]) < 0)
                                goto out;
                } else
                        (void) unlink(p);
        }

        if (config_init(&loaded) < 0)
                goto out;
        r_load = config_load(&loaded, main_path, false, on_warn, &warnings_loaded, &load_file, &load_line, &load_msg);
        if (r_load == -ENOMEM)
                goto out;
        fuzz_check(r_load == 0 || r_load == -EINVAL);
        fuzz_check((r_load < 0) == (r_parse < 0));

        if (r_load < 0) {
                _cleanup_free_ char *want_file = fail_piece == 0 ? strdup(main_path)
                        : strdup_printf("%s/%s", dropin_dir, dropin_names[fail_piece]);

                fuzz_check(load_file && want_file && streq(load_file, want_file));
                fuzz_check(load_msg && *load_msg && load_line >= 1);
                if (fail_msg) {
                        /* Messages may quote the file name: compare where, and that there is a why. */
                        fuzz_check(load_line == fail_line);
                }
                goto out;
        }

        fuzz_check(warnings_loaded == warnings);
        dump_parsed = config_dump(&parsed);
        dump_loaded = config_dump(&loaded);
        if (dump_parsed && dump_loaded)
                fuzz_check(streq(dump_parsed, dump_loaded));

        r_load = config_verify(&loaded, &verify_msg);
        fuzz_check(r_load == 0 || r_load == -EINVAL || r_load == -ENOMEM);
        fuzz_check(r_load != -EINVAL || (verify_msg && *verify_msg));
        if (r_load == 0) {
                fuzz_check(loaded.pages_min <= loaded.pages_init && loaded.pages_init <= loaded.pages_max);
                fuzz_check(loaded.sleep_min_ms <= loaded.sleep_max_ms);
                fuzz_check(policy_kind_to_string(loaded.policy));
                fuzz_check(source_type_to_string(loaded.source_type));
        }

out:
        free(fail_msg);
        return 0;
}
