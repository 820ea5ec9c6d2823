/*
 * advice: warnings about a configuration that loads but misleads.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "advice.h"

/* The file the unit's ExecStart= names (systemd/kinsta-cron.service). */
#define SERVICE_CONFIG "/etc/kinsta-cron/kinsta-cron.conf"
/* The user kinsta-cron.service runs as: DynamicUser=yes makes one of this
 * name while the service runs; a drop-in with User= may make it fixed. */
#define SERVICE_USER "kinsta-cron"

struct out {
	void (*warn)(const char *line, void *arg);
	void *arg;
	int n;
};

static void emit(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emit(struct out *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->warn(line, o->arg);
	o->n++;
}

/* The installed file's company, "00000000-0000-4000-8000-000000000000",
 * and the nil UUID: every hex digit 0 but the version and variant. */
static bool
is_placeholder(const char *uuid)
{
	for (size_t i = 0; uuid[i] != '\0'; i++)
		if (uuid[i] != '0' && uuid[i] != '-' && i != 14 && i != 19)
			return false;
	return true;
}

/* Where a by-hand check and the unit's LoadCredential= lines keep the keys:
 * the folder "credentials" beside the configuration file. */
static void
credentials_dir(const char *cfg_path, char *buf, size_t len)
{
	const char *slash = strrchr(cfg_path, '/');

	if (slash == NULL)
		snprintf(buf, len, "credentials");
	else
		snprintf(buf, len, "%.*s/credentials", (int)(slash - cfg_path),
		         cfg_path);
}

static void
check_account(const struct config *cfg, const struct config_account *a,
              const struct advice_probe *probe, struct out *o)
{
	char creds[1024];

	if (a->name == NULL)
		return;
	if (a->company != NULL && is_placeholder(a->company))
		emit(o,
		     "%s:%d: warning: account \"%s\": company \"%s\" is a "
		     "placeholder, not your company; set company to your "
		     "Kinsta company's ID (MyKinsta, Company settings, Billing "
		     "details)",
		     a->file, a->line, a->name, a->company);
	/* With LoadCredential= systemd reads the key as root and hands the
	 * service a copy: only key_file is read by the service itself. */
	if (a->key_file == NULL || probe == NULL ||
	    probe->service_can_read(a->key_file, probe->arg) != 0)
		return;
	credentials_dir(cfg->path, creds, sizeof(creds));
	emit(o,
	     "%s:%d: warning: account \"%s\": key_file \"%s\": "
	     "kinsta-cron.service cannot read it (the service runs as its own "
	     "user, DynamicUser=yes, not as the file's owner, and cannot see "
	     "/home, /root, /tmp or %s), so it would not start; give it the "
	     "key as a credential, which systemd reads as root: move the file "
	     "to %s/%s, delete the key_file line and add "
	     "\"LoadCredential=%s:%s/%s\" with \"systemctl edit kinsta-cron\"",
	     a->file, a->line, a->name, a->key_file, creds, creds, a->name,
	     a->name, creds, a->name);
}

/* A plain number within max: "30", not "*", "H", "1-5" or "0,30". */
static bool
plain_number(const char *s, size_t n, int max, int *v)
{
	*v = 0;
	if (n == 0 || n > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v <= max;
}

/*
 * "30 2 * * * *": six fields, so seconds 30, minute 2, every hour; the
 * author most likely meant 02:30 with five fields and one "*" too many.
 * Said only when the first field reads like a minute (1-59: 0 is the
 * usual seconds of a six-field schedule), the second like an hour (0-23)
 * and the hour field is "*".
 */
static void
check_schedule(const struct config_job *j, struct out *o)
{
	const char *f[6], *s = j->schedule;
	size_t len[6], n = 0;
	char five[256];
	int v1, v2; /* 30 and 2 in "30 2 * * * *" */

	if (s == NULL || s[0] == '@')
		return;
	while (*s != '\0') {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		if (n == 6)
			return;
		f[n] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		len[n] = (size_t)(s - f[n]);
		n++;
	}
	if (n != 6 || !plain_number(f[0], len[0], 59, &v1) || v1 == 0 ||
	    !plain_number(f[1], len[1], 23, &v2) || len[2] != 1 ||
	    f[2][0] != '*')
		return;
	/* What was meant: minute, hour and the day fields, without the
	 * hour field's "*" that the sixth field pushed in. */
	snprintf(five, sizeof(five), "%.*s %.*s %.*s %.*s %.*s", (int)len[0],
	         f[0], (int)len[1], f[1], (int)len[3], f[3], (int)len[4], f[4],
	         (int)len[5], f[5]);
	emit(o,
	     "%s:%d: warning: job \"%s\": schedule \"%s\" has six fields, so "
	     "the first is seconds: it fires every hour at xx:%02d:%02d, not "
	     "at %02d:%02d; for %02d:%02d write \"%s\" (five fields) or \"0 "
	     "%s\"",
	     j->file, j->line, j->name, j->schedule, v2, v1, v2, v1, v2, v1,
	     five, five);
}

int
advice_check(const struct config *cfg, const struct advice_probe *probe,
             void (*warn)(const char *line, void *arg), void *arg)
{
	struct out o = {warn, arg, 0};

	for (size_t i = 0; i < cfg->naccounts; i++)
		check_account(cfg, &cfg->accounts[i], probe, &o);
	for (size_t i = 0; i < cfg->njobs; i++)
		check_schedule(&cfg->jobs[i], &o);
	if (cfg->njobs == 0 && cfg->include_dir != NULL)
		emit(&o,
		     "%s: warning: jobs: none in this file or in %s/*.conf, so "
		     "the daemon would start and never call the API; add a job "
		     "to either (see JOBS in kinsta-cron.conf(5))",
		     cfg->path, cfg->include_dir);
	else if (cfg->njobs == 0)
		emit(&o,
		     "%s: warning: jobs: none, so the daemon would start and "
		     "never call the API; add a job (see JOBS in "
		     "kinsta-cron.conf(5))",
		     cfg->path);
	return o.n;
}

int
advice_service_can_read(const char *path, void *arg)
{
	/* ProtectHome=yes, PrivateTmp=yes, InaccessiblePaths= */
	static const char *const hidden[] = {
	    "/home/", "/root/",    "/run/user/",
	    "/tmp/",  "/var/tmp/", "/etc/kinsta-cron/credentials/"};
	struct passwd *pw;
	struct stat st;
	char *real;
	int rc = 0;

	(void)arg;
	if ((real = realpath(path, NULL)) == NULL)
		return -errno;
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (strncmp(real, hidden[i], strlen(hidden[i])) == 0)
			goto out;
	if (stat(real, &st) != 0) {
		rc = -errno;
		goto out;
	}
	/* The key file may be read by its owner only (config refuses any
	 * other mode), so the service reads it only as that owner. */
	pw = getpwnam(SERVICE_USER);
	rc = pw != NULL && pw->pw_uid == st.st_uid;
out:
	free(real);
	return rc;
}

bool
advice_is_service_config(const char *path)
{
	/* Both resolved: /etc/kinsta-cron/kinsta-cron.conf may itself be a
	 * link to a file kept elsewhere. */
	char *real = realpath(path, NULL),
	     *service = realpath(SERVICE_CONFIG, NULL);
	bool same =
	    real != NULL && service != NULL && strcmp(real, service) == 0;

	free(real);
	free(service);
	return same;
}
