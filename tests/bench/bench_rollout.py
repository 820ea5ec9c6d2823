#!/usr/bin/env python3
"""The rollout of a safe update over 100 environments, in the simulator.

One company with 100 sites (one live environment each, two plugins with a
patch update), 120 requests a minute per company (the simulator enforces
it too), and one `update-plugins` job over all of them with

    rollout = { canary = 2; batch = 10; halt_after = 1; };

run once with `kinsta-cron run`.  Printed: the requests per environment
(by kind), the makespan against the rate bound (every request the run
sent, at 120 a minute: the least time any client could take), the
waves as they happened (from the simulator's request log), and the
outcomes.

    /usr/bin/python3 tests/bench/bench_rollout.py [BUILD_DIR]
    BENCH_ENVS=30 BENCH_OP_SECONDS=1 ...   (a smaller, quicker run)
    BENCH_BACKUP_FIRST=1 ...               (pre-update backups as well)

It takes at least requests / 120 minutes: about three minutes at 100
environments.
"""
import collections
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402

N = int(os.environ.get("BENCH_ENVS", "100"))
OP_SECONDS = float(os.environ.get("BENCH_OP_SECONDS", "1.0"))
BACKUP_FIRST = os.environ.get("BENCH_BACKUP_FIRST", "") not in ("", "0")
RATE = 120  # per company per minute
CANARY, BATCH = 2, 10


def plugins():
    return [
        {"name": "akismet", "title": "Akismet", "status": "active",
         "version": "5.3", "update": "available", "update_version": "5.3.1",
         "update_status": None},
        {"name": "classic-editor", "title": "Classic Editor",
         "status": "inactive", "version": "1.6.3", "update": "available",
         "update_version": "1.6.4", "update_status": None},
    ]


def kind(r):
    p = r["api_path"]
    if r["method"] == "GET" and p.startswith("/operations/"):
        return "poll"
    if p.startswith("/sites") and r["method"] == "GET" and \
            "/environments/" not in p:
        return "site list"
    return "%s %s" % (r["method"], re.sub(r"/environments/[^/]+", "/environments/{id}", p))


def env_of(r):
    m = re.search(r"/environments/([0-9a-f-]{36})", r["api_path"])
    return m.group(1) if m else None


def main():
    binary = bu.find_bin(sys.argv)
    wd = bu.workdir("rollout")
    seed, envs = bu.seed(1, N)
    for s in seed["companies"][0]["sites"]:
        for e in s["environments"]:
            e["plugins"] = plugins()
    sim = bu.Sim(wd, seed, op_seconds=OP_SECONDS, rate_company=RATE)
    job = ('{ name = "up"; schedule = "0 0 3 * * *"; action = '
           '"update-plugins"; account = "acct0"; all_sites = true; '
           'backup_first = %s; retries = 5; '
           'rollout = { canary = %d; batch = %d; halt_after = 1; }; }'
           % ("true" if BACKUP_FIRST else "false", CANARY, BATCH))
    conf = bu.write_config(wd, sim.base_url, 1, job, rate={"company": RATE})
    print("bench_rollout: %d environments, one company at %d requests/min, "
          "op_seconds %.1f, rollout canary=%d batch=%d halt_after=1%s"
          % (N, RATE, OP_SECONDS, CANARY, BATCH,
             ", backup_first" if BACKUP_FIRST else ""))
    t0 = time.time()
    p = subprocess.run([binary, "-c", conf, "run", "up"], capture_output=True,
                       text=True, timeout=3600)
    wall = time.time() - t0
    reqs = sim.requests()
    owner = {o["id"]: o["env_ids"][0]
             for o in sim.get("/_sim/operations") if o.get("env_ids")}
    sim.stop()
    outcomes = collections.Counter(
        re.search(r" outcome=(\S+)", l).group(1)
        for l in p.stdout.splitlines() if " outcome=" in l)

    # polls carry an operation id, not an environment: the run's
    # environment is the one whose change started that operation
    by_env = collections.defaultdict(collections.Counter)
    first = {}
    last = {}
    for r in reqs:
        e = env_of(r)
        if e is None and kind(r) == "poll":
            e = owner.get(r["api_path"].rsplit("/", 1)[1])
        if e is not None:
            first.setdefault(e, r["time"])
            last[e] = r["time"]
        by_env[e][kind(r)] += 1
    per_env_total = [sum(c.values()) for e, c in by_env.items() if e]
    per_env_polls = [c["poll"] for e, c in by_env.items() if e]
    polls = sum(1 for r in reqs if kind(r) == "poll")
    kinds = collections.Counter(kind(r) for r in reqs)
    start = min(r["time"] for r in reqs)
    end = max(r["time"] for r in reqs)
    makespan = end - start
    bound = len(reqs) / (RATE / 60.0)
    print("requests: %d in all (%.2f per environment, polls included)"
          % (len(reqs), len(reqs) / N))
    for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print("  %-58s %5d  (%.2f per environment)" % (k, v, v / N))
    if per_env_total:
        print("  per environment: min %d, max %d requests (polls: min %d, "
              "max %d)" % (min(per_env_total), max(per_env_total),
                           min(per_env_polls), max(per_env_polls)))
    print("makespan: %.1f s from the first request to the last "
          "(%.1f s for the whole command)" % (makespan, wall))
    # a rolling 60 s window lets the first RATE go at once: no client
    # can send request k (from 0) before floor(k / RATE) minutes
    floor = (len(reqs) - 1) // RATE * 60.0
    print("rate bound: %d requests / %d per minute = %.1f s; makespan is "
          "%.2fx the bound" % (len(reqs), RATE, bound, makespan / bound))
    print("rolling-window floor: request %d cannot go before %.0f s; "
          "makespan is %.2fx that floor"
          % (len(reqs), floor, makespan / floor if floor else float("nan")))
    # the waves: environments in the order they were first touched
    order = sorted(first, key=first.get)
    waves = [order[:CANARY]] + [order[i:i + BATCH]
                                for i in range(CANARY, len(order), BATCH)]
    print("waves (first request of the first and last environment, "
          "s after start):")
    for i, w in enumerate(waves):
        print("  wave %2d: %3d environments, %6.1f .. %6.1f, last request "
              "%6.1f" % (i + 1, len(w), first[w[0]] - start,
                         first[w[-1]] - start,
                         max(last[e] for e in w) - start))
    ok = all(max(last[e] for e in waves[i]) <= first[waves[i + 1][0]]
             for i in range(len(waves) - 1))
    print("each wave starts after the last request of the one before: %s"
          % bu.verdict(ok))
    print("outcomes: " + ", ".join("%s %d" % kv
                                   for kv in sorted(outcomes.items())))
    print("429 answers: %d" % sum(1 for r in reqs if r["status"] == 429))
    if p.returncode != 0:
        print("kinsta-cron run exited %d: %s" % (p.returncode,
                                                  p.stderr[-2000:]))
        return 1
    return 0 if ok and outcomes.get("succeeded", 0) == N else 1


if __name__ == "__main__":
    sys.exit(main())
