/*
 * keys: reading API keys from files and the environment, and keeping the
 * ones read for the runs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"
#include "util.h"

/* A key file holds one key; anything bigger is not one. */
#define KEY_FILE_MAX 8192

const char *
keys_source_name(enum keys_source src)
{
	switch (src) {
	case KEYS_FILE:
		return "key_file";
	case KEYS_CREDENTIAL:
		return "credential";
	case KEYS_ENV:
		return "KINSTA_API_KEY";
	}
	return "?";
}

/* Why a key does not fit the caller's buffer. */
static const char *
too_long(enum keys_source src)
{
	return src == KEYS_ENV ? "KINSTA_API_KEY is too long"
	                       : "holds a key too long";
}

/*
 * Check a key file the way ssh checks a private key: a regular file that
 * only its owner can read, holding one non-empty line.  The content goes
 * to KEY (if not NULL) and is otherwise wiped.  0 or -errno with why set;
 * why never contains the content.
 */
static int
read_file(const char *path, char *key, size_t keylen, char *why, size_t whylen)
{
	char buf[KEY_FILE_MAX + 2];
	struct stat st;
	ssize_t got;
	size_t n = 0, start = 0, end;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		rc = -EINVAL;
		goto fail;
	}
	if (st.st_mode & 077) {
		snprintf(why, whylen,
		         "is readable by group or others (mode %04o); run "
		         "chmod 600 %s",
		         (unsigned)(st.st_mode & 07777), path);
		rc = -EPERM;
		goto fail;
	}
	while (n < sizeof(buf) - 1 &&
	       (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)got;
	if (n > KEY_FILE_MAX) {
		snprintf(why, whylen,
		         "is larger than 8 KiB; it must hold "
		         "only the API key");
		rc = -EFBIG;
		goto fail;
	}
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	while (start < n && isspace((unsigned char)buf[start]))
		start++;
	end = start + strcspn(buf + start, "\r\n");
	if (n == start) {
		snprintf(why, whylen, "is empty");
		rc = -EINVAL;
	} else if (end != n) {
		snprintf(why, whylen,
		         "has more than one line; it must hold only the API "
		         "key");
		rc = -EINVAL;
	} else if (key != NULL) {
		if (n - start >= keylen) {
			snprintf(why, whylen, "%s", too_long(KEYS_FILE));
			rc = -ENOSPC;
		} else {
			memcpy(key, buf + start, n - start + 1);
		}
	}
fail:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* The same for the value of KINSTA_API_KEY. */
static int
read_env(const char *v, char *key, size_t keylen, char *why, size_t whylen)
{
	size_t n = strlen(v), start = 0;

	while (start < n && isspace((unsigned char)v[start]))
		start++;
	while (n > start && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == start) {
		snprintf(why, whylen, "KINSTA_API_KEY is empty");
		return -EINVAL;
	}
	if (strcspn(v + start, "\r\n") < n - start) {
		snprintf(why, whylen, "KINSTA_API_KEY has more than one line");
		return -EINVAL;
	}
	if (key != NULL) {
		if (n - start >= keylen) {
			snprintf(why, whylen, "%s", too_long(KEYS_ENV));
			return -ENOSPC;
		}
		memcpy(key, v + start, n - start);
		key[n - start] = '\0';
	}
	return 0;
}

/* The message for people: the account, the source and why. */
static void
say(char *err, size_t errlen, enum keys_source src, const char *path,
    const char *account, const char *why)
{
	if (src == KEYS_ENV)
		util_seterr(err, errlen, "account \"%s\": %s", account, why);
	else
		util_seterr(err, errlen, "account \"%s\": %s \"%s\" %s",
		            account, keys_source_name(src), path ? path : "",
		            why);
}

int
keys_read(enum keys_source src, const char *path, const char *account,
          char *key, size_t keylen, char *err, size_t errlen)
{
	const char *v;
	char why[512];
	int rc;

	if (key != NULL && keylen > 0)
		key[0] = '\0';
	if (src != KEYS_ENV) {
		rc = read_file(path, key, keylen, why, sizeof(why));
	} else if ((v = getenv("KINSTA_API_KEY")) == NULL) {
		snprintf(why, sizeof(why), "KINSTA_API_KEY is not set");
		rc = -ENOENT;
	} else {
		rc = read_env(v, key, keylen, why, sizeof(why));
	}
	if (rc < 0)
		say(err, errlen, src, path, account, why);
	return rc;
}

int
keys_init(struct keys *k, size_t n)
{
	keys_free(k);
	if (n == 0)
		return 0;
	if ((k->slot = calloc(n, sizeof(*k->slot))) == NULL)
		return -ENOMEM;
	k->n = n;
	return 0;
}

int
keys_get(struct keys *k, size_t i, enum keys_source src, const char *path,
         const char *account, char *key, size_t keylen, char *err,
         size_t errlen)
{
	const char *held = i < k->n ? k->slot[i] : NULL;
	int rc;

	if (held != NULL) {
		if (strlen(held) >= keylen) {
			if (keylen > 0)
				key[0] = '\0';
			say(err, errlen, src, path, account, too_long(src));
			return -ENOSPC;
		}
		memcpy(key, held, strlen(held) + 1);
		return 0;
	}
	if ((rc = keys_read(src, path, account, key, keylen, err, errlen)) < 0)
		return rc;
	/* a key that the log cannot redact is not handed out */
	if (log_secret_add(key) < 0) {
		explicit_bzero(key, keylen);
		util_seterr(err, errlen, "account \"%s\": out of memory",
		            account);
		return -ENOMEM;
	}
	/* without memory for the copy, the next run reads the key again */
	if (i < k->n)
		k->slot[i] = strdup(key);
	return 0;
}

void
keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->slot[i] != NULL) {
			explicit_bzero(k->slot[i], strlen(k->slot[i]));
			free(k->slot[i]);
		}
	free(k->slot);
	k->slot = NULL;
	k->n = 0;
}
