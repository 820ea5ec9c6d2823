/*
 * httpd: the HTTP face's listener, on the daemon's loop (listen = { }).
 *
 * The only place where libmicrohttpd meets libuv, as http.c is for curl:
 * libmicrohttpd runs with no thread of its own, in its epoll mode; its
 * epoll descriptor is watched by a uv_poll and its next timeout is a
 * uv_timer, and both call MHD_run.  The listening socket (IPv4, IPv6 or a
 * Unix socket) is made here and handed over.  Each request is bounded
 * (connections, header bytes and count, body size, idle time) and, once
 * read whole, answered by face (the router) from what the scheduler
 * knows.  libmicrohttpd is loaded (dlopen) when the listener starts, so
 * that neither the commands nor a daemon without listen map it and the
 * TLS library under it.
 *
 * The token comes from token_file or $CREDENTIALS_DIRECTORY/api-token,
 * Slack's signing secret from signing_secret_file or the credential
 * slack-signing-secret; neither is ever logged.  A fire started by a
 * Slack command has its outcome posted to the command's response_url
 * when it ends.  Addresses that send bad tokens are refused for a
 * while (face_penalty).
 */
#ifndef KCRON_HTTPD_H
#define KCRON_HTTPD_H

#include <stddef.h>

#include <uv.h>

#include "config.h"
#include "exec.h"
#include "scheduler.h"

struct httpd;

/* Listen as cfg->listen says (the caller checked that address is set),
 * answering from sched (whose fires it watches) and posting Slack's
 * delayed answers through http; 0 or -errno with a message in err (no
 * token, the address in use, libmicrohttpd missing). */
int httpd_start(struct httpd **out, uv_loop_t *loop, const struct config *cfg,
                struct scheduler *sched, struct http *http, char *err,
                size_t errlen);

/* Stop listening and drop the connections; the loop must run once more
 * before the memory is gone.  NULL is fine. */
void httpd_close(struct httpd *h);

#endif
