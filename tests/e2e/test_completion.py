"""The bash completion (completion/kinsta-cron): sourced in bash with
bash-completion, as a shell does, and asked for COMPREPLY after a few
command lines, with the binary under test on PATH as "kinsta-cron"."""
import os
import re
import shlex
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
SCRIPT = os.path.join(kh.SRC, "completion", "kinsta-cron")


def complete(line, cwd=None):
    """COMPREPLY for the command line `line` with the cursor at its end
    (a trailing space: completing a new word)."""
    words = shlex.split(line)
    if line.endswith(" "):
        words.append("")
    script = f"""
source {shlex.quote(BASH_COMPLETION)}
source {shlex.quote(SCRIPT)}
COMP_LINE={shlex.quote(line)}
COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({" ".join(shlex.quote(w) for w in words)})
COMP_CWORD={len(words) - 1}
_kinsta_cron kinsta-cron {shlex.quote(words[-1])} {shlex.quote(words[-2])}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = dict(os.environ,
               PATH=os.path.dirname(os.path.abspath(kh.BIN)) + ":" +
               os.environ.get("PATH", "/usr/bin:/bin"))
    assert os.path.exists(BASH_COMPLETION), \
        "bash-completion is not installed (tests/deps installs it)"
    p = subprocess.run(["bash", "-c", script], capture_output=True,
                       text=True, timeout=30, env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return sorted(w for w in p.stdout.splitlines() if w)


@pytest.fixture(scope="module")
def conf(tmp_path_factory):
    d = tmp_path_factory.mktemp("completion")
    return kh.write_config(d, [
        kh.job("nightly-cache", "clear-cache", schedule="0 3 * * *",
               environment_id=kh.env_id("bravosite")),
        kh.job("nightly-backup", "backup", schedule="0 4 * * *",
               site="charliesite"),
        kh.job("weekly-plugins", "update-plugins", schedule="0 5 * * SUN",
               site="alphasite"),
    ], "https://api.kinsta.com/v2")


def test_commands_and_program_options():
    assert complete("kinsta-cron ") == [
        "check", "daemon", "history", "next", "report", "run", "status",
        "trigger"]
    assert complete("kinsta-cron -c x.conf st") == ["status"]
    assert complete("kinsta-cron --") == ["--config", "--help", "--version"]


def test_config_file(tmp_path):
    (tmp_path / "site.conf").write_text("")
    (tmp_path / "other").write_text("")
    assert complete("kinsta-cron -c si", cwd=str(tmp_path)) == ["site.conf"]


def test_job_names_from_the_named_configuration(conf):
    assert complete(f"kinsta-cron -c {conf} run ") == [
        "nightly-backup", "nightly-cache", "weekly-plugins"]
    assert complete(f"kinsta-cron -c {conf} trigger nightly-") == [
        "nightly-backup", "nightly-cache"]
    assert complete(f"kinsta-cron --config={conf} next w") == [
        "weekly-plugins"]
    # one job only, and none after next --schedule
    assert complete(f"kinsta-cron -c {conf} run nightly-cache ") == []
    assert complete(f"kinsta-cron -c {conf} next --schedule '0 3 * * *' "
                    "") == []
    # the value of an option is not the job
    assert complete(f"kinsta-cron -c {conf} next -n 3 n") == [
        "nightly-backup", "nightly-cache"]
    # an unreadable configuration: nothing, and no error on the terminal
    assert complete("kinsta-cron -c /nonexistent.conf run ") == []


def test_options_are_each_commands_own(conf):
    # the same options as "kinsta-cron COMMAND --help" describes
    assert complete("kinsta-cron check -") == ["--help", "--list-jobs", "-h"]
    assert complete(f"kinsta-cron -c {conf} run nightly-cache --") == [
        "--dry-run", "--help", "--verbose"]
    assert complete("kinsta-cron daemon --") == [
        "--help", "--log-stderr", "--verbose"]
    assert complete("kinsta-cron next --") == [
        "--from", "--help", "--name", "--schedule", "--tz"]
    assert complete("kinsta-cron status -") == ["--help", "-h"]
    assert complete("kinsta-cron trigger -") == ["--help", "--wait", "-h"]
    assert complete("kinsta-cron history --") == [
        "--help", "--json", "--outcome", "--since"]
    assert complete("kinsta-cron history --outcome t") == ["timed-out"]
    assert complete(f"kinsta-cron -c {conf} history --since 7d n") == [
        "nightly-backup", "nightly-cache"]


def test_help_and_completion_agree():
    for cmd in ("check", "daemon", "history", "next", "report", "run", "status",
                "trigger"):
        helped = subprocess.run([kh.BIN, cmd, "--help"], capture_output=True,
                                text=True).stdout
        opts = set(re.findall(r"^  (?:(-\w), )?(--?[\w-]+)", helped.split(
            "\noptions:\n", 1)[1], re.M))
        flat = sorted({o for pair in opts for o in pair if o})
        assert complete(f"kinsta-cron {cmd} -") == flat, cmd


def test_report_formats_and_periods():
    assert complete("kinsta-cron report --format h") == ["html"]
    assert complete("kinsta-cron report --period last") == ["last-month"]
    assert complete("kinsta-cron report --client ") == []
    assert "report" in complete("kinsta-cron rep")


def test_zones_after_tz():
    got = complete("kinsta-cron next --schedule '0 3 * * *' --tz Europe/Ams")
    assert got == ["Europe/Amsterdam"]
    assert "posixrules" not in complete("kinsta-cron next --tz posix")
