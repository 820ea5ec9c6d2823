#!/usr/bin/python3
"""The Kinsta API simulator (tests/sim/kinsta_sim.py) with TCP_NODELAY on
its connections, for the benchmarks.

http.server writes a response's headers and body in separate send()s; with
Nagle's algorithm on, the body then waits for the client's delayed ACK
(about 40 ms on Linux), so each keep-alive connection managed only ~25
requests a second and the simulator, not the daemon, set every pace.  Same
arguments as kinsta_sim.py.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "sim"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kinsta_sim  # noqa: E402

kinsta_sim._Handler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(kinsta_sim.main())
