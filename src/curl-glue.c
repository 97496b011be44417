/* curl-glue.c — libcurl multi ↔ sd-event, after the shape of systemd's curl-util.c. */
#include <assert.h>
#include <stdlib.h>

#include "curl-glue.h"
#include "macro.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        sd_event_source *defer;         /* drains curl_multi_info_read() outside the io callbacks */
        CurlGlueDoneFn on_done;
        void *userdata;
};

static void curl_glue_drain(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CURL *easy = msg->easy_handle;
                CURLcode result = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* msg is invalid once the callback removes the handle: copied above. */
                g->on_done(g, easy, result, g->userdata);
        }
}

static int on_defer(sd_event_source *s, void *userdata) {
        curl_glue_drain(userdata);
        return 0;
}

static void curl_glue_schedule_drain(CurlGlue *g) {
        (void) sd_event_source_set_enabled(g->defer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = userdata;
        int action = 0, running;

        if (revents & (EPOLLIN | EPOLLPRI))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;

        (void) curl_multi_socket_action(g->multi, fd, action, &running);
        curl_glue_schedule_drain(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = userdata;
        int running;

        (void) curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        curl_glue_schedule_drain(g);
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: curl's callbacks return 0 or -1, by curl's convention. */
static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        CurlGlue *g = userdata;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        (void) curl_multi_assign(g->multi, fd, NULL);
                        sd_event_source_disable_unref(io);
                }
                return 0;
        }

        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;

        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0)
                        return -1;
                if (sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }

        /* Once the loop is finishing, do not add sources that would never be dispatched. */
        if (sd_event_get_state(g->event) == SD_EVENT_FINISHED)
                return -1;
        if (sd_event_add_io(g->event, &io, fd, events, on_io, g) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 removes the timer, 0 means "as soon as possible". */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *g = userdata;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0)
                return -1;
        return sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int curl_glue_new(sd_event *e, CurlGlueDoneFn on_done, void *userdata, CurlGlue **ret) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        assert(e && on_done && ret);

        g = calloc(1, sizeof(CurlGlue));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(e);
        g->on_done = on_done;
        g->userdata = userdata;

        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EIO;

        r = sd_event_add_time_relative(e, &g->timer, CLOCK_BOOTTIME, 0, 0, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->timer, "curl-timer");
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);

        r = sd_event_add_defer(e, &g->defer, on_defer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->defer, "curl-drain");
        (void) sd_event_source_set_enabled(g->defer, SD_EVENT_OFF);

        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        /* The io sources are freed through CURL_POLL_REMOVE as handles go; the caller removed them. */
        if (g->multi)
                curl_multi_cleanup(g->multi);
        sd_event_source_disable_unref(g->timer);
        sd_event_source_disable_unref(g->defer);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

int curl_glue_add(CurlGlue *g, CURL *easy) {
        if (curl_multi_add_handle(g->multi, easy) != CURLM_OK)
                return -EIO;
        return 0;
}

void curl_glue_remove(CurlGlue *g, CURL *easy) {
        (void) curl_multi_remove_handle(g->multi, easy);
}
