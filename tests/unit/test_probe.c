/*
 * Tests for daemon/probe.c: page URLs and the verdict on a page.
 */
#include <errno.h>
#include <stdbool.h>

#include "probe.h"
#include "test.h"

static struct target
target(void)
{
	struct target t = {0};

	snprintf(t.env_id, sizeof(t.env_id), "env-1");
	snprintf(t.domain, sizeof(t.domain), "shop.example.com");
	snprintf(t.site_name, sizeof(t.site_name), "shop");
	snprintf(t.env_name, sizeof(t.env_name), "staging");
	return t;
}

static void
test_url(void)
{
	struct target t = target();
	char url[256], why[128];

	CHECK_INT(probe_url(url, sizeof(url), "https://{domain}", "/", &t, 0xab,
	                    why, sizeof(why)),
	          0);
	CHECK_STR(url, "https://shop.example.com/?kinsta-cron-probe=ab");
	/* a trailing slash on base_url, none on the page: one slash */
	CHECK_INT(probe_url(url, sizeof(url),
	                    "http://127.0.0.1:81/_site/{domain}/",
	                    "shop/?a=1#top", &t, 1, why, sizeof(why)),
	          0);
	CHECK_STR(url, "http://127.0.0.1:81/_site/shop.example.com/shop/"
	               "?a=1&kinsta-cron-probe=1");
	/* an absolute page ignores base_url; its placeholders are filled */
	CHECK_INT(probe_url(url, sizeof(url), "https://{domain}",
	                    "https://{env_name}-{site_name}.kinsta.cloud/x", &t,
	                    2, why, sizeof(why)),
	          0);
	CHECK_STR(url,
	          "https://staging-shop.kinsta.cloud/x?kinsta-cron-probe=2");
	/* what the target does not know is an error that says so */
	t.domain[0] = '\0';
	CHECK_INT(probe_url(url, sizeof(url), "https://{domain}", "/", &t, 3,
	                    why, sizeof(why)),
	          -ENOENT);
	CHECK_STR(why, "{domain} is not known for environment env-1");
	t = target();
	CHECK_INT(probe_url(url, 24, "https://{domain}", "/", &t, 3, why,
	                    sizeof(why)),
	          -ENAMETOOLONG);
	/* a brace that is no placeholder is kept as it is */
	CHECK_INT(probe_url(url, sizeof(url), "https://{domain}", "/{x}", &t, 4,
	                    why, sizeof(why)),
	          0);
	CHECK_STR(url, "https://shop.example.com/{x}?kinsta-cron-probe=4");
}

static void
test_verdict(void)
{
	static const char page[] = "<html><body>Shop</body></html>";
	static const char fatal[] =
	    "<html><br />\n<b>Fatal error</b>:  Uncaught "
	    "Error: x in /www/a.php:3</html>";
	static const char critical[] =
	    "<p>There has been a critical error on this website.</p>";
	char why[160];

	CHECK(probe_verdict(200, page, sizeof(page) - 1, 200, "</html>", why,
	                    sizeof(why)));
	CHECK_STR(why, "");
	CHECK(probe_verdict(200, page, sizeof(page) - 1, 200, NULL, why,
	                    sizeof(why)));
	CHECK(!probe_verdict(500, page, sizeof(page) - 1, 200, NULL, why,
	                     sizeof(why)));
	CHECK_STR(why, "HTTP 500, expected 200");
	CHECK(!probe_verdict(200, page, sizeof(page) - 1, 203, NULL, why,
	                     sizeof(why)));
	CHECK_STR(why, "HTTP 200, expected 203");
	CHECK(!probe_verdict(200, "", 0, 200, NULL, why, sizeof(why)));
	CHECK_STR(why, "empty page (HTTP 200)");
	CHECK(!probe_verdict(200, " \r\n\t", 4, 200, NULL, why, sizeof(why)));
	CHECK_STR(why, "empty page (HTTP 200)");
	CHECK(!probe_verdict(200, page, sizeof(page) - 1, 200, "Checkout", why,
	                     sizeof(why)));
	CHECK_STR(why, "\"Checkout\" not found on the page");
	/* the markers PHP and WordPress print for a fatal error */
	CHECK(!probe_verdict(200, fatal, strlen(fatal), 200, "</html>", why,
	                     sizeof(why)));
	CHECK(strstr(why, "PHP fatal error") == why);
	CHECK(!probe_verdict(200, "PHP Fatal error:  Allowed memory", 32, 200,
	                     NULL, why, sizeof(why)));
	CHECK(!probe_verdict(500, critical, strlen(critical), 500, NULL, why,
	                     sizeof(why)));
	CHECK(strstr(why, "critical error") != NULL);
	/* a body with a NUL before the marker is still read to its end */
	CHECK(!probe_verdict(200, "ok\0PHP Fatal error: x", 21, 200, NULL, why,
	                     sizeof(why)));
	/* "fatal" in the shop's own words is fine */
	CHECK(probe_verdict(200, "<p>Fatal Attraction DVD</p>", 27, 200, NULL,
	                    why, sizeof(why)));
}

int
main(void)
{
	test_url();
	test_verdict();
	return test_report("test_probe");
}
