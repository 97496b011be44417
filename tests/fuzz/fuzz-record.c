/* fuzz-record.c — fuzz target: the ownership record (state.json). What parses formats back to a
 * record that parses to the same values; loading the file from a scratch state directory gives the
 * parser's verdict; nothing else is accepted. */
#include <stdio.h>

#include "fuzz.h"
#include "record.h"

static bool record_equal(const Record *a, const Record *b) {
        return a->claimed == b->claimed && a->have_saved == b->have_saved &&
               a->saved_pages_to_scan == b->saved_pages_to_scan &&
               a->saved_sleep_millisecs == b->saved_sleep_millisecs &&
               a->have_saved_advisor == b->have_saved_advisor &&
               ksm_advisor_equal(&a->saved_advisor, &b->saved_advisor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL, *formatted = NULL;
        Record rec, again, loaded;
        const char *dir;
        int r, r_load;

        if (size > 128 * 1024)
                return 0;
        text = fuzz_strndup(data, size);
        if (!text)
                return 0;

        r = record_parse(text, &rec);
        fuzz_check(r == 0 || r == -EBADMSG || r == -ERANGE || r == -ENOMEM);
        if (r == -ENOMEM)
                return 0;
        if (r == 0) {
                formatted = record_format(&rec);
                if (!formatted)
                        return 0;
                fuzz_check(record_parse(formatted, &again) == 0);
                fuzz_check(record_equal(&rec, &again));
                fuzz_check(record_saved_in_range(&rec));
        } else {
                const Record zero = {};

                fuzz_check(record_equal(&rec, &zero));
        }

        /* The file as the daemon loads it at start: a NUL anywhere makes it unreadable. */
        dir = fuzz_scratch_dir();
        if (!dir || fuzz_write_file(dir, RECORD_FILE_NAME, data, size) < 0)
                return 0;
        r_load = record_load(dir, &loaded);
        if (r_load == -ENOMEM)
                return 0;
        if (memchr(data, 0, size))
                fuzz_check(r_load == -EBADMSG);
        else {
                fuzz_check(r_load == (r == 0 ? 1 : r));
                fuzz_check(r_load < 0 || record_equal(&loaded, &rec));
        }
        return 0;
}
