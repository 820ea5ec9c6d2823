"""The simulator's HTTP face, and the Simulator object that puts it together.

SimApp is the transport's handler (transport.py): it splits the target,
reads and parses the body, sends /_sim/... to SimCore's control API and
everything else, with or without /v2, to its API; it keeps the record of
each API request (finished before the answer leaves, so that a client which
has its answer always finds its request complete in /_sim/requests and
/_sim/stats), writes the log line, and plays a fault that fires onto the
wire (an error page, a hang, a reset, a trickle, a damaged or monstrous
body).

Simulator is SimCore + SimApp + HttpServer: Simulator(...).start(); .port;
.base_url; .stop().
"""

import asyncio
import json
import math
import re
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

from .core import SimCore, key_hash
from .errors import MSG_401, MSG_429, MSG_500
from .transport import JSON_TYPE, HttpServer

SERVER_NAME = "kinsta-sim/1.0"
_BEARER_RE = re.compile(r"^\s*Bearer\s+(\S+)\s*$")


def split_target(target):
    """(path, raw_path, raw_query, query) of a request target: path is
    percent-decoded and without a trailing slash, query a dict whose last
    value of a name wins."""
    if target[:1] == "/" and "?" not in target and "#" not in target and "%" not in target:
        raw_path = path = target   # what urlsplit() and unquote() would make of it
        raw_query, q = "", {}
    else:
        parts = urlsplit(target)
        raw_path, raw_query = parts.path or "/", parts.query
        try:
            path = unquote(raw_path)
        except Exception:
            path = raw_path
        q = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path, raw_path, raw_query, q


def parse_body(raw):
    """(body, body_error): the JSON value, None for no body; the text and
    True when it is not JSON."""
    if not raw:
        return None, False
    try:
        return json.loads(raw.decode("utf-8")), False
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace"), True


def _json(obj):
    return json.dumps(obj).encode("utf-8")


class _Call:
    """One API request being answered, and its record until it is finished."""

    __slots__ = ("app", "req", "rec")

    def __init__(self, app, req, rec):
        self.app, self.req, self.rec = app, req, rec

    def finish(self, status):
        """Finish the record (once) and log the request."""
        rec = self.rec
        if rec is not None:
            self.rec = None
            self.app.core.record_done(rec, status)
            self.app.log(rec, status)

    async def send(self, status, data, headers=None, ctype=JSON_TYPE):
        self.finish(status)
        await self.req.respond(status, data, headers, ctype)

    async def send_json(self, status, obj, headers=None):
        await self.send(status, _json(obj), headers)

    async def stream(self, status, total, chunks, headers, interval):
        self.finish(status)
        await self.req.stream(status, total, chunks, headers, interval)


class SimApp:
    """The transport's handler for a SimCore. port() is the port the
    simulator listens on (for /_sim/health); quiet silences the log."""

    def __init__(self, core, port, quiet=True):
        self.core = core
        self.port = port
        self.quiet = quiet

    def log(self, rec, status):
        """One line per API request on stderr: METHOD PATH STATUS key=HASH [fault=KIND]."""
        if self.quiet:
            return
        fault = rec["fault"]
        line = "%s %s %s key=%s%s\n" % (rec["method"], rec["path"],
                                         status if status is not None else "-",
                                         rec.get("key_hash") or "-",
                                         (" fault=" + fault) if fault else "")
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except Exception:
            pass

    async def __call__(self, req):
        path, raw_path, raw_query, q = split_target(req.target)
        body_raw, body_err = await req.read_body()
        if body_raw is None:
            await req.respond(413 if body_err == "too large" else 400,
                              _json({"status": 400, "message": "Bad request format (%s)" % body_err}))
            return
        body, body_error = parse_body(body_raw)
        if path.startswith("/_site/"):
            # an environment's own web page, for the update probes: not
            # the API (no key, not in the request record)
            status, page = self.core.handle_site(req.method, path, q)
            await req.respond(status, page, None, "text/html; charset=utf-8")
            return
        if path == "/_sim" or path.startswith("/_sim/"):
            status, out = self.core.handle_control(req.method, path, q, body, body_error,
                                                   self.port())
            await req.respond(status, _json(out))
            return
        await self._api(req, path, raw_path, raw_query, q, body, body_error)

    async def _api(self, req, path, raw_path, raw_query, q, body, body_error):
        core = self.core
        api_path = path[3:] if (path == "/v2" or path.startswith("/v2/")) else path
        api_path = api_path or "/"
        hdrs = {}
        for k, v in req.headers.items():
            if k.lower() == "authorization":
                continue
            hdrs[k] = (hdrs[k] + ", " + v) if k in hdrs else v
        client = req.client[0]
        rec = {"time": req.arrived, "handled": time.time(), "method": req.method,
               "path": raw_path, "api_path": api_path, "query": q, "raw_query": raw_query,
               "headers": hdrs, "auth_ok": False, "company": None, "key_hash": None,
               "body": body, "status": None, "fault": None, "client": client}
        core.record(rec)
        call = _Call(self, req, rec)
        status = None
        try:
            fault = core.take_fault(req.method, raw_path, api_path)
            if fault:
                rec["fault"] = fault["kind"]
                m = _BEARER_RE.match(req.headers.get("Authorization", ""))
                rec["key_hash"] = key_hash(m.group(1) if m else None)
                status = await self._fault(call, fault, api_path, q, body, body_error)
            else:
                status, obj, extra = core.handle_api(req.method, api_path, q, req.headers, body,
                                                     body_error, client, rec)
                await call.send_json(status, obj, extra)
        finally:
            call.finish(status)

    # ---- faults: what a fault that fired does to the answer ----------------------
    async def _fault(self, call, f, api_path, q, body, body_error):
        """Play fault f; returns the status sent (None: none was)."""
        kind = f["kind"]
        hdrs = {}
        if f.get("retry_after") is not None:
            hdrs["Retry-After"] = str(int(math.ceil(float(f["retry_after"]))))
        if kind in ("500", "502", "503", "429", "401"):
            return await self._fault_status(call, kind, hdrs)
        if kind == "hang":
            # a task asleep, not the loop: stop() cancels it, which closes the connection
            secs = float(f["seconds"]) if f.get("seconds") is not None else 3600.0
            await asyncio.sleep(secs)
            call.req.close_after()
            return None
        if kind == "reset":
            call.finish(None)
            call.req.reset()
            return None
        if kind in ("slow_body", "malformed_json"):
            return await self._fault_damaged(call, f, api_path, q, body, body_error)
        if kind in ("huge_json", "deep_json", "nul_json"):
            return await self._fault_junk(call, f)
        return None

    async def _fault_status(self, call, kind, hdrs):
        """An error answer, the request unprocessed."""
        st = int(kind)
        if kind == "500":
            await call.send_json(500, {"status": 500, "message": MSG_500}, hdrs)
        elif kind in ("502", "503"):
            text = "Bad Gateway" if kind == "502" else "Service Temporarily Unavailable"
            html = ("<html><head><title>%s %s</title></head><body><center><h1>%s %s</h1>"
                    "</center><hr><center>cloudflare</center></body></html>\n"
                    % (kind, text, kind, text)).encode()
            await call.send(st, html, hdrs, ctype="text/html")
        elif kind == "429":
            lim = self.core.config["rate_company"]
            ra = hdrs.get("Retry-After", "1")
            hdrs.update(self.core.rate_headers(lim, 0, float(ra)))
            await call.send_json(429, {"status": 429, "message": MSG_429}, hdrs)
        else:
            await call.send_json(401, {"status": 401, "message": MSG_401, "data": None}, hdrs)
        return st

    async def _fault_damaged(self, call, f, api_path, q, body, body_error):
        """The request is processed for real; the answer is damaged in transit:
        cut in half (malformed_json) or trickled a byte at a time (slow_body)."""
        req = call.req
        status, obj, extra = self.core.handle_api(req.method, api_path, q, req.headers, body,
                                                  body_error, req.client[0], call.rec)
        data = json.dumps(obj).encode()
        if f.get("status") is not None:
            status = int(f["status"])
        if f["kind"] == "malformed_json":
            if f.get("status") is None:
                status = 200
            cut = max(1, len(data) // 2)
            await call.send(status, data[:cut], extra)
            return status
        interval = float(f["seconds"]) if f.get("seconds") is not None else 1.0
        await call.stream(status, len(data), (data[i:i + 1] for i in range(len(data))),
                          extra, interval)
        return status

    async def _fault_junk(self, call, f):
        """A body no client should swallow, the request unprocessed."""
        kind = f["kind"]
        status = int(f["status"]) if f.get("status") is not None else 200
        if kind == "huge_json":
            size = int(f["bytes"]) if f.get("bytes") else 50 * 1024 * 1024
            head = b'{"status":200,"message":"huge","data":['
            tail = b'"end"]}'
            elem = b'"' + b"x" * 1021 + b'",'
            n = max(0, (size - len(head) - len(tail)) // len(elem))
            total = len(head) + n * len(elem) + len(tail)

            def gen():
                yield head
                block = elem * 64
                left = n
                while left >= 64:
                    yield block
                    left -= 64
                if left:
                    yield elem * left
                yield tail
            await call.stream(status, total, gen(), {}, 0)
        elif kind == "deep_json":
            depth = int(f["depth"]) if f.get("depth") else 100000
            await call.send(status, b"[" * depth + b"]" * depth)
        else:   # nul_json
            await call.send(status, b'{"status":200,"message":"nul\x00byte","data":{"id":"a\x00b"}}')
        return status


def _keys(keys):
    """--key values ("K", "K=COMPANY") or (K, COMPANY) pairs as (key, company or None)."""
    out = []
    for k in keys or []:
        if isinstance(k, (tuple, list)):
            out.append((k[0], k[1]))
        elif "=" in k:
            a, b = k.split("=", 1)
            out.append((a, b))
        else:
            out.append((k, None))
    return out


class Simulator:
    """The simulator as an object: Simulator(...).start(); .port; .stop().

    state is a seed (a dict, or the path of a JSON file) instead of the
    built-in one; keys adds API keys ("K=COMPANY", or "K" for the first
    company); the other keywords are settings of /_sim/config. ssl_context
    (an ssl.SSLContext for the server side) makes it speak HTTPS instead of
    HTTP."""

    def __init__(self, host="127.0.0.1", port=0, state=None, keys=None, op_seconds=2.0,
                 op_404_seconds=0.0, rate_company=120, rate_ip=1000, rate_create=5, rate_logs=35,
                 rate_window=60.0, quiet=True, ssl_context=None, **config):
        if isinstance(state, str):
            with open(state, "r", encoding="utf-8") as fh:
                state = json.load(fh)
        cfg = dict(op_seconds=op_seconds, op_404_seconds=op_404_seconds, rate_company=rate_company,
                   rate_ip=rate_ip, rate_create=rate_create, rate_logs=rate_logs,
                   rate_window=rate_window)
        cfg.update(config)
        self.core = SimCore(seed=state, keys=_keys(keys), config=cfg)
        self.host = host
        self.ssl_context = ssl_context
        self.stop_event = threading.Event()   # set once stop() has begun
        self.app = SimApp(self.core, lambda: self.port, quiet)
        self.server = HttpServer(self.app, host, port, ssl_context=ssl_context,
                                 server_name=SERVER_NAME, on_error=self._log_error,
                                 thread_name="kinsta-sim")

    @property
    def quiet(self):
        """No log lines on stderr."""
        return self.app.quiet

    @quiet.setter
    def quiet(self, value):
        self.app.quiet = value

    def _log_error(self, client_address, exc):
        if not self.quiet:
            try:
                sys.stderr.write("kinsta-sim: connection %s: %s: %s\n"
                                 % (client_address[0], type(exc).__name__, exc))
            except Exception:
                pass

    def bind(self):
        """Listen now (so that .port is known), serve from start()."""
        self.server.bind()
        return self

    def start(self):
        if self.stop_event.is_set():
            raise RuntimeError("a stopped simulator does not start again")
        self.server.start()
        return self

    @property
    def port(self):
        return self.server.port

    @property
    def root_url(self):
        return self.server.url

    @property
    def base_url(self):
        return self.root_url + "/v2"

    def stop(self):
        """Stop serving: hung and streaming answers are cut off, every socket closed."""
        self.stop_event.set()
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
