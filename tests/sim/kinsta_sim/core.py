"""The simulated Kinsta service: every piece of state under one lock, and
the answers to API and control calls. No sockets: the HTTP side (app.py on
transport.py) hands each call over as method, path, query, headers and
parsed body, and gets (status, body, headers) back; tests may also call
SimCore directly from their own threads.

SimCore holds the companies (from a seed, seed.py), the API keys, the
operations and deployments with their timing and failure rules, the rate
windows, the faults waiting to fire and the record of every request. The
endpoints themselves are in endpoints.py (a mixin of SimCore).
"""

import copy
import hashlib
import math
import re
import threading
import time
import uuid
from collections import deque
from urllib.parse import unquote

from .endpoints import Endpoints
from .errors import MSG_401, MSG_429, MSG_BUSY, MSG_500, ApiError, OpFailure, err400, err404
from .seed import default_seed, normalize_seed

# action name -> (operation id prefix, start message)
ACTIONS = {
    "clear-cache": ("cache:clear", "Clearing site cache in progress. Use the operation_id to check the status."),
    "restart-php": ("php:restart", "Restarting PHP in progress. Use the operation_id to check the status."),
    "modify-php-version": ("php:modify-version", "Modifying PHP version in progress"),
    "clear-edge-cache": ("edgeCache:clear", "Clearing site edge cache in progress."),
    "clear-cdn-cache": ("cdn-cache:clear", "Clearing site CDN cache in progress."),
    "manual-backup": ("backups:add-manual", "Adding a manual backup to environment in progress"),
    "delete-backup": ("backups:remove", "Removing a backup in progress. Use the operation_id to check the status."),
    "restore-backup": ("backups:restore", "Restoring a backup to environment in progress"),
    "update-plugin": ("wp-plugin:update", "Updating WordPress plugin in progress"),
    "bulk-update-plugins": ("wp-plugins:bulk-update", "Bulk-updating WordPress plugins in progress"),
    "update-theme": ("wp-theme:update", "Updating WordPress theme in progress"),
    "bulk-update-themes": ("wp-themes:bulk-update", "Bulk-updating WordPress themes in progress"),
    "push-environment": ("environments:push", "Pushing environment in progress"),
    "run-wp-cli": ("environment:run-wp-cli-command",
                   "Running WP-CLI command in progress. Use the operation_id to check the status."),
    "create-site": ("sites:add", "Adding site in progress"),
    "create-plain-site": ("sites:add-plain", "Adding plain site in progress"),
    "clone-site": ("site:clone", "Cloning site in progress"),
    "add-domain": ("sites:add-domain", "Adding site domain in progress"),
    "delete-domain": ("sites:delete-domain", "Deleting site domain in progress"),
    # deployments are not operations but use the same timing / failure knobs
    "deploy-app": (None, None),
    "deploy-static-site": (None, None),
}
PREFIX_TO_ACTION = {v[0]: k for k, v in ACTIONS.items() if v[0]}

FAULT_KINDS = ("500", "502", "503", "429", "401", "hang", "reset", "slow_body",
               "malformed_json", "huge_json", "deep_json", "nul_json")

DEFAULT_CONFIG = {
    "op_seconds": 2.0,
    "op_seconds_action": {},
    "op_seconds_env": {},
    "op_404_seconds": 0.0,
    "op_fail": [],
    "op_id_style": "unique",      # or "env": <prefix>-<env id>, like the recorded fixtures
    "env_lock": True,
    # done at once: the answer carries no operation_id (the document makes
    # it optional for backups, updates and more) and the change is made
    "sync_ops": False,
    "manual_backup_limit": 5,
    "rate_company": 120,
    "rate_ip": 1000,
    "rate_create": 5,
    "rate_logs": 35,
    "rate_window": 60.0,
}


def key_hash(key):
    """What the log and the records show of an API key."""
    if not key:
        return "-"
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:8]


class RateWindow:
    """Rolling-window counters: key -> deque of admitted timestamps."""

    def __init__(self):
        self.hits = {}

    def info(self, key, limit, window, now):
        dq = self.hits.get(key)
        if dq is None:
            dq = self.hits[key] = deque()
        while dq and dq[0] <= now - window:
            dq.popleft()
        reset = (dq[0] + window - now) if dq else window
        return dq, reset

    def admit(self, key, limit, window, now):
        """Returns (ok, remaining, reset_seconds)."""
        dq, reset = self.info(key, limit, window, now)
        if len(dq) >= limit:
            return False, 0, max(reset, 0.0)
        dq.append(now)
        reset = dq[0] + window - now
        return True, limit - len(dq), reset



def _fail_rules(v):
    """op_fail as set through the config: one rule, a list of them, or null."""
    if v is None:
        rules = []
    elif isinstance(v, dict):
        rules = [v]
    elif isinstance(v, list):
        rules = v
    else:
        raise ValueError("op_fail must be an object, a list or null")
    norm = []
    for r in rules:
        if not isinstance(r, dict):
            raise ValueError("op_fail rules are objects")
        r = dict(r)
        r.setdefault("message", MSG_500)
        r.setdefault("count", -1)
        r.setdefault("http_status", 500)
        if "env" in r and "env_id" not in r:
            r["env_id"] = r.pop("env")
        if r.get("action") and r["action"] in PREFIX_TO_ACTION:
            r["action"] = PREFIX_TO_ACTION[r["action"]]
        norm.append(r)
    return norm


class SimCore(Endpoints):
    """The service: state, config, operations, rate limits, faults and the
    request record, under one lock (self.lock, reentrant)."""

    def __init__(self, seed=None, keys=None, config=None):
        self.lock = threading.RLock()
        self.in_flight = 0   # survives reset_all: handlers from before a reset still finish
        self.generation = 0  # bumped by reset_all; late finishers of older ones skip the stats
        self._seed = normalize_seed(seed if seed is not None else default_seed())
        self._extra_keys = list(keys or [])     # [(key, company or None)]
        self._base_config = copy.deepcopy(DEFAULT_CONFIG)
        self._base_config.update(config or {})
        self.reset_all()

    # ---- reset / config -------------------------------------------------
    def reset_all(self):
        with self.lock:
            self.generation += 1
            self.state = copy.deepcopy(self._seed)
            self.config = copy.deepcopy(self._base_config)
            self.keys = {}
            for comp in self.state["companies"]:
                for k in comp["keys"]:
                    self.keys[k["key"]] = (comp["id"], k["name"])
            for key, company in self._extra_keys:
                if company is None:
                    company = self.state["companies"][0]["id"] if self.state["companies"] else None
                elif not self._company(company):
                    # a key for a company the seed does not know: an empty company
                    self.state["companies"].append(normalize_seed(
                        {"companies": [{"id": company, "name": company}]})["companies"][0])
                self.keys[key] = (company, "cli-key")
            self.ops = {}             # op id -> op, oldest first
            self.running = {}         # the ops still running: tick() scans only these
            self.busy = {}           # env id -> op id
            self.deployments = {}
            self.events = []
            self.pushes = []
            self.wp_cli = []
            self.created_sites = []
            self.rates = RateWindow()
            self.faults = []
            self.fault_seq = 0
            self.requests = []
            self.req_seq = 0
            self.backup_seq = 200000000
            self.snapshots = {}       # backup id -> plugins and themes then
            self.restores = []
            self.breaking = {}        # (env id, kind, name) -> {mode, version}
            self.site_health = {}     # env id -> mode: the page as set by a test
            self.stuck = set()        # (env id, kind, name): updates change nothing
            self.endless = set()      # (env id, kind, name): a newer patch after each update
            self.page_hits = []
            self.stats = {"requests": 0, "by_status": {}, "rate_limited": 0,
                          "rate_limited_by_bucket": {}, "faults_fired": {},
                          "operations_created": 0, "operations_succeeded": 0,
                          "operations_failed": 0, "busy_rejections": 0,
                          "unauthorized": 0, "max_in_flight": 0}

    def set_config(self, patch):
        """Change some settings (the keys of POST /_sim/config); returns the
        whole config. ValueError (or TypeError) for a bad key or value."""
        with self.lock:
            for k, v in patch.items():
                if k == "op_fail":
                    self.config["op_fail"] = _fail_rules(v)
                elif k in ("op_seconds_action", "op_seconds_env"):
                    self._set_op_seconds(k, v)
                elif k in ("op_seconds", "op_404_seconds", "rate_window"):
                    self.config[k] = float(v)
                elif k in ("rate_company", "rate_ip", "rate_create", "rate_logs", "manual_backup_limit"):
                    self.config[k] = int(v)
                elif k in ("env_lock", "sync_ops"):
                    self.config[k] = bool(v)
                elif k == "op_id_style":
                    if v not in ("unique", "env"):
                        raise ValueError("op_id_style is unique or env")
                    self.config[k] = v
                elif k == "reset_rate_limits":
                    if v:
                        self.rates = RateWindow()
                elif k == "blocked_envs":
                    # {"env id": true/false}: set is_blocked on environments
                    for env_id, flag in (v or {}).items():
                        found = self._find_env(env_id)
                        if found:
                            found[2]["is_blocked"] = bool(flag)
                else:
                    raise ValueError("unknown config key: %s" % k)
            return copy.deepcopy(self.config)

    def _set_op_seconds(self, k, v):
        """Merge {action or id: seconds} into op_seconds_action or
        op_seconds_env: null removes an entry, null for the whole map all."""
        if v is None:
            self.config[k] = {}
        elif isinstance(v, dict):
            for kk, vv in v.items():
                if k == "op_seconds_action" and kk in PREFIX_TO_ACTION:
                    kk = PREFIX_TO_ACTION[kk]
                if vv is None:
                    self.config[k].pop(kk, None)
                else:
                    self.config[k][kk] = float(vv)
        else:
            raise ValueError("%s must be an object" % k)

    # ---- lookups -------------------------------------------------------
    def _company(self, cid):
        for c in self.state["companies"]:
            if c["id"] == cid:
                return c
        return None

    def _find_env(self, env_id):
        for c in self.state["companies"]:
            for s in c["sites"]:
                for e in s["environments"]:
                    if e["id"] == env_id:
                        return c, s, e
        return None

    def _env_for(self, company, env_id):
        found = self._find_env(env_id)
        if not found or found[0]["id"] != company:
            raise err404("Environment not found")
        return found

    def _site_for(self, company, site_id):
        c = self._company(company)
        for s in (c["sites"] if c else []):
            if s["id"] == site_id:
                return c, s
        raise err404("Site not found")

    def _find_backup(self, company, backup_id):
        c = self._company(company)
        for s in (c["sites"] if c else []):
            for e in s["environments"]:
                for b in e["backups"]:
                    if b["id"] == backup_id:
                        return c, s, e, b
        raise err404("Backup not found")

    # ---- views ---------------------------------------------------------
    PRIVATE_ENV = ("plugins", "themes", "backups")

    def env_view(self, e):
        return {k: copy.deepcopy(v) for k, v in e.items() if k not in self.PRIVATE_ENV}

    def site_view(self, s, with_envs):
        v = {"id": s["id"], "name": s["name"], "display_name": s["display_name"],
             "status": s["status"], "siteLabels": copy.deepcopy(s["siteLabels"])}
        if with_envs:
            v["environments"] = [self.env_view(e) for e in s["environments"]]
        return v

    # ---- operations ----------------------------------------------------
    def tick(self, now=None):
        now = time.monotonic() if now is None else now
        with self.lock:
            due = [op for op in self.running.values() if now >= op["_due"]]
            due.sort(key=lambda o: o["_due"])
            for op in due:
                del self.running[op["id"]]
                self._complete(op)

    def _complete(self, op):
        effect = op.pop("_effect", None)
        if op["_fail"] is not None:
            op["state"] = "failed"
            op["message"] = op["_fail"]["message"]
            op["http_status"] = int(op["_fail"].get("http_status", 500))
        else:
            try:
                data = effect(op) if effect else None
                op["state"] = "succeeded"
                op["message"] = "Successfully finished request."
                op["data"] = data
            except OpFailure as exc:
                op["state"] = "failed"
                op["message"] = str(exc)
                op["http_status"] = 500
        op["finished"] = time.time()
        for env_id in op["env_ids"]:
            if self.busy.get(env_id) == op["id"]:
                del self.busy[env_id]
        self.stats["operations_succeeded" if op["state"] == "succeeded" else "operations_failed"] += 1
        self.events.append({"time": op["finished"], "operation_id": op["id"], "action": op["action"],
                            "company": op["company"], "env_ids": list(op["env_ids"]),
                            "site_id": op["site_id"], "result": op["state"],
                            "message": op["message"], "params": copy.deepcopy(op["params"])})

    def _timing(self, action, targets):
        cfg = self.config
        secs = cfg["op_seconds"]
        if action in cfg["op_seconds_action"]:
            secs = cfg["op_seconds_action"][action]
        for t in targets:
            if t in cfg["op_seconds_env"]:
                secs = cfg["op_seconds_env"][t]
                break
        return float(secs)

    def _fail_rule(self, action, targets, company):
        for r in self.config["op_fail"]:
            if r.get("count", -1) == 0:
                continue
            if r.get("action") and r["action"] != action:
                continue
            if r.get("env_id") and r["env_id"] not in targets:
                continue
            if r.get("target") and r["target"] not in targets:
                continue
            if r.get("company") and r["company"] != company:
                continue
            if r.get("count", -1) > 0:
                r["count"] -= 1
            return dict(r)
        return None

    def _check_busy(self, env_ids):
        for env_id in env_ids:
            found = self._find_env(env_id)
            blocked = found and found[2].get("is_blocked")
            if blocked or (self.config["env_lock"] and env_id in self.busy):
                self.stats["busy_rejections"] += 1
                raise ApiError(400, MSG_BUSY, data_null=False)

    def start_op(self, action, company, env_ids, site_id, params, effect, http_status=202):
        self._check_busy(env_ids)
        if self.config.get("sync_ops") and \
                self._fail_rule(action, env_ids + ([site_id] if site_id else []),
                                company) is None:
            # done at once, no operation to follow (an effect that fails
            # is the request's own failure)
            _, message = ACTIONS[action]
            try:
                if effect:
                    effect(None)
            except OpFailure as exc:
                return 400, {"message": str(exc), "status": 400}
            return http_status, {"message": message, "status": 202}
        now = time.monotonic()
        prefix, message = ACTIONS[action]
        if self.config["op_id_style"] == "env" and env_ids:
            op_id = "%s-%s" % (prefix, env_ids[0])
        else:
            op_id = "%s-%s" % (prefix, uuid.uuid4())
        dur = self._timing(action, env_ids + ([site_id] if site_id else []))
        fail = self._fail_rule(action, env_ids + ([site_id] if site_id else []), company)
        op = {"id": op_id, "action": action, "company": company, "env_ids": list(env_ids),
              "site_id": site_id, "params": copy.deepcopy(params), "state": "running",
              "message": "Operation in progress", "data": None, "http_status": None,
              "created": time.time(), "finished": None, "duration": dur,
              "not_found_seconds": self.config["op_404_seconds"], "polls": 0,
              "will_fail": fail is not None,
              "_created_mono": now, "_due": now + dur,
              "_nf_until": now + self.config["op_404_seconds"],
              "_fail": fail, "_effect": effect}
        self.ops.pop(op_id, None)  # a reused id moves to the end
        self.ops[op_id] = op
        self.running[op_id] = op
        for env_id in env_ids:
            self.busy[env_id] = op_id
        self.stats["operations_created"] += 1
        return http_status, {"operation_id": op_id, "message": message, "status": 202}

    def op_public(self, op):
        return {k: copy.deepcopy(v) for k, v in op.items() if not k.startswith("_")}

    # ---- deployments (not operations: their status is asked of them) ----
    def _deployment(self, kind, company, target_id, branch, extra):
        now = time.monotonic()
        action = "deploy-app" if kind == "app" else "deploy-static-site"
        dur = self._timing(action, [target_id])
        fail = self._fail_rule(action, [target_id], company)
        dep_id = str(uuid.uuid4())
        ms = int(time.time() * 1000)
        d = {"id": dep_id, "kind": kind, "company": company, "target_id": target_id,
             "branch": branch, "created_at": ms, "duration": dur,
             "will_fail": fail is not None, "_mono": now, "_fail": fail}
        d.update(extra)
        self.deployments[dep_id] = d
        return d

    def _dep_status(self, d):
        el = time.monotonic() - d["_mono"]
        if el < min(0.1, d["duration"] / 4):
            return "waiting"
        if el < d["duration"]:
            return "inProgress"
        return "failed" if d["_fail"] else "success"

    # ---- rate limits ---------------------------------------------------
    def rate_headers(self, limit, remaining, reset):
        r = str(max(0, int(math.ceil(reset))))
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(max(0, remaining)),
                "RateLimit-Reset": r, "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, remaining)), "X-RateLimit-Reset": r}

    def _admit(self, bucket, key, limit_name, now, applied):
        limit = self.config[limit_name]
        if limit <= 0:
            return
        window = self.config["rate_window"]
        ok, remaining, reset = self.rates.admit((bucket, key), limit, window, now)
        if not ok:
            self.stats["rate_limited"] += 1
            by = self.stats["rate_limited_by_bucket"]
            by[bucket] = by.get(bucket, 0) + 1
            h = self.rate_headers(limit, 0, reset)
            h["Retry-After"] = str(max(1, int(math.ceil(reset))))
            raise ApiError(429, MSG_429, data_null=False, headers=h)
        applied.append((remaining, limit, reset))

    # ---- the API -------------------------------------------------------
    def handle_api(self, method, path, query, headers, body, body_error, client_ip, rec):
        """Returns (status, body_obj, headers).  Runs under the lock."""
        with self.lock:
            now = time.monotonic()
            self.tick(now)
            applied = []
            extra = {}
            try:
                self._admit("ip", client_ip, "rate_ip", now, applied)
                auth = headers.get("Authorization", "")
                m = re.match(r"^\s*Bearer\s+(\S+)\s*$", auth)
                key = m.group(1) if m else None
                rec["key_hash"] = key_hash(key)
                if not key or key not in self.keys or self.keys[key][0] is None:
                    self.stats["unauthorized"] += 1
                    raise ApiError(401, MSG_401)
                company, key_name = self.keys[key]
                rec["auth_ok"] = True
                rec["company"] = company
                self._admit("company", company, "rate_company", now, applied)
                if method == "POST" and path in ("/sites", "/sites/plain", "/sites/clone"):
                    self._admit("create", company, "rate_create", now, applied)
                if method == "GET" and re.match(r"^/sites/environments/[^/]+/logs$", path):
                    self._admit("logs", company, "rate_logs", now, applied)
                if body_error:
                    raise err400("Bad request format")
                status, obj = self._route(method, path, query, body, company, key_name)
            except ApiError as exc:
                status, obj = exc.status, exc.body()
                extra.update(exc.headers)
            if applied and "RateLimit-Limit" not in extra:
                remaining, limit, reset = min(applied, key=lambda a: (a[0], -a[2]))
                extra.update(self.rate_headers(limit, remaining, reset))
            return status, obj, extra

    def _route(self, method, path, query, body, company, key_name):
        for m, rx, name in self._COMPILED:
            mm = rx.match(path)
            if mm and m == method:
                args = {k: unquote(v) for k, v in mm.groupdict().items()}
                return getattr(self, "api_" + name)(company=company, key_name=key_name,
                                                    query=query, body=body, **args)
        raise ApiError(404, "Not found")

    # ---- faults --------------------------------------------------------
    def add_fault(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("fault must be an object")
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (kind, ", ".join(FAULT_KINDS)))
        match = spec.get("match") or {}
        if not isinstance(match, dict):
            raise ValueError("match must be an object")
        rx = match.get("path_regex")
        if rx is not None:
            re.compile(rx)
        count = int(spec.get("count", 1))
        with self.lock:
            self.fault_seq += 1
            f = {"id": self.fault_seq, "kind": kind,
                 "match": {"method": (match.get("method") or "").upper() or None, "path_regex": rx},
                 "count": count, "skip": int(spec.get("skip", 0)), "fired": 0,
                 "retry_after": spec.get("retry_after", 1 if kind == "429" else None),
                 "seconds": spec.get("seconds"), "status": spec.get("status"),
                 "bytes": spec.get("bytes"), "depth": spec.get("depth")}
            self.faults.append(f)
            return dict(f)

    def take_fault(self, method, raw_path, api_path):
        with self.lock:
            for f in self.faults:
                if f["count"] == 0:
                    continue
                m = f["match"]
                if m["method"] and m["method"] != method:
                    continue
                if m["path_regex"] and not (re.search(m["path_regex"], api_path)
                                            or re.search(m["path_regex"], raw_path)):
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                f["fired"] += 1
                ff = self.stats["faults_fired"]
                ff[f["kind"]] = ff.get(f["kind"], 0) + 1
                return dict(f)
        return None

    # ---- recording -----------------------------------------------------
    def record(self, entry):
        with self.lock:
            self.req_seq += 1
            entry["seq"] = self.req_seq
            entry["_gen"] = self.generation
            self.requests.append(entry)
            if len(self.requests) > 100000:
                del self.requests[:10000]
            self.stats["requests"] += 1
            self.in_flight += 1
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self.in_flight)

    def record_done(self, entry, status):
        with self.lock:
            entry["status"] = status
            entry["duration"] = round(time.time() - entry["time"], 6)
            self.in_flight -= 1
            if entry.get("_gen") != self.generation:
                return
            k = str(status)
            self.stats["by_status"][k] = self.stats["by_status"].get(k, 0) + 1

    # ---- dumps for the control API --------------------------------------
    def dump_state(self):
        with self.lock:
            self.tick()
            st = copy.deepcopy(self.state)
            for c in st["companies"]:
                c["keys"] = [{"name": k["name"], "key_hash": key_hash(k["key"])} for k in c["keys"]]
            return {"companies": st["companies"],
                    "busy": dict(self.busy),
                    "events": copy.deepcopy(self.events),
                    "pushes": copy.deepcopy(self.pushes),
                    "wp_cli": copy.deepcopy(self.wp_cli),
                    "created_sites": copy.deepcopy(self.created_sites),
                    "deployments": [{k: v for k, v in d.items() if not k.startswith("_")}
                                    | {"status": self._dep_status(d)}
                                    for d in self.deployments.values()]}

    def dump_operations(self):
        with self.lock:
            self.tick()
            return [self.op_public(op) for op in self.ops.values()]

    def finish_operations(self):
        with self.lock:
            now = time.monotonic()
            for op in self.running.values():
                op["_due"] = now
                op["_nf_until"] = min(op["_nf_until"], now)
            for d in self.deployments.values():
                d["duration"] = min(d["duration"], time.monotonic() - d["_mono"])
            self.tick(now)

    # ---- each environment's own web page (/_site/<domain>/...) ----------------
    SITE_MODES = ("ok", "500", "blank", "fatal")

    def _env_by_domain(self, domain):
        for c in self.state["companies"]:
            for s in c["sites"]:
                for e in s["environments"]:
                    names = [d.get("name") for d in e.get("domains") or []]
                    if e.get("primaryDomain"):
                        names.append(e["primaryDomain"].get("name"))
                    if domain in names:
                        return s, e
        return None, None

    def page_mode(self, env):
        """How the environment's page answers: "ok", or what a test broke
        (set directly, or a breaking plugin or theme that was updated
        past the version it had when it was marked)."""
        mode = self.site_health.get(env["id"], "ok")
        if mode != "ok":
            return mode
        for (env_id, kind, name), mark in self.breaking.items():
            if env_id != env["id"]:
                continue
            for it in env[kind]:
                if it["name"] == name and it["version"] != mark["version"]:
                    return mark["mode"]
        return "ok"

    def handle_site(self, method, path, query):
        """A page of an environment's site: (status, body bytes)."""
        rest = path[len("/_site/"):]
        domain, _, page = rest.partition("/")
        with self.lock:
            s, e = self._env_by_domain(domain)
            self.page_hits.append({"time": time.time(), "method": method,
                                   "domain": domain, "path": "/" + page,
                                   "query": dict(query),
                                   "env_id": e["id"] if e else None})
            if e is None:
                return 404, b"<html><body>no such site</body></html>"
            mode = self.page_mode(e)
            title = s["display_name"]
            plugins = ", ".join("%s %s" % (p["name"], p["version"]) for p in e["plugins"])
        if mode == "500":
            return 500, (b"<html><body><p>There has been a critical error on this "
                         b"website.</p></body></html>")
        if mode == "blank":
            return 200, b""
        if mode == "fatal":
            return 200, (b"<html><body><br />\n<b>Fatal error</b>:  Uncaught Error: "
                         b"Call to undefined function wc_get_product() in "
                         b"/www/wp-content/plugins/x/x.php:12</body></html>")
        return 200, ("<!DOCTYPE html><html><head><title>%s</title></head><body>"
                     "<h1>%s</h1><p>/%s</p><!-- %s --></body></html>"
                     % (title, title, page, plugins)).encode("utf-8")

    def _ctl_break(self, query, body, port):
        """{env_id, plugin | theme, mode}: updating that item breaks the
        page (mode 500, blank or fatal); mode "ok" forgets it."""
        if not isinstance(body, dict) or not isinstance(body.get("env_id"), str):
            raise ValueError("break needs env_id")
        kind = "plugins" if "plugin" in body else "themes"
        name = body.get("plugin", body.get("theme"))
        mode = body.get("mode", "500")
        if mode not in self.SITE_MODES or not isinstance(name, str):
            raise ValueError("break needs plugin or theme, and mode one of %s"
                             % ", ".join(self.SITE_MODES))
        with self.lock:
            found = self._find_env(body["env_id"])
            if not found:
                raise ValueError("no environment %s" % body["env_id"])
            e = found[2]
            item = [it for it in e[kind] if it["name"] == name]
            if not item:
                raise ValueError("no %s %s on %s" % (kind[:-1], name, e["id"]))
            key = (e["id"], kind, name)
            if mode == "ok":
                self.breaking.pop(key, None)
            else:
                self.breaking[key] = {"mode": mode, "version": item[0]["version"]}
        return {"ok": True}

    def _item_key(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("env_id"), str):
            raise ValueError("needs env_id and plugin or theme")
        kind = "plugins" if "plugin" in body else "themes"
        name = body.get("plugin", body.get("theme"))
        found = self._find_env(body["env_id"])
        if not found or not any(it["name"] == name for it in found[2][kind]):
            raise ValueError("no %s %r on %s" % (kind[:-1], name, body["env_id"]))
        return (body["env_id"], kind, name)

    def _ctl_stick(self, query, body, port):
        """{env_id, plugin | theme}: its updates succeed and change nothing
        (what the re-list after an update must catch)."""
        with self.lock:
            self.stuck.add(self._item_key(body))
        return {"ok": True}

    def _ctl_endless(self, query, body, port):
        """{env_id, plugin | theme}: each update of it is followed by a
        newer patch version (a plugin that has an update every night)."""
        with self.lock:
            self.endless.add(self._item_key(body))
        return {"ok": True}

    def _ctl_site(self, query, body, port):
        """{env_id, mode}: the page answers so from now on ("ok": as its
        plugins say)."""
        if not isinstance(body, dict) or body.get("mode") not in self.SITE_MODES:
            raise ValueError("site needs env_id and mode one of %s" % ", ".join(self.SITE_MODES))
        with self.lock:
            self.site_health[body["env_id"]] = body["mode"]
        return {"ok": True}

    def _ctl_pages(self, query, body, port):
        with self.lock:
            return copy.deepcopy(self.page_hits)

    def _ctl_restores(self, query, body, port):
        with self.lock:
            return copy.deepcopy(self.restores)

    # ---- the control API (/_sim/..., no auth, not recorded) ------------------
    def handle_control(self, method, path, query, body, body_error, port):
        """Answer a call of the control API: (HTTP status, body). port is
        the one the simulator listens on, for /_sim/health."""
        sub = path[len("/_sim"):] or "/"
        try:
            if body_error:
                raise ValueError("body is not JSON")
            call = self._CONTROL.get((method, sub))
            if call is None:
                return 404, {"status": 404, "message": "unknown control endpoint %s %s"
                             % (method, path)}
            return 200, call(self, query, body, port)
        except (ValueError, TypeError, re.error) as exc:
            return 400, {"status": 400, "message": str(exc)}

    def _ctl_health(self, query, body, port):
        return {"ok": True, "port": port}

    def _ctl_requests(self, query, body, port):
        with self.lock:
            reqs = list(self.requests)
            since = int(query.get("since", 0))
            rx = query.get("path_regex")
            meth = (query.get("method") or "").upper()
            return [{k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("_")}
                    for r in reqs if r["seq"] > since
                    and (not rx or re.search(rx, r["api_path"]) or re.search(rx, r["path"]))
                    and (not meth or r["method"] == meth)]

    def _ctl_reset_requests(self, query, body, port):
        with self.lock:
            self.requests.clear()
        return {"ok": True}

    def _ctl_add_fault(self, query, body, port):
        return self.add_fault(body or {})

    def _ctl_faults(self, query, body, port):
        with self.lock:
            return copy.deepcopy(self.faults)

    def _ctl_clear_faults(self, query, body, port):
        with self.lock:
            self.faults.clear()
        return {"ok": True}

    def _ctl_set_config(self, query, body, port):
        if not isinstance(body, dict):
            raise ValueError("config body must be an object")
        return self.set_config(body)

    def _ctl_config(self, query, body, port):
        with self.lock:
            return copy.deepcopy(self.config)

    def _ctl_state(self, query, body, port):
        return self.dump_state()

    def _ctl_operations(self, query, body, port):
        return self.dump_operations()

    def _ctl_finish_operations(self, query, body, port):
        self.finish_operations()
        return {"ok": True}

    def _ctl_stats(self, query, body, port):
        with self.lock:
            out = copy.deepcopy(self.stats)
            out["in_flight"] = self.in_flight
            return out

    def _ctl_reset(self, query, body, port):
        self.reset_all()
        return {"ok": True}

    _CONTROL = {
        ("GET", "/"): _ctl_health,
        ("GET", "/health"): _ctl_health,
        ("GET", "/requests"): _ctl_requests,
        ("POST", "/reset-requests"): _ctl_reset_requests,
        ("DELETE", "/requests"): _ctl_reset_requests,
        ("POST", "/fault"): _ctl_add_fault,
        ("GET", "/faults"): _ctl_faults,
        ("POST", "/clear-faults"): _ctl_clear_faults,
        ("DELETE", "/faults"): _ctl_clear_faults,
        ("POST", "/config"): _ctl_set_config,
        ("GET", "/config"): _ctl_config,
        ("GET", "/state"): _ctl_state,
        ("GET", "/operations"): _ctl_operations,
        ("POST", "/finish-operations"): _ctl_finish_operations,
        ("GET", "/stats"): _ctl_stats,
        ("POST", "/reset"): _ctl_reset,
        ("POST", "/break"): _ctl_break,
        ("POST", "/site"): _ctl_site,
        ("GET", "/pages"): _ctl_pages,
        ("GET", "/restores"): _ctl_restores,
        ("POST", "/stick"): _ctl_stick,
        ("POST", "/endless"): _ctl_endless,
    }
