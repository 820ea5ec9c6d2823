"""Tests of the Kinsta API simulator (the package tests/sim/kinsta_sim) itself.

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_sim.py
"""

import http.client
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
from pathlib import Path

import pytest

SIM_DIR = Path(__file__).resolve().parent.parent / "sim"
SIM_PKG = SIM_DIR / "kinsta_sim"  # `python3 SIM_PKG ...` runs it
sys.path.insert(0, str(SIM_DIR))

import kinsta_sim  # noqa: E402

ACME = kinsta_sim.ACME_COMPANY
GLOBEX = kinsta_sim.GLOBEX_COMPANY
ACME_KEY = kinsta_sim.ACME_KEY
GLOBEX_KEY = kinsta_sim.GLOBEX_KEY
ALPHA_SITE = "11111111-1111-4111-8111-111111111111"
ALPHA_LIVE = "a1111111-1111-4111-8111-111111111111"
ALPHA_STAGING = "a1111111-1111-4111-8111-111111111112"
BRAVO_LIVE = "a2222222-2222-4222-8222-222222222222"
CHARLIE_LIVE = "a3333333-3333-4333-8333-333333333333"
DELTA_LIVE = "a4444444-4444-4444-8444-444444444444"
FOXTROT_LIVE = "a6666666-6666-4666-8666-666666666666"
OP_RE = re.compile(r"^[A-Za-z-]+:[a-z-]+-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def request(port, method, path, body=None, key=ACME_KEY, timeout=5.0, host="127.0.0.1",
            headers=None, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        return Resp(r.status, r.getheaders(), raw)
    finally:
        if own:
            conn.close()


class Api:
    def __init__(self, sim):
        self.sim = sim
        self.port = sim.port

    def __call__(self, method, path, body=None, key=ACME_KEY, **kw):
        if not path.startswith("/_sim"):
            path = "/v2" + path
        return request(self.port, method, path, body, key=key, **kw)

    def ctl(self, method, path, body=None):
        r = request(self.port, method, "/_sim" + path, body, key=None)
        assert r.status == 200, (path, r.status, r.raw)
        return r.json

    def config(self, **kw):
        return self.ctl("POST", "/config", kw)

    def fault(self, **kw):
        return self.ctl("POST", "/fault", kw)

    def poll(self, op_id, key=ACME_KEY):
        return self("GET", "/operations/" + op_id, key=key)

    def wait_op(self, op_id, timeout=5.0):
        end = time.time() + timeout
        seen = []
        while time.time() < end:
            r = self.poll(op_id)
            seen.append(r.status)
            if r.status not in (202, 404):
                return r, seen
            time.sleep(0.05)
        raise AssertionError("operation %s did not finish: %s" % (op_id, seen[-5:]))


@pytest.fixture(scope="module")
def sim():
    s = kinsta_sim.Simulator(op_seconds=0.3).start()
    yield s
    s.stop()


@pytest.fixture
def api(sim):
    a = Api(sim)
    a.ctl("POST", "/reset")
    return a


def start_subprocess(*args):
    p = subprocess.Popen([sys.executable if os.path.exists(sys.executable) else "/usr/bin/python3",
                          str(SIM_PKG), "--port", "0", "--quiet", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.fullmatch(r"KINSTA_SIM_PORT=(\d+)\n", line)
    assert m, "bad first line %r; stderr: %s" % (line, p.stderr.read() if p.poll() is not None else "")
    return p, int(m.group(1))


# --------------------------------------------------------------------------
# process: command line, port line, SIGTERM
# --------------------------------------------------------------------------

def test_subprocess_port_line_and_sigterm():
    p, port = start_subprocess("--op-seconds", "0.1")
    try:
        r = request(port, "GET", "/v2/validate")
        assert r.status == 200 and r.json["company"] == ACME
        # a hung handler must not delay shutdown
        assert request(port, "POST", "/_sim/fault", {"kind": "hang", "match": {"path_regex": "/sites$"}},
                       key=None).status == 200
        t = threading.Thread(target=lambda: _swallow(request, port, "GET", "/sites?company=" + ACME,
                                                     timeout=10), daemon=True)
        t.start()
        time.sleep(0.2)
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=5)
        assert rc == 0
        assert time.time() - t0 < 2.0
        assert p.stdout.read() == ""  # exactly one line on stdout
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_subprocess_as_module():
    """`python3 -m kinsta_sim` (tests/sim on the import path) is the same
    command line as running the package folder."""
    env = dict(os.environ, PYTHONPATH=str(SIM_DIR), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(["/usr/bin/python3", "-m", "kinsta_sim", "--dump-seed"], env=env,
                         cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == kinsta_sim.default_seed()
    p = subprocess.Popen(["/usr/bin/python3", "-m", "kinsta_sim", "--port", "0", "--quiet"],
                         env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        m = re.fullmatch(r"KINSTA_SIM_PORT=(\d+)\n", p.stdout.readline())
        assert m, p.stderr.read() if p.poll() is not None else ""
        assert request(int(m.group(1)), "GET", "/v2/validate").status == 200
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=5) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _swallow(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception:
        pass


def test_subprocess_sigint_and_keys_and_seed_file_and_log():
    seed = {"companies": [{"id": "cccccccc-0000-4000-8000-000000000003", "name": "Seeded",
                           "keys": ["seed-key"],
                           "sites": [{"id": "99999999-9999-4999-8999-999999999999", "name": "onlysite",
                                      "siteLabels": [{"id": "l1", "name": "solo"}],
                                      "environments": [{"id": "a9999999-9999-4999-8999-999999999999",
                                                        "name": "live"}]}]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(seed, fh)
        path = fh.name
    p = subprocess.Popen(["/usr/bin/python3", str(SIM_PKG), "--port", "0", "--state", path,
                          "--key", "extra-key=cccccccc-0000-4000-8000-000000000003", "--key", "plain-key"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline().strip().split("=")[1])
        for key in ("seed-key", "extra-key", "plain-key"):
            r = request(port, "GET", "/validate", key=key)  # root-mounted too
            assert r.status == 200, key
            assert r.json["company"] == "cccccccc-0000-4000-8000-000000000003"
        r = request(port, "GET", "/v2/sites?company=cccccccc-0000-4000-8000-000000000003"
                    "&include_environments=true", key="seed-key")
        sites = r.json["company"]["sites"]
        assert [s["name"] for s in sites] == ["onlysite"]
        env = sites[0]["environments"][0]
        assert env["is_blocked"] is False and env["cdn_cache_id"] is None
        assert request(port, "GET", "/v2/validate", key=ACME_KEY).status == 401
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=3) == 0
        err = p.stderr.read()
        assert "GET /validate 200" in err and "GET /v2/validate 401" in err
        for key in ("seed-key", "extra-key", "plain-key"):
            assert key not in err
        assert kinsta_sim.key_hash("seed-key") in err
    finally:
        os.unlink(path)
        if p.poll() is None:
            p.kill()
            p.wait()


def test_simulator_class_key_for_unknown_company():
    other = "dddddddd-0000-4000-8000-000000000004"
    with kinsta_sim.Simulator(keys=["k-empty=" + other, ("k-tuple", GLOBEX)], op_seconds=0) as s:
        r = request(s.port, "GET", "/v2/sites?company=" + other, key="k-empty")
        assert r.status == 200 and r.json == {"company": {"sites": []}}
        assert request(s.port, "GET", "/v2/validate", key="k-tuple").json["company"] == GLOBEX
        assert request(s.port, "GET", "/v2/validate", key=ACME_KEY).status == 200


def test_simulator_class_ipv6():
    try:
        s = kinsta_sim.Simulator(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        r = request(s.port, "GET", "/v2/validate", host="::1")
        assert r.status == 200
        assert s.base_url == "http://[::1]:%d/v2" % s.port
    finally:
        s.stop()


# --------------------------------------------------------------------------
# auth, reads
# --------------------------------------------------------------------------

def test_auth(api):
    for key in (None, "wrong-key"):
        r = api("GET", "/validate", key=key)
        assert r.status == 401
        assert r.json == {"status": 401, "message": "No or invalid API key provided to the request",
                          "data": None}
    r = api("GET", "/validate", headers={"Authorization": "Basic abc"}, key=None)
    assert r.status == 401
    r = api("GET", "/validate")
    assert r.status == 200
    assert r.json == {"name": "kinsta-cron-acme", "expires_at": None, "company": ACME, "status": "active"}
    assert api("GET", "/validate", key=GLOBEX_KEY).json["company"] == GLOBEX
    # served at the root as well
    r = request(api.port, "GET", "/validate")
    assert r.status == 200 and r.header("Content-Type").startswith("application/json")


def test_sites_shape(api):
    r = api("GET", "/sites?company=%s&include_environments=true" % ACME)
    assert r.status == 200
    sites = r.json["company"]["sites"]
    names = [s["name"] for s in sites]
    assert names == ["alphasite", "bravosite", "charliesite", "deltasite", "echosite"]
    for s in sites:
        assert set(s) == {"id", "name", "display_name", "status", "siteLabels", "environments"}
        for e in s["environments"]:
            for f in ("id", "name", "display_name", "is_blocked", "is_premium", "cdn_cache_id",
                      "domains", "primaryDomain", "container_info"):
                assert f in e, (s["name"], f)
            assert e["container_info"]["php_engine_version"].startswith("php")
            assert "plugins" not in e and "backups" not in e and "themes" not in e
    by = {s["name"]: s for s in sites}
    assert [lb["name"] for lb in by["bravosite"]["siteLabels"]] == ["client-a", "woocommerce"]
    assert [lb["name"] for lb in by["alphasite"]["siteLabels"]] == ["client-a"]
    delta = by["deltasite"]["environments"][0]
    assert delta["id_edge_cache"] is None and delta["cdn_cache_id"] is None
    charlie = {e["name"]: e for e in by["charliesite"]["environments"]}
    assert set(charlie) == {"live", "staging"}
    assert "id_edge_cache" not in charlie["staging"]   # omitted, like the recorded fixture
    assert charlie["live"]["id"] == CHARLIE_LIVE
    # without include_environments: no environments key
    r = api("GET", "/sites?company=%s" % ACME)
    assert all("environments" not in s for s in r.json["company"]["sites"])
    # company must be given and be the key's own
    assert api("GET", "/sites").status == 400
    r = api("GET", "/sites?company=%s" % GLOBEX)
    assert r.status == 404 and r.json["data"] is None
    r = api("GET", "/sites?company=%s&include_environments=true" % GLOBEX, key=GLOBEX_KEY)
    assert [s["name"] for s in r.json["company"]["sites"]] == ["foxtrotsite", "golfsite"]


def test_site_env_users_plugins_backups_reads(api):
    r = api("GET", "/sites/" + ALPHA_SITE)
    assert r.status == 200
    site = r.json["site"]
    assert site["company_id"] == ACME and len(site["environments"]) == 2
    assert "container_info" not in site["environments"][0]
    r = api("GET", "/sites/%s/environments" % ALPHA_SITE)
    assert [e["id"] for e in r.json["site"]["environments"]] == [ALPHA_LIVE, ALPHA_STAGING]
    r = api("GET", "/sites/00000000-0000-4000-8000-000000000000")
    assert r.status == 404 and r.json == {"status": 404, "message": "Site not found", "data": None}
    r = api("GET", "/sites/" + ALPHA_SITE, key=GLOBEX_KEY)
    assert r.status == 404
    r = api("GET", "/company/%s/users" % ACME)
    users = r.json["company"]["users"]
    assert len(users) == 2 and set(users[0]["user"]) == {"id", "email", "image", "full_name"}
    assert api("GET", "/company/%s/users" % GLOBEX).status == 404
    r = api("GET", "/sites/environments/%s/plugins" % ALPHA_LIVE)
    env = r.json["environment"]
    assert env["id"] == ALPHA_LIVE
    plugins = {p["name"]: p for p in env["container_info"]["wp_plugins"]["data"]}
    assert plugins["akismet"]["update"] == "available" and plugins["akismet"]["update_version"] == "5.3.1"
    assert plugins["wordpress-seo"]["update"] == "none" and plugins["wordpress-seo"]["update_version"] is None
    r = api("GET", "/sites/environments/%s/themes" % ALPHA_LIVE)
    themes = r.json["environment"]["container_info"]["wp_themes"]["data"]
    assert any(t["update"] == "available" for t in themes)
    r = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE)
    bks = r.json["environment"]["backups"]
    assert r.json["environment"]["display_name"] == "Live"
    assert all(isinstance(b["id"], int) for b in bks)
    assert {"manual", "scheduled"} <= {b["type"] for b in bks}
    assert "kinsta-cron:nightly-backup" in [b["note"] for b in bks]
    assert api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE, key=GLOBEX_KEY).status == 404
    r = api("GET", "/sites/environments/nope/plugins")
    assert r.status == 404 and r.json["data"] is None
    r = api("GET", "/sites/environments/%s/logs?file_name=error&lines=5" % ALPHA_LIVE)
    assert r.status == 200 and isinstance(r.json["environment"]["container_info"]["logs"], str)
    assert api("GET", "/no/such/endpoint").status == 404


# --------------------------------------------------------------------------
# operations
# --------------------------------------------------------------------------

def test_clear_cache_operation_lifecycle(api):
    api.config(op_seconds=0.4)
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    assert r.status == 202
    body = r.json
    assert set(body) == {"operation_id", "message", "status"} and body["status"] == 202
    assert body["operation_id"].startswith("cache:clear-") and OP_RE.match(body["operation_id"])
    assert "in progress" in body["message"]
    r = api.poll(body["operation_id"])
    assert r.status == 202 and r.json == {"status": 202, "message": "Operation in progress"}
    final, seen = api.wait_op(body["operation_id"])
    assert final.status == 200
    assert final.json == {"status": 200, "message": "Successfully finished request."}
    # the operation id can be URL-encoded
    r = api("GET", "/operations/" + body["operation_id"].replace(":", "%3A"))
    assert r.status == 200
    # another company cannot see it; unknown ids are 404
    assert api.poll(body["operation_id"], key=GLOBEX_KEY).status == 404
    assert api.poll("cache:clear-00000000-0000-4000-8000-000000000000").status == 404
    ev = api.ctl("GET", "/state")["events"]
    assert ev[-1]["action"] == "clear-cache" and ev[-1]["result"] == "succeeded"
    assert ev[-1]["env_ids"] == [ALPHA_LIVE]
    # ids are unique per call
    ids = set()
    for env in (ALPHA_LIVE, BRAVO_LIVE, CHARLIE_LIVE):
        api.ctl("POST", "/finish-operations")
        ids.add(api("POST", "/sites/tools/clear-cache", {"environment_id": env}).json["operation_id"])
    api.ctl("POST", "/finish-operations")
    ids.add(api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}).json["operation_id"])
    assert len(ids) == 4


def test_other_ops_prefixes_and_status_codes(api):
    api.config(op_seconds=0)
    cases = [
        ("POST", "/sites/tools/restart-php", {"environment_id": ALPHA_LIVE}, 202, "php:restart-"),
        ("POST", "/sites/edge-caching/clear", {"environment_id": ALPHA_LIVE, "clear_subdirectories": True},
         202, "edgeCache:clear-"),
        ("POST", "/sites/cdn/clear-cache", {"environment_id": ALPHA_LIVE,
                                            "cdn_cache_id": "c1111111-1111-4111-8111-111111111111"},
         202, "cdn-cache:clear-"),
        ("PUT", "/sites/environments/%s/plugins/bulk-update" % ALPHA_LIVE, {"plugins": [{"name": "akismet"}]},
         200, "wp-plugins:bulk-update-"),
        ("PUT", "/sites/environments/%s/themes/bulk-update" % ALPHA_LIVE,
         {"themes": [{"name": "twentytwentyfour"}]}, 200, "wp-themes:bulk-update-"),
        ("PUT", "/sites/environments/%s/themes" % ALPHA_LIVE,
         {"name": "twentytwentyfour", "update_version": "1.1"}, 202, "wp-theme:update-"),
        ("POST", "/sites/environments/%s/run-wp-cli-command" % ALPHA_LIVE, {"wp_command": "wp core version"},
         202, "environment:run-wp-cli-command-"),
    ]
    for method, path, body, status, prefix in cases:
        r = api(method, path, body)
        assert r.status == status, (path, r.raw)
        assert r.json["status"] == 202 and r.json["operation_id"].startswith(prefix), r.json
        assert api.wait_op(r.json["operation_id"])[0].status == 200
    st = api.ctl("GET", "/state")
    assert st["wp_cli"][-1]["wp_command"] == "wp core version"


def test_validation_errors(api):
    r = api("POST", "/sites/tools/clear-cache", {})
    assert r.status == 400 and r.json["status"] == 400 and r.json["message"]
    r = api("POST", "/sites/tools/clear-cache", b"{not json")
    assert r.status == 400
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": "00000000-0000-4000-8000-000000000000"})
    assert r.status == 404 and r.json["data"] is None
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}, key=GLOBEX_KEY)
    assert r.status == 404
    assert api("PUT", "/sites/tools/modify-php-version", {"environment_id": ALPHA_LIVE}).status == 400
    assert api("PUT", "/sites/tools/modify-php-version",
               {"environment_id": ALPHA_LIVE, "php_version": "5.6"}).status == 400
    assert api("POST", "/sites/cdn/clear-cache", {"environment_id": ALPHA_LIVE}).status == 400
    assert api("POST", "/sites/cdn/clear-cache",
               {"environment_id": DELTA_LIVE, "cdn_cache_id": "x"}).status == 400
    assert api("POST", "/sites/edge-caching/clear", {"environment_id": DELTA_LIVE}).status == 400
    assert api("POST", "/sites/environments/%s/run-wp-cli-command" % ALPHA_LIVE,
               {"wp_command": "rm -rf /"}).status == 400
    assert api("POST", "/sites/environments/%s/run-wp-cli-command" % ALPHA_LIVE,
               {"wp_command": "wp core version; rm x"}).status == 400
    assert api("PUT", "/sites/environments/%s/plugins" % ALPHA_LIVE, {"name": "akismet"}).status == 400
    assert api("PUT", "/sites/environments/%s/plugins" % ALPHA_LIVE,
               {"name": "nope", "update_version": "1"}).status == 404
    assert api("PUT", "/sites/environments/%s/plugins/bulk-update" % ALPHA_LIVE, {"plugins": []}).status == 400
    assert api("PUT", "/sites/%s/environments" % ALPHA_SITE, {"source_env_id": ALPHA_STAGING}).status == 400
    assert api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": 5}).status == 400
    assert api("DELETE", "/sites/environments/backups/notanumber").status == 400
    assert api("DELETE", "/sites/environments/backups/1").status == 404
    r = api("POST", "/sites", {"company": ACME, "display_name": "x"})
    assert r.status == 400
    assert api.ctl("GET", "/operations") == []


def test_failing_op(api):
    api.config(op_seconds=0.1, op_fail={"env_id": BRAVO_LIVE, "action": "restart-php",
                                        "message": "PHP restart failed: container unhealthy", "count": 1})
    r = api("POST", "/sites/tools/restart-php", {"environment_id": BRAVO_LIVE})
    assert r.status == 202
    final, _ = api.wait_op(r.json["operation_id"])
    assert final.status == 500
    assert final.json == {"status": 500, "message": "PHP restart failed: container unhealthy"}
    # count was 1: the next one succeeds
    r = api("POST", "/sites/tools/restart-php", {"environment_id": BRAVO_LIVE})
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    # a failure reported as HTTP 200 with body status 500, for all actions
    api.config(op_fail=[{"message": "boom", "http_status": 200}])
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    final, _ = api.wait_op(r.json["operation_id"])
    assert final.status == 200 and final.json == {"status": 500, "message": "boom"}
    ops = api.ctl("GET", "/operations")
    assert [o["state"] for o in ops] == ["failed", "succeeded", "failed"]
    stats = api.ctl("GET", "/stats")
    assert stats["operations_failed"] == 2 and stats["operations_succeeded"] == 1


def test_failed_op_has_no_effect(api):
    api.config(op_seconds=0, op_fail={"action": "manual-backup", "message": "no space"})
    r = api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": "t1"})
    final, _ = api.wait_op(r.json["operation_id"])
    assert final.status == 500 and final.json["message"] == "no space"
    bks = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    assert "t1" not in [b["note"] for b in bks]


def test_404_grace(api):
    api.config(op_seconds=1.0, op_404_seconds=0.25)
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    op = r.json["operation_id"]
    r = api.poll(op)
    assert r.status == 404 and r.json["status"] == 404
    time.sleep(0.3)
    assert api.poll(op).status == 202
    final, seen = api.wait_op(op)
    assert final.status == 200


def test_per_action_and_per_env_timing(api):
    api.config(op_seconds=5, op_seconds_action={"restart-php": 0}, op_seconds_env={BRAVO_LIVE: 0})
    r1 = api("POST", "/sites/tools/restart-php", {"environment_id": ALPHA_LIVE})
    r2 = api("POST", "/sites/tools/clear-cache", {"environment_id": BRAVO_LIVE})
    r3 = api("POST", "/sites/tools/clear-cache", {"environment_id": CHARLIE_LIVE})
    assert api.poll(r1.json["operation_id"]).status == 200
    assert api.poll(r2.json["operation_id"]).status == 200
    assert api.poll(r3.json["operation_id"]).status == 202
    api.ctl("POST", "/finish-operations")
    assert api.poll(r3.json["operation_id"]).status == 200


def test_env_style_op_ids(api):
    api.config(op_id_style="env", op_seconds=0)
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    assert r.json["operation_id"] == "cache:clear-" + ALPHA_LIVE


def test_backup_appears_and_delete(api):
    api.config(op_seconds=0.5)
    before = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    r = api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": "kinsta-cron:test"})
    assert r.status == 202 and r.json["operation_id"].startswith("backups:add-manual-")
    # not there before the operation completes
    mid = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    assert len(mid) == len(before)
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    after = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    new = [b for b in after if b["note"] == "kinsta-cron:test"]
    assert len(new) == 1 and new[0]["type"] == "manual" and isinstance(new[0]["id"], int)
    assert isinstance(new[0]["created_at"], int)
    r = api("DELETE", "/sites/environments/backups/%d" % new[0]["id"])
    assert r.status == 202 and r.json["operation_id"].startswith("backups:remove-")
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    final = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    assert [b["id"] for b in final] == [b["id"] for b in before]
    # no body at all is fine (tag is optional)
    r = api("POST", "/sites/environments/%s/manual-backups" % BRAVO_LIVE)
    assert r.status == 202


def test_manual_backup_limit(api):
    api.config(op_seconds=0, manual_backup_limit=3)
    # alphasite live has 2 manual backups in the seed
    r = api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": "a"})
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    r = api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": "b"})
    final, _ = api.wait_op(r.json["operation_id"])
    assert final.status == 500 and "maximum number of manual backups" in final.json["message"]


def test_restore(api):
    api.config(op_seconds=0)
    bks = api("GET", "/sites/environments/%s/backups" % ALPHA_LIVE).json["environment"]["backups"]
    user = api("GET", "/company/%s/users" % ACME).json["company"]["users"][0]["user"]["id"]
    r = api("POST", "/sites/environments/%s/backups/restore" % ALPHA_STAGING,
            {"backup_id": bks[0]["id"], "notified_user_id": user})
    assert r.status == 202 and r.json["operation_id"].startswith("backups:restore-")
    assert api("POST", "/sites/environments/%s/backups/restore" % ALPHA_STAGING,
               {"backup_id": str(bks[0]["id"]), "notified_user_id": user}).status == 400


def test_plugin_and_theme_updates_change_versions(api):
    api.config(op_seconds=0.4)
    r = api("PUT", "/sites/environments/%s/plugins" % ALPHA_LIVE, {"name": "akismet", "update_version": "5.3.1"})
    assert r.status == 202 and r.json["operation_id"].startswith("wp-plugin:update-")
    p = {x["name"]: x for x in api("GET", "/sites/environments/%s/plugins" % ALPHA_LIVE)
         .json["environment"]["container_info"]["wp_plugins"]["data"]}
    assert p["akismet"]["version"] == "5.3"     # not yet
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    p = {x["name"]: x for x in api("GET", "/sites/environments/%s/plugins" % ALPHA_LIVE)
         .json["environment"]["container_info"]["wp_plugins"]["data"]}
    assert p["akismet"]["version"] == "5.3.1" and p["akismet"]["update"] == "none"
    assert p["akismet"]["update_version"] is None
    assert p["classic-editor"]["update"] == "available"
    # bulk: HTTP 200 with the operation envelope; only listed plugins change
    r = api("PUT", "/sites/environments/%s/plugins/bulk-update" % BRAVO_LIVE,
            {"plugins": [{"name": "woocommerce"}, {"name": "classic-editor"}]})
    assert r.status == 200 and r.json["status"] == 202
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    p = {x["name"]: x for x in api("GET", "/sites/environments/%s/plugins" % BRAVO_LIVE)
         .json["environment"]["container_info"]["wp_plugins"]["data"]}
    assert p["woocommerce"]["version"] == "8.6.0" and p["classic-editor"]["version"] == "1.6.4"
    assert p["akismet"]["version"] == "5.3" and p["akismet"]["update"] == "available"
    # themes
    r = api("PUT", "/sites/environments/%s/themes/bulk-update" % BRAVO_LIVE, {"themes": [{"name": "storefront"}]})
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    t = {x["name"]: x for x in api("GET", "/sites/environments/%s/themes" % BRAVO_LIVE)
         .json["environment"]["container_info"]["wp_themes"]["data"]}
    assert t["storefront"]["version"] == "4.5.5" and t["storefront"]["update"] == "none"


def test_php_version_change(api):
    api.config(op_seconds=0.1)
    r = api("PUT", "/sites/tools/modify-php-version", {"environment_id": DELTA_LIVE, "php_version": "8.3"})
    assert r.status == 202 and r.json["operation_id"].startswith("php:modify-version-")
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    sites = api("GET", "/sites?company=%s&include_environments=true" % ACME).json["company"]["sites"]
    env = [e for s in sites for e in s["environments"] if e["id"] == DELTA_LIVE][0]
    assert env["container_info"]["php_engine_version"] == "php8.3"


def test_env_busy(api):
    api.config(op_seconds=0.6)
    r = api("POST", "/sites/environments/%s/manual-backups" % ALPHA_LIVE, {"tag": "x"})
    assert r.status == 202
    r2 = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    assert r2.status == 400
    assert r2.json == {"status": 400,
                       "message": "The environment is blocked by another process. Please try again a bit later."}
    # another environment is not affected; reads are not blocked
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": BRAVO_LIVE}).status == 202
    assert api("GET", "/sites/environments/%s/plugins" % ALPHA_LIVE).status == 200
    assert api.ctl("GET", "/state")["busy"][ALPHA_LIVE] == r.json["operation_id"]
    api.wait_op(r.json["operation_id"])
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}).status == 202
    assert api.ctl("GET", "/stats")["busy_rejections"] == 1
    # env_lock off: no rejection
    api.config(env_lock=False)
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}).status == 202
    # a blocked environment rejects every action
    api.config(env_lock=True, blocked_envs={CHARLIE_LIVE: True})
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": CHARLIE_LIVE}).status == 400


def test_push_environment(api):
    api.config(op_seconds=0.5)
    body = {"source_env_id": ALPHA_STAGING, "target_env_id": ALPHA_LIVE, "push_db": False,
            "push_files": True, "run_search_and_replace": True}
    r = api("PUT", "/sites/%s/environments" % ALPHA_SITE, body)
    assert r.status == 202 and r.json["operation_id"].startswith("environments:push-")
    # both environments are busy
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_STAGING}).status == 400
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}).status == 400
    assert api.ctl("GET", "/state")["pushes"] == []
    assert api.wait_op(r.json["operation_id"])[0].status == 200
    pushes = api.ctl("GET", "/state")["pushes"]
    assert len(pushes) == 1
    for k, v in body.items():
        assert pushes[0][k] == v
    # staging had no jetpack; files were pushed, so live lost it
    names = [p["name"] for p in api("GET", "/sites/environments/%s/plugins" % ALPHA_LIVE)
             .json["environment"]["container_info"]["wp_plugins"]["data"]]
    assert "jetpack" not in names
    assert api("PUT", "/sites/%s/environments" % ALPHA_SITE,
               {"source_env_id": ALPHA_LIVE, "target_env_id": BRAVO_LIVE}).status == 404


def test_create_site_and_budget(api):
    api.config(op_seconds=0, rate_create=2)
    body = {"company": ACME, "display_name": "New Shop", "region": "us-central1", "install_mode": "new",
            "admin_email": "a@example.com", "admin_password": "secret-pass-123", "admin_user": "admin",
            "site_title": "New Shop", "wp_language": "en_US", "woocommerce": True}
    r = api("POST", "/sites", body)
    assert r.status == 202 and r.json["operation_id"].startswith("sites:add-")
    final, _ = api.wait_op(r.json["operation_id"])
    assert final.status == 200
    new_id = final.json["data"]["idSite"]
    sites = api("GET", "/sites?company=%s&include_environments=true" % ACME).json["company"]["sites"]
    new = [s for s in sites if s["id"] == new_id][0]
    assert new["display_name"] == "New Shop" and new["environments"][0]["name"] == "live"
    assert api("POST", "/sites", dict(body, company=GLOBEX)).status == 404
    r = api("POST", "/sites", body)
    assert r.status == 429
    assert int(r.header("Retry-After")) >= 1 and r.header("RateLimit-Limit") == "2"
    st = api.ctl("GET", "/state")
    assert "admin_password" not in json.dumps(st["created_sites"])


def test_deployments(api):
    api.config(op_seconds=0.5)
    app = "0a990001-0000-4000-8000-000000000001"
    r = api("POST", "/applications/deployments", {"app_id": app, "branch": "main"})
    assert r.status == 200
    dep = r.json["deployment"]["id"]
    r = api("GET", "/applications/deployments/" + dep)
    d = r.json["deployment"]
    assert d["app_id"] == app and d["status"] in ("waiting", "inProgress") and d["branch"] == "main"
    time.sleep(0.55)
    assert api("GET", "/applications/deployments/" + dep).json["deployment"]["status"] == "success"
    assert api("POST", "/applications/deployments", {}).status == 400
    assert api("POST", "/applications/deployments", {"app_id": "nope"}).status == 404
    # static sites; failure knob by action
    api.config(op_seconds=0, op_fail={"action": "deploy-static-site", "message": "build failed"})
    st = "05a70001-0000-4000-8000-000000000001"
    r = api("POST", "/static-sites/deployments", {"static_site_id": st, "branch": "main"})
    assert r.status == 200 and set(r.json["deployment"]) == {"id", "status"}
    d = api("GET", "/static-sites/deployments/" + r.json["deployment"]["id"]).json["deployment"]
    assert d["status"] == "failed" and d["static_site_id"] == st and d["finished_at"] is not None
    assert api("GET", "/static-sites/deployments/" + r.json["deployment"]["id"], key=GLOBEX_KEY).status == 404


# --------------------------------------------------------------------------
# rate limits
# --------------------------------------------------------------------------

def test_rate_limit_company(api):
    api.config(rate_company=3, rate_window=1.5)
    r = api("GET", "/validate")
    assert r.status == 200
    assert r.header("RateLimit-Limit") == "3" and r.header("RateLimit-Remaining") == "2"
    assert r.header("X-RateLimit-Limit") == "3" and r.header("X-RateLimit-Remaining") == "2"
    assert 1 <= int(r.header("RateLimit-Reset")) <= 2
    assert api("GET", "/validate").status == 200
    assert api("GET", "/validate").header("RateLimit-Remaining") == "0"
    r = api("GET", "/validate")
    assert r.status == 429
    assert r.json == {"status": 429, "message": "Too many requests, please try again later."}
    assert 1 <= int(r.header("Retry-After")) <= 2
    for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
              "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert r.header(h) is not None, h
    assert r.header("RateLimit-Remaining") == "0"
    # other company has its own budget
    assert api("GET", "/validate", key=GLOBEX_KEY).status == 200
    stats = api.ctl("GET", "/stats")
    assert stats["rate_limited"] == 1 and stats["rate_limited_by_bucket"] == {"company": 1}
    # rolling window: capacity comes back
    time.sleep(1.55)
    assert api("GET", "/validate").status == 200


def test_rate_limit_ip_and_logs(api):
    api.config(rate_ip=2, rate_window=30)
    assert api("GET", "/validate", key=None).status == 401
    assert api("GET", "/validate").status == 200
    r = api("GET", "/validate", key=GLOBEX_KEY)
    assert r.status == 429 and r.header("RateLimit-Limit") == "2"
    api.config(rate_ip=1000, rate_logs=1, reset_rate_limits=True)
    path = "/sites/environments/%s/logs?file_name=error&lines=10" % ALPHA_LIVE
    assert api("GET", path).status == 200
    r = api("GET", path)
    assert r.status == 429 and r.header("RateLimit-Limit") == "1"
    assert api("GET", "/validate").status == 200


# --------------------------------------------------------------------------
# faults
# --------------------------------------------------------------------------

def test_fault_status_kinds_and_counts(api):
    api.fault(kind="500", match={"method": "POST", "path_regex": "clear-cache"}, count=2)
    for _ in range(2):
        r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
        assert r.status == 500 and r.json["status"] == 500
    # count exhausted; the GET did not match the method
    assert api("GET", "/validate").status == 200
    api.config(op_seconds=0)
    assert api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}).status == 202
    api.fault(kind="502", match={"path_regex": "^/validate$"})
    r = api("GET", "/validate")
    assert r.status == 502 and r.header("Content-Type").startswith("text/html")
    api.fault(kind="503", match={"path_regex": "validate"}, retry_after=7)
    r = api("GET", "/validate")
    assert r.status == 503 and r.header("Retry-After") == "7"
    api.fault(kind="429", match={"path_regex": "validate"}, retry_after=3)
    r = api("GET", "/validate")
    assert r.status == 429 and r.header("Retry-After") == "3" and r.header("RateLimit-Remaining") == "0"
    assert r.json["message"] == "Too many requests, please try again later."
    api.fault(kind="401", match={"path_regex": "^/v2/operations/"})   # raw path matches too
    r = api("GET", "/operations/x")
    assert r.status == 401 and r.json["message"] == "No or invalid API key provided to the request"
    # forever, and skip
    api.fault(kind="500", match={"path_regex": "users"}, count=-1, skip=1)
    assert api("GET", "/company/%s/users" % ACME).status == 200
    for _ in range(3):
        assert api("GET", "/company/%s/users" % ACME).status == 500
    api.ctl("POST", "/clear-faults")
    assert api("GET", "/company/%s/users" % ACME).status == 200
    fired = api.ctl("GET", "/stats")["faults_fired"]
    assert fired["500"] == 5 and fired["502"] == 1 and fired["401"] == 1
    # bad fault specs are rejected
    assert request(api.port, "POST", "/_sim/fault", {"kind": "explode"}, key=None).status == 400
    assert request(api.port, "POST", "/_sim/fault", {"kind": "500", "match": {"path_regex": "("}},
                   key=None).status == 400


def test_fault_hang(api):
    api.fault(kind="hang", match={"path_regex": "validate"}, seconds=1.0)
    t0 = time.time()
    with pytest.raises((socket.timeout, TimeoutError)):
        api("GET", "/validate", timeout=0.3)
    assert time.time() - t0 < 1.0
    # the server is still fine while the handler hangs
    assert api("GET", "/validate").status == 200
    # after `seconds` the connection is closed without an answer
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=3)
    api.fault(kind="hang", match={"path_regex": "validate"}, seconds=0.3)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        request(api.port, "GET", "/v2/validate", conn=conn)
    conn.close()
    reqs = api.ctl("GET", "/requests?path_regex=validate")
    assert [r["fault"] for r in reqs][:1] == ["hang"] and reqs[0]["status"] is None


def test_fault_reset(api):
    api.fault(kind="reset", match={"path_regex": "validate"})
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        api("GET", "/validate")
    # raw socket: we get an RST (ECONNRESET), not a clean EOF with a response
    api.fault(kind="reset", match={"path_regex": "validate"})
    s = socket.create_connection(("127.0.0.1", api.port), timeout=3)
    s.sendall(b"GET /v2/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key-acme\r\n\r\n")
    try:
        data = s.recv(100)
        assert data == b""
    except ConnectionResetError:
        pass
    s.close()
    assert api("GET", "/validate").status == 200


def test_fault_slow_body(api):
    api.fault(kind="slow_body", match={"path_regex": "validate"}, seconds=0.01)
    t0 = time.time()
    r = api("GET", "/validate")
    dt = time.time() - t0
    assert r.status == 200 and r.json["company"] == ACME
    assert dt >= len(r.raw) * 0.01 * 0.8
    # a client that gives up mid-body does not hurt the server
    api.fault(kind="slow_body", match={"path_regex": "validate"}, seconds=0.5)
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=0.4)
    conn.request("GET", "/v2/validate", headers={"Authorization": "Bearer " + ACME_KEY})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Length")
    with pytest.raises((socket.timeout, TimeoutError)):
        resp.read()
    conn.close()
    assert api("GET", "/validate").status == 200


def test_fault_malformed_json(api):
    api.config(op_seconds=0)
    api.fault(kind="malformed_json", match={"method": "POST", "path_regex": "clear-cache"})
    r = api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE})
    assert r.status == 200
    assert r.raw.startswith(b'{"operation_id"')
    with pytest.raises(ValueError):
        json.loads(r.raw)
    # the request was processed for real (the answer broke in transit)
    assert len(api.ctl("GET", "/operations")) == 1


def test_fault_huge_deep_nul_json(api):
    api.fault(kind="huge_json", match={"path_regex": "validate"})
    t0 = time.time()
    r = api("GET", "/validate", timeout=20)
    assert r.status == 200
    assert int(r.header("Content-Length")) == len(r.raw)
    assert 50 * 1024 * 1024 - 2048 <= len(r.raw) <= 50 * 1024 * 1024
    assert r.raw.startswith(b'{"status":200') and r.raw.endswith(b'"end"]}')
    assert len(json.loads(r.raw)["data"]) > 50000
    assert time.time() - t0 < 10
    # smaller size knob, and a client that hangs up early
    api.fault(kind="huge_json", match={"path_regex": "validate"})
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=3)
    conn.request("GET", "/v2/validate", headers={"Authorization": "Bearer " + ACME_KEY})
    resp = conn.getresponse()
    resp.read(1000)
    conn.sock.close()
    conn.close()
    api.fault(kind="huge_json", match={"path_regex": "validate"}, bytes=10000)
    r = api("GET", "/validate")
    assert 9000 <= len(r.raw) <= 10000 and json.loads(r.raw)["status"] == 200

    api.fault(kind="deep_json", match={"path_regex": "validate"})
    r = api("GET", "/validate")
    assert r.status == 200 and len(r.raw) == 200000
    assert r.raw[:100000] == b"[" * 100000 and r.raw[100000:] == b"]" * 100000

    api.fault(kind="nul_json", match={"path_regex": "validate"})
    r = api("GET", "/validate")
    assert r.status == 200 and b"\x00" in r.raw and r.raw.startswith(b"{")
    assert api("GET", "/validate").status == 200


# --------------------------------------------------------------------------
# control API, recording, HTTP behaviour
# --------------------------------------------------------------------------

def test_request_recording(api):
    api.ctl("POST", "/reset-requests")
    api.config(op_seconds=0)
    t0 = time.time()
    api("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}, headers={"X-Test": "1"})
    api("GET", "/sites?company=%s&include_environments=true" % ACME)
    api("GET", "/validate", key="bogus")
    reqs = api.ctl("GET", "/requests")
    assert [r["method"] for r in reqs] == ["POST", "GET", "GET"]   # control calls are not recorded
    a, b, c = reqs
    assert a["path"] == "/v2/sites/tools/clear-cache" and a["api_path"] == "/sites/tools/clear-cache"
    assert a["body"] == {"environment_id": ALPHA_LIVE} and a["status"] == 202
    assert a["auth_ok"] is True and a["company"] == ACME
    assert all(k.lower() != "authorization" for k in a["headers"])
    assert a["headers"]["X-Test"] == "1"
    assert t0 - 1 <= a["time"] <= time.time() and isinstance(a["time"], float)
    assert b["query"] == {"company": ACME, "include_environments": "true"} and b["body"] is None
    assert c["auth_ok"] is False and c["company"] is None and c["status"] == 401
    assert ACME_KEY not in json.dumps(reqs) and "bogus" not in json.dumps(reqs)
    assert [r["method"] for r in api.ctl("GET", "/requests?method=post")] == ["POST"]
    assert len(api.ctl("GET", "/requests?since=%d" % a["seq"])) == 2
    assert len(api.ctl("GET", "/requests?path_regex=^/sites$")) == 1
    api.ctl("POST", "/reset-requests")
    assert api.ctl("GET", "/requests") == []


def test_control_api_misc(api):
    cfg = api.ctl("GET", "/config")
    assert cfg["rate_company"] == 120 and cfg["rate_ip"] == 1000 and cfg["rate_create"] == 5
    assert cfg["rate_logs"] == 35 and cfg["rate_window"] == 60 and cfg["op_404_seconds"] == 0
    assert request(api.port, "POST", "/_sim/config", {"nope": 1}, key=None).status == 400
    assert request(api.port, "GET", "/_sim/nope", key=None).status == 404
    st = api.ctl("GET", "/state")
    assert ACME_KEY not in json.dumps(st)
    comp = {c["id"]: c for c in st["companies"]}
    assert comp[ACME]["keys"][0]["key_hash"] == kinsta_sim.key_hash(ACME_KEY)
    assert "plugins" in comp[ACME]["sites"][0]["environments"][0]
    assert api.ctl("GET", "/health")["ok"] is True
    # reset restores the seed
    api.config(op_seconds=0)
    r = api("PUT", "/sites/tools/modify-php-version", {"environment_id": ALPHA_LIVE, "php_version": "8.4"})
    api.wait_op(r.json["operation_id"])
    api.ctl("POST", "/reset")
    sites = api("GET", "/sites?company=%s&include_environments=true" % ACME).json["company"]["sites"]
    assert sites[0]["environments"][0]["container_info"]["php_engine_version"] == "php8.1"
    assert api.ctl("GET", "/operations") == []


def test_keep_alive_and_content_length(api):
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=3)
    try:
        for i in range(5):
            r = request(api.port, "GET", "/v2/validate", conn=conn)
            assert r.status == 200 and int(r.header("Content-Length")) == len(r.raw)
        r = request(api.port, "GET", "/v2/validate", key="bad", conn=conn)
        assert r.status == 401 and int(r.header("Content-Length")) == len(r.raw)
        r = request(api.port, "POST", "/v2/sites/tools/clear-cache", {"environment_id": ALPHA_LIVE}, conn=conn)
        assert r.status == 202
    finally:
        conn.close()
    # only one TCP connection was used for those 7 requests
    reqs = api.ctl("GET", "/requests")
    assert len(reqs) == 7


def test_chunked_request_body(api):
    api.config(op_seconds=0)
    body = json.dumps({"environment_id": ALPHA_LIVE}).encode()
    s = socket.create_connection(("127.0.0.1", api.port), timeout=3)
    try:
        s.sendall(b"POST /v2/sites/tools/clear-cache HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer test-key-acme\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 202")


def test_concurrent_clients(api):
    errors = []

    def worker():
        try:
            for _ in range(10):
                assert api("GET", "/sites?company=%s&include_environments=true" % ACME).status == 200
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    stats = api.ctl("GET", "/stats")
    assert stats["by_status"]["200"] == 80 and stats["requests"] == 80
    assert stats["max_in_flight"] >= 1 and stats["in_flight"] >= 0
