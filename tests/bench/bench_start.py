#!/usr/bin/python3
"""What each command that sends no request costs to start, against
/bin/true.

    bench_start.py [BUILD_DIR]       (default: build/gcc; or $KCRON_BIN)

The commands, on the shipped examples (conf/examples, copied to a
temporary folder with their keys in place and a state folder of their own):

    -V                                  the start alone
    next --schedule '* * * * *' -n 1    no configuration
    check  (single-site, agency)        configuration and keys read
    status                              no daemon: fails fast on the socket

Columns, each command against /bin/true (x: the ratio):

hyperfine  median wall time of BENCH_START_RUNS (300) runs after 20 warm-up
           runs, hyperfine -N (only where hyperfine is installed);
paired     the same from a loop here that runs /bin/true and the command
           in turns, so that a load which comes and goes on the machine
           weighs on both alike; "+" is the difference of the medians;
cpu        median CPU time (user + system, the kernel's count for the
           child) over the paired runs: waiting for a core is not in it;
minflt     minor page faults of a run (a count, not a timing);
Ir         instructions executed, dynamic loader included (callgrind, one
           run; only where valgrind is installed): the steadiest of all.

`run` and `daemon` talk to the Kinsta API: their time is the network's.
"""
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNS = int(os.environ.get("BENCH_START_RUNS", "300"))
WARMUP = 20
TRUE = "/bin/true"


def find_bin(argv):
    if os.environ.get("KCRON_BIN"):
        return os.environ["KCRON_BIN"]
    b = argv[1] if len(argv) > 1 else os.path.join(TOP, "build", "gcc")
    return os.path.join(b, "kinsta-cron")


def write_key(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"bench-start-not-a-key\n")
    os.close(fd)


def fixtures(work):
    """The two examples, each with its keys where `check` looks for them;
    single-site also gets a state_dir with no daemon behind it."""
    ex = os.path.join(TOP, "conf", "examples")
    single = os.path.join(work, "single-site")
    shutil.copytree(os.path.join(ex, "single-site"), single)
    conf = os.path.join(single, "kinsta-cron.conf")
    with open(conf) as f:
        text = f.read()
    # the key where the example says systemd puts it: a credential, which
    # `check` finds in the folder "credentials" beside the configuration
    os.mkdir(os.path.join(single, "credentials"), 0o700)
    write_key(os.path.join(single, "credentials", "shop"))
    os.mkdir(os.path.join(work, "state"), 0o700)
    text += '\nstate_dir = "%s";\n' % os.path.join(work, "state")
    with open(conf, "w") as f:
        f.write(text)

    agency = os.path.join(work, "agency")
    shutil.copytree(os.path.join(ex, "agency"), agency)
    creds = os.path.join(agency, "credentials")
    os.mkdir(creds, 0o700)
    for account in ("agency", "bakery", "lawfirm"):
        write_key(os.path.join(creds, account))
    return conf, os.path.join(agency, "kinsta-cron.conf")


def check_exit(cmd, env, want):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != want:
        sys.exit("bench_start: %s exited %d, not %d:\n%s%s" %
                 (shlex.join(cmd), p.returncode, want, p.stdout, p.stderr))


def spawn(cmd, env):
    """One run: (wall seconds, CPU seconds, minor faults) of the child."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, env,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull,
                                        os.O_WRONLY, 0),
                                       (os.POSIX_SPAWN_OPEN, 2, os.devnull,
                                        os.O_WRONLY, 0)])
    _, _, ru = os.wait4(pid, 0)
    return (time.perf_counter() - t0, ru.ru_utime + ru.ru_stime,
            ru.ru_minflt)


def paired(cmd, env):
    """/bin/true and cmd in turns: medians of (wall, cpu) of each, and the
    fewest faults of cmd."""
    for _ in range(WARMUP):
        spawn(cmd, env)
        spawn([TRUE], env)
    base, runs = [], []
    for i in range(RUNS):
        if i % 2:
            base.append(spawn([TRUE], env))
            runs.append(spawn(cmd, env))
        else:
            runs.append(spawn(cmd, env))
            base.append(spawn([TRUE], env))

    def med(rs, k):
        return statistics.median(r[k] for r in rs)
    return ((med(base, 0), med(base, 1)), (med(runs, 0), med(runs, 1)),
            min(r[2] for r in runs))


def hyperfine_median(cmd, env):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    out.close()
    try:
        # -N splits the line like a shell, without one: quote each word
        subprocess.run(["hyperfine", "-N", "--warmup", str(WARMUP), "-r",
                        str(RUNS), "-i", "--style", "none", "--export-json",
                        out.name, shlex.join(cmd)],
                       env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out.name) as f:
            return json.load(f)["results"][0]["median"]
    finally:
        os.unlink(out.name)


def instructions(cmd, env):
    p = subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=/dev/null"] + cmd, env=env,
                       capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if m else None


def ratio(v, base, fmt, scale=1e3):
    """v as fmt (seconds shown in ms) and its ratio to base; "-" when
    there is no v."""
    if v is None or not base:
        return "-"
    return (fmt % (v * scale)) + " %.1fx" % (v / base)


def main():
    binary = os.path.abspath(find_bin(sys.argv))
    if not os.access(binary, os.X_OK):
        sys.exit("bench_start: no %s (build first)" % binary)
    use_hyperfine = shutil.which("hyperfine") is not None
    use_valgrind = shutil.which("valgrind") is not None
    env = {k: v for k, v in os.environ.items()
           if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY",
                        "NOTIFY_SOCKET")}
    libs = subprocess.run(["ldd", binary], capture_output=True,
                          text=True).stdout
    print("binary  %s" % binary)
    print("libs    %d mapped at start (ldd)" %
          len([l for l in libs.splitlines() if l.strip()]))
    print("runs    medians of %d after %d warm-up" % (RUNS, WARMUP))

    with tempfile.TemporaryDirectory(prefix="kcron-start-") as work:
        single, agency = fixtures(work)
        cases = [
            ("-V", [binary, "-V"], 0),
            ("next --schedule", [binary, "next", "--schedule", "* * * * *",
                                 "-n", "1"], 0),
            ("check single-site", [binary, "-c", single, "check"], 0),
            ("check agency", [binary, "-c", agency, "check"], 0),
            ("status (no daemon)", [binary, "-c", single, "status"], 1),
        ]
        true_hf = hyperfine_median([TRUE], env) if use_hyperfine else None
        true_ir = instructions([TRUE], env) if use_valgrind else None
        print("%-19s %-15s %-24s %-15s %6s  %s" %
              ("", "hyperfine", "paired (+ over true)", "cpu", "minflt",
               "Ir"))
        print("%-19s %-15s %-24s %-15s %6d  %s" %
              ("/bin/true", ratio(true_hf, true_hf, "%.2fms"), "", "",
               min(spawn([TRUE], env)[2] for _ in range(5)),
               ratio(true_ir, true_ir, "%.2fM", 1e-6)))
        for name, cmd, want in cases:
            check_exit(cmd, env, want)
            (bw, bc), (w, c), flt = paired(cmd, env)
            hf = hyperfine_median(cmd, env) if use_hyperfine else None
            ir = instructions(cmd, env) if use_valgrind else None
            print("%-19s %-15s %-24s %-15s %6d  %s" %
                  (name, ratio(hf, true_hf, "%.2fms"),
                   "%s +%.2fms" % (ratio(w, bw, "%.2fms"), (w - bw) * 1e3),
                   ratio(c, bc, "%.2fms"), flt,
                   ratio(ir, true_ir, "%.2fM", 1e-6)))
            sys.stdout.flush()

if __name__ == "__main__":
    main()
