"""What each command loads when it starts (issue #18, part 3).

The commands that send no request (`-V`, `next`, `check`, `status`,
`trigger`) map no libcurl and no libsystemd, nor the libraries under them:
linked, those made every start cost 7 to 8 times /bin/true, now 1.4 to
1.7 times (tests/bench/bench_start.py measures it).  `run` still gets
libcurl, now loaded when its HTTP client opens, and with it sends its
request and verifies TLS as before (test_tls.py).  The dynamic loader says
what it loads under LD_DEBUG=files: "file=NAME [0];  needed by ..." for a
library mapped at start, "... dynamically loaded by ..." for one opened
later.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

import pytest  # noqa: E402

# libraries that only `run` and the daemon need (HTTP, TLS, the HTTP
# face's server) or that libsystemd drags in; none of them may be mapped
# by an offline command
HEAVY = re.compile(r"lib(curl|ssl|crypto|gnutls|microhttpd|nghttp2|ssh2"
                   r"|ldap|gssapi|krb5|systemd|gcrypt|lz4|lzma|zstd)[-.]")


def loaded(args, env=None):
    """(result, {library: how}) for one run of the binary, from the
    dynamic loader's own account; how is "needed" or "dlopen"."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY",
                      "NOTIFY_SOCKET")}
    e.update(env or {})
    e["LD_DEBUG"] = "files"
    p = subprocess.run([kh.BIN] + args, env=e, capture_output=True,
                       text=True, timeout=60, errors="replace")
    libs = {}
    for m in re.finditer(r"file=(\S+) \[\d+\];\s+(needed|dynamically "
                         r"loaded) by", p.stderr):
        libs.setdefault(os.path.basename(m.group(1)),
                        "needed" if m.group(2) == "needed" else "dlopen")
    return p, libs


@pytest.fixture
def conf(tmp_path):
    """A configuration with a key, a job, and a state folder with no daemon
    behind it; the API is a port where nothing listens."""
    return kh.write_config(tmp_path, [kh.job("cc", "clear-cache",
                                             environment_id=kh.ENVS[
                                                 ("alphasite", "live")])],
                           "http://127.0.0.1:9/v2")


def heavy(libs):
    return sorted(l for l in libs if HEAVY.match(l))


def test_loader_reports_libraries():
    """The check below means something only if the loader talks: libc is
    always there."""
    p, libs = loaded(["-V"])
    assert p.returncode == 0, p.stderr[-2000:]
    assert any(l.startswith("libc.so") for l in libs), p.stderr[-2000:]


@pytest.mark.parametrize("args,rc", [
    (["-V"], 0),
    (["next", "--schedule", "* * * * *", "-n", "1"], 0),
    (["CONF", "check"], 0),
    (["CONF", "next", "cc", "-n", "2"], 0),
    (["CONF", "status"], 1),              # no daemon: fails fast
    (["CONF", "trigger", "cc"], 1),
    (["CONF", "history"], 0),           # no history yet: says so
])
def test_offline_commands_load_no_http_or_systemd(conf, args, rc):
    if args[0] == "CONF":
        args = ["-c", conf] + args[1:]
    p, libs = loaded(args)
    assert p.returncode == rc, p.stderr[-2000:]
    assert heavy(libs) == [], libs


def test_run_loads_libcurl_when_its_client_opens(conf):
    """`run` opens libcurl itself (not at start) and gets as far as curl's
    own connection error: nothing listens on port 9."""
    p, libs = loaded(["-c", conf, "run", "cc"])
    assert p.returncode == 1
    curl = {l: how for l, how in libs.items() if l.startswith("libcurl")}
    assert list(curl.values()) == ["dlopen"], libs
    assert "libsystemd.so.0" not in libs, libs
    out = [kh.parse_kv(l) for l in p.stdout.splitlines()
           if l.startswith("job=")]
    assert len(out) == 1 and out[0]["outcome"] == "failed", p.stdout
    assert "onnect" in out[0]["message"], out[0]
