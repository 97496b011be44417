/* curl-glue.h — libcurl's multi interface driven by sd-event: one io source per socket, one
 * timer, and a defer source that drains finished transfers. No Kubernetes knowledge. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

typedef struct CurlGlue CurlGlue;

/* Called from the event loop when a transfer finished (successfully or not). The handle is
 * still attached; the callback may remove and free it, and may add new transfers. */
typedef void (*CurlGlueDoneFn)(CurlGlue *g, CURL *easy, CURLcode result, void *userdata);

int curl_glue_new(sd_event *e, CurlGlueDoneFn on_done, void *userdata, CurlGlue **ret);
CurlGlue *curl_glue_free(CurlGlue *g);
static inline void curl_glue_freep(CurlGlue **g) {
        if (*g)
                curl_glue_free(*g);
}

/* Starts a transfer. 0 or -EIO. */
int curl_glue_add(CurlGlue *g, CURL *easy);

/* Stops a transfer without calling on_done; the caller then frees the handle. */
void curl_glue_remove(CurlGlue *g, CURL *easy);
