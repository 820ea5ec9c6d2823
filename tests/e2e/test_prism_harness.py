"""Tests of the Prism conformance harness (tests/conformance/prism.py) itself.

Prism mocks Kinsta's OpenAPI document and validates every request; the
harness records what it saw. Needs Kinsta's document ($KINSTA_OPENAPI, else
../shared/kinsta-api/openapi.json relative to the repository root) and node;
installs Prism with tests/conformance/install.sh. Skips, with the reason,
when either is missing.

Run: /usr/bin/python3 -m pytest -q tests/e2e/test_prism_harness.py
"""

import json
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

CONF_DIR = Path(__file__).resolve().parent.parent / "conformance"
sys.path.insert(0, str(CONF_DIR))

import prism as prism_mod  # noqa: E402

COMPANY = "54fb80af-576c-4fdc-ba4f-b596c83f15a1"
ENV = "a1111111-1111-4111-8111-111111111111"
SITE = "11111111-1111-4111-8111-111111111111"
KEY = "test-api-key"


@pytest.fixture(scope="module")
def prism():
    why = prism_mod.spec_absent()
    if why:
        warnings.warn(why)  # shown by a plain `pytest -q` too, unlike skip reasons
        pytest.skip(why)
    spec = prism_mod.spec_path()
    try:
        prism_mod.ensure_installed()
    except prism_mod.PrismUnavailable as e:
        pytest.skip(f"Prism could not be installed: {e}")
    p = prism_mod.Prism()
    p.start(spec)
    print(f"prism ready in {p.startup_seconds:.1f}s at {p.base_url}")
    yield p
    p.stop()


@pytest.fixture
def mock(prism):
    prism.reset()
    return prism


def call(p, method, path, body=None, auth=True, content_type="application/json", raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(p.base_url + path, data=data, method=method)
    if auth:
        req.add_header("Authorization", f"Bearer {KEY}")
    if data is not None and content_type:
        req.add_header("Content-Type", content_type)
    req.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload


def test_valid_clear_cache_gets_mocked_operation(mock):
    status, body = call(mock, "POST", "/sites/tools/clear-cache", {"environment_id": ENV})
    assert status == 202, body
    assert isinstance(body.get("operation_id"), str) and body["operation_id"]
    assert mock.violations() == [], mock.report()
    (ex,) = mock.requests()
    assert (ex.method, ex.path, ex.status) == ("POST", "/sites/tools/clear-cache", 202)
    assert ex.json() == {"environment_id": ENV}
    assert ex.header("Authorization") == f"Bearer {KEY}"


def test_missing_required_property_is_one_violation(mock):
    status, body = call(mock, "POST", "/sites/tools/clear-cache", {"environment": ENV})
    assert status == 422, body
    v = mock.violations()
    assert len(v) == 1, mock.report()
    assert v[0].method == "POST" and v[0].path == "/sites/tools/clear-cache"
    assert "environment_id" in v[0].message and "required" in v[0].message


def test_wrong_type_is_a_violation(mock):
    # this operation documents a 400, so Prism answers with that example and
    # reports the violation in the sl-violations header
    status, _ = call(mock, "POST", f"/sites/environments/{ENV}/manual-backups", {"tag": 5})
    assert status == 400
    (v,) = mock.violations()
    assert "tag" in v.message and "string" in v.message


def test_missing_bearer_token_is_a_violation(mock):
    status, _ = call(mock, "POST", "/sites/tools/clear-cache", {"environment_id": ENV}, auth=False)
    assert status == 401
    assert len(mock.violations()) == 1, mock.report()


def test_form_encoded_body_is_a_violation(mock):
    # libcurl's default Content-Type for CURLOPT_POSTFIELDS
    raw = json.dumps({"environment_id": ENV}).encode()
    status, _ = call(mock, "POST", "/sites/tools/clear-cache", raw=raw,
                     content_type="application/x-www-form-urlencoded")
    assert status == 415
    assert len(mock.violations()) == 1, mock.report()


def test_v2_prefix_is_not_served(mock):
    status, _ = call(mock, "POST", "/v2/sites/tools/clear-cache", {"environment_id": ENV})
    assert status == 404
    assert "NO_PATH_MATCHED" in mock.violations()[0].message


def test_get_operation(mock):
    status, body = call(mock, "GET", f"/operations/cache:clear-{ENV}")
    assert status == 200, body
    assert body["status"] == 200 and "message" in body
    assert mock.violations() == [], mock.report()


def test_respond_with_steers_operation_status(mock):
    mock.respond_with("GET", r"/operations/.*", 202, 200)
    seen = [call(mock, "GET", f"/operations/cache:clear-{ENV}")[0] for _ in range(3)]
    assert seen == [202, 200, 200]
    assert mock.violations() == []


def test_list_sites_with_environments(mock):
    status, body = call(mock, "GET", f"/sites?company={COMPANY}&include_environments=true")
    assert status == 200, body
    sites = body["company"]["sites"]
    assert isinstance(sites, list) and sites
    assert "environments" in sites[0]
    assert mock.violations() == [], mock.report()
    assert mock.requests()[0].query == f"company={COMPANY}&include_environments=true"


def test_list_sites_without_company_is_a_violation(mock):
    status, _ = call(mock, "GET", "/sites")
    assert status == 422
    assert "company" in mock.violations()[0].message


@pytest.mark.parametrize("method,path,good,bad,needle", [
    ("PUT", "/sites/tools/modify-php-version",
     {"environment_id": ENV, "php_version": "8.3"}, {"environment_id": ENV}, "php_version"),
    ("POST", f"/sites/environments/{ENV}/manual-backups", {"tag": "nightly"}, {"tag": 1}, "tag"),
    ("PUT", f"/sites/environments/{ENV}/plugins/bulk-update",
     {"plugins": [{"name": "akismet"}]}, {"plugins": ["akismet"]}, "plugins"),
    ("PUT", f"/sites/{SITE}/environments",
     {"source_env_id": ENV, "target_env_id": ENV}, {"source_env_id": ENV}, "target_env_id"),
    ("POST", f"/sites/environments/{ENV}/run-wp-cli-command",
     {"wp_command": "wp core version"}, {"wp_command": "wp plugin list; rm -rf /"}, "wp_command"),
])
def test_action_bodies_are_validated(mock, method, path, good, bad, needle):
    status, body = call(mock, method, path, good)
    assert 200 <= status < 300, (status, body)
    assert mock.violations() == [], mock.report()
    status, _ = call(mock, method, path, bad)
    assert status in (400, 422)
    v = mock.violations()
    assert len(v) == 1 and needle in v[0].message, mock.report()


def test_delete_backup_path_parameter_is_validated(mock):
    assert call(mock, "DELETE", "/sites/environments/backups/165424355")[0] == 202
    assert mock.violations() == []
    assert call(mock, "DELETE", "/sites/environments/backups/abc")[0] == 400
    assert "backup_id" in mock.violations()[0].message


def test_concurrent_requests_are_attributed_correctly(mock):
    import threading
    results = []

    def worker(i):
        body = {"environment_id": ENV} if i % 2 else {"nope": i}
        results.append(call(mock, "POST", "/sites/tools/clear-cache", body)[0])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [202] * 5 + [422] * 5
    exs = mock.requests()
    assert len(exs) == 10
    for ex in exs:
        assert bool(ex.violations) == ("nope" in ex.json()), mock.report()
