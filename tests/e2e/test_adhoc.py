"""Ad-hoc runs and the site view of the HTTP face (issue #15), end to end.

The real daemon against the simulator, with its listener on loopback:
POST /api/v1/actions starts one run of an allowed action through the same
budgets, environment locks, history and notifications as a scheduled run;
a busy environment answers 409, a spent budget 429 with Retry-After, an
action not allowed 403, bad input 400, and none of them sends anything to
Kinsta.  An ad-hoc backup cut by a restart is followed to its end.
GET /api/v1/sites/NAME looks the site up at Kinsta without blocking the
loop, and shows the runs that touched it and those in flight.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402
from test_httpface import Face, history  # noqa: E402
from test_slack import FakeSlack  # noqa: E402

import pytest  # noqa: E402

BRAVO = kh.env_id("bravosite")
ALPHA_STAGING = "a1111111-1111-4111-8111-111111111112"


def post(face, body):
    return face.request("POST", "/api/v1/actions",
                        body=body if isinstance(body, str)
                        else json.dumps(body),
                        headers={"Content-Type": "application/json"})


def wait_run(face, run_id, timeout=30):
    def done():
        st, _, run = face.request("GET", "/api/v1/runs/" + run_id)
        return run if st == 200 and run.get("ended") else None
    return kh.wait_for(done, timeout, what="run %s to end" % run_id)


@pytest.fixture
def sim():
    with kh.Sim(op_seconds=0.3) as s:
        yield s


def test_action_runs_like_a_scheduled_one(tmp_path, sim):
    hook = FakeSlack()  # any loopback receiver will do for a webhook
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=BRAVO)],
             slack='notify = { webhook = "%s"; };' % hook.url("hook"))
    try:
        st, _, body = post(f, {"action": "clear-cache", "site": "bravosite"})
        assert st == 202, body
        assert body["action"] == "clear-cache" and body["status"] == "started"
        run = wait_run(f, body["run_id"])
        assert run["count"]["succeeded"] == 1, run
        assert [t["target"] for t in run["targets"]] == ["bravosite/live"]
        assert len(sim.requests("POST", r"/sites/tools/clear-cache")) == 1
        h = kh.wait_for(lambda: history(f), 10, what="the history line")
        assert h[-1]["job"] == "@clear-cache:bravosite"
        assert h[-1]["trigger"] == "api" and h[-1]["outcome"] == "succeeded"
        assert h[-1]["run_id"] == body["run_id"]

        # a failure is notified as a scheduled job's is
        sim.config(op_fail={"action": "restart-php", "env_id": BRAVO,
                            "message": "PHP would not come back"})
        st, _, body = post(f, {"action": "restart-php",
                               "environment_id": BRAVO, "retries": 0})
        assert st == 202, body
        run = wait_run(f, body["run_id"])
        assert run["count"]["failed"] == 1
        note = kh.wait_for(lambda: hook.posts, 30, what="the notification")
        assert "@restart-php:" + BRAVO in json.dumps(note[0][2])
        assert "PHP would not come back" in json.dumps(note[0][2])
        log = f.text()
        assert "trigger=api" in log
        # the job list is the file's: ad-hoc runs are not jobs
        st, _, jobs = f.request("GET", "/api/v1/jobs")
        assert [j["name"] for j in jobs["jobs"]] == ["nightly"]
    finally:
        f.stop()
        hook.stop()


@pytest.mark.parametrize("case", [
    "not json", "no action", "unknown action", "not allowed",
    "unknown key", "schedule", "no target", "bad type", "two targets",
    "float", "wrong method", "no token"])
def test_refused_actions_change_nothing(tmp_path, sim, case):
    f = Face(tmp_path, sim, [], listen_extra='allow_actions = '
             '["clear-cache", "backup"];')
    try:
        if case == "not json":
            st, _, b = post(f, "{nope")
            assert st == 400 and "not JSON" in b["error"]
        elif case == "no action":
            st, _, b = post(f, {"site": "bravosite"})
            assert st == 400 and '"action"' in b["error"]
        elif case == "unknown action":
            st, _, b = post(f, {"action": "clear-cach", "site": "bravosite"})
            assert st == 400
            assert b["error"].endswith("allowed here: clear-cache, backup")
        elif case == "not allowed":
            st, _, b = post(f, {"action": "restart-php", "site": "bravosite"})
            assert st == 403 and "allow_actions" in b["error"]
        elif case == "unknown key":
            st, _, b = post(f, {"action": "backup", "site": "bravosite",
                                "tagg": "x"})
            assert st == 400
            assert b["error"] == 'unknown key "tagg" (did you mean "tag"?)'
        elif case == "schedule":
            st, _, b = post(f, {"action": "backup", "site": "bravosite",
                                "schedule": "@daily"})
            assert st == 400 and "scheduled job" in b["error"]
        elif case == "no target":
            st, _, b = post(f, {"action": "backup"})
            assert st == 400 and "needs a target" in b["error"]
            assert "ad-hoc" not in b["error"] and "null" not in b["error"]
        elif case == "bad type":
            st, _, b = post(f, {"action": "backup", "site": "bravosite",
                                "keep": "three"})
            assert st == 400 and "keep" in b["error"]
        elif case == "two targets":
            st, _, b = post(f, {"action": "backup", "site": "bravosite",
                                "label": "client-a"})
            assert st == 400 and "two targets" in b["error"]
        elif case == "float":
            st, _, b = post(f, {"action": "backup", "site": "bravosite",
                                "keep": 2.5})
            assert st == 400 and '"keep"' in b["error"]
        elif case == "wrong method":
            st, hdr, b = f.request("GET", "/api/v1/actions")
            assert st == 405 and hdr["Allow"] == "POST"
        elif case == "no token":
            st, _, b = f.request("POST", "/api/v1/actions", token=None,
                                 body=json.dumps({"action": "backup",
                                                  "site": "bravosite"}))
            assert st == 401
        time.sleep(0.3)
        assert sim.requests() == []
        assert history(f) == []
    finally:
        f.stop()


def test_busy_environment_is_409(tmp_path, sim):
    sim.config(op_seconds_action={"manual-backup": 3})
    f = Face(tmp_path, sim, [])
    try:
        st, _, first = post(f, {"action": "backup", "site": "bravosite"})
        assert st == 202, first
        # at once (the run still reads the site list), and once it acts
        st, _, b = post(f, {"action": "clear-cache", "site": "bravosite"})
        assert st == 409, b
        assert "@backup:bravosite" in b["error"]
        kh.wait_for(lambda: sim.requests("POST", r"/manual-backups"), 10,
                    what="the backup's POST")
        st, _, b = post(f, {"action": "clear-cache",
                            "environment_id": BRAVO})
        assert st == 409 and "bravosite/live is busy" in b["error"], b
        assert "try again when it ends" in b["error"]
        # another environment is free
        st, _, b = post(f, {"action": "clear-cache", "site": "alphasite"})
        assert st == 202, b
        wait_run(f, first["run_id"])
        st, _, b = post(f, {"action": "clear-cache", "site": "bravosite"})
        assert st == 202, b
        wait_run(f, b["run_id"])
        assert len(sim.requests("POST", r"/sites/tools/clear-cache")) == 2
    finally:
        f.stop()


def test_spent_budget_is_429(tmp_path, sim):
    f = Face(tmp_path, sim, [])
    try:
        # Kinsta says 429 with Retry-After 20: the account pauses
        sim.fault("429", method="GET", path_regex=r"^/v2/sites$",
                  retry_after=20)
        st, _, b = post(f, {"action": "clear-cache", "site": "bravosite"})
        assert st == 202
        kh.wait_for(lambda: [r for r in sim.requests("GET", r"^/v2/sites$")
                             if r["status"] == 429], 10, what="the 429")
        st, hdr, b = post(f, {"action": "clear-cache", "site": "alphasite"})
        assert st == 429, b
        assert 1 <= int(hdr["Retry-After"]) <= 20
        assert "budget" in b["error"]
        time.sleep(0.3)
        assert sim.requests("POST") == []
    finally:
        f.stop()


def test_adhoc_backup_survives_a_restart(tmp_path, sim):
    sim.config(op_seconds_action={"manual-backup": 4})
    f = Face(tmp_path, sim, [])
    st, _, b = post(f, {"action": "backup", "site": "bravosite"})
    assert st == 202
    kh.wait_for(lambda: sim.requests("POST", r"/manual-backups"), 10,
                what="the backup's POST")
    time.sleep(0.5)
    f.stop()
    assert history(f) == []
    f2 = Face(tmp_path, sim, [])
    try:
        h = kh.wait_for(lambda: history(f2), 30, what="the resumed end")
        assert h[0]["job"] == "@backup:bravosite"
        assert h[0]["outcome"] == "succeeded", h
        assert h[0]["run_id"] == b["run_id"]
        assert "event=resume" in f2.text()
        assert len(sim.requests("POST", r"/manual-backups")) == 1
    finally:
        f2.stop()


def test_site_view(tmp_path, sim):
    sim.config(op_seconds_action={"manual-backup": 3})
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=kh.env_id("alphasite"))])
    try:
        st, _, b = post(f, {"action": "clear-cache", "site": "charliesite",
                            "environment": ["staging", "live"]})
        assert st == 202, b
        wait_run(f, b["run_id"])
        st, _, bk = post(f, {"action": "backup", "site": "charliesite"})
        assert st == 202
        kh.wait_for(lambda: sim.requests("POST", r"/manual-backups"), 10,
                    what="the backup's POST")
        st, _, s = f.request("GET", "/api/v1/sites/charliesite")
        assert st == 200, s
        assert s["site"] == "charliesite" and s["account"] == "acme"
        envs = {e["name"]: e for e in s["environments"]}
        assert set(envs) == {"staging", "live"}
        live = envs["live"]
        assert live["php"] and live["wordpress"]
        assert {p["name"] for p in live["plugin_updates"]} >= {
            "akismet", "classic-editor"}
        assert all(p["update_version"] for p in live["plugin_updates"])
        times = [x["created"] for x in live["latest_backups"]]
        assert times == sorted(times, reverse=True) and len(times) <= 5
        assert sorted(r["target"] for r in s["last_runs"]) == [
            "charliesite/live", "charliesite/staging"]
        assert {r["run_id"] for r in s["last_runs"]} == {b["run_id"]}
        assert [x["action"] for x in s["in_flight"]] == ["backup"]
        assert s["in_flight"][0]["run_id"] == bk["run_id"]
        # GETs only, and no usage: 1 site list + 3 per environment
        gets = [r["api_path"] for r in sim.requests("GET")
                if "/operations/" not in r["api_path"]]
        assert not any("analytics" in p for p in gets)
        # a lookup is no run of anyone's: no history line, no log line
        wait_run(f, bk["run_id"])
        assert [h["job"] for h in history(f)] == [
            "@clear-cache:charliesite", "@clear-cache:charliesite",
            "@backup:charliesite"]
        st, _, e = f.request("GET", "/api/v1/sites/nosuch")
        assert st == 404 and "nosuch" in e["error"]
        st, _, e = f.request("GET", "/api/v1/sites/charliesite?account=x")
        assert st == 400 and 'no account "x"' in e["error"]
        assert "site-status" not in f.text()
    finally:
        f.stop()


def test_slow_lookup_blocks_nothing(tmp_path, sim):
    """A lookup waiting for Kinsta leaves the loop free: the job list and
    other requests answer at once, and the lookup answers when Kinsta
    does."""
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=BRAVO)])
    try:
        sim.fault("hang", method="GET", path_regex=r"^/v2/sites$",
                  seconds=3)
        out = {}

        def lookup():
            t = time.monotonic()
            out["answer"] = f.request("GET", "/api/v1/sites/bravosite")
            out["took"] = time.monotonic() - t
        th = threading.Thread(target=lookup)
        th.start()
        kh.wait_for(lambda: sim.requests("GET", r"^/v2/sites$"), 10,
                    what="the lookup's request")
        t = time.monotonic()
        for _ in range(20):
            st, _, _ = f.request("GET", "/api/v1/jobs")
            assert st == 200
        assert time.monotonic() - t < 2.0
        # a lookup is nobody's run: not among the runs in flight
        st, _, page = f.request("GET", "/")
        assert st == 200 and 'id="inflight">none' in page, page
        th.join(30)
        assert out["answer"][0] == 200, out
        assert out["took"] >= 2.0
    finally:
        f.stop()
