"""The command line: serve until SIGTERM or SIGINT.

    /usr/bin/python3 tests/sim/kinsta_sim [--port 0] [--host 127.0.0.1] ...
    PYTHONPATH=tests/sim /usr/bin/python3 -m kinsta_sim [...]

It prints exactly one line ``KINSTA_SIM_PORT=<port>`` on stdout once it
listens, then serves until SIGTERM/SIGINT (exit status 0). --dump-seed
prints the built-in seed as JSON, a template for --state. See
tests/sim/README.md.
"""

import argparse
import json
import os
import signal
import sys
import threading

if __package__:
    from .app import Simulator
    from .core import key_hash
    from .seed import default_seed
else:
    # run as a folder (python3 tests/sim/kinsta_sim): the package is the
    # folder itself, to be imported from the one above it
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from kinsta_sim.app import Simulator
    from kinsta_sim.core import key_hash
    from kinsta_sim.seed import default_seed


def _parser():
    ap = argparse.ArgumentParser(prog="kinsta_sim",
                                 description="Kinsta API v2 simulator for kinsta-cron tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="seed state JSON file (replaces the built-in seed)")
    ap.add_argument("--key", action="append", default=[],
                    help="KEY or KEY=COMPANY_UUID (repeatable); KEY alone maps to the first company")
    ap.add_argument("--op-seconds", type=float, default=2.0)
    ap.add_argument("--op-404-seconds", type=float, default=0.0)
    ap.add_argument("--rate-company", type=int, default=120)
    ap.add_argument("--rate-ip", type=int, default=1000)
    ap.add_argument("--rate-create", type=int, default=5)
    ap.add_argument("--rate-logs", type=int, default=35)
    ap.add_argument("--rate-window", type=float, default=60.0)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--dump-seed", action="store_true",
                    help="print the built-in seed state as JSON and exit (a template for --state)")
    return ap


def _serve(sim, quiet):
    """Serve from the listening sim until SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    sys.stdout.write("KINSTA_SIM_PORT=%d\n" % sim.port)
    sys.stdout.flush()
    if not quiet:
        sys.stderr.write("kinsta-sim: listening on %s (keys: %s)\n"
                         % (sim.root_url, ", ".join(key_hash(k) for k in sim.core.keys)))
    while not stop.wait(0.5):
        pass
    sim.stop()


def main(argv=None):
    a = _parser().parse_args(argv)
    if a.dump_seed:
        json.dump(default_seed(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    try:
        sim = Simulator(host=a.host, port=a.port, state=a.state, keys=a.key,
                        op_seconds=a.op_seconds, op_404_seconds=a.op_404_seconds,
                        rate_company=a.rate_company, rate_ip=a.rate_ip, rate_create=a.rate_create,
                        rate_logs=a.rate_logs, rate_window=a.rate_window, quiet=a.quiet)
        sim.bind()
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write("kinsta-sim: %s\n" % exc)
        return 2
    _serve(sim, a.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
