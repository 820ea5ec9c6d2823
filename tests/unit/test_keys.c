/*
 * Tests for daemon/keys.c: key files checked the way ssh checks a private
 * key, KINSTA_API_KEY, the exact message of every refusal (which never
 * holds the key), and the run-time cache that reads each account's key
 * once.  Files live in a scratch directory of their own.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "test.h"

#define KEY "kc-SECRET-0123456789abcdef"

static char scratch[256];

/* scratch/name, written with text and mode; returns the path. */
static const char *
put(const char *name, const char *text, mode_t mode)
{
	static char path[8][512];
	static int i;
	FILE *f;

	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", scratch, name);
	unlink(path[i]);
	if ((f = fopen(path[i], "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || chmod(path[i], mode) != 0) {
		perror(path[i]);
		exit(1);
	}
	return path[i];
}

/* keys_read of a file into a roomy buffer; want NULL: it must succeed. */
static void
check_file(enum keys_source src, const char *path, int want_rc,
           const char *want)
{
	char key[256] = "stale", err[1024] = "", msg[1200];
	int rc =
	    keys_read(src, path, "acme", key, sizeof(key), err, sizeof(err));

	CHECK_INT(rc, want_rc);
	if (want != NULL) {
		snprintf(msg, sizeof(msg), "account \"acme\": %s \"%s\" %s",
		         keys_source_name(src), path, want);
		CHECK_STR(err, msg);
		CHECK_STR(key, "");
	}
	CHECK(strstr(err, KEY) == NULL);
}

static void
test_source_names(void)
{
	CHECK_STR(keys_source_name(KEYS_FILE), "key_file");
	CHECK_STR(keys_source_name(KEYS_CREDENTIAL), "credential");
	CHECK_STR(keys_source_name(KEYS_ENV), "KINSTA_API_KEY");
}

static void
test_read_file(void)
{
	char big[9000], key[256], err[1024], want[1200];
	const char *p;

	/* surrounding blanks and a CRLF go; 0400 is as good as 0600 */
	p = put("alpha", "  " KEY "-alpha \r\n", 0400);
	CHECK_INT(keys_read(KEYS_CREDENTIAL, p, "alpha", key, sizeof(key), err,
	                    sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-alpha");
	p = put("plain", KEY, 0600);
	CHECK_INT(
	    keys_read(KEYS_FILE, p, "acme", key, sizeof(key), err, sizeof(err)),
	    0);
	CHECK_STR(key, KEY);
	/* only checking, as config does at load time */
	CHECK_INT(keys_read(KEYS_FILE, p, "acme", NULL, 0, err, sizeof(err)),
	          0);

	/* a key longer than the caller's buffer */
	p = put("beta", KEY "-beta", 0600);
	CHECK_INT(
	    keys_read(KEYS_CREDENTIAL, p, "beta", key, 8, err, sizeof(err)),
	    -ENOSPC);
	CHECK(strstr(err, KEY) == NULL);
	snprintf(want, sizeof(want),
	         "account \"beta\": credential \"%s\" holds a key too long", p);
	CHECK_STR(err, want);

	snprintf(want, sizeof(want), "%s/nope.key", scratch);
	check_file(KEYS_FILE, want, -ENOENT,
	           "cannot be read: No such file or directory");
	p = put("open.key", KEY "\n", 0644);
	snprintf(want, sizeof(want),
	         "is readable by group or others (mode 0644); run chmod 600 "
	         "%s",
	         p);
	check_file(KEYS_FILE, p, -EPERM, want);
	p = put("group.key", KEY "\n", 0640);
	snprintf(want, sizeof(want),
	         "is readable by group or others (mode 0640); run chmod 600 "
	         "%s",
	         p);
	check_file(KEYS_CREDENTIAL, p, -EPERM, want);
	check_file(KEYS_FILE, put("empty.key", "\n", 0600), -EINVAL,
	           "is empty");
	check_file(KEYS_FILE, put("blank.key", " \t \r\n", 0600), -EINVAL,
	           "is empty");
	check_file(KEYS_FILE, put("two.key", KEY "\n" KEY "\n", 0600), -EINVAL,
	           "has more than one line; it must hold only the API key");
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_file(KEYS_FILE, put("big.key", big, 0600), -EFBIG,
	           "is larger than 8 KiB; it must hold only the API key");
	check_file(KEYS_FILE, scratch, -EINVAL, "is not a regular file");
}

static void
test_read_env(void)
{
	char key[64] = "stale", err[256];

	unsetenv("KINSTA_API_KEY");
	CHECK_INT(keys_read(KEYS_ENV, NULL, "solo", key, sizeof(key), err,
	                    sizeof(err)),
	          -ENOENT);
	CHECK_STR(err, "account \"solo\": KINSTA_API_KEY is not set");
	CHECK_STR(key, "");

	setenv("KINSTA_API_KEY", "  " KEY "\n", 1);
	CHECK_INT(keys_read(KEYS_ENV, "ignored", "solo", key, sizeof(key), err,
	                    sizeof(err)),
	          0);
	CHECK_STR(key, KEY);
	CHECK_INT(keys_read(KEYS_ENV, NULL, "solo", NULL, 0, err, sizeof(err)),
	          0);
	CHECK_INT(keys_read(KEYS_ENV, NULL, "solo", key, 8, err, sizeof(err)),
	          -ENOSPC);
	CHECK_STR(err, "account \"solo\": KINSTA_API_KEY is too long");

	setenv("KINSTA_API_KEY", " \n", 1);
	CHECK_INT(keys_read(KEYS_ENV, NULL, "solo", key, sizeof(key), err,
	                    sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "account \"solo\": KINSTA_API_KEY is empty");

	setenv("KINSTA_API_KEY", KEY "\n" KEY, 1);
	CHECK_INT(keys_read(KEYS_ENV, NULL, "solo", key, sizeof(key), err,
	                    sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "account \"solo\": KINSTA_API_KEY has more than one "
	               "line");
	CHECK(strstr(err, KEY) == NULL);
	unsetenv("KINSTA_API_KEY");
}

/* Each account's key is read once and served from then on, even when its
 * file changes, until keys_init starts afresh (a reload). */
static void
test_cache(void)
{
	struct keys k = {0};
	char key[64], err[512], one[512], two[512];
	size_t secrets = log_secret_count();

	snprintf(one, sizeof(one), "%s", put("one", KEY "-one\n", 0600));
	snprintf(two, sizeof(two), "%s", put("two", KEY "-two\n", 0600));

	CHECK_INT(keys_init(&k, 2), 0);
	CHECK_INT(k.n, 2);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-one");
	/* registered, so that no log line can print it */
	CHECK_INT(log_secret_count(), secrets + 1);

	put("one", KEY "-new\n", 0600);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-one");
	CHECK_INT(log_secret_count(), secrets + 1);
	/* even an unreadable file now: the key was read already */
	chmod(one, 0644);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-one");
	/* a buffer too small for the held key: refused, and the key not in
	 * the message */
	CHECK_INT(
	    keys_get(&k, 0, KEYS_FILE, one, "one", key, 8, err, sizeof(err)),
	    -ENOSPC);
	CHECK(strstr(err, KEY) == NULL);
	CHECK_STR(key, "");

	CHECK_INT(keys_get(&k, 1, KEYS_CREDENTIAL, two, "two", key, sizeof(key),
	                   err, sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-two");

	/* past the slots: read every time, kept nowhere */
	CHECK_INT(keys_get(&k, 5, KEYS_FILE, two, "old", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-two");
	put("two", KEY "-2nd\n", 0600);
	CHECK_INT(keys_get(&k, 5, KEYS_FILE, two, "old", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-2nd");

	/* a reload: read again, and a failure is not kept either */
	CHECK_INT(keys_init(&k, 2), 0);
	CHECK(k.slot[0] == NULL && k.slot[1] == NULL);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          -EPERM);
	CHECK(strstr(err, KEY) == NULL);
	CHECK_STR(key, "");
	chmod(one, 0600);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-new");
	put("one", KEY "-one\n" KEY "-x\n", 0600);
	CHECK_INT(keys_init(&k, 1), 0);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, one, "one", key, sizeof(key), err,
	                   sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, KEY) == NULL);

	/* KINSTA_API_KEY goes through the same cache */
	setenv("KINSTA_API_KEY", KEY "-env", 1);
	CHECK_INT(keys_get(&k, 0, KEYS_ENV, NULL, "solo", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	setenv("KINSTA_API_KEY", KEY "-changed", 1);
	CHECK_INT(keys_get(&k, 0, KEYS_ENV, NULL, "solo", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	CHECK_STR(key, KEY "-env");
	unsetenv("KINSTA_API_KEY");

	keys_free(&k);
	CHECK(k.slot == NULL);
	CHECK_INT(k.n, 0);
	keys_free(&k); /* twice is fine */
	CHECK_INT(keys_init(&k, 0), 0);
	CHECK_INT(keys_get(&k, 0, KEYS_FILE, two, "two", key, sizeof(key), err,
	                   sizeof(err)),
	          0);
	keys_free(&k);
	log_secret_clear();
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch, sizeof(scratch), "%s/kcron-keys-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_source_names();
	test_read_file();
	test_read_env();
	test_cache();
	return test_report("test_keys");
}
