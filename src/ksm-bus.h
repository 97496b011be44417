/* ksm-bus.h — the names of org.kubevirt.KSM1 on the system bus, shared by the daemon and kubevirt-ksmctl. */
#pragma once

/* The bus name, the one object and its interface (org.kubevirt.KSM1(5)). */
#define KSM_BUS_NAME "org.kubevirt.KSM1"
#define KSM_BUS_PATH "/org/kubevirt/KSM1"
#define KSM_BUS_INTERFACE "org.kubevirt.KSM1"

/* The error names the daemon returns besides sd-bus's own; tests/integration/test-man.sh checks
 * that the ERRORS section of the manual lists exactly these. */
#define KSM_BUS_ERROR_NOT_AVAILABLE "org.kubevirt.KSM1.Error.NotAvailable"
#define KSM_BUS_ERROR_BUSY "org.kubevirt.KSM1.Error.Busy"
#define KSM_BUS_ERROR_IO "org.kubevirt.KSM1.Error.IOError"
