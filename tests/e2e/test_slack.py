"""Slack slash commands (POST /slack/commands, issue #15), end to end.

A fake Slack signs each command exactly as Slack documents (v0, HMAC-SHA256
of "v0:<timestamp>:<body>" with the signing secret, in X-Slack-Signature,
the time in X-Slack-Request-Timestamp) and listens on loopback for the
delayed answers posted to the command's response_url.  A good command
runs and reports; a bad signature, an old timestamp, a user or a channel
not allowed, a command this version does not take, an action that
allow_actions leaves out, and a response_url that is not Slack's are
refused and change nothing.  The site commands (status, clear-cache,
restart-php, backup) answer at once and post the outcome when it ends.
"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcron_helpers as kh  # noqa: E402
from test_httpface import Face, TOKEN  # noqa: E402,F401

import pytest  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class FakeSlack:
    """Receives the posts to response_url on 127.0.0.1; while `down` is
    above 0, answers 503 to that many posts (recorded in `refused`)."""

    def __init__(self):
        posts = self.posts = []
        refused = self.refused = []
        fake = self
        self.down = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                if fake.down > 0:
                    fake.down -= 1
                    refused.append((time.monotonic(), self.path))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                posts.append((self.path, self.headers.get("Content-Type"),
                              json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, name):
        return "http://127.0.0.1:%d/commands/%s" % (self.port, name)

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def sign(body, ts, secret=SECRET):
    base = b"v0:" + str(ts).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def command(face, text, user="U0ALLOWED", channel="C0OPS", url=None,
            ts=None, secret=SECRET, signature=None):
    """POST a slash command as Slack does; (status, decoded answer)."""
    form = {"token": "deprecated-verification-token", "team_id": "T0001",
            "team_domain": "example", "channel_id": channel,
            "channel_name": "ops", "user_id": user, "user_name": "someone",
            "command": "/kcron", "text": text,
            "response_url": url or "https://hooks.slack.com/commands/x",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0"}
    body = urllib.parse.urlencode(form).encode()
    ts = int(time.time()) if ts is None else ts
    c = http.client.HTTPConnection("127.0.0.1", face.port, timeout=10)
    try:
        c.request("POST", "/slack/commands", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts, secret)})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


@pytest.fixture
def setup(tmp_path):
    with kh.Sim(op_seconds=0.2) as sim:
        slack = FakeSlack()
        with open(os.path.join(str(tmp_path), "slack-secret"), "w") as f:
            f.write(SECRET + "\n")
        face = Face(tmp_path, sim, [
            kh.job("nightly", "clear-cache",
                   environment_id=kh.env_id("bravosite"))],
            listen_extra='allow_actions = ["clear-cache", "restart-php"];',
            slack=(
                'slack = { allow_users = ["U0ALLOWED"]; '
                'allow_channels = ["C0OPS"]; '
                'signing_secret_file = "slack-secret"; };'))
        try:
            yield face, sim, slack
        finally:
            log = face.stop()
            slack.stop()
            assert SECRET not in log


def test_good_command_runs_and_reports(setup):
    face, sim, slack = setup
    st, ans = command(face, "help")
    assert st == 200 and ans["response_type"] == "ephemeral"
    assert "run JOB" in ans["text"]

    st, ans = command(face, "run nightly", url=slack.url("a1"))
    assert st == 200, ans
    assert ans["text"].startswith("Started job nightly, run ")
    run_id = ans["text"].split("run ")[1].split(";")[0]
    post = kh.wait_for(lambda: slack.posts, 30, what="the delayed answer")
    path, ctype, msg = post[0]
    assert path == "/commands/a1" and ctype == "application/json"
    assert msg["response_type"] == "in_channel"
    assert "Job nightly, run %s, ended in" % run_id in msg["text"]
    assert "1 succeeded" in msg["text"]
    assert "operation cache:clear-" in msg["text"]
    assert len(sim.requests("POST", r"/sites/tools/clear-cache")) == 1
    # the same run through the API
    st, _, run = face.request("GET", "/api/v1/runs/" + run_id)
    assert st == 200 and run["count"]["succeeded"] == 1


@pytest.mark.parametrize("case", [
    "bad signature", "other secret", "old timestamp", "future timestamp",
    "no timestamp", "user not allowed", "channel not allowed",
    "command not taken", "action not allowed", "no site", "unknown job",
    "response_url elsewhere"])
def test_refused_commands_change_nothing(setup, case):
    face, sim, slack = setup
    url = slack.url("r")
    now = int(time.time())
    if case == "bad signature":
        st, ans = command(face, "run nightly", url=url,
                          signature="v0=" + "0" * 64)
        assert st == 401 and "Signature" in ans["error"]
    elif case == "other secret":
        st, ans = command(face, "run nightly", url=url, secret="x" * 32)
        assert st == 401
    elif case == "old timestamp":
        st, ans = command(face, "run nightly", url=url, ts=now - 301)
        assert st == 401 and "five minutes" in ans["error"]
    elif case == "future timestamp":
        st, ans = command(face, "run nightly", url=url, ts=now + 400)
        assert st == 401
    elif case == "no timestamp":
        st, ans = command(face, "run nightly", url=url, ts="")
        assert st == 401
    elif case == "user not allowed":
        st, ans = command(face, "run nightly", url=url, user="U0OTHER")
        assert st == 200 and "not allowed" in ans["text"]
    elif case == "channel not allowed":
        st, ans = command(face, "run nightly", url=url, channel="C0RANDOM")
        assert st == 200 and "allow_channels" in ans["text"]
    elif case == "command not taken":
        st, ans = command(face, "purge bravosite live", url=url)
        assert st == 200 and "Unknown command" in ans["text"]
    elif case == "action not allowed":
        st, ans = command(face, "backup bravosite", url=url)
        assert st == 200 and "not allowed" in ans["text"]
        assert "allow_actions" in ans["text"]
    elif case == "no site":
        st, ans = command(face, "clear-cache", url=url)
        assert st == 200 and "Which site?" in ans["text"]
    elif case == "unknown job":
        st, ans = command(face, "run nope", url=url)
        assert st == 200 and 'no job "nope"' in ans["text"]
    elif case == "response_url elsewhere":
        st, ans = command(face, "run nightly",
                          url="http://198.51.100.7/commands/x")
        assert st == 200 and "nothing was started" in ans["text"]
    time.sleep(0.5)
    assert sim.requests("POST") == []
    assert slack.posts == []
    assert not os.path.exists(os.path.join(face.state, "history.jsonl"))


def test_site_commands(setup):
    face, sim, slack = setup
    sim.config(op_seconds_action={"restart-php": 2})
    st, ans = command(face, "clear-cache bravosite", url=slack.url("c1"))
    assert st == 200, ans
    assert ans["text"].startswith("Started clear-cache on bravosite/live, "
                                  "run ")
    run_id = ans["text"].split("run ")[1].split(";")[0]
    post = kh.wait_for(lambda: slack.posts, 30, what="the outcome")
    path, _, msg = post[0]
    assert path == "/commands/c1"
    assert "run %s, ended in" % run_id in msg["text"]
    assert "bravosite/live: succeeded, operation cache:clear-" in msg["text"]

    # an environment named, and one busy: the second is not started
    st, ans = command(face, "restart-php charliesite staging",
                      url=slack.url("c2"))
    assert "Started restart-php on charliesite/staging" in ans["text"], ans
    kh.wait_for(lambda: sim.requests("POST", r"/sites/tools/restart-php"),
                10, what="the restart's POST")
    st, ans = command(face, "clear-cache charliesite staging",
                      url=slack.url("c3"))
    assert "was not started" in ans["text"] and "busy" in ans["text"], ans
    kh.wait_for(lambda: len(slack.posts) >= 2, 30, what="the restart's end")
    assert slack.posts[1][0] == "/commands/c2"
    body = sim.requests("POST", r"/sites/tools/restart-php")[0]["body"]
    assert body["environment_id"] == "a3333333-3333-4333-8333-333333333331"

    # status: acknowledged, then the summary posted
    st, ans = command(face, "status bravosite", url=slack.url("s1"))
    assert st == 200 and "Looking bravosite up" in ans["text"], ans
    kh.wait_for(lambda: len(slack.posts) >= 3, 30, what="the status")
    path, _, msg = slack.posts[2]
    assert path == "/commands/s1"
    text = msg["text"]
    assert text.startswith("*bravosite*") and "PHP " in text, text
    assert "WordPress " in text and "akismet 5.3→5.3.1" in text
    assert "clear-cache on bravosite/live: succeeded" in text
    st, ans = command(face, "status nosuchsite", url=slack.url("s2"))
    kh.wait_for(lambda: len(slack.posts) >= 4, 30, what="the answer")
    assert 'no site "nosuchsite"' in slack.posts[3][2]["text"]
    # nothing reached the history but the two runs
    with open(os.path.join(face.state, "history.jsonl")) as f:
        jobs = [json.loads(l)["job"] for l in f]
    assert sorted(jobs) == ["@clear-cache:bravosite",
                            "@restart-php:charliesite"]


def test_outcome_posted_when_slack_is_back(setup):
    """Slack (or the proxy before it) answers 503 three times: the outcome
    is posted again 1, 2 and 4 s later, and arrives once."""
    face, sim, slack = setup
    slack.down = 3
    st, ans = command(face, "clear-cache bravosite", url=slack.url("d1"))
    assert st == 200 and ans["text"].startswith("Started"), ans
    post = kh.wait_for(lambda: slack.posts, 30, what="the outcome")
    assert len(slack.refused) == 3 and len(post) == 1
    assert post[0][0] == "/commands/d1"
    assert "bravosite/live: succeeded" in post[0][2]["text"]
    gaps = [b[0] - a[0] for a, b in zip(slack.refused, slack.refused[1:])]
    assert 0.9 <= gaps[0] < 1.9 and 1.9 <= gaps[1] < 3.5, gaps
    time.sleep(1)
    assert len(slack.posts) == 1
    log = face.text()
    assert log.count("event=slack-post-failed") == 3
    assert "slack-post-dropped" not in log
