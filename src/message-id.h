/* message-id.h — the journal MESSAGE_ID= of each kind of record, explained in catalog/kubevirt-ksmd.catalog. */
#pragma once

/* Generated once with "systemd-id128 new" and never changed: tools and alerts match on them.
 * Every id here has an entry in catalog/kubevirt-ksmd.catalog and is sent by at least one call
 * (tests/integration/test-catalog.sh checks both ways). */

/* The daemon. */
#define KSMD_MESSAGE_STARTED            "25e1092cb5904cd9b1b8dd8307bac310"
#define KSMD_MESSAGE_STOPPED            "45838e8a513547f0804197b7f6c4dce3"
#define KSMD_MESSAGE_RELOADED           "a4eac958d9d44009a6f25008e7e71be6"
#define KSMD_MESSAGE_RELOAD_REFUSED     "956d4e9c661541ba832eacebccfd9954"

/* What it did to KSM (KSM_ACTION=start, restore, tune, scan, unmerge). */
#define KSMD_MESSAGE_KSM_ENABLED        "8d515f643da748b7bfc0abe4312f3e87"
#define KSMD_MESSAGE_KSM_RESTORED       "9e6583a318184c2f926387b44dd04aed"
#define KSMD_MESSAGE_KSM_TUNED          "ab12bd5eaa554f0d86fdc3e8f605aefc"
#define KSMD_MESSAGE_SCAN_STATE         "f1b5c7c88b8a4912bb97cc53e050f055"
#define KSMD_MESSAGE_UNMERGED           "d3a825034a0c480aaa0051f9090549d0"

/* Another writer (KSM_ACTION=conflict). */
#define KSMD_MESSAGE_CONFLICT_CORRECTED "1c5595cb551e428eab452e7d8ee21dbf"
#define KSMD_MESSAGE_CONFLICT           "506c350250004799bd59c79a4e09c1d3"
#define KSMD_MESSAGE_CONFLICT_OVER      "b6cf6793c28b4d64a1bd08817a2fb65d"

/* Failures. */
#define KSMD_MESSAGE_SYSFS_ERROR        "fdffe41db741448d9a06a9744b3e0eca"
#define KSMD_MESSAGE_RECORD_ERROR       "2020a1d5917a42b08a1752cc7b864319"
#define KSMD_MESSAGE_NODE_UPDATE_ERROR  "299b4eed5a5f413bab63dd7784c43b70"
