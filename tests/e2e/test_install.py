"""`cmake --install` of the build tree that holds KCRON_BIN into a DESTDIR,
and the tree a sysadmin gets: the program in sbin, the unit in systemd's
unit folder (pkg-config systemd) naming that program, the configuration
and conf.d/ in sysconfdir, a root-only credentials/ folder, both man pages
the docs and the bash completion.  The installed configuration passes `kinsta-cron check` once
a key is where the operations guide puts it.
"""
import os
import re
import shutil
import stat
import subprocess

import pytest

BIN = os.path.abspath(os.environ.get("KCRON_BIN", "kinsta-cron"))
SRC = os.environ.get("KCRON_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    d = os.path.dirname(BIN)
    while d != "/":
        if os.path.isfile(os.path.join(d, "CMakeCache.txt")):
            return d
        d = os.path.dirname(d)
    pytest.skip(f"no CMake build tree above KCRON_BIN {BIN}")


def cache(build, name):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(re.escape(name) + r":[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                return m.group(1)
    return None


def full(prefix, value, default):
    """A GNUInstallDirs directory as an absolute path."""
    value = value or default
    return value if os.path.isabs(value) else os.path.join(prefix, value)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    build = build_dir()
    dest = tmp_path_factory.mktemp("destdir")
    env = dict(os.environ, DESTDIR=str(dest))
    p = subprocess.run(["cmake", "--install", build], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    prefix = cache(build, "CMAKE_INSTALL_PREFIX") or "/usr/local"
    sysconf = cache(build, "CMAKE_INSTALL_SYSCONFDIR") or "etc"
    if not os.path.isabs(sysconf) and prefix.rstrip("/") in ("", "/usr"):
        sysconf = "/" + sysconf  # GNUInstallDirs: prefix /usr -> /etc
    paths = {
        "sbin": full(prefix, cache(build, "CMAKE_INSTALL_SBINDIR"), "sbin"),
        "etc": full(prefix, sysconf, "etc"),
        "man": full(prefix, cache(build, "CMAKE_INSTALL_MANDIR"),
                    "share/man"),
        "doc": full(prefix, cache(build, "CMAKE_INSTALL_DOCDIR"),
                    "share/doc/kinsta-cron"),
        "unit": cache(build, "KCRON_SYSTEMD_UNITDIR"),
        "completions": os.path.join(
            full(prefix, cache(build, "CMAKE_INSTALL_DATADIR"), "share"),
            "bash-completion", "completions"),
    }
    return dest, paths


def at(dest, path, *more):
    return os.path.join(str(dest), path.lstrip("/"), *more)


def test_unit_dir_from_pkg_config(installed):
    _, paths = installed
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed")
    p = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir",
                        "systemd"], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        pytest.skip("no systemd.pc (Debian package systemd)")
    assert paths["unit"] == p.stdout.strip()


def test_program(installed):
    dest, paths = installed
    prog = at(dest, paths["sbin"], "kinsta-cron")
    assert os.access(prog, os.X_OK), prog
    p = subprocess.run([prog, "--version"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("kinsta-cron ")


def test_unit(installed):
    dest, paths = installed
    unit = at(dest, paths["unit"], "kinsta-cron.service")
    assert os.path.isfile(unit), unit
    text = open(unit).read()
    prog = os.path.join(paths["sbin"], "kinsta-cron")
    conf = os.path.join(paths["etc"], "kinsta-cron", "kinsta-cron.conf")
    assert f"ExecStart={prog} -c {conf} daemon\n" in text
    assert f"ExecStartPre={prog} -c {conf} check\n" in text
    assert "/usr/sbin/" not in text or paths["sbin"] == "/usr/sbin"
    assert os.path.join(paths["doc"], "operations.md") in text


def test_configuration(installed, tmp_path):
    dest, paths = installed
    etc = at(dest, paths["etc"], "kinsta-cron")
    conf = os.path.join(etc, "kinsta-cron.conf")
    assert os.path.isfile(conf)
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o644
    assert os.path.isdir(os.path.join(etc, "conf.d"))
    creds = os.path.join(etc, "credentials")
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o700
    # The installed file runs no job and passes check with a key in place.
    key = tmp_path / "creds" / "main"
    key.parent.mkdir()
    key.write_text("kc-install-test-not-a-key\n")
    key.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "KINSTA_API_KEY"}
    env["CREDENTIALS_DIRECTORY"] = str(key.parent)
    p = subprocess.run([BIN, "-c", conf, "check"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 jobs" in p.stdout
    assert "not-a-key" not in p.stdout + p.stderr
    # Without the key it fails and says what is missing.
    env.pop("CREDENTIALS_DIRECTORY")
    p = subprocess.run([BIN, "-c", conf, "check"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no API key" in p.stderr
    # A check by hand finds the key where the unit's LoadCredential= reads
    # it: the credentials folder beside the configuration.
    with open(os.path.join(creds, "main"), "w") as f:
        f.write("kc-install-test-not-a-key\n")
    os.chmod(os.path.join(creds, "main"), 0o600)
    p = subprocess.run([BIN, "-c", conf, "check"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "not-a-key" not in p.stdout + p.stderr


def test_man_pages(installed):
    dest, paths = installed
    for sect, page in (("5", "kinsta-cron.conf.5"), ("8", "kinsta-cron.8")):
        f = at(dest, paths["man"], "man" + sect, page)
        assert os.path.isfile(f), f
        assert open(f).read().startswith(".\\\"")


def test_docs(installed):
    dest, paths = installed
    doc = at(dest, paths["doc"])
    for f in ("README.md", "operations.md", "schedules.md", "reports.md",
              "copyright",
              "examples/kinsta-cron.conf",
              "examples/systemd/credentials.conf",
              "examples/systemd/notify-reload.conf",
              "examples/systemd/http-face.conf"):
        assert os.path.isfile(os.path.join(doc, f)), f


def test_bash_completion(installed):
    # where bash-completion's loader looks for "kinsta-cron"
    dest, paths = installed
    f = at(dest, paths["completions"], "kinsta-cron")
    assert open(f).read() == open(os.path.join(SRC, "completion",
                                               "kinsta-cron")).read()
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o644


def test_nothing_unexpected(installed):
    dest, paths = installed
    tops = {paths["sbin"], paths["etc"] + "/kinsta-cron", paths["man"],
            paths["doc"], paths["unit"], paths["completions"]}
    for root, dirs, files in os.walk(str(dest)):
        for name in files:
            path = "/" + os.path.relpath(os.path.join(root, name), str(dest))
            assert any(path.startswith(t + "/") for t in tops), path
