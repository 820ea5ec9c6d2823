"""End-to-end tests of what `kinsta-cron run` says while it works: the
progress it shows (a redrawn status line on a terminal, one plain line per
operation elsewhere), `-v` (each request and answer) and `-vv` (polls too),
and one log line per operation of a multi-step run (the backup, each
backup dropped), against the Kinsta API simulator.
"""
import os
import pty
import re
import select
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

ALPHA = kh.env_id("alphasite")
OP_SECONDS = 1.5


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def conf(sim, tmp_path):
    sim.reset(op_seconds=OP_SECONDS)
    return kh.write_config(tmp_path, [
        kh.job("cc", "clear-cache", environment_id=ALPHA),
        kh.job("keeper", "backup", site="alphasite", keep=1),
    ], sim.url)


def op_ids(sim):
    return [o["id"] for o in sorted(sim.operations(),
                                    key=lambda o: o["created"])]


def test_plain_progress_lines_when_not_a_terminal(sim, conf):
    r = kh.run_job(conf, "cc")
    assert r.returncode == 0, r
    (op,) = op_ids(sim)
    # one line per operation followed, nothing else, and stdout unchanged
    assert r.stderr.splitlines() == [
        f"kinsta-cron: run cc: {ALPHA} clear-cache: following {op}"], r
    assert len(r.outcomes) == 1 and r.outcomes[0]["op"] == op


def test_status_line_on_a_terminal(sim, conf):
    """stderr on a pseudo-terminal: the status line is redrawn in place
    (carriage return, erase line), shows done/total, the operation and the
    seconds elapsed, and is erased before the outcome line."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "KINSTA_API_KEY"}
    p = subprocess.Popen([kh.BIN, "-c", str(conf), "run", "cc"],
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    stdout, _ = p.communicate(timeout=30)
    os.close(master)
    text = out.decode()
    assert kh.KEY not in text and kh.KEY not in stdout.decode()
    assert p.returncode == 0, text
    (op,) = op_ids(sim)
    frames = [f for f in text.split("\r\x1b[K") if f]
    assert frames, repr(text)
    assert all(re.fullmatch(r"cc: [01]/1 done, \d+ s(: .*)?", f)
               for f in frames), repr(text)
    assert f"cc: 0/1 done, 1 s: {ALPHA} clear-cache: following {op}" in \
        frames, repr(text)
    assert text.endswith("\r\x1b[K"), repr(text)  # erased at the end
    assert "\n" not in text  # never a line of its own on a terminal
    assert stdout.decode().startswith("job=cc ")


def test_verbose_logs_requests_and_twice_polls(sim, conf):
    r = kh.run_job(conf, "cc", "-v")
    assert r.returncode == 0, r
    (op,) = op_ids(sim)
    err = r.stderr
    assert re.search(r" notice request POST /sites/tools/clear-cache "
                     r'\{"environment_id":"%s"\} attempt=1\n' % ALPHA, err), err
    assert re.search(r" notice answer POST /sites/tools/clear-cache "
                     r"status=202 elapsed_ms=\d+\n", err), err
    assert "/operations/" not in err.replace(f"following {op}", ""), err

    r = kh.run_job(conf, "cc", "-vv")
    assert r.returncode == 0, r
    (op,) = op_ids(sim)[-1:]
    assert re.search(r" notice request GET /operations/%s attempt=1\n"
                     % re.escape(op), r.stderr), r.stderr
    assert re.search(r" notice answer GET /operations/%s status=200 "
                     % re.escape(op), r.stderr), r.stderr


def test_each_step_operation_is_logged(sim, conf):
    """backup with keep = 1, run twice: the second run logs the backup's
    operation and the deletion of the older backup, with its id."""
    assert kh.run_job(conf, "keeper").returncode == 0
    first = [b for b in sim.env_state(ALPHA)["backups"]
             if b.get("note") == "kinsta-cron:keeper"]
    r = kh.run_job(conf, "keeper", "-v")
    assert r.returncode == 0, r
    ops = op_ids(sim)
    steps = [kh.parse_kv(l[l.index("job="):]) for l in r.stderr.splitlines()
             if " event=step " in l]
    assert [(s["step"], s.get("backup"), s["op"], s["state"])
            for s in steps] == [
        ("backup", None, ops[1], "succeeded"),
        ("delete-backup", str(first[0]["id"]), ops[2], "succeeded"),
    ], r.stderr
    assert all(s["job"] == "keeper" and s["env"] == ALPHA and
               int(s["duration_ms"]) >= 0 for s in steps)
