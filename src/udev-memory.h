/* udev-memory.h — memory hotplug (udev subsystem "memory") as a reconcile trigger. */
#pragma once

#include <systemd/sd-event.h>

typedef struct UdevMemory UdevMemory;
typedef void (*UdevMemoryFn)(void *userdata);

/* Starts a libudev monitor on the "memory" subsystem; cb runs for every event. A machine without
 * udev (containers) is not an error: *ret is set to NULL and 0 returned. 0 or -errno. */
int udev_memory_new(sd_event *e, UdevMemoryFn cb, void *userdata, UdevMemory **ret);
UdevMemory *udev_memory_free(UdevMemory *u);
static inline void udev_memory_freep(UdevMemory **u) {
        if (*u)
                udev_memory_free(*u);
}
