"""tests/demo, the README's first command, with the binary under test
($KCRON_BIN: nothing is built): within a minute it shows fires, a skipped
overlap and a failure on purpose, and when stopped (Ctrl-C, or --seconds)
it leaves the run history where the README says and prints where."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

DEMO = os.path.join(kh.SRC, "tests", "demo")


def start(*args):
    env = dict(os.environ, KCRON_BIN=os.path.abspath(kh.BIN))
    # its own session, so that the test can Ctrl-C it as a terminal does:
    # SIGINT to the whole process group
    return subprocess.Popen([DEMO] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def history_of(folder):
    with open(os.path.join(folder, "state", "history.jsonl")) as f:
        return [json.loads(line) for line in f]


def where_said(output, folder):
    m = re.search(r"== the run history \((\d+) runs\) is in (\S+),\n"
                  r"   state\.json beside it; the next tests/demo starts "
                  r"afresh\n$", output)
    assert m, output[-500:]
    assert m.group(2) == os.path.join(folder, "state", "history.jsonl")
    return int(m.group(1))


def test_demo_shows_what_it_promises_and_keeps_the_history(tmp_path):
    folder = str(tmp_path / "demo")
    p = start("--dir", folder)
    seen, lines = set(), []
    deadline = time.monotonic() + 75  # the backup's skip comes within 45 s
    try:
        for line in p.stdout:
            lines.append(line)
            if "outcome=succeeded" in line:
                seen.add("succeeded")
            if "outcome=failed" in line and "php-upgrade" in line:
                seen.add("failed")
            if ("job=backup" in line and "outcome=skipped" in line and
                    'reason="previous run still active"' in line):
                seen.add("overlap")
            if seen == {"succeeded", "failed", "overlap"}:
                break
            assert time.monotonic() < deadline, "".join(lines)
    finally:
        os.killpg(p.pid, signal.SIGINT)  # Ctrl-C
        rest, _ = p.communicate(timeout=60)
    out = "".join(lines) + rest
    assert p.returncode == 0, out
    assert seen == {"succeeded", "failed", "overlap"}, out
    assert "configuration OK: 1 account, 5 jobs\n" in out
    assert "warning" not in out
    n = where_said(out, folder)
    runs = history_of(folder)
    assert len(runs) == n and n >= 2
    assert {"cache-clear", "php-upgrade"} <= {r["job"] for r in runs}
    assert any(r["outcome"] == "failed" for r in runs)
    assert os.path.isfile(os.path.join(folder, "state", "state.json"))
    # the daemon has stopped, and so has the simulator
    assert kh.wait_for(lambda: not running(folder), 10, what="the daemon")
    port = int(open(os.path.join(folder, "sim.out")).read().split("=")[1])
    kh.wait_for(lambda: not listening(port), 10, what="the simulator")


def running(folder):
    """Is a process with folder on its command line still there?"""
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if folder.encode() in f.read():
                    return True
        except OSError:
            pass
    return False


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_demo_seconds_and_its_folder(tmp_path):
    folder = str(tmp_path / "demo")
    p = start("--seconds", "3", "--dir", folder)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    where_said(out, folder)
    assert os.path.isfile(os.path.join(folder, "demo.conf"))
    # again: a fresh start in the demo's own folder
    p = start("--seconds", "1", "--dir", folder)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    # never a folder it did not make
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep").write_text("x")
    p = start("--seconds", "1", "--dir", str(other))
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 2
    assert "is not a demo folder" in out
    assert (other / "keep").read_text() == "x"
