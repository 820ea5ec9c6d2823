"""The daemon's HTTP face (listen = { ... }, issue #15), end to end.

The real daemon against the simulator, with its listener on a loopback
port: every API endpoint, tokens (Bearer, Basic, wrong, repeated wrong
ones slowed down), bodies too large, a client too slow, 200 clients at
once while a job fires every second on time, the status page in Debian's
headless chromium, and a listen address that cannot be used.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

import pytest  # noqa: E402

TOKEN = "tok-e2e-7f3a9c1d5b2e4f60a8c9d7e1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Face:
    """A daemon with the HTTP face on 127.0.0.1:port."""

    def __init__(self, tmp_path, sim, jobs, listen_extra="",
                 address=None, slack=""):
        self.port = free_port()
        self.folder = str(tmp_path)
        tok = os.path.join(self.folder, "api-token")
        os.makedirs(self.folder, exist_ok=True)
        with open(tok, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tok, 0o600)
        self.address = address or "127.0.0.1:%d" % self.port
        extra = ('listen = { address = "%s"; token_file = "api-token"; %s };'
                 % (self.address, listen_extra)) + slack
        self.conf = kh.write_config(tmp_path, jobs, sim.url, extra=extra)
        self.state = os.path.join(self.folder, "state")
        e = {k: v for k, v in os.environ.items()
             if k not in ("RUNTIME_DIRECTORY", "NOTIFY_SOCKET",
                          "CREDENTIALS_DIRECTORY")}
        self.log = open(os.path.join(self.folder, "daemon.log"), "w+")
        self.proc = subprocess.Popen(
            [kh.BIN, "-c", self.conf, "daemon", "--log-stderr"],
            stderr=self.log, text=True, env=e)
        if address is None:
            kh.wait_for(self.listening, 30, what="the listener")

    def listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("daemon exited: " + self.text())
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def request(self, method, path, token=TOKEN, body=None, headers=None,
                basic=False, timeout=30):
        """(status, headers, decoded JSON or text)"""
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            if basic:
                h["Authorization"] = "Basic " + base64.b64encode(
                    ("anyone:" + token).encode()).decode()
            else:
                h["Authorization"] = "Bearer " + token
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            raw = r.read()
            ctype = r.getheader("Content-Type", "")
            data = json.loads(raw) if ctype.startswith(
                "application/json") and raw else raw.decode("utf-8",
                                                            "replace")
            return r.status, dict(r.getheaders()), data
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        text = self.text()
        self.log.close()
        assert TOKEN not in text, "the token reached the log"
        assert kh.KEY not in text
        return text


@pytest.fixture
def sim():
    with kh.Sim(op_seconds=0.2) as s:
        yield s


def history(face):
    p = os.path.join(face.state, "history.jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


def test_api(tmp_path, sim):
    env = kh.env_id("bravosite")
    f = Face(tmp_path, sim, [
        kh.job("nightly", "clear-cache", environment_id=env),
        kh.job("broken", "clear-cache",
               environment_id="deadbeef-0000-4000-8000-000000000000"),
        kh.job("off", "restart-php", environment_id=env, enabled=False),
    ])
    try:
        st, _, body = f.request("GET", "/api/v1/jobs")
        assert st == 200, body
        jobs = {j["name"]: j for j in body["jobs"]}
        assert set(jobs) == {"nightly", "broken", "off"}
        assert jobs["nightly"]["next"].endswith("T03:00:00Z")
        assert jobs["nightly"]["schedule"] == "0 0 3 * * *"
        assert jobs["off"]["enabled"] is False and jobs["off"]["next"] is None
        assert jobs["nightly"]["last"] is None

        st, _, body = f.request("POST", "/api/v1/jobs/nightly/trigger")
        assert st == 202, body
        rid = body["run_id"]
        assert re.fullmatch(r"\d+", rid)
        kh.wait_for(lambda: len(sim.requests(
            "POST", r"/sites/tools/clear-cache")) == 1, 30,
            what="the triggered POST")

        # a run, while in flight or once ended
        st, _, run = f.request("GET", "/api/v1/runs/" + rid)
        assert st == 200, run
        assert run["run_id"] == rid and run["job"] == "nightly"

        def ended():
            s, _, r = f.request("GET", "/api/v1/runs/" + rid)
            return r if s == 200 and not r["running"] else None
        run = kh.wait_for(ended, 30, what="the run's end")
        assert run["count"]["succeeded"] == 1
        assert run["targets"][0]["env_id"] == env
        assert run["targets"][0]["outcome"] == "succeeded"
        assert run["targets"][0]["op_id"]

        # a failing job, then the history and its filters
        st, _, body = f.request("POST", "/api/v1/jobs/broken/trigger")
        assert st == 202
        kh.wait_for(lambda: len(history(f)) == 2, 30, what="two runs")
        st, _, body = f.request("GET", "/api/v1/history")
        assert st == 200
        assert [r["job"] for r in body["runs"]] == ["broken", "nightly"]
        st, _, body = f.request("GET", "/api/v1/history?outcome=failed")
        assert [r["job"] for r in body["runs"]] == ["broken"]
        assert body["runs"][0]["message"]
        st, _, body = f.request("GET", "/api/v1/history?job=nightly&limit=5")
        assert [r["job"] for r in body["runs"]] == ["nightly"]
        st, _, body = f.request("GET", "/api/v1/history?since=2999-01-01")
        assert body["runs"] == []
        st, _, jobs = f.request("GET", "/api/v1/jobs")
        last = {j["name"]: j["last"] for j in jobs["jobs"]}
        assert last["nightly"]["outcome"] == "succeeded"
        assert last["broken"]["outcome"] == "failed"

        # errors: JSON with a message, the right status
        for method, path, want in [
                ("POST", "/api/v1/jobs/nope/trigger", 404),
                ("GET", "/api/v1/jobs/nightly/trigger", 405),
                ("GET", "/api/v1/runs/123", 404),
                ("GET", "/api/v1/runs/abc", 400),
                ("GET", "/api/v1/history?since=soon", 400),
                ("GET", "/api/v1/history?outcome=meh", 400),
                ("GET", "/api/v1/nothing", 404),
                ("GET", "/favicon.ico", 404)]:
            st, _, body = f.request(method, path)
            assert st == want, (path, st, body)
            assert body["error"] and body["status"] == want

        # a job still running refuses a second trigger
        sim.config(op_seconds=3)
        st, _, _ = f.request("POST", "/api/v1/jobs/nightly/trigger")
        assert st == 202
        st, _, body = f.request("POST", "/api/v1/jobs/nightly/trigger")
        assert st == 409, body
        assert "still running" in body["error"]

        # a body where none is expected, malformed or not, is no crash
        st, _, body = f.request("POST", "/api/v1/jobs/nope/trigger",
                                body=b"{not json", headers={
                                    "Content-Type": "application/json"})
        assert st == 404
    finally:
        log = f.stop()
    assert "trigger=api" in log
    assert f.proc.returncode == 0


def test_tokens(tmp_path, sim):
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=kh.env_id("bravosite"))])
    try:
        st, h, body = f.request("GET", "/api/v1/jobs", token=None)
        assert st == 401 and "Basic" in h.get("WWW-Authenticate", "")
        assert "Bearer" in body["error"]
        st, _, _ = f.request("GET", "/api/v1/jobs", basic=True)
        assert st == 200
        st, _, _ = f.request("GET", "/api/v1/jobs", token=TOKEN[:-1])
        assert st == 401
        st, _, _ = f.request("GET", "/api/v1/jobs", token=TOKEN + "x")
        assert st == 401
        # the third bad token in a row: the address waits
        st, h, body = f.request("GET", "/api/v1/jobs", token="guess")
        assert st == 401
        st, h, body = f.request("GET", "/api/v1/jobs")
        assert st == 429, body
        assert int(h["Retry-After"]) >= 1
        # ... then the good token is taken again
        time.sleep(int(h["Retry-After"]) + 0.1)
        st, _, _ = f.request("GET", "/api/v1/jobs")
        assert st == 200
        # nothing was triggered by any of it
        assert sim.requests("POST") == []
    finally:
        f.stop()


def test_bounds(tmp_path, sim):
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=kh.env_id("bravosite"))],
             listen_extra="timeout = 1; max_body = 4096;")
    try:
        # a declared body over max_body
        st, _, body = f.request("POST", "/api/v1/jobs/nightly/trigger",
                                body=b"x" * 100000)
        assert st == 413, body
        # a chunked one, without a length
        c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
        c.putrequest("POST", "/api/v1/jobs/nightly/trigger")
        c.putheader("Authorization", "Bearer " + TOKEN)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        try:
            for _ in range(64):
                c.send(b"400\r\n" + b"y" * 1024 + b"\r\n")
            c.send(b"0\r\n\r\n")
            r = c.getresponse()
            assert r.status == 413
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-body: also fine
        c.close()
        # too many header fields
        st, _, _ = f.request("GET", "/api/v1/jobs", headers={
            "X-H%d" % i: "v" for i in range(80)})
        assert st == 431
        # a huge header block
        st, _, _ = f.request("GET", "/api/v1/jobs",
                             headers={"X-Big": "z" * 100000})
        assert st in (413, 431)
        # a client that stops mid-request is dropped after timeout
        s = socket.create_connection(("127.0.0.1", f.port), 5)
        s.sendall(b"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        st, _, _ = f.request("GET", "/api/v1/jobs")  # others are served
        assert st == 200
        s.settimeout(10)
        assert s.recv(100) == b""  # closed by the daemon
        assert time.monotonic() - t0 < 5
        s.close()
        # nothing was triggered by the refused requests
        assert sim.requests("POST") == []
    finally:
        f.stop()
    assert f.proc.returncode == 0


def test_many_clients_while_firing(tmp_path, sim):
    """200 clients at once; a job firing every second stays on time."""
    f = Face(tmp_path, sim, [
        kh.job("tick", "clear-cache", schedule="*/1 * * * * *",
               environment_id=kh.env_id("bravosite"), overlap="skip")],
        listen_extra="max_connections = 300;")
    errors, statuses = [], []
    lock = threading.Lock()

    def client():
        # at once, then again until three slots have passed
        while True:
            try:
                st, _, body = f.request("GET", "/api/v1/jobs", timeout=30)
                with lock:
                    statuses.append(st)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
            if time.monotonic() - t0 > 3:
                return
    try:
        time.sleep(1.2)
        t0 = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - t0
        time.sleep(1.5)
    finally:
        log = f.stop()
    assert errors == [], errors[:5]
    assert len(statuses) >= 200 and set(statuses) == {200}
    # every slot was handled (fired, or skipped as the run before still
    # follows its operation) within 100 ms of its time (jitter 0)
    late, slots = [], []
    for line in log.splitlines():
        if "job=tick" not in line or not (
                "event=fire" in line or "outcome=skipped" in line):
            continue
        slots.append(line)
        at = line.split()[0]
        slot = kh.parse_kv(line)["slot"]
        lt = time.mktime(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")) + \
            float("0" + at[19:23])
        st = time.mktime(time.strptime(slot[:19], "%Y-%m-%dT%H:%M:%S"))
        if lt - st > 0.1:
            late.append(line)
    assert len(slots) >= 4, log[-3000:]
    assert late == [], late
    print("%d requests from 200 clients in %.2f s, %d slots on time"
          % (len(statuses), took, len(slots)))


def test_page_in_chromium(tmp_path, sim):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (tests/deps)")
    f = Face(tmp_path, sim, [
        kh.job("nightly", "clear-cache",
               environment_id=kh.env_id("bravosite")),
        kh.job("broken", "clear-cache",
               environment_id="deadbeef-0000-4000-8000-000000000000"),
    ])
    try:
        for name in ("nightly", "broken"):
            st, _, _ = f.request("POST", "/api/v1/jobs/%s/trigger" % name)
            assert st == 202
        kh.wait_for(lambda: len(history(f)) == 2, 30, what="two runs")
        failure = [r for r in history(f) if r["outcome"] == "failed"][0]
        # the page without a token asks for one
        st, h, _ = f.request("GET", "/", token=None)
        assert st == 401 and h["WWW-Authenticate"].startswith("Basic")
        shot = os.path.join(str(tmp_path), "page.png")
        url = "http://anyone:%s@127.0.0.1:%d/" % (TOKEN, f.port)
        p = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-extensions",
             "--user-data-dir=" + os.path.join(str(tmp_path), "chr"),
             "--screenshot=" + shot, "--window-size=1200,900",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
        dom = p.stdout
        assert "<h1>kinsta-cron</h1>" in dom, (p.returncode, p.stderr[-2000:])
        assert re.search(r'<td class="name">nightly</td>', dom)
        assert re.search(r'<td class="name">broken</td>', dom)
        assert 'id="failures"' in dom
        msg = failure["message"].replace("&", "&amp;").replace(
            "<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        assert msg[:40] in dom, (failure["message"], dom[-3000:])
        assert "<svg" in dom and 'class="spark"' in dom
        assert os.path.getsize(shot) > 1000
    finally:
        f.stop()


def test_address_in_use(tmp_path, sim):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        f = Face(tmp_path, sim, [kh.job(
            "nightly", "clear-cache",
            environment_id=kh.env_id("bravosite"))],
            address="127.0.0.1:%d" % port)
        f.proc.wait(timeout=30)
        text = f.stop()
        assert f.proc.returncode != 0
        assert "cannot start: listen: 127.0.0.1:%d: Address already in use" \
            % port in text
    finally:
        blocker.close()


def test_unix_socket(tmp_path, sim):
    path = os.path.join(str(tmp_path), "face.sock")
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=kh.env_id("bravosite"))],
             address=path)
    try:
        kh.wait_for(lambda: os.path.exists(path), 30, what="the socket")
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(("GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nConnection: close\r\n\r\n"
                   % TOKEN).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        assert b'"nightly"' in data
        assert oct(os.stat(path).st_mode & 0o777) == "0o660"
    finally:
        f.stop()
    assert not os.path.exists(path)


def test_token_missing(tmp_path, sim):
    conf = kh.write_config(tmp_path, [kh.job(
        "nightly", "clear-cache", environment_id=kh.env_id("bravosite"))],
        sim.url, extra='listen = { address = "127.0.0.1:%d"; };'
        % free_port())
    e = {k: v for k, v in os.environ.items()
         if k not in ("RUNTIME_DIRECTORY", "NOTIFY_SOCKET",
                      "CREDENTIALS_DIRECTORY")}
    p = subprocess.run([kh.BIN, "-c", conf, "daemon", "--log-stderr"],
                       capture_output=True, text=True, env=e, timeout=30)
    assert p.returncode != 0
    assert "no listen: token: set token_file" in p.stderr
    # the credential is the other source
    creds = os.path.join(str(tmp_path), "creds")
    os.makedirs(creds)
    with open(os.path.join(creds, "api-token"), "w") as fh:
        fh.write(TOKEN)
    e["CREDENTIALS_DIRECTORY"] = creds
    d = subprocess.Popen([kh.BIN, "-c", conf, "daemon", "--log-stderr"],
                         stderr=subprocess.PIPE, text=True, env=e)
    try:
        time.sleep(0.7)
        assert d.poll() is None
    finally:
        d.send_signal(signal.SIGTERM)
        _, err = d.communicate(timeout=30)
    assert "event=listen" in err and TOKEN not in err


def test_reload_keeps_the_listener(tmp_path, sim):
    """A reload applies the jobs at once; listen waits for a restart and
    the log says so."""
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=kh.env_id("bravosite"))])
    try:
        text = open(f.conf).read()
        text = text.replace('address = "127.0.0.1:%d"' % f.port,
                            'address = "127.0.0.1:%d"' % free_port())
        text = text.replace('{ name = "nightly"', '{ name = "added"')
        with open(f.conf, "w") as fh:
            fh.write(text)
        f.proc.send_signal(signal.SIGHUP)
        kh.wait_for(lambda: "event=reloaded" in f.text(), 30,
                    what="the reload")
        assert "restart the daemon to apply" in f.text()
        st, _, body = f.request("GET", "/api/v1/jobs")
        assert st == 200
        assert [j["name"] for j in body["jobs"]] == ["added"]
    finally:
        f.stop()


def test_metrics_endpoint(tmp_path, sim):
    """GET /metrics (with the token) serves the Prometheus text that the
    textfile holds, counting the runs made, and promtool accepts it."""
    env = kh.env_id("bravosite")
    f = Face(tmp_path, sim, [kh.job("nightly", "clear-cache",
                                    environment_id=env)])
    try:
        st, _, body = f.request("GET", "/metrics", token=None)
        assert st == 401, body
        st, _, body = f.request("POST", "/api/v1/jobs/nightly/trigger")
        assert st == 202, body

        def counted():
            s, _, text = f.request("GET", "/metrics")
            assert s == 200, text
            return any(l.startswith("kinsta_cron_job_runs_total{") and
                       'job_name="nightly"' in l and
                       'outcome="succeeded"' in l and l.endswith(" 1")
                       for l in text.splitlines()) and text
        text = kh.wait_for(counted, 60, what="the run in /metrics")
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text,
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr
    finally:
        f.stop()
