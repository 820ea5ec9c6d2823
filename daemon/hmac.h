/*
 * hmac: HMAC-SHA256, for Slack's request signatures.
 *
 * OpenSSL's HMAC from libcrypto, loaded (dlopen) on the first use, as
 * http.c loads libcurl: the commands that check no signature, and a
 * daemon without slack = { }, do not map it.
 */
#ifndef KCRON_HMAC_H
#define KCRON_HMAC_H

#include <stddef.h>

#define HMAC_SHA256_LEN 32

/* out = HMAC-SHA256(key, msg); 0, or -ENOENT (no libcrypto) with a
 * message in err. */
int hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                unsigned char out[HMAC_SHA256_LEN], char *err, size_t errlen);

#endif
