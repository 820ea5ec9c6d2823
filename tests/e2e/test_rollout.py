"""End-to-end tests of rollouts (kinsta-cron.conf(5): rollout, environment
lists, window) and of the dry run's plan (kinsta-cron(8)), with the real
binary against the simulator.

The order is read from the simulator's request log: each environment's
first and last request (its plugin list, its update, and the polls of
that update, which name the operation, not the environment).  An update
fails through the simulator's own failure rule (op_fail): the operation
ends failed for one environment.  The window that closes mid-rollout is a
real window in a time zone of our own (zic, TZDIR) whose offset puts the
job's wall clock a few seconds before the window's end.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

OP_SECONDS = 0.3
ALPHA = kh.env_id("alphasite")
ALPHA_STG = kh.env_id("alphasite", "staging")
BRAVO = kh.env_id("bravosite")
CHARLIE = kh.env_id("charliesite")
CHARLIE_STG = kh.env_id("charliesite", "staging")
DELTA = kh.env_id("deltasite")
ECHO = kh.env_id("echosite")
# Acme's live environments by site name: the order of a label/all_sites
# rollout
LIVE = [ALPHA, BRAVO, CHARLIE, DELTA, ECHO]


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path):
    """(sim, run): the simulator back at its seed; run(name, *args,
    jobs=[...], env=...) writes the configuration and runs job `name`."""
    sim.reset(op_seconds=OP_SECONDS)

    def run(name, *args, jobs, **kw):
        conf = kh.write_config(tmp_path, jobs, sim.url,
                               extra=kw.pop("extra", ""))
        return kh.run_job(conf, name, *args, **kw)
    return sim, run


def rollout(canary, batch, halt_after):
    """A rollout group as libconfig text."""
    return ("rollout = { canary = %d; batch = %d; halt_after = %d; };"
            % (canary, batch, halt_after))


def upd(name, extra="", **keys):
    """An update-plugins job over all of Acme's sites, with extra text."""
    j = kh.job(name, "update-plugins", all_sites=True, **keys)
    return j[:-1] + extra + " }"


def spans(sim):
    """{env id: (first request time, last request time)}, the polls of an
    environment's operations counted as its own."""
    owner = {o["id"]: o["env_ids"][0] for o in sim.operations()
             if o.get("env_ids")}
    out = {}
    for r in sim.requests():
        p = r["api_path"]
        e = None
        if p.startswith("/operations/"):
            e = owner.get(p.rsplit("/", 1)[1])
        elif "/environments/" in p:
            e = p.split("/environments/")[1].split("/")[0]
        if e is None:
            continue
        a, b = out.get(e, (r["time"], r["time"]))
        out[e] = (min(a, r["time"]), max(b, r["time"]))
    return out


def changed(sim):
    """Environments that were sent a change (PUT/POST with one)."""
    return {r["api_path"].split("/environments/")[1].split("/")[0]
            for r in sim.requests() if r["method"] != "GET"
            and "/environments/" in r["api_path"]}


def assert_waves(sp, waves):
    """Each wave's environments all start after every request of the
    waves before them; inside a wave they overlap (started together)."""
    for i in range(1, len(waves)):
        before = max(sp[e][1] for w in waves[:i] for e in w)
        first = min(sp[e][0] for e in waves[i])
        assert first > before, (i, waves)
    for w in waves:
        # started together: within a second, where an update takes 2 s
        # at least (its operation is first polled after 2 s)
        assert max(sp[e][0] for e in w) - min(sp[e][0] for e in w) < 1.0, w


def test_canary_then_batches_in_order(env):
    """canary = 1, batch = 2 over five sites: alphasite alone, then
    bravosite and charliesite together, then deltasite and echosite."""
    sim, run = env
    r = run("up", jobs=[upd("up", rollout(1, 2, 1))])
    assert r.returncode == 0, r
    by = r.by_target()
    assert len(by) == 5, r
    assert by["deltasite/live"]["outcome"] == "skipped"  # nothing to do
    assert all(by[s + "/live"]["outcome"] == "succeeded"
               for s in ("alphasite", "bravosite", "charliesite",
                         "echosite")), r
    sp = spans(sim)
    assert_waves(sp, [[ALPHA], [BRAVO, CHARLIE], [DELTA, ECHO]])
    # the outcome lines come in the same order
    order = [o["target"] for o in r.outcomes]
    assert order[0] == "alphasite/live"
    assert set(order[1:3]) == {"bravosite/live", "charliesite/live"}


def test_halt_after_skips_the_rest(env):
    """bravosite's update fails in the first batch: charliesite (same
    batch) ends as it would, the untouched ones end skipped with the
    message, and nothing is sent to them."""
    sim, run = env
    sim.config(op_fail={"action": "bulk-update-plugins", "env_id": BRAVO,
                        "message": "Plugin update failed on bravo"})
    r = run("up", jobs=[upd("up", rollout(1, 2, 1))])
    assert r.returncode == 1, r
    by = r.by_target()
    assert by["alphasite/live"]["outcome"] == "succeeded"
    assert by["bravosite/live"]["outcome"] == "failed"
    assert by["charliesite/live"]["outcome"] == "succeeded"
    for s in ("deltasite", "echosite"):
        assert by[s + "/live"]["outcome"] == "skipped", r
        assert by[s + "/live"]["message"] == (
            "rollout halted after bravosite: Plugin update failed on "
            "bravo"), r
    assert not {DELTA, ECHO} & set(spans(sim)), "a halted target was read"
    # (halt_after = 2 and more: tests/unit/test_rollout.c)


def test_canary_failure_halts_before_any_batch(env):
    """The canary fails: no other environment is touched."""
    sim, run = env
    sim.config(op_fail={"action": "bulk-update-plugins", "env_id": ALPHA,
                        "message": "broken canary"})
    r = run("up", jobs=[upd("up", rollout(1, 10, 1))])
    assert r.returncode == 1, r
    by = r.by_target()
    assert by["alphasite/live"]["outcome"] == "failed"
    skipped = [o for o in r.outcomes if o["outcome"] == "skipped"]
    assert len(skipped) == 4, r
    assert all(o["message"] == "rollout halted after alphasite: broken "
               "canary" for o in skipped), r
    assert changed(sim) == {ALPHA}
    assert set(spans(sim)) == {ALPHA}


def test_staging_before_live(env):
    """environment = ["staging", "live"]: both stagings first; charlie's
    staging fails, so charlie's live ends skipped and the other lives
    are updated (no rollout group: never halted)."""
    sim, run = env
    sim.config(op_fail={"action": "bulk-update-plugins",
                        "env_id": CHARLIE_STG,
                        "message": "staging update failed"})
    r = run("up", jobs=[upd("up", ' environment = ["staging", "live"];')])
    assert r.returncode == 1, r
    by = r.by_target()
    assert len(by) == 7, r
    assert by["alphasite/staging"]["outcome"] == "succeeded"
    assert by["charliesite/staging"]["outcome"] == "failed"
    assert by["charliesite/live"]["outcome"] == "skipped"
    assert by["charliesite/live"]["message"] == (
        "staging failed: staging update failed")
    for s in ("alphasite", "bravosite", "echosite"):
        assert by[s + "/live"]["outcome"] == "succeeded", r
    sp = spans(sim)
    assert CHARLIE not in sp
    assert_waves(sp, [[ALPHA_STG, CHARLIE_STG], [ALPHA, BRAVO, DELTA, ECHO]])

    # (with a rollout, each name's own canary: tests/unit/test_rollout.c)


def fake_zone(folder, offset):
    """A TZDIR with UTC and Test/Shift, a zone offset seconds ahead of
    UTC (zic); returns the folder."""
    src = os.path.join(folder, "zones")
    with open(src, "w") as f:
        f.write("Zone Test/Shift %s%d:%02d:%02d - SHIFT\nZone UTC 0 - UTC\n"
                % ("-" if offset < 0 else "", abs(offset) // 3600,
                   abs(offset) // 60 % 60, abs(offset) % 60))
    db = os.path.join(folder, "zoneinfo")
    subprocess.run([shutil.which("zic") or "/usr/sbin/zic", "-d", db, src],
                   check=True)
    return db


@pytest.mark.skipif(not (shutil.which("zic") or os.path.exists(
    "/usr/sbin/zic")), reason="zic (libc-bin) is not installed")
def test_window_closes_mid_rollout(env, tmp_path):
    """The window closes about 4 s after the run starts: the canary
    (about 2 s: its update's operation is first polled after 2 s) and the
    first batch start inside it, the last batch would start at about 6 s
    (operations of 2.5 s, polled at 2 and 4 s) and ends skipped, "window
    closed", without a request."""
    sim, run = env
    sim.config(op_seconds_env={BRAVO: 2.5, CHARLIE: 2.5})
    # a zone whose wall clock reads hh:mm:56 now: the window ends at the
    # next minute, 4 s from now
    now = time.time()
    offset = int(round(56 - now % 60)) % 60
    local_min = int((now + offset) // 60)
    hhmm = lambda m: "%02d:%02d" % (m // 60 % 24, m % 60)
    window = "%s-%s" % (hhmm(local_min - 10), hhmm(local_min + 1))
    db = fake_zone(str(tmp_path), offset)
    r = run("up", jobs=[upd("up", rollout(1, 2, 1), timezone="Test/Shift",
                            window=window)],
            env={"TZDIR": db})
    assert r.returncode == 0, r
    by = r.by_target()
    assert all(by[s + "/live"]["outcome"] == "succeeded"
               for s in ("alphasite", "bravosite", "charliesite")), r
    for s in ("deltasite", "echosite"):
        assert by[s + "/live"]["outcome"] == "skipped", r
        assert by[s + "/live"]["message"] == "window closed", r
    assert not {DELTA, ECHO} & set(spans(sim))


def test_dry_run_plan(env):
    """--dry-run: the rollout's order and waves, then per environment
    what would be updated from which version to which and what the
    policy holds; nothing that changes anything is sent."""
    sim, run = env
    jobs = [kh.job("shop", "update-plugins", label="woocommerce",
                   policy="patch")[:-1] + rollout(1, 10, 1) + " }"]
    r = run("shop", "--dry-run", jobs=jobs)
    assert r.returncode == 0, r
    plan = [kh.parse_kv(l) for l in r.stdout.splitlines()
            if l.startswith("plan ")]
    waves = [(p["wave"], p.get("canary"), p["target"]) for p in plan
             if "wave" in p]
    assert waves == [("1", "yes", "bravosite/live"),
                     ("2", None, "deltasite/live")], r.stdout
    items = [(p["target"], p["item"], p["from"], p["to"], p["verdict"],
              p.get("policy")) for p in plan if "item" in p]
    assert items == [
        ("bravosite/live", "akismet", "5.3", "5.3.1", "update", None),
        ("bravosite/live", "classic-editor", "1.6.3", "1.6.4", "update",
         None),
        ("bravosite/live", "woocommerce", "8.5.1", "8.6.0", "held",
         "patch")], r.stdout
    assert all(p["env"] == BRAVO for p in plan if "item" in p)
    assert {c[0] for c in sim.calls()} == {"GET"}
    assert sim.operations() == []
    # the wave lines come before anything is read
    lines = r.stdout.splitlines()
    assert lines[0].startswith("plan job=shop wave=1 ")


def test_catch_up_outside_the_window_starts_nothing(env, tmp_path):
    """The daemon was down over a slot of a catch_up = once rollout whose
    window is closed now: the catch-up fires, and every environment ends
    skipped, "window closed", with nothing sent but the site list."""
    sim, _ = env
    now = time.gmtime()
    minute = now.tm_hour * 60 + now.tm_min
    hhmm = lambda m: "%02d:%02d" % (m // 60 % 24, m % 60)
    closed = "%s-%s" % (hhmm(minute + 120), hhmm(minute + 180))
    conf = kh.write_config(tmp_path, [upd(
        "late", rollout(1, 2, 1), schedule="0 0 * * * *", timezone="UTC",
        catch_up="once", window=closed)], sim.url)
    back = int(time.time()) - 7200
    back -= back % 3600
    (tmp_path / "state" / "state.json").write_text(
        '{"version": 1, "last": [{"job": "late", "fired": %d}]}' % back)
    e = {k: v for k, v in os.environ.items()
         if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY",
                      "NOTIFY_SOCKET")}
    err = tmp_path / "daemon.err"
    with open(err, "wb") as fe:
        p = subprocess.Popen([kh.BIN, "-c", str(conf), "daemon",
                              "--log-stderr"], stdout=subprocess.DEVNULL,
                             stderr=fe, env=e)
    try:
        lines = kh.wait_for(
            lambda: [kh.parse_kv(l) for l in err.read_text().splitlines()
                     if "job=late" in l and " outcome=" in l
                     and " env=" in l and " target=" in l][:5]
            if err.read_text().count(" outcome=") >= 5 else None,
            timeout=30, what="five outcome lines")
    finally:
        p.terminate()
        p.wait(timeout=10)
    text = err.read_text()
    assert kh.KEY not in text
    assert "catch_up=once" in text, text
    assert all(l["outcome"] == "skipped" and l["message"] == "window closed"
               for l in lines), text
    assert [c[0] for c in sim.calls()] == ["GET"]  # the site list only


def test_stop_mid_rollout_tells_the_rest(tmp_path):
    """SIGTERM between two waves: the environment being restarted is
    followed again after the restart; those whose turn had not come are
    in the history as skipped, with what to do, not lost without a word."""
    from test_httpface import Face, history
    with kh.Sim(op_seconds=1.5) as sim:
        job = kh.job("fleet", "restart-php", all_sites=True) \
            .replace(" }", " %s }" % rollout(1, 1, 0))
        f = Face(tmp_path, sim, [job])
        st, _, b = f.request("POST", "/api/v1/jobs/fleet/trigger")
        assert st == 202, b
        kh.wait_for(lambda: len(sim.requests(
            "POST", r"/sites/tools/restart-php")) == 2, 30,
            what="the second wave")
        log = f.stop()
        h = history(f)
        done = [x for x in h if x["outcome"] == "succeeded"]
        cut = [x for x in h if x["outcome"] == "skipped"]
        assert len(done) == 1 and len(cut) == 3, h
        assert all("trigger the job to finish it" in x["message"]
                   for x in cut)
        assert {x["run_id"] for x in h} == {b["run_id"]}
        assert all(x["trigger"] == "manual" for x in h)
        assert log.count("event=rollout-cut") == 3
        # the one in flight is followed to its end after the restart
        f2 = Face(tmp_path, sim, [job])
        try:
            kh.wait_for(lambda: len(history(f2)) == 5, 30,
                        what="the resumed environment's end")
            assert [x["outcome"] for x in history(f2)][-1] == "succeeded"
            assert len(sim.requests("POST",
                                    r"/sites/tools/restart-php")) == 2
        finally:
            f2.stop()
