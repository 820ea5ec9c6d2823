/*
 * Tests for daemon/http.c against a small HTTP/1.1 server on 127.0.0.1 run
 * in threads of this process: parallel requests, connection reuse,
 * methods and bodies, the Authorization header, rate-limit headers, the
 * body cap, timeouts on a server that never answers, resets, refused
 * connections, cancel, and a clean shutdown (uv_loop_close() == 0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "test.h"

/* ---- the server --------------------------------------------------------- */

#define MAX_CONN 64

static int listen_fd, server_port, stop_pipe[2];
static pthread_t accept_thread, conn_threads[MAX_CONN];
static int nconn, nclosed; /* connections accepted, ended */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char last_request[4096];

static void
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void
respond(int fd, int status, const char *extra, const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 status, strlen(body), extra);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

/* Wait until the test stops the server: a request that is never answered. */
static void
hang(void)
{
	struct pollfd p = {.fd = stop_pipe[0], .events = POLLIN};

	poll(&p, 1, 20000);
}

static void *
serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	size_t len = 0;

	for (;;) {
		char *end, method[16], path[256], body[1024] = "";
		size_t clen = 0, hlen;
		const char *cl;
		ssize_t n;

		while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
			n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
			buf[len] = '\0';
		}
		hlen = (size_t)(end - buf) + 4;
		if ((cl = strcasestr(buf, "Content-Length:")) != NULL &&
		    cl < end)
			clen = strtoul(cl + 15, NULL, 10);
		while (len < hlen + clen) {
			n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		buf[len] = '\0';
		pthread_mutex_lock(&lock);
		snprintf(last_request, sizeof(last_request), "%.*s",
		         (int)(hlen + clen), buf);
		pthread_mutex_unlock(&lock);
		if (sscanf(buf, "%15s %255s", method, path) != 2)
			goto out;
		snprintf(body, sizeof(body), "%.*s", (int)clen, buf + hlen);
		memmove(buf, buf + hlen + clen, len - hlen - clen);
		len -= hlen + clen;

		if (strcmp(path, "/hang") == 0) {
			hang();
			goto out;
		} else if (strcmp(path, "/reset") == 0) {
			struct linger l = {1, 0};

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			goto out;
		} else if (strcmp(path, "/big") == 0) {
			static char big[65536];
			char head[128];
			int hn = snprintf(head, sizeof(head),
			                  "HTTP/1.1 200 OK\r\nContent-Length: "
			                  "%d\r\n\r\n",
			                  2 << 20);

			memset(big, 'a', sizeof(big));
			send_all(fd, head, (size_t)hn);
			for (int i = 0; i < 32; i++)
				send_all(fd, big, sizeof(big));
		} else if (strcmp(path, "/headers") == 0) {
			respond(fd, 429,
			        "Retry-After: 7\r\nX-RateLimit-Reset: 30\r\n"
			        "X-Other: 1\r\nratelimit-remaining: 0\r\n",
			        "{\"status\":429}");
		} else if (strncmp(path, "/sleep/", 7) == 0) {
			usleep((useconds_t)atoi(path + 7) * 1000);
			respond(fd, 200, "", "{}");
		} else if (strncmp(path, "/status/", 8) == 0) {
			respond(fd, atoi(path + 8), "", "{\"status\":1}");
		} else {
			char out[2048];

			snprintf(out, sizeof(out),
			         "{\"method\":\"%s\",\"path\":\"%s\","
			         "\"body\":\"%s\"}",
			         method, path, body[0] == '{' ? "json" : body);
			respond(fd, 200, "", out);
		}
	}
out:
	close(fd);
	pthread_mutex_lock(&lock);
	nclosed++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
		                      {.fd = stop_pipe[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0 || p[1].revents)
			return NULL;
		if ((fd = accept(listen_fd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&lock);
		if (nconn < MAX_CONN) {
			pthread_create(&conn_threads[nconn++], NULL, serve_conn,
			               (void *)(intptr_t)fd);
			fd = -1;
		}
		pthread_mutex_unlock(&lock);
		if (fd >= 0)
			close(fd);
	}
}

static void
server_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (void *)&sa, sizeof(sa)) != 0 ||
	    listen(listen_fd, 64) != 0 ||
	    getsockname(listen_fd, (void *)&sa, &sl) != 0 || pipe(stop_pipe))
		TEST_SKIP("cannot listen on 127.0.0.1");
	server_port = ntohs(sa.sin_port);
	pthread_create(&accept_thread, NULL, accept_loop, NULL);
}

static void
server_stop(void)
{
	if (write(stop_pipe[1], "x", 1) != 1)
		abort();
	pthread_join(accept_thread, NULL);
	for (int i = 0; i < nconn; i++)
		pthread_join(conn_threads[i], NULL);
	close(listen_fd);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}

static int
connections(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = nconn;
	pthread_mutex_unlock(&lock);
	return n;
}

static int
connections_ended(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = nclosed;
	pthread_mutex_unlock(&lock);
	return n;
}

/* ---- the client side ---------------------------------------------------- */

struct result {
	int done;
	int error;
	bool sent;
	long status;
	char body[256];
	char message[256];
	char retry_after[32], x_reset[32];
	size_t nheaders;
};

static uv_loop_t loop;
static struct http *client;

static void
on_done(const struct http_response *res, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->error = res->error;
	r->sent = res->sent;
	r->status = res->status;
	r->nheaders = res->nheaders;
	snprintf(r->body, sizeof(r->body), "%s", res->body);
	snprintf(r->message, sizeof(r->message), "%s", res->message);
	for (size_t i = 0; i < res->nheaders; i++) {
		if (strcasecmp(res->header_names[i], "retry-after") == 0)
			snprintf(r->retry_after, 32, "%s",
			         res->header_values[i]);
		if (strcasecmp(res->header_names[i], "x-ratelimit-reset") == 0)
			snprintf(r->x_reset, 32, "%s", res->header_values[i]);
	}
}

static char *
url(const char *path)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "http://127.0.0.1:%d%s", server_port,
	         path);
	return buf[i];
}

static void
run_until(struct result *r, int n)
{
	for (int spins = 0; spins < 100000; spins++) {
		int done = 0;

		for (int i = 0; i < n; i++)
			done += r[i].done;
		if (done == n)
			return;
		uv_run(&loop, UV_RUN_ONCE);
	}
}

static void
test_parallel_and_reuse(void)
{
	struct result r[10] = {{0}};
	int before = connections();

	for (int i = 0; i < 10; i++) {
		struct http_request req = {.method = METHOD_GET,
		                           .url = url("/ok")};

		CHECK_INT(http_submit(client, &req, on_done, &r[i], NULL), 0);
	}
	CHECK_INT(http_active(client), 10);
	CHECK_INT(r[0].done, 0); /* never from inside http_submit */
	run_until(r, 10);
	for (int i = 0; i < 10; i++) {
		CHECK_INT(r[i].done, 1);
		CHECK_INT(r[i].error, 0);
		CHECK_INT(r[i].status, 200);
		CHECK_STR(
		    r[i].body,
		    "{\"method\":\"GET\",\"path\":\"/ok\",\"body\":\"\"}");
	}
	/* at most max_host_connections (4) were opened for 10 requests */
	CHECK(connections() - before <= 4);
	/* sequential requests reuse the pooled connection */
	before = connections();
	for (int i = 0; i < 5; i++) {
		struct result one = {0};
		struct http_request req = {.method = METHOD_GET,
		                           .url = url("/again")};

		http_submit(client, &req, on_done, &one, NULL);
		run_until(&one, 1);
		CHECK_INT(one.status, 200);
	}
	CHECK_INT(connections() - before, 0);
}

/* A burst's connections outlive it: the next burst finds them all in the
 * pool.  curl would otherwise shrink its cache to 4 connections per
 * running transfer as the answers come in, and every burst would pay for
 * new connections. */
static void
test_burst_keeps_connections(void)
{
	struct http_options opt = {.max_host_connections = 16};
	struct http *wide;
	char err[256];
	int before = connections(), ended = connections_ended();

	CHECK_INT(http_init(&wide, &loop, &opt, err, sizeof(err)), 0);
	for (int round = 0; round < 2; round++) {
		struct result r[16] = {{0}};

		for (int i = 0; i < 16; i++) {
			char path[32];
			struct http_request req = {.method = METHOD_GET};

			/* answers one by one, as real ones come */
			snprintf(path, sizeof(path), "/sleep/%d", 20 + 5 * i);
			req.url = url(path);

			CHECK_INT(http_submit(wide, &req, on_done, &r[i], NULL),
			          0);
		}
		run_until(r, 16);
		for (int i = 0; i < 16; i++)
			CHECK_INT(r[i].status, 200);
	}
	CHECK(connections() - before > 4); /* the bursts ran in parallel */
	usleep(50000); /* a close by the client would reach the server */
	CHECK_INT(connections_ended() - ended, 0);
	http_close(wide);
	uv_run(&loop, UV_RUN_NOWAIT);
}

static void
test_methods_and_headers(void)
{
	static const char *const key = "sekret-key-123";
	struct result r = {0};
	struct http_request req = {.method = METHOD_PUT,
	                           .url = url("/x"),
	                           .bearer = key,
	                           .body = "{\"a\":1}",
	                           .body_len = 7};

	CHECK_INT(http_submit(client, &req, on_done, &r, NULL), 0);
	run_until(&r, 1);
	CHECK_STR(r.body,
	          "{\"method\":\"PUT\",\"path\":\"/x\",\"body\":\"json\"}");
	pthread_mutex_lock(&lock);
	CHECK(strstr(last_request, "Authorization: Bearer sekret-key-123\r\n"));
	CHECK(strstr(last_request, "Content-Type: application/json\r\n"));
	CHECK(strstr(last_request, "User-Agent: kinsta-cron/"));
	CHECK(strstr(last_request, "\r\n\r\n{\"a\":1}"));
	pthread_mutex_unlock(&lock);

	memset(&r, 0, sizeof(r));
	req.method = METHOD_DELETE;
	req.body = NULL;
	req.body_len = 0;
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_STR(r.body,
	          "{\"method\":\"DELETE\",\"path\":\"/x\",\"body\":\"\"}");

	memset(&r, 0, sizeof(r));
	req.method = METHOD_POST;
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_STR(r.body,
	          "{\"method\":\"POST\",\"path\":\"/x\",\"body\":\"\"}");

	/* header injection through the key is refused */
	req.bearer = "abc\r\nX-Evil: 1";
	CHECK_INT(http_submit(client, &req, on_done, &r, NULL), -EINVAL);

	memset(&r, 0, sizeof(r));
	req =
	    (struct http_request){.method = METHOD_GET, .url = url("/headers")};
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.status, 429);
	CHECK_STR(r.retry_after, "7");
	CHECK_STR(r.x_reset, "30");
	CHECK_INT(r.nheaders, 3); /* X-Other is not kept */

	memset(&r, 0, sizeof(r));
	req.url = url("/status/503");
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.error, 0);
	CHECK_INT(r.status, 503);
}

static void
test_failures(void)
{
	struct result r = {0};
	struct http_request req = {.method = METHOD_GET, .url = url("/big")};
	struct http_xfer *x;
	int fd;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char refused[64];

	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.error, -EFBIG);
	CHECK_STR(r.message, "response body over the 1048576-byte limit");

	memset(&r, 0, sizeof(r));
	req.url = url("/hang");
	req.timeout_ms = 300;
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.error, -ETIMEDOUT);
	CHECK(r.sent); /* ambiguous: the server may have acted on it */

	memset(&r, 0, sizeof(r));
	req.url = url("/reset");
	req.timeout_ms = 0;
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.error, -EIO);
	CHECK(r.sent);

	/* a port nobody listens on: bind, learn the port, close */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	bind(fd, (void *)&sa, sizeof(sa));
	getsockname(fd, (void *)&sa, &sl);
	close(fd);
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%d/x",
	         ntohs(sa.sin_port));
	memset(&r, 0, sizeof(r));
	req.url = refused;
	http_submit(client, &req, on_done, &r, NULL);
	run_until(&r, 1);
	CHECK_INT(r.error, -ECONNREFUSED);
	CHECK(!r.sent); /* surely not sent: safe to retry even a POST */

	/* cancel: the callback runs at once, exactly once */
	memset(&r, 0, sizeof(r));
	req.url = url("/hang");
	http_submit(client, &req, on_done, &r, &x);
	uv_run(&loop, UV_RUN_NOWAIT);
	http_cancel(x);
	CHECK_INT(r.done, 1);
	CHECK_INT(r.error, -ECANCELED);
	CHECK_STR(r.message, "canceled");
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_INT(r.done, 1);
	CHECK_INT(http_active(client), 0);

	/* plain http only to loopback; nothing else but https */
	req.url = "http://example.com/x";
	CHECK_INT(http_submit(client, &req, on_done, &r, NULL), -EPERM);
}

static void
walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
test_shutdown_in_flight(void)
{
	struct result r[3] = {{0}};
	struct http_request req = {.method = METHOD_GET, .url = url("/hang")};

	for (int i = 0; i < 3; i++)
		http_submit(client, &req, on_done, &r[i], NULL);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	http_close(client);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(r[i].done, 1);
		CHECK_INT(r[i].error, -ECANCELED);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, walk_close, NULL); /* must find nothing left */
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}

/* The last http_close released libcurl: a new client sets it up again,
 * with no curl_global_init of its own in the caller. */
static void
test_after_last_close(void)
{
	struct result r = {0};
	struct http_request req = {.method = METHOD_GET, .url = url("/ok")};
	char err[256];

	uv_loop_init(&loop);
	CHECK_INT(http_init(&client, &loop, NULL, err, sizeof(err)), 0);
	CHECK_INT(http_submit(client, &req, on_done, &r, NULL), 0);
	run_until(&r, 1);
	CHECK_INT(r.status, 200);
	http_close(client);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
}

/* Is a file whose name contains what mapped into this process? */
static bool
maps_contain(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

int
main(void)
{
	struct http_options opt = {.max_body = 1 << 20,
	                           .max_host_connections = 4};
	char err[256];

	server_start();
	uv_loop_init(&loop);
	CHECK_INT(http_init(&client, &loop, &opt, err, sizeof(err)), 0);
	/* a client that has sent nothing has not loaded libcurl */
	CHECK(!maps_contain("libcurl"));
	test_parallel_and_reuse();
	CHECK(maps_contain("libcurl"));
	test_burst_keeps_connections();
	test_methods_and_headers();
	test_failures();
	test_shutdown_in_flight();
	test_after_last_close();
	server_stop();
	return test_report("test_http");
}
