/* udev-memory.c — a libudev monitor on memory blocks: hotplug changes MemTotal, so re-tune. */
#include <assert.h>
#include <stdlib.h>
#include <libudev.h>

#include "macro.h"
#include "udev-memory.h"

struct UdevMemory {
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *io;
        UdevMemoryFn cb;
        void *userdata;
};

UdevMemory *udev_memory_free(UdevMemory *u) {
        if (!u)
                return NULL;
        sd_event_source_disable_unref(u->io);
        if (u->monitor)
                udev_monitor_unref(u->monitor);
        if (u->udev)
                udev_unref(u->udev);
        free(u);
        return NULL;
}

static int on_udev(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UdevMemory *u = userdata;
        struct udev_device *d;
        bool any = false;

        /* Drain everything queued; one callback for the whole batch. */
        while ((d = udev_monitor_receive_device(u->monitor))) {
                udev_device_unref(d);
                any = true;
        }
        if (any)
                u->cb(u->userdata);
        return 0;
}

int udev_memory_new(sd_event *e, UdevMemoryFn cb, void *userdata, UdevMemory **ret) {
        _cleanup_(udev_memory_freep) UdevMemory *u = NULL;
        int r;

        assert(e && cb && ret);

        u = calloc(1, sizeof(UdevMemory));
        if (!u)
                return -ENOMEM;
        u->cb = cb;
        u->userdata = userdata;

        u->udev = udev_new();
        if (!u->udev)
                return -ENOMEM;

        /* "udev" events come from udevd after rules ran; without udevd none arrive, which is fine. */
        u->monitor = udev_monitor_new_from_netlink(u->udev, "udev");
        if (!u->monitor) {
                *ret = NULL;
                return 0;
        }
        r = udev_monitor_filter_add_match_subsystem_devtype(u->monitor, "memory", NULL);
        if (r < 0)
                return r;
        r = udev_monitor_enable_receiving(u->monitor);
        if (r < 0) {
                *ret = NULL;
                return 0;
        }

        r = sd_event_add_io(e, &u->io, udev_monitor_get_fd(u->monitor), EPOLLIN, on_udev, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(u->io, "udev-memory");

        *ret = TAKE_PTR(u);
        return 0;
}
