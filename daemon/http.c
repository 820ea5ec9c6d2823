/*
 * http: libcurl's multi socket API on a libuv loop.
 *
 * Shape after curl's docs/examples/multi-uv.c, with its known gaps closed
 * (ENGINEERING-NOTES §1): completions are drained after every
 * curl_multi_socket_action, a 0 ms timer becomes 1 ms (libuv 1.44 would
 * otherwise spin), poll errors reach curl as CURL_CSELECT_ERR, sockets are
 * only looked up through curl_multi_assign, a socket's poll handle is
 * stopped synchronously on CURL_POLL_REMOVE and freed in its close callback,
 * and shutdown closes every handle so that uv_loop_close() succeeds.
 *
 * libcurl is loaded with dlopen by the first http_init, not linked: linked,
 * it and the 28 libraries under it that nothing else needs (OpenSSL,
 * GnuTLS, Kerberos, LDAP, SSH, compression) were mapped and relocated by
 * every start, 14 of the 15.6 million instructions of a `next` that sends
 * no request (tests/bench/bench_start.py).  The functions are called
 * through one table, typed by curl.h's own declarations.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define DEFAULT_MAX_BODY (4u << 20)

/* The SONAME of the libcurl whose headers this file was compiled with
 * (CMakeLists.txt reads it from the library); the package depends on it. */
#ifndef KCRON_CURL_SONAME
#define KCRON_CURL_SONAME "libcurl.so.4"
#endif

/* Every libcurl function this file calls: curl.NAME is curl_NAME. */
#define CURL_FUNCTIONS(X)                                                      \
	X(global_init)                                                         \
	X(global_cleanup)                                                      \
	X(multi_init)                                                          \
	X(multi_setopt)                                                        \
	X(multi_add_handle)                                                    \
	X(multi_remove_handle)                                                 \
	X(multi_socket_action)                                                 \
	X(multi_assign)                                                        \
	X(multi_info_read)                                                     \
	X(multi_cleanup)                                                       \
	X(easy_init)                                                           \
	X(easy_setopt)                                                         \
	X(easy_getinfo)                                                        \
	X(easy_strerror)                                                       \
	X(easy_cleanup)                                                        \
	X(slist_append)                                                        \
	X(slist_free_all)

/* Filled once, by the first http_init.  The library then stays for the
 * life of the process, as a linked one would: a client opened after the
 * last one closed finds it ready, and libcrypto, under it, pins itself in
 * memory for its exit handler anyway. */
static struct {
#define CURL_FIELD(name) __typeof__(curl_##name) *name;
	CURL_FUNCTIONS(CURL_FIELD)
#undef CURL_FIELD
} curl;

static bool curl_loaded;

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http *h;
	struct sock *prev, *next;
};

struct http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct http_options opt;
	struct http_xfer *xfers; /* in flight */
	struct sock *socks;      /* open poll handles */
	size_t active;
	int open_handles; /* timer + socks not yet through their close cb */
	bool closing;
};

struct http_xfer {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *req_body;
	size_t req_len;
	struct http_response res;
	size_t cap;
	bool too_big;
	http_done_cb cb;
	void *arg;
	uint64_t start_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct http_xfer *prev, *next;
};

static void drain(struct http *h);

/* ---- handles ------------------------------------------------------------ */

static void
handle_closed(struct http *h)
{
	if (--h->open_handles == 0 && h->closing)
		free(h);
}

static void
on_sock_closed(uv_handle_t *handle)
{
	struct sock *s = handle->data;
	struct http *h = s->h;

	free(s);
	handle_closed(h);
}

static void
on_timer_closed(uv_handle_t *handle)
{
	handle_closed(handle->data);
}

static void
sock_close(struct sock *s)
{
	struct http *h = s->h;

	/* Stop at once: curl may close the fd as soon as we return. */
	uv_poll_stop(&s->poll);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void
on_poll(uv_poll_t *poll, int status, int events)
{
	struct sock *s = poll->data;
	struct http *h = s->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl.multi_socket_action(h->multi, s->fd, flags, &running);
	drain(h);
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			sock_close(s);
			curl.multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (h->closing)
		return 0;
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->h = h;
		s->poll.data = s;
		s->next = h->socks;
		if (h->socks)
			h->socks->prev = s;
		h->socks = s;
		h->open_handles++;
		curl.multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

static void
on_timeout(uv_timer_t *timer)
{
	struct http *h = timer->data;
	int running;

	curl.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(h);
}

static int
on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else /* never call curl from here: 0 becomes 1 ms */
		uv_timer_start(&h->timer, on_timeout,
		               timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- transfers ---------------------------------------------------------- */

static size_t
on_write(char *data, size_t size, size_t n, void *userp)
{
	struct http_xfer *x = userp;
	size_t len = size * n, need = x->res.len + len + 1;

	if (need > x->h->opt.max_body + 1) {
		x->too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	if (need > x->cap) {
		size_t cap = x->cap;
		char *p;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(x->res.body, cap)) == NULL)
			return CURL_WRITEFUNC_ERROR;
		x->res.body = p;
		x->cap = cap;
	}
	memcpy(x->res.body + x->res.len, data, len);
	x->res.len += len;
	x->res.body[x->res.len] = '\0';
	return len;
}

static bool
wanted_header(const char *name, size_t len)
{
	static const char *const prefixes[] = {"retry-after", "ratelimit",
	                                       "x-ratelimit"};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(prefixes[i]);

		if (len >= n && strncasecmp(name, prefixes[i], n) == 0)
			return true;
	}
	return false;
}

static void
clear_headers(struct http_response *res)
{
	for (size_t i = 0; i < res->nheaders; i++) {
		free(res->header_names[i]);
		free(res->header_values[i]);
	}
	res->nheaders = 0;
}

/* Keep only the rate-limit hints; a new status line starts afresh. */
static size_t
on_header(char *data, size_t size, size_t n, void *userp)
{
	struct http_xfer *x = userp;
	size_t len = size * n, nlen;
	const char *colon, *v, *end = data + len;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		clear_headers(&x->res);
		return len;
	}
	colon = memchr(data, ':', len);
	if (colon == NULL || x->res.nheaders == HTTP_MAX_HEADERS)
		return len;
	nlen = (size_t)(colon - data);
	if (!wanted_header(data, nlen))
		return len;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	x->res.header_names[x->res.nheaders] = strndup(data, nlen);
	x->res.header_values[x->res.nheaders] = strndup(v, (size_t)(end - v));
	if (x->res.header_names[x->res.nheaders] == NULL ||
	    x->res.header_values[x->res.nheaders] == NULL) {
		free(x->res.header_names[x->res.nheaders]);
		free(x->res.header_values[x->res.nheaders]);
		return len;
	}
	x->res.nheaders++;
	return len;
}

static void
wipe_free_headers(struct curl_slist *list)
{
	/* The Authorization line holds the API key: do not leave it in
	 * freed memory. */
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl.slist_free_all(list);
}

static void
xfer_free(struct http_xfer *x)
{
	wipe_free_headers(x->headers);
	clear_headers(&x->res);
	free(x->res.body);
	free(x->req_body);
	free(x);
}

/* Detach from the multi, report, free. */
static void
xfer_finish(struct http_xfer *x, CURLcode rc)
{
	struct http *h = x->h;
	struct http_response *res = &x->res;
	long request_size = 0;

	curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res->status);
	curl.easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_size);
	res->sent = request_size > 0 || res->status > 0;
	switch (rc) {
	case CURLE_OK:
		res->error = 0;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		res->error = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		res->error = -ECONNREFUSED;
		res->sent = false;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		res->error = -ECANCELED;
		break;
	default:
		res->error = x->too_big ? -EFBIG : -EIO;
		break;
	}
	if (x->too_big)
		snprintf(res->message, sizeof(res->message),
		         "response body over the %zu-byte limit",
		         h->opt.max_body);
	else if (rc == CURLE_ABORTED_BY_CALLBACK)
		snprintf(res->message, sizeof(res->message), "canceled");
	else if (rc != CURLE_OK)
		snprintf(res->message, sizeof(res->message), "%s",
		         x->errbuf[0] ? x->errbuf : curl.easy_strerror(rc));
	res->elapsed_ms = (int64_t)(uv_now(h->loop) - x->start_ms);

	curl.multi_remove_handle(h->multi, x->easy);
	curl.easy_cleanup(x->easy);
	x->easy = NULL;
	if (x->prev)
		x->prev->next = x->next;
	else
		h->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	h->active--;
	x->cb(res, x->arg);
	xfer_free(x);
}

static void
drain(struct http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl.multi_info_read(h->multi, &left)) != NULL) {
		struct http_xfer *x;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&x);
		/* msg is invalid once the handle is removed */
		xfer_finish(x, msg->data.result);
	}
}

/* ---- public ------------------------------------------------------------- */

/* Clients open in this process: curl's global state is set up by the
 * first http_init and torn down when the last client closes. */
static unsigned clients;

static int
load_curl(char *err, size_t errlen)
{
	void *lib;

	if (curl_loaded)
		return 0;
	/* RTLD_LAZY: each library binds as its own flags say, as it did when
	 * linked (RTLD_NOW would also bind every symbol of those built
	 * without BIND_NOW: 16% more instructions for `run`); a function of
	 * ours that is missing still fails below, not during a run.
	 * RTLD_LOCAL: nothing else in the process binds to it. */
	if ((lib = dlopen(KCRON_CURL_SONAME, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load libcurl: %s", dlerror());
		return -ENOENT;
	}
#define CURL_LOAD(name)                                                        \
	curl.name = (__typeof__(curl.name))dlsym(lib, "curl_" #name);          \
	if (curl.name == NULL) {                                               \
		snprintf(err, errlen, "cannot load libcurl: %s has no %s",     \
		         KCRON_CURL_SONAME, "curl_" #name);                    \
		dlclose(lib);                                                  \
		return -ENOENT;                                                \
	}
	CURL_FUNCTIONS(CURL_LOAD)
#undef CURL_LOAD
	curl_loaded = true;
	return 0;
}

static int
global_hold(char *err, size_t errlen)
{
	int rc;

	if (clients == 0 && (rc = load_curl(err, errlen)) < 0)
		return rc;
	if (clients == 0 && curl.global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -EIO;
	}
	clients++;
	return 0;
}

static void
global_release(void)
{
	if (--clients == 0)
		curl.global_cleanup();
}

/* The curl side of the client, made at its first request: a daemon whose
 * jobs are hours away, and the commands that send nothing, never map
 * libcurl and its TLS libraries (9 of the 11 MB an idle daemon held). */
static int
start_curl(struct http *h, char *err, size_t errlen)
{
	int rc;

	if ((rc = global_hold(err, errlen)) < 0)
		return rc;
	if ((h->multi = curl.multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		global_release();
		return -ENOMEM;
	}
	curl.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl.multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	                  h->opt.max_host_connections);
	/* curl sizes its idle-connection cache by the transfers running now
	 * (4 per transfer), so a burst's connections were closed as it ended
	 * and the next burst paid for fresh ones: keep them all. */
	curl.multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	                  h->opt.max_host_connections);
	return 0;
}

int
http_init(struct http **out, uv_loop_t *loop, const struct http_options *opt,
          char *err, size_t errlen)
{
	struct http *h = NULL;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (opt != NULL)
		h->opt = *opt;
	if (h->opt.connect_timeout_ms <= 0)
		h->opt.connect_timeout_ms = 10000;
	if (h->opt.total_timeout_ms <= 0)
		h->opt.total_timeout_ms = 30000;
	if (h->opt.stall_timeout_s <= 0)
		h->opt.stall_timeout_s = 15;
	if (h->opt.max_body == 0)
		h->opt.max_body = DEFAULT_MAX_BODY;
	if (h->opt.max_host_connections <= 0)
		h->opt.max_host_connections = HTTP_HOST_CONNECTIONS;
	h->loop = loop;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->open_handles = 1;
	*out = h;
	return 0;
}

/* Everything curl needs to know of one request. */
static void
set_options(const struct http *h, struct http_xfer *x,
            const struct http_request *req)
{
	bool tls = strncasecmp(req->url, "https:", 6) == 0;

	curl.easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl.easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR,
	                 tls ? "https" : "http");
	curl.easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl.easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	/* Over TLS, a burst waits for the first connection's ALPN answer and
	 * then shares it as HTTP/2 streams.  Plain http (loopback tests) is
	 * HTTP/1.1 only: waiting there would hold a cold burst behind one
	 * whole exchange before the other connections open. */
	curl.easy_setopt(x->easy, CURLOPT_PIPEWAIT, tls ? 1L : 0L);
	curl.easy_setopt(x->easy, CURLOPT_MAXLIFETIME_CONN, 3600L);
	curl.easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl.easy_setopt(x->easy, CURLOPT_USERAGENT,
	                 "kinsta-cron/" KCRON_VERSION);
	curl.easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl.easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	                 h->opt.connect_timeout_ms);
	curl.easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
	                 req->timeout_ms > 0 ? req->timeout_ms
	                                     : h->opt.total_timeout_ms);
	curl.easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl.easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME,
	                 h->opt.stall_timeout_s);
	if (h->opt.ca_file != NULL)
		curl.easy_setopt(x->easy, CURLOPT_CAINFO, h->opt.ca_file);
	curl.easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl.easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl.easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl.easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl.easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl.easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (req->method != METHOD_GET && req->method != METHOD_POST)
		curl.easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST,
		                 method_name(req->method));
	if (req->method != METHOD_GET &&
	    (req->body != NULL || req->method != METHOD_DELETE)) {
		curl.easy_setopt(x->easy, CURLOPT_POSTFIELDS,
		                 x->req_body ? x->req_body : "");
		curl.easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE,
		                 (long)x->req_len);
	}
}

int
http_submit(struct http *h, const struct http_request *req, http_done_cb cb,
            void *arg, struct http_xfer **xfer)
{
	struct http_xfer *x = NULL;
	char auth[1024];
	int rc = -ENOMEM;

	if (h->closing)
		return -ECANCELED;
	if (!util_url_allowed(req->url))
		return -EPERM;
	if (h->multi == NULL) {
		char err[256];

		if ((rc = start_curl(h, err, sizeof(err))) < 0) {
			log_msg(LOG_ERR, "event=http-error message=\"%s\"",
			        err);
			return rc;
		}
	}
	if (req->bearer != NULL) {
		for (const char *c = req->bearer; *c; c++)
			if ((unsigned char)*c < 0x21 || *c == 0x7f)
				return -EINVAL; /* no header injection */
		if (strlen(req->bearer) > sizeof(auth) - 32)
			return -EINVAL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -ENOMEM;
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->cap = 1024;
	if ((x->res.body = malloc(x->cap)) == NULL)
		goto fail;
	x->res.body[0] = '\0';
	if ((x->easy = curl.easy_init()) == NULL)
		goto fail;
	if (req->body != NULL) {
		if ((x->req_body = malloc(req->body_len + 1)) == NULL)
			goto fail;
		memcpy(x->req_body, req->body, req->body_len);
		x->req_body[req->body_len] = '\0';
		x->req_len = req->body_len;
	}
	x->headers = curl.slist_append(NULL, "Accept: application/json");
	if (x->headers == NULL)
		goto fail;
	/* With no body, drop curl's form Content-Type rather than claim
	 * JSON that is not there. */
	if (!curl.slist_append(
	        x->headers, req->body != NULL ? "Content-Type: application/json"
	                                      : "Content-Type:"))
		goto fail;
	if (req->bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		         req->bearer);
		if (!curl.slist_append(x->headers, auth)) {
			explicit_bzero(auth, sizeof(auth));
			goto fail;
		}
		explicit_bzero(auth, sizeof(auth));
	}

	set_options(h, x, req);

	x->start_ms = uv_now(h->loop);
	x->next = h->xfers;
	if (h->xfers)
		h->xfers->prev = x;
	h->xfers = x;
	h->active++;
	if (curl.multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		h->xfers = x->next;
		if (x->next)
			x->next->prev = NULL;
		h->active--;
		rc = -EIO;
		goto fail;
	}
	if (xfer != NULL)
		*xfer = x;
	return 0;
fail:
	if (x->easy)
		curl.easy_cleanup(x->easy);
	xfer_free(x);
	return rc;
}

void
http_cancel(struct http_xfer *x)
{
	xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
}

size_t
http_active(const struct http *h)
{
	return h->active;
}

void
http_close(struct http *h)
{
	h->closing = true;
	while (h->xfers != NULL)
		http_cancel(h->xfers);
	/* Closes pooled connections; may still call on_socket (REMOVE). */
	if (h->multi != NULL) {
		curl.multi_cleanup(h->multi);
		h->multi = NULL;
		/* no curl object of this client is left */
		global_release();
	}
	while (h->socks != NULL)
		sock_close(h->socks);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}
