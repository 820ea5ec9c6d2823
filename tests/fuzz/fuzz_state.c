/*
 * Fuzz target for daemon/state.c: arbitrary bytes as the content of
 * state.json go through state_decode.  A refused document leaves an empty
 * state and a one-line message; an accepted one is encoded again, and the
 * re-encoded text must decode to the same entries with nothing skipped
 * (what we write, we can read back).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_state: %s:%d: %s\n", __FILE__,   \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* Messages end up in the log: printable ASCII on one line, never empty. */
static void
check_message(const char *err)
{
	FUZZ_ASSERT(err[0] != '\0');
	for (const char *p = err; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st, again;
	char err[STATE_MSG_MAX], *out = NULL;
	size_t len = 0;
	int ret;

	ret = state_decode(&st, (const char *)data, size, err, sizeof(err));
	if (ret < 0) {
		check_message(err);
		FUZZ_ASSERT(ret == -EINVAL || ret == -EMSGSIZE ||
		            ret == -ENOMEM);
		FUZZ_ASSERT(st.nlast == 0 && st.nops == 0 && st.last == NULL);
		return 0;
	}
	if (ret > 0)
		check_message(err);
	else
		FUZZ_ASSERT(err[0] == '\0');
	/* Every kept name is found again through the index. */
	for (size_t i = 0; i < st.nlast; i++)
		FUZZ_ASSERT(state_last_fired(&st, state_last_job(&st, i)) ==
		            st.last[i].fired);

	FUZZ_ASSERT(state_encode(&st, &out, &len, err, sizeof(err)) == 0);
	FUZZ_ASSERT(len > 0 && out[len - 1] == '\n');
	FUZZ_ASSERT(memchr(out, '\n', len) == out + len - 1);
	ret = state_decode(&again, out, len, err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "fuzz_state: re-decode: %s\n", err);
	FUZZ_ASSERT(ret == 0);
	FUZZ_ASSERT(again.nlast == st.nlast && again.nops == st.nops);
	for (size_t i = 0; i < st.nlast; i++)
		FUZZ_ASSERT(strcmp(state_last_job(&again, i),
		                   state_last_job(&st, i)) == 0 &&
		            again.last[i].fired == st.last[i].fired);
	for (size_t i = 0; i < st.nops; i++) {
		const struct state_op *a = &st.ops[i], *b = &again.ops[i];

		FUZZ_ASSERT(
		    strcmp(a->job, b->job) == 0 && a->run_id == b->run_id &&
		    a->step == b->step && strcmp(a->op_id, b->op_id) == 0 &&
		    a->deployment == b->deployment &&
		    a->started_ms == b->started_ms &&
		    memcmp(&a->target, &b->target, sizeof(a->target)) == 0);
	}
	free(out);
	state_free(&st);
	state_free(&again);
	return 0;
}
