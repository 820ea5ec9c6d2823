"""End-to-end tests of `kinsta-cron run`: every action of the registry, the
target selectors and --dry-run, against the Kinsta API simulator.

Each test resets the simulator, runs one job with the real binary and
checks the outcome line and the exact requests the simulator recorded
(method, path, body).  Helpers: kcron_helpers.py beside this file.
"""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

OP_SECONDS = 0.3
LISTING = ("GET", "/sites?company=%s&include_environments=true" % kh.ACME,
           None)
ALPHA = kh.env_id("alphasite")
ALPHA_STG = kh.env_id("alphasite", "staging")
BRAVO = kh.env_id("bravosite")
CHARLIE = kh.env_id("charliesite")
CHARLIE_STG = kh.env_id("charliesite", "staging")
DELTA = kh.env_id("deltasite")
ECHO = kh.env_id("echosite")


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path):
    """(sim, run) with the simulator back at its seed; run(name, *args,
    jobs=[...]) writes the configuration and runs job `name`."""
    sim.reset(op_seconds=OP_SECONDS)

    def run(name, *args, jobs, **kw):
        conf = kh.write_config(tmp_path, jobs, sim.url,
                               extra=kw.pop("extra", ""))
        return kh.run_job(conf, name, *args, **kw)
    return sim, run


def ops_of(sim):
    """operation ids the simulator created, oldest first."""
    return [o["id"] for o in sorted(sim.operations(),
                                    key=lambda o: o["created"])]


def polls(op_ids):
    return [("GET", "/operations/" + o, None) for o in op_ids]


def only(res, outcome="succeeded", rc=0):
    """The single outcome line of res, checked."""
    assert res.returncode == rc, res
    assert len(res.outcomes) == 1, res
    o = res.outcomes[0]
    assert o["outcome"] == outcome, res
    assert int(o["duration_ms"]) >= 0
    return o


def dedup_polls(calls):
    """Calls with runs of identical polls collapsed (poll counts depend on
    timing)."""
    out = []
    for c in calls:
        if c[0] == "GET" and c[1].startswith("/operations/") and out \
                and out[-1] == c:
            continue
        out.append(c)
    return out


# --- one action each ------------------------------------------------------

def test_clear_cache_by_environment_id(env):
    sim, run = env
    r = run("cc", jobs=[kh.job("cc", "clear-cache", environment_id=ALPHA)])
    o = only(r)
    (op,) = ops_of(sim)
    assert o == dict(o, job="cc", target=ALPHA, env=ALPHA, op=op)
    assert op.startswith("cache:clear-")
    assert "message" not in o and "note" not in o
    assert dedup_polls(sim.calls()) == [
        ("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA}),
    ] + polls([op])
    # nothing but the progress line (not a terminal: one per operation)
    assert r.stderr == f"kinsta-cron: run cc: {ALPHA} clear-cache: " \
        f"following {op}\n"


def test_clear_edge_cache_with_params(env):
    sim, run = env
    r = run("edge", jobs=[kh.job("edge", "clear-edge-cache", site="alphasite",
                                 clear_subdirectories=True,
                                 url="https://alpha.example.com/blog")])
    o = only(r)
    (op,) = ops_of(sim)
    assert (o["target"], o["env"], o["op"]) == ("alphasite/live", ALPHA, op)
    assert op.startswith("edgeCache:clear-")
    assert dedup_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/edge-caching/clear",
        {"environment_id": ALPHA, "clear_subdirectories": True,
         "url": "https://alpha.example.com/blog"})] + polls([op])


def test_clear_edge_cache_without_edge_is_skipped(env):
    sim, run = env
    r = run("edge", jobs=[kh.job("edge", "clear-edge-cache",
                                 site="deltasite")])
    o = only(r, "skipped")
    assert o["message"] == "edge caching is not enabled on this environment"
    assert sim.calls() == [LISTING]


def test_clear_cdn_cache(env):
    sim, run = env
    r = run("cdn", jobs=[kh.job("cdn", "clear-cdn-cache", site="bravosite")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("cdn-cache:clear-") and o["op"] == op
    assert dedup_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/cdn/clear-cache",
        {"environment_id": BRAVO, "cdn_cache_id": kh.cdn_id(BRAVO)})] + \
        polls([op])


def test_clear_all_caches_live_and_staging(env):
    """Live has all three caches; alphasite's staging has neither edge nor
    CDN: one page clear and a note."""
    sim, run = env
    r = run("all", jobs=[kh.job("all", "clear-all-caches",
                                environment_ids=[ALPHA, ALPHA_STG])])
    assert r.returncode == 0, r
    by = r.by_target()
    assert set(by) == {"alphasite/live", "alphasite/staging"}
    live, stg = by["alphasite/live"], by["alphasite/staging"]
    assert live["outcome"] == stg["outcome"] == "succeeded"
    assert "note" not in live
    assert stg["note"] == ("edge cache not enabled, skipped; "
                           "CDN not enabled, skipped")
    posts = sim.calls(mutating_only=True)
    assert sorted(p for p in posts if p[2]["environment_id"] == ALPHA) == \
        sorted([("POST", "/sites/tools/clear-cache",
                 {"environment_id": ALPHA}),
                ("POST", "/sites/edge-caching/clear",
                 {"environment_id": ALPHA}),
                ("POST", "/sites/cdn/clear-cache",
                 {"environment_id": ALPHA, "cdn_cache_id": kh.cdn_id(ALPHA)})])
    # page, then edge, then CDN: each after the previous one finished
    mine = [p[1] for p in posts if p[2]["environment_id"] == ALPHA]
    assert mine == ["/sites/tools/clear-cache", "/sites/edge-caching/clear",
                    "/sites/cdn/clear-cache"]
    assert [p for p in posts if p[2]["environment_id"] == ALPHA_STG] == [
        ("POST", "/sites/tools/clear-cache", {"environment_id": ALPHA_STG})]
    # the last operation followed is the one printed
    ops = {o["id"]: o for o in sim.operations()}
    assert ops[live["op"]]["action"] == "clear-cdn-cache"
    assert ops[stg["op"]]["action"] == "clear-cache"
    assert all(o["state"] == "succeeded" for o in ops.values())


def test_restart_php(env):
    sim, run = env
    r = run("php", jobs=[kh.job("php", "restart-php", site="echosite")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("php:restart-") and o["op"] == op
    assert o["target"] == "echosite/live"
    assert dedup_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/tools/restart-php", {"environment_id": ECHO})] + \
        polls([op])


def test_set_php_version(env):
    sim, run = env
    r = run("php83", jobs=[kh.job("php83", "set-php-version",
                                  environment_id=ECHO, php_version="8.3")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("php:modify-version-") and o["op"] == op
    assert dedup_polls(sim.calls()) == [(
        "PUT", "/sites/tools/modify-php-version",
        {"environment_id": ECHO, "php_version": "8.3"})] + polls([op])
    assert sim.env_state(ECHO)["container_info"]["php_engine_version"] == \
        "php8.3"


def test_backup_keep_rotates_only_own_backups(env):
    sim, run = env
    jobs = [kh.job("keeper", "backup", site="alphasite", keep=1)]
    before = sim.env_state(ALPHA)["backups"]
    others = sorted(b["id"] for b in before)
    assert any(b.get("note") == "kinsta-cron:nightly-backup" for b in before)

    only(run("keeper", jobs=jobs))
    (op1,) = ops_of(sim)
    assert op1.startswith("backups:add-manual-")
    assert dedup_polls(sim.calls()) == [
        LISTING,
        ("GET", "/sites/environments/%s/backups" % ALPHA, None),  # a slot?
        ("POST", "/sites/environments/%s/manual-backups" % ALPHA,
         {"tag": "kinsta-cron:keeper"}),
        *polls([op1]),
        ("GET", "/sites/environments/%s/backups" % ALPHA, None),
    ]  # one tagged backup, keep = 1: nothing to delete
    first = [b for b in sim.env_state(ALPHA)["backups"]
             if b.get("note") == "kinsta-cron:keeper"]
    assert len(first) == 1

    sim.ctl("POST", "reset-requests")
    o = only(run("keeper", jobs=jobs))
    ops = ops_of(sim)
    assert len(ops) == 3 and ops[2].startswith("backups:remove-")
    assert o["op"] == ops[2]
    assert dedup_polls(sim.calls()) == [
        LISTING,
        ("GET", "/sites/environments/%s/backups" % ALPHA, None),
        ("POST", "/sites/environments/%s/manual-backups" % ALPHA,
         {"tag": "kinsta-cron:keeper"}),
        *polls([ops[1]]),
        ("GET", "/sites/environments/%s/backups" % ALPHA, None),
        ("DELETE", "/sites/environments/backups/%s" % first[0]["id"], None),
        *polls([ops[2]]),
    ]
    after = sim.env_state(ALPHA)["backups"]
    mine = [b for b in after if b.get("note") == "kinsta-cron:keeper"]
    assert len(mine) == 1 and mine[0]["id"] != first[0]["id"]
    # nobody else's backup was touched
    assert sorted(b["id"] for b in after if b not in mine) == others


def test_backup_slots_never_jam(env):
    """Kinsta's limit of manual backups (3 here, and backup_slots = 3):
    nightly backups with keep = 2 beside someone's own backup.  Every
    night succeeds, the other backup stays, and once the slots are full
    the oldest of ours goes first, before the new one is asked for."""
    sim, run = env
    sim.config(manual_backup_limit=3)
    jobs = [kh.job("nightly", "backup", environment_id=ECHO, keep=2,
                   backup_slots=3)]
    foreign = [b for b in sim.env_state(ECHO)["backups"]
               if b["type"] == "manual"]
    assert len(foreign) == 1
    for night in range(4):
        sim.ctl("POST", "reset-requests")
        before = [b["id"] for b in sim.env_state(ECHO)["backups"]
                  if b.get("note") == "kinsta-cron:nightly"]
        only(run("nightly", jobs=jobs))
        manual = [b for b in sim.env_state(ECHO)["backups"]
                  if b["type"] == "manual"]
        ours = [b for b in manual if b.get("note") == "kinsta-cron:nightly"]
        assert len(ours) == min(night + 1, 2), manual
        assert [b for b in manual if b not in ours] == foreign
        calls = [c[:2] for c in dedup_polls(sim.calls())
                 if not c[1].startswith("/operations/")]
        post = ("POST", "/sites/environments/%s/manual-backups" % ECHO)
        if night >= 2:  # full: our oldest makes room first
            assert calls[:3] == [
                ("GET", "/sites/environments/%s/backups" % ECHO),
                ("DELETE", "/sites/environments/backups/%s" % min(before)),
                post], calls
        else:
            assert calls[1] == post, calls


def test_update_plugins_all(env):
    sim, run = env
    r = run("plug", jobs=[kh.job("plug", "update-plugins", site="alphasite")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("wp-plugins:bulk-update-") and o["op"] == op
    calls = dedup_polls(sim.calls())
    assert calls[:2] == [LISTING, (
        "GET", "/sites/environments/%s/plugins" % ALPHA, None)]
    put = calls[2]
    assert put[:2] == ("PUT", "/sites/environments/%s/plugins/bulk-update"
                       % ALPHA)
    assert sorted(p["name"] for p in put[2]["plugins"]) == \
        ["akismet", "classic-editor", "jetpack"]
    # the list again: every item at its new version
    assert calls[3:] == polls([op]) + [
        ("GET", "/sites/environments/%s/plugins" % ALPHA, None)]
    plugins = {p["name"]: p for p in sim.env_state(ALPHA)["plugins"]}
    assert plugins["akismet"]["version"] == "5.3.1"
    assert plugins["jetpack"]["version"] == "13.1"
    assert plugins["wordpress-seo"]["update"] == "none"


def test_update_plugins_policy_patch_holds_a_minor_update(env):
    sim, run = env
    r = run("plug", jobs=[kh.job("plug", "update-plugins", site="alphasite",
                                 policy="patch")])
    o = only(r)
    put = [c for c in sim.calls() if c[0] == "PUT"]
    assert [sorted(p["name"] for p in c[2]["plugins"]) for c in put] == \
        [["akismet", "classic-editor"]]
    assert o["note"] == ("akismet 5.3 -> 5.3.1, classic-editor 1.6.3 -> "
                         "1.6.4; held by policy \"patch\": jetpack 13.0 -> "
                         "13.1"), o
    plugins = {p["name"]: p for p in sim.env_state(ALPHA)["plugins"]}
    assert plugins["jetpack"]["version"] == "13.0"
    assert plugins["akismet"]["version"] == "5.3.1"


def test_update_then_clear_caches(env):
    """clear_caches_after: once the update has ended, the page cache, then
    edge and CDN as the environment has them (from the site list)."""
    sim, run = env
    r = run("fresh", jobs=[kh.job("fresh", "update-plugins",
                                  site="alphasite", clear_caches_after=True)])
    only(r)
    changes = [c[:2] for c in sim.calls() if c[0] != "GET"]
    assert changes[0] == ("PUT", "/sites/environments/%s/plugins/bulk-update"
                          % ALPHA), changes
    assert changes[1] == ("POST", "/sites/tools/clear-cache"), changes
    assert set(changes[2:]) <= {("POST", "/sites/edge-caching/clear"),
                                ("POST", "/sites/cdn/clear-cache")}, changes
    # alphasite live has both (see test_clear_all_caches_live_and_staging)
    assert changes[2:] == [("POST", "/sites/edge-caching/clear"),
                           ("POST", "/sites/cdn/clear-cache")], changes


def test_update_plugins_list_exclude_backup_first(env):
    sim, run = env
    r = run("shop", jobs=[kh.job(
        "shop", "update-plugins", site="bravosite",
        plugins=["akismet", "woocommerce", "hello-dolly"],
        exclude=["woocommerce"], backup_first=True)])
    o = only(r)
    backup_op, update_op = ops_of(sim)
    assert o["op"] == update_op
    assert dedup_polls(sim.calls()) == [
        LISTING,
        ("GET", "/sites/environments/%s/plugins" % BRAVO, None),
        ("GET", "/sites/environments/%s/backups" % BRAVO, None),
        ("POST", "/sites/environments/%s/manual-backups" % BRAVO,
         {"tag": "kinsta-cron:pre-update:shop"}),
        *polls([backup_op]),
        # keep: the pre-update backups past keep go (none here); the
        # list names the new one, what a rollback would restore
        ("GET", "/sites/environments/%s/backups" % BRAVO, None),
        ("PUT", "/sites/environments/%s/plugins/bulk-update" % BRAVO,
         {"plugins": [{"name": "akismet"}]}),
        *polls([update_op]),
        ("GET", "/sites/environments/%s/plugins" % BRAVO, None),
    ]
    plugins = {p["name"]: p for p in sim.env_state(BRAVO)["plugins"]}
    assert plugins["akismet"]["version"] == "5.3.1"
    assert plugins["woocommerce"]["version"] == "8.5.1"  # excluded
    assert plugins["classic-editor"]["version"] == "1.6.3"  # not listed
    assert any(b.get("note") == "kinsta-cron:pre-update:shop"
               for b in sim.env_state(BRAVO)["backups"])


def test_update_plugins_nothing_to_do_is_skipped(env):
    sim, run = env
    r = run("plug", jobs=[kh.job("plug", "update-plugins", site="deltasite",
                                 backup_first=True)])
    o = only(r, "skipped")
    assert o["message"] == "no plugin updates available" and o["op"] == "-"
    assert sim.calls() == [
        LISTING, ("GET", "/sites/environments/%s/plugins" % DELTA, None)]


def test_update_themes(env):
    sim, run = env
    r = run("themes", jobs=[kh.job("themes", "update-themes",
                                   site="bravosite")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("wp-themes:bulk-update-") and o["op"] == op
    calls = dedup_polls(sim.calls())
    assert calls[:2] == [LISTING, (
        "GET", "/sites/environments/%s/themes" % BRAVO, None)]
    assert calls[2][:2] == (
        "PUT", "/sites/environments/%s/themes/bulk-update" % BRAVO)
    names = sorted(t["name"] for t in calls[2][2]["themes"])
    assert "storefront" in names
    assert calls[3:] == polls([op]) + [
        ("GET", "/sites/environments/%s/themes" % BRAVO, None)]
    themes = {t["name"]: t for t in sim.env_state(BRAVO)["themes"]}
    assert themes["storefront"]["version"] == "4.5.5"
    only(run("themes", jobs=[kh.job("themes", "update-themes",
                                    site="deltasite")]), "skipped")


def test_push_environment(env):
    sim, run = env
    r = run("push", jobs=[kh.job("push", "push-environment",
                                 site="alphasite", source="staging",
                                 target="live", push_db=False)])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("environments:push-") and o["op"] == op
    assert (o["target"], o["env"]) == ("alphasite/live", ALPHA)
    assert dedup_polls(sim.calls()) == [LISTING, (
        "PUT", "/sites/%s/environments" % kh.SITES["alphasite"],
        {"source_env_id": ALPHA_STG, "target_env_id": ALPHA,
         "push_db": False, "push_files": True,
         "run_search_and_replace": True})] + polls([op])
    (push,) = sim.state()["pushes"]
    assert (push["source_env_id"], push["target_env_id"], push["push_db"],
            push["push_files"]) == (ALPHA_STG, ALPHA, False, True)


def test_run_wp_cli(env):
    sim, run = env
    r = run("wp", jobs=[kh.job("wp", "run-wp-cli", environment_id=CHARLIE,
                               command="wp cache flush")])
    o = only(r)
    (op,) = ops_of(sim)
    assert op.startswith("environment:run-wp-cli-command-") and o["op"] == op
    assert dedup_polls(sim.calls()) == [(
        "POST", "/sites/environments/%s/run-wp-cli-command" % CHARLIE,
        {"wp_command": "wp cache flush"})] + polls([op])
    assert len(sim.state()["wp_cli"]) == 1


CREATE = dict(display_name="New Shop", region="us-central1",
              admin_email="ops@example.com", admin_password="pw-1234567",
              admin_user="admin", site_title="New Shop", woocommerce=True)


def test_create_site_counts_against_creation_budget(env):
    """The simulator allows one creation per 3 s window: the second run
    meets a 429, waits out its Retry-After and succeeds with one resend.
    Each run first looks for a site of its name: the new site's id is in
    the note, and a job fired again for a site that exists creates none."""
    sim, run = env
    sim.config(rate_create=1, rate_window=3)
    other = dict(CREATE, display_name="Second Shop")
    jobs = [kh.job("mk", "create-site", **CREATE),
            kh.job("mk2", "create-site", **other)]
    o = only(run("mk", jobs=jobs))
    (op,) = ops_of(sim)
    assert op.startswith("sites:add-") and o["op"] == op
    assert (o["target"], o["env"]) == ("-", "-")
    body = dict(CREATE, company=kh.ACME, install_mode="new",
                wp_language="en_US", is_multisite=False,
                is_subdomain_multisite=False, wordpressseo=False)
    assert dedup_polls(sim.calls()) == [LISTING, ("POST", "/sites", body)] + \
        polls([op])
    (made,) = sim.state()["created_sites"]
    assert o["note"] == "new site " + made["site_id"], o

    sim.ctl("POST", "reset-requests")
    only(run("mk2", jobs=jobs))
    posts = sim.requests(method="POST")
    assert [p["status"] for p in posts] == [429, 202], posts
    assert posts[1]["time"] - posts[0]["time"] >= 0.9
    assert sim.stats()["rate_limited_by_bucket"] == {"create": 1}
    assert len(sim.state()["created_sites"]) == 2

    # fired again: the site is there, nothing is created
    sim.ctl("POST", "reset-requests")
    o = only(run("mk", jobs=jobs), "skipped")
    assert o["message"] == 'exists: site "%s" is %s' % (
        CREATE["display_name"], made["site_id"]), o
    assert sim.calls() == [LISTING]
    assert len(sim.state()["created_sites"]) == 2


@pytest.mark.parametrize("action,key,ident,path", [
    ("deploy-app", "app_id", kh.ACME_APP, "/applications/deployments"),
    ("deploy-static-site", "static_site_id", kh.ACME_STATIC,
     "/static-sites/deployments"),
])
def test_deploy(env, action, key, ident, path):
    sim, run = env
    r = run("dep", jobs=[kh.job("dep", action, branch="main",
                                **{key: ident})])
    o = only(r)
    (dep,) = sim.state()["deployments"]
    assert dep["status"] == "success"
    assert o["op"] == dep["id"]
    calls = dedup_polls(sim.calls())
    assert calls[0] == ("POST", path, {key: ident, "branch": "main"})
    assert set(calls[1:]) == {("GET", path + "/" + dep["id"], None)}


def test_report_written_to_file(env, tmp_path):
    sim, run = env
    out = tmp_path / "report.json"
    r = run("rep", jobs=[kh.job("rep", "report", output=str(out))])
    o = only(r)
    assert (o["target"], o["op"]) == ("-", "-")
    assert r.stdout.count("\n") == 1  # the document went to the file
    calls = sim.calls()
    assert {c[0] for c in calls} == {"GET"}
    assert calls[:2] == [LISTING, (
        "GET", "/company/%s/users" % kh.ACME, None)]
    acme_envs = [e for (s, n), e in kh.ENVS.items()
                 if s not in ("foxtrotsite", "golfsite")]
    # usage over the report's period (default: last month) of the live ones
    import datetime
    first = datetime.datetime.now(datetime.timezone.utc).date().replace(day=1)
    last = first - datetime.timedelta(days=1)
    q = "?company_id=%s&from=%s&to=%s" % (
        kh.ACME, last.replace(day=1).isoformat(), last.isoformat())
    assert sorted(c[1] for c in calls[2:]) == sorted(
        ["/sites/environments/%s/%s" % (e, w) for e in acme_envs
         for w in ("plugins", "themes", "backups")] +
        ["/sites/environments/%s/analytics/%s%s" % (e, w, q)
         for (s, n), e in kh.ENVS.items()
         if n == "live" and s not in ("foxtrotsite", "golfsite")
         for w in ("visits", "bandwidth", "cdn-bandwidth")])
    doc = json.loads(out.read_text())
    assert doc["job"] == "rep" and doc["company"] == kh.ACME
    sites = {s["name"]: s for s in doc["sites"]}
    assert sorted(sites) == ["alphasite", "bravosite", "charliesite",
                             "deltasite", "echosite"]
    assert sites["bravosite"]["labels"] == ["client-a", "woocommerce"]
    assert [e["name"] for e in sites["alphasite"]["environments"]] == \
        ["live", "staging"]
    assert len(doc["users"]) == 2
    envs = {e["id"]: e for e in doc["environments"]}
    assert sorted(envs) == sorted(acme_envs)
    assert sorted(p["name"] for p in envs[ALPHA]["plugin_updates"]) == \
        ["akismet", "classic-editor", "jetpack"]
    assert envs[DELTA]["plugin_updates"] == []
    assert envs[ALPHA]["backups"] == 4 and envs[BRAVO]["backups"] == 3
    assert envs[ALPHA]["latest_backup_ms"] > 0


def test_report_to_stdout(env):
    sim, run = env
    r = run("rep", jobs=[kh.job("rep", "report")])
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("job=rep ")
    assert len(json.loads(lines[1])["environments"]) == 7


def test_request_get_and_post(env):
    sim, run = env
    site = kh.SITES["charliesite"]
    jobs = [kh.job("get", "request", path="/sites/" + site),
            kh.job("post", "request", method="POST",
                   path="/sites/tools/clear-cache",
                   body=json.dumps({"environment_id": ECHO}))]
    o = only(run("get", jobs=jobs))
    assert o["op"] == "-" and o["target"] == "-"
    assert sim.calls() == [("GET", "/sites/" + site, None)]
    sim.ctl("POST", "reset-requests")
    o = only(run("post", jobs=jobs))
    (op,) = ops_of(sim)
    assert o["op"] == op and op.startswith("cache:clear-")
    assert dedup_polls(sim.calls()) == [(
        "POST", "/sites/tools/clear-cache", {"environment_id": ECHO})] + \
        polls([op])
    # a request the API refuses fails with the API's message
    jobs.append(kh.job("bad", "request", path="/sites/nope-no-such-site"))
    o = only(run("bad", jobs=jobs), "failed", rc=1)
    assert o["message"] == "Site not found"


# --- selectors ------------------------------------------------------------

def targets(res):
    assert all(o["outcome"] == "succeeded" for o in res.outcomes), res
    return sorted((o["target"], o["env"]) for o in res.outcomes)


def posted_envs(sim):
    return sorted(c[2]["environment_id"]
                  for c in sim.calls(mutating_only=True))


def test_selector_label_several_sites(env):
    sim, run = env
    r = run("lab", jobs=[kh.job("lab", "restart-php", label="client-a")])
    assert r.returncode == 0, r
    assert targets(r) == [("alphasite/live", ALPHA), ("bravosite/live", BRAVO)]
    assert posted_envs(sim) == [ALPHA, BRAVO]
    # one listing for the whole job
    assert sim.calls().count(LISTING) == 1


def test_selector_labels_list(env):
    sim, run = env
    r = run("lab", jobs=[kh.job("lab", "clear-cache",
                                labels=["client-b", "no-such-label"])])
    assert targets(r) == [("charliesite/live", CHARLIE),
                          ("deltasite/live", DELTA)]
    assert posted_envs(sim) == [CHARLIE, DELTA]


def test_selector_site_names_staging(env):
    """echosite has no staging environment: only charliesite's runs."""
    sim, run = env
    r = run("stg", jobs=[kh.job("stg", "clear-cache",
                                sites=["charliesite", "echosite"],
                                environment="staging")])
    assert targets(r) == [("charliesite/staging", CHARLIE_STG)]
    assert posted_envs(sim) == [CHARLIE_STG]


def test_selector_all_sites_exclude(env):
    sim, run = env
    r = run("all", jobs=[kh.job("all", "clear-cache", all_sites=True,
                                exclude_sites=["deltasite", "echosite"])])
    assert targets(r) == [("alphasite/live", ALPHA), ("bravosite/live", BRAVO),
                          ("charliesite/live", CHARLIE)]
    assert posted_envs(sim) == [ALPHA, BRAVO, CHARLIE]


def test_selector_environment_ids(env):
    sim, run = env
    r = run("ids", jobs=[kh.job("ids", "clear-cache",
                                environment_ids=[ECHO, BRAVO])])
    assert targets(r) == [(BRAVO, BRAVO), (ECHO, ECHO)]
    assert posted_envs(sim) == [BRAVO, ECHO]
    assert LISTING not in sim.calls()  # ids need no listing


def test_selector_without_match_fails(env):
    sim, run = env
    r = run("none", jobs=[kh.job("none", "clear-cache", label="nobody")])
    o = only(r, "failed", rc=1)
    assert (o["target"], o["env"], o["op"]) == ("-", "-", "-")
    assert "no environment matches" in o["message"]
    assert "nobody" in o["message"]
    assert sim.calls() == [LISTING]


# --- dry run --------------------------------------------------------------

def test_dry_run_sends_only_reads(env):
    sim, run = env
    jobs = [kh.job("shop", "update-plugins", label="woocommerce",
                   backup_first=True, exclude=["woocommerce"]),
            kh.job("cc", "clear-all-caches", site="alphasite")]
    r = run("shop", "--dry-run", jobs=jobs)
    assert r.returncode == 0, r
    shown = [l for l in r.stdout.splitlines()
             if not l.startswith(("job=", "plan "))]
    # the plan's lines: tests/e2e/test_rollout.py
    assert sum(l.startswith("plan ") for l in r.stdout.splitlines()) == 2
    base = sim.url
    want = []
    for e in (BRAVO, DELTA):
        if e == DELTA:
            continue  # deltasite: nothing to update, nothing shown
        want += [
            "POST %s/sites/environments/%s/manual-backups "
            '{"tag":"kinsta-cron:pre-update:shop"}' % (base, e),
            "PUT %s/sites/environments/%s/plugins/bulk-update "
            '{"plugins":[{"name":"akismet"},{"name":"classic-editor"}]}'
            % (base, e)]
    assert shown == want, r.stdout
    by = r.by_target()
    assert by["bravosite/live"]["outcome"] == "skipped"
    # kinsta-cron(8) says "dry run: nothing sent"; the code says more
    assert by["bravosite/live"]["message"].startswith("dry run: nothing")
    assert by["deltasite/live"]["outcome"] == "skipped"
    assert by["deltasite/live"]["message"] == "no plugin updates available"
    assert {c[0] for c in sim.calls()} == {"GET"}
    assert sim.operations() == []

    sim.ctl("POST", "reset-requests")
    r = run("cc", "--dry-run", jobs=jobs)
    assert r.returncode == 0, r
    assert [l.split(" ", 2)[:2] for l in r.stdout.splitlines()
            if not l.startswith(("job=", "plan "))] == [
        ["POST", base + "/sites/tools/clear-cache"],
        ["POST", base + "/sites/edge-caching/clear"],
        ["POST", base + "/sites/cdn/clear-cache"]]
    assert sim.calls() == [LISTING]
    assert r.outcomes[0]["outcome"] == "skipped"


# --- exit codes and the key -----------------------------------------------

def test_exit_codes(env, tmp_path):
    sim, run = env
    sim.config(op_fail={"action": "clear-cache", "env_id": BRAVO,
                        "message": "Bravo is broken"})
    jobs = [kh.job("lab", "clear-cache", label="client-a"),
            kh.job("one", "clear-cache", environment_id=ALPHA)]
    r = run("lab", jobs=jobs)
    assert r.returncode == 1, r
    by = r.by_target()
    assert by["alphasite/live"]["outcome"] == "succeeded"
    assert by["bravosite/live"]["outcome"] == "failed"
    assert by["bravosite/live"]["message"] == "Bravo is broken"
    assert run("one", jobs=jobs).returncode == 0
    r = run("no-such-job", jobs=jobs)
    assert r.returncode == 2 and r.stdout == ""
    assert 'no job "no-such-job"' in r.stderr
    r = kh.run(tmp_path / "missing.conf", "run", "one")
    assert r.returncode == 1 and r.stdout == "", r


def test_key_never_printed_debug(env):
    """-v -v: debug logging of every request, on success and on failure;
    the key is checked by kh.run on every invocation, here with output to
    check."""
    sim, run = env
    sim.fault("401", method="POST", path_regex="restart-php")
    jobs = [kh.job("lab", "clear-cache", label="client-a"),
            kh.job("php", "restart-php", environment_id=ECHO)]
    r = run("lab", "-v", "-v", jobs=jobs)
    assert r.returncode == 0, r
    assert len(r.stderr.splitlines()) >= 4  # debug lines were written
    assert kh.KEY not in r.stderr and kh.KEY not in r.stdout
    r = run("php", "-v", "-v", jobs=jobs)
    o = only(r, "failed", rc=1)
    assert o["message"] == "API key rejected or expired (HTTP 401)"
    assert kh.KEY not in r.stderr + r.stdout
    # the simulator saw the key (only as a hash): it was sent
    assert all(q["auth_ok"] for q in sim.requests(method="GET"))


def test_dry_run_does_not_hide_a_failed_read(env):
    """The backup is only shown; the backup list that follows is a real
    read, and its failure is reported as such, with its own message.  (The
    list before it, which finds a free slot, passes.)"""
    sim, run = env
    sim.fault("503", method="GET", path_regex="/backups$", count=-1, skip=1)
    r = run("bk", "--dry-run", jobs=[kh.job("bk", "backup",
                                            environment_id=ECHO, keep=1,
                                            retries=0)])
    o = only(r, "failed", rc=1)
    assert "dry run" not in o["message"] and "503" in o["message"], o
    assert r.stdout.startswith(
        'POST %s/sites/environments/%s/manual-backups {"tag":'
        '"kinsta-cron:bk"}\n' % (sim.url, ECHO))
    assert [c[0] for c in sim.calls()] == ["GET", "GET"]


def test_report_of_a_company_without_sites(tmp_path):
    """A new company has no sites yet: the report is still written, with
    empty lists."""
    import subprocess
    seed = json.loads(subprocess.run(
        [kh.PYTHON, kh.SIM_PKG, "--dump-seed"], check=True,
        capture_output=True, text=True).stdout)
    for c in seed["companies"]:
        if c["id"] == kh.ACME:
            c["sites"] = []
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    out = tmp_path / "report.json"
    with kh.Sim(state=tmp_path / "seed.json") as sim:
        conf = kh.write_config(tmp_path / "conf", [
            kh.job("rep", "report", output=str(out))], sim.url)
        o = only(kh.run_job(conf, "rep"))
        assert o["outcome"] == "succeeded"
        assert [c[1] for c in sim.calls()] == [
            LISTING[1], "/company/%s/users" % kh.ACME]
    doc = json.loads(out.read_text())
    assert doc["sites"] == [] and doc["environments"] == []
    assert len(doc["users"]) == 2


def _window(start_min, end_min):
    """A window "HH:MM-HH:MM" from minutes after midnight UTC (mod a day)."""
    f = lambda m: "%02d:%02d" % ((m // 60) % 24, m % 60)
    return "%s-%s" % (f(start_min % 1440), f(end_min % 1440))


def test_window_closed_starts_nothing(env):
    """window: outside it no environment starts (each ends skipped, "window
    closed", nothing changed); inside it the run goes as usual."""
    import time as _t
    sim, run = env
    now = _t.gmtime()
    minute = now.tm_hour * 60 + now.tm_min
    if now.tm_sec > 55:
        _t.sleep(5)
        minute += 1
    closed = _window(minute + 120, minute + 180)
    opened = _window(minute - 60, minute + 60)
    jobs = [kh.job("shut", "clear-cache", label="woocommerce",
                   timezone="UTC", window=closed),
            kh.job("open", "clear-cache", environment_id=ALPHA,
                   timezone="UTC", window=opened)]
    r = run("shut", jobs=jobs)
    assert r.returncode == 0, r
    assert len(r.outcomes) == 2, r
    assert all(o["outcome"] == "skipped" and o["message"] == "window closed"
               for o in r.outcomes), r
    assert [c[0] for c in sim.calls()] == ["GET"]  # the site list only
    only(run("open", jobs=jobs))
    assert [c[0] for c in sim.calls()][-2:] == ["POST", "GET"]
