/* bus-manager.h — org.kubevirt.KSM1 on the system bus: vtable, properties, methods, signals. */
#pragma once

#include "ksm-bus.h"
#include "manager.h"

/* Registers the object on m->bus. 0 or -errno. */
int bus_manager_add_object(Manager *m);

/* Emits PropertiesChanged for every state property that differs from what was last announced. */
void bus_manager_emit_changed(Manager *m);
