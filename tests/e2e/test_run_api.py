"""End-to-end tests of the rest of the API (issue 16): a templated
`request` whose answers are shown and saved, and the named actions
refresh-staging, clone-site, create-site with install_mode = "plain",
add-domain, remove-domain and fetch-logs; `check`'s list of the calls each
job makes.  The real binary against the simulator; each test checks the
outcome, the exact requests recorded and what the user gets to see.
"""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

OP_SECONDS = 0.2
LISTING = ("GET", "/sites?company=%s&include_environments=true" % kh.ACME,
           None)
ALPHA = kh.env_id("alphasite")
ALPHA_STG = kh.env_id("alphasite", "staging")
ALPHA_SITE = "11111111-1111-4111-8111-111111111111"
BRAVO = kh.env_id("bravosite")
BRAVO_SITE = "22222222-2222-4222-8222-222222222222"
CHARLIE = kh.env_id("charliesite")
CHARLIE_STG = kh.env_id("charliesite", "staging")
CHARLIE_SITE = "33333333-3333-4333-8333-333333333333"


@pytest.fixture(scope="module")
def sim():
    with kh.Sim(op_seconds=OP_SECONDS) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path):
    sim.reset(op_seconds=OP_SECONDS)

    def run(name, *args, jobs, **kw):
        conf = kh.write_config(tmp_path, jobs, sim.url,
                               extra=kw.pop("extra", ""))
        return kh.run_job(conf, name, *args, **kw)
    return sim, run, tmp_path


def no_polls(calls):
    return [c for c in calls if not c[1].startswith("/operations/")]


def answers(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def answer_lines(res):
    return [l for l in res.stdout.splitlines() if l.startswith("  answer ")]


# --- request: placeholders, output, the answer shown -------------------------

def test_request_templated_per_target_saved_and_shown(env):
    sim, run, tmp = env
    out = tmp / "domains-{date}.jsonl"
    r = run("doms", jobs=[kh.job(
        "doms", "request", labels=["client-a"],
        path="/sites/environments/{env_id}/domains?site={site_name}",
        output=str(out))])
    assert r.returncode == 0, r
    assert sorted(o["target"] for o in r.outcomes) == \
        ["alphasite/live", "bravosite/live"]
    calls = sim.calls()
    assert calls[0] == LISTING
    assert sorted(calls[1:]) == [
        ("GET", "/sites/environments/%s/domains?site=alphasite" % ALPHA, None),
        ("GET", "/sites/environments/%s/domains?site=bravosite" % BRAVO, None)]
    # the file is named by the day of the run, one JSON line per target
    (f,) = list(tmp.glob("domains-*.jsonl"))
    assert len(f.name) == len("domains-2026-12-06.jsonl")
    lines = sorted(answers(f), key=lambda a: a["target"]["site_name"])
    assert [l["target"] for l in lines] == [
        {"site_id": ALPHA_SITE, "site_name": "alphasite", "env_id": ALPHA,
         "env_name": "live"},
        {"site_id": BRAVO_SITE, "site_name": "bravosite", "env_id": BRAVO,
         "env_name": "live"}]
    assert all(l["status"] == 200 and l["job"] == "doms" for l in lines)
    assert [d["name"] for d in lines[0]["answer"]["environment"]
            ["site_domains"]] == ["alphasite.kinsta.cloud",
                                  "example-alpha.com"]
    # run prints each answer in short under its outcome line
    shown = answer_lines(r)
    assert len(shown) == 2
    assert all(s.startswith("  answer HTTP 200, ") and "site_domains" in s
               for s in shown), shown


def test_request_body_json_escaped_and_operation_followed(env):
    sim, run, tmp = env
    r = run("wp", jobs=[kh.job(
        "wp", "request", site="charliesite", method="POST",
        path="/sites/environments/{env_id}/run-wp-cli-command",
        body='{"wp_command":"wp option get {site_name}"}')])
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("environment:run-wp-cli-command-")
    assert no_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/environments/%s/run-wp-cli-command" % CHARLIE,
        {"wp_command": "wp option get charliesite"})]
    assert any(c[1] == "/operations/" + o["op"] for c in sim.calls())


def test_request_company_without_target(env):
    sim, run, tmp = env
    out = tmp / "users.jsonl"
    r = run("u", jobs=[kh.job("u", "request",
                              path="/company/{company}/users",
                              output=str(out))])
    assert r.returncode == 0, r
    assert sim.calls() == [("GET", "/company/%s/users" % kh.ACME, None)]
    (line,) = answers(out)
    assert line["target"] is None and line["status"] == 200
    assert line["answer"]["company"]["users"][0]["user"]["email"] == \
        "owner@acme.example"


def test_request_error_answer_is_saved_and_fails(env):
    sim, run, tmp = env
    out = tmp / "a.jsonl"
    bogus = "a9999999-9999-4999-8999-999999999999"
    r = run("x", jobs=[kh.job("x", "request", environment_id=bogus,
                              path="/sites/environments/{env_id}/backups",
                              output=str(out))])
    assert r.returncode == 1 and r.outcomes[0]["outcome"] == "failed", r
    (line,) = answers(out)
    assert line["status"] == 404 and line["target"]["env_id"] == bogus
    assert answer_lines(r)[0].startswith("  answer HTTP 404, ")


def test_request_unknown_placeholder_is_a_config_error(env):
    sim, run, tmp = env
    r = run("x", jobs=[kh.job("x", "request", site="alphasite",
                              path="/sites/{site}/environments")])
    assert r.returncode == 1
    (err,) = [l for l in r.stderr.splitlines() if "placeholder" in l]
    assert err.startswith(str(tmp / "kinsta-cron.conf") + ":")
    assert "path uses {site} is not a placeholder here" in err
    assert sim.calls() == []


def test_request_target_placeholder_needs_a_target(env):
    sim, run, tmp = env
    r = run("x", jobs=[kh.job("x", "request",
                              path="/sites/{site_id}/environments")])
    assert r.returncode == 1
    assert "path uses {site_id}, which needs a target" in r.stderr


# --- named actions ---------------------------------------------------------

def test_refresh_staging_database_only(env):
    sim, run, tmp = env
    r = run("rs", jobs=[kh.job("rs", "refresh-staging", labels=["client-a"],
                               push_files=False)])
    # bravosite has no staging environment: only alphasite is refreshed
    (o,) = r.outcomes
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["target"] == "alphasite/staging" and o["env"] == ALPHA_STG
    assert no_polls(sim.calls()) == [LISTING, (
        "PUT", "/sites/%s/environments" % ALPHA_SITE,
        {"source_env_id": ALPHA, "target_env_id": ALPHA_STG,
         "push_db": True, "push_files": False,
         "run_search_and_replace": True})]


def test_refresh_staging_some_files(env):
    sim, run, tmp = env
    r = run("rs", jobs=[kh.job("rs", "refresh-staging", site="charliesite",
                               push_db=False,
                               file_list=["wp-content/uploads"])])
    assert r.returncode == 0, r
    assert no_polls(sim.calls())[1] == (
        "PUT", "/sites/%s/environments" % CHARLIE_SITE,
        {"source_env_id": CHARLIE, "target_env_id": CHARLIE_STG,
         "push_db": False, "push_files": True,
         "run_search_and_replace": True,
         "push_files_option": "SPECIFIC_FILES",
         "file_list": ["wp-content/uploads"]})


def test_refresh_staging_pushing_nothing_is_refused(env):
    sim, run, tmp = env
    r = run("rs", jobs=[kh.job("rs", "refresh-staging", site="charliesite",
                               push_db=False, push_files=False)])
    assert r.returncode == 1
    assert "pushes nothing" in r.stderr and sim.calls() == []


def test_refresh_staging_on_live_id_refused(env):
    sim, run, tmp = env
    r = run("rs", jobs=[kh.job("rs", "refresh-staging", environment_id=ALPHA)])
    o = r.outcomes[0]
    assert o["outcome"] == "failed", r
    assert o["message"] == "the environment to push onto is the source itself"
    assert sim.calls(mutating_only=True) == []


def test_clone_site_from_site_env_name(env):
    sim, run, tmp = env
    r = run("cl", jobs=[kh.job("cl", "clone-site", display_name="Alpha Copy",
                               source_environment="alphasite/staging")])
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("site:clone-")
    assert no_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/clone",
        {"company": kh.ACME, "display_name": "Alpha Copy",
         "source_env_id": ALPHA_STG})]
    assert o["note"].startswith("new site ")
    # scheduled again: the copy exists, nothing is cloned twice
    sim.ctl("POST", "config", {})
    r = run("cl", jobs=[kh.job("cl", "clone-site", display_name="Alpha Copy",
                               source_environment=ALPHA_STG)])
    assert r.outcomes[0]["outcome"] == "skipped", r
    assert r.outcomes[0]["message"].startswith('exists: site "Alpha Copy"')


def test_clone_site_unknown_source(env):
    sim, run, tmp = env
    r = run("cl", jobs=[kh.job("cl", "clone-site", display_name="X",
                               source_environment="nosuchsite")])
    o = r.outcomes[0]
    assert o["outcome"] == "failed"
    assert o["message"].startswith(
        'source_environment "nosuchsite" is not among the company')
    assert sim.calls() == [LISTING]


def test_create_plain_site(env):
    sim, run, tmp = env
    r = run("p", jobs=[kh.job("p", "create-site", display_name="Bare",
                              region="europe-west3", install_mode="plain")])
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("sites:add-plain-")
    assert no_polls(sim.calls()) == [LISTING, (
        "POST", "/sites/plain",
        {"company": kh.ACME, "display_name": "Bare",
         "region": "europe-west3"})]


def test_create_plain_site_refuses_wordpress_fields(env):
    sim, run, tmp = env
    r = run("p", jobs=[kh.job("p", "create-site", display_name="Bare",
                              region="europe-west3", install_mode="plain",
                              admin_user="admin")])
    assert r.returncode == 1
    assert '"admin_user" is not sent with install_mode = "plain"' in r.stderr
    r = run("p", jobs=[kh.job("p", "create-site", display_name="Bare",
                              region="europe-west3")])
    assert r.returncode == 1
    assert 'needs "admin_email" (unless install_mode = "plain")' in r.stderr


def test_add_then_remove_domain(env):
    sim, run, tmp = env
    jobs = [kh.job("add", "add-domain", site="echosite",
                   domain="shop.echo.example"),
            kh.job("rm", "remove-domain", site="echosite",
                   domain="shop.echo.example")]
    echo = kh.env_id("echosite")
    r = run("add", jobs=jobs)
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("sites:add-domain-")
    assert no_polls(sim.calls()) == [
        LISTING,
        ("GET", "/sites/environments/%s/domains" % echo, None),
        ("POST", "/sites/environments/%s/domains" % echo,
         {"domain_name": "shop.echo.example"})]
    names = [d["name"] for d in sim.env_state(echo)["domains"]]
    assert "shop.echo.example" in names
    # again: it is there already
    r = run("add", jobs=jobs)
    assert r.outcomes[0]["outcome"] == "skipped"
    assert r.outcomes[0]["message"] == \
        "exists: shop.echo.example is on this environment already"
    # remove it: its id, from the list
    (dom,) = [d for d in sim.env_state(echo)["domains"]
              if d["name"] == "shop.echo.example"]
    n = len(sim.calls())
    r = run("rm", jobs=jobs)
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("sites:delete-domain-")
    assert no_polls(sim.calls()[n:])[1:] == [
        ("GET", "/sites/environments/%s/domains" % echo, None),
        ("DELETE", "/sites/environments/%s/domains" % echo,
         {"domain_ids": [dom["id"]]})]
    assert "shop.echo.example" not in \
        [d["name"] for d in sim.env_state(echo)["domains"]]
    # again: nothing to remove
    r = run("rm", jobs=jobs)
    assert r.outcomes[0]["outcome"] == "skipped"
    assert r.outcomes[0]["message"] == \
        "shop.echo.example is not a domain of this environment"


def test_add_domain_bad_name_is_a_config_error(env):
    sim, run, tmp = env
    r = run("add", jobs=[kh.job("add", "add-domain", site="echosite",
                                domain="https://shop.example.com/")])
    assert r.returncode == 1 and "domain must be a domain name" in r.stderr


def test_fetch_logs_saved(env):
    sim, run, tmp = env
    out = tmp / "logs.jsonl"
    r = run("logs", jobs=[kh.job("logs", "fetch-logs", environment_id=ALPHA,
                                 file="access", lines=5, output=str(out))])
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["note"] == "5 log lines"
    assert sim.calls() == [(
        "GET", "/sites/environments/%s/logs?file_name=access&lines=5" % ALPHA,
        None)]
    (line,) = answers(out)
    logs = line["answer"]["environment"]["container_info"]["logs"]
    assert len(logs.splitlines()) == 5 and "[access]" in logs


def test_fetch_logs_alert_fails_the_run(env):
    sim, run, tmp = env
    r = run("logs", jobs=[kh.job("logs", "fetch-logs", site="alphasite",
                                 lines=20,
                                 alert_on=["no such text", "log line 1"])])
    o = r.outcomes[0]
    # "log line 1" matches lines 1 and 10-19
    assert r.returncode == 1 and o["outcome"] == "failed", r
    assert o["message"].startswith("11 log lines match alert_on: ")
    assert o["message"].endswith("simulated log line 1")


# --- check: the calls of each job --------------------------------------------

def test_check_lists_the_calls(env):
    sim, run, tmp = env
    conf = kh.write_config(tmp, [
        kh.job("cc", "clear-cache", environment_id=ALPHA),
        kh.job("up", "update-themes", label="client-a"),
        kh.job("safe", "update-plugins", environment_id=ALPHA,
               backup_first=True, clear_caches_after=True),
        kh.job("req", "request", site="alphasite", method="DELETE",
               path="/sites/{site_id}"),
        kh.job("plain", "create-site", display_name="B", region="r",
               install_mode="plain"),
        kh.job("logs", "fetch-logs", environment_id=ALPHA),
    ], sim.url)
    p = kh.run(conf, "check")
    assert p.returncode == 0, p
    calls = [l for l in p.stdout.splitlines() if l.startswith("  calls ")]
    assert calls == [
        "  calls POST /sites/tools/clear-cache, GET /operations/{operation_id}",
        "  calls GET /sites, GET /sites/environments/{env_id}/themes, "
        "PUT /sites/environments/{env_id}/themes/bulk-update, "
        "GET /operations/{operation_id}",
        "  calls GET /sites, GET /sites/environments/{env_id}/plugins, "
        "GET /sites/environments/{env_id}/backups, "
        "DELETE /sites/environments/backups/{backup_id}, "
        "POST /sites/environments/{env_id}/manual-backups, "
        "PUT /sites/environments/{env_id}/plugins/bulk-update, "
        "POST /sites/tools/clear-cache, POST /sites/edge-caching/clear, "
        "POST /sites/cdn/clear-cache, GET /operations/{operation_id}",
        "  calls GET /sites, DELETE /sites/{site_id}, "
        "GET /operations/{operation_id}",
        "  calls GET /sites, POST /sites/plain, GET /operations/{operation_id}",
        "  calls GET /sites/environments/{env_id}/logs",
    ]
    assert sim.calls() == []


# --- restore-backup --------------------------------------------------------

ECHO = kh.env_id("echosite")
OWNER = "0ae00001-0000-4000-8000-000000000001"
DEV = "0ae00001-0000-4000-8000-000000000002"


def backups_of(sim, env):
    return sim.env_state(env)["backups"]


def test_restore_latest_notifies_the_first_user(env):
    sim, run, tmp = env
    newest = max(backups_of(sim, ECHO), key=lambda b: b["created_at"])
    r = run("rb", jobs=[kh.job("rb", "restore-backup", site="echosite")])
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert o["op"].startswith("backups:restore-")
    assert o["note"].startswith('backup %d (scheduled "Daily Auto Backup", '
                                % newest["id"]), o
    assert no_polls(sim.calls()) == [
        LISTING,
        ("GET", "/sites/environments/%s/backups" % ECHO, None),
        ("GET", "/company/%s/users" % kh.ACME, None),
        ("POST", "/sites/environments/%s/backups/restore" % ECHO,
         {"backup_id": newest["id"], "notified_user_id": OWNER})]


def test_restore_pre_update_backup_notifies_notify_user(env):
    sim, run, tmp = env
    jobs = [kh.job("up", "update-plugins", environment_id=ECHO,
                   backup_first=True),
            kh.job("rb", "restore-backup", environment_id=ECHO,
                   backup="pre-update", notify_user="Dev@Acme.example")]
    # nothing of kinsta-cron's yet: the run fails, nothing restored
    r = run("rb", jobs=jobs)
    assert r.outcomes[0]["outcome"] == "failed", r
    assert r.outcomes[0]["message"] == \
        "no kinsta-cron pre-update backup on this environment"
    assert sim.calls(mutating_only=True) == []
    assert run("up", jobs=jobs).returncode == 0
    (pre,) = [b for b in backups_of(sim, ECHO)
              if (b["note"] or "").startswith("kinsta-cron:pre-update:")]
    n = len(sim.calls())
    r = run("rb", jobs=jobs)
    o = r.outcomes[0]
    assert r.returncode == 0 and o["outcome"] == "succeeded", r
    assert no_polls(sim.calls()[n:])[-1] == (
        "POST", "/sites/environments/%s/backups/restore" % ECHO,
        {"backup_id": pre["id"], "notified_user_id": DEV})


def test_restore_by_id_checks_it_is_there(env):
    sim, run, tmp = env
    (manual,) = [b for b in backups_of(sim, ECHO) if b["type"] == "manual"]
    r = run("rb", jobs=[kh.job("rb", "restore-backup", environment_id=ECHO,
                               backup=str(manual["id"]))])
    assert r.returncode == 0, r
    assert no_polls(sim.calls())[-1][2] == {"backup_id": manual["id"],
                                            "notified_user_id": OWNER}
    r = run("rb", jobs=[kh.job("rb", "restore-backup", environment_id=ECHO,
                               backup="123")])
    o = r.outcomes[0]
    assert o["outcome"] == "failed"
    assert o["message"] == "no backup of that id on this environment"


def test_restore_unknown_user_and_bad_backup(env):
    sim, run, tmp = env
    r = run("rb", jobs=[kh.job("rb", "restore-backup", environment_id=ECHO,
                               notify_user="nobody@example.com")])
    o = r.outcomes[0]
    assert o["outcome"] == "failed"
    assert 'notify_user "nobody@example.com" is not a user' in o["message"]
    assert sim.calls(mutating_only=True) == []
    r = run("rb", jobs=[kh.job("rb", "restore-backup", environment_id=ECHO,
                               backup="newest")])
    assert r.returncode == 1
    assert 'backup must be "latest", "pre-update" or a backup id' in r.stderr
