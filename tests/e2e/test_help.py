"""`kinsta-cron COMMAND --help` for every command, and `check --list-jobs`
(the cheap job list the bash completion uses)."""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

COMMANDS = {  # command -> the options kinsta-cron(8) gives it
    "daemon": ["--log-stderr", "-v", "--verbose"],
    "check": ["--list-jobs"],
    "run": ["--dry-run", "-v", "--verbose"],
    "next": ["--from", "-n", "--schedule", "--tz", "--name"],
    "status": [],
    "trigger": ["--wait"],
    "history": ["--since", "--outcome", "--json", "-n"],
}


def binary(*args, cwd=None):
    return subprocess.run([kh.BIN] + list(args), capture_output=True,
                          text=True, timeout=30, cwd=cwd)


def options_of(text):
    """The options a help text describes: (option, takes an argument)."""
    found = []
    for line in text.split("\noptions:\n", 1)[1].splitlines():
        m = re.match(r"  (?:(-\w), )?(--?[\w-]+)( [A-Z]+)?\s", line)
        if m:
            if m.group(1):
                found.append((m.group(1), bool(m.group(3))))
            found.append((m.group(2), bool(m.group(3))))
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help(command, tmp_path):
    # -c with a file that does not exist: --help reads no configuration
    p = binary("-c", str(tmp_path / "absent.conf"), command, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.startswith("usage: kinsta-cron [-c FILE] " + command)
    assert binary(command, "-h").stdout == p.stdout
    described = options_of(p.stdout)
    names = [o for o, _ in described]
    for opt in COMMANDS[command] + ["-h", "--help"]:
        assert opt in names, (command, opt, p.stdout)
    # and every option the help describes is one the command takes:
    # getopt reads it before it reaches --help (status takes only -h and
    # --help, checked above)
    if command == "status":
        assert names == ["-h", "--help"]
        return
    for opt, has_arg in described:
        args = [command, opt] + (["1"] if has_arg else []) + ["--help"]
        q = binary(*args)
        assert q.returncode == 0, (args, q.stderr)


def test_program_help_names_every_command():
    p = binary("--help")
    assert p.returncode == 0
    for command in COMMANDS:
        assert "\n  " + command in p.stdout
    assert '"kinsta-cron COMMAND --help" describes a command.' in p.stdout


def test_unknown_option_is_a_usage_error():
    for command in COMMANDS:
        p = binary(command, "--no-such-option")
        assert p.returncode == 2, command


def test_check_list_jobs(tmp_path):
    conf = kh.write_config(tmp_path, [
        kh.job("nightly-cache", "clear-cache", schedule="0 3 * * *",
               environment_id=kh.env_id("bravosite")),
        kh.job("weekly-backup", "backup", schedule="0 4 * * SUN",
               site="charliesite", enabled=False),
    ], "https://api.kinsta.com/v2")
    p = binary("-c", conf, "check", "--list-jobs")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nightly-cache\nweekly-backup\n"
    assert p.stderr == ""
    # The keys are not read: a user who cannot read them (here: none
    # there at all) still gets the names.
    os.unlink(os.path.join(str(tmp_path), "acme.key"))
    assert binary("-c", conf, "check").returncode == 1
    p = binary("-c", conf, "check", "--list-jobs")
    assert p.returncode == 0 and p.stdout == "nightly-cache\nweekly-backup\n"
    # a broken configuration: its errors, exit 1, no names
    with open(conf, "a") as f:
        f.write("bogus = 1;\n")
    p = binary("-c", conf, "check", "--list-jobs")
    assert p.returncode == 1 and p.stdout == "" and "bogus" in p.stderr
