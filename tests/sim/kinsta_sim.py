#!/usr/bin/python3
"""kinsta_sim: a stateful fake of the Kinsta REST API v2 for kinsta-cron tests.

Python 3.11 standard library only.  Run it as a program:

    /usr/bin/python3 tests/sim/kinsta_sim.py [--port 0] [--host 127.0.0.1]
        [--state SEED.json] [--key KEY[=COMPANY_UUID] ...] [--op-seconds N]
        [--op-404-seconds N] [--rate-company 120] [--rate-ip 1000]
        [--rate-create 5] [--rate-logs 35] [--rate-window 60] [--quiet]

It prints exactly one line ``KINSTA_SIM_PORT=<port>`` on stdout once it
listens, then serves until SIGTERM/SIGINT (exit status 0).

Or import it:

    from kinsta_sim import Simulator
    sim = Simulator(op_seconds=0.2).start()
    ... sim.port, sim.base_url ...
    sim.stop()

The API is served under /v2 and at the root.  The control API for tests
lives under /_sim/ (no auth).  See tests/sim/README.md.

Two halves: SimCore holds every piece of state and answers API calls
under one lock (tests may also call it directly from their own threads);
the HTTP transport below it is a small HTTP/1.1 server of its own on one
asyncio event loop in one background thread.  Each connection is a task
on a raw non-blocking socket: keep-alive, Content-Length and chunked
bodies, one write per answer, TCP_NODELAY.  A request's record keeps the
kernel's receive time of its first byte (SO_TIMESTAMPING) as ``time``, so
that the simulator's own queueing does not count as the client's
lateness, and the moment SimCore took it up as ``handled``.  Faults that
wait (hang, slow_body) are tasks asleep, never a blocked loop.  With
Simulator(ssl_context=...) it speaks HTTPS (through ssl.MemoryBIO, so
that reads still carry their timestamps).
"""

import argparse
import asyncio
import copy
import email.utils
import hashlib
import http
import json
import math
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
from collections import deque
from urllib.parse import parse_qs, unquote, urlsplit

# --------------------------------------------------------------------------
# Seed data
# --------------------------------------------------------------------------

ACME_COMPANY = "aaaaaaaa-0000-4000-8000-000000000001"
GLOBEX_COMPANY = "bbbbbbbb-0000-4000-8000-000000000002"
ACME_KEY = "test-key-acme"
GLOBEX_KEY = "test-key-globex"

BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z in ms
DAY_MS = 86400000

_UUID_NS = uuid.UUID("6f1c2b1e-5a4d-4c3b-9a2e-1d0c0b0a0908")


def _did(*parts):
    """A deterministic UUID string from some parts."""
    return str(uuid.uuid5(_UUID_NS, "/".join(str(p) for p in parts)))


def _plugin(name, title, status, version, update_version=None):
    return {
        "name": name,
        "title": title,
        "status": status,
        "version": version,
        "update": "available" if update_version else "none",
        "update_version": update_version,
        "update_status": None,
    }


def _env(site_name, env_id, name, php, *, edge=True, cdn=True, premium=False,
         domains=(), plugins=(), themes=(), backups=(), omit_edge_key=False):
    """An internal environment record (API fields + private plugins/themes/backups)."""
    doms = []
    for dname in domains:
        doms.append({"id": _did(env_id, "domain", dname), "name": dname,
                     "site_id": None, "is_active": True, "type": "live"})
    env = {
        "id": env_id,
        "name": name,
        "display_name": name.capitalize(),
        "is_blocked": False,
        "is_premium": premium,
    }
    if not omit_edge_key:
        env["id_edge_cache"] = ("e" + env_id[1:]) if edge else None
    env.update({
        "cdn_cache_id": ("c" + env_id[1:]) if cdn else None,
        "is_opt_out_from_automatic_php_update": False,
        "web_root": "/www/%s/%s" % (site_name, "public" if name == "live" else name),
        "image_optimization_type": "lossy" if cdn else None,
        "is_additional_sftp_accounts_enabled": False,
        "wordpress_version": "6.7.1",
        "domains": doms,
        "primaryDomain": copy.deepcopy(doms[-1]) if doms else None,
        "ssh_connection": {"ssh_port": str(12000 + int(env_id[1:3], 16)),
                           "ssh_ip": {"external_ip": "203.0.113.%d" % (10 + int(env_id[1], 16))}},
        "container_info": {"id": "f" + env_id[1:], "php_engine_version": "php" + php},
        "plugins": [copy.deepcopy(p) for p in plugins],
        "themes": [copy.deepcopy(t) for t in themes],
        "backups": [copy.deepcopy(b) for b in backups],
    })
    return env


def default_seed():
    """The built-in seed: two companies, seven sites, eleven environments."""
    std_plugins = [
        _plugin("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3", "5.3.1"),
        _plugin("wordpress-seo", "Yoast SEO", "active", "22.0"),
        _plugin("classic-editor", "Classic Editor", "inactive", "1.6.3", "1.6.4"),
        _plugin("hello-dolly", "Hello Dolly", "inactive", "1.7.2"),
    ]
    woo_plugins = std_plugins + [
        _plugin("woocommerce", "WooCommerce", "active", "8.5.1", "8.6.0"),
    ]
    std_themes = [
        _plugin("twentytwentyfour", "Twenty Twenty-Four", "active", "1.0", "1.1"),
        _plugin("twentytwentythree", "Twenty Twenty-Three", "inactive", "1.3"),
    ]
    woo_themes = [
        _plugin("storefront", "Storefront", "active", "4.5.4", "4.5.5"),
        _plugin("twentytwentythree", "Twenty Twenty-Three", "inactive", "1.3"),
    ]
    uptodate_plugins = [
        _plugin("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3.1"),
        _plugin("woocommerce", "WooCommerce", "active", "8.6.0"),
    ]
    uptodate_themes = [
        _plugin("storefront", "Storefront", "active", "4.5.5"),
    ]

    counter = [100000000]

    def backups(site, extra_manual=()):
        out = []
        for i in range(2):
            counter[0] += 1
            out.append({"id": counter[0], "name": "%s-%d-scheduled" % (site, counter[0]),
                        "note": "Daily Auto Backup", "type": "scheduled",
                        "created_at": BASE_MS - (i + 1) * DAY_MS})
        for j, note in enumerate(("before redesign",) + tuple(extra_manual)):
            counter[0] += 1
            out.append({"id": counter[0], "name": "%s-%d-manual" % (site, counter[0]),
                        "note": note, "type": "manual",
                        "created_at": BASE_MS - (10 + j) * DAY_MS})
        return out

    def label(company_n, n, name):
        return {"id": "1abe1000-0000-4000-8000-%012d" % (company_n * 100 + n), "name": name}

    lbl_client_a = label(1, 1, "client-a")
    lbl_woo_a = label(1, 2, "woocommerce")
    lbl_client_b = label(1, 3, "client-b")
    lbl_client_g = label(2, 1, "client-g")
    lbl_woo_g = label(2, 2, "woocommerce")

    def site(sid, name, display, labels, envs, company):
        for e in envs:
            for d in e["domains"]:
                d["site_id"] = sid
            if e["primaryDomain"]:
                e["primaryDomain"]["site_id"] = sid
        return {"id": sid, "name": name, "display_name": display, "status": "live",
                "company_id": company, "siteLabels": [dict(lb) for lb in labels],
                "environments": envs}

    acme_sites = [
        site("11111111-1111-4111-8111-111111111111", "alphasite", "Alpha Site", [lbl_client_a], [
            _env("alphasite", "a1111111-1111-4111-8111-111111111111", "live", "8.1", premium=True,
                 domains=["alphasite.kinsta.cloud", "example-alpha.com"],
                 plugins=std_plugins + [_plugin("jetpack", "Jetpack", "active", "13.0", "13.1")],
                 themes=std_themes,
                 backups=backups("alphasite", ["kinsta-cron:nightly-backup"])),
            _env("alphasite", "a1111111-1111-4111-8111-111111111112", "staging", "8.2",
                 cdn=False, omit_edge_key=True,
                 domains=["staging-alphasite.kinsta.cloud"],
                 plugins=std_plugins, themes=std_themes, backups=backups("alphasite-staging")),
        ], ACME_COMPANY),
        site("22222222-2222-4222-8222-222222222222", "bravosite", "Bravo Site",
             [lbl_client_a, lbl_woo_a], [
                 _env("bravosite", "a2222222-2222-4222-8222-222222222222", "live", "8.1", premium=True,
                      domains=["bravosite.kinsta.cloud", "example-bravo.com"],
                      plugins=woo_plugins, themes=woo_themes, backups=backups("bravosite")),
             ], ACME_COMPANY),
        site("33333333-3333-4333-8333-333333333333", "charliesite", "Charlie Site", [lbl_client_b], [
            _env("charliesite", "a3333333-3333-4333-8333-333333333331", "staging", "8.2",
                 omit_edge_key=True, domains=["staging-charliesite.kinsta.cloud"],
                 plugins=std_plugins, themes=std_themes, backups=backups("charliesite-staging")),
            _env("charliesite", "a3333333-3333-4333-8333-333333333333", "live", "8.2",
                 domains=["example-charlie.com"],
                 plugins=std_plugins, themes=std_themes, backups=backups("charliesite")),
        ], ACME_COMPANY),
        site("44444444-4444-4444-8444-444444444444", "deltasite", "Delta Site",
             [lbl_client_b, lbl_woo_a], [
                 _env("deltasite", "a4444444-4444-4444-8444-444444444444", "live", "8.0",
                      edge=False, cdn=False, domains=["deltasite.kinsta.cloud", "example-delta.com"],
                      plugins=uptodate_plugins, themes=uptodate_themes, backups=backups("deltasite")),
             ], ACME_COMPANY),
        site("55555555-5555-4555-8555-555555555555", "echosite", "Echo Site", [], [
            _env("echosite", "a5555555-5555-4555-8555-555555555555", "live", "8.3",
                 domains=["echosite.kinsta.cloud"],
                 plugins=std_plugins, themes=std_themes, backups=backups("echosite")),
        ], ACME_COMPANY),
    ]
    globex_sites = [
        site("66666666-6666-4666-8666-666666666666", "foxtrotsite", "Foxtrot Site", [lbl_client_g], [
            _env("foxtrotsite", "a6666666-6666-4666-8666-666666666666", "live", "8.2", premium=True,
                 domains=["foxtrot.kinsta.cloud", "example-foxtrot.com"],
                 plugins=std_plugins, themes=std_themes, backups=backups("foxtrotsite")),
            _env("foxtrotsite", "a6666666-6666-4666-8666-666666666661", "staging", "8.2",
                 omit_edge_key=True, cdn=False, domains=["staging-foxtrot.kinsta.cloud"],
                 plugins=std_plugins, themes=std_themes, backups=backups("foxtrotsite-staging")),
        ], GLOBEX_COMPANY),
        site("77777777-7777-4777-8777-777777777777", "golfsite", "Golf Site", [lbl_woo_g], [
            _env("golfsite", "a7777777-7777-4777-8777-777777777777", "live", "8.1",
                 domains=["golf.kinsta.cloud"],
                 plugins=woo_plugins, themes=woo_themes, backups=backups("golfsite")),
        ], GLOBEX_COMPANY),
    ]
    return {
        "companies": [
            {
                "id": ACME_COMPANY,
                "name": "Acme Agency",
                "keys": [{"key": ACME_KEY, "name": "kinsta-cron-acme"}],
                "users": [
                    {"user": {"id": "0ae00001-0000-4000-8000-000000000001", "email": "owner@acme.example",
                              "image": "https://www.gravatar.com/avatar/0", "full_name": "Ada Owner"}},
                    {"user": {"id": "0ae00001-0000-4000-8000-000000000002", "email": "dev@acme.example",
                              "image": "https://www.gravatar.com/avatar/1", "full_name": "Dev Eloper"}},
                ],
                "sites": acme_sites,
                "apps": [{"id": "0a990001-0000-4000-8000-000000000001", "name": "acme-api",
                          "display_name": "Acme API", "status": "deploymentSuccess",
                          "repo_url": "https://github.com/acme/api"}],
                "static_sites": [{"id": "05a70001-0000-4000-8000-000000000001", "name": "acme-docs",
                                  "display_name": "Acme Docs", "status": "deploymentSuccess",
                                  "repo_url": "https://github.com/acme/docs"}],
            },
            {
                "id": GLOBEX_COMPANY,
                "name": "Globex",
                "keys": [{"key": GLOBEX_KEY, "name": "kinsta-cron-globex"}],
                "users": [
                    {"user": {"id": "0ae00002-0000-4000-8000-000000000001", "email": "hank@globex.example",
                              "image": "https://www.gravatar.com/avatar/2", "full_name": "Hank Scorpio"}},
                ],
                "sites": globex_sites,
                "apps": [{"id": "0a990002-0000-4000-8000-000000000001", "name": "globex-api",
                          "display_name": "Globex API", "status": "deploymentSuccess",
                          "repo_url": "https://github.com/globex/api"}],
                "static_sites": [{"id": "05a70002-0000-4000-8000-000000000001", "name": "globex-www",
                                  "display_name": "Globex WWW", "status": "deploymentSuccess",
                                  "repo_url": "https://github.com/globex/www"}],
            },
        ]
    }


def _normalize_seed(seed):
    """Fill defaults into a (possibly hand-written) seed so the server can rely on fields."""
    seed = copy.deepcopy(seed)
    seed.setdefault("companies", [])
    for comp in seed["companies"]:
        comp.setdefault("name", comp["id"])
        keys = []
        for k in comp.get("keys", []):
            if isinstance(k, str):
                keys.append({"key": k, "name": "api-key"})
            else:
                keys.append({"key": k["key"], "name": k.get("name", "api-key")})
        comp["keys"] = keys
        comp.setdefault("users", [])
        comp.setdefault("apps", [])
        comp.setdefault("static_sites", [])
        comp.setdefault("sites", [])
        for s in comp["sites"]:
            s.setdefault("name", s["id"])
            s.setdefault("display_name", s["name"])
            s.setdefault("status", "live")
            s.setdefault("siteLabels", [])
            s["company_id"] = comp["id"]
            s.setdefault("environments", [])
            for e in s["environments"]:
                e.setdefault("name", "live")
                e.setdefault("display_name", e["name"].capitalize())
                e.setdefault("is_blocked", False)
                e.setdefault("is_premium", False)
                e.setdefault("cdn_cache_id", None)
                e.setdefault("domains", [])
                e.setdefault("primaryDomain", e["domains"][0] if e["domains"] else None)
                e.setdefault("container_info", {"id": _did(e["id"], "container"),
                                                "php_engine_version": "php8.2"})
                e.setdefault("plugins", [])
                e.setdefault("themes", [])
                e.setdefault("backups", [])
    return seed


# --------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------

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
    # deployments are not operations but use the same timing / failure knobs
    "deploy-app": (None, None),
    "deploy-static-site": (None, None),
}
PREFIX_TO_ACTION = {v[0]: k for k, v in ACTIONS.items() if v[0]}

PHP_VERSIONS = ("7.4", "8.0", "8.1", "8.2", "8.3", "8.4")
WP_CLI_RE = re.compile(r"^wp\s+[a-zA-Z0-9_\-./:=@'\s]+$")

MSG_401 = "No or invalid API key provided to the request"
MSG_404 = "Could not find data or the user does not have permissions to retrieve it"
MSG_400 = "One or more of the required parameters were not provided to the request"
MSG_BUSY = "The environment is blocked by another process. Please try again a bit later."
MSG_429 = "Too many requests, please try again later."
MSG_500 = "Error occurred while processing your request"

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
    "manual_backup_limit": 5,
    "rate_company": 120,
    "rate_ip": 1000,
    "rate_create": 5,
    "rate_logs": 35,
    "rate_window": 60.0,
}


class ApiError(Exception):
    def __init__(self, status, message, data_null=True, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.data_null = data_null
        self.headers = headers or {}

    def body(self):
        b = {"status": self.status, "message": self.message}
        if self.data_null:
            b["data"] = None
        return b


class OpFailure(Exception):
    pass


def key_hash(key):
    if not key:
        return "-"
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:8]


def _err404(what=None):
    return ApiError(404, what or MSG_404)


def _err400(msg=MSG_400):
    return ApiError(400, msg, data_null=False)


def _req_str(body, field):
    v = body.get(field) if isinstance(body, dict) else None
    if not isinstance(v, str) or not v:
        raise _err400('"%s" is required' % field)
    return v


def _opt_bool(body, field, default):
    v = body.get(field, default)
    if not isinstance(v, bool):
        raise _err400('"%s" must be a boolean' % field)
    return v


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


# --------------------------------------------------------------------------
# The simulated service (all state, one lock)
# --------------------------------------------------------------------------

class SimCore:
    def __init__(self, seed=None, keys=None, config=None):
        self.lock = threading.RLock()
        self.in_flight = 0   # survives reset_all: handlers from before a reset still finish
        self.generation = 0  # bumped by reset_all; late finishers of older ones skip the stats
        self._seed = _normalize_seed(seed if seed is not None else default_seed())
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
                    self.state["companies"].append(_normalize_seed(
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
            self.stats = {"requests": 0, "by_status": {}, "rate_limited": 0,
                          "rate_limited_by_bucket": {}, "faults_fired": {},
                          "operations_created": 0, "operations_succeeded": 0,
                          "operations_failed": 0, "busy_rejections": 0,
                          "unauthorized": 0, "max_in_flight": 0}

    def set_config(self, patch):
        with self.lock:
            for k, v in patch.items():
                if k == "op_fail":
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
                    self.config["op_fail"] = norm
                elif k in ("op_seconds_action", "op_seconds_env"):
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
                elif k in ("op_seconds", "op_404_seconds", "rate_window"):
                    self.config[k] = float(v)
                elif k in ("rate_company", "rate_ip", "rate_create", "rate_logs", "manual_backup_limit"):
                    self.config[k] = int(v)
                elif k == "env_lock":
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
            raise _err404("Environment not found")
        return found

    def _site_for(self, company, site_id):
        c = self._company(company)
        for s in (c["sites"] if c else []):
            if s["id"] == site_id:
                return c, s
        raise _err404("Site not found")

    def _find_backup(self, company, backup_id):
        c = self._company(company)
        for s in (c["sites"] if c else []):
            for e in s["environments"]:
                for b in e["backups"]:
                    if b["id"] == backup_id:
                        return c, s, e, b
        raise _err404("Backup not found")

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

    # ---- rate limits ---------------------------------------------------
    def _rate_headers(self, limit, remaining, reset):
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
            h = self._rate_headers(limit, 0, reset)
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
                    raise _err400("Bad request format")
                status, obj = self._route(method, path, query, body, company, key_name)
            except ApiError as exc:
                status, obj = exc.status, exc.body()
                extra.update(exc.headers)
            if applied and "RateLimit-Limit" not in extra:
                remaining, limit, reset = min(applied, key=lambda a: (a[0], -a[2]))
                extra.update(self._rate_headers(limit, remaining, reset))
            return status, obj, extra

    ROUTES = [
        ("GET", r"/validate", "validate"),
        ("GET", r"/sites", "list_sites"),
        ("POST", r"/sites", "create_site"),
        ("POST", r"/sites/tools/clear-cache", "clear_cache"),
        ("POST", r"/sites/tools/restart-php", "restart_php"),
        ("PUT", r"/sites/tools/modify-php-version", "modify_php"),
        ("POST", r"/sites/edge-caching/clear", "edge_clear"),
        ("POST", r"/sites/cdn/clear-cache", "cdn_clear"),
        ("GET", r"/sites/environments/(?P<env>[^/]+)/backups", "list_backups"),
        ("POST", r"/sites/environments/(?P<env>[^/]+)/manual-backups", "manual_backup"),
        ("POST", r"/sites/environments/(?P<env>[^/]+)/backups/restore", "restore_backup"),
        ("DELETE", r"/sites/environments/backups/(?P<backup>[^/]+)", "delete_backup"),
        ("GET", r"/sites/environments/(?P<env>[^/]+)/(?P<kind>plugins|themes)", "list_wp"),
        ("PUT", r"/sites/environments/(?P<env>[^/]+)/(?P<kind>plugins|themes)/bulk-update", "bulk_update_wp"),
        ("PUT", r"/sites/environments/(?P<env>[^/]+)/(?P<kind>plugins|themes)", "update_wp"),
        ("POST", r"/sites/environments/(?P<env>[^/]+)/run-wp-cli-command", "wp_cli"),
        ("GET", r"/sites/environments/(?P<env>[^/]+)/logs", "logs"),
        ("GET", r"/sites/(?P<site>[^/]+)/environments", "site_envs"),
        ("PUT", r"/sites/(?P<site>[^/]+)/environments", "push_env"),
        ("GET", r"/sites/(?P<site>[^/]+)", "get_site"),
        ("GET", r"/company/(?P<company_param>[^/]+)/users", "users"),
        ("GET", r"/operations/(?P<op>[^/]+)", "operation"),
        ("GET", r"/applications", "list_apps"),
        ("POST", r"/applications/deployments", "deploy_app"),
        ("GET", r"/applications/deployments/(?P<dep>[^/]+)", "get_app_deployment"),
        ("GET", r"/static-sites", "list_static"),
        ("POST", r"/static-sites/deployments", "deploy_static"),
        ("GET", r"/static-sites/deployments/(?P<dep>[^/]+)", "get_static_deployment"),
    ]
    _COMPILED = [(m, re.compile("^" + p + "$"), h) for m, p, h in ROUTES]

    def _route(self, method, path, query, body, company, key_name):
        for m, rx, name in self._COMPILED:
            mm = rx.match(path)
            if mm and m == method:
                args = {k: unquote(v) for k, v in mm.groupdict().items()}
                return getattr(self, "api_" + name)(company=company, key_name=key_name,
                                                    query=query, body=body, **args)
        raise ApiError(404, "Not found")

    # --- individual endpoints (lock held) ---
    def api_validate(self, company, key_name, **_):
        return 200, {"name": key_name, "expires_at": None, "company": company, "status": "active"}

    def api_list_sites(self, company, query, **_):
        want = query.get("company")
        if not want:
            raise _err400('"company" is required')
        if want != company or not self._company(company):
            raise _err404()
        inc = str(query.get("include_environments", "false")).lower() in ("true", "1", "yes")
        c = self._company(company)
        return 200, {"company": {"sites": [self.site_view(s, inc) for s in c["sites"]]}}

    def api_get_site(self, company, site, **_):
        _, s = self._site_for(company, site)
        envs = [{k: copy.deepcopy(e.get(k)) for k in
                 ("id", "name", "display_name", "is_premium", "is_blocked", "domains", "primaryDomain")}
                for e in s["environments"]]
        return 200, {"site": {"id": s["id"], "name": s["name"], "display_name": s["display_name"],
                              "company_id": s["company_id"], "status": s["status"],
                              "environments": envs}}

    def api_site_envs(self, company, site, **_):
        _, s = self._site_for(company, site)
        return 200, {"site": {"environments": [self.env_view(e) for e in s["environments"]]}}

    def api_users(self, company, **kw):
        # the route's {company} path parameter arrives as "company_param"
        want = kw["company_param"]
        c = self._company(company)
        if want != company or c is None:
            raise _err404()
        return 200, {"company": {"users": copy.deepcopy(c["users"])}}

    def api_create_site(self, company, body, **_):
        if not isinstance(body, dict):
            raise _err400()
        for f in ("company", "display_name", "region", "admin_email", "admin_password",
                  "admin_user", "site_title", "wp_language"):
            _req_str(body, f)
        mode = body.get("install_mode", "plain")
        if mode not in ("new", "plain", "clone"):
            raise _err400('"install_mode" must be one of new, plain, clone')
        for f in ("is_multisite", "is_subdomain_multisite", "woocommerce", "wordpressseo"):
            _opt_bool(body, f, False)
        if body["company"] != company:
            raise _err404()
        params = {k: v for k, v in body.items() if k != "admin_password"}

        def effect(op):
            c = self._company(company)
            sid = str(uuid.uuid4())
            slug = re.sub(r"[^a-z0-9]", "", body["display_name"].lower())[:20] or "site"
            name = slug
            n = 1
            while any(s["name"] == name for s in c["sites"]):
                n += 1
                name = "%s%d" % (slug, n)
            env_id = "a" + str(uuid.uuid4())[1:]
            plugins = [_plugin("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3.1")]
            if body.get("woocommerce"):
                plugins.append(_plugin("woocommerce", "WooCommerce", "active", "8.6.0"))
            if body.get("wordpressseo"):
                plugins.append(_plugin("wordpress-seo", "Yoast SEO", "active", "22.0"))
            env = _env(name, env_id, "live", "8.3", domains=["%s.kinsta.cloud" % name],
                       plugins=plugins,
                       themes=[_plugin("twentytwentyfive", "Twenty Twenty-Five", "active", "1.0")])
            for d in env["domains"]:
                d["site_id"] = sid
            env["primaryDomain"]["site_id"] = sid
            site = {"id": sid, "name": name, "display_name": body["display_name"], "status": "live",
                    "company_id": company, "siteLabels": [], "environments": [env]}
            c["sites"].append(site)
            self.created_sites.append({"site_id": sid, "env_id": env_id, "params": params})
            return {"idSite": sid}

        return self.start_op("create-site", company, [], None, params, effect)

    def _env_body(self, company, body):
        if not isinstance(body, dict):
            raise _err400()
        env_id = _req_str(body, "environment_id")
        return self._env_for(company, env_id)

    def api_clear_cache(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        return self.start_op("clear-cache", company, [e["id"]], s["id"],
                             {"environment_id": e["id"]}, None)

    def api_restart_php(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        return self.start_op("restart-php", company, [e["id"]], s["id"],
                             {"environment_id": e["id"]}, None)

    def api_modify_php(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        ver = _req_str(body, "php_version")
        if ver not in PHP_VERSIONS:
            raise _err400("Invalid PHP version: %s" % ver)
        opt = body.get("is_opt_out_from_automatic_php_update")
        if opt is not None and not isinstance(opt, bool):
            raise _err400('"is_opt_out_from_automatic_php_update" must be a boolean')

        def effect(op):
            e["container_info"]["php_engine_version"] = "php" + ver
            if opt is not None:
                e["is_opt_out_from_automatic_php_update"] = opt

        return self.start_op("modify-php-version", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "php_version": ver,
                              "is_opt_out_from_automatic_php_update": opt}, effect)

    def api_edge_clear(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        sub = _opt_bool(body, "clear_subdirectories", False)
        url = body.get("url")
        if url is not None and not isinstance(url, str):
            raise _err400('"url" must be a string')
        if not e.get("id_edge_cache"):
            raise _err400("Edge caching is not enabled for this environment")
        return self.start_op("clear-edge-cache", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "clear_subdirectories": sub, "url": url}, None)

    def api_cdn_clear(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        cdn = _req_str(body, "cdn_cache_id")
        if not e.get("cdn_cache_id"):
            raise _err400("CDN is not enabled for this environment")
        if cdn != e["cdn_cache_id"]:
            raise _err400("Invalid cdn_cache_id for this environment")
        return self.start_op("clear-cdn-cache", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "cdn_cache_id": cdn}, None)

    def api_list_backups(self, company, env, **_):
        c, s, e = self._env_for(company, env)
        return 200, {"environment": {"display_name": e["display_name"],
                                     "backups": copy.deepcopy(e["backups"])}}

    def api_manual_backup(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _err400()
        tag = body.get("tag", "")
        if not isinstance(tag, str):
            raise _err400('"tag" must be a string')

        def effect(op):
            limit = self.config["manual_backup_limit"]
            manual = [b for b in e["backups"] if b["type"] == "manual"]
            if limit > 0 and len(manual) >= limit:
                raise OpFailure("You have reached the maximum number of manual backups (%d) "
                                "for this environment. Please delete one and try again." % limit)
            self.backup_seq += 1
            bid = self.backup_seq
            b = {"id": bid, "name": "%s-%d-manual" % (s["name"], bid), "note": tag or None,
                 "type": "manual", "created_at": int(time.time() * 1000)}
            e["backups"].append(b)
            return None

        return self.start_op("manual-backup", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "tag": tag}, effect)

    def api_delete_backup(self, company, backup, **_):
        try:
            bid = int(backup)
        except ValueError:
            raise _err400("backup_id must be a number")
        c, s, e, b = self._find_backup(company, bid)

        def effect(op):
            e["backups"][:] = [x for x in e["backups"] if x["id"] != bid]

        return self.start_op("delete-backup", company, [e["id"]], s["id"],
                             {"backup_id": bid, "environment_id": e["id"]}, effect)

    def api_restore_backup(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise _err400()
        bid = body.get("backup_id")
        if not isinstance(bid, int) or isinstance(bid, bool):
            raise _err400('"backup_id" must be a number')
        user = _req_str(body, "notified_user_id")
        if user not in [u["user"]["id"] for u in c["users"]]:
            raise _err400("notified_user_id is not a user of this company")
        _, _, src_env, b = self._find_backup(company, bid)
        return self.start_op("restore-backup", company, [e["id"]], s["id"],
                             {"backup_id": bid, "notified_user_id": user,
                              "target_env_id": e["id"], "source_env_id": src_env["id"]}, None)

    def api_list_wp(self, company, env, kind, **_):
        c, s, e = self._env_for(company, env)
        key = "wp_plugins" if kind == "plugins" else "wp_themes"
        return 200, {"environment": {"id": e["id"], "container_info": {
            "id": e["container_info"].get("id"), key: {"data": copy.deepcopy(e[kind])}}}}

    @staticmethod
    def _apply_update(item, version=None):
        item["version"] = version or item.get("update_version") or item["version"]
        item["update"] = "none"
        item["update_version"] = None
        item["update_status"] = "updated"

    def api_update_wp(self, company, env, kind, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise _err400()
        name = _req_str(body, "name")
        ver = _req_str(body, "update_version")
        singular = "plugin" if kind == "plugins" else "theme"
        if not any(p["name"] == name for p in e[kind]):
            raise _err404("%s not found: %s" % (singular.capitalize(), name))

        def effect(op):
            for p in e[kind]:
                if p["name"] == name:
                    self._apply_update(p, ver)

        action = "update-plugin" if kind == "plugins" else "update-theme"
        return self.start_op(action, company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "name": name, "update_version": ver}, effect)

    def api_bulk_update_wp(self, company, env, kind, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise _err400()
        items = body.get(kind)
        if not isinstance(items, list) or not items:
            raise _err400('"%s" is required' % kind)
        names = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("name"), str) or not it["name"]:
                raise _err400('each of "%s" needs a "name"' % kind)
            names.append(it["name"])
        known = {p["name"] for p in e[kind]}
        for n in names:
            if n not in known:
                raise _err404("%s not found: %s" % ("Plugin" if kind == "plugins" else "Theme", n))

        def effect(op):
            for p in e[kind]:
                if p["name"] in names and p.get("update") == "available":
                    self._apply_update(p)

        action = "bulk-update-plugins" if kind == "plugins" else "bulk-update-themes"
        return self.start_op(action, company, [e["id"]], s["id"],
                             {"environment_id": e["id"], kind: names}, effect, http_status=200)

    def api_wp_cli(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise _err400()
        cmd = _req_str(body, "wp_command")
        if len(cmd) > 5000 or not WP_CLI_RE.match(cmd):
            raise _err400('"wp_command" must match pattern ^wp\\s+[a-zA-Z0-9_\\-./:=@\'\\s]+$')

        def effect(op):
            self.wp_cli.append({"time": time.time(), "env_id": e["id"], "wp_command": cmd,
                                "operation_id": op["id"]})

        return self.start_op("run-wp-cli", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "wp_command": cmd}, effect)

    def api_logs(self, company, env, query, **_):
        c, s, e = self._env_for(company, env)
        fname = query.get("file_name", "error")
        if fname not in ("error", "access", "kinsta-cache-perf"):
            raise _err400('"file_name" must be one of error, access, kinsta-cache-perf')
        try:
            lines = int(query.get("lines", "1000"))
        except ValueError:
            raise _err400('"lines" must be a number')
        if lines < 0 or lines > 20000:
            raise _err400('"lines" must be between 0 and 20000')
        sample = ["2026/01/01 00:00:%02d [%s] %s simulated log line %d" % (i % 60, fname, s["name"], i)
                  for i in range(min(lines, 20))]
        return 200, {"environment": {"container_info": {"logs": "\n".join(sample)}}}

    def api_push_env(self, company, site, body, **_):
        c, s = self._site_for(company, site)
        if not isinstance(body, dict):
            raise _err400()
        src = _req_str(body, "source_env_id")
        dst = _req_str(body, "target_env_id")
        env_ids = [e["id"] for e in s["environments"]]
        if src not in env_ids or dst not in env_ids:
            raise _err404("Environment not found")
        if src == dst:
            raise _err400("source_env_id and target_env_id must differ")
        push_db = _opt_bool(body, "push_db", True)
        push_files = _opt_bool(body, "push_files", True)
        sr = _opt_bool(body, "run_search_and_replace", True)
        opt = body.get("push_files_option", "ALL_FILES")
        if opt not in ("ALL_FILES", "SPECIFIC_FILES"):
            raise _err400('"push_files_option" must be ALL_FILES or SPECIFIC_FILES')
        file_list = body.get("file_list", [])
        if not isinstance(file_list, list) or not all(isinstance(x, str) for x in file_list):
            raise _err400('"file_list" must be a list of strings')
        params = {"site_id": s["id"], "source_env_id": src, "target_env_id": dst, "push_db": push_db,
                  "push_files": push_files, "run_search_and_replace": sr,
                  "push_files_option": opt, "file_list": file_list}

        def effect(op):
            se = next(e for e in s["environments"] if e["id"] == src)
            te = next(e for e in s["environments"] if e["id"] == dst)
            if push_files and opt == "ALL_FILES":
                te["plugins"] = copy.deepcopy(se["plugins"])
                te["themes"] = copy.deepcopy(se["themes"])
            rec = dict(params)
            rec["time"] = time.time()
            rec["operation_id"] = op["id"]
            self.pushes.append(rec)

        return self.start_op("push-environment", company, [src, dst], s["id"], params, effect)

    def api_operation(self, company, op, **_):
        o = self.ops.get(op)
        if o is None or o["company"] != company:
            raise _err404()
        now = time.monotonic()
        o["polls"] += 1
        if now < o["_nf_until"]:
            raise _err404()
        if o["state"] == "running":
            return 202, {"status": 202, "message": "Operation in progress"}
        if o["state"] == "succeeded":
            b = {"status": 200, "message": o["message"]}
            if o.get("data") is not None:
                b["data"] = copy.deepcopy(o["data"])
            return 200, b
        hs = o.get("http_status") or 500
        return hs, {"status": 500, "message": o["message"]}

    # --- deprecated deployments ---
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

    def api_list_apps(self, company, query, **_):
        if query.get("company") != company:
            raise _err404()
        c = self._company(company)
        return 200, {"company": {"apps": {"items": [
            {k: a[k] for k in ("id", "name", "display_name", "status")} for a in c["apps"]]}}}

    def api_list_static(self, company, query, **_):
        if query.get("company") != company:
            raise _err404()
        c = self._company(company)
        return 200, {"company": {"static_sites": {"items": [
            {k: a[k] for k in ("id", "name", "display_name", "status")} for a in c["static_sites"]]}}}

    def api_deploy_app(self, company, body, **_):
        if not isinstance(body, dict):
            raise _err400()
        app_id = _req_str(body, "app_id")
        c = self._company(company)
        app = next((a for a in c["apps"] if a["id"] == app_id), None)
        if app is None:
            raise _err404("Application not found")
        branch = body.get("branch", "main")
        if not isinstance(branch, str):
            raise _err400('"branch" must be a string')
        d = self._deployment("app", company, app_id, branch,
                             {"repo_url": app.get("repo_url", "https://github.com/example/app"),
                              "docker_image": body.get("docker_image"),
                              "is_restart": bool(body.get("is_restart", False))})
        return 200, {"deployment": {"id": d["id"]}}

    def api_get_app_deployment(self, company, dep, **_):
        d = self.deployments.get(dep)
        if d is None or d["kind"] != "app" or d["company"] != company:
            raise _err404("Deployment not found")
        return 200, {"deployment": {
            "id": d["id"], "app_id": d["target_id"], "repo_url": d["repo_url"], "branch": d["branch"],
            "commit_sha": hashlib.sha1(d["id"].encode()).hexdigest(), "author_login": "sim-bot",
            "author_img": "https://example.com/sim-bot.png", "commit_message": "simulated deployment",
            "status": self._dep_status(d), "created_at": d["created_at"]}}

    def api_deploy_static(self, company, body, **_):
        if not isinstance(body, dict):
            raise _err400()
        sid = _req_str(body, "static_site_id")
        c = self._company(company)
        st = next((a for a in c["static_sites"] if a["id"] == sid), None)
        if st is None:
            raise _err404("Static site not found")
        branch = body.get("branch", "main")
        if not isinstance(branch, str):
            raise _err400('"branch" must be a string')
        d = self._deployment("static", company, sid, branch,
                             {"repo_url": st.get("repo_url", "https://github.com/example/static")})
        return 200, {"deployment": {"id": d["id"], "status": self._dep_status(d)}}

    def api_get_static_deployment(self, company, dep, **_):
        d = self.deployments.get(dep)
        if d is None or d["kind"] != "static" or d["company"] != company:
            raise _err404("Deployment not found")
        st = self._dep_status(d)
        now_ms = int(time.time() * 1000)
        started = d["created_at"] + 100 if st != "waiting" else None
        finished = (d["created_at"] + int(d["duration"] * 1000)) if st in ("success", "failed") else None
        return 200, {"deployment": {
            "id": d["id"], "static_site_id": d["target_id"], "status": st, "repo_url": d["repo_url"],
            "branch": d["branch"], "author_login": "sim-bot", "author_img": None,
            "commit_sha": hashlib.sha1(d["id"].encode()).hexdigest(),
            "commit_message": "simulated deployment", "cloud_build_id": None,
            "created_at": d["created_at"], "updated_at": now_ms,
            "started_at": started, "finished_at": finished}}

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


# --------------------------------------------------------------------------
# HTTP transport
# --------------------------------------------------------------------------
#
# One asyncio event loop, in one background thread, serves every connection
# with a small HTTP/1.1 server of its own.  Connections are raw non-blocking
# sockets read with recvmsg() rather than asyncio streams or protocols,
# because only recvmsg() hands over the kernel's receive timestamp
# (SO_TIMESTAMPING): rec["time"] is when a request's bytes reached the
# socket, not when this process got round to it.  SimCore runs on the loop
# thread, synchronously and under its lock; only waits (the network, the
# hang and slow_body faults) let other connections in.

MAX_BODY = 1 << 20       # request body limit; 413 above it
MAX_HEAD = 64 * 1024     # request line + header fields limit; 431 above it
IDLE_TIMEOUT = 300.0     # a keep-alive connection may idle, or a read or write stall, this long
IDLE_SWEEP = 10.0        # how often connections are checked against IDLE_TIMEOUT
RECV_SIZE = 65536
MAX_QUEUED = 256 * 1024  # bytes read ahead of the parser before reading pauses
SERVER_NAME = "kinsta-sim/1.0"
JSON_TYPE = "application/json; charset=utf-8"

# Linux's SO_TIMESTAMPING: with these flags every recvmsg() on a TCP socket
# carries an SCM_TIMESTAMPING cmsg whose first timespec is the software
# receive time of the data it returns.
_SO_TIMESTAMPING = 37
_SOF_TIMESTAMPING = 0x8 | 0x10    # SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE
_TIMESPEC = struct.Struct("qq")
_CMSG_ROOM = 1024

_METHODS = frozenset(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"))
# RFC 9112: method SP request-target SP HTTP-version, then field lines
# "name: value"; no line folding, no whitespace before the colon.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE_RE = re.compile(r"(%s) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])\r?\n" % _TOKEN)
_FIELD_RE = re.compile(r"(%s):[ \t]*([^\r\n\0]*)\r?\n" % _TOKEN)   # greedy: no backtracking
_FIELDS_RE = re.compile(r"(?:%s:[^\r\n\0]*\r?\n)*" % _TOKEN)
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]+\Z")
_BEARER_RE = re.compile(r"^\s*Bearer\s+(\S+)\s*$")
_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_date = (0, "")   # (second, Date header value): formatting it is the dearest part of a head


def _http_date():
    global _date
    now = int(time.time())
    if now != _date[0]:
        _date = (now, email.utils.formatdate(now, usegmt=True))
    return _date[1]


def _enable_timestamps(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _SOF_TIMESTAMPING)
    except OSError:
        pass   # not Linux: requests are stamped when they are read instead


def _rx_time(ancdata):
    """The kernel receive time in recvmsg()'s ancillary data, or None."""
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(cdata) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(cdata)
            if sec or nsec:
                return sec + nsec * 1e-9
    return None


class _Closed(Exception):
    """The connection is gone, timed out, or must not be used any more."""


class _Headers:
    """A request's header fields, for SimCore and the request record.

    Like the email.message.Message that http.server used to hand over,
    get() ignores case and gives the first field of a name, and items()
    gives every field as sent, in order."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields):
        self._fields = fields
        first = {}
        for name, value in fields:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name, default=None):
        return self._first.get(name.lower(), default)

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self._fields if k.lower() == name]

    def items(self):
        return list(self._fields)

    def __contains__(self, name):
        return name.lower() in self._first

    def __getitem__(self, name):
        return self._first.get(name.lower())


class _Conn:
    """One client connection, served by one task: its requests in order."""

    def __init__(self, sim, sock, addr):
        self.sim = sim
        self.core = sim.core
        self.loop = sim._loop
        self.sock = sock
        self.fd = sock.fileno()
        self.client_address = addr
        self.closed = False
        # _on_readable reads ahead into _incoming; the task takes from there
        self._incoming = deque()    # (bytes as received, kernel time)
        self._queued = 0            # bytes in _incoming
        self._reading = False       # the socket is registered with the loop for reading
        self._eof = False
        self._waiter = None         # the future the task waits on for the socket
        self.waiting_since = None   # loop time that wait began (for the idle sweep)
        self.buf = bytearray()      # received request bytes not parsed yet
        self.base = 0               # stream offset of buf[0]
        self.arrivals = deque()     # (stream offset just past one recv's bytes, its kernel time)
        self.tls = None
        if sim.ssl_context is not None:
            self._tls_in, self._tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.tls = sim.ssl_context.wrap_bio(self._tls_in, self._tls_out, server_side=True)
        # the request being served
        self.command = self.path = self.headers = self._rec = None
        self.version = (1, 1)
        self.arrived = None
        self.close_connection = False

    # ---- the connection's life --------------------------------------------
    async def serve(self):
        try:
            self._start_reading()
            if self.tls is not None:
                await self._tls_handshake()
            while not self.close_connection:
                if not await self._read_head():
                    break
                await self._dispatch()
        except _Closed:
            pass
        except Exception as exc:   # a bug; the other connections carry on
            self.sim._log_error(self.client_address, exc)
        finally:
            self._close()
            self.sim._conns.pop(self, None)

    def _close(self):
        if not self.closed:
            self._stop_reading()
            self.closed = True
            self.sock.close()

    def _log(self, method, path, status, khash, note=""):
        if self.sim.quiet:
            return
        line = "%s %s %s key=%s%s\n" % (method, path, status, khash, (" " + note) if note else "")
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except Exception:
            pass

    # ---- socket I/O ---------------------------------------------------------
    # The socket stays registered for reading while the connection lives, so
    # that waiting for the next request costs no epoll_ctl() calls; reading
    # pauses only when the task falls MAX_QUEUED behind.

    def _start_reading(self):
        if not self._reading and not self._eof and not self.closed:
            self._reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def _stop_reading(self):
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self.fd)

    def _on_readable(self):
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(RECV_SIZE, _CMSG_ROOM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""   # reset by the peer: the stream ends here all the same
        if data:
            self._incoming.append((data, _rx_time(anc)))
            self._queued += len(data)
            if self._queued > MAX_QUEUED:
                self._stop_reading()
        else:
            self._eof = True
            self._stop_reading()
        self._wake()

    def _wake(self, exc=None):
        w = self._waiter
        if w is not None and not w.done():
            if exc is None:
                w.set_result(None)
            else:
                w.set_exception(exc)

    async def _wait(self):
        """Wait for _wake(): data, the end of the stream, a writable socket,
        or the idle sweep's _Closed."""
        self._waiter = self.loop.create_future()
        self.waiting_since = self.loop.time()
        try:
            await self._waiter
        finally:
            self._waiter = self.waiting_since = None

    async def _recv(self):
        """The next bytes received (b"" at the end of the stream) and their
        kernel arrival time, or None."""
        while not self._incoming:
            if self._eof:
                return b"", None
            await self._wait()
        data, ts = self._incoming.popleft()
        self._queued -= len(data)
        if self._queued <= MAX_QUEUED:
            self._start_reading()
        return data, ts

    async def _send_raw(self, data):
        # The first send() nearly always takes everything: then nothing waits.
        view = memoryview(data)
        while True:
            try:
                n = self.sock.send(view)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as exc:
                raise _Closed(exc) from None
            if n == len(view):
                return
            view = view[n:]
            self.loop.add_writer(self.fd, self._wake)
            try:
                await self._wait()
            finally:
                self.loop.remove_writer(self.fd)

    async def _write(self, data):
        if self.tls is not None:
            try:
                self.tls.write(data)
            except ssl.SSLError as exc:
                raise _Closed(exc) from None
            data = self._tls_out.read()
        await self._send_raw(data)

    async def _fill(self):
        """Read more of the request stream into buf.  False at its end."""
        while True:
            data, ts = await self._recv()
            if self.tls is not None:
                if data:
                    self._tls_in.write(data)
                else:
                    self._tls_in.write_eof()
                got, eof = self._tls_read(ts)
                if self._tls_out.pending:
                    await self._send_raw(self._tls_out.read())
                if got:
                    return True
                if eof:
                    return False
                continue
            if not data:
                return False
            self._append(data, ts)
            return True

    def _append(self, data, ts):
        self.buf += data
        self.arrivals.append((self.base + len(self.buf), ts))

    def _consume(self, n):
        del self.buf[:n]
        self.base += n

    def _arrival(self):
        """The kernel arrival time of buf[0], or None."""
        arr = self.arrivals
        while arr and arr[0][0] <= self.base:
            arr.popleft()
        return arr[0][1] if arr else None

    # ---- TLS (a MemoryBIO pair, so that reads still go through recvmsg) ---------
    async def _tls_handshake(self):
        ts = None
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:   # e.g. the client refused our certificate
                if self._tls_out.pending:
                    try:
                        await self._send_raw(self._tls_out.read())
                    except _Closed:
                        pass
                raise _Closed(exc) from None
            if self._tls_out.pending:
                await self._send_raw(self._tls_out.read())
            data, ts = await self._recv()
            if not data:
                raise _Closed("end of stream during the TLS handshake")
            self._tls_in.write(data)
        if self._tls_out.pending:
            await self._send_raw(self._tls_out.read())
        # the client may have sent its first request along with its Finished
        self._tls_read(ts)

    def _tls_read(self, ts):
        """Decrypt what has come in into buf: (got some, end of stream)."""
        got = False
        try:
            while True:
                data = self.tls.read(RECV_SIZE)
                if not data:
                    return got, True
                self._append(data, ts)
                got = True
        except ssl.SSLWantReadError:
            return got, False
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return got, True
        except ssl.SSLError as exc:
            raise _Closed(exc) from None

    # ---- request parsing ---------------------------------------------------
    async def _read_head(self):
        """Read and parse the next request's head.  False when the client is done."""
        buf = self.buf
        scan = 0
        while True:
            # empty lines before a request line are allowed (RFC 9112 2.2)
            i = 0
            while i < len(buf) and buf[i] in b"\r\n":
                i += 1
            if i:
                self._consume(i)
            if buf:
                break
            if not await self._fill():
                return False
        arrived = self._arrival()
        self.arrived = arrived if arrived is not None else time.time()
        self.command = None
        while True:
            m = _HEAD_END_RE.search(buf, scan)
            if m:
                break
            if len(buf) > MAX_HEAD:
                await self._refuse(431, "request head larger than %d bytes" % MAX_HEAD)
                return False
            scan = max(0, len(buf) - 3)
            if not await self._fill():
                return False   # a partial head: nobody to answer
        # up to and including the last field line's end, not the empty line after it
        head = bytes(buf[:m.start() + (2 if buf[m.start()] == 13 else 1)])
        self._consume(m.end())
        if len(head) > MAX_HEAD:
            await self._refuse(431, "request head larger than %d bytes" % MAX_HEAD)
            return False
        err = self._parse_head(head.decode("latin-1"))
        if err:
            await self._refuse(*err)
            return False
        return True

    def _parse_head(self, text):
        """Fills command, path, version, headers and close_connection; or
        returns (status, message) to refuse the request with.  text ends
        with the last field line's end."""
        m = _REQUEST_LINE_RE.match(text)
        if not m:
            return 400, "bad request line"
        method, target = m.group(1), m.group(2)
        self.version = (int(m.group(3)), int(m.group(4)))
        if self.version[0] != 1:
            return 505, "HTTP version not supported"
        fields = text[m.end():]
        if not _FIELDS_RE.fullmatch(fields):
            return 400, "bad header line"
        self.headers = _Headers([(k, v.rstrip(" \t")) for k, v in _FIELD_RE.findall(fields)])
        conn = self.headers.get("Connection")
        tokens = {t.strip().lower() for t in conn.split(",")} if conn else ()
        if self.version >= (1, 1):
            self.close_connection = "close" in tokens
        else:
            self.close_connection = "keep-alive" not in tokens
        if method not in _METHODS:
            return 501, "unsupported method %s" % method
        if target.startswith("//"):   # not a network-path reference: http.server did the same
            target = "/" + target.lstrip("/")
        self.command, self.path = method, target
        return None

    async def _refuse(self, status, message):
        """Answer a request that cannot be served, and close the connection."""
        self.close_connection = True
        body = json.dumps({"status": status, "message": message}).encode()
        try:
            await self._write(self._head(status, len(body), None, JSON_TYPE) + body)
        except _Closed:
            pass

    async def _line(self, limit):
        """The next line of the body (CRLF or LF), without its end; None at
        the end of the stream, False if it is longer than limit."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i]).removesuffix(b"\r")
                self._consume(i + 1)
                return line if len(line) <= limit else False
            if len(self.buf) > limit + 1:
                return False
            if not await self._fill():
                return None

    async def _take(self, n):
        """The next n bytes of the stream, or None if it ends before."""
        while len(self.buf) < n:
            if not await self._fill():
                return None
        data = bytes(self.buf[:n])
        self._consume(n)
        return data

    async def _continue(self):
        if self.version >= (1, 1) and self.headers.get("Expect", "").lower() == "100-continue":
            await self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _read_body(self):
        """Returns (bytes or None, error string or None)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            await self._continue()
            out = bytearray()
            while True:
                line = await self._line(1024)
                if line is None:
                    return None, "truncated chunked body"
                if line is False:
                    return None, "bad chunk size"
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _CHUNK_SIZE_RE.match(size):
                    return None, "bad chunk size"
                size = int(size, 16)
                if size == 0:
                    while True:   # trailer fields, ignored
                        t = await self._line(8192)
                        if t is False:
                            return None, "bad trailer"
                        if not t:
                            return bytes(out), None
                if len(out) + size > MAX_BODY:
                    return None, "too large"
                data = await self._take(size + 2)
                if data is None:
                    return None, "truncated chunked body"
                if data[-2:] != b"\r\n":
                    return None, "bad chunk"
                out += data[:-2]
        lengths = self.headers.get_all("Content-Length")
        if not lengths:
            return b"", None
        cl = lengths[0]
        if not (cl.isascii() and cl.isdigit()) or any(x != cl for x in lengths):
            return None, "bad content-length"
        n = int(cl)
        if n > MAX_BODY:
            return None, "too large"
        if not n:
            return b"", None
        await self._continue()
        data = await self._take(n)
        if data is None:
            return None, "truncated body"
        return data, None

    # ---- responses -----------------------------------------------------------
    def _head(self, status, length, headers, ctype):
        lines = ["HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: %s\r\n"
                 "Content-Length: %d\r\n" % (status, _REASONS.get(status, ""), SERVER_NAME,
                                             _http_date(), ctype, length)]
        if headers:
            for k, v in headers.items():
                lines.append("%s: %s\r\n" % (k, v))
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _finish_rec(self, status):
        """Finish the request record before the answer leaves, so that a client which has
        its answer always finds its request complete in /_sim/requests and /_sim/stats."""
        rec = self._rec
        if rec is not None:
            self._rec = None
            self.core.record_done(rec, status)
            self._log(rec["method"], rec["path"], status if status is not None else "-",
                      rec.get("key_hash") or "-", ("fault=" + rec["fault"]) if rec["fault"] else "")

    async def _send(self, status, body_bytes, headers=None, ctype=JSON_TYPE):
        self._finish_rec(status)
        # head and body in one write: no Nagle / delayed-ACK stall between them
        data = self._head(status, len(body_bytes), headers, ctype)
        if self.command != "HEAD":
            data += body_bytes
        await self._write(data)

    async def _send_json(self, status, obj, headers=None):
        await self._send(status, json.dumps(obj).encode("utf-8"), headers)

    async def _stream(self, status, total, chunks, headers, interval):
        self._finish_rec(status)
        await self._write(self._head(status, total, headers, JSON_TYPE))
        if self.command == "HEAD":
            return
        for c in chunks:
            await self._write(c)
            # the trickle's pause; at full speed (0) still a turn for the other connections
            await asyncio.sleep(interval)

    def _reset(self):
        self.close_connection = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self._close()

    # ---- a request ------------------------------------------------------------
    async def _dispatch(self):
        core = self.core
        target = self.path
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

        body_raw, body_err = await self._read_body()
        if body_raw is None:
            self.close_connection = True
            await self._send_json(413 if body_err == "too large" else 400,
                                  {"status": 400, "message": "Bad request format (%s)" % body_err})
            return
        body, body_error = None, False
        if body_raw:
            try:
                body = json.loads(body_raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                body_error = True
                body = body_raw.decode("utf-8", "replace")

        if path == "/_sim" or path.startswith("/_sim/"):
            await self._control(path, q, body, body_error)
            return

        api_path = path[3:] if (path == "/v2" or path.startswith("/v2/")) else path
        api_path = api_path or "/"
        hdrs = {}
        for k, v in self.headers.items():
            if k.lower() == "authorization":
                continue
            hdrs[k] = (hdrs[k] + ", " + v) if k in hdrs else v
        client = self.client_address[0]
        rec = {"time": self.arrived, "handled": time.time(), "method": self.command,
               "path": raw_path, "api_path": api_path, "query": q, "raw_query": raw_query,
               "headers": hdrs, "auth_ok": False, "company": None, "key_hash": None,
               "body": body, "status": None, "fault": None, "client": client}
        core.record(rec)
        self._rec = rec
        status = None
        try:
            fault = core.take_fault(self.command, raw_path, api_path)
            if fault:
                rec["fault"] = fault["kind"]
                m = _BEARER_RE.match(self.headers.get("Authorization", ""))
                rec["key_hash"] = key_hash(m.group(1) if m else None)
                status = await self._fault(fault, api_path, q, body, body_error, rec)
            else:
                status, obj, extra = core.handle_api(self.command, api_path, q, self.headers, body,
                                                     body_error, client, rec)
                await self._send_json(status, obj, extra)
        finally:
            self._finish_rec(status)

    # ---- faults ---------------------------------------------------------
    async def _fault(self, f, api_path, q, body, body_error, rec):
        kind = f["kind"]
        core = self.core
        hdrs = {}
        if f.get("retry_after") is not None:
            hdrs["Retry-After"] = str(int(math.ceil(float(f["retry_after"]))))
        if kind in ("500", "502", "503", "429", "401"):
            st = int(kind)
            if kind == "500":
                await self._send_json(500, {"status": 500, "message": MSG_500}, hdrs)
            elif kind in ("502", "503"):
                text = "Bad Gateway" if kind == "502" else "Service Temporarily Unavailable"
                html = ("<html><head><title>%s %s</title></head><body><center><h1>%s %s</h1>"
                        "</center><hr><center>cloudflare</center></body></html>\n"
                        % (kind, text, kind, text)).encode()
                await self._send(st, html, hdrs, ctype="text/html")
            elif kind == "429":
                lim = core.config["rate_company"]
                ra = hdrs.get("Retry-After", "1")
                hdrs.update(core._rate_headers(lim, 0, float(ra)))
                await self._send_json(429, {"status": 429, "message": MSG_429}, hdrs)
            else:
                await self._send_json(401, {"status": 401, "message": MSG_401, "data": None}, hdrs)
            return st
        if kind == "hang":
            # a task asleep, not the loop: stop() cancels it, which closes the connection
            secs = float(f["seconds"]) if f.get("seconds") is not None else 3600.0
            await asyncio.sleep(secs)
            self.close_connection = True
            return None
        if kind == "reset":
            self._finish_rec(None)
            self._reset()
            return None
        if kind in ("slow_body", "malformed_json"):
            # the request is processed for real; the answer is damaged in transit
            status, obj, extra = core.handle_api(self.command, api_path, q, self.headers, body,
                                                 body_error, self.client_address[0], rec)
            data = json.dumps(obj).encode()
            if f.get("status") is not None:
                status = int(f["status"])
            if kind == "malformed_json":
                if f.get("status") is None:
                    status = 200
                cut = max(1, len(data) // 2)
                await self._send(status, data[:cut], extra)
                return status
            interval = float(f["seconds"]) if f.get("seconds") is not None else 1.0
            await self._stream(status, len(data), (data[i:i + 1] for i in range(len(data))),
                               extra, interval)
            return status
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
            await self._stream(status, total, gen(), {}, 0)
            return status
        if kind == "deep_json":
            depth = int(f["depth"]) if f.get("depth") else 100000
            data = b"[" * depth + b"]" * depth
            await self._send(status, data)
            return status
        if kind == "nul_json":
            data = b'{"status":200,"message":"nul\x00byte","data":{"id":"a\x00b"}}'
            await self._send(status, data)
            return status
        return None

    # ---- control API -------------------------------------------------------
    async def _control(self, path, q, body, body_error):
        core = self.core
        sub = path[len("/_sim"):] or "/"
        m = self.command
        try:
            if body_error:
                raise ValueError("body is not JSON")
            if m == "GET" and sub in ("/", "/health"):
                out = {"ok": True, "port": self.sim.port}
            elif m == "GET" and sub == "/requests":
                with core.lock:
                    reqs = list(core.requests)
                    since = int(q.get("since", 0))
                    rx = q.get("path_regex")
                    meth = (q.get("method") or "").upper()
                    out = [{k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("_")}
                           for r in reqs if r["seq"] > since
                           and (not rx or re.search(rx, r["api_path"]) or re.search(rx, r["path"]))
                           and (not meth or r["method"] == meth)]
            elif (m == "POST" and sub == "/reset-requests") or (m == "DELETE" and sub == "/requests"):
                with core.lock:
                    core.requests.clear()
                out = {"ok": True}
            elif m == "POST" and sub == "/fault":
                out = core.add_fault(body or {})
            elif m == "GET" and sub == "/faults":
                with core.lock:
                    out = copy.deepcopy(core.faults)
            elif (m == "POST" and sub == "/clear-faults") or (m == "DELETE" and sub == "/faults"):
                with core.lock:
                    core.faults.clear()
                out = {"ok": True}
            elif m == "POST" and sub == "/config":
                if not isinstance(body, dict):
                    raise ValueError("config body must be an object")
                out = core.set_config(body)
            elif m == "GET" and sub == "/config":
                with core.lock:
                    out = copy.deepcopy(core.config)
            elif m == "GET" and sub == "/state":
                out = core.dump_state()
            elif m == "GET" and sub == "/operations":
                out = core.dump_operations()
            elif m == "POST" and sub == "/finish-operations":
                core.finish_operations()
                out = {"ok": True}
            elif m == "GET" and sub == "/stats":
                with core.lock:
                    out = copy.deepcopy(core.stats)
                    out["in_flight"] = core.in_flight
            elif m == "POST" and sub == "/reset":
                core.reset_all()
                out = {"ok": True}
            else:
                await self._send_json(404, {"status": 404, "message": "unknown control endpoint %s %s"
                                            % (m, path)})
                return
        except (ValueError, TypeError, re.error) as exc:
            await self._send_json(400, {"status": 400, "message": str(exc)})
            return
        await self._send_json(200, out)


class Simulator:
    """The simulator as an object: Simulator(...).start(); .port; .stop().

    ssl_context (an ssl.SSLContext for the server side) makes it speak
    HTTPS instead of HTTP."""

    def __init__(self, host="127.0.0.1", port=0, state=None, keys=None, op_seconds=2.0,
                 op_404_seconds=0.0, rate_company=120, rate_ip=1000, rate_create=5, rate_logs=35,
                 rate_window=60.0, quiet=True, ssl_context=None, **config):
        if isinstance(state, str):
            with open(state, "r", encoding="utf-8") as fh:
                state = json.load(fh)
        norm_keys = []
        for k in keys or []:
            if isinstance(k, (tuple, list)):
                norm_keys.append((k[0], k[1]))
            elif "=" in k:
                a, b = k.split("=", 1)
                norm_keys.append((a, b))
            else:
                norm_keys.append((k, None))
        cfg = dict(op_seconds=op_seconds, op_404_seconds=op_404_seconds, rate_company=rate_company,
                   rate_ip=rate_ip, rate_create=rate_create, rate_logs=rate_logs,
                   rate_window=rate_window)
        cfg.update(config)
        self.core = SimCore(seed=state, keys=norm_keys, config=cfg)
        self.host = host
        self._want_port = port
        self.quiet = quiet
        self.ssl_context = ssl_context
        self.stop_event = threading.Event()   # set once stop() has begun
        self._listener = None
        self._port = None
        self._loop = None
        self._thread = None
        self._conns = {}         # _Conn -> its task; touched on the loop thread only
        self._life = threading.Lock()
        self._stopped = False

    def bind(self):
        """Listen now (so that .port is known), serve from start()."""
        if self._listener is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._want_port))
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        # on the listener too, so that the kernel stamps packets before accept()
        _enable_timestamps(sock)
        self._listener = sock
        self._port = sock.getsockname()[1]
        return self

    def start(self):
        with self._life:
            if self._stopped:
                raise RuntimeError("a stopped simulator does not start again")
            if self._thread is not None:
                return self
            if self._listener is None:
                self.bind()
            self._loop = asyncio.new_event_loop()
            running = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(running,),
                                            name="kinsta-sim", daemon=True)
            self._thread.start()
        if not running.wait(10):
            raise RuntimeError("the simulator's event loop did not start")
        return self

    def _run(self, running):
        loop = self._loop
        asyncio.set_event_loop(loop)
        fd = self._listener.fileno()
        loop.add_reader(fd, self._accept)
        loop.call_later(IDLE_SWEEP, self._sweep)
        loop.call_soon(running.set)
        try:
            loop.run_forever()
        finally:
            loop.remove_reader(fd)
            tasks = list(self._conns.values())
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            for conn in list(self._conns):
                conn._close()
            loop.close()

    def _accept(self):
        while True:
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue   # the client gave up before we got to it
            except OSError as exc:
                # out of file descriptors, say: let go of the listener for a moment
                # rather than spin on it
                self._log_error(("-",), exc)
                fd = self._listener.fileno()
                self._loop.remove_reader(fd)
                self._loop.call_later(0.1, self._loop.add_reader, fd, self._accept)
                return
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:   # already reset by the client
                sock.close()
                continue
            _enable_timestamps(sock)
            conn = _Conn(self, sock, addr)
            self._conns[conn] = self._loop.create_task(conn.serve())

    def _sweep(self):
        # one timer for all connections rather than one per wait: most waits are short
        limit = self._loop.time() - IDLE_TIMEOUT
        for conn in list(self._conns):
            if conn.waiting_since is not None and conn.waiting_since < limit:
                conn._wake(_Closed("idle for %d s" % IDLE_TIMEOUT))
        self._loop.call_later(IDLE_SWEEP, self._sweep)

    def _log_error(self, client_address, exc):
        if not self.quiet:
            try:
                sys.stderr.write("kinsta-sim: connection %s: %s: %s\n"
                                 % (client_address[0], type(exc).__name__, exc))
            except Exception:
                pass

    @property
    def port(self):
        return self._port

    @property
    def root_url(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return "%s://%s:%d" % (scheme, h, self.port)

    @property
    def base_url(self):
        return self.root_url + "/v2"

    def stop(self):
        """Stop serving: hung and streaming answers are cut off, every socket closed."""
        with self._life:
            if self._stopped:
                return
            self._stopped = True
        self.stop_event.set()
        if self._thread is not None:
            try:
                self._loop.call_soon_threadsafe(self._loop.stop)
            except RuntimeError:
                pass   # the loop has already closed
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Kinsta API v2 simulator for kinsta-cron tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="seed state JSON file (replaces the built-in seed)")
    ap.add_argument("--key", action="append", default=[],
                    help="KEY or KEY=COMPANY_UUID (repeatable); KEY alone maps to the first company")
    ap.add_argument("--op-seconds", type=float, default=2.0)
    ap.add_argument("--op-404-seconds", type=float, default=0.0)
    ap.add_argument("--rate-company", type=int, default=120)
    ap.add_argument("--rate-ip", type=int, default=1000)
    ap.add_argument("--rate-create", type=int, default=5)
    ap.add_argument("--rate-logs", type=int, default=35)
    ap.add_argument("--rate-window", type=float, default=60.0)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--dump-seed", action="store_true",
                    help="print the built-in seed state as JSON and exit (a template for --state)")
    a = ap.parse_args(argv)
    if a.dump_seed:
        json.dump(default_seed(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    try:
        sim = Simulator(host=a.host, port=a.port, state=a.state, keys=a.key,
                        op_seconds=a.op_seconds, op_404_seconds=a.op_404_seconds,
                        rate_company=a.rate_company, rate_ip=a.rate_ip, rate_create=a.rate_create,
                        rate_logs=a.rate_logs, rate_window=a.rate_window, quiet=a.quiet)
        sim.bind()
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write("kinsta-sim: %s\n" % exc)
        return 2

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    sys.stdout.write("KINSTA_SIM_PORT=%d\n" % sim.port)
    sys.stdout.flush()
    if not a.quiet:
        sys.stderr.write("kinsta-sim: listening on %s (keys: %s)\n"
                         % (sim.root_url, ", ".join(key_hash(k) for k in sim.core.keys)))
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
