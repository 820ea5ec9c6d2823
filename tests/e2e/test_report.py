"""Client reports: `kinsta-cron report` and the scheduled `report` action,
against the simulator's inventory and a month of recorded history
(tests/fixtures/report/history.jsonl), in each format, compared with golden
files; the HTML opened in headless chromium (DOM, screenshot) and printed
to PDF, whose first page pdftoppm renders (test_report_browser.py).

Golden files: tests/fixtures/report/golden/.  After an intended change of
the report, regenerate them with

    KCRON_REGEN_GOLDEN=1 /usr/bin/python3 -m pytest -q tests/e2e/test_report.py

(KCRON_BIN naming the binary) and review the diff.  The one thing that
differs between runs, the time the report was made, is replaced by
GENERATED before comparing.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

FIXTURES = os.path.join(kh.SRC, "tests", "fixtures", "report")
GOLDEN = os.path.join(FIXTURES, "golden")
HISTORY = os.path.join(FIXTURES, "history.jsonl")
REGEN = os.environ.get("KCRON_REGEN_GOLDEN") == "1"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    with kh.Sim(keys=[kh.KEY]) as sim:
        # many reports in a row from fresh processes, each with a full
        # budget: the simulator's 120 a minute would make them wait
        sim.config(rate_company=10000)
        conf = kh.write_config(tmp / "conf", [
            kh.job("monthly", "report", client="client-a", period="2026-11",
                   format="html",
                   output=str(tmp / "out" / "{client}-{period}.html"))],
            sim.url)
        shutil.copy(HISTORY, tmp / "conf" / "state" / "history.jsonl")
        yield sim, conf, tmp


def report(conf, *args):
    r = kh.run(conf, "report", "--client", "client-a", "--period", "2026-11",
               *args)
    assert r.returncode == 0, r.stderr
    return r


def normalize(text):
    text = re.sub(r'"generated":"[^"]*","generated_ms":\d+',
                  '"generated":"GENERATED","generated_ms":0', text)
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d", "generated GENERATED",
                  text)


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    text = normalize(text)
    if REGEN:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", newline="") as f:
            f.write(text)
    with open(path, newline="") as f:
        want = f.read()
    assert text == want, ("%s differs from the golden file; if the change is "
                          "intended, regenerate (see this file's docstring)"
                          % name)


def test_json_golden_and_contents(setup):
    sim, conf, tmp = setup
    out = tmp / "client-a.json"
    r = report(conf, "--format", "json", "-o", str(out))
    assert "report written to %s" % out in r.stderr
    text = out.read_text()
    golden("client-a.json", text)
    doc = json.loads(text)
    assert doc["schema"] == "kinsta-cron.report/1"
    assert doc["client"] == "client-a" and doc["client_label"] == "client-a"
    assert doc["period"]["first_day"] == "2026-11-01"
    assert doc["period"]["last_day"] == "2026-11-30"
    # the client's sites only, with their domains and versions
    assert [s["name"] for s in doc["sites"]] == ["alphasite", "bravosite"]
    alpha = doc["sites"][0]["environments"][0]
    assert alpha["primary_domain"] == "example-alpha.com"
    assert "alphasite.kinsta.cloud" in alpha["domains"]
    assert (alpha["wordpress"], alpha["php"]) == ("6.7.1", "php8.1")
    assert {"name": "jetpack", "version": "13.0", "update_version": "13.1"} \
        in alpha["plugin_updates"]
    # November only, client-a only: 30 + 30 backups, 5 update runs, 5 cache
    # clears, a PHP restart, a CDN clear, a push, a wp-cli run
    s = doc["summary"]
    assert s["runs"] == 74 and len(doc["work"]) == 74
    assert s["backups_taken"] == 59 and s["cache_clears"] == 5
    assert s["php_restarts"] == 1 and s["update_runs"] == 4
    assert s["updates_applied"] == 4  # items recorded in details
    assert s["visits"] == sum(d["visits"] for d in doc["days"]) > 0
    assert {w["site"] for w in doc["work"]} == {"alphasite", "bravosite"}
    ups = [w for w in doc["work"] if w["updates"]]
    assert {"name": "woocommerce", "type": "plugin", "from": "8.4.0",
            "to": "8.5.1"} in ups[1]["updates"]
    old = [w for w in doc["work"] if w["kind"] == "update" and
           w["start"].startswith("2026-11-30")]
    assert old[0]["updates"] is None  # recorded without details
    # failures and how they ended
    ended = {(w["job"], w["start"][:10]): (w["resolution"], w["resolved_at"])
             for w in doc["work"] if w["resolution"]}
    assert ended == {
        ("nightly-backup", "2026-11-12"): ("succeeded-later",
                                           "2026-11-13T02:05:00Z"),
        ("weekly-updates", "2026-11-16"): ("succeeded-later",
                                           "2026-11-23T03:00:00Z"),
        ("cdn-purge", "2026-11-20"): ("not-run-again", None),
        ("wp-check", "2026-11-22"): ("not-run-again", None)}
    assert s["failures_unresolved"] == 2
    # the days: every day of November, the failure on the 12th
    assert len(doc["days"]) == 30
    assert doc["days"][11]["failed"] == 1
    # what the action wrote before, kept for its readers
    assert len(doc["users"]) == 2 and len(doc["environments"]) == 3


def test_csv_golden(setup):
    sim, conf, tmp = setup
    out = tmp / "client-a.csv"
    report(conf, "--format", "csv", "-o", str(out))
    text = out.read_bytes().decode()
    golden("client-a.csv", text)
    assert text.endswith("\r\n") and text.count("\n") == text.count("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["site"] for row in rows] == ["alphasite", "bravosite"]
    bravo = rows[1]
    assert bravo["failed"] == "1" and bravo["backups_taken"] == "29"
    assert bravo["primary_domain"] == "example-bravo.com"
    assert bravo["pending_plugin_updates"] == "3"


def test_html_golden(setup):
    sim, conf, tmp = setup
    out = tmp / "client-a.html"
    report(conf, "--format", "html", "-o", str(out))
    html = out.read_text()
    golden("client-a.html", html)
    # self-contained: nothing fetched, no script
    assert not re.search(r"<(script|link|img)\b", html)
    assert "@media print" in html
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;' in html
    assert len(re.findall(r"<svg\b", html)) == 2


def test_scheduled_action_writes_html_per_client(setup):
    sim, conf, tmp = setup
    (tmp / "out").mkdir(exist_ok=True)
    o = kh.run_job(conf, "monthly")
    assert o.returncode == 0, o.stderr
    path = tmp / "out" / "client-a-2026-11.html"
    assert path.exists()
    golden("client-a.html", path.read_text())


def test_account_and_all(setup):
    sim, conf, tmp = setup
    r = kh.run(conf, "report", "--account", "acme", "--since", "30d")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["client"] == "acme" and doc["client_label"] is None
    assert len(doc["sites"]) == 5 and doc["period"]["label"] == "30d"
    r = kh.run(conf, "report", "--all", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 6


def test_a_label_no_site_carries(setup):
    sim, conf, tmp = setup
    r = kh.run(conf, "report", "--client", "Client-A")
    assert r.returncode == 1 and r.stdout == ""
    assert 'no site carries the label "Client-A"' in r.stderr


@pytest.mark.parametrize("args,msg", [
    (["--period", "2026-13"], "--period must be a month"),
    (["--since", "0d"], "--since must be a number of days"),
    (["--format", "pdf"], "use html, csv or json"),
    (["--all", "--client", "x"], "--all goes alone"),
    (["--period", "2026-11", "--since", "3d"], "not both"),
    (["--account", "nobody"], 'no account "nobody"'),
])
def test_bad_options(setup, args, msg):
    sim, conf, tmp = setup
    r = kh.run(conf, "report", *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr


def test_check_rejects_bad_report_parameters(tmp_path):
    conf = kh.write_config(tmp_path, [
        kh.job("r1", "report", period="November"),
        kh.job("r2", "report", since="30"),
        kh.job("r3", "report", output="/tmp/{customer}.html"),
        kh.job("r4", "report", format="pdf")], "http://127.0.0.1:9")
    r = kh.run(conf, "check")
    assert r.returncode == 1
    assert 'must be a month like "2026-11"' in r.stderr
    assert "must be a number of days" in r.stderr
    assert "unknown {name}" in r.stderr
    assert "pdf" in r.stderr
