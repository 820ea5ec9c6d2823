"""kinsta_sim: a stateful fake of the Kinsta REST API v2 for kinsta-cron tests.

Python 3.11 standard library only.  Run it as a program:

    /usr/bin/python3 tests/sim/kinsta_sim [--port 0] [--host 127.0.0.1]
        [--state SEED.json] [--key KEY[=COMPANY_UUID] ...] [--op-seconds N]
        [--op-404-seconds N] [--rate-company 120] [--rate-ip 1000]
        [--rate-create 5] [--rate-logs 35] [--rate-window 60] [--quiet]

(or ``python3 -m kinsta_sim ...`` with tests/sim on the import path).  It
prints exactly one line ``KINSTA_SIM_PORT=<port>`` on stdout once it
listens, then serves until SIGTERM/SIGINT (exit status 0).

Or import it (tests/sim on sys.path):

    from kinsta_sim import Simulator
    sim = Simulator(op_seconds=0.2).start()
    ... sim.port, sim.base_url ...
    sim.stop()

The API is served under /v2 and at the root.  The control API for tests
lives under /_sim/ (no auth).  See tests/sim/README.md.

The package, along its seams:

    seed.py       the built-in seed data, and defaults for a hand-written one
    errors.py     Kinsta's error envelope and messages
    core.py       SimCore: all state under one lock, auth, rate limits,
                  operations, faults, the request record, the control API
    endpoints.py  the Kinsta endpoints SimCore routes to (a mixin of it)
    transport.py  an HTTP/1.1 server on asyncio with kernel arrival stamps
                  and TLS through ssl.MemoryBIO; it knows nothing of Kinsta
    app.py        SimApp, the transport's handler for a SimCore (records,
                  log, faults on the wire); Simulator puts the three together
    __main__.py   the command line
"""

from .app import Simulator, SimApp
from .core import ACTIONS, DEFAULT_CONFIG, FAULT_KINDS, SimCore, key_hash
from .errors import ApiError, OpFailure
from .seed import (ACME_COMPANY, ACME_KEY, GLOBEX_COMPANY, GLOBEX_KEY, default_seed,
                   normalize_seed)

__all__ = [
    "Simulator", "SimApp", "SimCore", "ApiError", "OpFailure", "ACTIONS", "DEFAULT_CONFIG",
    "FAULT_KINDS", "key_hash", "default_seed", "normalize_seed",
    "ACME_COMPANY", "ACME_KEY", "GLOBEX_COMPANY", "GLOBEX_KEY",
]
