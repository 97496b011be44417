/* ksmctl-util.h — the pure decisions of kubevirt-ksmctl: option values, colour, "did you mean". */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -22,
} JsonMode;

typedef enum StatsFormat {
        STATS_FORMAT_TABLE,
        STATS_FORMAT_JSON,
        STATS_FORMAT_PROMETHEUS,
        _STATS_FORMAT_MAX,
        _STATS_FORMAT_INVALID = -22,
} StatsFormat;

/* "pretty", "short", "off" (systemd's --json= values); NULL (a bare --json) is pretty.
 * _JSON_MODE_INVALID for anything else. */
JsonMode json_mode_from_string(const char *s);
const char *json_mode_to_string(JsonMode m);

/* "table", "json", "prometheus"; _STATS_FORMAT_INVALID for anything else. */
StatsFormat stats_format_from_string(const char *s);
const char *stats_format_to_string(StatsFormat f);

/* Whether to colour the output, from the environment's values (NULL when unset) and whether the
 * output is a terminal. NO_COLOR (any value, https://no-color.org) turns colour off; a boolean
 * SYSTEMD_COLORS decides next (1 forces colour even into a pipe); then a dumb or missing TERM
 * turns it off; otherwise colour follows the terminal. */
bool color_wanted(const char *no_color, const char *systemd_colors, const char *term, bool is_tty);

/* The Levenshtein distance of a and b (bytes). */
size_t edit_distance(const char *a, const char *b);

/* The candidate nearest to word if it is close enough to be a typo (distance at most 2, and
 * less than the word's length), else NULL. candidates is NULL-terminated. */
const char *suggest_word(const char *word, const char *const *candidates);

/* Splits "A,B,C" and appends each non-empty name to *list (NULL-terminated, grown with
 * realloc). 0 or -ENOMEM. */
int strv_split_append(char ***list, const char *s);
