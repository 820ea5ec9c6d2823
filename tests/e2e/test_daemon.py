"""End-to-end tests of `kinsta-cron daemon`: the real binary against the
Kinsta API simulator (tests/sim/kinsta_sim, in this process), with
six-field schedules so that jobs fire every few seconds.

What is proved here: fires on a seconds schedule, operations followed to
every outcome (log and history.jsonl), overlap skip and queue, one action
at a time per environment, catch-up after downtime, kill -9 and SIGTERM with
operations in flight (resumed at the next start, no slot fired twice),
SIGHUP with a good and a broken configuration, sd_notify (READY, RELOADING,
WATCHDOG, STOPPING) on a fake NOTIFY_SOCKET, a corrupt state.json moved
aside, and the API key never written anywhere.

Every test also runs under ASan+UBSan in CI: deadlines are generous upper
bounds (polling, never bare sleeps), and a clean exit must report no leak.
"""
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

BIN = os.environ.get("KCRON_BIN", "kinsta-cron")
SRC = Path(os.environ.get("KCRON_SOURCE_DIR",
                          Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(SRC / "tests" / "sim"))

import kinsta_sim  # noqa: E402

KEY = "kc-daemon-e2e-SECRET-7d41c0a9e2"
ACME = kinsta_sim.ACME_COMPANY
ALPHA_LIVE = "a1111111-1111-4111-8111-111111111111"
ALPHA_STAGING = "a1111111-1111-4111-8111-111111111112"
BRAVO_LIVE = "a2222222-2222-4222-8222-222222222222"
CHARLIE_LIVE = "a3333333-3333-4333-8333-333333333333"
CHARLIE_STAGING = "a3333333-3333-4333-8333-333333333331"
DELTA_LIVE = "a4444444-4444-4444-8444-444444444444"
ECHO_LIVE = "a5555555-5555-4555-8555-555555555555"

LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
                     r"(emerg|alert|crit|err|warning|notice|info|debug) (.*)$")
KV_RE = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def iso_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r"\\(.)", r"\1", v[1:-1])
    return v


class Line:
    def __init__(self, raw):
        m = LINE_RE.match(raw)
        self.raw = raw
        self.ok = m is not None
        if not m:
            self.time, self.level, self.text, self.kv = 0.0, "", raw, {}
            return
        self.time = iso_ts(m.group(1))
        self.level = m.group(2)
        self.text = m.group(3)
        self.kv = {k: unquote(v) for k, v in KV_RE.findall(self.text)}

    def get(self, k, default=None):
        return self.kv.get(k, default)

    @property
    def slot(self):
        return iso_ts(self.kv["slot"])

    def __repr__(self):
        return self.raw


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns something truthy; fail after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Sim:
    """The simulator in this process, driven through its /_sim/ API."""

    def __init__(self, **cfg):
        cfg.setdefault("op_seconds", 0.5)
        self.sim = kinsta_sim.Simulator(keys=[f"{KEY}={ACME}"], **cfg).start()
        self.url = self.sim.base_url
        self.root = self.sim.root_url

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def config(self, **kw):
        return self.call("POST", "/_sim/config", kw)

    def requests(self, method=None, path_regex=None):
        q = []
        if method:
            q.append("method=" + method)
        if path_regex:
            q.append("path_regex=" + urllib.request.quote(path_regex))
        return self.call("GET", "/_sim/requests" + ("?" + "&".join(q) if q else ""))

    def posts(self, path_regex, env_id=None):
        """POST/PUT requests on path_regex (for env_id, by body)."""
        out = []
        for r in self.requests(path_regex=path_regex):
            if r["method"] not in ("POST", "PUT"):
                continue
            body = r.get("body") if isinstance(r.get("body"), dict) else {}
            if env_id is None or body.get("environment_id") == env_id:
                out.append(r)
        return out

    def stats(self):
        return self.call("GET", "/_sim/stats")

    def operations(self):
        return self.call("GET", "/_sim/operations")

    def stop(self):
        self.sim.stop()


def render_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(render_value(x) for x in v) + "]"
    return json.dumps(v)


def render_config(sim_url, state_dir, key_file, jobs, extra=""):
    """A configuration, one setting per line (line numbers are findable)."""
    out = [
        f'api = {{ url = "{sim_url}"; timeout = 10; }};',
        f'state_dir = "{state_dir}";',
        'timezone = "UTC";',
        "accounts = (",
        f'  {{ name = "acme"; company = "{ACME}"; key_file = "{key_file}"; }}',
        ");",
        "jobs = (",
    ]
    for i, job in enumerate(jobs):
        out.append("  {")
        for k, v in job.items():
            out.append(f"    {k} = {render_value(v)};")
        out.append("  }" + ("," if i + 1 < len(jobs) else ""))
    out.append(");")
    if extra:
        out.append(extra)
    return "\n".join(out) + "\n"


def job(name, schedule, action="clear-cache", env=None, **kw):
    j = {"name": name, "schedule": schedule, "action": action}
    if env is not None:
        j["environment_id"] = env
    j.update(kw)
    return j


class Daemon:
    """One `kinsta-cron daemon --log-stderr` process at a time, on a
    configuration and state folder that outlive restarts."""

    def __init__(self, root, sim, jobs):
        self.root = Path(root)
        self.sim = sim
        self.conf = self.root / "kinsta-cron.conf"
        self.state_dir = self.root / "state"
        self.key_file = self.root / "acme.key"
        self.key_file.write_text(KEY + "\n")
        os.chmod(self.key_file, 0o600)
        self.write_config(jobs)
        self.proc = None
        self.runs = []  # (stderr path, stdout path) of every start
        self.exits = []

    def write_config(self, jobs, extra=""):
        text = render_config(self.sim.url, self.state_dir, self.key_file,
                             jobs, extra)
        tmp = self.conf.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.conf)
        return text

    def start(self, env=None, argv_prefix=None, wait_start=True):
        assert self.proc is None or self.proc.poll() is not None
        n = len(self.runs)
        err = self.root / f"daemon{n}.err"
        out = self.root / f"daemon{n}.out"
        self.runs.append((err, out))
        e = {k: v for k, v in os.environ.items()
             if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY",
                          "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        e.update(env or {})
        argv = (argv_prefix or []) + [BIN, "-c", str(self.conf), "daemon",
                                      "--log-stderr"]
        with open(err, "wb") as fe, open(out, "wb") as fo:
            self.proc = subprocess.Popen(argv, stdout=fo, stderr=fe, env=e,
                                         cwd=str(self.root))
        self.started = time.time()
        if wait_start:
            self.wait_line(lambda l: l.get("event") == "start", 30,
                           "event=start")
        return self

    # ---- the log --------------------------------------------------------

    def text(self, run=-1):
        return self.runs[run][0].read_text(errors="replace")

    def lines(self, run=-1):
        return [Line(s) for s in self.text(run).splitlines()]

    def all_lines(self):
        return [l for i in range(len(self.runs)) for l in self.lines(i)]

    def find(self, pred, run=-1):
        return [l for l in self.lines(run) if l.ok and pred(l)]

    def wait_line(self, pred, timeout, what, count=1, run=-1):
        def check():
            if self.proc.poll() is not None and run == -1:
                found = self.find(pred, run)
                if len(found) >= count:
                    return found
                pytest.fail(f"daemon exited ({self.proc.returncode}) "
                            f"while waiting for {what}:\n{self.text(run)}")
            found = self.find(pred, run)
            return found if len(found) >= count else None
        return wait_until(check, timeout, f"{what}; log so far:\n"
                          + self.text(run))

    def fires(self, name, run=-1):
        return self.find(lambda l: l.get("job") == name and
                         l.get("event") == "fire", run)

    def outcomes(self, name, run=-1):
        return self.find(lambda l: l.get("job") == name and
                         "outcome" in l.kv and "env" in l.kv, run)

    # ---- state files ----------------------------------------------------

    def state(self):
        try:
            return json.loads((self.state_dir / "state.json").read_text())
        except (OSError, ValueError):
            return None

    def history(self):
        p = self.state_dir / "history.jsonl"
        if not p.exists():
            return []
        return [json.loads(s) for s in p.read_text().splitlines() if s]

    def state_ops(self, name=None):
        st = self.state() or {}
        return [o for o in st.get("ops", []) if name in (None, o["job"])]

    # ---- signals --------------------------------------------------------

    def signal(self, sig):
        self.proc.send_signal(sig)

    def term(self, timeout=15):
        """SIGTERM; returns (exit code, seconds to exit)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"daemon did not exit {timeout} s after SIGTERM:\n"
                        + self.text())
        took = time.monotonic() - t0
        self.exits.append(rc)
        return rc, took

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.exits.append(self.proc.returncode)

    def assert_clean_exit(self, run=-1):
        text = self.text(run)
        assert "LeakSanitizer" not in text, text
        assert "runtime error:" not in text, text  # UBSan
        assert "AddressSanitizer" not in text, text
        lines = [l for l in self.lines(run)]
        assert lines and lines[-1].get("event") == "exit", text

    def assert_no_key(self):
        for err, out in self.runs:
            for p in (err, out):
                assert KEY not in p.read_text(errors="replace"), p
        if self.state_dir.exists():
            for p in self.state_dir.iterdir():
                if p.is_file():
                    assert KEY not in p.read_text(errors="replace"), p

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture
def make_daemon(tmp_path, sim):
    made = []

    def make(jobs, sub="d"):
        d = Daemon(tmp_path / sub if sub else tmp_path, sim, jobs)
        made.append(d)
        return d

    (tmp_path / "d").mkdir()
    yield make
    for d in made:
        d.cleanup()
    # the key never reaches a log line, stdout or a state file
    for d in made:
        d.assert_no_key()


def stop_clean(d):
    rc, took = d.term()
    assert rc == 0, d.text()
    d.assert_clean_exit()
    return took


def avoid_minute_edge(lo=4, hi=52):
    """Wait until the wall clock's second is in [lo, hi]."""
    wait_until(lambda: lo <= time.gmtime().tm_sec <= hi, 20,
               "a second away from a minute boundary")


# --------------------------------------------------------------------------
# firing and outcomes
# --------------------------------------------------------------------------

def test_fires_and_every_outcome(sim, make_daemon):
    """A */2-second job fires on even seconds, and the simulator gets its
    request right after the slot; operations end succeeded, failed (the
    API's message, err level) and timed-out, in the log and the history."""
    sim.config(op_fail={"action": "restart-php", "env_id": BRAVO_LIVE,
                        "message": "PHP workers are on fire"},
               op_seconds_env={CHARLIE_LIVE: 60})
    d = make_daemon([
        job("tick", "*/2 * * * * *", "request", method="GET",
            path="/validate"),
        job("ok", "*/3 * * * * *", "clear-cache", ALPHA_LIVE),
        job("bad", "*/3 * * * * *", "restart-php", BRAVO_LIVE),
        job("slow", "*/3 * * * * *", "clear-cache", CHARLIE_LIVE,
            timeout=1),
    ]).start()
    for name in ("ok", "bad", "slow"):
        d.wait_line(lambda l, n=name: l.get("job") == n and
                    "outcome" in l.kv and "env" in l.kv, 30,
                    f"an outcome of job {name}")
    d.wait_line(lambda l: l.get("job") == "tick" and l.get("event") == "fire",
                30, "4 fires of tick", count=4)
    stop_clean(d)

    # seconds schedule: every slot even, one fire each, on time
    fires = d.fires("tick")
    slots = [f.slot for f in fires]
    assert len(slots) == len(set(slots)), fires
    assert all(int(s) % 2 == 0 for s in slots), fires
    assert all(0 <= f.time - f.slot < 1.5 for f in fires), fires
    # no even second skipped between the first and the last fire
    assert slots == [slots[0] + 2 * i for i in range(len(slots))], fires
    reqs = [r for r in sim.requests(method="GET", path_regex="/validate$")]
    assert len(reqs) == len(slots), (reqs, fires)
    for slot, r in zip(slots, reqs):
        assert 0 <= r["time"] - slot < 2.0, (slot, r["time"])
        assert r["auth_ok"]
    tick = d.outcomes("tick")
    assert tick and all(o.get("outcome") == "succeeded" for o in tick)

    # the outcomes, in the log
    ok = d.outcomes("ok")[0]
    assert ok.get("outcome") == "succeeded" and ok.level == "info", ok
    assert ok.get("env") == ALPHA_LIVE and ok.get("op").startswith("cache:clear-")
    bad = d.outcomes("bad")[0]
    assert bad.get("outcome") == "failed" and bad.level == "err", bad
    assert bad.get("message") == "PHP workers are on fire", bad
    assert bad.get("op").startswith("php:restart-"), bad
    slow = d.outcomes("slow")[0]
    assert slow.get("outcome") == "timed-out" and slow.level == "err", slow
    assert "1 s" in slow.get("message", ""), slow
    for o in (ok, bad, slow):
        assert int(o.get("duration_ms")) >= 0

    # ... and in history.jsonl, one line per finished run
    hist = d.history()
    by_op = {h["op_id"]: h for h in hist if h["op_id"]}
    for line, outcome in ((ok, "succeeded"), (bad, "failed"),
                          (slow, "timed-out")):
        h = by_op[line.get("op")]
        assert h["outcome"] == outcome, h
        assert h["job"] == line.get("job") and h["env_id"] == line.get("env")
        assert h["end_ms"] >= h["start_ms"]
        assert h["duration_ms"] == h["end_ms"] - h["start_ms"]
    assert by_op[bad.get("op")]["message"] == "PHP workers are on fire"
    assert by_op[ok.get("op")]["action"] == "clear-cache"
    # the simulator agrees
    ops = {o["id"]: o for o in sim.operations()}
    assert ops[ok.get("op")]["state"] == "succeeded"
    assert ops[bad.get("op")]["state"] == "failed"
    assert ops[slow.get("op")]["state"] == "running"
    n_hist = len([h for h in hist if h["job"] in ("ok", "bad", "slow", "tick")])
    n_log = sum(len(d.outcomes(n)) for n in ("ok", "bad", "slow", "tick"))
    assert n_hist == n_log


# --------------------------------------------------------------------------
# overlap and one action per environment
# --------------------------------------------------------------------------

def test_overlap_skip_queue_and_env_exclusive(sim, make_daemon):
    """skip: a run still going makes the next slots skipped, never a second
    POST; queue: the waiting run goes when the first ends; two jobs on one
    environment firing together never meet Kinsta's environment lock."""
    sim.config(op_seconds_env={ECHO_LIVE: 3.5, DELTA_LIVE: 3.5})
    d = make_daemon([
        job("skipper", "* * * * * *", "clear-cache", ECHO_LIVE),
        job("queuer", "*/2 * * * * *", "clear-cache", DELTA_LIVE,
            overlap="queue"),
        job("pair-a", "*/2 * * * * *", "clear-cache", ALPHA_STAGING),
        job("pair-b", "*/2 * * * * *", "restart-php", ALPHA_STAGING),
    ]).start()
    d.wait_line(lambda l: l.get("job") == "skipper" and "env" in l.kv and
                "outcome" in l.kv, 30, "skipper's first run to end")
    d.wait_line(lambda l: l.get("job") == "queuer" and "env" in l.kv and
                "outcome" in l.kv, 30, "queuer's two runs", count=2)
    d.wait_line(lambda l: l.get("job") == "pair-b" and "env" in l.kv and
                "outcome" in l.kv, 30, "pair-b's first run to end")
    d.wait_line(lambda l: l.get("job") == "pair-a" and "env" in l.kv and
                "outcome" in l.kv, 30, "pair-a's first run to end")
    stop_clean(d)

    # skip
    skipped = d.find(lambda l: l.get("job") == "skipper" and
                     l.get("outcome") == "skipped")
    assert len(skipped) >= 2, d.text()
    assert all(l.get("reason") == "previous run still active" and
               l.level == "notice" for l in skipped)
    fires = d.fires("skipper")
    posts = sim.posts("clear-cache", ECHO_LIVE)
    assert len(posts) == len(fires), (posts, fires)
    assert all(b["time"] - a["time"] > 3.0 for a, b in zip(posts, posts[1:]))
    echo = sorted((o for o in sim.operations() if ECHO_LIVE in o["env_ids"]),
                  key=lambda o: o["created"])
    assert len(echo) == len(fires) >= 2
    for x, y in zip(echo, echo[1:]):
        assert x["finished"] is not None and x["finished"] <= y["created"]
    # no slot both fired and skipped, none twice
    slots = [l.slot for l in fires] + [l.slot for l in skipped]
    assert len(slots) == len(set(slots)), d.text()
    # every skip falls while a run was going: after a fire, before its end
    ends = [l.time for l in d.outcomes("skipper")]
    for s in skipped:
        started = [f.time for f in fires if f.time <= s.time]
        assert started, s
        assert not any(started[-1] <= e < s.time for e in ends), s

    # queue: the second run waits and starts when the first ends
    queued = d.find(lambda l: l.get("job") == "queuer" and
                    l.get("event") == "queued")
    assert queued and queued[0].get("reason") == "previous run still active"
    qfires = d.fires("queuer")
    qends = d.outcomes("queuer")
    assert len(qfires) >= 2 and qends[0].get("outcome") == "succeeded"
    assert 0 <= qfires[1].time - qends[0].time < 0.5, d.text()
    # slots that come while a run already waits are folded into it, and
    # said so: never "previous run still active" for a queue job
    assert all(l.get("reason") == "a run is already queued"
               for l in d.find(lambda l: l.get("job") == "queuer" and
                               l.get("outcome") == "skipped"))
    # a run that waits for the environment says which job holds it
    waits = d.find(lambda l: l.get("event") == "waiting" and
                   l.get("env") == ALPHA_STAGING)
    assert waits, d.text()
    for w in waits:
        assert w.level == "notice"
        assert {w.get("job"), w.get("holder")} == {"pair-a", "pair-b"}, w
        assert w.get("reason") == (
            f"job {w.get('holder')} is acting on this environment; Kinsta "
            "runs one operation at a time per environment"), w
    qposts = sim.posts("clear-cache", DELTA_LIVE)
    assert len(qposts) == len(qfires)
    # a queued run reports the slot it was queued for, fired once
    qslots = [f.slot for f in qfires]
    assert len(qslots) == len(set(qslots)), d.text()
    assert qslots[1] == queued[0].slot, d.text()

    # one action at a time on ALPHA_STAGING: both ran, no busy rejection
    assert sim.stats()["busy_rejections"] == 0
    a = d.outcomes("pair-a")
    b = d.outcomes("pair-b")
    assert a[0].get("outcome") == "succeeded", a
    assert b[0].get("outcome") == "succeeded", b
    ops = sorted((o for o in sim.operations()
                  if ALPHA_STAGING in o["env_ids"]), key=lambda o: o["created"])
    assert len(ops) >= 2
    for x, y in zip(ops, ops[1:]):
        assert x["finished"] is not None and x["finished"] <= y["created"], ops
    assert {o["action"] for o in ops} >= {"clear-cache", "restart-php"}, ops


# --------------------------------------------------------------------------
# restarts
# --------------------------------------------------------------------------

def test_catch_up_once_after_downtime(sim, make_daemon):
    """Down for 10 minutes: catch_up = once fires one run at start (the
    latest missed slot, catch_up=once in the log); catch_up = none waits
    for its next slot."""
    avoid_minute_edge()
    jobs = [job("once", "0 * * * * *", "clear-cache", ALPHA_LIVE,
                catch_up="once"),
            job("never", "0 * * * * *", "clear-cache", BRAVO_LIVE)]
    d = make_daemon(jobs).start()
    stop_clean(d)
    assert not d.fires("once") and not d.fires("never")

    st = d.state()
    assert st is not None and st["version"] == 1
    back = int(time.time()) - 600
    back -= back % 60
    st["last"] = [{"job": "once", "fired": back},
                  {"job": "never", "fired": back}]
    (d.state_dir / "state.json").write_text(json.dumps(st))

    avoid_minute_edge()
    d.start()
    start = d.find(lambda l: l.get("event") == "start")[0]
    f = d.wait_line(lambda l: l.get("job") == "once" and
                    l.get("event") == "fire", 20, "the catch-up run")[0]
    assert f.get("catch_up") == "once", f
    assert f.time - start.time < 2.0, f
    latest = int(start.time) - int(start.time) % 60
    assert f.slot == latest, (f, latest)
    d.wait_line(lambda l: l.get("job") == "once" and "outcome" in l.kv and
                "env" in l.kv, 20, "the catch-up run's end")
    stop_clean(d)

    assert len(d.fires("once")) == 1
    assert not d.fires("never"), d.text()
    assert len(sim.posts("clear-cache", ALPHA_LIVE)) == 1
    assert sim.posts("clear-cache", BRAVO_LIVE) == []
    last = {e["job"]: e["fired"] for e in d.state()["last"]}
    assert last["once"] == latest
    assert last["never"] == back


def test_kill9_during_operation_resumes(sim, make_daemon):
    """kill -9 while an operation runs: the next start resumes it (polls it
    to its end, records it), and no slot of the job fires twice."""
    sim.config(op_seconds_env={ALPHA_LIVE: 4.0})
    d = make_daemon([job("long", "*/3 * * * * *", "clear-cache",
                         ALPHA_LIVE)]).start()
    ops = wait_until(lambda: d.state_ops("long"), 20,
                     "the operation in state.json")
    op_id = ops[0]["op_id"]
    assert ops[0]["target"]["env_id"] == ALPHA_LIVE
    d.kill9()
    assert d.exits[-1] == -signal.SIGKILL
    before = d.fires("long", run=0)
    assert len(before) == 1, d.text(0)

    t_restart = time.time()
    d.start()
    res = d.wait_line(lambda l: l.get("event") == "resume", 10,
                      "event=resume")[0]
    assert res.get("op") == op_id and res.get("job") == "long"
    assert res.get("env") == ALPHA_LIVE
    end = d.wait_line(lambda l: l.get("job") == "long" and
                      l.get("op") == op_id and "outcome" in l.kv, 30,
                      "the resumed operation's end")[0]
    assert end.get("outcome") == "succeeded", end
    # let the schedule go on for one more run after the resumed one
    d.wait_line(lambda l: l.get("job") == "long" and
                l.get("event") == "fire", 20, "a fire after the resume")
    stop_clean(d)

    polls = [r for r in sim.requests(method="GET", path_regex="/operations/")
             if r["path"].endswith(op_id)]
    assert any(r["time"] >= t_restart for r in polls), polls
    h = [h for h in d.history() if h["op_id"] == op_id]
    assert len(h) == 1 and h[0]["outcome"] == "succeeded", d.history()
    assert h[0]["start_ms"] == ops[0]["started_ms"]
    # no slot fired twice, one POST per fire
    fires = d.fires("long", 0) + d.fires("long", 1)
    slots = [f.slot for f in fires]
    assert len(slots) == len(set(slots)), (d.text(0), d.text(1))
    assert before[0].slot not in [f.slot for f in d.fires("long", 1)]
    assert len(sim.posts("clear-cache", ALPHA_LIVE)) == len(fires)
    # while the resumed run went on, the job's slots were skipped
    assert d.find(lambda l: l.get("job") == "long" and
                  l.get("outcome") == "skipped")
    assert op_id not in [o["op_id"] for o in d.state_ops()]


def test_sigterm_with_operation_in_flight(sim, make_daemon):
    """SIGTERM with an operation in flight: exit 0 within 5 s, state.json
    lists the operation, and the next start resumes it to its end."""
    sim.config(op_seconds_env={BRAVO_LIVE: 4.0})
    d = make_daemon([job("inflight", "*/2 * * * * *", "clear-cache",
                         BRAVO_LIVE)]).start()
    ops = wait_until(lambda: d.state_ops("inflight"), 20,
                     "the operation in state.json")
    op_id = ops[0]["op_id"]
    rc, took = d.term()
    assert rc == 0, d.text()
    assert took < 5.0, took
    d.assert_clean_exit()
    stop = d.find(lambda l: l.get("event") == "stop")[0]
    assert stop.get("signal") == "SIGTERM" and stop.get("in_flight") == "1"
    st = d.state()
    assert [o["op_id"] for o in st["ops"]] == [op_id], st
    assert {e["job"] for e in st["last"]} == {"inflight"}
    assert os.stat(d.state_dir / "state.json").st_mode & 0o777 == 0o600
    assert not d.outcomes("inflight")

    d.start()
    d.wait_line(lambda l: l.get("event") == "resume" and
                l.get("op") == op_id, 10, "event=resume")
    end = d.wait_line(lambda l: l.get("op") == op_id and "outcome" in l.kv,
                      30, "the resumed operation's end")[0]
    assert end.get("outcome") == "succeeded"
    wait_until(lambda: d.state_ops("inflight") == [] or
               all(o["op_id"] != op_id for o in d.state_ops()), 10,
               "the operation gone from state.json")
    stop_clean(d)
    assert [h["outcome"] for h in d.history() if h["op_id"] == op_id] == \
        ["succeeded"]


def test_corrupt_state_moved_aside(sim, make_daemon):
    d = make_daemon([job("tick", "* * * * * *", "request", path="/validate")])
    d.state_dir.mkdir(mode=0o700)
    junk = '{"version":1,"last":[{"job":"tick","fired":'
    (d.state_dir / "state.json").write_text(junk)
    d.start()
    d.wait_line(lambda l: l.get("job") == "tick" and l.get("event") == "fire",
                20, "a fire")
    stop_clean(d)
    aside = list(d.state_dir.glob("state.json.corrupt-*"))
    assert len(aside) == 1, list(d.state_dir.iterdir())
    assert aside[0].read_text() == junk
    warn = d.find(lambda l: l.level == "warning")
    assert len(warn) == 1, d.text()
    assert f"moved aside to {d.state_dir}/{aside[0].name}" in warn[0].text
    assert "starting with no saved state" in warn[0].text
    # the warning comes before the start, and a good state.json is back
    start = d.find(lambda l: l.get("event") == "start")[0]
    assert warn[0].time <= start.time
    st = d.state()
    assert st is not None and st["last"][0]["job"] == "tick"


# --------------------------------------------------------------------------
# reload
# --------------------------------------------------------------------------

def test_sighup_reload(sim, make_daemon):
    """SIGHUP with a good config (job added, job removed while its
    operation runs, schedule changed), then with a broken one (every error
    as FILE:LINE, reload-failed, the old jobs keep firing)."""
    sim.config(op_seconds_env={CHARLIE_LIVE: 3.5})
    keep = job("keep", "*/2 * * * * *", "request", path="/validate")
    gone = job("gone", "* * * * * *", "request", path="/sites",
               method="GET")
    busy = job("busy", "*/2 * * * * *", "clear-cache", CHARLIE_LIVE)
    d = make_daemon([keep, gone, busy]).start()
    ops = wait_until(lambda: d.state_ops("busy"), 20,
                     "busy's operation in flight")
    op_id = ops[0]["op_id"]
    d.wait_line(lambda l: l.get("job") == "gone" and
                l.get("event") == "fire", 10, "gone fired")

    # good: keep moves to odd seconds, gone and busy go, new comes
    keep2 = dict(keep, schedule="1/2 * * * * *")
    new = job("new", "*/2 * * * * *", "request", path="/validate")
    d.write_config([keep2, new])
    d.signal(signal.SIGHUP)
    reloaded = d.wait_line(lambda l: l.get("event") == "reloaded", 10,
                           "event=reloaded")[0]
    assert reloaded.get("jobs") == "2"
    # what changed, job by job, and in sum
    changes = {l.get("job"): l.get("change") for l in
               d.find(lambda l: l.get("event") == "reload-change")}
    assert changes == {"keep": "changed", "gone": "removed",
                       "busy": "removed", "new": "added"}, d.text()
    (summary,) = d.find(lambda l: l.get("event") == "reload-changes")
    assert [summary.get(k) for k in ("added", "removed", "changed",
                                     "unchanged")] == ["1", "2", "1", "0"]
    assert d.find(lambda l: l.get("event") == "reload")[0].get("path") == \
        str(d.conf)
    d.wait_line(lambda l: l.get("job") == "new" and l.get("event") == "fire",
                10, "new fired", count=2)
    d.wait_line(lambda l: l.get("job") == "keep" and
                l.get("event") == "fire" and l.time > reloaded.time, 10,
                "keep fired after the reload", count=2)
    # the operation of the removed job still ends and is recorded
    end = d.wait_line(lambda l: l.get("op") == op_id and "outcome" in l.kv,
                      20, "busy's operation to end")[0]
    assert end.get("outcome") == "succeeded" and end.time > reloaded.time
    assert [h["outcome"] for h in d.history() if h["op_id"] == op_id] == \
        ["succeeded"]
    wait_until(lambda: d.state_ops("busy") == [], 5,
               "busy's op gone from state.json")

    # broken: two errors, each with FILE:LINE
    text = render_config(sim.url, d.state_dir, d.key_file,
                         [keep2, dict(new, action="clear-cach"),
                          job("third", "*/2 * 25 * * *", "request",
                              path="/validate")])
    lines = text.splitlines()
    bad_action = next(i + 1 for i, s in enumerate(lines) if "clear-cach\"" in s)
    bad_sched = next(i + 1 for i, s in enumerate(lines) if "* 25 *" in s)
    d.conf.write_text(text)
    t_bad = time.time()
    d.signal(signal.SIGHUP)
    failed = d.wait_line(lambda l: l.get("event") == "reload-failed", 10,
                         "event=reload-failed")[0]
    assert failed.level == "err" and failed.get("errors") == "2", failed
    errs = d.find(lambda l: l.level == "err" and l.time >= t_bad - 0.01 and
                  l.text.startswith(str(d.conf) + ":"))
    where = sorted(int(l.text[len(str(d.conf)) + 1:].split(":")[0])
                   for l in errs)
    assert where == sorted([bad_action, bad_sched]), d.text()
    # the old jobs keep firing, the broken file's jobs do not exist
    for name in ("new", "keep"):
        d.wait_line(lambda l, n=name: l.get("job") == n and
                    l.get("event") == "fire" and l.time > failed.time, 10,
                    f"{name} fired after the failed reload")
    stop_clean(d)

    assert not d.fires("third")
    for f in d.find(lambda l: l.get("event") == "fire" and
                    l.time > reloaded.time):
        assert f.get("job") in ("keep", "new"), f
    assert all(int(f.slot) % 2 == 1 for f in d.fires("keep")
               if f.time > reloaded.time + 0.5), d.text()
    assert all(int(f.slot) % 2 == 0 for f in d.fires("keep")
               if f.time < reloaded.time), d.text()
    last_gone = max(f.time for f in d.fires("gone"))
    assert last_gone <= reloaded.time
    assert {e["job"] for e in d.state()["last"]} == {"keep", "new"}


# --------------------------------------------------------------------------
# sd_notify
# --------------------------------------------------------------------------

class NotifySocket:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kcron-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.msgs = []  # (monotonic time, text)
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(), data.decode()))

    def get(self):
        with self.lock:
            return list(self.msgs)

    def index(self, field, after=-1):
        for i, (_, m) in enumerate(self.get()):
            if i > after and field in m.split("\n"):
                return i
        return None

    def wait(self, field, after=-1, timeout=10):
        """The index of the first message with field after index after."""
        box = []

        def check():
            i = self.index(field, after)
            if i is not None:
                box.append(i)
            return i is not None
        wait_until(check, timeout, f"{field} on NOTIFY_SOCKET after message "
                   f"{after}: {self.get()}")
        return box[0]

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def test_sd_notify(sim, make_daemon, notify):
    d = make_daemon([job("tick", "*/2 * * * * *", "request",
                         path="/validate")])
    env = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"}
    # WATCHDOG_PID, when set, must be the daemon's own pid: exec keeps it
    d.start(env=env, argv_prefix=["/bin/sh", "-c",
                                  'WATCHDOG_PID=$$; export WATCHDOG_PID; '
                                  'exec "$@"', "sh"])
    ready = notify.wait("READY=1")
    first = notify.get()[ready][1]
    assert any(f.startswith("STATUS=") for f in first.split("\n")), first
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 >= 1.5, 3, "1.5 s")
    dogs = [t for t, m in notify.get() if m == "WATCHDOG=1" and t >= t0 and
            t <= t0 + 1.5]
    assert len(dogs) >= 3, notify.get()

    mono = time.monotonic()
    d.signal(signal.SIGHUP)
    rel = notify.wait("RELOADING=1", ready)
    fields = dict(f.split("=", 1) for f in notify.get()[rel][1].split("\n")
                  if "=" in f)
    usec = int(fields["MONOTONIC_USEC"])
    assert abs(usec / 1e6 - mono) < 5.0, (usec, mono)
    notify.wait("READY=1", rel)
    d.wait_line(lambda l: l.get("event") == "reloaded", 10, "reloaded")

    d.signal(signal.SIGTERM)
    stopping = notify.wait("STOPPING=1", rel)
    rc = d.proc.wait(timeout=15)
    assert rc == 0
    d.assert_clean_exit()
    # after STOPPING=1 there is no READY=1
    assert notify.index("READY=1", stopping) is None


def test_watchdog_pid_mismatch_no_pings(sim, make_daemon, notify):
    """sd_watchdog_enabled: WATCHDOG_PID naming another process means the
    watchdog is not ours; READY=1 still goes out."""
    d = make_daemon([job("tick", "*/2 * * * * *", "request",
                         path="/validate")])
    d.start(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000",
                 "WATCHDOG_PID": "1"})
    notify.wait("READY=1")
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 >= 0.8, 3, "0.8 s")
    assert not any(m == "WATCHDOG=1" for _, m in notify.get()), notify.get()
    stop_clean(d)


def test_reloads_never_lose_a_slot(sim, make_daemon):
    """A reload reads its file while slots come due (a few thousand jobs
    take a noticeable time, more under the sanitizers): those slots are
    late, never lost.  Fifteen SIGHUPs at spread moments inside the
    second; an every-second job fires exactly once for every slot."""
    filler = [job(f"filler-{i}", "0 0 3 * * *", "request", path="/validate")
              for i in range(3000)]
    tick = job("tick", "* * * * * *", "request", path="/validate")
    d = make_daemon([tick] + filler).start()
    d.wait_line(lambda l: l.get("job") == "tick" and
                l.get("event") == "fire", 10, "tick's first fire")
    for i in range(15):
        time.sleep(0.45 + (i % 5) * 0.13)
        d.signal(signal.SIGHUP)
        d.wait_line(lambda l: l.get("event") == "reloaded", 20,
                    f"reload {i + 1}", count=i + 1)
    time.sleep(1.5)
    stop_clean(d)
    slots = sorted(l.slot for l in d.fires("tick"))
    assert len(slots) == len(set(slots)), "a slot fired twice"
    assert slots == list(range(int(slots[0]), int(slots[-1]) + 1)), \
        "slots lost: %s" % sorted(set(range(int(slots[0]), int(slots[-1]) + 1))
                                  - set(int(s) for s in slots))


# --------------------------------------------------------------------------
# learned polling across a restart
# --------------------------------------------------------------------------

def test_learned_durations_survive_restart(sim, make_daemon):
    """Durations learned before a restart are in state.json and still used
    after it: the operation in flight is followed to its end, and the
    first poll of the next 4 s operation waits for the learned length
    instead of going at +2 s as before anything is known."""
    sim.config(op_seconds_env={BRAVO_LIVE: 4.0})
    d = make_daemon([job("learn", "*/5 * * * * *", "clear-cache",
                         BRAVO_LIVE)]).start()
    key = "clear-cache@" + ACME

    def learned():
        st = d.state() or {}
        return [e for e in st.get("durations", []) if e["key"] == key
                and len(e["ms"]) >= 3]
    wait_until(learned, 60, "three learned durations in state.json")
    ops = wait_until(lambda: d.state_ops("learn"), 20,
                     "an operation in flight")
    op_id = ops[0]["op_id"]
    rc, _ = d.term()
    assert rc == 0, d.text()
    kept = [e for e in d.state()["durations"] if e["key"] == key][0]["ms"]
    assert all(3000 <= ms <= 5500 for ms in kept), kept

    d.start()
    end = d.wait_line(lambda l: l.get("op") == op_id and "outcome" in l.kv,
                      30, "the resumed operation's end")[0]
    assert end.get("outcome") == "succeeded"
    # a new operation after the restart: its first poll comes after the
    # learned length (a fixed ladder would poll at +2 s and +4 s)
    new = d.wait_line(lambda l: l.get("job") == "learn" and
                      "outcome" in l.kv and l.get("op") not in (op_id, "-"),
                      30, "an operation started after the restart")[0]
    stop_clean(d)
    new_op = new.get("op")
    reqs = sim.requests()
    polls = [r["time"] for r in reqs if r["method"] == "GET" and
             r["path"].endswith("/operations/" + new_op)]
    assert polls, reqs[-5:]
    # its own POST is the last one before its first poll (fires are 5 s
    # apart, longer than the wait measured here)
    started = [r["time"] for r in reqs if r["method"] == "POST" and
               r["time"] <= polls[0]][-1]
    assert polls[0] - started >= 3.0, (polls[0] - started, kept)
    assert len(polls) <= 2, len(polls)
