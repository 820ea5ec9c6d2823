/*
 * Fuzz target for the configuration loader: any text must load or fail
 * with at least one one-line "NAME:..." message, never crash or leak.
 * @include lines are dropped first (the fuzzer must not read files), and
 * neither include_dir nor key sources are touched.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks its string buffers when a syntax error
 * interrupts a string token (""" ..., "a" "b = ...); that is the library's
 * leak, a few bytes per failed parse, not ours: only leaks allocated from
 * inside libconfig are suppressed. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	char *text;
	size_t n = 0;
	bool bol = true, skip = false;
	int rc;

	if (size > 1 << 16)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	for (size_t i = 0; i < size; i++) {
		char c = (char)data[i];

		if (bol && (c == ' ' || c == '\t'))
			goto keep;
		if (bol)
			skip = c == '@';
		bol = c == '\n';
		if (skip && !bol)
			continue;
		skip = false;
	keep:
		text[n++] = c;
	}
	text[n] = '\0';
	rc = config_load_string(
	    text, "<fuzz>", CONFIG_LOAD_NO_KEYS | CONFIG_LOAD_NO_INCLUDE_DIR,
	    &cfg, &errs);
	if (rc == 0) {
		if (cfg == NULL || errs.n != 0)
			abort();
		for (size_t i = 0; i < cfg->njobs; i++)
			if (cfg->jobs[i].name == NULL ||
			    cfg->jobs[i].zone == NULL ||
			    cfg->jobs[i].account >= cfg->naccounts)
				abort();
	} else if (rc == -EINVAL) {
		if (cfg != NULL || errs.n == 0)
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strncmp(errs.msgs[i], "<fuzz>", 6) != 0 ||
			    strchr(errs.msgs[i], '\n') != NULL)
				abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	config_free(cfg);
	config_errors_free(&errs);
	free(text);
	return 0;
}
