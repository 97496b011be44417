/* metrics-server.c — GET /metrics over HTTP/1.x in the event loop: non-blocking, bounded, no thread. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "metrics-server.h"
#include "util.h"

MetricsCounters metrics_counters;

static void close_fd(int fd) {
        if (fd >= 0)
                (void) close(fd);
}

typedef struct Connection Connection;

struct MetricsServer {
        sd_event *event;
        char *listen;
        int fd;
        sd_event_source *listen_source;
        MetricsBodyFn body;
        void *userdata;

        Connection *connections;        /* oldest first */
        unsigned n_connections;
};

struct Connection {
        MetricsServer *server;
        Connection *prev, *next;
        int fd;
        sd_event_source *io, *timer;

        char request[METRICS_REQUEST_MAX_BYTES];
        size_t request_len;

        char *out;                      /* the answer, headers and body; NULL while reading */
        size_t out_len, out_sent;
};

static Connection *connection_free(Connection *c) {
        MetricsServer *s;

        if (!c)
                return NULL;
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;

        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        close_fd(c->fd);
        free(c->out);
        free(c);
        return NULL;
}

static const char *status_text(int code) {
        switch (code) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        default:  return "Internal Server Error";
        }
}

/* Queues the answer and switches the connection to writing. 0 or -ENOMEM. */
static int connection_answer(Connection *c, int code, const char *content_type, const char *body, bool head) {
        size_t body_len = strlen(body);
        char *out;

        out = strdup_printf("HTTP/1.1 %d %s\r\n"
                            "Content-Type: %s\r\n"
                            "Content-Length: %zu\r\n"
                            "%s"
                            "Connection: close\r\n"
                            "\r\n"
                            "%s",
                            code, status_text(code), content_type, body_len,
                            code == 405 ? "Allow: GET, HEAD\r\n" : "",
                            head ? "" : body);
        if (!out)
                return -ENOMEM;
        c->out = out;
        c->out_len = strlen(out);
        c->out_sent = 0;
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int connection_answer_error(Connection *c, int code) {
        _cleanup_free_ char *body = strdup_printf("%d %s\n", code, status_text(code));

        if (!body)
                return -ENOMEM;
        return connection_answer(c, code, "text/plain; charset=utf-8", body, false);
}

static int connection_handle_request(Connection *c) {
        MetricsServer *s = c->server;
        _cleanup_free_ char *body = NULL;
        bool head = false;
        int r;

        switch (metrics_parse_request(c->request, c->request_len, &head)) {
        case METRICS_REQUEST_INCOMPLETE:
                if (c->request_len >= sizeof(c->request)) {
                        log_debug("Metrics request larger than %u bytes, refused.", METRICS_REQUEST_MAX_BYTES);
                        return connection_answer_error(c, 431);
                }
                return 0;
        case METRICS_REQUEST_BAD:
                return connection_answer_error(c, 400);
        case METRICS_REQUEST_BAD_METHOD:
                return connection_answer_error(c, 405);
        case METRICS_REQUEST_NOT_FOUND:
                return connection_answer_error(c, 404);
        case METRICS_REQUEST_METRICS:
                break;
        default:
                return -EINVAL;
        }

        r = s->body(s->userdata, &body);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Failed to gather metrics, answering 500: %m");
                return connection_answer_error(c, 500);
        }
        return connection_answer(c, 200, METRICS_CONTENT_TYPE, body, head);
}

static int connection_read(Connection *c) {
        ssize_t n;

        n = read(c->fd, c->request + c->request_len, sizeof(c->request) - c->request_len);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return -errno;
        }
        if (n == 0)
                return -ECONNRESET;     /* gone before the request was complete */
        c->request_len += (size_t) n;
        return connection_handle_request(c);
}

/* 1: everything was sent; 0: more to send; -errno. */
static int connection_write(Connection *c) {
        ssize_t n;

        n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return -errno;
        }
        c->out_sent += (size_t) n;
        return c->out_sent >= c->out_len;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        int r;

        if (!c->out) {
                r = connection_read(c);
                if (r == -ENOMEM)
                        (void) log_oom();
                if (r < 0 || (!c->out && (revents & (EPOLLHUP | EPOLLERR)))) {
                        connection_free(c);
                        return 0;
                }
                if (!c->out)
                        return 0;
        }

        r = connection_write(c);
        if (r != 0) {
                /* Done (or the client left): no more from us; the client sees the end of the answer. */
                (void) shutdown(c->fd, SHUT_WR);
                connection_free(c);
        }
        return 0;
}

static int on_connection_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Connection *c = userdata;

        log_debug("Metrics connection idle for %" PRIu64 " s, closed.", METRICS_CONNECTION_TIMEOUT_USEC / USEC_PER_SEC);
        connection_free(c);
        return 0;
}

/* Makes room for one more: the oldest connection still sending its request goes. false if every
 * connection is busy taking an answer. */
static bool server_evict_one(MetricsServer *s) {
        for (Connection *c = s->connections; c; c = c->next)
                if (!c->out) {
                        log_debug("%u metrics connections open, closing the oldest idle one.", s->n_connections);
                        connection_free(c);
                        return true;
                }
        return false;
}

static int server_add_connection(MetricsServer *s, int fd) {
        _cleanup_close_ int owned = fd;
        Connection *c, *last;
        int r;

        if (s->n_connections >= METRICS_CONNECTIONS_MAX && !server_evict_one(s))
                return 0;       /* closed at once */

        c = calloc(1, sizeof(Connection));
        if (!c)
                return -ENOMEM;
        c->server = s;
        c->fd = TAKE_FD(owned);
        /* Linked in first, so connection_free() can undo everything from here on. */
        for (last = s->connections; last && last->next; last = last->next)
                ;
        c->prev = last;
        if (last)
                last->next = c;
        else
                s->connections = c;
        s->n_connections++;

        r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_connection_io, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(c->io, "metrics-connection");
        r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, METRICS_CONNECTION_TIMEOUT_USEC,
                                       USEC_PER_SEC / 10, on_connection_timeout, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(c->timer, "metrics-connection-timeout");
        return 0;

fail:
        connection_free(c);
        return r;
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        MetricsServer *s = userdata;
        int r;

        /* Take what is waiting, a bounded number at a time, so a flood cannot starve the loop. */
        for (unsigned i = 0; i < METRICS_CONNECTIONS_MAX; i++) {
                int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_debug_errno(-errno, "Failed to accept a metrics connection, ignoring: %m");
                        return 0;
                }
                r = server_add_connection(s, cfd);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        log_debug_errno(r, "Failed to set up a metrics connection, ignoring: %m");
        }
        return 0;
}

int metrics_server_new(sd_event *e, const char *listen_address, MetricsBodyFn body, void *userdata,
                       MetricsServer **ret) {
        _cleanup_(metrics_server_freep) MetricsServer *s = NULL;
        struct sockaddr_storage sa;
        socklen_t sa_len;
        const char *why;
        int r, one = 1;

        assert(e);
        assert(listen_address);
        assert(body);
        assert(ret);

        r = metrics_parse_listen(listen_address, &sa, &sa_len, &why);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(MetricsServer));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->event = sd_event_ref(e);
        s->body = body;
        s->userdata = userdata;
        s->listen = strdup(listen_address);
        if (!s->listen)
                return -ENOMEM;

        s->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return -errno;
        /* A restart must not wait out TIME_WAIT; an IPv6 address means only IPv6. */
        (void) setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (sa.ss_family == AF_INET6)
                (void) setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(s->fd, (struct sockaddr *) &sa, sa_len) < 0)
                return -errno;
        if (listen(s->fd, 64) < 0)
                return -errno;

        r = sd_event_add_io(e, &s->listen_source, s->fd, EPOLLIN, on_listen_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->listen_source, "metrics-listen");

        *ret = TAKE_PTR(s);
        return 0;
}

MetricsServer *metrics_server_free(MetricsServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->listen_source);
        close_fd(s->fd);
        sd_event_unref(s->event);
        free(s->listen);
        free(s);
        return NULL;
}

const char *metrics_server_listen(const MetricsServer *s) {
        return s ? s->listen : NULL;
}

unsigned metrics_server_connections(const MetricsServer *s) {
        return s ? s->n_connections : 0;
}
