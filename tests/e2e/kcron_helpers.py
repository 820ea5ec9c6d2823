"""Shared helpers for the end-to-end tests of kinsta-cron.

Import it from a test file in tests/e2e with:

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import kcron_helpers as kh

What it offers:

* ``BIN``, ``SRC``: the binary under test (``$KCRON_BIN``) and the source
  tree (``$KCRON_SOURCE_DIR``), as ctest passes them.
* Seed facts of the simulator (companies, sites, environment ids), see
  tests/sim/README.md.
* ``Sim``: the simulator (the package tests/sim/kinsta_sim) as a subprocess on
  127.0.0.1 with a port chosen by the OS, and its /_sim/ control API.
* ``lc()``, ``job()``, ``write_config()``: libconfig text from Python
  values, and a configuration folder with a 0600 key file.
* ``run()``: the binary, with its output checked for the API key.
* ``parse_kv()``, ``Result.outcomes``: ``key=value`` lines as dicts.
* ``wait_for()``: poll a condition with a deadline.

Every helper asserts that the API key never reaches the binary's output.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.environ.get("KCRON_SOURCE_DIR",
                                     os.path.join(HERE, "..", "..")))
BIN = os.environ.get("KCRON_BIN", "kinsta-cron")
# the simulator package; `python3 SIM_PKG ...` runs its command line
SIM_PKG = os.path.join(SRC, "tests", "sim", "kinsta_sim")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable

# A distinctive API key: the simulator knows it for Acme; it must never
# appear in anything the binary prints.
KEY = "kc-e2e-S3CRET-run-9d41c7a2e85f"
GLOBEX_KEY = "kc-e2e-S3CRET-globex-60b3f1d2"

# --- the simulator's seed (tests/sim/README.md) ---------------------------
ACME = "aaaaaaaa-0000-4000-8000-000000000001"
GLOBEX = "bbbbbbbb-0000-4000-8000-000000000002"
SITES = {  # name -> site id
    "alphasite": "11111111-1111-4111-8111-111111111111",
    "bravosite": "22222222-2222-4222-8222-222222222222",
    "charliesite": "33333333-3333-4333-8333-333333333333",
    "deltasite": "44444444-4444-4444-8444-444444444444",
    "echosite": "55555555-5555-4555-8555-555555555555",
    "foxtrotsite": "66666666-6666-4666-8666-666666666666",
    "golfsite": "77777777-7777-4777-8777-777777777777",
}
ENVS = {  # (site, environment name) -> environment id
    ("alphasite", "live"): "a1111111-1111-4111-8111-111111111111",
    ("alphasite", "staging"): "a1111111-1111-4111-8111-111111111112",
    ("bravosite", "live"): "a2222222-2222-4222-8222-222222222222",
    ("charliesite", "staging"): "a3333333-3333-4333-8333-333333333331",
    ("charliesite", "live"): "a3333333-3333-4333-8333-333333333333",
    ("deltasite", "live"): "a4444444-4444-4444-8444-444444444444",
    ("echosite", "live"): "a5555555-5555-4555-8555-555555555555",
    ("foxtrotsite", "live"): "a6666666-6666-4666-8666-666666666666",
    ("foxtrotsite", "staging"): "a6666666-6666-4666-8666-666666666661",
    ("golfsite", "live"): "a7777777-7777-4777-8777-777777777777",
}
ACME_APP = "0a990001-0000-4000-8000-000000000001"
ACME_STATIC = "05a70001-0000-4000-8000-000000000001"


def env_id(site, env="live"):
    """The seeded environment id of site/env."""
    return ENVS[(site, env)]


def edge_id(env):
    """Edge-cache id of a seeded environment (first letter -> e)."""
    return "e" + env[1:]


def cdn_id(env):
    """CDN id of a seeded environment (first letter -> c)."""
    return "c" + env[1:]


def wait_for(cond, timeout=30.0, interval=0.1, what="condition"):
    """Call cond() until it returns something true; return that, or fail
    with `what` after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


# --- the simulator --------------------------------------------------------

class Sim:
    """The simulator (tests/sim/kinsta_sim) in a subprocess on 127.0.0.1.

    Sim(op_seconds=0.3, rate_company=3, ...) takes the simulator's command
    line options with underscores (see tests/sim/README.md); `keys` adds
    ``KEY=COMPANY`` pairs (KEY for Acme and GLOBEX_KEY for Globex are
    always added).  Use as a context manager or call stop().
    """

    def __init__(self, keys=(), quiet=True, **opts):
        args = [PYTHON, SIM_PKG, "--port", "0"]
        if quiet:
            args.append("--quiet")
        for k in (KEY + "=" + ACME, GLOBEX_KEY + "=" + GLOBEX) + tuple(keys):
            args += ["--key", k]
        for name, value in opts.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"KINSTA_SIM_PORT=(\d+)\n", line)
        if m is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("simulator did not start: %r" % line)
        self.port = int(m.group(1))
        self.root = "http://127.0.0.1:%d" % self.port
        self.url = self.root + "/v2"  # api.url

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    # -- control API --
    def ctl(self, method, path, body=None, timeout=30):
        """Call /_sim/<path>; return the decoded JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            hdrs = {"Content-Type": "application/json"} if data else {}
            conn.request(method, "/_sim/" + path.lstrip("/"), body=data,
                         headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            assert r.status == 200, (path, r.status, raw[:300])
            return json.loads(raw) if raw else None
        finally:
            conn.close()

    def reset(self, **config):
        """Back to the seed (state, faults, requests, rate windows), then
        apply config (see /_sim/config)."""
        self.ctl("POST", "reset")
        if config:
            self.config(**config)

    def config(self, **kw):
        return self.ctl("POST", "config", kw)

    def fault(self, kind, method=None, path_regex=None, count=1, **kw):
        """Add a fault (kind: 500, 502, 503, 429, 401, hang, reset,
        slow_body, malformed_json, huge_json, deep_json, nul_json)."""
        match = {}
        if method:
            match["method"] = method
        if path_regex:
            match["path_regex"] = path_regex
        spec = dict(kind=kind, match=match, count=count)
        spec.update(kw)
        return self.ctl("POST", "fault", spec)

    def requests(self, method=None, path_regex=None):
        """Recorded API requests (not /_sim), oldest first."""
        q = []
        if method:
            q.append("method=" + method)
        if path_regex:
            q.append("path_regex=" + _quote(path_regex))
        return self.ctl("GET", "requests" + ("?" + "&".join(q) if q else ""))

    def calls(self, mutating_only=False):
        """(method, api_path, body) of every recorded request; api_path
        includes the query string when there was one."""
        out = []
        for r in self.requests():
            if mutating_only and r["method"] == "GET":
                continue
            p = r["api_path"] + ("?" + r["raw_query"] if r.get("raw_query")
                                 else "")
            out.append((r["method"], p, r.get("body")))
        return out

    def state(self):
        return self.ctl("GET", "state")

    def stats(self):
        return self.ctl("GET", "stats")

    def operations(self):
        return self.ctl("GET", "operations")

    def env_state(self, env):
        """The simulator's record of one environment (plugins, backups...)."""
        for c in self.state()["companies"]:
            for s in c["sites"]:
                for e in s["environments"]:
                    if e["id"] == env:
                        return e
        raise KeyError(env)


def _quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


# --- configuration --------------------------------------------------------

def lc(v):
    """A Python value as libconfig text: str, bool, int, float, list
    (an array of scalars), dict (a group)."""
    if isinstance(v, dict):
        return "{ " + " ".join("%s = %s;" % (k, lc(x))
                               for k, x in v.items()) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(lc(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + s + '"'


def job(name, action, schedule="0 0 3 * * *", **keys):
    """One job entry: job("j", "clear-cache", site="alphasite")."""
    fields = dict(name=name, schedule=schedule, action=action)
    fields.update(keys)
    return "{ " + " ".join("%s = %s;" % (k, lc(v))
                           for k, v in fields.items()) + " }"


def write_config(folder, jobs, url, key=KEY, api_timeout=10, extra="",
                 accounts=None):
    """Write folder/kinsta-cron.conf (and folder/acme.key, mode 0600) for
    the jobs (entries from job() or text) against api url; return the
    configuration's path.  accounts: extra libconfig account entries."""
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    keyfile = os.path.join(folder, "acme.key")
    with open(keyfile, "w") as f:
        f.write(key + "\n")
    os.chmod(keyfile, 0o600)
    state = os.path.join(folder, "state")
    os.makedirs(state, exist_ok=True)
    accts = ['{ name = "acme"; company = "%s"; key_file = "acme.key"; }'
             % ACME] + list(accounts or [])
    text = ("api = { url = %s; timeout = %d; };\n"
            "state_dir = %s;\n"
            "timezone = \"UTC\";\n"
            "%s\n"
            "accounts = (\n  %s\n);\n"
            "jobs = (\n  %s\n);\n") % (
        lc(url), api_timeout, lc(state), extra, ",\n  ".join(accts),
        ",\n  ".join(jobs))
    path = os.path.join(folder, "kinsta-cron.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


# --- running the binary ---------------------------------------------------

_KV = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(line):
    """key=value fields of one output or log line as a dict; quoted values
    are unquoted (\\" \\\\ \\n)."""
    out = {}
    for m in _KV.finditer(line):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n"
                       else x.group(1), v[1:-1])
        out[m.group(1)] = v
    return out


class Result:
    """The end of one invocation: returncode, stdout, stderr, elapsed."""

    def __init__(self, proc, elapsed):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed

    @property
    def outcomes(self):
        """The `job=... outcome=...` lines of `run`, as dicts."""
        return [parse_kv(l) for l in self.stdout.splitlines()
                if l.startswith("job=") and " outcome=" in l]

    def by_target(self):
        """outcome dicts keyed by target (SITE/ENV or env id)."""
        return {o["target"]: o for o in self.outcomes}

    def __repr__(self):
        return "Result(rc=%r, stdout=%r, stderr=%r)" % (
            self.returncode, self.stdout[-2000:], self.stderr[-2000:])


def run(conf, *args, timeout=120, env=None, secrets=(KEY, GLOBEX_KEY)):
    """kinsta-cron -c conf ARGS...; asserts no secret is in the output."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY")}
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run([BIN, "-c", str(conf)] + list(args), env=e,
                       capture_output=True, text=True, timeout=timeout,
                       errors="replace")
    res = Result(p, time.monotonic() - t0)
    for s in secrets:
        assert s not in p.stdout and s not in p.stderr, \
            "the API key leaked into the output"
    return res


def run_job(conf, name, *args, **kw):
    """kinsta-cron -c conf run NAME ARGS..."""
    return run(conf, "run", name, *args, **kw)
