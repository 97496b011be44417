/* event-util.c — the create-or-rearm one-shot timer the Kubernetes modules retry with. */
#include <assert.h>

#include "event-util.h"
#include "macro.h"

/* Retries are seconds apart; 10 ms of slack lets the loop coalesce wake-ups. */
#define RETRY_TIMER_ACCURACY_USEC (10 * USEC_PER_MSEC)

int event_timer_arm(sd_event *e, sd_event_source **s, uint64_t delay_usec, sd_event_time_handler_t cb,
                    void *userdata, const char *description) {
        int r;

        assert(e && s && cb);

        if (*s) {
                (void) sd_event_source_set_time_relative(*s, delay_usec);
                (void) sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
                return 0;
        }

        r = sd_event_add_time_relative(e, s, CLOCK_BOOTTIME, delay_usec, RETRY_TIMER_ACCURACY_USEC, cb, userdata);
        if (r < 0)
                return r;
        if (description)
                (void) sd_event_source_set_description(*s, description);
        return 0;
}

void event_timer_disarm(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

bool event_timer_armed(sd_event_source *s) {
        return s && sd_event_source_get_enabled(s, NULL) > 0;
}
