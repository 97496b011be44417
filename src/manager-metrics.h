/* manager-metrics.h — the Manager's metrics: a scrape's text and the [Metrics] Listen= listener. */
#pragma once

#include "manager.h"

/* The Prometheus text of the daemon's state now, KSM counters read fresh. 0 or -ENOMEM. */
int manager_metrics_text(Manager *m, char **ret);

/* Opens, moves or closes the listener to match [Metrics] Listen=. A listener that cannot be opened
 * is logged and left closed: metrics are not worth stopping KSM management for. 0 or -ENOMEM. */
int manager_update_metrics_server(Manager *m);
