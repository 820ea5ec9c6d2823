#!/usr/bin/python3
"""Learned polling, end to end: polls per operation and how soon the end of
an operation is seen, against the simulator on 127.0.0.1 and one daemon
(`kinsta-cron -c FILE daemon --log-stderr`) that runs the whole time, so
that what it learns (state.json "durations") carries from phase to phase.

    bench_polling.py [BUILD_DIR]

One account; the company limit is L per minute (BENCH_RATE_LIMIT, 120) in
the simulator and in the daemon's rate_limits.  The simulator gives each
environment its operation length (op_seconds_env).

fleet   two jobs, overlap = "queue": "fast", clear-cache on BENCH_FAST_ENVS
        (5) environments whose operations take BENCH_FAST_SECONDS (10 s),
        @every 2 x that; "slow", restart-php on BENCH_SLOW_ENVS (10)
        environments of BENCH_SLOW_SECONDS (60 s), @every about 4/3 x that
        (the period picked so that the first slot comes soon).  Each action
        is its own kind (action@company), learned apart.  The slow job's
        first BENCH_WARMUP (4) runs are the warm-up; its next BENCH_RUNS (5)
        runs, and the fast runs fired from the first of them to the end of
        the last, are measured.  Per kind: polls per operation (GETs of
        /operations/<id> in the simulator's request log; target mean <=
        1.5) and detection delay (arrival of the poll that saw it done minus
        the operation's end; target p99 <= max(2 s, 20 % of its length)),
        p50/p99/max.  The end is created + duration: the simulator stamps
        `finished` only when it next handles a request, often the very poll
        that sees it, so `finished` would make every delay about 0.  Then
        operations per minute achieved against the ceiling L / (1 + k), k
        the measured polls per operation (what the budget allows if every
        request went to such operations; the fleet's schedules, not the
        budget, bound what it achieves).
cold    the same fleet's first runs: operations started before their kind
        had 3 learned durations (the fixed ladder 2, 4, 8, 15, 30 s), the
        before of the before/after.
burst   a reload drops the fleet; once it has drained, a second reload adds
        a restart-php job on BENCH_BURST_ENVS (20) other environments of
        BENCH_SLOW_SECONDS, firing once a few seconds later (six-field
        cron): the kind is learned from the fleet.  From the first POST to
        the last completion seen (the poll that saw the last one done);
        target <= BENCH_SLOW_SECONDS + 10 s (70 s).

Every phase has a deadline, and the whole run BENCH_TIMEOUT (2400 s); what
was measured before a deadline is still printed.  Shorter:
BENCH_SLOW_SECONDS=20 BENCH_RUNS=2 (about 4 minutes; with shorter or more
operations the fleet reaches the limit, and the budget's waits show in
the delays).  The default takes about 15 minutes.  BENCH_KEEP=1
keeps the work directory, with the simulator's requests.json and
operations.json and the daemon's log (daemon.log).
"""
import bisect
import collections
import json
import math
import os
import shutil
import signal
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402

MIN_SAMPLES = 3  # the daemon's estimate needs this many durations (ops.h)


def env_int(name, default):
    return int(os.environ.get(name, str(default)))


def env_float(name, default):
    return float(os.environ.get(name, str(default)))


def pick_period(base, span, runs, lead=4.0):
    """An @every period in [base, base + span] seconds whose first slot is
    at least lead seconds away, chosen for the least wait + runs x period
    (@every slots are multiples of the period since the epoch)."""
    now = time.time()
    best = None
    for p in range(base, base + span + 1):
        first = math.ceil((now + lead) / p) * p
        cost = (first - now) + runs * p
        if best is None or cost < best[0]:
            best = (cost, p, first)
    return best[1], best[2]


def job(name, schedule, action, envs, overlap="queue"):
    return ('{ name = "%s"; schedule = "%s"; action = "%s"; overlap = "%s";\n'
            '  environment_ids = [%s]; }'
            % (name, schedule, action, overlap, ", ".join('"%s"' % e for e in envs)))


class Clock:
    """The run's deadline and elapsed time."""

    def __init__(self, budget):
        self.t0 = time.time()
        self.end = self.t0 + budget

    def left(self):
        return self.end - time.time()

    def since(self):
        return time.time() - self.t0


def wait_until(pred, timeout, clock, step=0.5):
    """Poll pred() until true; False at the deadline (or the run's)."""
    deadline = min(time.time() + timeout, clock.end)
    while True:
        if pred():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(step)


def results(d, job_name):
    """The daemon's result lines (one per environment and run) of a job."""
    return d.matching(r"job=%s action=\S+ env=\S+ target=\S+ op=\S+ outcome=" % job_name)


def fires(d, job_name):
    """Times (the daemon's own stamps) of the job's event=fire lines."""
    return sorted(l[1] if l[1] is not None else l[0]
                  for l in d.matching(r"job=%s action=\S+ slot=\S+ event=fire" % job_name))


def reload(d, clock):
    n = len(d.lines)
    d.proc.send_signal(signal.SIGHUP)
    i = d.wait_for(r"event=reloaded|event=reload-failed", min(30, max(1, clock.left())), n)
    return i is not None and "event=reloaded" in d.lines[i][2]


class Op:
    __slots__ = ("id", "env", "kind", "created", "end", "length", "state", "polls",
                 "done_at", "first_poll", "run", "post_at")

    def __init__(self, o, kind):
        self.id = o["id"]
        self.env = o["env_ids"][0] if o["env_ids"] else None
        self.kind = kind
        self.created = o["created"]
        self.length = o["duration"]
        self.end = o["created"] + o["duration"]
        self.state = o["state"]
        self.polls = 0
        self.done_at = None     # arrival of the poll that saw it done
        self.first_poll = None
        self.run = None
        self.post_at = None

    def delay(self):
        return None if self.done_at is None else self.done_at - self.end


def gather(sim, kind_of_env):
    """The simulator's operations of the benchmark's kinds, with their
    polls; the 429s; the POST arrival of each environment's operations."""
    reqs = sim.requests()
    ops = {}
    for o in sim.get("/_sim/operations"):
        k = kind_of_env.get(o["env_ids"][0] if o["env_ids"] else None)
        if k is not None:
            ops[o["id"]] = Op(o, k)
    posts = collections.defaultdict(list)  # env -> [(arrival, status)]
    for r in sorted(reqs, key=lambda r: r["time"]):
        p = r["api_path"]
        if r["method"] == "GET" and p.startswith("/operations/"):
            op = ops.get(urllib.parse.unquote(p[len("/operations/"):]))
            if op is None:
                continue
            op.polls += 1
            if op.first_poll is None:
                op.first_poll = r["time"]
            if op.done_at is None and r["status"] in (200, 500):
                op.done_at = r["time"]
        elif r["method"] == "POST" and isinstance(r.get("body"), dict):
            env = r["body"].get("environment_id")
            if env in kind_of_env and r["status"] == 202:
                posts[env].append(r["time"])
    # each operation's POST: the last accepted POST on its environment
    # that arrived before the simulator created it
    for op in ops.values():
        ts = posts.get(op.env, [])
        i = bisect.bisect_right(ts, op.created + 0.001)
        op.post_at = ts[i - 1] if i else op.created
    n429 = sum(1 for r in reqs if r["status"] == 429)
    return reqs, sorted(ops.values(), key=lambda o: o.created), n429


def mark_runs(ops, fire_times):
    """op.run = the number (1..) of the job's fire just before it started."""
    for op in ops:
        ft = fire_times.get(op.kind, [])
        op.run = bisect.bisect_right(ft, op.created + 0.002)


def learned_at_start(ops, learned_as):
    """{op id: True} when its kind (learned_as: the daemon's key, action and
    company) had >= MIN_SAMPLES durations (operations seen done) before it
    started: the daemon then had an estimate."""
    seen = collections.defaultdict(list)
    for op in ops:
        if op.done_at is not None:
            seen[learned_as[op.kind]].append(op.done_at)
    for v in seen.values():
        v.sort()
    return {op.id: bisect.bisect_left(seen[learned_as[op.kind]], op.post_at) >= MIN_SAMPLES
            for op in ops}


def stats(ops):
    polls = [o.polls for o in ops]
    delays = sorted(o.delay() for o in ops if o.delay() is not None)
    return {
        "n": len(ops),
        "k": sum(polls) / len(polls) if polls else float("nan"),
        "hist": collections.Counter(polls),
        "delays": delays,
        "unseen": sum(1 for o in ops if o.done_at is None),
    }


def busiest(times, t_from, t_to, window=60.0):
    """The most requests in any window seconds ending in [t_from, t_to]."""
    ts = sorted(t for t in times if t_from - window < t <= t_to)
    peak, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - window:
            j += 1
        if t >= t_from:
            peak = max(peak, i - j + 1)
    return peak


def hist_text(h):
    return " ".join("%dx%d" % (c, p) for p, c in sorted(h.items()))


def fmt_s(v):
    return "%.2f" % v if v == v else "-"


def summary(label, ops, length, with_verdicts):
    s = stats(ops)
    if not s["n"]:
        print("  %s: no operations" % label)
        return s
    d = s["delays"]
    target = max(2.0, 0.2 * length)
    print("  %s: %d operations" % (label, s["n"]))
    line = ("    polls per operation = %.2f   (ops x polls: %s)"
            % (s["k"], hist_text(s["hist"])))
    if with_verdicts:
        line += "   target <= 1.5: %s" % bu.verdict(s["k"] <= 1.5)
    print(line)
    line = ("    detection delay p50 %s s, p99 %s s, max %s s"
            % (fmt_s(bu.pct(d, 50)), fmt_s(bu.pct(d, 99)), fmt_s(d[-1] if d else float("nan"))))
    if with_verdicts:
        ok = bool(d) and bu.pct(d, 99) <= target and s["unseen"] == 0
        line += "   target p99 <= %.1f s: %s" % (target, bu.verdict(ok))
    if s["unseen"]:
        line += "   (%d never seen done)" % s["unseen"]
    print(line)
    return s


def per_run_table(ops, names, learned, phase_of):
    print("  per run (first poll: after the POST; delay: poll that saw it done - end):")
    print("    %-5s %4s %-9s %4s %9s %11s %-17s %s"
          % ("kind", "run", "phase", "ops", "polls/op", "first poll", "delay p50/max s",
             "estimate at start"))
    by = collections.defaultdict(list)
    for op in ops:
        by[(op.kind, op.run)].append(op)
    order = {"fast": 0, "slow": 1, "burst": 2}
    for (kind, run) in sorted(by, key=lambda kr: (order[kr[0]], kr[1])):
        g = by[(kind, run)]
        s = stats(g)
        fp = sorted(o.first_poll - o.post_at for o in g if o.first_poll is not None)
        d = s["delays"]
        nl = sum(1 for o in g if learned[o.id])
        print("    %-5s %4d %-9s %4d %9.2f %10s %-17s %s"
              % (names[kind], run, phase_of(kind, run), s["n"], s["k"],
                 "+%.1f s" % bu.pct(fp, 50) if fp else "-",
                 "%s / %s" % (fmt_s(bu.pct(d, 50)), fmt_s(d[-1] if d else float("nan"))),
                 "yes" if nl == len(g) else "no" if nl == 0 else "%d of %d" % (nl, len(g))))


def read_durations(state_dir):
    try:
        with open(os.path.join(state_dir, "state.json")) as fh:
            return json.load(fh).get("durations", [])
    except (OSError, ValueError):
        return []


def main():
    binary = bu.find_bin(sys.argv)
    limit = env_int("BENCH_RATE_LIMIT", 120)
    fast_s = env_float("BENCH_FAST_SECONDS", 10)
    slow_s = env_float("BENCH_SLOW_SECONDS", 60)
    n_fast = env_int("BENCH_FAST_ENVS", 5)
    n_slow = env_int("BENCH_SLOW_ENVS", 10)
    n_burst = env_int("BENCH_BURST_ENVS", 20)
    warmup = max(1, env_int("BENCH_WARMUP", 4))
    runs = max(1, env_int("BENCH_RUNS", 5))
    clock = Clock(env_float("BENCH_TIMEOUT", 2400))
    keep = os.environ.get("BENCH_KEEP", "") not in ("", "0")
    rate = {"company": limit, "ip": 1000, "create": 5, "logs": 35}

    wd = bu.workdir("polling")
    seed, envs = bu.seed(1, n_fast + n_slow + n_burst)
    envs = envs[0]
    fast_envs = envs[:n_fast]
    slow_envs = envs[n_fast:n_fast + n_slow]
    burst_envs = envs[n_fast + n_slow:]
    kind_of_env = {}
    for e in fast_envs:
        kind_of_env[e] = "fast"
    for e in slow_envs:
        kind_of_env[e] = "slow"
    for e in burst_envs:
        kind_of_env[e] = "burst"
    length = {"fast": fast_s, "slow": slow_s, "burst": slow_s}
    names = {"fast": "%gs" % fast_s, "slow": "%gs" % slow_s, "burst": "burst"}

    sim = bu.Sim(wd, seed, op_seconds=1.0, rate_company=limit, rate_ip=1000, rate_window=60.0)
    d = None
    timed_out = []
    try:
        sim.post("/_sim/config", {"op_seconds_env": {e: length[k] for e, k in kind_of_env.items()}})
        p_fast, _ = pick_period(max(1, int(math.ceil(2 * fast_s))), 0, 0)
        p_slow, first_slow = pick_period(max(1, int(math.ceil(slow_s * 4 / 3))),
                                         max(1, int(slow_s / 3)), warmup + runs)
        fleet = (job("fast", "@every %ds" % p_fast, "clear-cache", fast_envs) + ",\n"
                 + job("slow", "@every %ds" % p_slow, "restart-php", slow_envs))
        conf = bu.write_config(wd, sim.base_url, 1, fleet, rate=rate)
        state_dir = os.path.join(wd, "state")
        print("polling: one company, limit %d/min on both sides; fleet: clear-cache on %d envs "
              "(%g s operations, @every %ds) and restart-php on %d envs (%g s, @every %ds), "
              "overlap queue; warm-up %d and measured %d runs of the %g s job"
              % (limit, n_fast, fast_s, p_fast, n_slow, slow_s, p_slow, warmup, runs, slow_s))

        d = bu.Daemon(binary, conf)
        if d.wait_for(r"event=start", 30) is None:
            print("  daemon did not start:", "\n".join(l[2] for l in d.lines[-10:]))
            return
        print("  daemon up at +%.1f s; the slow job's first slot in %.1f s"
              % (clock.since(), first_slow - time.time()))

        # ---- fleet: warm-up, then the measured runs -------------------
        need = (warmup + runs) * n_slow
        budget = (first_slow - time.time()) + (warmup + runs) * (p_slow + slow_s * 0.6) + 120
        if not wait_until(lambda: len(results(d, "slow")) >= need, budget, clock, 1.0):
            timed_out.append("fleet (%d of %d slow results)" % (len(results(d, "slow")), need))
        print("  fleet done at +%.1f s (%d fast and %d slow runs fired)"
              % (clock.since(), len(fires(d, "fast")), len(fires(d, "slow"))))

        # ---- drop the fleet, let it drain ----------------------------
        bu.write_config(wd, sim.base_url, 1, "", rate=rate)  # no jobs
        if not reload(d, clock):
            timed_out.append("reload without the fleet")

        def drained():
            ops = sim.get("/_sim/operations")
            if any(o["state"] == "running" for o in ops):
                return False
            want = len(results(d, "fast")) + len(results(d, "slow"))
            return want >= len(ops)
        if not wait_until(drained, slow_s * 3 + 30, clock, 1.0):
            timed_out.append("fleet drain")
        fleet_fires = {"fast": fires(d, "fast"), "slow": fires(d, "slow")}
        print("  fleet drained at +%.1f s" % clock.since())

        # ---- burst -----------------------------------------------------
        t_fire = int(math.ceil(time.time())) + 4
        g = time.gmtime(t_fire)
        bu.write_config(wd, sim.base_url, 1,
                        job("burst", "%d %d %d * * *" % (g.tm_sec, g.tm_min, g.tm_hour),
                            "restart-php", burst_envs), rate=rate)
        if not reload(d, clock):
            timed_out.append("reload with the burst")
        elif not wait_until(lambda: len(results(d, "burst")) >= n_burst,
                            (t_fire - time.time()) + slow_s * 3 + 60, clock, 0.5):
            timed_out.append("burst (%d of %d results)" % (len(results(d, "burst")), n_burst))
        print("  burst done at +%.1f s" % clock.since())
        fleet_fires["burst"] = fires(d, "burst")

        # ---- numbers ---------------------------------------------------
        reqs, ops, n429 = gather(sim, kind_of_env)
        times = [r["time"] for r in reqs]
        mark_runs(ops, fleet_fires)
        learned = learned_at_start(ops, {"fast": "clear-cache", "slow": "restart-php",
                                         "burst": "restart-php"})
        if keep:
            with open(os.path.join(wd, "requests.json"), "w") as fh:
                json.dump(reqs, fh)
            with open(os.path.join(wd, "operations.json"), "w") as fh:
                json.dump(sim.get("/_sim/operations"), fh)
        fleet_ops = [o for o in ops if o.kind in ("fast", "slow")]
        slow_runs = fleet_fires["slow"]
        m_from = slow_runs[warmup] if len(slow_runs) > warmup else float("inf")
        m_last = min(len(slow_runs), warmup + runs)  # the last measured slow run
        m_slow = [o for o in fleet_ops if o.kind == "slow" and warmup < o.run <= warmup + runs]
        m_until = max((o.done_at or o.end for o in m_slow), default=m_from)
        m_fast = [o for o in fleet_ops if o.kind == "fast" and m_from <= o.created <= m_until]
        fast_runs = sorted({o.run for o in m_fast})

        def phase_of(kind, run):
            if kind == "slow":
                return ("warm-up" if run <= warmup
                        else "measured" if run <= warmup + runs else "after")
            if kind == "fast" and run in fast_runs:
                return "measured"
            if kind == "fast" and fast_runs and run > fast_runs[-1]:
                return "after"
            return "warm-up" if kind == "fast" else "burst"

        per_run_table(ops, names, learned, phase_of)
        print("  measured: the %g s job's runs %d..%d, the %g s job's runs %s (%.0f s, from the "
              "first measured %g s run's fire to its last operation seen done)"
              % (slow_s, warmup + 1, m_last, fast_s,
                 "%d..%d" % (fast_runs[0], fast_runs[-1]) if fast_runs else "-",
                 m_until - m_from if m_slow else 0, slow_s))
        s_fast = summary("measured, %g s operations (clear-cache)" % fast_s, m_fast, fast_s, True)
        s_slow = summary("measured, %g s operations (restart-php)" % slow_s, m_slow, slow_s, True)
        both = m_fast + m_slow
        if both:
            k = stats(both)["k"]
            span = (m_until - m_from) / 60.0
            print("  operations per minute (company): %.1f achieved over the measured span "
                  "(%.1f clear-cache + %.1f restart-php); ceiling %d / (1 + k) = %.1f at "
                  "k = %.2f polls per operation (the schedules bound the fleet, not the budget)"
                  % (len(both) / span, len(m_fast) / span, len(m_slow) / span, limit,
                     limit / (1 + k), k))
            print("    busiest 60 s in the measured span: %d requests (limit %d)"
                  % (busiest(times, m_from, m_until), limit))

        cold = [o for o in fleet_ops if not learned[o.id]]
        c_fast = [o for o in cold if o.kind == "fast"]
        c_slow = [o for o in cold if o.kind == "slow"]
        print("  cold (no estimate yet: fixed ladder 2, 4, 8, 15, 30 s), the fleet's first runs:")
        cs_fast = summary("cold, %g s operations (runs %s)"
                          % (fast_s, ",".join(str(r) for r in sorted({o.run for o in c_fast}))),
                          c_fast, fast_s, False)
        cs_slow = summary("cold, %g s operations (runs %s)"
                          % (slow_s, ",".join(str(r) for r in sorted({o.run for o in c_slow}))),
                          c_slow, slow_s, False)
        if cold:
            kc = stats(cold)["k"]
            print("    ceiling %d / (1 + k) = %.1f operations per minute at k = %.2f"
                  % (limit, limit / (1 + kc), kc))
        for label, c, m in (("%g s" % fast_s, cs_fast, s_fast), ("%g s" % slow_s, cs_slow, s_slow)):
            if c["n"] and m["n"]:
                print("  before/after, %s operations: polls per operation %.2f -> %.2f, "
                      "detection p50 %s -> %s s"
                      % (label, c["k"], m["k"], fmt_s(bu.pct(c["delays"], 50)),
                         fmt_s(bu.pct(m["delays"], 50))))

        b_ops = [o for o in ops if o.kind == "burst"]
        print("  burst: %d restart-php operations of %g s at once (the kind learned from the "
              "fleet), limit %d/min" % (len(b_ops), slow_s, limit))
        if b_ops:
            b_first = min(o.post_at for o in b_ops)
            b_last_post = max(o.post_at for o in b_ops)
            seen = [o.done_at for o in b_ops if o.done_at is not None]
            bs = stats(b_ops)
            target = slow_s + 10
            if len(seen) == len(b_ops) and len(b_ops) == n_burst:
                span = max(seen) - b_first
                print("    first POST to last completion seen = %.2f s   target <= %.0f s: %s"
                      % (span, target, bu.verdict(span <= target)))
            else:
                print("    only %d of %d operations seen done   target <= %.0f s: MISSED"
                      % (len(seen), n_burst, target))
            print("    busiest 60 s from the first POST on (the fleet's last requests "
                  "included): %d (limit %d)"
                  % (busiest(times, b_first, b_first + 2 * slow_s), limit))
            print("    POSTs spread over %.2f s; polls per operation %.2f (%s); first poll "
                  "+%.1f s after the POST (p50); detection delay p50 %s s, max %s s"
                  % (b_last_post - b_first, bs["k"], hist_text(bs["hist"]),
                     bu.pct(sorted(o.first_poll - o.post_at for o in b_ops
                                   if o.first_poll is not None), 50),
                     fmt_s(bu.pct(bs["delays"], 50)),
                     fmt_s(bs["delays"][-1] if bs["delays"] else float("nan"))))
        outcomes = collections.Counter()
        for line in d.matching(r" outcome="):
            for f in line[2].split():
                if f.startswith("outcome="):
                    outcomes[f[8:]] += 1
        print("  requests seen by the simulator: %d (%d polls), 429 received: %d, busiest 60 s "
              "%d (limit %d); daemon outcomes %s"
              % (len(reqs), sum(o.polls for o in ops), n429,
                 busiest(times, min(times, default=0), max(times, default=0)), limit,
                 dict(outcomes)))
        for dur in read_durations(state_dir):
            ms = sorted(dur.get("ms", []))
            if ms:
                print("  learned (state.json) %s: %d durations, median %.2f s, min %.2f s, "
                      "max %.2f s" % (dur["key"].split("@")[0], len(ms), ms[len(ms) // 2] / 1000,
                                      ms[0] / 1000, ms[-1] / 1000))
        for what in timed_out:
            print("  DEADLINE: %s" % what)
        print("  total run time %.0f s" % clock.since())
    finally:
        if d:
            d.stop()
            if keep:
                with open(os.path.join(wd, "daemon.log"), "w") as fh:
                    fh.writelines("%.6f %s\n" % (l[0], l[2]) for l in d.lines)
        sim.stop()
        if keep:
            print("  kept %s" % wd)
        else:
            shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
