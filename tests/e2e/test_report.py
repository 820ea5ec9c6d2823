"""Client reports: `kinsta-cron report` and the scheduled `report` action,
against the simulator's inventory and a month of recorded history
(tests/fixtures/report/history.jsonl), in each format, compared with golden
files; the HTML opened in headless chromium (DOM, screenshot) and printed
to PDF, whose first page pdftoppm renders.

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
import struct
import subprocess
import sys
import zlib

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

FIXTURES = os.path.join(kh.SRC, "tests", "fixtures", "report")
GOLDEN = os.path.join(FIXTURES, "golden")
HISTORY = os.path.join(FIXTURES, "history.jsonl")
REGEN = os.environ.get("KCRON_REGEN_GOLDEN") == "1"
CHROMIUM = shutil.which("chromium")
PDFTOPPM = shutil.which("pdftoppm")


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


def png_pixels(data):
    """(width, height, rows of RGB bytes) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * bpp)
    stride = w * bpp + 1
    for y in range(h):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc
                                      else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def ink(png):
    """The share of pixels that are not white, and how many colours."""
    w, h, bpp, rows = png_pixels(png)
    dark, colours = 0, set()
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = row[x:x + 3]
            if px != b"\xff\xff\xff":
                dark += 1
                colours.add(px)
    return dark / (w * h), len(colours)


def chromium(tmp, *args, timeout=90):
    """Headless chromium on a local file, with no traffic of its own: no
    background services, every host name unresolvable, a dead proxy.  (A
    few seconds on an idle machine; it waits for CPU on a busy one.)"""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--user-data-dir=" + str(tmp / "chromium"),
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps", "--disable-breakpad",
         "--disable-domain-reliability", "--dns-prefetch-disable",
         "--no-pings", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--proxy-server=127.0.0.1:9",
         "--disable-features=MediaRouter,OptimizationHints,Translate",
         *args],
        capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:"))


def test_html_golden_dom_screenshot_pdf(setup):
    sim, conf, tmp = setup
    out = tmp / "client-a.html"
    report(conf, "--format", "html", "-o", str(out))
    html = out.read_text()
    golden("client-a.html", html)
    # self-contained: nothing fetched, no script
    assert not re.search(r"<(script|link|img)\b", html)
    assert "@media print" in html
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;' in html
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (tests/deps installs it)")
    url = "file://" + str(out)
    dom = chromium(tmp, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    d = dom.stdout
    for site in ("Alpha Site", "Bravo Site", "example-alpha.com",
                 "example-bravo.com"):
        assert site in d
    assert "charliesite" not in d  # another client's site
    # updates with versions, pending and applied
    assert "woocommerce 8.4.0 → 8.5.1" in d
    assert "akismet 5.2.9 → 5.3" in d
    assert "jetpack <span class=\"muted\">(plugin)</span> 13.0 → 13.1" in d
    # the two charts, with bars
    assert len(re.findall(r"<svg\b", d)) == 2
    assert len(re.findall(r"<rect\b", d)) > 40
    assert "Maintenance runs per day by outcome" in d
    # the message's markup stayed text
    assert "<script>alert" not in d
    shot = tmp / "shot.png"
    r = chromium(tmp, "--screenshot=" + str(shot), "--window-size=1200,1600",
                 "--hide-scrollbars", url)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    share, colours = ink(shot.read_bytes())
    assert 0.02 < share < 0.9 and colours > 20, (share, colours)
    pdf = tmp / "report.pdf"
    r = chromium(tmp, "--print-to-pdf=" + str(pdf), "--no-pdf-header-footer", url)
    assert r.returncode == 0 and pdf.exists(), r.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert PDFTOPPM is not None, "pdftoppm (poppler-utils) is in tests/deps"
    subprocess.run([PDFTOPPM, "-png", "-r", "50", "-f", "1", "-l", "1",
                    str(pdf), str(tmp / "page")], check=True, timeout=60)
    page = [p for p in os.listdir(tmp) if p.startswith("page")]
    assert len(page) == 1
    share, colours = ink((tmp / page[0]).read_bytes())
    assert 0.02 < share < 0.9 and colours > 10, (share, colours)


def test_scheduled_action_writes_html_per_client(setup):
    sim, conf, tmp = setup
    (tmp / "out").mkdir(exist_ok=True)
    o = kh.run_job(conf, "monthly")
    assert o.returncode == 0, o.stderr
    path = tmp / "out" / "client-a-2026-11.html"
    assert path.exists()
    assert normalize(path.read_text()) == normalize(
        (tmp / "client-a.html").read_text())


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
