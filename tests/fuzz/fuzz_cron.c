/*
 * Fuzz target for the schedule parser and the next-time engine: any bytes
 * must parse or fail with a message, and a parsed schedule must produce
 * strictly increasing fire times in UTC and in a DST zone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz *ams;
	static int loaded;
	const struct tz *zones[2];
	char expr[256], err[256];
	struct cron c;

	if (!loaded) {
		loaded = 1;
		if (tz_load(&ams, "Europe/Amsterdam", err, sizeof(err)) < 0)
			ams = NULL;
	}
	zones[0] = tz_utc();
	zones[1] = ams != NULL ? ams : tz_utc();
	if (size >= sizeof(expr))
		size = sizeof(expr) - 1;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (cron_parse(&c, expr, "fuzz-job", err, sizeof(err)) < 0) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort(); /* every failure explains itself */
		return 0;
	}
	for (int z = 0; z < 2; z++) {
		/* around the 2026 spring and autumn transitions */
		int64_t t = 1774740000, prev;

		for (int i = 0; i < 8; i++) {
			prev = t;
			if (cron_next(&c, zones[z], t, &t) < 0)
				break;
			if (t <= prev)
				abort();
		}
		t = 1792882800;
		for (int i = 0; i < 8; i++) {
			prev = t;
			if (cron_next(&c, zones[z], t, &t) < 0)
				break;
			if (t <= prev)
				abort();
		}
	}
	return 0;
}
