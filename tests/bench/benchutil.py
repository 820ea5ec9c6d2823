"""Shared helpers of the end-to-end benchmarks (Python standard library only).

The simulator (tests/sim/kinsta_sim) runs as its own process, so that
its CPU use does not disturb the harness; the daemon runs as
`kinsta-cron -c FILE daemon --log-stderr` and its log lines are read by a
thread that notes when each arrived.  Everything listens on 127.0.0.1.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the simulator stamps each request with its kernel arrival time, so its
# records measure the daemon, not the simulator's own queueing
SIM = os.path.join(TOP, "tests", "sim", "kinsta_sim")   # the package: `python3 SIM` runs it
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

KEY = "bench-key-0001"


def find_bin(argv):
    """The kinsta-cron binary: $KCRON_BIN, or BUILD_DIR/kinsta-cron."""
    if os.environ.get("KCRON_BIN"):
        return os.environ["KCRON_BIN"]
    b = argv[1] if len(argv) > 1 else os.path.join(TOP, "build", "gcc")
    return os.path.join(b, "kinsta-cron")


def uid(prefix, n):
    """A UUID-shaped id from a 8-hex prefix and a number."""
    return "%s-%04x-4%03x-8%03x-%012x" % (prefix, (n >> 24) & 0xffff,
                                          (n >> 12) & 0xfff, n & 0xfff, n)


def company_id(c):
    return uid("c0ffee%02x" % (c & 0xff), c)


def seed(n_companies, sites_per_company, envs_per_site=1, label="bench"):
    """A seed with n_companies, each with its own key, sites and envs.
    Returns (seed dict, {company index: [env ids]})."""
    companies, envs = [], {}
    for c in range(n_companies):
        cid = company_id(c)
        sites, ids = [], []
        for s in range(sites_per_company):
            n = c * 1000000 + s
            es = []
            for e in range(envs_per_site):
                eid = uid("e%07x" % (n & 0xfffffff), n * 4 + e)
                es.append({"id": eid, "name": "live" if e == 0 else "env%d" % e})
                ids.append(eid)
            sites.append({"id": uid("5%07x" % (n & 0xfffffff), n), "name": "site-%d-%d" % (c, s),
                          "siteLabels": [{"id": uid("1abe1000", n), "name": label}],
                          "environments": es})
        companies.append({"id": cid, "name": "bench-%d" % c,
                          "keys": ["%s-%d" % (KEY, c)], "sites": sites})
        envs[c] = ids
    return {"companies": companies}, envs


class Sim:
    """The simulator as a subprocess."""

    def __init__(self, workdir, seed_obj, op_seconds=0.5, rate_company=120, rate_ip=1000,
                 rate_window=60.0):
        path = os.path.join(workdir, "seed.json")
        with open(path, "w") as fh:
            json.dump(seed_obj, fh)
        cmd = [PY, "-B", SIM, "--quiet", "--port", "0", "--state", path,
               "--op-seconds", str(op_seconds), "--rate-company", str(rate_company),
               "--rate-ip", str(rate_ip), "--rate-window", str(rate_window),
               "--rate-create", "1000000", "--rate-logs", "1000000"]
        self.err_path = os.path.join(workdir, "sim.err")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=open(self.err_path, "w"), text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"KINSTA_SIM_PORT=(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("simulator did not start: %r" % line)
        self.port = int(m.group(1))
        self.root = "http://127.0.0.1:%d" % self.port
        self.base_url = self.root + "/v2"

    def check(self):
        """Raise if the simulator has died (with its stderr's tail)."""
        if self.proc.poll() is not None:
            with open(self.err_path) as fh:
                tail = fh.read()[-2000:]
            raise RuntimeError("simulator exited with %s: %s" % (self.proc.returncode, tail))

    def get(self, path):
        self.check()
        with urllib.request.urlopen(self.root + path, timeout=60) as r:
            return json.loads(r.read())

    def post(self, path, body):
        req = urllib.request.Request(self.root + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def requests(self, **q):
        qs = "&".join("%s=%s" % kv for kv in q.items())
        return self.get("/_sim/requests" + ("?" + qs if qs else ""))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_config(workdir, api_url, n_accounts, jobs_text, rate=None, timeout=30):
    """kinsta-cron.conf in workdir with n_accounts accounts (acct0..) whose
    keys are files in workdir; jobs_text is the body of jobs = ( ... )."""
    rate = rate or {}
    accts = []
    for c in range(n_accounts):
        kf = os.path.join(workdir, "acct%d.key" % c)
        with open(kf, "w") as fh:
            fh.write("%s-%d\n" % (KEY, c))
        os.chmod(kf, 0o600)
        accts.append('{ name = "acct%d"; company = "%s"; key_file = "%s"; }'
                     % (c, company_id(c), kf))
    state = os.path.join(workdir, "state")
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o700)
    text = ('api = { url = "%s"; timeout = %d; };\n' % (api_url, timeout)
            + 'state_dir = "%s";\ntimezone = "UTC";\nlog_level = "info";\n' % state
            + "rate_limits = { company = %d; ip = %d; create = %d; logs = %d; };\n"
            % (rate.get("company", 120), rate.get("ip", 1000), rate.get("create", 5),
               rate.get("logs", 35))
            + "accounts = (\n  " + ",\n  ".join(accts) + "\n);\n"
            + "jobs = (\n" + jobs_text + "\n);\n")
    path = os.path.join(workdir, "kinsta-cron.conf")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def parse_stamp(s):
    """'2026-01-02T03:04:05.678Z' -> epoch seconds (float)."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def iso_to_epoch(s):
    """A slot= value (ISO-8601 with offset or Z) -> epoch seconds."""
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Daemon:
    """kinsta-cron daemon --log-stderr; every log line kept as
    (arrival time, stamp epoch, text)."""

    def __init__(self, binary, conf, extra_env=None):
        env = dict(os.environ)
        env.pop("KINSTA_API_KEY", None)
        env.pop("CREDENTIALS_DIRECTORY", None)
        env.update(extra_env or {})
        self.lines = []
        self.cond = threading.Condition()
        self.t_spawn = time.time()
        self.proc = subprocess.Popen([binary, "-c", conf, "daemon", "--log-stderr"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            now = time.time()
            text = raw.decode("utf-8", "replace").rstrip("\n")
            stamp = None
            m = re.match(r"^(\S+Z) ", text)
            if m:
                try:
                    stamp = parse_stamp(m.group(1))
                except ValueError:
                    pass
            with self.cond:
                self.lines.append((now, stamp, text))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """Index of the first line (from start) matching pattern, or None."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i][2]):
                        return i
                    i += 1
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(min(left, 0.2))

    def matching(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return [l for l in self.lines if rx.search(l[2])]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)


def proc_status(pid):
    """{field: value} of /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def ctxt(pid, tid=None):
    path = "/proc/%d/task/%d/status" % (pid, tid) if tid else "/proc/%d/status" % pid
    vol = nonvol = 0
    with open(path) as fh:
        for line in fh:
            if line.startswith("voluntary_ctxt_switches:"):
                vol = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                nonvol = int(line.split()[1])
    return vol, nonvol


def cpu_seconds(pid, tid=None):
    """utime + stime of the process (or one thread), seconds."""
    path = "/proc/%d/task/%d/stat" % (pid, tid) if tid else "/proc/%d/stat" % pid
    with open(path) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime is field 14, stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid):
    """{tid: name} of the process's threads."""
    out = {}
    for t in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as fh:
                out[int(t)] = fh.read().strip()
        except OSError:
            pass
    return out


def kb(s):
    """'1234 kB' -> 1234."""
    return int(s.split()[0])


def rss_kb(pid):
    """VmRSS of pid, kB."""
    return kb(proc_status(pid)["VmRSS"])


def hwm_reset(pid):
    """Make VmHWM the current RSS (clear_refs 5), so that the next reading
    is the peak of what follows; False where the kernel refuses."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def rss_by_mapping(pid):
    """{mapping: [rss kB, anonymous kB]} from /proc/PID/smaps: a file's
    basename, [heap], [stack] or [anon] (every unnamed mapping together).
    The anonymous part of a library is its relocated data (private dirty
    copies); the rest is its pages in the page cache, shared with every
    process that maps it."""
    out = {}
    cur = None
    with open("/proc/%d/smaps" % pid) as fh:
        for line in fh:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else "[anon]"
                cur = out.setdefault(os.path.basename(name) if name.startswith("/") else name,
                                     [0, 0])
            elif line.startswith("Rss:"):
                cur[0] += int(line.split()[1])
            elif line.startswith("Anonymous:"):
                cur[1] += int(line.split()[1])
    return out


def rss_summary(pid, top=6):
    """Two lines: RSS split into anonymous and file pages, then the
    largest mappings (rss/anonymous kB) and the rest of the libraries."""
    st = proc_status(pid)
    maps = rss_by_mapping(pid)
    libs = {k: v for k, v in maps.items() if not k.startswith("[")}
    own = {k: v for k, v in maps.items() if k.startswith("[")}
    big = sorted(maps.items(), key=lambda kv: -kv[1][0])[:top]
    rest = [v for k, v in libs.items() if k not in dict(big)]
    return ("RssAnon %s, RssFile %s; %d files mapped: %d kB (%d kB of it their relocated "
            "data), heap and anonymous: %d kB"
            % (st.get("RssAnon", "?"), st.get("RssFile", "?"), len(libs),
               sum(v[0] for v in libs.values()), sum(v[1] for v in libs.values()),
               sum(v[0] for v in own.values())),
            ", ".join("%s %d/%d" % (k, v[0], v[1]) for k, v in big)
            + ", %d more files %d kB" % (len(rest), sum(v[0] for v in rest)))


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def workdir(name):
    return tempfile.mkdtemp(prefix="kcron-%s-" % name)


def verdict(ok):
    return "ok" if ok else "MISSED"
