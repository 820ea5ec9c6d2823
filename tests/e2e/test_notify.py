"""End-to-end tests of notifications and heartbeats (`notify`, `heartbeat`,
`sendmail`): the real daemon against the simulator, with loopback webhook
and healthchecks receivers in this process and a fake sendmail that
records what it is given.

What is proved here: a fan-out job with two failed targets sends exactly
one webhook (Slack shape, and the JSON shape for a job that asks for it),
one email and the right heartbeat calls (/start, /fail with the digest, then
the plain success ping); a repeat inside repeat_every is held; the recovery
is told once; a receiver that is down gets the message when it is back, also
across a daemon restart (the notice waits in state.json); a receiver that
never answers delays no fire; the API key is in nothing a receiver, the
sendmail, the log or the state got.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402  (its Daemon, Sim and helpers)

ALPHA, BRAVO, CHARLIE = td.ALPHA_LIVE, td.BRAVO_LIVE, td.CHARLIE_LIVE
NEVER = "0 0 3 1 1 *"  # a slot far away: these jobs run when triggered


class Receiver:
    """A loopback HTTP server recording every request.  mode: "ok" (200),
    "down" (503) or "hang" (no answer until released)."""

    def __init__(self):
        self.mode = "ok"
        self.got = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        rec = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                mode = rec.mode
                with rec.lock:
                    rec.got.append({"method": self.command,
                                    "path": self.path, "body": body,
                                    "headers": dict(self.headers),
                                    "mode": mode, "time": time.time()})
                if mode == "hang":
                    rec.release.wait(60)
                    return
                status = 200 if mode == "ok" else 503
                out = b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_HEAD = handle_one

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def requests(self, path=None, mode=None):
        with self.lock:
            return [r for r in self.got
                    if (path is None or r["path"] == path) and
                    (mode is None or r["mode"] == mode)]

    def stop(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def recv():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def sim():
    s = td.Sim()
    yield s
    s.stop()


@pytest.fixture
def mail(tmp_path):
    """A fake sendmail: each message into mail/mail.<pid>, argv beside."""
    box = tmp_path / "mail"
    box.mkdir()
    prog = tmp_path / "sendmail"
    prog.write_text("#!/bin/sh\n"
                    "printf '%%s\\n' \"$@\" > %s/args.$$\n"
                    "cat > %s/tmp.$$ && mv %s/tmp.$$ %s/mail.$$\n"
                    % (box, box, box, box))
    os.chmod(prog, 0o755)
    return prog, box


def messages(box):
    return sorted(box.glob("mail.*"))


def job_text(name, schedule, action, extra):
    return ('  { name = "%s"; schedule = "%s"; action = "%s"; %s }'
            % (name, schedule, action, extra))


def write_conf(d, jobs, top):
    text = "\n".join([
        'api = { url = "%s"; timeout = 10; };' % d.sim.url,
        'state_dir = "%s";' % d.state_dir,
        'timezone = "UTC";',
        'accounts = ( { name = "acme"; company = "%s"; key_file = "%s"; } );'
        % (td.ACME, d.key_file),
        top,
        "jobs = (",
        ",\n".join(jobs),
        ");", ""])
    d.conf.write_text(text)


@pytest.fixture
def make(tmp_path, sim):
    made = []

    def mk(jobs, top):
        root = tmp_path / ("d%d" % len(made))
        root.mkdir()
        d = td.Daemon(root, sim, [])
        write_conf(d, jobs, top)
        made.append(d)
        return d

    yield mk
    for d in made:
        d.cleanup()
        d.assert_no_key()


def trigger(d, name):
    r = td.subprocess.run([td.BIN, "-c", str(d.conf), "trigger", name],
                          capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)


def fire_and_wait(d, name, ntargets, fires_before):
    """Trigger name and wait until all its targets have ended."""
    trigger(d, name)
    d.wait_line(lambda l: l.get("job") == name and "outcome" in l.kv and
                "env" in l.kv, 60, "%s's outcomes" % name,
                count=ntargets * (fires_before + 1))


def fail_two(sim):
    sim.config(op_fail=[{"action": "clear-cache", "env_id": ALPHA,
                         "message": "Cache node alpha is down"},
                        {"action": "clear-cache", "env_id": BRAVO,
                         "message": "Cache node bravo <is> down & out"}])


def no_key_anywhere(d, recv, box):
    for r in recv.requests():
        assert td.KEY not in json.dumps(r)
        assert "Authorization" not in r["headers"]
    for p in box.iterdir():
        assert td.KEY not in p.read_text(errors="replace")


# --------------------------------------------------------------------------

def test_one_message_per_fire_recovery_once(sim, make, recv, mail):
    prog, box = mail
    fail_two(sim)
    top = ('sendmail = "%s";\n'
           'notify = { webhook = "%s/slack"; email = ["ops@example.com",'
           ' "oncall@example.org"]; repeat_every = "24h";'
           ' retry_min = "1s"; retry_max = "1s"; timeout = "5s"; };'
           % (prog, recv.url))
    fan = job_text("fan", NEVER, "clear-cache",
                   'environment_ids = ["%s", "%s", "%s"]; '
                   'heartbeat = "%s/hc/abc";' % (ALPHA, BRAVO, CHARLIE,
                                                 recv.url))
    fanj = job_text("fanj", NEVER, "clear-cache",
                    'environment_ids = ["%s", "%s", "%s"]; notify = { '
                    'format = "json"; webhook = "%s/json"; email = []; };'
                    % (ALPHA, BRAVO, CHARLIE, recv.url))
    d = make([fan, fanj], top).start()

    # 1. two of three fail: one webhook, one email, /start then /fail
    fire_and_wait(d, "fan", 3, 0)
    td.wait_until(lambda: len(recv.requests("/slack")) >= 1 and
                  len(messages(box)) >= 1 and
                  recv.requests("/hc/abc/fail"), 20,
                  "the webhook, the email and the /fail ping")
    (hook,) = recv.requests("/slack")
    assert hook["method"] == "POST"
    assert hook["headers"]["Content-Type"] == "application/json"
    slack = json.loads(hook["body"])
    assert slack["text"] == "job fan failed on 2 of 3 environments"
    att = slack["attachments"][0]
    assert att["color"] == "danger"
    assert "Outcomes: 1 succeeded, 2 failed" in att["text"]
    assert "Cache node alpha is down" in att["text"]
    assert "Cache node bravo &lt;is&gt; down &amp; out" in att["text"]
    assert att["text"].count("\u2022 ") == 2  # the two failures, listed
    (start,) = recv.requests("/hc/abc/start")
    assert start["method"] == "GET"
    (hcfail,) = recv.requests("/hc/abc/fail")
    assert hcfail["body"].startswith("job fan failed on 2 of 3 environments")
    assert start["time"] <= hcfail["time"]
    (msg,) = messages(box)
    text = msg.read_text()
    head, body = text.split("\n\n", 1)
    assert "\nTo: ops@example.com, oncall@example.org\n" in head + "\n"
    assert "Subject: [kinsta-cron] job fan failed on 2 of 3 environments" \
        in head
    for h in ("From: ", "Date: ", "Message-ID: <kinsta-cron.",
              "Content-Type: text/plain; charset=utf-8"):
        assert ("\n" + h) in ("\n" + head), h
    assert "Cache node bravo <is> down & out" in body
    args = next(box.glob("args.*")).read_text().split()
    assert args == ["-t", "-oi"]

    # the JSON shape, for the job that asks for it
    fire_and_wait(d, "fanj", 3, 0)
    td.wait_until(lambda: recv.requests("/json"), 20, "the JSON webhook")
    (j,) = recv.requests("/json")
    doc = json.loads(j["body"])
    assert doc["version"] == 1 and doc["event"] == "failure"
    assert doc["job"] == "fanj" and doc["action"] == "clear-cache"
    assert doc["counts"]["failed"] == 2 and doc["counts"]["succeeded"] == 1
    assert sorted(t["env_id"] for t in doc["targets"]) == [ALPHA, BRAVO]
    assert {t["message"] for t in doc["targets"]} == {
        "Cache node alpha is down", "Cache node bravo <is> down & out"}
    assert isinstance(doc["run_id"], str) and doc["more"] == 0

    # 2. the same failure again, inside repeat_every: held
    fire_and_wait(d, "fan", 3, 1)
    d.wait_line(lambda l: l.get("job") == "fan" and
                l.get("notify") == "held", 10, "notify=held")
    td.wait_until(lambda: len(recv.requests("/hc/abc/fail")) == 2, 20,
                  "the second /fail ping")
    time.sleep(0.5)
    assert len(recv.requests("/slack")) == 1
    assert len(messages(box)) == 1

    # 3. the first good fire: recovered, once; the success ping
    sim.config(op_fail=None)
    fire_and_wait(d, "fan", 3, 2)
    td.wait_until(lambda: len(recv.requests("/slack")) == 2 and
                  len(messages(box)) == 2 and recv.requests("/hc/abc"), 20,
                  "the recovery")
    rec = json.loads(recv.requests("/slack")[1]["body"])
    assert rec["text"].startswith("job fan recovered after 2 failed runs "
                                  "since ")
    assert rec["attachments"][0]["color"] == "good"
    # 4. and another good fire says nothing
    fire_and_wait(d, "fan", 3, 3)
    td.wait_until(lambda: len(recv.requests("/hc/abc")) == 2, 20,
                  "the second success ping")
    time.sleep(0.5)
    assert len(recv.requests("/slack")) == 2
    assert len(messages(box)) == 2
    assert len(recv.requests("/hc/abc/start")) == 4
    td.stop_clean(d)
    no_key_anywhere(d, recv, box)
    st = d.state()
    assert st["notices"] == []
    # fan recovered; fanj failed once and is remembered as failing
    assert [f["job"] for f in st["failing"]] == ["fanj"]
    assert st["failing"][0]["failures"] == 1


def test_receiver_down_then_back_and_across_restart(sim, make, recv):
    fail_two(sim)
    top = ('notify = { webhook = "%s/slack"; retry_min = "1s";'
           ' retry_max = "1s"; timeout = "5s"; };' % recv.url)
    fan = job_text("fan", NEVER, "clear-cache",
                   'environment_ids = ["%s", "%s"];' % (ALPHA, BRAVO))
    d = make([fan], top).start()

    # down for a while: retried, then delivered once it is back
    recv.mode = "down"
    fire_and_wait(d, "fan", 2, 0)
    td.wait_until(lambda: len(recv.requests("/slack", "down")) >= 2, 20,
                  "two refused attempts")
    d.wait_line(lambda l: l.get("notify") == "webhook" and
                l.get("outcome") == "failed", 10, "a failed delivery logged")
    recv.mode = "ok"
    td.wait_until(lambda: recv.requests("/slack", "ok"), 20,
                  "the delivery once the receiver is back")
    first = recv.requests("/slack")
    assert len({r["body"] for r in first}) == 1  # the same message
    d.wait_line(lambda l: l.get("notify") == "webhook" and
                l.get("outcome") == "sent", 10, "outcome=sent")

    # down across a restart: the notice waits in state.json
    sim.config(op_fail=None)
    recv.mode = "down"
    fire_and_wait(d, "fan", 2, 1)  # the recovery
    td.wait_until(lambda: len(recv.requests("/slack", "down")) >= 3, 20,
                  "the recovery refused")
    td.stop_clean(d)
    st = d.state()
    assert len(st["notices"]) == 1, st
    assert st["notices"][0]["kind"] == "webhook"
    assert "recovered" in st["notices"][0]["body"]
    recv.mode = "ok"
    d.start()
    td.wait_until(lambda: [r for r in recv.requests("/slack", "ok")
                           if "recovered" in r["body"]], 20,
                  "the recovery after the restart")
    d.wait_line(lambda l: l.get("event") == "notify-resume", 5,
                "event=notify-resume")
    td.stop_clean(d)
    assert d.state()["notices"] == []
    ok = recv.requests("/slack", "ok")
    assert len(ok) == 2  # each message delivered once
    assert not any("Authorization" in r["headers"] for r in recv.got)


def test_hanging_receiver_delays_no_fire(sim, make, recv):
    recv.mode = "hang"
    top = ('notify = { webhook = "%s/slack"; on = ["success"];'
           ' retry_min = "1s"; retry_max = "1s"; timeout = "2s"; };'
           % recv.url)
    tick = job_text("tick", "*/1 * * * * *", "request",
                    'method = "GET"; path = "/validate"; '
                    'heartbeat = "%s/hc/t";' % recv.url)
    d = make([tick], top).start()
    d.wait_line(lambda l: l.get("job") == "tick" and
                l.get("event") == "fire", 30, "6 fires", count=6)
    assert len(recv.requests()) >= 4  # receivers were asked, and hang
    td.stop_clean(d)
    fires = d.fires("tick")
    slots = [f.slot for f in fires]
    # every second fired, each on time, while every delivery hangs
    assert slots == [slots[0] + i for i in range(len(slots))], fires
    assert all(0 <= f.time - f.slot < 1.0 for f in fires), fires
    assert len(d.outcomes("tick")) >= len(fires) - 1


def test_sendmail_hangs_then_fails_then_delivers(sim, make, tmp_path):
    """A sendmail that hangs is killed after the timeout, one that exits
    75 (EX_TEMPFAIL) is tried again; the third attempt delivers, once."""
    box = tmp_path / "mail"
    box.mkdir()
    prog = tmp_path / "sendmail"
    prog.write_text("#!/bin/sh\n"
                    "n=$(ls %s | grep -c '^try')\n"
                    "touch %s/try.$$\n"
                    "if [ \"$n\" = 0 ]; then exec sleep 30; fi\n"
                    "if [ \"$n\" = 1 ]; then cat >/dev/null; exit 75; fi\n"
                    "cat > %s/mail.$$\n" % (box, box, box))
    os.chmod(prog, 0o755)
    fail_two(sim)
    top = ('sendmail = "%s";\n'
           'notify = { email = "ops@example.com"; retry_min = "1s";'
           ' retry_max = "1s"; timeout = "1s"; };' % prog)
    fan = job_text("fan", NEVER, "clear-cache",
                   'environment_ids = ["%s", "%s"];' % (ALPHA, BRAVO))
    d = make([fan], top).start()
    t0 = time.monotonic()
    fire_and_wait(d, "fan", 2, 0)
    d.wait_line(lambda l: l.get("notify") == "email" and
                l.get("outcome") == "sent", 30, "the email sent")
    assert time.monotonic() - t0 < 20
    (msg,) = messages(box)
    assert "Subject: [kinsta-cron] job fan failed on 2 of 2 environments" \
        in msg.read_text()
    failed = d.find(lambda l: l.get("notify") == "email" and
                    l.get("outcome") == "failed")
    reasons = [l.get("reason") for l in failed]
    assert reasons == ["sendmail took longer than 1000 ms: killed",
                       "sendmail exited with status 75"], reasons
    (sent,) = d.find(lambda l: l.get("notify") == "email" and
                     l.get("outcome") == "sent")
    assert sent.get("attempt") == "3"
    td.stop_clean(d)
    assert d.state()["notices"] == []


def test_stop_while_sendmail_runs_keeps_the_message(sim, make, tmp_path):
    """SIGTERM while sendmail has the message: it is killed (a message cut
    short must not go out), the daemon exits cleanly and at once, and the
    notice waits in state.json for the next start."""
    box = tmp_path / "mail"
    box.mkdir()
    prog = tmp_path / "sendmail"
    prog.write_text("#!/bin/sh\ntouch %s/try.$$\nexec sleep 60\n" % box)
    os.chmod(prog, 0o755)
    fail_two(sim)
    top = ('sendmail = "%s";\n'
           'notify = { email = "ops@example.com"; timeout = "30s"; };'
           % prog)
    fan = job_text("fan", NEVER, "clear-cache",
                   'environment_ids = ["%s"];' % ALPHA)
    d = make([fan], top).start()
    fire_and_wait(d, "fan", 1, 0)
    td.wait_until(lambda: list(box.glob("try.*")), 10, "sendmail started")
    took = td.stop_clean(d)
    assert took < 5
    (n,) = d.state()["notices"]
    assert n["kind"] == "email" and n["url"] is None
    assert "Subject: [kinsta-cron] job fan failed" in n["body"]
