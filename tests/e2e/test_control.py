"""kinsta-cron status and trigger against a running daemon.

The daemon runs by hand (no $RUNTIME_DIRECTORY), so its control socket is
state/control; `status` lists the jobs, `trigger` runs one now through the
daemon (the simulator sees it, the history records it), an unknown job
exits 2,
and without a daemon `status` says which socket it tried.
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


def test_status_and_trigger(tmp_path):
    env = kh.env_id("bravosite")
    with kh.Sim(op_seconds=0.3) as sim:
        conf = kh.write_config(tmp_path, [
            kh.job("nightly", "clear-cache", schedule="0 0 3 * * *",
                   environment_id=env),
            kh.job("off", "restart-php", environment_id=env,
                   enabled=False),
        ], sim.url)
        sock = os.path.join(str(tmp_path), "state", "control")
        d = start_daemon(conf)
        try:
            kh.wait_for(lambda: os.path.exists(sock), 30, what="socket")
            st = kh.run(conf, "status")
            assert st.returncode == 0, st
            lines = st.stdout.splitlines()
            assert lines[0].startswith("1 job scheduled, 0 runs in flight")
            assert ": 1 account, 2 jobs" in lines[1]
            nightly = [l for l in lines if l.startswith("nightly ")]
            assert len(nightly) == 1 and "T03:00:00Z" in nightly[0]
            assert "never" in nightly[0]
            assert [l for l in lines if l.startswith("off ")][0].split()[1] \
                == "disabled"

            tr = kh.run(conf, "trigger", "nightly")
            assert tr.returncode == 0, tr
            assert "job nightly started" in tr.stdout
            kh.wait_for(lambda: len(sim.requests(
                "POST", r"/sites/tools/clear-cache")) == 1, 30,
                what="the triggered POST")
            hist = os.path.join(str(tmp_path), "state", "history.jsonl")
            kh.wait_for(lambda: os.path.exists(hist) and "succeeded" in
                        open(hist).read(), 30, what="the history line")
            line = json.loads(open(hist).read().splitlines()[0])
            assert line["job"] == "nightly" and line["env_id"] == env

            bad = kh.run(conf, "trigger", "nope")
            assert bad.returncode == 2
            assert 'no job "nope"' in bad.stdout
            usage = kh.run(conf, "trigger")
            assert usage.returncode == 2
        finally:
            d.send_signal(signal.SIGTERM)
            _, err = d.communicate(timeout=30)
        assert d.returncode == 0, err
        assert "trigger=manual" in err
        # the socket goes with the daemon
        assert not os.path.exists(sock)
        gone = kh.run(conf, "status")
        assert gone.returncode == 1
        assert "no daemon is listening on " + sock in gone.stderr
