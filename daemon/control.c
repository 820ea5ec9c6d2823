/*
 * control: a Unix socket on the loop; one request line, one reply.
 *
 * Replies start with "OK" or "ERR" on a line of their own, so that the
 * client can tell a refused request from a failed connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define REQUEST_MAX 512

struct control {
	uv_pipe_t server;
	struct control_hooks hooks;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct conn *conns;
	int open_handles;
};

struct conn {
	uv_pipe_t pipe;
	struct control *c;
	char req[REQUEST_MAX];
	size_t len;
	bool answered;
	bool waiting;    /* trigger JOB wait: until control_run_end */
	uint64_t run_id; /* the fire waited for */
	/* a fire may end inside the hook that starts it (no key): what
	 * comes before the reply's first line waits here */
	bool in_hook;
	char *early;
	int early_end; /* -1, or the END to send */
	struct conn *prev, *next;
};

/* One write on a connection; with last, the connection closes after it. */
struct wreq {
	uv_write_t wr;
	struct conn *k;
	bool last;
	char data[];
};

const char *
control_path(const char *state_dir, char *buf, size_t len)
{
	const char *run = getenv("RUNTIME_DIRECTORY");

	/* systemd may list several directories, separated by ':' */
	if (run != NULL && run[0] != '\0')
		snprintf(buf, len, "%.*s/control", (int)strcspn(run, ":"), run);
	else
		snprintf(buf, len, "%s/control", state_dir);
	return buf;
}

static void
control_unref(struct control *c)
{
	if (--c->open_handles == 0) {
		unlink(c->path);
		free(c);
	}
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *k = h->data;
	struct control *c = k->c;

	if (k->prev)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k->early);
	free(k);
	control_unref(c);
}

static void
conn_close(struct conn *k)
{
	if (!uv_is_closing((uv_handle_t *)&k->pipe))
		uv_close((uv_handle_t *)&k->pipe, on_conn_closed);
}

static void
on_written(uv_write_t *wr, int status)
{
	struct wreq *w = wr->data;

	/* a failed write: the client went away (a wait it gave up on) */
	if (w->last || status < 0)
		conn_close(w->k);
	free(w);
}

/* Send a then b on k; with last, close k after them. */
static void
send_text(struct conn *k, const char *a, const char *b, bool last)
{
	size_t na = strlen(a), nb = b ? strlen(b) : 0;
	struct wreq *w;
	uv_buf_t buf;

	if (uv_is_closing((uv_handle_t *)&k->pipe))
		return;
	if ((w = malloc(sizeof(*w) + na + nb + 1)) == NULL) {
		conn_close(k);
		return;
	}
	memcpy(w->data, a, na);
	if (nb > 0)
		memcpy(w->data + na, b, nb);
	w->data[na + nb] = '\0';
	w->k = k;
	w->last = last;
	w->wr.data = w;
	buf = uv_buf_init(w->data, (unsigned)(na + nb));
	if (uv_write(&w->wr, (uv_stream_t *)&k->pipe, &buf, 1, on_written) <
	    0) {
		free(w);
		conn_close(k);
	}
}

static void
answer(struct conn *k)
{
	struct control *c = k->c;
	char *text = NULL, *arg, *job = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc = -EINVAL;
	bool wait = false;

	k->answered = true;
	if (out == NULL) {
		conn_close(k);
		return;
	}
	k->req[strcspn(k->req, "\r\n")] = '\0';
	arg = strchr(k->req, ' ');
	if (arg != NULL) {
		*arg++ = '\0';
		job = arg;
		if ((arg = strchr(job, ' ')) != NULL) {
			*arg++ = '\0';
			wait = strcmp(arg, "wait") == 0;
		}
	}
	/* the reply's first line is written after the verdict is known */
	if (strcmp(k->req, "status") == 0 && job == NULL)
		rc = c->hooks.status(out, c->hooks.arg);
	else if (strcmp(k->req, "trigger") == 0 && job != NULL && *job &&
	         arg == NULL)
		rc = c->hooks.trigger(job, out, c->hooks.arg);
	else if (strcmp(k->req, "trigger") == 0 && job != NULL && *job &&
	         wait && c->hooks.trigger_wait != NULL) {
		k->waiting = k->in_hook = true;
		k->early_end = -1;
		rc = c->hooks.trigger_wait(job, &k->run_id, out, c->hooks.arg);
		k->in_hook = false;
		k->waiting = rc == 0 && k->early_end < 0;
	} else
		fprintf(out, "unknown request (status, trigger JOB, "
		             "trigger JOB wait)\n");
	fclose(out);
	if (rc == 0 && wait) {
		send_text(k, "WAIT\n", text, false);
		if (k->early != NULL)
			send_text(k, k->early, NULL, false);
		if (k->early_end >= 0)
			send_text(k, k->early_end ? "END 0\n" : "END 1\n", NULL,
			          true);
	} else {
		send_text(k,
		          rc == 0         ? "OK\n"
		          : rc == -ENOENT ? "ERR 2\n"
		                          : "ERR\n",
		          text, true);
	}
	free(text);
}

void
control_run_line(struct control *c, uint64_t run_id, const char *line)
{
	for (struct conn *k = c->conns; k != NULL; k = k->next) {
		char *more;

		if (!k->waiting || k->run_id != run_id)
			continue;
		if (!k->in_hook) {
			send_text(k, line, "\n", false);
		} else if (asprintf(&more, "%s%s\n", k->early ? k->early : "",
		                    line) >= 0) {
			free(k->early);
			k->early = more;
		}
	}
}

void
control_run_end(struct control *c, uint64_t run_id, bool ok)
{
	for (struct conn *k = c->conns; k != NULL; k = k->next) {
		if (!k->waiting || k->run_id != run_id)
			continue;
		k->waiting = false;
		if (k->in_hook)
			k->early_end = ok;
		else
			send_text(k, ok ? "END 0\n" : "END 1\n", NULL, true);
	}
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *k = h->data;

	(void)hint;
	*buf = uv_buf_init(k->req + k->len,
	                   (unsigned)(sizeof(k->req) - 1 - k->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *k = s->data;

	(void)buf;
	if (k->answered)
		return;
	if (n < 0) {
		/* EOF without a newline still ends the request */
		if (n == UV_EOF && k->len > 0) {
			uv_read_stop(s);
			answer(k);
		} else {
			conn_close(k);
		}
		return;
	}
	k->len += (size_t)n;
	k->req[k->len] = '\0';
	if (memchr(k->req, '\n', k->len) != NULL ||
	    k->len == sizeof(k->req) - 1) {
		uv_read_stop(s);
		answer(k);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct control *c = server->data;
	struct conn *k;

	if (status < 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return;
	k->c = c;
	uv_pipe_init(server->loop, &k->pipe, 0);
	k->pipe.data = k;
	c->open_handles++;
	k->next = c->conns;
	if (c->conns)
		c->conns->prev = k;
	c->conns = k;
	if (uv_accept(server, (uv_stream_t *)&k->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read) < 0)
		conn_close(k);
}

static void
on_server_closed(uv_handle_t *h)
{
	control_unref(h->data);
}

int
control_start(struct control **out, uv_loop_t *loop, const char *path,
              const struct control_hooks *hooks, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	mode_t old;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	if (strlen(path) >= sizeof(c->path)) {
		util_seterr(err, errlen, "control socket path %s is too long",
		            path);
		free(c);
		return -ENAMETOOLONG;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->hooks = *hooks;
	uv_pipe_init(loop, &c->server, 0);
	c->server.data = c;
	c->open_handles = 1;
	unlink(path); /* a stale socket from a daemon that died */
	old = umask(0177);
	rc = uv_pipe_bind(&c->server, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&c->server, 8, on_connection);
	if (rc < 0) {
		util_seterr(err, errlen, "control socket %s: %s", path,
		            uv_strerror(rc));
		uv_close((uv_handle_t *)&c->server, on_server_closed);
		return rc;
	}
	*out = c;
	return 0;
}

void
control_close(struct control *c)
{
	for (struct conn *k = c->conns; k != NULL; k = k->next)
		conn_close(k);
	uv_close((uv_handle_t *)&c->server, on_server_closed);
}

int
control_request(const char *path, const char *line, FILE *out, char *err,
                size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 30};
	size_t n = strlen(line);
	bool wait = n > 5 && strcmp(line + n - 5, " wait") == 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *in;
	int fd, rc = -EIO, verdict = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		util_seterr(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		util_seterr(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* a wait lasts as long as the runs do */
	if (!wait)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		util_seterr(err, errlen,
		            "no daemon is listening on %s (%s); is kinsta-cron "
		            "running, with this configuration?",
		            path, strerror(errno));
		close(fd);
		return rc;
	}
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
		util_seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -EIO;
	}
	shutdown(fd, SHUT_WR);
	if ((in = fdopen(fd, "r")) == NULL) {
		util_seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -ENOMEM;
	}
	/* the first line is the verdict; a wait's last is "END n" */
	errno = 0;
	while ((got = getline(&buf, &cap, in)) > 0) {
		if (verdict < 0) {
			buf[strcspn(buf, "\n")] = '\0';
			verdict = strcmp(buf, "OK") == 0        ? 0
			          : strcmp(buf, "WAIT") == 0    ? 3
			          : strcmp(buf, "ERR 2") == 0   ? 2
			          : strncmp(buf, "ERR", 3) == 0 ? 1
			                                        : 4;
			if (verdict == 4)
				break;
			continue;
		}
		if (verdict == 3 && strncmp(buf, "END ", 4) == 0) {
			rc = atoi(buf + 4) == 0 ? 0 : 1;
			verdict = 5;
			break;
		}
		fwrite(buf, 1, (size_t)got, out);
		fflush(out);
	}
	if (verdict == 5)
		;
	else if (ferror(in))
		util_seterr(err, errlen, "%s: %s", path,
		            errno == EAGAIN ? "no answer in 30 s"
		                            : strerror(errno));
	else if (verdict >= 0 && verdict <= 2)
		rc = verdict;
	else if (verdict == 3)
		util_seterr(err, errlen,
		            "%s: the daemon went away before the run ended "
		            "(see its log and the history)",
		            path);
	else
		util_seterr(err, errlen, "%s: the daemon closed the connection",
		            path);
	free(buf);
	fclose(in);
	return rc;
}
