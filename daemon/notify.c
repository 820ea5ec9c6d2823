/*
 * notify: the decision and the renderers.  Every text that came from
 * outside (the API's messages, site names) is cleaned on the way in:
 * control characters become spaces and broken UTF-8 "?", so that a
 * message can neither forge a header line nor break a JSON writer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fire.h"
#include "json.h"
#include "kinsta.h"
#include "notify.h"
#include "util.h"

/* A line of an email body is cut here (RFC 5322 allows 998). */
#define LINE_MAX_BYTES 900

/* ---- a growing text --------------------------------------------------- */

struct buf {
	char *p;
	size_t n, cap;
	int err;
};

static void
bgrow(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->err != 0 || b->n + more + 1 <= b->cap)
		return;
	while (cap < b->n + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->err = -ENOMEM;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void
bput(struct buf *b, const char *s, size_t n)
{
	bgrow(b, n);
	if (b->err != 0)
		return;
	/* s may be NULL only when n is 0: memcpy from NULL is undefined */
	if (n > 0)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	bgrow(b, (size_t)n);
	if (b->err != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

/* Hand the text over: 0, or the first error (the text then freed). */
static int
bdone(struct buf *b, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (b->err == 0 && b->p == NULL)
		bput(b, "", 0);
	if (b->err != 0) {
		free(b->p);
		return b->err;
	}
	*out = b->p;
	*len = b->n;
	return 0;
}

/* S cleaned into DST[SIZE]: control characters as spaces, broken UTF-8 as
 * "?", cut (at a character) to fit. */
static const char *
clean(char *dst, size_t size, const char *s)
{
	size_t o = 0, n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n && o + 1 < size;) {
		unsigned char c = (unsigned char)s[i];
		size_t l = util_utf8_len((const unsigned char *)s + i, n - i);

		if (l == 0) {
			dst[o++] = '?';
			i++;
		} else if (l == 1) {
			dst[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			i++;
		} else if (o + l < size) {
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
		} else {
			break;
		}
	}
	dst[o] = '\0';
	return dst;
}

static void
iso(char *buf, size_t len, int64_t ms)
{
	if (ms <= 0 ||
	    util_time_iso(buf, len, NULL, util_floor_div(ms, 1000), -1) < 0)
		snprintf(buf, len, "-");
}

/* ---- the decision ------------------------------------------------------ */

const char *
notify_event_name(enum notify_event ev)
{
	static const char *const names[] = {
	    "none",    "failure",     "still-failing", "recovery",
	    "success", "rolled-back", "skipped"};

	return (size_t)ev < sizeof(names) / sizeof(names[0]) ? names[ev]
	                                                     : "none";
}

/* Targets that ended rolled back.  Found by the outcome's name, so that
 * this reads the same whether or not the outcome exists yet. */
static size_t
rolled_back(const struct exec_fire *f)
{
	for (int o = KINSTA_RUNNING + 1; o < KINSTA_OUTCOMES; o++)
		if (strcmp(kinsta_outcome_name((enum kinsta_outcome)o),
		           "rolled-back") == 0)
			return f->count[o];
	return 0;
}

static size_t
failed_targets(const struct exec_fire *f)
{
	return f->count[KINSTA_FAILED] + f->count[KINSTA_TIMED_OUT];
}

bool
notify_fire_failed(const struct exec_fire *f)
{
	return failed_targets(f) > 0 || f->why[0] != '\0';
}

static size_t
ended(const struct exec_fire *f)
{
	size_t n = 0;

	for (int o = KINSTA_RUNNING + 1; o < KINSTA_OUTCOMES; o++)
		n += f->count[o];
	return n;
}

static void
title(struct notify_msg *msg, const struct exec_fire *f)
{
	const char *job = f->job->name;
	char why[200], since[64];
	size_t all = ended(f), bad = failed_targets(f);
	char *t = msg->title;
	size_t tl = sizeof(msg->title);

	clean(why, sizeof(why), f->why);
	iso(since, sizeof(since), msg->since_ms);
	switch (msg->event) {
	case NOTIFY_FAILURE:
		if (f->why[0])
			snprintf(t, tl, "job %s failed: %s", job, why);
		else
			snprintf(t, tl, "job %s failed on %zu of %zu %s", job,
			         bad, all,
			         all == 1 ? "environment" : "environments");
		break;
	case NOTIFY_STILL_FAILING:
		if (f->why[0])
			snprintf(t, tl,
			         "job %s still failing (%" PRIu32
			         " times since %s): %s",
			         job, msg->failures, since, why);
		else
			snprintf(t, tl,
			         "job %s still failing (%" PRIu32
			         " times since %s): %zu of %zu failed",
			         job, msg->failures, since, bad, all);
		break;
	case NOTIFY_RECOVERY:
		snprintf(
		    t, tl,
		    "job %s recovered after %" PRIu32 " failed run%s since %s",
		    job, msg->failures, msg->failures == 1 ? "" : "s", since);
		break;
	case NOTIFY_SUCCESS:
		snprintf(t, tl, "job %s succeeded on %zu of %zu %s", job,
		         f->count[KINSTA_SUCCEEDED], all,
		         all == 1 ? "environment" : "environments");
		break;
	case NOTIFY_ROLLED_BACK:
		snprintf(t, tl, "job %s rolled back on %zu of %zu %s", job,
		         rolled_back(f), all,
		         all == 1 ? "environment" : "environments");
		break;
	case NOTIFY_SKIPPED:
		if (all == 0)
			snprintf(t, tl, "job %s had no environment to act on",
			         job);
		else
			snprintf(t, tl, "job %s skipped on %zu %s", job, all,
			         all == 1 ? "environment" : "environments");
		break;
	case NOTIFY_NONE:
		t[0] = '\0';
		break;
	}
	/* a cut may end inside a character of why: keep whole ones */
	t[util_text_prefix(t, strlen(t))] = '\0';
}

enum notify_event
notify_decide(const struct config_notify *n, const struct exec_fire *f,
              struct notify_memory *m, int64_t now_ms, struct notify_msg *msg)
{
	unsigned on = n ? n->on : 0;
	enum notify_event ev = NOTIFY_NONE;

	memset(msg, 0, sizeof(*msg));
	if (notify_fire_failed(f)) {
		bool first = m->failures == 0;

		if (first) {
			m->since_ms =
			    f->started_ms > 0 ? f->started_ms : now_ms;
			m->sent_ms = 0;
		}
		if (m->failures < UINT32_MAX)
			m->failures++;
		msg->failures = m->failures;
		msg->since_ms = m->since_ms;
		if ((on & CONFIG_NOTIFY_FAILURE) &&
		    (m->sent_ms == 0 ||
		     now_ms - m->sent_ms >= n->repeat_every * 1000)) {
			ev = first || m->sent_ms == 0 ? NOTIFY_FAILURE
			                              : NOTIFY_STILL_FAILING;
			m->sent_ms = now_ms;
		}
	} else if (f->count[KINSTA_SUCCEEDED] > 0) {
		msg->failures = m->failures;
		msg->since_ms = m->since_ms;
		if (m->failures > 0 && (on & CONFIG_NOTIFY_RECOVERY))
			ev = NOTIFY_RECOVERY;
		else if (rolled_back(f) > 0 && (on & CONFIG_NOTIFY_ROLLED_BACK))
			ev = NOTIFY_ROLLED_BACK;
		else if (on & CONFIG_NOTIFY_SUCCESS)
			ev = NOTIFY_SUCCESS;
		memset(m, 0, sizeof(*m));
	} else if (rolled_back(f) > 0) {
		if (on & CONFIG_NOTIFY_ROLLED_BACK)
			ev = NOTIFY_ROLLED_BACK;
	} else if (on & CONFIG_NOTIFY_SKIPPED) {
		ev = NOTIFY_SKIPPED;
	}
	msg->event = ev;
	title(msg, f);
	return ev;
}

/* ---- what every format says -------------------------------------------- */

/* A target as people name it: "site/env", else its environment id. */
static void
target_label(char *buf, size_t len, const struct target *t)
{
	char site[TARGET_NAME_MAX], env[TARGET_NAME_MAX];

	if (t->site_name[0] != '\0')
		snprintf(buf, len, "%s/%s",
		         clean(site, sizeof(site), t->site_name),
		         clean(env, sizeof(env),
		               t->env_name[0] ? t->env_name : "?"));
	else
		clean(buf, len, t->env_id[0] ? t->env_id : "?");
}

static bool
listed(const struct exec_fire_target *t)
{
	return t->outcome != KINSTA_SUCCEEDED && t->outcome != KINSTA_RUNNING;
}

static size_t
nlisted(const struct exec_fire *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ntargets; i++)
		n += listed(&f->targets[i]);
	return n;
}

/* "3 succeeded, 2 failed" */
static void
counts_line(struct buf *b, const struct exec_fire *f)
{
	bool any = false;

	for (int o = KINSTA_RUNNING + 1; o < KINSTA_OUTCOMES; o++) {
		if (f->count[o] == 0)
			continue;
		bprintf(b, "%s%zu %s", any ? ", " : "", f->count[o],
		        kinsta_outcome_name((enum kinsta_outcome)o));
		any = true;
	}
	if (!any)
		bprintf(b, "no environment");
}

/* One listed target as a line (without the newline); slack: mrkdwn with
 * &, < and > escaped. */
static void
target_line(struct buf *b, const struct exec_fire_target *t, bool slack)
{
	char label[2 * TARGET_NAME_MAX + 2], msg[KINSTA_MSG_MAX * 2],
	    note[KINSTA_MSG_MAX * 2];
	struct buf tmp = {0}, lb = {0};
	const char *line;

	target_label(label, sizeof(label), &t->target);
	clean(msg, sizeof(msg), t->message);
	clean(note, sizeof(note), t->note);
	bprintf(&lb, "%s: %s%s%s", label, kinsta_outcome_name(t->outcome),
	        msg[0] ? ": " : "", msg);
	if (note[0])
		bprintf(&lb, " (note: %s)", note);
	if (lb.err != 0) {
		b->err = lb.err;
		free(lb.p);
		return;
	}
	line = lb.p;
	if (!slack) {
		size_t cut = lb.n;

		if (cut > LINE_MAX_BYTES) {
			cut = LINE_MAX_BYTES;
			while (cut > 0 &&
			       ((unsigned char)line[cut] & 0xc0) == 0x80)
				cut--;
		}
		bput(b, "- ", 2);
		bput(b, line, cut);
		free(lb.p);
		return;
	}
	bput(&tmp, "", 0);
	for (const char *c = line; *c; c++) {
		if (*c == '&')
			bput(&tmp, "&amp;", 5);
		else if (*c == '<')
			bput(&tmp, "&lt;", 4);
		else if (*c == '>')
			bput(&tmp, "&gt;", 4);
		else
			bput(&tmp, c, 1);
	}
	if (tmp.err == 0)
		bprintf(b, "\xe2\x80\xa2 %s", tmp.p);
	else
		b->err = tmp.err;
	free(tmp.p);
	free(lb.p);
}

/* The details under the title: run, times, counts, each target. */
static void
details(struct buf *b, const struct notify_msg *msg, const struct exec_fire *f,
        bool slack)
{
	char start[64], end[64], why[300];
	size_t shown = 0, total = nlisted(f);

	iso(start, sizeof(start), f->started_ms);
	iso(end, sizeof(end), f->ended_ms);
	bprintf(b, "Job: %s (%s), run %" PRIu64 "\n", f->job->name,
	        action_name(f->job->action), f->run_id);
	bprintf(b, "Started: %s, ended: %s", start, end);
	if (f->ended_ms >= f->started_ms && f->started_ms > 0)
		bprintf(b, " (%" PRId64 " s)",
		        (f->ended_ms - f->started_ms + 500) / 1000);
	bprintf(b, "\nOutcomes: ");
	counts_line(b, f);
	bprintf(b, "\n");
	if (msg->failures > 0 && msg->event != NOTIFY_RECOVERY) {
		iso(start, sizeof(start), msg->since_ms);
		bprintf(b, "Failing since: %s (%" PRIu32 " run%s)\n", start,
		        msg->failures, msg->failures == 1 ? "" : "s");
	}
	if (f->why[0])
		bprintf(b, "Why: %s\n", clean(why, sizeof(why), f->why));
	if (total == 0)
		return;
	bprintf(b, "\nNot succeeded:\n");
	for (size_t i = 0; i < f->ntargets && shown < NOTIFY_LIST_MAX; i++) {
		if (!listed(&f->targets[i]))
			continue;
		target_line(b, &f->targets[i], slack);
		bprintf(b, "\n");
		shown++;
	}
	if (total > shown)
		bprintf(b,
		        "... and %zu more (kinsta-cron history %s, or "
		        "history.jsonl)\n",
		        total - shown, f->job->name);
}

int
notify_text(const struct notify_msg *msg, const struct exec_fire *f, char **out,
            size_t *len)
{
	struct buf b = {0};

	bprintf(&b, "%s\n\n", msg->title);
	details(&b, msg, f, false);
	return bdone(&b, out, len);
}

/* ---- JSON formats -------------------------------------------------------- */

static int
w_done(struct json_writer *w, int ret, char **out, size_t *len)
{
	const char *buf;
	size_t n;

	*out = NULL;
	*len = 0;
	if (ret == 0)
		ret = json_w_finish(w, &buf, &n);
	if (ret == 0 && (*out = malloc(n + 1)) == NULL)
		ret = -ENOMEM;
	if (ret == 0) {
		memcpy(*out, buf, n);
		(*out)[n] = '\0';
		*len = n;
	}
	json_w_free(w);
	return ret;
}

static const char *
color(enum notify_event ev)
{
	switch (ev) {
	case NOTIFY_FAILURE:
	case NOTIFY_STILL_FAILING:
		return "danger";
	case NOTIFY_RECOVERY:
	case NOTIFY_SUCCESS:
		return "good";
	default:
		return "warning";
	}
}

int
notify_slack(const struct notify_msg *msg, const struct exec_fire *f,
             char **out, size_t *len)
{
	struct json_writer w;
	struct buf text = {0}, head = {0};
	char footer[96];
	int ret = json_w_init(&w);

	/* Slack's mrkdwn needs &, < and > escaped even in the headline */
	for (const char *c = msg->title; *c; c++)
		bput(&head,
		     *c == '<'   ? "&lt;"
		     : *c == '>' ? "&gt;"
		                 : c,
		     *c == '<' || *c == '>' ? 4 : 1);
	bput(&head, "", 0);
	details(&text, msg, f, true);
	bput(&text, "", 0);
	snprintf(footer, sizeof(footer), "kinsta-cron, run %" PRIu64,
	         f->run_id);
	if (ret == 0 && (text.err != 0 || head.err != 0))
		ret = -ENOMEM;
	if (ret == 0) {
		json_w_obj_open(&w);
		json_w_key_str(&w, "text", head.p);
		json_w_key(&w, "attachments");
		json_w_arr_open(&w);
		json_w_obj_open(&w);
		json_w_key_str(&w, "fallback", msg->title);
		json_w_key_str(&w, "color", color(msg->event));
		json_w_key_str(&w, "text", text.p);
		json_w_key_str(&w, "footer", footer);
		json_w_key_int(&w, "ts", util_floor_div(f->ended_ms, 1000));
		json_w_obj_close(&w);
		json_w_arr_close(&w);
		json_w_obj_close(&w);
	}
	free(text.p);
	free(head.p);
	return w_done(&w, ret, out, len);
}

static void
key_clean(struct json_writer *w, const char *key, const char *s)
{
	char tmp[KINSTA_MSG_MAX * 2];

	json_w_key_str(w, key, clean(tmp, sizeof(tmp), s));
}

int
notify_json(const struct notify_msg *msg, const struct exec_fire *f, char **out,
            size_t *len)
{
	struct json_writer w;
	char t[64], run[24];
	size_t shown = 0, total = nlisted(f);
	int ret = json_w_init(&w);

	snprintf(run, sizeof(run), "%" PRIu64, f->run_id);
	json_w_obj_open(&w);
	json_w_key_int(&w, "version", 1);
	json_w_key_str(&w, "event", notify_event_name(msg->event));
	json_w_key_str(&w, "title", msg->title);
	json_w_key_str(&w, "job", f->job->name);
	json_w_key_str(&w, "action", action_name(f->job->action));
	json_w_key_str(&w, "run_id", run);
	iso(t, sizeof(t), f->started_ms);
	json_w_key_str(&w, "started", t);
	iso(t, sizeof(t), f->ended_ms);
	json_w_key_str(&w, "ended", t);
	json_w_key_int(&w, "failures", msg->failures);
	if (msg->since_ms > 0) {
		iso(t, sizeof(t), msg->since_ms);
		json_w_key_str(&w, "failing_since", t);
	} else {
		json_w_key_null(&w, "failing_since");
	}
	key_clean(&w, "why", f->why);
	json_w_key(&w, "counts");
	json_w_obj_open(&w);
	for (int o = KINSTA_RUNNING + 1; o < KINSTA_OUTCOMES; o++)
		json_w_key_int(&w, kinsta_outcome_name((enum kinsta_outcome)o),
		               (int64_t)f->count[o]);
	json_w_obj_close(&w);
	json_w_key(&w, "targets");
	json_w_arr_open(&w);
	for (size_t i = 0; i < f->ntargets && shown < NOTIFY_LIST_MAX; i++) {
		const struct exec_fire_target *x = &f->targets[i];

		if (!listed(x))
			continue;
		json_w_obj_open(&w);
		key_clean(&w, "site", x->target.site_name);
		key_clean(&w, "environment", x->target.env_name);
		key_clean(&w, "env_id", x->target.env_id);
		json_w_key_str(&w, "outcome", kinsta_outcome_name(x->outcome));
		key_clean(&w, "message", x->message);
		key_clean(&w, "note", x->note);
		key_clean(&w, "op_id", x->op_id);
		json_w_obj_close(&w);
		shown++;
	}
	json_w_arr_close(&w);
	json_w_key_int(&w, "more", (int64_t)(total - shown));
	json_w_obj_close(&w);
	return w_done(&w, ret, out, len);
}

/* ---- email ------------------------------------------------------------- */

/* A header field: name, then value folded at spaces to keep lines near 78
 * characters; anything but printable ASCII becomes "?". */
static void
header(struct buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;

	bprintf(b, "%s: ", name);
	for (const char *c = value; *c; c++) {
		unsigned char ch = (unsigned char)*c;

		if (ch == ' ' && col > 70 && strlen(c) > 4) {
			bput(b, "\n ", 2);
			col = 1;
			continue;
		}
		bput(b, ch < 0x20 || ch > 0x7e ? "?" : c, 1);
		col++;
	}
	bput(b, "\n", 1);
}

static void
rfc5322_date(char *buf, size_t len, int64_t ms)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)util_floor_div(ms, 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	         days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A host name fit for a Message-ID: letters, digits, "." and "-". */
static void
host_part(char *buf, size_t len, const char *host)
{
	size_t o = 0;

	for (const char *c = host ? host : ""; *c && o + 1 < len; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-')
			buf[o++] = *c;
	if (o == 0)
		o = (size_t)snprintf(buf, len, "localhost");
	buf[o] = '\0';
}

/* The body: each line cut to LINE_MAX_BYTES (at a character). */
static void
body_lines(struct buf *b, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n"), cut = n;

		if (cut > LINE_MAX_BYTES) {
			cut = LINE_MAX_BYTES;
			while (cut > 0 &&
			       ((unsigned char)text[cut] & 0xc0) == 0x80)
				cut--;
		}
		bput(b, text, cut);
		bput(b, "\n", 1);
		text += n + (text[n] == '\n');
	}
}

int
notify_email(const struct notify_msg *msg, const struct exec_fire *f,
             const char *from, const char *const *to, size_t nto,
             const char *host, int64_t now_ms, char **out, size_t *len)
{
	struct buf b = {0}, to_line = {0}, from_line = {0};
	char h[256], date[64], id[400], subject[400];
	char *text = NULL;
	size_t tlen;
	int ret;

	*out = NULL;
	*len = 0;
	if (nto == 0)
		return -EINVAL;
	if ((ret = notify_text(msg, f, &text, &tlen)) < 0)
		return ret;
	host_part(h, sizeof(h), host);
	if (from != NULL)
		bprintf(&from_line, "kinsta-cron <%s>", from);
	else
		bprintf(&from_line, "kinsta-cron <kinsta-cron@%s>", h);
	for (size_t i = 0; i < nto; i++)
		bprintf(&to_line, "%s%s", i ? ", " : "", to[i]);
	rfc5322_date(date, sizeof(date), now_ms);
	snprintf(id, sizeof(id), "<kinsta-cron.%" PRIu64 ".%s.%" PRId64 "@%s>",
	         f->run_id, notify_event_name(msg->event), now_ms, h);
	snprintf(subject, sizeof(subject), "[kinsta-cron] %s", msg->title);
	if (from_line.err == 0 && to_line.err == 0) {
		header(&b, "From", from_line.p);
		header(&b, "To", to_line.p);
		header(&b, "Subject", subject);
		header(&b, "Date", date);
		header(&b, "Message-ID", id);
		header(&b, "MIME-Version", "1.0");
		header(&b, "Content-Type", "text/plain; charset=utf-8");
		header(&b, "Content-Transfer-Encoding", "8bit");
		header(&b, "Auto-Submitted", "auto-generated");
		header(&b, "X-Kinsta-Cron-Job", f->job->name);
		header(&b, "X-Kinsta-Cron-Event",
		       notify_event_name(msg->event));
		bput(&b, "\n", 1);
		body_lines(&b, text);
		bprintf(&b, "\n-- \nkinsta-cron on %s\n", h);
	} else {
		b.err = -ENOMEM;
	}
	free(text);
	free(to_line.p);
	free(from_line.p);
	return bdone(&b, out, len);
}
