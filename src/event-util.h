/* event-util.h — sd-event helpers shared by the I/O modules: the one-shot retry timer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Makes *s fire once, delay_usec from now on CLOCK_BOOTTIME (10 ms accuracy). The first call
 * creates the source (named description) and stores it in *s; later calls re-arm it.
 * 0, or -errno when the source cannot be created (*s stays NULL). */
int event_timer_arm(sd_event *e, sd_event_source **s, uint64_t delay_usec, sd_event_time_handler_t cb,
                    void *userdata, const char *description);

/* Turns the timer off; NULL is fine. */
void event_timer_disarm(sd_event_source *s);

/* true while the timer is armed (created and not yet fired). */
bool event_timer_armed(sd_event_source *s);
