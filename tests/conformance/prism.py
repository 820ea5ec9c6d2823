"""Stoplight Prism conformance harness for kinsta-cron (Python stdlib only).

Runs `prism mock` on Kinsta's OpenAPI document behind a small recording
proxy, so a test can point the real daemon at it and then assert that every
request it sent passed Prism's request validation:

    from prism import Prism, ensure_installed, spec_path
    with Prism() as p:                      # Prism().start(spec_path())
        run_daemon(api_url=p.base_url)      # http://127.0.0.1:PORT  (no /v2!)
        assert p.violations() == [], p.report()

Base URL: Prism's mock ignores the document's `servers` entry
(https://api.kinsta.com/v2) and serves the paths at the root:
http://127.0.0.1:PORT/sites/..., while .../v2/sites/... is a 404
NO_PATH_MATCHED. So kinsta-cron's `api.url` must be `p.base_url`.

How violations are detected. Every request goes through the proxy, which
forwards it to Prism and reads Prism's answer to that very request (no log
parsing, so concurrent requests cannot be mixed up):
  * `sl-violations` response header: Prism lists there the request
    violations of a request it still answered from the spec (e.g. with the
    operation's documented 400 or 401 example). Entries located under
    "request" are client violations; entries under "response" mean the mock's
    own example disagrees with its schema (a spec problem: spec_issues()).
  * application/problem+json answers typed https://stoplight.io/prism/errors#...
    (422 UNPROCESSABLE_ENTITY with a `validation` list when the operation
    documents no 400/422, 401 UNAUTHORIZED, 415 INVALID_CONTENT_TYPE,
    404 NO_PATH_MATCHED_ERROR, 405 NO_METHOD_MATCHED_ERROR, ...).
  * a JSON content type whose body is not JSON (checked by the proxy; Prism's
    body parser answers that with a bare 400).
  * catch-all: any other 4xx that no respond_with() override asked for.
Prism is run WITHOUT --errors: request violations make Prism answer 4xx in
both modes, while --errors would additionally turn a mismatch between the
spec's own response examples and schemas into a 500 for a request that is
valid; without it a valid request always gets its mocked 2xx and the client
proceeds. 5xx answers are recorded as spec_issues(), not as violations.

Prism's mock answers are static (the spec's examples): GET /operations/{id}
is 200 {"message": "Successfully finished request", "status": 200,
"data": null}. Use respond_with() to have Prism pick another documented
status (it forwards `Prefer: code=N`), e.g. 202 then 200 for polling.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

HERE = Path(__file__).resolve().parent
# Kinsta's document is not in the repository: it is looked for in the
# project's shared folder beside it (../shared relative to the repository
# root), unless $KINSTA_OPENAPI names it.
REPO_ROOT = HERE.parent.parent
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "kinsta-api" / "openapi.json"
PRISM_BIN = HERE / "node_modules" / ".bin" / "prism"
INSTALL_SH = HERE / "install.sh"
PRISM_ERROR_TYPE = "https://stoplight.io/prism/errors#"

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding",
    "te", "trailer", "upgrade", "expect", "content-length",
}


class PrismUnavailable(RuntimeError):
    """Prism (node, node_modules or the spec) cannot be had: tests skip."""


def spec_path() -> Path:
    """Kinsta's OpenAPI document: $KINSTA_OPENAPI, else
    ../shared/kinsta-api/openapi.json relative to the repository root."""
    return Path(os.environ.get("KINSTA_OPENAPI") or DEFAULT_SPEC)


def spec_absent(spec: Optional[os.PathLike] = None) -> Optional[str]:
    """None when Kinsta's OpenAPI document is there; else why not, naming
    both ways to provide it."""
    spec = Path(spec) if spec else spec_path()
    if spec.is_file():
        return None
    env = os.environ.get("KINSTA_OPENAPI")
    where = f"KINSTA_OPENAPI={env}" if env and Path(env) == spec else str(spec)
    return (f"Kinsta's OpenAPI document is ABSENT ({where} is not a file): "
            "put it at ../shared/kinsta-api/openapi.json relative to the "
            f"repository root ({DEFAULT_SPEC}), or set KINSTA_OPENAPI to its "
            "path; the conformance tests cannot run without it")


def ensure_installed(timeout: float = 600) -> Path:
    """Run install.sh (idempotent). Returns the prism binary or raises
    PrismUnavailable with the reason (no node, no registry, ...)."""
    if not INSTALL_SH.exists():
        raise PrismUnavailable(f"{INSTALL_SH} missing")
    try:
        r = subprocess.run(["bash", str(INSTALL_SH)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PrismUnavailable(f"install.sh did not finish in {timeout:.0f}s")
    if r.returncode != 0 or not PRISM_BIN.exists():
        lines = (r.stderr or r.stdout).strip().splitlines()
        errs = [ln for ln in lines if ln.startswith("npm error") and ln.strip() != "npm error"]
        tail = "\n".join((errs[:4] if errs else lines[-8:]))
        raise PrismUnavailable(f"install.sh failed (exit {r.returncode}): {tail}")
    if shutil.which("node") is None:
        raise PrismUnavailable("node is not on PATH")
    return PRISM_BIN


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Violation(NamedTuple):
    method: str      # "POST"
    path: str        # "/sites/tools/clear-cache" (no query string)
    message: str     # Prism's message, e.g. "Request body must have required property 'environment_id'"


@dataclass
class Exchange:
    """One request the client sent and Prism's answer to it."""
    method: str
    path: str
    query: str
    headers: List[Tuple[str, str]]
    body: bytes
    status: int = 0
    response_headers: List[Tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    violations: List[dict] = field(default_factory=list)   # location, severity, code, message
    spec_issues: List[str] = field(default_factory=list)
    overridden: Optional[str] = None                         # Prefer header sent, if any

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body) if self.body else None

    def response_json(self):
        return json.loads(self.response_body) if self.response_body else None


def _classify(ex: Exchange) -> None:
    """Fill ex.violations / ex.spec_issues from Prism's answer."""
    def add(msg, location=None, severity="Error", code=None):
        ex.violations.append({"location": location or [], "severity": severity,
                              "code": code, "message": msg})

    ctype = (ex.header("content-type") or "").lower()
    if ex.body and ("json" in ctype):
        try:
            json.loads(ex.body)
        except ValueError as e:
            add(f"request body is not valid JSON ({e})", ["request", "body"], code="json")

    rh = {k.lower(): v for k, v in ex.response_headers}
    sl = rh.get("sl-violations")
    if sl:
        try:
            items = json.loads(sl)
        except ValueError:
            items = [{"location": ["request"], "severity": "Error", "message": sl}]
        for v in items:
            loc = v.get("location") or []
            if loc[:1] == ["response"]:
                ex.spec_issues.append(f"mock response: {'.'.join(map(str, loc[1:]))} {v.get('message')}")
            else:
                add(v.get("message", "?"), loc, v.get("severity", "Error"), v.get("code"))

    problem = None
    if "problem+json" in rh.get("content-type", "") and ex.response_body:
        try:
            problem = json.loads(ex.response_body)
        except ValueError:
            problem = None
    if isinstance(problem, dict) and str(problem.get("type", "")).startswith(PRISM_ERROR_TYPE):
        kind = problem["type"][len(PRISM_ERROR_TYPE):]
        if ex.status >= 500:
            ex.spec_issues.append(f"prism {ex.status} {kind}: {problem.get('detail')}")
        elif problem.get("validation"):
            for v in problem["validation"]:
                add(v.get("message", "?"), ["request"] + list(v.get("location") or []),
                    v.get("severity", "Error"), v.get("code"))
        elif not ex.violations:
            add(f"{kind}: {problem.get('title')}: {problem.get('detail')}", ["request"], code=kind)
    elif ex.status >= 500:
        ex.spec_issues.append(f"HTTP {ex.status} from prism: {ex.response_body[:200]!r}")

    if 400 <= ex.status < 500 and not ex.violations and not ex.overridden:
        add(f"HTTP {ex.status} from prism: {ex.response_body[:300].decode('utf-8', 'replace')}",
            ["request"], code=ex.status)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kinsta-cron-prism-proxy"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _any(self):
        prism: "Prism" = self.server.prism  # type: ignore[attr-defined]
        body = self._read_body()
        path, _, query = self.path.partition("?")
        ex = Exchange(self.command, path, query, list(self.headers.items()), body)
        fwd = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        prefer = prism._take_override(self.command, path)
        if prefer:
            fwd = [(k, v) for k, v in fwd if k.lower() != "prefer"] + [("Prefer", prefer)]
            ex.overridden = prefer
        try:
            conn = http.client.HTTPConnection("127.0.0.1", prism.prism_port, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in fwd:
                conn.putheader(k, v)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            ex.status = resp.status
            ex.response_headers = resp.getheaders()
            ex.response_body = resp.read()
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            ex.status = 502
            ex.response_headers = [("Content-Type", "text/plain")]
            ex.response_body = f"prism proxy: {e}".encode()
        rewrite = prism._take_rewrite(self.command, path)
        if rewrite is not None and 200 <= ex.status < 300:
            ex.response_body = rewrite(ex.response_body)
        _classify(ex)
        prism._record(ex)
        self.send_response(ex.status)
        for k, v in ex.response_headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(ex.response_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(ex.response_body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any


class _ProxyServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Prism:
    """`prism mock` on a spec plus a recording proxy in front of it.

    base_url    -> what the client must use (http://127.0.0.1:PORT, no /v2)
    prism_url   -> Prism itself (unrecorded; for debugging)
    """

    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.prism_port = 0
        self.startup_seconds = 0.0
        self._exchanges: List[Exchange] = []
        self._lock = threading.Lock()
        self._overrides: List[Tuple[str, "re.Pattern", List[str]]] = []
        self._rewrites: List[Tuple[str, "re.Pattern", list]] = []
        self._server: Optional[_ProxyServer] = None
        self._thread: Optional[threading.Thread] = None
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self._log_path: Optional[Path] = None

    # -- lifecycle -------------------------------------------------------
    def start(self, spec: Optional[os.PathLike] = None, port: int = 0,
              timeout: float = 60.0) -> "Prism":
        spec = Path(spec) if spec else spec_path()
        if not spec.is_file():
            raise PrismUnavailable(spec_absent(spec))
        if not PRISM_BIN.exists():
            raise PrismUnavailable(f"{PRISM_BIN} missing: run {INSTALL_SH}")
        if shutil.which("node") is None:
            raise PrismUnavailable("node is not on PATH")
        self._tmp = tempfile.TemporaryDirectory(prefix="kinsta-prism-")
        self._log_path = Path(self._tmp.name) / "prism.log"
        env = dict(os.environ, FORCE_COLOR="0", NO_COLOR="1", SCARF_ANALYTICS="false")
        t0 = time.monotonic()
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.prism_port = free_port()
            with open(self._log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(self.prism_port), str(spec)],
                    cwd=str(HERE), env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_listening(t0 + timeout):
                break
            if self.proc.poll() is None:  # still starting after the timeout
                self.stop()
                raise RuntimeError(f"prism did not listen within {timeout:.0f}s:\n{self.log()[-3000:]}")
            if "EADDRINUSE" not in self.log() or attempt == 2:
                out = self.log()[-3000:]
                self.stop()
                raise RuntimeError(f"prism exited with {self.proc.returncode}:\n{out}")
        self.startup_seconds = time.monotonic() - t0
        self._server = _ProxyServer(("127.0.0.1", port), _Handler)
        self._server.prism = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="prism-proxy", daemon=True)
        self._thread.start()
        return self

    def _wait_listening(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.prism_port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> "Prism":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def prism_url(self) -> str:
        return f"http://127.0.0.1:{self.prism_port}"

    # -- steering Prism's answers ---------------------------------------
    def respond_with(self, method: str, path_regex: str, *codes: int) -> None:
        """Requests matching METHOD and the path regex (full match, no query)
        get Prism's documented response CODES in turn; the last one sticks.
        E.g. respond_with("GET", r"/operations/.*", 202, 202, 200)."""
        self._overrides.append((method.upper(), re.compile(path_regex),
                                [f"code={c}" for c in codes]))

    def rewrite_with(self, method: str, path_regex: str, *fns) -> None:
        """The answers to requests matching METHOD and the path regex go
        through FNS in turn (bytes -> bytes; None: as Prism made it), then
        stay as Prism makes them.  The request is validated by Prism all the
        same; this stands in for state a static mock cannot have (a plugin
        at its new version after an update)."""
        self._rewrites.append((method.upper(), re.compile(path_regex), list(fns)))

    def _take_rewrite(self, method: str, path: str):
        with self._lock:
            for m, rx, seq in self._rewrites:
                if m == method and rx.fullmatch(path) and seq:
                    return seq.pop(0)
        return None

    def _take_override(self, method: str, path: str) -> Optional[str]:
        with self._lock:
            for m, rx, seq in self._overrides:
                if m == method and rx.fullmatch(path):
                    return seq.pop(0) if len(seq) > 1 else seq[0]
        return None

    # -- what was seen ---------------------------------------------------
    def _record(self, ex: Exchange) -> None:
        with self._lock:
            self._exchanges.append(ex)

    def requests(self) -> List[Exchange]:
        """Every request the client sent, in arrival order."""
        with self._lock:
            return list(self._exchanges)

    def violations(self, include_warnings: bool = True) -> List[Violation]:
        """(method, path, message) for each request-validation failure."""
        out = []
        for ex in self.requests():
            for v in ex.violations:
                if include_warnings or v.get("severity") == "Error":
                    out.append(Violation(ex.method, ex.path, v["message"]))
        return out

    def spec_issues(self) -> List[Tuple[str, str, str]]:
        """Prism/spec-side problems (5xx, mock examples off their schema)."""
        return [(ex.method, ex.path, m) for ex in self.requests() for m in ex.spec_issues]

    def clear(self) -> None:
        """Forget the recorded requests (respond_with() rules stay)."""
        with self._lock:
            self._exchanges.clear()

    def reset(self) -> None:
        """Forget the recorded requests and the respond_with() and
        rewrite_with() rules."""
        with self._lock:
            self._exchanges.clear()
            self._overrides.clear()
            self._rewrites.clear()

    def log(self) -> str:
        """Prism's own stdout/stderr (text, colours off)."""
        if self._log_path and self._log_path.exists():
            return self._log_path.read_text(errors="replace")
        return ""

    def report(self) -> str:
        """Human-readable summary for assertion messages."""
        lines = []
        for ex in self.requests():
            lines.append(f"{ex.method} {ex.target} -> {ex.status}")
            for v in ex.violations:
                lines.append(f"    VIOLATION {'.'.join(map(str, v['location']))}: {v['message']}")
            for s in ex.spec_issues:
                lines.append(f"    spec issue: {s}")
        return "\n".join(lines) or "(no requests)"
