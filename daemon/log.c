/*
 * log: syslog or stderr, with secrets scrubbed from every line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LINE_MAX_LEN 4096

static bool use_stderr = true;
static int max_level = LOG_INFO;
static char **secrets;
static size_t nsecrets;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void
log_open(bool to_stderr, int max_prio)
{
	use_stderr = to_stderr;
	max_level = max_prio;
	if (!to_stderr)
		openlog("kinsta-cron", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_close(void)
{
	if (!use_stderr)
		closelog();
	log_secret_clear();
	use_stderr = true;
}

bool
log_enabled(int prio)
{
	return prio <= max_level;
}

int
log_secret_add(const char *secret)
{
	char **n, *copy;

	if (secret == NULL || strlen(secret) < 4)
		return 0;
	/* every run registers its key: keep one copy, or the list (and the
	 * scrubbing of each line) would grow with every run */
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return 0;
	if ((copy = strdup(secret)) == NULL)
		return -ENOMEM;
	if ((n = realloc(secrets, (nsecrets + 1) * sizeof(*n))) == NULL) {
		explicit_bzero(copy, strlen(copy));
		free(copy);
		return -ENOMEM;
	}
	secrets = n;
	secrets[nsecrets++] = copy;
	return 0;
}

size_t
log_secret_count(void)
{
	return nsecrets;
}

void
log_secret_clear(void)
{
	for (size_t i = 0; i < nsecrets; i++) {
		explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

/* Replace every registered secret in line, in place. */
static void
scrub(char *line, size_t size)
{
	static const char mark[] = "[redacted]";

	for (size_t i = 0; i < nsecrets; i++) {
		size_t slen = strlen(secrets[i]);
		char *p;

		while ((p = strstr(line, secrets[i])) != NULL) {
			size_t tail = strlen(p + slen) + 1;
			size_t room =
			    size - (size_t)(p - line) - (sizeof(mark) - 1);

			if (tail > room)
				tail = room;
			memmove(p + sizeof(mark) - 1, p + slen, tail);
			memcpy(p, mark, sizeof(mark) - 1);
			line[size - 1] = '\0';
		}
	}
}

void
log_scrub(char *buf, size_t size)
{
	if (buf != NULL && size > 0)
		scrub(buf, size);
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];
	int saved = errno;

	if (prio > max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* one event, one line: no injected line breaks */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	scrub(line, sizeof(line));
	if (use_stderr) {
		struct timespec ts;
		char stamp[48];

		clock_gettime(CLOCK_REALTIME, &ts);
		util_time_iso(stamp, sizeof(stamp), NULL, (int64_t)ts.tv_sec,
		              (int)(ts.tv_nsec / 1000000));
		fprintf(stderr, "%s %s %s\n", stamp, level_names[prio & 7],
		        line);
	} else {
		syslog(prio, "%s", line);
	}
	errno = saved;
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

const char *
log_value(char *buf, size_t len, const char *src)
{
	bool plain = src[0] != '\0';
	size_t o = 0;

	if (len == 0)
		return buf;
	for (const char *s = src; *s && plain; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' ||
		    *s == '\\' || *s == 0x7f)
			plain = false;
	if (plain) {
		snprintf(buf, len, "%s", src);
		return buf;
	}
	buf[o++] = '"';
	for (const char *s = src; *s && o + 3 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < ' ' || c == 0x7f) {
			buf[o++] = '?';
		} else {
			buf[o++] = (char)c;
		}
	}
	if (o < len - 1)
		buf[o++] = '"';
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}
