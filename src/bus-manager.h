/* bus-manager.h — org.kubevirt.KSM1 on the system bus: vtable, properties, methods, signals. */
#pragma once

#include "manager.h"

#define KSM_BUS_NAME "org.kubevirt.KSM1"
#define KSM_BUS_PATH "/org/kubevirt/KSM1"
#define KSM_BUS_INTERFACE "org.kubevirt.KSM1"

#define KSM_BUS_ERROR_NOT_AVAILABLE "org.kubevirt.KSM1.Error.NotAvailable"
#define KSM_BUS_ERROR_BUSY "org.kubevirt.KSM1.Error.Busy"
#define KSM_BUS_ERROR_IO "org.kubevirt.KSM1.Error.IOError"

/* Registers the object on m->bus. 0 or -errno. */
int bus_manager_add_object(Manager *m);

/* Emits PropertiesChanged for every state property that differs from what was last announced. */
void bus_manager_emit_changed(Manager *m);
