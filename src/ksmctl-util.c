/* ksmctl-util.c — the pure decisions of kubevirt-ksmctl: option values, colour, "did you mean". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ksmctl-util.h"
#include "macro.h"

static const char *const json_mode_table[_JSON_MODE_MAX] = {
        [JSON_OFF] = "off",
        [JSON_PRETTY] = "pretty",
        [JSON_SHORT] = "short",
};

JsonMode json_mode_from_string(const char *s) {
        if (!s)
                return JSON_PRETTY;     /* a bare --json, as before --json= took a value */
        for (size_t i = 0; i < ELEMENTSOF(json_mode_table); i++)
                if (streq(s, json_mode_table[i]))
                        return (JsonMode) i;
        return _JSON_MODE_INVALID;
}

const char *json_mode_to_string(JsonMode m) {
        return m >= 0 && m < _JSON_MODE_MAX ? json_mode_table[m] : NULL;
}

static const char *const stats_format_table[_STATS_FORMAT_MAX] = {
        [STATS_FORMAT_TABLE] = "table",
        [STATS_FORMAT_JSON] = "json",
        [STATS_FORMAT_PROMETHEUS] = "prometheus",
};

StatsFormat stats_format_from_string(const char *s) {
        if (!s)
                return _STATS_FORMAT_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(stats_format_table); i++)
                if (streq(s, stats_format_table[i]))
                        return (StatsFormat) i;
        return _STATS_FORMAT_INVALID;
}

const char *stats_format_to_string(StatsFormat f) {
        return f >= 0 && f < _STATS_FORMAT_MAX ? stats_format_table[f] : NULL;
}

/* systemd's boolean spellings; -1 for anything else. */
static int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -1;
}

bool color_wanted(const char *no_color, const char *systemd_colors, const char *term, bool is_tty) {
        if (no_color)
                return false;
        if (systemd_colors) {
                int b = parse_boolean(systemd_colors);

                if (b >= 0)
                        return b;
                /* "16", "256", "24bit": colour, but only where it would be shown anyway. */
        }
        if (!term || !*term || streq(term, "dumb"))
                return false;
        return is_tty;
}

size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        _cleanup_free_ size_t *row = NULL;
        size_t result;

        row = malloc((lb + 1) * sizeof(size_t));
        if (!row)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);

                        best = MIN(best, up + 1);
                        best = MIN(best, row[j - 1] + 1);
                        row[j] = best;
                        diag = up;
                }
        }
        result = row[lb];
        return result;
}

const char *suggest_word(const char *word, const char *const *candidates) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX, len = strlen(word);

        for (size_t i = 0; candidates[i]; i++) {
                size_t d = edit_distance(word, candidates[i]);

                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        if (!best || best_d > 2 || best_d >= len)
                return NULL;
        return best;
}

int strv_split_append(char ***list, const char *s) {
        size_t n = 0;

        while (*list && (*list)[n])
                n++;
        while (*s) {
                size_t k = strcspn(s, ",");

                if (k > 0) {
                        char **l = realloc(*list, (n + 2) * sizeof(char *));

                        if (!l)
                                return -ENOMEM;
                        *list = l;
                        l[n] = strndup(s, k);
                        if (!l[n])
                                return -ENOMEM;
                        l[++n] = NULL;
                }
                s += k;
                if (*s == ',')
                        s++;
        }
        return 0;
}
