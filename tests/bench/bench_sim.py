#!/usr/bin/python3
"""The simulator alone: what it costs per request, and how fast it gets
through a burst like the one the lateness benchmark makes.

    bench_sim.py          (no daemon, no build needed)

burst   50 POST /v2/sites/tools/clear-cache sent at once, one on each of 50
        keep-alive connections, BENCH_SIM_BURSTS (20) times: per burst, from
        the first request's arrival (kernel timestamp) to the last one
        handled; per request, arrival to handled.  No target: the lateness
        benchmark takes each request's kernel arrival time, so this queue
        inside the simulator is not in the daemon's numbers; it says how
        long the simulator's answers (and so the polls) trail.
cost    BENCH_SIM_REQUESTS (5000) GET /v2/validate, then as many of the
        POSTs, back to back on one connection: the simulator process's CPU
        time per request (µs), and the round trip.

The simulator runs as its own process (tests/sim/kinsta_sim), so that
this client does not share its interpreter.
"""
import json
import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil as bu  # noqa: E402

N_CONN = 50


def post(env, key):
    body = json.dumps({"environment_id": env}).encode()
    return (b"POST /v2/sites/tools/clear-cache HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (key.encode(), len(body)) + body)


def read_answer(sock):
    """Read one whole answer (Content-Length framed; one request in flight)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        rest += chunk
    if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 202")):
        raise RuntimeError("unexpected answer: %r" % head[:60])


def bench_burst(sim, envs, key, bursts):
    conns = [socket.create_connection(("127.0.0.1", sim.port)) for _ in range(N_CONN)]
    for c in conns:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msgs = [post(e, key) for e in envs]
    spans, waits = [], []
    for b in range(bursts + 1):
        sim.post("/_sim/reset", {})
        t0 = time.time()
        for c, m in zip(conns, msgs):
            c.sendall(m)
        t_sent = time.time()
        for c in conns:
            read_answer(c)
        reqs = sim.requests(method="POST")
        if len(reqs) != N_CONN:
            raise RuntimeError("%d of %d requests recorded" % (len(reqs), N_CONN))
        if b == 0:
            continue   # warm-up
        first = min(r["time"] for r in reqs)
        spans.append((max(r["handled"] for r in reqs) - first) * 1000.0)
        waits.extend((r["handled"] - r["time"]) * 1000.0 for r in reqs)
        if first < t0 - 0.001 or first > t_sent + 0.001:
            raise RuntimeError("arrival stamps outside the sending window")
        time.sleep(0.05)
    for c in conns:
        c.close()
    spans.sort()
    waits.sort()
    print("burst: %d POSTs on %d connections at once, %d bursts" % (N_CONN, N_CONN, bursts))
    print("  first arrival -> last handled (ms): p50 %.2f  max %.2f"
          % (bu.pct(spans, 50), spans[-1]))
    print("  arrival -> handled, per request (ms): p50 %.2f  p99 %.2f  max %.2f"
          % (bu.pct(waits, 50), bu.pct(waits, 99), waits[-1]))


def bench_cost(sim, envs, key, n):
    """CPU per request of GET /validate (no operation) and of the POST."""
    get = (b"GET /v2/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
           % key.encode())
    c = socket.create_connection(("127.0.0.1", sim.port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("cost: %d requests of each kind, back to back on one connection" % n)
    for label, msgs in (("GET /validate", [get] * len(envs)),
                        ("POST clear-cache", [post(e, key) for e in envs])):
        cpu = wall = 0.0
        done = 0
        while done < n:
            # a fresh state each round: SimCore looks at every operation it
            # has ever started on each request, which is not what this measures
            sim.post("/_sim/reset", {})
            cpu0, t0 = bu.cpu_seconds(sim.proc.pid), time.perf_counter()
            for m in msgs:
                c.sendall(m)
                read_answer(c)
            cpu += bu.cpu_seconds(sim.proc.pid) - cpu0
            wall += time.perf_counter() - t0
            done += len(msgs)
        print("  %-17s simulator CPU %.0f µs a request; round trip %.0f µs"
              % (label, cpu / done * 1e6, wall / done * 1e6))
    c.close()


def main():
    bursts = int(os.environ.get("BENCH_SIM_BURSTS", "20"))
    n = int(os.environ.get("BENCH_SIM_REQUESTS", "5000"))
    wd = bu.workdir("sim")
    seed, envs = bu.seed(1, N_CONN)
    key = "%s-0" % bu.KEY
    sim = bu.Sim(wd, seed, op_seconds=0.05, rate_company=10000000, rate_ip=10000000)
    try:
        bench_burst(sim, envs[0], key, bursts)
        bench_cost(sim, envs[0], key, n)
    finally:
        sim.stop()
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
