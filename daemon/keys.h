/*
 * keys: the accounts' API keys, read from where each one is kept.
 *
 * A key comes from a key_file that only its owner can read (checked the
 * way ssh checks a private key), from systemd's credentials folder
 * ($CREDENTIALS_DIRECTORY/<account>, LoadCredential=), or from
 * KINSTA_API_KEY.  It is a secret with I/O of its own, so it lives apart
 * from config (as chrony keeps keys.c apart from conf.c): the code that
 * holds a key is this small file, every buffer that held one is wiped, and
 * no message it writes ever contains one.
 *
 * config chooses each account's source at load time and checks it here;
 * runs read the keys through a small cache (struct keys), once per
 * account, so that a run costs no file read.  keys does not know struct
 * config (config includes this header for the source enum): the source,
 * path and account name are plain arguments.
 */
#ifndef KCRON_KEYS_H
#define KCRON_KEYS_H

#include <stddef.h>

/* Where an account's key is read from. */
enum keys_source {
	KEYS_FILE,       /* key_file */
	KEYS_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/<account> */
	KEYS_ENV         /* KINSTA_API_KEY */
};

/* The keys read so far, one slot per account of one config.
 * Zero-initialised means empty. */
struct keys {
	char **slot; /* per account: the key once read, or NULL */
	size_t n;
};

/* The source as the configuration and messages name it: "key_file",
 * "credential" or "KINSTA_API_KEY". */
const char *keys_source_name(enum keys_source src);

/* Read account's key from src (path: the file; unused for KEYS_ENV) into
 * key (keylen bytes), trimmed and NUL-terminated, or only check it when
 * key is NULL.  0, or -errno with a message naming the account and the
 * source in err, never the key. */
int keys_read(enum keys_source src, const char *path, const char *account,
              char *key, size_t keylen, char *err, size_t errlen);

/* Empty slots for n accounts, wiping the keys k held (k zeroed or from
 * keys_init); 0, or -ENOMEM with k empty (keys_get then reads every time).
 */
int keys_init(struct keys *k, size_t n);

/* Account i's key into key (keylen bytes): read from its source the first
 * time only and registered with log_secret_add, then served from k until
 * keys_init or keys_free; i >= k->n reads every time and keeps nothing.
 * 0, or -errno as keys_read. */
int keys_get(struct keys *k, size_t i, enum keys_source src, const char *path,
             const char *account, char *key, size_t keylen, char *err,
             size_t errlen);

/* Wipe and free every key k holds; k is empty after. */
void keys_free(struct keys *k);

#endif
