/* scan-control.h — the adaptive scan controller of Policy=always: pure, driven by what scanning yields. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* What the controller is doing.
 *   waking:  scanning fast because new mergeable memory may be there (start, MemAvailable fell,
 *            the slow scan found merges or new pages, memory hot-plug, a Reconcile() call);
 *   merging: scanning fast and merges are growing;
 *   idle:    a full pass found nothing new: scanning at the near-idle rate. */
typedef enum ScanState {
        SCAN_STATE_OFF,         /* the controller does not drive KSM (not ours, not running, other policy) */
        SCAN_STATE_WAKING,
        SCAN_STATE_MERGING,
        SCAN_STATE_IDLE,
        _SCAN_STATE_MAX,
        _SCAN_STATE_INVALID = -EINVAL,
} ScanState;

/* Why the controller last left idle (or started). */
typedef enum ScanWake {
        SCAN_WAKE_NONE,
        SCAN_WAKE_START,        /* the daemon took KSM over, or a new policy applies */
        SCAN_WAKE_MEMORY,       /* MemAvailable fell by ScanWakeMemoryMiB= */
        SCAN_WAKE_MERGES,       /* the slow scan merged at least ScanQuietPassPages in one sample */
        SCAN_WAKE_NEW_PAGES,    /* pages_unshared + pages_volatile grew: new memory was registered */
        SCAN_WAKE_HOTPLUG,      /* memory was hot-plugged */
        SCAN_WAKE_REQUEST,      /* Reconcile() on the bus */
        SCAN_WAKE_RESET,        /* the counters went back (KSM was unmerged or restarted) */
        _SCAN_WAKE_MAX,
        _SCAN_WAKE_INVALID = -EINVAL,
} ScanWake;

typedef struct ScanParams {
        uint32_t fast_pages;            /* pages_to_scan while waking or merging */
        uint32_t fast_sleep_ms;         /* sleep_millisecs while waking or merging */
        uint32_t idle_pages;            /* pages_to_scan while idle */
        uint32_t idle_sleep_ms;         /* sleep_millisecs while idle */
        uint64_t sample_usec;           /* how often the counters are read while waking or merging */
        uint64_t idle_sample_usec;      /* ... and while idle */
        uint64_t wake_memory_kb;        /* a MemAvailable drop of this much wakes (0: never) */
        uint32_t quiet_pass_pages;      /* a full pass that merges and adds fewer pages than this is quiet */
        uint64_t holdoff_max_usec;      /* the longest a fruitless wake keeps weak triggers away */
} ScanParams;

/* One reading of the KSM counters and of /proc/meminfo. */
typedef struct ScanSample {
        uint64_t now_usec;              /* CLOCK_BOOTTIME */
        uint64_t pages_shared;
        uint64_t pages_sharing;
        uint64_t pages_unshared;
        uint64_t pages_volatile;
        uint64_t full_scans;
        uint64_t ksm_zero_pages;        /* 0 where the kernel does not export it */
        bool have_meminfo;
        uint64_t mem_total_kb;
        uint64_t mem_available_kb;
} ScanSample;

/* The controller's whole state: carried from one sample to the next. */
typedef struct ScanControl {
        ScanState state;
        ScanWake wake;                  /* why it last woke */
        uint64_t state_since_usec;

        ScanSample last;                /* the previous sample */
        uint64_t passes;                /* full passes completed since the last wake */
        uint64_t pass_saved;            /* saved pages at the last pass boundary */
        uint64_t pass_tracked;          /* pages KSM tracked (rmap items) at the last pass boundary */
        uint64_t wake_saved;            /* saved pages when it last woke */
        int64_t last_pass_merged;       /* saved pages gained by the last complete pass */
        bool have_last_pass;
        unsigned quiet_samples;         /* samples in a row, two passes after waking, that changed nothing */

        uint64_t idle_mem_kb;           /* the highest MemAvailable seen since idle began */
        uint64_t idle_tracked;          /* the lowest unshared + volatile seen since idle began */
        uint64_t holdoff_usec;          /* current hold-off after fruitless wakes (doubles, capped) */
        uint64_t holdoff_until_usec;    /* weak wake triggers are ignored until then */

        uint32_t pages_to_scan;         /* the rate asked for */
        uint32_t sleep_millisecs;
} ScanControl;

/* The first hold-off after a wake that merged nothing; it doubles on each further one. */
#define SCAN_HOLDOFF_INITIAL_USEC (10 * UINT64_C(1000000))

/* Starts (or restarts) the controller from sample s: waking, fast rate, for the given reason. */
void scan_control_start(ScanControl *c, const ScanParams *p, const ScanSample *s, ScanWake why);

/* Feeds one sample. hint is SCAN_WAKE_NONE, or an outside reason to wake (hot-plug, Reconcile())
 * that is honoured even during a hold-off. An OFF controller is started. Returns true when the
 * state changed (for the journal). Pure: same input, same output. */
bool scan_control_step(ScanControl *c, const ScanParams *p, const ScanSample *s, ScanWake hint);

/* When the next sample is due, relative to the last one. */
uint64_t scan_control_interval_usec(const ScanControl *c, const ScanParams *p);

/* pages_to_scan x 1000 / sleep_millisecs: the nominal scan rate (the real one is lower, sleeps
 * round up to the timer tick). 0 when off. */
uint32_t scan_control_pages_per_sec(uint32_t pages_to_scan, uint32_t sleep_millisecs);

/* (pages_sharing + ksm_zero_pages): the pages KSM saves. */
static inline uint64_t scan_sample_saved_pages(const ScanSample *s) {
        return s->pages_sharing + s->ksm_zero_pages;
}

const char *scan_state_to_string(ScanState s);
ScanState scan_state_from_string(const char *s);
const char *scan_wake_to_string(ScanWake w);
ScanWake scan_wake_from_string(const char *s);
