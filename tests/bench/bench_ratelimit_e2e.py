#!/usr/bin/python3
"""Rate budget, end to end: 1,000 environments of one account due at once.

    bench_ratelimit_e2e.py [BUILD_DIR]

The simulator and the daemon get the same per-minute company limit L
(BENCH_RATE_LIMIT, default 1900: the run then needs a bit more than one
window, about a minute).  `kinsta-cron run` clears the cache of every site
of the account (all_sites: one site list, 1,000 POSTs, their polls).
Printed: the requests the simulator saw, the bound requests / L * 60 s,
the makespan (first to last request seen), their ratio (target <= 1.05),
the 429s (target 0), requests per operation.  For scale, the same mix
sent by a naive client that fires everything at once.

Environment: BENCH_ENVS (1000), BENCH_RATE_LIMIT (1900), BENCH_OP_SECONDS
(0.5), BENCH_TIMEOUT (300 s, the run is killed after it).
"""
import collections
import concurrent.futures
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402

WINDOW = 60.0  # the daemon's rate_limits are per minute


def kind(r):
    p = r["api_path"]
    if p.startswith("/operations/"):
        return "poll"
    if r["method"] == "GET" and p == "/sites":
        return "listing"
    if r["method"] == "POST":
        return "action"
    return "other"


def naive(sim, envs, company, limit):
    """Everything at once, no budget: the site list, 1,000 POSTs on 64
    threads, then one poll of each operation 2 s later (what the daemon
    sends).  Returns (requests, 429s, seconds)."""
    key = "%s-0" % bu.KEY
    hdr = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}

    def call(method, path, body=None):
        req = urllib.request.Request(sim.base_url + path, method=method, headers=hdr,
                                     data=json.dumps(body).encode() if body else None)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    sim.post("/_sim/reset", {})
    sim.post("/_sim/config", {"rate_company": limit})
    t0 = time.time()
    call("GET", "/sites?company=%s&include_environments=true" % company)
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        res = list(pool.map(lambda e: call("POST", "/sites/tools/clear-cache",
                                           {"environment_id": e}), envs))
        time.sleep(2.0)
        ops = [b["operation_id"] for s, b in res if s == 202 and b]
        list(pool.map(lambda o: call("GET", "/operations/" + o), ops))
    st = sim.get("/_sim/stats")
    return st["requests"], st["rate_limited"], time.time() - t0


def main():
    binary = bu.find_bin(sys.argv)
    n_envs = int(os.environ.get("BENCH_ENVS", "1000"))
    limit = int(os.environ.get("BENCH_RATE_LIMIT", "1900"))
    op_s = float(os.environ.get("BENCH_OP_SECONDS", "0.5"))
    tmo = float(os.environ.get("BENCH_TIMEOUT", "300"))
    wd = bu.workdir("rate")
    seed, envs = bu.seed(1, n_envs)
    sim = bu.Sim(wd, seed, op_seconds=op_s, rate_company=limit, rate_ip=10000000,
                 rate_window=WINDOW)
    try:
        conf = bu.write_config(
            wd, sim.base_url, 1,
            '{ name = "cache-all"; schedule = "0 0 1 1 *"; action = "clear-cache";\n'
            '  all_sites = true; environment = "live"; }',
            rate={"company": limit, "ip": 100000, "create": 1000, "logs": 1000})
        print("rate budget: %d environments of one account, company limit %d/min on both "
              "sides, op_seconds %.1f" % (n_envs, limit, op_s))
        t0 = time.time()
        try:
            out = subprocess.run([binary, "-c", conf, "run", "cache-all"], capture_output=True,
                                 text=True, timeout=tmo)
            rc, stdout = out.returncode, out.stdout
        except subprocess.TimeoutExpired as e:
            rc, stdout = "timeout", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) \
                else (e.stdout or "")
        wall = time.time() - t0
        outcomes = collections.Counter()
        for line in stdout.splitlines():
            for f in line.split():
                if f.startswith("outcome="):
                    outcomes[f[8:]] += 1
        reqs = sim.requests()
        st = sim.get("/_sim/stats")
        times = sorted(r["time"] for r in reqs)
        n = len(reqs)
        by_kind = collections.Counter(kind(r) for r in reqs)
        n429 = sum(1 for r in reqs if r["status"] == 429)
        makespan = times[-1] - times[0] if times else float("nan")
        bound = n / limit * WINDOW
        # A rolling window lets L go at once; the least possible makespan
        # is (ceil(n / L) - 1) windows (plus the time the sends take).
        ideal = (math.ceil(n / limit) - 1) * WINDOW
        ratio = makespan / bound
        # the busiest 60 s the simulator saw (must be <= L)
        peak, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - WINDOW:
                j += 1
            peak = max(peak, i - j + 1)
        ops = by_kind["action"]
        print("  kinsta-cron run: exit %s, %.1f s wall, outcomes %s"
              % (rc, wall, dict(outcomes)))
        print("  requests seen by the simulator: %d (listing %d, actions %d, polls %d, other %d;"
              " stats.requests %d)" % (n, by_kind["listing"], by_kind["action"],
                                       by_kind["poll"], by_kind["other"], st["requests"]))
        print("  bound = requests / limit * 60 s = %.2f s   (rolling-window least: %.0f s)"
              % (bound, ideal))
        print("  makespan (first to last request seen) = %.2f s" % makespan)
        print("  ratio makespan / bound = %.3f   target <= 1.05: %s"
              % (ratio, bu.verdict(ratio <= 1.05)))
        print("  429 received = %d (stats.rate_limited %d)   target 0: %s"
              % (n429, st["rate_limited"], bu.verdict(n429 == 0)))
        print("  requests per operation = %.3f   (%d requests / %d operations)"
              % (n / ops if ops else float("nan"), n, ops))
        print("  busiest 60 s seen by the simulator: %d requests (limit %d)" % (peak, limit))
        print("  simulator max_in_flight %d" % st["max_in_flight"])
        # Where 429s come from: when did the first window's requests reach
        # the simulator, and when did the next window's first one arrive?
        rs = sorted(reqs, key=lambda r: r["time"])
        t0 = rs[0]["time"]
        if len(rs) > limit:
            print("  first %d requests reached the simulator between +%.3f and +%.3f s; "
                  "request %d at +%.3f s" % (limit, 0.0, rs[limit - 1]["time"] - t0, limit + 1,
                                             rs[limit]["time"] - t0))
        for r in [r for r in rs if r["status"] == 429][:10]:
            inwin = sum(1 for x in rs if r["time"] - WINDOW < x["time"] <= r["time"]
                        and x["status"] != 429 and x is not r)
            print("    429 at +%.3f s %s %s: %d admitted in the simulator's last 60 s"
                  % (r["time"] - t0, r["method"], r["api_path"][:40], inwin))

        # For scale: the same mix, fired at once without a budget.
        company = bu.company_id(0)
        nreq, n429, secs = naive(sim, envs[0], company, limit)
        print("  naive (all at once, limit %d/min): %d requests, %d x 429, %.1f s"
              % (limit, nreq, n429, secs))
        nreq, n429, secs = naive(sim, envs[0], company, 120)
        print("  naive (all at once, Kinsta's 120/min): %d requests, %d x 429, %.1f s"
              % (nreq, n429, secs))
    finally:
        sim.stop()
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
