/*
 * hmac: HMAC-SHA256 through libcrypto, loaded on the first use; see
 * hmac.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hmac.h"

#ifndef KCRON_CRYPTO_SONAME
#define KCRON_CRYPTO_SONAME "libcrypto.so.3"
#endif

static struct {
	__typeof__(HMAC) *hmac;
	__typeof__(EVP_sha256) *sha256;
} crypto;

static bool crypto_loaded;

int
hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
            unsigned char out[HMAC_SHA256_LEN], char *err, size_t errlen)
{
	unsigned int len = 0;
	void *lib;

	if (!crypto_loaded) {
		if ((lib = dlopen(KCRON_CRYPTO_SONAME,
		                  RTLD_LAZY | RTLD_LOCAL)) == NULL) {
			snprintf(err, errlen, "cannot load %s: %s",
			         KCRON_CRYPTO_SONAME, dlerror());
			return -ENOENT;
		}
		crypto.hmac = (__typeof__(crypto.hmac))dlsym(lib, "HMAC");
		crypto.sha256 =
		    (__typeof__(crypto.sha256))dlsym(lib, "EVP_sha256");
		if (crypto.hmac == NULL || crypto.sha256 == NULL) {
			snprintf(err, errlen, "%s has no HMAC or EVP_sha256",
			         KCRON_CRYPTO_SONAME);
			dlclose(lib);
			return -ENOENT;
		}
		crypto_loaded = true;
	}
	if (klen > (size_t)__INT_MAX__ ||
	    crypto.hmac(crypto.sha256(), key, (int)klen, msg, mlen, out,
	                &len) == NULL ||
	    len != HMAC_SHA256_LEN) {
		snprintf(err, errlen, "HMAC-SHA256 failed");
		return -EINVAL;
	}
	return 0;
}
