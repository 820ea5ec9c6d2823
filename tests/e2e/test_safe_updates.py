"""End-to-end tests of verified updates (issue 13): the real binary against
the simulator, whose environments each serve a web page on loopback
(/_site/<domain>/...) that a test can break.

verify probes the pages before the update (a broken site is left alone)
and after it (with a cache-buster); the re-list must show each item at its
new version; on_failure = "restore" restores the pre-update backup and
ends rolled-back, "hold" ends failed.  The history line of each run says
what changed.  Helpers: kcron_helpers.py beside this file.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

OP_SECONDS = 0.2
ALPHA = kh.env_id("alphasite")
BRAVO = kh.env_id("bravosite")
OWNER = "0ae00001-0000-4000-8000-000000000001"  # owner@acme.example
DEV = "0ae00001-0000-4000-8000-000000000002"    # dev@acme.example
# alphasite live: akismet 5.3 -> 5.3.1, classic-editor 1.6.3 -> 1.6.4,
# jetpack 13.0 -> 13.1 (wordpress-seo has none); its primary domain
ALPHA_DOMAIN = "example-alpha.com"
BEFORE = {"akismet": "5.3", "classic-editor": "1.6.3", "jetpack": "13.0"}
AFTER = {"akismet": "5.3.1", "classic-editor": "1.6.4", "jetpack": "13.1"}


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path):
    """(sim, run): run(name, jobs=[...]) writes the configuration and runs
    job name with `kinsta-cron run`."""
    sim.reset(op_seconds=OP_SECONDS)

    def run(name, *args, jobs, **kw):
        conf = kh.write_config(tmp_path, jobs, sim.url)
        return kh.run_job(conf, name, *args, **kw)
    return sim, run


def verified(sim, name="safe", site="alphasite", **kw):
    """An update-plugins job with backup_first and verify on the
    simulator's pages."""
    keys = dict(site=site, backup_first=True, verify={
        "urls": ["/", "/shop/"],
        "base_url": "http://127.0.0.1:%d/_site/{domain}" % sim.port,
        "expect_text": "</html>",
        "timeout": 5,
    })
    keys.update(kw)
    return kh.job(name, "update-plugins", **keys)


def page(sim, domain, path="/"):
    """(status, body) of an environment's page, as a visitor sees it."""
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        conn.request("GET", "/_site/%s%s" % (domain, path))
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def versions(sim, env_id):
    return {p["name"]: p["version"] for p in sim.env_state(env_id)["plugins"]}


def only(res, outcome, rc):
    assert res.returncode == rc, res
    assert len(res.outcomes) == 1, res
    o = res.outcomes[0]
    assert o["outcome"] == outcome, res
    return o


def pre_update_backups(sim, env_id, job):
    return [b for b in sim.env_state(env_id)["backups"]
            if b.get("note") == "kinsta-cron:pre-update:" + job]


def test_listing_names_the_primary_domain(sim):
    """{domain} is the environment's primaryDomain, as Kinsta lists it."""
    sim.reset()
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    conn.request("GET", "/v2/sites?company=%s&include_environments=true"
                 % kh.ACME, headers={"Authorization": "Bearer " + kh.KEY})
    doc = json.loads(conn.getresponse().read())
    conn.close()
    (alpha,) = [s for s in doc["company"]["sites"] if s["name"] == "alphasite"]
    (live,) = [e for e in alpha["environments"] if e["name"] == "live"]
    assert live["primaryDomain"]["name"] == ALPHA_DOMAIN
    assert page(sim, ALPHA_DOMAIN)[0] == 200


def test_breaking_update_is_restored(env):
    """A plugin whose update puts a PHP fatal error on the page: the
    pre-update backup is restored, the page is healthy again, rolled-back."""
    sim, run = env
    sim.ctl("POST", "break", {"env_id": ALPHA, "plugin": "jetpack",
                              "mode": "fatal"})
    r = run("safe", jobs=[verified(sim, on_failure="restore",
                                   notify_user="dev@acme.example")])
    o = only(r, "rolled-back", 1)
    (backup,) = pre_update_backups(sim, ALPHA, "safe")
    assert o["message"].startswith(
        "rolled back to backup %d: unhealthy after the update: "
        "http://127.0.0.1:%d/_site/%s/: PHP fatal error"
        % (backup["id"], sim.port, ALPHA_DOMAIN)), o
    # the restore: that backup, the user named by notify_user
    (restore,) = [c for c in sim.calls() if c[1].endswith("/backups/restore")]
    assert restore == ("POST", "/sites/environments/%s/backups/restore" % ALPHA,
                       {"backup_id": backup["id"], "notified_user_id": DEV})
    assert sim.ctl("GET", "restores") == [
        {"backup_id": backup["id"], "env_id": ALPHA, "notified_user_id": DEV}]
    # everything is back as it was, and the page is healthy again
    assert {k: v for k, v in versions(sim, ALPHA).items() if k in BEFORE} \
        == BEFORE
    status, body = page(sim, ALPHA_DOMAIN)
    assert status == 200 and "Fatal error" not in body and "</html>" in body
    # probes: both pages before, "/" after (broken: no need for more), both
    # after the restore; every one with a cache-buster of its own
    hits = [h for h in sim.ctl("GET", "pages") if h["env_id"] == ALPHA]
    assert [h["path"] for h in hits][:5] == ["/", "/shop", "/", "/", "/shop"]
    busters = [h["query"].get("kinsta-cron-probe") for h in hits[:5]]
    assert all(busters) and len(set(busters)) == 5, hits


def test_hold_ends_failed_and_changes_nothing_more(env):
    """on_failure = "hold" (the default): failed, no restore, no cache
    clear; the update stays as it is for a person to look at."""
    sim, run = env
    sim.ctl("POST", "break", {"env_id": ALPHA, "plugin": "akismet",
                              "mode": "500"})
    r = run("safe", jobs=[verified(sim, clear_caches_after=True)])
    o = only(r, "failed", 1)
    assert o["message"] == (
        "unhealthy after the update: http://127.0.0.1:%d/_site/%s/: "
        "HTTP 500, expected 200" % (sim.port, ALPHA_DOMAIN)), o
    calls = sim.calls()
    assert not [c for c in calls if c[1].endswith("/backups/restore")]
    assert not [c for c in calls if c[1].startswith("/sites/tools/")]
    assert versions(sim, ALPHA)["akismet"] == AFTER["akismet"]
    assert page(sim, ALPHA_DOMAIN)[0] == 500


def test_blank_page_after_the_update(env):
    """A blank 200 is no healthy page either."""
    sim, run = env
    sim.ctl("POST", "break", {"env_id": ALPHA, "plugin": "classic-editor",
                              "mode": "blank"})
    o = only(run("safe", jobs=[verified(sim, on_failure="restore")]),
             "rolled-back", 1)
    assert "empty page (HTTP 200)" in o["message"], o
    assert page(sim, ALPHA_DOMAIN)[0] == 200


def test_site_broken_before_is_left_alone(env):
    """A site that is already down is skipped: no backup, no update."""
    sim, run = env
    sim.ctl("POST", "site", {"env_id": ALPHA, "mode": "500"})
    before = sim.env_state(ALPHA)["backups"]
    o = only(run("safe", jobs=[verified(sim, on_failure="restore")]),
             "skipped", 0)
    assert o["message"] == (
        "unhealthy before update: http://127.0.0.1:%d/_site/%s/: HTTP 500, "
        "expected 200" % (sim.port, ALPHA_DOMAIN)), o
    assert [c for c in sim.calls() if c[0] != "GET"] == []
    assert sim.env_state(ALPHA)["backups"] == before
    assert {k: v for k, v in versions(sim, ALPHA).items() if k in BEFORE} \
        == BEFORE


def test_relist_mismatch_is_detected(env):
    """An update whose operation succeeds but changes nothing: the re-list
    catches it (hold: failed; restore: rolled back)."""
    sim, run = env
    sim.ctl("POST", "stick", {"env_id": BRAVO, "plugin": "akismet"})
    o = only(run("plug", jobs=[kh.job("plug", "update-plugins",
                                      site="bravosite",
                                      plugins=["akismet"])]),
             "failed", 1)
    assert o["message"] == "not updated: akismet at 5.3, expected 5.3.1", o
    plugins = [c for c in sim.calls()
               if c[1] == "/sites/environments/%s/plugins" % BRAVO]
    assert len(plugins) == 2  # the list, and the list again
    o = only(run("plug", jobs=[kh.job("plug", "update-plugins",
                                      site="bravosite", plugins=["akismet"],
                                      backup_first=True,
                                      on_failure="restore")]),
             "rolled-back", 1)
    assert "not updated: akismet at 5.3, expected 5.3.1" in o["message"], o
    # no notify_user: Kinsta notifies the company's first user
    (restore,) = [c for c in sim.calls() if c[1].endswith("/backups/restore")]
    assert restore[2]["notified_user_id"] == OWNER


def test_check_refuses_restore_without_backup_first(tmp_path, sim):
    conf = kh.write_config(tmp_path, [kh.job(
        "safe", "update-plugins", site="alphasite", on_failure="restore",
        verify={"url": ["/"]})], sim.url)
    r = kh.run(conf, "check")
    assert r.returncode != 0
    assert 'unknown key "url" in verify (did you mean "urls"?)' in r.stderr
    assert 'verify needs "urls"' in r.stderr
    assert 'on_failure = "restore" restores the pre-update backup: set ' \
        'backup_first = true' in r.stderr


def _daemon(conf, tmp_path):
    e = {k: v for k, v in os.environ.items()
         if k not in ("KINSTA_API_KEY", "CREDENTIALS_DIRECTORY",
                      "NOTIFY_SOCKET")}
    err = open(tmp_path / "daemon.err", "wb")
    p = subprocess.Popen([kh.BIN, "-c", str(conf), "daemon", "--log-stderr"],
                         stdout=subprocess.DEVNULL, stderr=err, env=e)
    err.close()
    return p


def _history(tmp_path):
    path = tmp_path / "state" / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(s) for s in path.read_text().splitlines() if s]


def _stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def test_history_records_what_changed(sim, tmp_path):
    """The daemon's history line of a rolled-back run: every item with its
    versions before and after, the backup taken, each probe's status and
    time, and that a restore ran."""
    sim.reset(op_seconds=OP_SECONDS)
    sim.ctl("POST", "break", {"env_id": ALPHA, "plugin": "jetpack",
                              "mode": "fatal"})
    conf = kh.write_config(tmp_path, [verified(
        sim, schedule="*/1 * * * * *", on_failure="restore",
        overlap="skip")], sim.url)
    p = _daemon(conf, tmp_path)
    try:
        kh.wait_for(lambda: _history(tmp_path), timeout=60,
                    what="a history line")
    finally:
        _stop(p)
    line = _history(tmp_path)[0]
    assert line["outcome"] == "rolled-back", line
    d = line["details"]
    (backup,) = pre_update_backups(sim, ALPHA, "safe")
    assert d["backup_id"] == backup["id"], d
    assert d["restored"] is True, d
    assert sorted(d["items"], key=lambda i: i["name"]) == [
        {"name": n, "from": BEFORE[n], "to": AFTER[n], "after": AFTER[n]}
        for n in sorted(BEFORE)], d
    phases = [(pr["phase"], pr["status"], pr["ok"]) for pr in d["probes"]]
    assert phases == [("before", 200, True), ("before", 200, True),
                      ("after", 200, False), ("restored", 200, True),
                      ("restored", 200, True)], d
    assert all(isinstance(pr["ms"], int) and pr["ms"] >= 0
               for pr in d["probes"]), d
    assert d["probes"][2]["why"].startswith("PHP fatal error"), d
    assert d["probes"][0]["url"] == "http://127.0.0.1:%d/_site/%s/" % (
        sim.port, ALPHA_DOMAIN), d


def test_thirty_nights_keep_one_pre_update_backup(sim, tmp_path):
    """Thirty nightly update runs with backup_first (a plugin that has an
    update every night) beside two backups made by hand: every run
    succeeds, one pre-update backup is kept, the others are never
    touched.  The simulator answers without operations to follow (as the
    document allows), so that thirty nights take seconds."""
    # (240 requests in a few seconds: more than Kinsta's 120 a minute,
    # which each `run` would wait out; the nights are a day apart)
    sim.reset(sync_ops=True, rate_company=1000)
    sim.ctl("POST", "endless", {"env_id": BRAVO, "plugin": "akismet"})
    foreign = [b for b in sim.env_state(BRAVO)["backups"]
               if b["type"] == "manual"]
    conf = kh.write_config(tmp_path, [kh.job(
        "nightly", "update-plugins", site="bravosite", plugins=["akismet"],
        backup_first=True)], sim.url)
    ids = []
    for night in range(1, 31):
        o = only(kh.run_job(conf, "nightly"), "succeeded", 0)
        assert o["note"].endswith("-> 5.3.%d" % night), o
        manual = [b for b in sim.env_state(BRAVO)["backups"]
                  if b["type"] == "manual"]
        (kept,) = [b for b in manual
                   if b.get("note") == "kinsta-cron:pre-update:nightly"]
        ids.append(kept["id"])
        assert all(b in manual for b in foreign), night
        assert len(manual) <= 5
    assert len(set(ids)) == 30  # each night's own, the last night's kept
    assert versions(sim, BRAVO)["akismet"] == "5.3.30"
