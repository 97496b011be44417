/* metrics-server.h — the built-in scrape listener ([Metrics] Listen=): a small HTTP/1.x server in
 * the event loop that answers GET /metrics, and the process' metric counters. */
#pragma once

#include <systemd/sd-event.h>

#include "metrics.h"

/* The counters the daemon's parts bump as they go (reconciles, Node patches, API errors). One per
 * process, like the log level: the parts that count do not all know the Manager. */
extern MetricsCounters metrics_counters;

/* Limits against clients that misbehave. A scrape request is one line and a few headers. */
#define METRICS_REQUEST_MAX_BYTES       (8U * 1024U)
/* Past this many open connections the oldest one still sending its request is closed, so idle
 * connections cannot lock scrapers out. */
#define METRICS_CONNECTIONS_MAX         16U
/* A connection must have sent its request and taken the answer within this time (slowloris). */
#define METRICS_CONNECTION_TIMEOUT_USEC (5 * UINT64_C(1000000))

/* Makes the body of a scrape: a malloc'd NUL-terminated string. 0 or -errno (answered with 500). */
typedef int (*MetricsBodyFn)(void *userdata, char **ret);

typedef struct MetricsServer MetricsServer;

/* Binds and listens on listen (a Listen= value, see metrics_parse_listen()). 0, -EINVAL (a bad
 * value), or -errno from socket/bind/listen (-EADDRINUSE, -EACCES, ...). */
int metrics_server_new(sd_event *e, const char *listen, MetricsBodyFn body, void *userdata, MetricsServer **ret);
/* Closes the listener and every connection. NULL is fine; returns NULL. */
MetricsServer *metrics_server_free(MetricsServer *s);
static inline void metrics_server_freep(MetricsServer **s) {
        if (*s)
                metrics_server_free(*s);
}

/* The Listen= value the server was made with. */
const char *metrics_server_listen(const MetricsServer *s);
/* Connections open now (for tests and debugging). */
unsigned metrics_server_connections(const MetricsServer *s);
