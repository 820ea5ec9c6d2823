"""End-to-end tests of `kinsta-cron run` when things go wrong: failed and
timed-out operations, the 404 grace, 429 storms, and every fault the
simulator can inject (5xx, hangs, resets, slow, broken, huge, deep and
NUL-laden bodies, 401).  The API key must never reach the output (checked
by kcron_helpers.run on every invocation).

Not here: an operation that never appears (404 past the 60 s grace) takes
more than a minute; tests/unit/test_ops.c covers that verdict with a fake
clock.
"""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

OP_SECONDS = 0.3
ALPHA = kh.env_id("alphasite")
BRAVO = kh.env_id("bravosite")
ECHO = kh.env_id("echosite")
NOT_RETRIED = "(not retried: the request may have reached Kinsta)"


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path):
    """(sim, run): run(job_entry, *args, api_timeout=10) runs that job."""
    sim.reset(op_seconds=OP_SECONDS)

    def run(entry, *args, api_timeout=10, extra="", **kw):
        conf = kh.write_config(tmp_path, [entry], sim.url,
                               api_timeout=api_timeout, extra=extra)
        name = entry.split('name = "', 1)[1].split('"', 1)[0]
        return kh.run_job(conf, name, *args, **kw)
    return sim, run


def one(res, outcome, rc=None):
    if rc is None:
        rc = 0 if outcome in ("succeeded", "skipped") else 1
    assert res.returncode == rc, res
    assert len(res.outcomes) == 1, res
    assert res.outcomes[0]["outcome"] == outcome, res
    return res.outcomes[0]


def statuses(sim, method=None, path_regex=None):
    return [r["status"] for r in sim.requests(method, path_regex)]


CLEAR = kh.job("cc", "clear-cache", environment_id=ALPHA)


# --- operations -----------------------------------------------------------

def test_failed_operation_prints_api_message(env):
    sim, run = env
    sim.config(op_fail={"action": "clear-cache",
                        "message": "Cache service unavailable on node 7"})
    o = one(run(CLEAR), "failed")
    assert o["message"] == "Cache service unavailable on node 7"
    (op,) = sim.operations()
    assert o["op"] == op["id"] and op["state"] == "failed"
    assert statuses(sim, "POST") == [202]


def test_failed_operation_as_http_200(env):
    """The body's status 500 wins over HTTP 200."""
    sim, run = env
    sim.config(op_fail={"action": "restart-php", "message": "PHP is stuck",
                        "http_status": 200})
    o = one(run(kh.job("php", "restart-php", environment_id=ECHO)), "failed")
    assert o["message"] == "PHP is stuck"


def test_timed_out_operation(env):
    sim, run = env
    sim.config(op_seconds=30)
    r = run(kh.job("slow", "clear-cache", environment_id=ALPHA, timeout=2))
    o = one(r, "timed-out")
    assert o["message"] == "operation still running after 2 s"
    (op,) = sim.operations()
    assert o["op"] == op["id"] and op["state"] == "running"
    assert r.elapsed < 20
    assert statuses(sim, "POST") == [202]


def test_operation_404_grace(env):
    """Kinsta creates some operation records late: 404s in the first
    seconds are not a failure."""
    sim, run = env
    sim.config(op_404_seconds=3.0)
    o = one(run(CLEAR), "succeeded")
    polls = statuses(sim, "GET", "/operations/")
    assert polls[0] == 404 and polls[-1] == 200, polls
    assert set(polls) == {404, 200}
    assert o["op"] == sim.operations()[0]["id"]


# --- 429 ------------------------------------------------------------------

def retry_after_of(admitted, t, limit, window):
    """The Retry-After the simulator gave a request at t: seconds until
    its rolling window (admitted request times) frees a slot."""
    inside = sorted(a for a in admitted if t - window < a <= t)
    assert len(inside) >= limit, (t, inside)
    return max(1, math.ceil(inside[0] + window - t))


def test_429_storm_is_honoured(env):
    """Three requests per 2 s for the company; a job on every Acme site
    needs 11 requests (listing, 5 clears, 5 polls).  Every run succeeds,
    and after each 429 no request reaches the server before the
    Retry-After has passed."""
    sim, run = env
    limit, window = 3, 2.0
    sim.config(rate_company=limit, rate_window=window)
    r = run(kh.job("storm", "clear-cache", all_sites=True), timeout=240)
    assert r.returncode == 0, r
    assert len(r.outcomes) == 5
    assert all(o["outcome"] == "succeeded" for o in r.outcomes), r
    reqs = sim.requests()
    limited = [q for q in reqs if q["status"] == 429]
    assert limited, "the storm never hit the limit"
    assert sim.stats()["rate_limited_by_bucket"].keys() == {"company"}
    # the daemon saw each 429 and paused for its Retry-After (>= 1 s)
    waits = [int(kh.parse_kv(l)["retry_in_ms"]) for l in r.stderr.splitlines()
             if "rate limited: HTTP 429" in l]
    assert len(waits) == len(limited), r.stderr
    assert min(waits) >= 900, waits
    admitted = [q["time"] for q in reqs if q["status"] != 429]
    for q in limited:
        ra = retry_after_of(admitted, q["time"], limit, window)
        # requests already in flight arrive within moments of the 429;
        # anything later must wait for the Retry-After
        early = [x for x in reqs
                 if q["time"] + 0.2 < x["time"] < q["time"] + ra - 0.1]
        assert early == [], (q["seq"], ra, [(x["seq"], x["time"] - q["time"])
                                            for x in early])
    # every POST was eventually accepted exactly once per site
    ok_posts = [q for q in reqs if q["method"] == "POST"
                and q["status"] == 202]
    assert len(ok_posts) == 5
    assert len({q["body"]["environment_id"] for q in ok_posts}) == 5


def test_429_on_post_is_resent_after_retry_after(env):
    sim, run = env
    sim.fault("429", method="POST", path_regex="clear-cache", retry_after=2)
    one(run(CLEAR), "succeeded")
    posts = sim.requests("POST")
    assert [p["status"] for p in posts] == [429, 202]
    assert posts[1]["time"] - posts[0]["time"] >= 1.9


# --- server errors and transport faults -----------------------------------

def test_5xx_on_reads_are_retried(env):
    """500 on the plugin list and 502 on the site list and on polls: all
    reads, all retried."""
    sim, run = env
    sim.fault("502", method="GET", path_regex="^/sites$", count=1)
    sim.fault("500", method="GET", path_regex="/plugins$", count=1)
    sim.fault("502", method="GET", path_regex="/operations/", count=1)
    o = one(run(kh.job("plug", "update-plugins", site="echosite")),
            "succeeded")
    assert statuses(sim, "GET", "^/sites$") == [502, 200]
    # the list, retried; then the list again that checks the versions
    # after the update (verified updates, #13)
    assert statuses(sim, "GET", "/plugins$") == [500, 200, 200]
    assert statuses(sim, "GET", "/operations/")[:2] == [502, 200]
    assert statuses(sim, "PUT") == [200]
    assert o["op"].startswith("wp-plugins:bulk-update-")


def test_retries_run_out(env):
    sim, run = env
    sim.fault("503", method="GET", path_regex="/plugins$", count=-1)
    o = one(run(kh.job("plug", "update-plugins", environment_id=ECHO,
                       retries=1)), "failed")
    assert statuses(sim, "GET", "/plugins$") == [503, 503]
    assert "503" in o["message"]
    assert statuses(sim, "PUT") == []


def test_500_on_poll_is_the_operations_failure(env):
    """On GET /operations/{id}, HTTP 500 is Kinsta's word that the
    operation failed (the operations contract): no second poll."""
    sim, run = env
    sim.fault("500", method="GET", path_regex="/operations/", count=1)
    o = one(run(CLEAR), "failed", rc=1)
    assert statuses(sim, "GET", "/operations/") == [500]
    assert o["message"].startswith(
        "Error occurred while processing your request")
    assert o["op"] == sim.operations()[0]["id"]


def test_502_on_poll_is_retried(env):
    """A 502 (a proxy in the way) on a poll is a fault: polled again."""
    sim, run = env
    sim.fault("502", method="GET", path_regex="/operations/", count=1)
    o = one(run(CLEAR), "succeeded")
    assert statuses(sim, "GET", "/operations/") == [502, 200]
    assert o["op"] == sim.operations()[0]["id"]


def test_500_on_post_is_not_retried(env):
    sim, run = env
    sim.fault("500", method="POST", path_regex="clear-cache", count=1)
    o = one(run(CLEAR), "failed")
    assert statuses(sim, "POST") == [500]
    assert o["message"].startswith(
        "Error occurred while processing your request")
    assert NOT_RETRIED in o["message"]


def test_hang_on_post_times_out_not_retried(env):
    sim, run = env
    sim.fault("hang", method="POST", path_regex="clear-cache", count=1,
              seconds=5)
    r = run(CLEAR, api_timeout=2)
    o = one(r, "failed")
    assert "timed out" in o["message"].lower() or \
        "timeout" in o["message"].lower(), o
    assert o["message"].endswith(NOT_RETRIED)
    assert len(sim.requests("POST")) == 1
    assert r.elapsed < 30


def test_reset_on_post_not_retried(env):
    sim, run = env
    sim.fault("reset", method="POST", path_regex="clear-cache", count=1)
    o = one(run(CLEAR), "failed")
    assert o["message"].endswith(NOT_RETRIED), o
    assert len(sim.requests("POST")) == 1


def test_reset_and_slow_body_on_reads(env):
    sim, run = env
    sim.fault("reset", method="GET", path_regex="^/sites$", count=1)
    sim.fault("slow_body", method="GET", path_regex="/operations/",
              count=1, seconds=0.01)
    o = one(run(kh.job("cc", "clear-cache", site="echosite")), "succeeded")
    assert len(sim.requests("GET", "^/sites$")) == 2
    assert sim.requests("GET", "/operations/")[0]["fault"] == "slow_body"
    assert o["target"] == "echosite/live"


def test_slow_body_past_the_timeout_on_post(env):
    """The request was processed (an operation exists) but the answer
    never arrived in time: failed, not sent twice."""
    sim, run = env
    sim.fault("slow_body", method="POST", path_regex="clear-cache", count=1,
              seconds=0.5)
    o = one(run(CLEAR, api_timeout=2), "failed")
    assert o["message"].endswith(NOT_RETRIED), o
    assert len(sim.requests("POST")) == 1
    assert len(sim.operations()) == 1


def test_connection_refused_is_retried_then_fails(env, tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    conf = kh.write_config(tmp_path, [kh.job("cc", "clear-cache",
                                             environment_id=ALPHA,
                                             retries=1)],
                           "http://127.0.0.1:%d/v2" % port)
    o = one(kh.run_job(conf, "cc"), "failed")
    assert "onnect" in o["message"], o
    assert NOT_RETRIED not in o["message"]


@pytest.mark.parametrize("where", ["post", "listing"])
def test_malformed_json(env, where):
    sim, run = env
    if where == "post":
        sim.fault("malformed_json", method="POST", path_regex="clear-cache")
        o = one(run(CLEAR), "failed")
        assert len(sim.requests("POST")) == 1
    else:
        sim.fault("malformed_json", method="GET", path_regex="^/sites$")
        o = one(run(kh.job("cc", "clear-cache", site="alphasite")), "failed")
        assert sim.requests("POST") == []
    assert o["message"], o
    assert "json" in o["message"].lower() or "parse" in o["message"].lower()


@pytest.mark.parametrize("where", ["post", "listing"])
def test_huge_json_over_the_cap(env, where):
    sim, run = env
    size = 6 * 1024 * 1024  # the cap is 4 MiB
    if where == "post":
        sim.fault("huge_json", method="POST", path_regex="clear-cache",
                  bytes=size)
        o = one(run(CLEAR), "failed")
        assert o["message"].startswith(
            "response body over the 4194304-byte limit"), o
        assert len(sim.requests("POST")) == 1
    else:
        sim.fault("huge_json", method="GET", path_regex="^/sites$",
                  bytes=size, count=-1)
        o = one(run(kh.job("cc", "clear-cache", site="alphasite")), "failed")
        assert o["message"] == ("cannot list the company's sites: response "
                                "body over the 4194304-byte limit"), o
        assert sim.requests("POST") == []


@pytest.mark.parametrize("kind", ["deep_json", "nul_json"])
def test_hostile_json_on_post(env, kind):
    sim, run = env
    sim.fault(kind, method="POST", path_regex="clear-cache")
    o = one(run(CLEAR), "failed")
    assert o["message"], o
    assert len(sim.requests("POST")) == 1
    assert sim.requests("GET") == []  # no operation id was made up


@pytest.mark.parametrize("kind", ["deep_json", "nul_json"])
def test_hostile_json_on_listing(env, kind):
    sim, run = env
    sim.fault(kind, method="GET", path_regex="^/sites$")
    o = one(run(kh.job("cc", "clear-cache", label="client-a")), "failed")
    assert o["message"], o
    assert sim.requests("POST") == []


def test_401_on_post_and_on_poll(env):
    sim, run = env
    sim.fault("401", method="POST", path_regex="clear-cache")
    o = one(run(CLEAR, "-v", "-v"), "failed")
    assert o["message"] == "API key rejected or expired (HTTP 401)"
    sim.reset(op_seconds=OP_SECONDS)
    sim.fault("401", method="GET", path_regex="/operations/")
    o = one(run(CLEAR, "-v", "-v"), "failed")
    assert o["message"] == "API key rejected or expired"


def test_wrong_key(env, tmp_path):
    """A key the API does not know: the real 401, and the wrong key is not
    printed either."""
    sim, run = env
    bad = "kc-e2e-WRONG-key-0c9e7d"
    conf = kh.write_config(tmp_path, [CLEAR], sim.url, key=bad)
    r = kh.run_job(conf, "cc", "-v", "-v", secrets=(bad, kh.KEY))
    o = one(r, "failed")
    assert o["message"] == "API key rejected or expired (HTTP 401)"
    conf = kh.write_config(tmp_path, [kh.job("cc", "clear-cache",
                                             label="client-a")],
                           sim.url, key=bad)
    o = one(kh.run_job(conf, "cc", secrets=(bad, kh.KEY)), "failed")
    assert "No or invalid API key" in o["message"], o
