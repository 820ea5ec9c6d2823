"""Prometheus metrics: the node_exporter textfile (metrics.textfile).

A daemon with a textfile runs a fan-out job that succeeds (after one 429)
and a job that fails, both through `trigger --wait`; the file passes
`promtool check metrics` (Debian package prometheus) and its values are
those of the runs made.  The alert rules of docs/operations.md pass
`promtool check rules`.
"""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool (Debian package prometheus) missing")


def start_daemon(conf):
    e = {k: v for k, v in os.environ.items()
         if k not in ("RUNTIME_DIRECTORY", "NOTIFY_SOCKET")}
    return subprocess.Popen([kh.BIN, "-c", conf, "daemon", "--log-stderr"],
                            stderr=subprocess.PIPE, text=True, env=e)


def promtool_check(path):
    with open(path) as f:
        p = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f,
                           capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


_SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def samples(path):
    """{(name, labels text): value} of a textfile."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line.rstrip("\n"))
            assert m, "not a sample line: %r" % line
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


@needs_promtool
def test_textfile(tmp_path):
    e1 = kh.env_id("alphasite")
    e2 = kh.env_id("bravosite")
    prom_dir = tmp_path / "node-exporter"
    prom_dir.mkdir()
    prom = str(prom_dir / "kinsta-cron.prom")
    with kh.Sim(op_seconds=0.2) as sim:
        conf = kh.write_config(tmp_path / "conf", [
            kh.job("fan", "clear-cache", environment_ids=[e1, e2]),
            kh.job("bad", "restart-php", environment_id=e1),
        ], sim.url, extra='metrics = { textfile = %s; };' % kh.lc(prom))
        d = start_daemon(conf)
        try:
            kh.wait_for(lambda: os.path.exists(prom), 30, what="textfile")
            promtool_check(prom)
            st = os.stat(prom)
            assert stat.S_IMODE(st.st_mode) == 0o644
            first = samples(prom)
            # both jobs are known before they ever ran, with a next fire
            assert ("kinsta_cron_job_next_run_timestamp_seconds",
                    '{job_name="fan"}') in first
            assert first[("kinsta_cron_operations_in_flight", "")] == 0

            sim.fault("429", method="POST", path_regex="clear-cache",
                      retry_after=1)
            t0 = time.time()
            ok = kh.run(conf, "trigger", "fan", "--wait")
            assert ok.returncode == 0, ok
            assert len(ok.outcomes) == 2, ok
            assert {o["outcome"] for o in ok.outcomes} == {"succeeded"}
            sim.fault("401", method="POST", path_regex="restart-php")
            bad = kh.run(conf, "trigger", "bad", "--wait")
            assert bad.returncode == 1, bad
            assert bad.outcomes[0]["outcome"] == "failed"

            def settled():
                s = samples(prom)
                return s.get(("kinsta_cron_job_runs_total",
                              '{job_name="bad",outcome="failed"}')) == 1
            kh.wait_for(settled, 10, what="the textfile after the runs")
            promtool_check(prom)
            s = samples(prom)
            assert s[("kinsta_cron_job_runs_total",
                      '{job_name="fan",outcome="succeeded"}')] == 2
            assert s[("kinsta_cron_job_runs_total",
                      '{job_name="fan",outcome="failed"}')] == 0
            assert s[("kinsta_cron_job_last_outcome",
                      '{job_name="fan",outcome="succeeded"}')] == 1
            assert s[("kinsta_cron_job_last_outcome",
                      '{job_name="bad",outcome="failed"}')] == 1
            assert s[("kinsta_cron_job_last_outcome",
                      '{job_name="bad",outcome="succeeded"}')] == 0
            last_ok = s[("kinsta_cron_job_last_success_timestamp_seconds",
                         '{job_name="fan"}')]
            assert t0 - 1 <= last_ok <= time.time() + 1
            assert ("kinsta_cron_job_last_success_timestamp_seconds",
                    '{job_name="bad"}') not in s
            assert t0 - 1 <= s[("kinsta_cron_job_last_run_timestamp_seconds",
                                '{job_name="bad"}')] <= time.time() + 1
            assert s[("kinsta_cron_job_run_duration_seconds_count",
                      '{job_name="fan"}')] == 2
            assert s[("kinsta_cron_job_run_duration_seconds_bucket",
                      '{job_name="fan",le="+Inf"}')] == 2
            # one 429 and one 401 among the answers
            assert s[("kinsta_cron_api_rate_limited_total",
                      '{account="acme"}')] == 1
            assert s[("kinsta_cron_api_requests_total",
                      '{account="acme",class="4xx"}')] == 2
            posts = len(sim.requests("POST"))
            gets = len(sim.requests("GET"))
            total = sum(v for (n, l), v in s.items()
                        if n == "kinsta_cron_api_requests_total")
            assert total == posts + gets, (total, posts, gets)
            assert s[("kinsta_cron_api_rate_budget_limit",
                      '{account="acme"}')] == 120
            used = s[("kinsta_cron_api_rate_budget_used",
                      '{account="acme"}')]
            assert 1 <= used <= total
            assert s[("kinsta_cron_runs_in_flight", "")] == 0
            assert s[("kinsta_cron_notifications_failed_total", "")] == 0
            # no temporary file is left beside it
            assert sorted(os.listdir(str(prom_dir))) == ["kinsta-cron.prom"]

            # a reload: a removed job goes, a new one comes, the counters
            # of a job that stays are kept
            kh.write_config(tmp_path / "conf", [
                kh.job("fan", "clear-cache", environment_ids=[e1, e2]),
                kh.job("new", "restart-php", environment_id=e2),
            ], sim.url, extra='metrics = { textfile = %s; };' % kh.lc(prom))
            d.send_signal(signal.SIGHUP)

            def reloaded():
                s = samples(prom)
                return ("kinsta_cron_job_next_run_timestamp_seconds",
                        '{job_name="new"}') in s
            kh.wait_for(reloaded, 10, what="the textfile after a reload")
            promtool_check(prom)
            s = samples(prom)
            assert not [k for k in s if 'job_name="bad"' in k[1]]
            assert s[("kinsta_cron_job_runs_total",
                      '{job_name="fan",outcome="succeeded"}')] == 2
        finally:
            d.send_signal(signal.SIGTERM)
            _, err = d.communicate(timeout=30)
        assert d.returncode == 0, err
        assert kh.KEY not in open(prom).read()


def test_textfile_config_errors(tmp_path):
    """The file must be NAME.prom in a folder that exists."""
    conf = kh.write_config(tmp_path, [], "http://127.0.0.1:9",
                           extra='metrics = { textfile = "%s/x.txt"; };'
                           % tmp_path)
    r = kh.run(conf, "check")
    assert r.returncode == 1 and "*.prom" in r.stderr, r
    conf = kh.write_config(tmp_path, [], "http://127.0.0.1:9",
                           extra='metrics = { textfile = "%s/no/x.prom"; };'
                           % tmp_path)
    r = kh.run(conf, "check")
    assert r.returncode == 1 and "No such file" in r.stderr, r
    conf = kh.write_config(tmp_path, [], "http://127.0.0.1:9",
                           extra='metrics = { textfil = "x.prom"; };')
    r = kh.run(conf, "check")
    assert r.returncode == 1 and "textfile" in r.stderr, r


@needs_promtool
def test_alert_rules_in_docs(tmp_path):
    """The example alert rules of docs/operations.md are valid rules."""
    text = open(os.path.join(kh.SRC, "docs", "operations.md")).read()
    m = re.search(r"```yaml\n(groups:\n.*?)```", text, re.S)
    assert m, "no alert rules (a ```yaml block with groups:) in the guide"
    rules = tmp_path / "kinsta-cron.rules.yml"
    rules.write_text(m.group(1))
    p = subprocess.run([PROMTOOL, "check", "rules", str(rules)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS: 3 rules found" in p.stdout, p.stdout
    for name in ("kinsta_cron_job_last_outcome",
                 "kinsta_cron_job_last_success_timestamp_seconds",
                 "kinsta_cron_api_rate_limited_total"):
        assert name in m.group(1)
