"""history, status and trigger --wait.

- `status` and `trigger` answer from the running daemon when the file on
  disk no longer parses; status shows each job's last outcome, also after
  a restart (read back from the history);
- `trigger JOB --wait` prints each target's result line and exits 0 or 1
  like `run`; the run is trigger=manual in the log and the history;
- an unknown job exits 2 for trigger, run and next alike (kinsta-cron(8));
- `history` lists history.jsonl newest first, with its filters.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402


def start_daemon(conf):
    e = {k: v for k, v in os.environ.items()
         if k not in ("RUNTIME_DIRECTORY", "NOTIFY_SOCKET")}
    return subprocess.Popen([kh.BIN, "-c", conf, "daemon", "--log-stderr"],
                            stderr=subprocess.PIPE, text=True, env=e)


def stop(d):
    d.send_signal(signal.SIGTERM)
    _, err = d.communicate(timeout=30)
    assert d.returncode == 0, err
    return err


def job_line(status_out, name):
    return [l for l in status_out.splitlines()
            if l.startswith(name + " ")][0].split()


def test_broken_file_trigger_wait_and_exit_codes(tmp_path):
    e1 = kh.env_id("alphasite")
    e2 = kh.env_id("bravosite")
    with kh.Sim(op_seconds=0.2) as sim:
        conf = kh.write_config(tmp_path, [
            kh.job("fan", "clear-cache", environment_ids=[e1, e2]),
            kh.job("php", "restart-php", environment_id=e1),
        ], sim.url)
        sock = os.path.join(str(tmp_path), "state", "control")
        hist = os.path.join(str(tmp_path), "state", "history.jsonl")
        d = start_daemon(conf)
        try:
            kh.wait_for(lambda: os.path.exists(sock), 30, what="socket")
            st = kh.run(conf, "status")
            assert st.returncode == 0, st
            assert job_line(st.stdout, "fan")[2] == "never"

            r = kh.run(conf, "trigger", "fan", "--wait")
            assert r.returncode == 0, r
            assert sorted(o["target"] for o in r.outcomes) == \
                sorted([e1, e2]), r
            assert all(o["outcome"] == "succeeded" for o in r.outcomes)
            assert all(o["job"] == "fan" for o in r.outcomes)

            sim.fault("401", method="POST", path_regex="restart-php")
            r = kh.run(conf, "trigger", "--wait", "php")
            assert r.returncode == 1, r
            assert [o["outcome"] for o in r.outcomes] == ["failed"]

            # the triggered runs are manual in the history
            lines = [json.loads(l) for l in open(hist)]
            assert len(lines) == 3
            assert all(l["trigger"] == "manual" for l in lines)

            st = kh.run(conf, "status")
            fan, php = job_line(st.stdout, "fan"), job_line(st.stdout, "php")
            assert fan[2] == "succeeded" and php[2] == "failed", st.stdout
            assert fan[3].endswith("Z") and fan[4] == "-"

            # the file on disk breaks: the daemon still answers
            with open(conf, "a") as f:
                f.write("jobs = ( oops\n")
            assert kh.run(conf, "check").returncode == 1
            st = kh.run(conf, "status")
            assert st.returncode == 0, st
            assert "does not load" in st.stderr
            assert job_line(st.stdout, "php")[2] == "failed"
            r = kh.run(conf, "trigger", "fan", "--wait")
            assert r.returncode == 0, r
            assert len(r.outcomes) == 2

            # an unknown job: 2 everywhere (trigger asks the daemon)
            assert kh.run(conf, "trigger", "nope").returncode == 2
            assert kh.run(conf, "trigger", "nope", "--wait").returncode == 2
            assert kh.run(conf, "trigger").returncode == 2
        finally:
            err = stop(d)
        assert err.count("trigger=manual") >= 4, err
        # with the file fixed again: run and next agree on 2
        conf = kh.write_config(tmp_path, [
            kh.job("fan", "clear-cache", environment_ids=[e1, e2]),
            kh.job("php", "restart-php", environment_id=e1),
        ], sim.url)
        assert kh.run(conf, "run", "nope").returncode == 2
        assert kh.run(conf, "next", "nope").returncode == 2

        # a restart remembers each job's last outcome from the history
        d = start_daemon(conf)
        try:
            kh.wait_for(lambda: os.path.exists(sock), 30, what="socket")
            st = kh.run(conf, "status")
            assert job_line(st.stdout, "fan")[2] == "succeeded", st.stdout
            assert job_line(st.stdout, "php")[2] == "failed", st.stdout
        finally:
            stop(d)


def entry(job, outcome, end_s, target="alphasite/live", message="",
          trigger=None):
    e = {"job": job, "action": "clear-cache", "env_id": "e",
         "target": target, "run_id": str(end_s), "op_id": "",
         "outcome": outcome, "message": message, "note": "",
         "start": "", "start_ms": (end_s - 4) * 1000, "end": "",
         "end_ms": end_s * 1000, "duration_ms": 4000}
    if trigger:
        e["trigger"] = trigger
    return e


def test_history(tmp_path):
    conf = kh.write_config(tmp_path, [], "http://127.0.0.1:9")
    hist = os.path.join(str(tmp_path), "state", "history.jsonl")
    none = kh.run(conf, "history")
    assert none.returncode == 0 and "no run recorded yet" in none.stderr

    now = int(time.time())
    entries = [
        entry("a", "succeeded", now - 10 * 86400),
        entry("b", "failed", now - 3 * 86400, message="it broke"),
        entry("a", "failed", now - 2 * 86400),
        entry("b", "succeeded", now - 3600, trigger="manual"),
        entry("a", "succeeded", now - 60),
    ]
    with open(hist, "w") as f:
        for i, e in enumerate(entries):
            f.write(json.dumps(e) + "\n")
            if i == 1:
                f.write("a broken line\n")

    r = kh.run(conf, "history")
    assert r.returncode == 0, r
    rows = r.stdout.splitlines()
    assert rows[0].split()[:2] == ["END", "(UTC)"]
    body = [l.split() for l in rows[1:]]
    # newest first
    assert [(b[1], b[3]) for b in body] == [
        ("a", "succeeded"), ("b", "succeeded"), ("a", "failed"),
        ("b", "failed"), ("a", "succeeded")]
    assert body[1][5] == "manual" and body[0][5] == "schedule"
    assert rows[4].endswith("it broke")
    assert not [l for l in rows if l.endswith(" ")], rows

    r = kh.run(conf, "history", "a", "--json")
    got = [json.loads(l) for l in r.stdout.splitlines()]
    assert [g["end_ms"] for g in got] == [
        (now - 60) * 1000, (now - 2 * 86400) * 1000, (now - 10 * 86400) * 1000]

    r = kh.run(conf, "history", "--since", "7d", "--outcome", "failed",
               "--json")
    got = [json.loads(l) for l in r.stdout.splitlines()]
    assert [(g["job"], g["outcome"]) for g in got] == [
        ("a", "failed"), ("b", "failed")]

    r = kh.run(conf, "history", "--since", "2h", "--json")
    assert len(r.stdout.splitlines()) == 2
    r = kh.run(conf, "history", "-n", "1", "--json")
    assert json.loads(r.stdout)["end_ms"] == (now - 60) * 1000
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          time.gmtime(now - 4 * 86400))
    r = kh.run(conf, "history", "--since", since, "--json")
    assert len(r.stdout.splitlines()) == 4

    # a broken configuration still finds state_dir
    with open(conf, "a") as f:
        f.write("jobs = ( oops\n")
    r = kh.run(conf, "history", "b", "--json")
    assert r.returncode == 0, r
    assert len(r.stdout.splitlines()) == 2

    for bad in (["--outcome", "broken"], ["--since", "yesterday"],
                ["a", "b"], ["-n", "0"], ["--frobnicate"]):
        assert kh.run(conf, "history", *bad).returncode == 2, bad
