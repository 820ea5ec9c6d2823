/*
 * http: asynchronous HTTP requests on the libuv loop.
 *
 * The only module where libcurl meets libuv: one curl multi handle driven
 * by the multi socket API (a uv_poll_t per socket, one uv_timer_t), shared
 * connections, HTTP/2 where the server offers it, TLS verification always
 * on, plain http only to loopback addresses.  Callers hand in a request and
 * get exactly one completion callback with status, headers and body, or the
 * reason there is none.  A request is never retried here: whether that is
 * safe is the caller's decision, helped by `sent`.
 *
 * It also owns libcurl's process-wide state: a client's first request
 * loads libcurl and calls curl_global_init, and the last http_close of a
 * client that sent anything curl_global_cleanup (a count of clients in
 * use), rather than a global init/cleanup pair that every program (the
 * daemon, `run`, the tests) would have to place around its clients in the
 * right order.  So no other file includes curl, and a client that never
 * sends (a daemon whose jobs are hours away) never maps it.
 */
#ifndef KCRON_HTTP_H
#define KCRON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "method.h"

struct http;
struct http_xfer;

/* Connections to one host by default: room for a burst (fifty jobs due in
 * the same second, plus the polls of earlier ones) to go out at once over
 * HTTP/1.1; over HTTP/2 they are streams of one connection. */
#define HTTP_HOST_CONNECTIONS 64

struct http_options {
	const char *ca_file;       /* NULL: the system's CA bundle */
	long connect_timeout_ms;   /* default 10 s */
	long total_timeout_ms;     /* per request, default 30 s */
	long stall_timeout_s;      /* below 1 byte/s this long: abort (15 s) */
	size_t max_body;           /* response cap, default 4 MiB */
	long max_host_connections; /* default HTTP_HOST_CONNECTIONS */
};

struct http_request {
	enum method method;
	const char *url;
	const char *bearer; /* API key; copied into the header, never logged */
	const char *body;   /* JSON, may be NULL; copied */
	size_t body_len;
	long timeout_ms; /* 0: the default */
};

/* Response headers that matter to callers (rate-limit hints). */
#define HTTP_MAX_HEADERS 8

struct http_response {
	int error;         /* 0, -ETIMEDOUT, -ECONNREFUSED (no connection),
	                    * -EFBIG (body over max_body), -ECANCELED, -EIO */
	char message[256]; /* why error != 0 */
	bool sent;   /* false: the request surely never reached the server */
	long status; /* HTTP status, 0 when none */
	char *body;  /* len bytes plus a NUL; valid during the callback */
	size_t len;
	size_t nheaders;
	char *header_names[HTTP_MAX_HEADERS];
	char *header_values[HTTP_MAX_HEADERS];
	int64_t elapsed_ms;
};

typedef void (*http_done_cb)(const struct http_response *res, void *arg);

/* Create the client on loop (the first one sets up libcurl); 0 or -errno
 * (message in err). */
int http_init(struct http **out, uv_loop_t *loop,
              const struct http_options *opt, char *err, size_t errlen);

/* Start a request; cb runs exactly once, later, from the loop (never from
 * inside http_submit; it may submit more).  *xfer (optional) allows
 * http_cancel.  0 or -errno; -EPERM for a URL that is neither https nor http to
 * loopback (util_url_allowed). */
int http_submit(struct http *h, const struct http_request *req, http_done_cb cb,
                void *arg, struct http_xfer **xfer);

/* Abort one request: its callback runs with -ECANCELED before this
 * returns. */
void http_cancel(struct http_xfer *xfer);

/* Number of requests in flight. */
size_t http_active(const struct http *h);

/* Cancel everything (callbacks run with -ECANCELED), close the handles
 * (the last client also releases libcurl); the loop must then run once
 * more for the close callbacks, after which the memory is gone.  Not from
 * inside a completion callback. */
void http_close(struct http *h);

#endif
