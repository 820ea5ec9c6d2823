"""End-to-end tests of `kinsta-cron check` and `kinsta-cron next JOB`: the
real binary on configurations written to a temporary folder, with the API
key in a 0600 file, and the promise that the key never reaches the output.
"""
import os
import re
import shutil
import subprocess

import pytest

BIN = os.environ.get("KCRON_BIN", "kinsta-cron")
SRC = os.environ.get("KCRON_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
KEY = "kc-e2e-SECRET-5f1d9a0b7c3e"
CO = "54fb80af-576c-4fdc-ba4f-b596c83f15a1"
ENV_ID = "8b2f5e21-7c55-4b0e-9d34-6a1d2c3e4f50"

GOOD = f"""
timezone = "Europe/Amsterdam";
accounts = ( {{ name = "shop"; company = "{CO}"; key_file = "shop.key"; }} );
jobs = (
  {{ name = "nightly-cache"; schedule = "30 2 * * *";
     action = "clear-cache"; environment_id = "{ENV_ID}"; }},
  {{ name = "weekly-plugins"; schedule = "H H(1-5) * * SUN";
     timezone = "America/New_York"; action = "update-plugins";
     label = "managed"; }}
);
"""


def run(args, cwd, env=None):
    e = {k: v for k, v in os.environ.items()
         if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY")}
    e.update(env or {})
    p = subprocess.run([BIN] + args, cwd=cwd, env=e, capture_output=True,
                       text=True, timeout=60)
    assert KEY not in p.stdout and KEY not in p.stderr
    return p


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture
def tree(tmp_path):
    write(str(tmp_path / "kinsta-cron.conf"), GOOD)
    write(str(tmp_path / "shop.key"), KEY + "\n")
    return tmp_path


def test_check_ok(tree):
    # From "/" on purpose: key_file must resolve against the file's folder.
    p = run(["-c", str(tree / "kinsta-cron.conf"), "check"], cwd="/")
    assert p.returncode == 0, p.stderr
    # each job line is followed by the API calls the job makes
    calls = [l for l in p.stdout.splitlines() if l.startswith("  calls ")]
    assert calls[0] == ("  calls POST /sites/tools/clear-cache, "
                        "GET /operations/{operation_id}")
    assert len(calls) == 2
    lines = [l for l in p.stdout.splitlines() if not l.startswith("  ")]
    assert lines[0] == "configuration OK: 1 account, 2 jobs"
    assert lines[1] == (f"account shop: company {CO}, key from key_file "
                        f"{tree}/shop.key")
    assert re.fullmatch(
        r"job nightly-cache: clear-cache on environment " + ENV_ID +
        r", account shop, next \d{4}-\d\d-\d\dT02:30:00\+0[12]:00 "
        r"\(Europe/Amsterdam\)", lines[2]), lines[2]
    assert re.fullmatch(
        r"job weekly-plugins: update-plugins on label managed \(live\), "
        r"account shop, next \S+-0[45]:00 \(America/New_York\)", lines[3])
    assert p.stderr == ""


def test_check_refuses_readable_key(tree):
    os.chmod(str(tree / "shop.key"), 0o644)
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        'kinsta-cron.conf:3: account "shop": key_file "shop.key" is '
        "readable by group or others (mode 0644); run chmod 600 shop.key",
        "kinsta-cron: kinsta-cron.conf: 1 error",
    ]


def test_check_reports_every_error(tree):
    bad = GOOD.replace('"30 2 * * *"', '"30 25 * * *"') \
              .replace('label = "managed";', 'label = "managed"; jiter = 5;') \
              .replace('"clear-cache"', '"clear-cach"')
    write(str(tree / "kinsta-cron.conf"), bad + 'api = { url = "http://x"; };\n')
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 1
    errs = p.stderr.splitlines()
    assert errs == [
        'kinsta-cron.conf:6: job "nightly-cache": unknown action '
        '"clear-cach" (did you mean "clear-cache"?)',
        'kinsta-cron.conf:5: job "nightly-cache": schedule "30 25 * * *": '
        'hour: "25" is out of range 0-23',
        'kinsta-cron.conf:9: job "weekly-plugins": unknown key "jiter" '
        '(did you mean "jitter"?)',
        'kinsta-cron.conf:11: api: url "http://x" must use https (http is '
        "allowed only to a loopback address: localhost, 127.0.0.1, [::1])",
        "kinsta-cron: kinsta-cron.conf: 4 errors",
    ]


def test_key_in_environment_and_credentials(tree):
    conf = GOOD.replace(' key_file = "shop.key";', "")
    write(str(tree / "kinsta-cron.conf"), conf)
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree),
            env={"KINSTA_API_KEY": KEY})
    assert p.returncode == 0, p.stderr
    assert "key from KINSTA_API_KEY\n" in p.stdout
    creds = tree / "creds"
    write(str(creds / "shop"), KEY)
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree),
            env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert p.returncode == 0, p.stderr
    assert f"key from credential {creds}/shop\n" in p.stdout
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 1
    assert "no API key" in p.stderr
    assert "put the key in credentials/shop" in p.stderr


def test_credentials_folder_beside_the_config(tree):
    # Without $CREDENTIALS_DIRECTORY (a check by hand, not the service),
    # the folder the unit's LoadCredential= lines read from is used, so a
    # plain check sees the keys the service will get.
    conf = GOOD.replace(' key_file = "shop.key";', "")
    write(str(tree / "kinsta-cron.conf"), conf)
    write(str(tree / "credentials" / "shop"), KEY + "\n")
    p = run(["-c", str(tree / "kinsta-cron.conf"), "check"], cwd="/")
    assert p.returncode == 0, p.stderr
    assert f"key from credential {tree}/credentials/shop\n" in p.stdout
    # and it is held to the same rules as any key file
    os.chmod(str(tree / "credentials" / "shop"), 0o644)
    p = run(["-c", str(tree / "kinsta-cron.conf"), "check"], cwd="/")
    assert p.returncode == 1
    assert "chmod 600" in p.stderr


def test_next_job(tree):
    p = run(["-c", "kinsta-cron.conf", "next", "nightly-cache", "-n", "3",
             "--from", "2026-03-28T00:00"], cwd=str(tree))
    assert p.returncode == 0, p.stderr
    # The spring-forward night: 02:30 does not exist, the job fires at 03:00.
    assert p.stdout.splitlines() == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_next_job_h_uses_its_name(tree):
    a = run(["-c", "kinsta-cron.conf", "next", "weekly-plugins", "-n", "2",
             "--from", "2026-06-01T00:00:00Z"], cwd=str(tree))
    b = run(["next", "--schedule", "H H(1-5) * * SUN", "--name",
             "weekly-plugins", "--tz", "America/New_York", "--from",
             "2026-06-01T00:00:00Z", "-n", "2"], cwd=str(tree))
    assert a.returncode == 0 and b.returncode == 0
    assert a.stdout == b.stdout and len(a.stdout.splitlines()) == 2


def test_next_all_jobs_one_line_each(tree):
    # Without JOB: one line per job, "NAME TIME", soonest first; a job that
    # fires every minute does not hide the others (it used to: the old
    # form merged the next N fires of all jobs), disabled jobs say so.
    conf = GOOD.replace("jobs = (", """jobs = (
  { name = "every-minute"; schedule = "* * * * *";
    action = "clear-cache"; environment_id = "%s"; },
  { name = "off"; schedule = "0 4 * * *"; enabled = false;
    action = "clear-cache"; environment_id = "%s"; },""" % (ENV_ID, ENV_ID))
    write(str(tree / "kinsta-cron.conf"), conf)
    p = run(["-c", "kinsta-cron.conf", "next", "--from",
             "2026-03-28T00:00:00Z"], cwd=str(tree))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == [
        "every-minute 2026-03-28T01:01:00+01:00",
        "nightly-cache 2026-03-28T02:30:00+01:00",
    ]
    assert re.fullmatch(r"weekly-plugins 2026-\d\d-\d\dT\d\d:\d\d:00-0[45]:00",
                        lines[2]), lines[2]
    assert lines[3:] == ["off disabled"]
    # -n N: the next N times of each job, on its line
    p = run(["-c", "kinsta-cron.conf", "next", "-n", "3", "--from",
             "2026-03-28T00:00:00Z"], cwd=str(tree))
    assert p.stdout.splitlines()[1] == (
        "nightly-cache 2026-03-28T02:30:00+01:00 2026-03-29T03:00:00+02:00 "
        "2026-03-30T02:30:00+02:00")
    assert len(p.stdout.splitlines()) == 4


def test_next_unknown_job(tree):
    p = run(["-c", "kinsta-cron.conf", "next", "nope"], cwd=str(tree))
    assert p.returncode == 2
    assert p.stderr == 'kinsta-cron: next: no job "nope" in kinsta-cron.conf\n'


def test_missing_config(tmp_path):
    p = run(["-c", "absent.conf", "check"], cwd=str(tmp_path))
    assert p.returncode == 1
    assert p.stderr.splitlines()[0] == \
        "absent.conf: cannot read: No such file or directory"


@pytest.mark.parametrize("example", ["single-site", "agency"])
def test_shipped_examples_check(tmp_path, example):
    src = os.path.join(SRC, "conf", "examples", example)
    dst = tmp_path / example
    shutil.copytree(src, str(dst))
    conf = dst / "kinsta-cron.conf"
    # Every key is a credential, as under the service.
    assert "key_file" not in conf.read_text()
    creds = tmp_path / "keys"
    for name in ("shop", "agency", "bakery", "lawfirm"):
        write(str(creds / name), KEY + "\n")
    p = run(["-c", str(conf), "check"], cwd="/",
            env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("configuration OK: ")
    assert p.stderr == ""


def test_annotated_config_checks(tmp_path):
    text = open(os.path.join(SRC, "conf", "kinsta-cron.conf")).read()
    write(str(tmp_path / "kinsta-cron.conf"), text)
    # the key where its comments say: credentials/ beside the file
    write(str(tmp_path / "credentials" / "acme"), KEY + "\n")
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("configuration OK: 1 account, 2 jobs\n")
    assert "company \"00000000-0000-4000-8000-000000000000\" is a " \
        "placeholder" in p.stderr


def test_times_take_one_form(tree):
    # ISO 8601 with the offset of the job's zone, or Z when the zone is
    # UTC; a zone that is at +00:00 (London in winter) keeps its offset.
    conf = GOOD.replace('timezone = "America/New_York";',
                        'timezone = "UTC";')
    write(str(tree / "kinsta-cron.conf"), conf)
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 0, p.stderr
    assert re.search(r"next \d{4}-\d\d-\d\dT\d\d:\d\d:00Z \(UTC\)\n",
                     p.stdout), p.stdout
    p = run(["-c", "kinsta-cron.conf", "next", "weekly-plugins", "-n", "1",
             "--from", "2026-06-01T00:00:00Z"], cwd=str(tree))
    assert re.fullmatch(r"2026-06-07T\d\d:\d\d:00Z\n", p.stdout), p.stdout
    p = run(["next", "--schedule", "0 12 * * *", "--from",
             "2026-01-15T00:00:00Z", "-n", "1"], cwd=str(tree))
    assert p.stdout == "2026-01-15T12:00:00Z\n"
    p = run(["next", "--schedule", "0 12 * * *", "--tz", "Europe/London",
             "--from", "2026-01-15T00:00:00Z", "-n", "1"], cwd=str(tree))
    assert p.stdout == "2026-01-15T12:00:00+00:00\n"


def test_check_warns_placeholder_company_and_no_jobs(tree):
    # The installed file as it comes: the placeholder company, no job,
    # the key from credentials/main.  (The account's line is its name's:
    # config keeps no line for company.)
    conf = ('include_dir = "conf.d";\n'
            'accounts = (\n'
            '  { name = "main";\n'
            '    company = "00000000-0000-4000-8000-000000000000";\n'
            '  }\n'
            ');\n'
            'jobs = (\n);\n')
    write(str(tree / "kinsta-cron.conf"), conf)
    write(str(tree / "credentials" / "main"), KEY + "\n")
    os.makedirs(str(tree / "conf.d"))
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("configuration OK: 1 account, 0 jobs\n")
    assert p.stderr.splitlines() == [
        'kinsta-cron.conf:3: warning: account "main": company '
        '"00000000-0000-4000-8000-000000000000" is a placeholder, not your '
        "company; set company to your Kinsta company's ID (MyKinsta, "
        "Company settings, Billing details)",
        "kinsta-cron.conf: warning: jobs: none in this file or in "
        "conf.d/*.conf, so the daemon would start and never call the API; "
        "add a job to either (see JOBS in kinsta-cron.conf(5))",
    ]


def test_check_warns_six_field_schedule_read_as_five(tree):
    write(str(tree / "kinsta-cron.conf"),
          GOOD.replace('"30 2 * * *"', '"30 2 * * * *"'))
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 0, p.stderr
    # check's own summary shows the consequence too
    assert re.search(r"job nightly-cache: .* next \S+T\d\d:02:30", p.stdout)
    assert p.stderr == (
        'kinsta-cron.conf:5: warning: job "nightly-cache": schedule '
        '"30 2 * * * *" has six fields, so the first is seconds: it fires '
        "every hour at xx:02:30, not at 02:30; for 02:30 write "
        '"30 2 * * *" (five fields) or "0 30 2 * * *"\n')


def test_check_key_file_warning_only_for_the_service_configuration(tree):
    # A key_file the service could not read is the service's problem: a
    # configuration that kinsta-cron.service does not load (this one) gets
    # no word about it.  The warning itself is checked by
    # tests/package-test.sh on /etc/kinsta-cron/kinsta-cron.conf and, word
    # for word, by tests/unit/test_advice.c.
    p = run(["-c", "kinsta-cron.conf", "check"], cwd=str(tree))
    assert p.returncode == 0 and p.stderr == ""


def test_unknown_action_lists_every_documented_action(tree):
    """An action with no near name gets the list of actions, from the
    registry; that list is exactly the actions kinsta-cron.conf(5)
    documents, so neither can grow without the other."""
    conf = tree / "kinsta-cron.conf"
    write(str(conf), GOOD.replace('"clear-cache"', '"zzzzzzzz"'))
    p = run(["-c", str(conf), "check"], cwd=str(tree))
    assert p.returncode == 1
    (line,) = [l for l in p.stderr.splitlines() if "unknown action" in l]
    m = re.search(r'unknown action "zzzzzzzz" \(one of: ([a-z, -]+)\)$', line)
    assert m, line
    listed = m.group(1).split(", ")
    man = open(os.path.join(SRC, "docs", "kinsta-cron.conf.5")).read()
    section = man[man.index(".SH ACTIONS"):man.index(".SH SCHEDULES")]
    documented = set()
    for tp in re.findall(r"\.TP\n(\.B[R]? [^\n]+)", section):
        documented |= set(re.findall(r"[a-z]+(?:-[a-z]+)+|report|request|backup",
                                     tp.replace("\\fR", " ").replace("\\fB", " ")))
    assert len(listed) == len(set(listed)) == 22
    assert set(listed) == documented, (sorted(listed), sorted(documented))
