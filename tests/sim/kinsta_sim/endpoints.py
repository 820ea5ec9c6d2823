"""The Kinsta API's endpoints as the simulator serves them: the route
table and one handler per route.

Endpoints is a mixin of SimCore (core.py): the handlers run under its lock,
read and change its state, and start operations with its start_op(). Each
returns (HTTP status, body) or raises ApiError. The paths and bodies follow
Kinsta's OpenAPI document (see tests/sim/README.md).
"""

import copy
import datetime
import hashlib
import re
import time
import uuid

from .errors import OpFailure, err400, err404, opt_bool, req_str
from .seed import did, environment, wp_item

PHP_VERSIONS = ("7.4", "8.0", "8.1", "8.2", "8.3", "8.4")
WP_CLI_RE = re.compile(r"^wp\s+[a-zA-Z0-9_\-./:=@'\s]+$")


class Endpoints:
    """The handlers api_NAME of the routes (METHOD, path regex, NAME), tried
    in order; the regex's named groups become keyword arguments."""

    ROUTES = [
        ("GET", r"/validate", "validate"),
        ("GET", r"/sites", "list_sites"),
        ("POST", r"/sites", "create_site"),
        ("POST", r"/sites/plain", "create_plain_site"),
        ("POST", r"/sites/clone", "clone_site"),
        ("GET", r"/sites/environments/(?P<env>[^/]+)/domains", "list_domains"),
        ("POST", r"/sites/environments/(?P<env>[^/]+)/domains", "add_domain"),
        ("DELETE", r"/sites/environments/(?P<env>[^/]+)/domains", "delete_domains"),
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
        ("GET", r"/sites/environments/(?P<env>[^/]+)/analytics/"
                r"(?P<metric>visits|bandwidth|cdn-bandwidth)", "analytics"),
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

    # ---- sites, environments, users --------------------------------------
    def api_validate(self, company, key_name, **_):
        return 200, {"name": key_name, "expires_at": None, "company": company, "status": "active"}

    def api_list_sites(self, company, query, **_):
        want = query.get("company")
        if not want:
            raise err400('"company" is required')
        if want != company or not self._company(company):
            raise err404()
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
            raise err404()
        return 200, {"company": {"users": copy.deepcopy(c["users"])}}

    def api_create_site(self, company, body, **_):
        if not isinstance(body, dict):
            raise err400()
        for f in ("company", "display_name", "region", "admin_email", "admin_password",
                  "admin_user", "site_title", "wp_language"):
            req_str(body, f)
        mode = body.get("install_mode", "plain")
        if mode not in ("new", "plain", "clone"):
            raise err400('"install_mode" must be one of new, plain, clone')
        for f in ("is_multisite", "is_subdomain_multisite", "woocommerce", "wordpressseo"):
            opt_bool(body, f, False)
        if body["company"] != company:
            raise err404()
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
            plugins = [wp_item("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3.1")]
            if body.get("woocommerce"):
                plugins.append(wp_item("woocommerce", "WooCommerce", "active", "8.6.0"))
            if body.get("wordpressseo"):
                plugins.append(wp_item("wordpress-seo", "Yoast SEO", "active", "22.0"))
            env = environment(name, env_id, "live", "8.3", domains=["%s.kinsta.cloud" % name],
                       plugins=plugins,
                       themes=[wp_item("twentytwentyfive", "Twenty Twenty-Five", "active", "1.0")])
            for d in env["domains"]:
                d["site_id"] = sid
            env["primaryDomain"]["site_id"] = sid
            site = {"id": sid, "name": name, "display_name": body["display_name"], "status": "live",
                    "company_id": company, "siteLabels": [], "environments": [env]}
            c["sites"].append(site)
            self.created_sites.append({"site_id": sid, "env_id": env_id, "params": params})
            return {"idSite": sid}

        return self.start_op("create-site", company, [], None, params, effect)

    def _new_site(self, company, display_name, env_name="live", php="8.3", plugins=(), themes=()):
        """A site of one environment, added to the company: (site, env)."""
        c = self._company(company)
        sid = str(uuid.uuid4())
        slug = re.sub(r"[^a-z0-9]", "", display_name.lower())[:20] or "site"
        name = slug
        n = 1
        while any(s["name"] == name for s in c["sites"]):
            n += 1
            name = "%s%d" % (slug, n)
        env_id = "a" + str(uuid.uuid4())[1:]
        env = environment(name, env_id, env_name, php, domains=["%s.kinsta.cloud" % name],
                          plugins=plugins, themes=themes)
        for d in env["domains"]:
            d["site_id"] = sid
        env["primaryDomain"]["site_id"] = sid
        site = {"id": sid, "name": name, "display_name": display_name, "status": "live",
                "company_id": company, "siteLabels": [], "environments": [env]}
        c["sites"].append(site)
        return site, env

    def api_create_plain_site(self, company, body, **_):
        """POST /sites/plain: company, display_name and region, nothing of
        WordPress (addPlainWordPressSite)."""
        if not isinstance(body, dict):
            raise err400()
        for f in ("company", "display_name", "region"):
            req_str(body, f)
        extra = sorted(set(body) - {"company", "display_name", "region"})
        if extra:
            raise err400("Unexpected fields for a plain site: %s" % ", ".join(extra))
        if body["company"] != company:
            raise err404()
        params = dict(body, install_mode="plain")

        def effect(op):
            site, env = self._new_site(company, body["display_name"])
            env["plugins"], env["themes"] = [], []
            self.created_sites.append({"site_id": site["id"], "env_id": env["id"], "params": params})
            return {"idSite": site["id"]}

        return self.start_op("create-plain-site", company, [], None, params, effect)

    def api_clone_site(self, company, body, **_):
        """POST /sites/clone: a new site from source_env_id (cloneWordPressSite)."""
        if not isinstance(body, dict):
            raise err400()
        for f in ("company", "display_name", "source_env_id"):
            req_str(body, f)
        if body["company"] != company:
            raise err404()
        _, src_site, src = self._env_for(company, body["source_env_id"])
        params = dict(body)

        def effect(op):
            site, env = self._new_site(company, body["display_name"],
                                       php=src["container_info"]["php_engine_version"][3:],
                                       plugins=src["plugins"], themes=src["themes"])
            self.created_sites.append({"site_id": site["id"], "env_id": env["id"], "params": params,
                                       "cloned_from": src["id"]})
            return {"idSite": site["id"]}

        return self.start_op("clone-site", company, [src["id"]], src_site["id"], params, effect)

    def api_list_domains(self, company, env, **_):
        c, s, e = self._env_for(company, env)
        return 200, {"environment": {"site_domains": [
            {"id": d["id"], "name": d["name"], "uses_cloudflare_dns": False} for d in e["domains"]]}}

    def api_add_domain(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise err400()
        name = req_str(body, "domain_name")
        wild = opt_bool(body, "is_wildcardless", False)
        for k in ("custom_ssl_key", "custom_ssl_cert"):
            if k in body and not isinstance(body[k], str):
                raise err400('"%s" must be a string' % k)
        if any(d["name"].lower() == name.lower() for d in e["domains"]):
            raise err400("Domain %s is already added to this environment" % name)

        def effect(op):
            e["domains"].append({"id": did(e["id"], "domain", name), "name": name,
                                 "site_id": s["id"], "is_active": True, "type": e["name"]})

        return self.start_op("add-domain", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "domain_name": name,
                              "is_wildcardless": wild}, effect)

    def api_delete_domains(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise err400()
        ids = body.get("domain_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise err400('"domain_ids" must be a non-empty list of strings')
        known = {d["id"] for d in e["domains"]}
        for i in ids:
            if i not in known:
                raise err404("Domain not found: %s" % i)

        def effect(op):
            e["domains"][:] = [d for d in e["domains"] if d["id"] not in ids]

        return self.start_op("delete-domain", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "domain_ids": list(ids)}, effect)

    def _env_body(self, company, body):
        if not isinstance(body, dict):
            raise err400()
        env_id = req_str(body, "environment_id")
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
        ver = req_str(body, "php_version")
        if ver not in PHP_VERSIONS:
            raise err400("Invalid PHP version: %s" % ver)
        opt = body.get("is_opt_out_from_automatic_php_update")
        if opt is not None and not isinstance(opt, bool):
            raise err400('"is_opt_out_from_automatic_php_update" must be a boolean')

        def effect(op):
            e["container_info"]["php_engine_version"] = "php" + ver
            if opt is not None:
                e["is_opt_out_from_automatic_php_update"] = opt

        return self.start_op("modify-php-version", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "php_version": ver,
                              "is_opt_out_from_automatic_php_update": opt}, effect)

    def api_edge_clear(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        sub = opt_bool(body, "clear_subdirectories", False)
        url = body.get("url")
        if url is not None and not isinstance(url, str):
            raise err400('"url" must be a string')
        if not e.get("id_edge_cache"):
            raise err400("Edge caching is not enabled for this environment")
        return self.start_op("clear-edge-cache", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "clear_subdirectories": sub, "url": url}, None)

    def api_cdn_clear(self, company, body, **_):
        c, s, e = self._env_body(company, body)
        cdn = req_str(body, "cdn_cache_id")
        if not e.get("cdn_cache_id"):
            raise err400("CDN is not enabled for this environment")
        if cdn != e["cdn_cache_id"]:
            raise err400("Invalid cdn_cache_id for this environment")
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
            raise err400()
        tag = body.get("tag", "")
        if not isinstance(tag, str):
            raise err400('"tag" must be a string')

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
            # what a restore brings back: the plugins and themes as they are
            self.snapshots[bid] = {"plugins": copy.deepcopy(e["plugins"]),
                                   "themes": copy.deepcopy(e["themes"])}
            return None

        return self.start_op("manual-backup", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "tag": tag}, effect)

    def api_delete_backup(self, company, backup, **_):
        try:
            bid = int(backup)
        except ValueError:
            raise err400("backup_id must be a number")
        c, s, e, b = self._find_backup(company, bid)

        def effect(op):
            e["backups"][:] = [x for x in e["backups"] if x["id"] != bid]

        return self.start_op("delete-backup", company, [e["id"]], s["id"],
                             {"backup_id": bid, "environment_id": e["id"]}, effect)

    def api_restore_backup(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise err400()
        bid = body.get("backup_id")
        if not isinstance(bid, int) or isinstance(bid, bool):
            raise err400('"backup_id" must be a number')
        user = req_str(body, "notified_user_id")
        if user not in [u["user"]["id"] for u in c["users"]]:
            raise err400("notified_user_id is not a user of this company")
        _, _, src_env, b = self._find_backup(company, bid)

        def effect(op):
            # the environment's plugins and themes as the backup has them
            # (a backup of the seed, made before the simulator ran, has
            # none recorded: the environment stays as it is)
            snap = self.snapshots.get(bid)
            if snap is not None:
                e["plugins"] = copy.deepcopy(snap["plugins"])
                e["themes"] = copy.deepcopy(snap["themes"])
            self.restores.append({"backup_id": bid, "env_id": e["id"],
                                  "notified_user_id": user})

        return self.start_op("restore-backup", company, [e["id"]], s["id"],
                             {"backup_id": bid, "notified_user_id": user,
                              "target_env_id": e["id"], "source_env_id": src_env["id"]}, effect)

    def api_list_wp(self, company, env, kind, **_):
        c, s, e = self._env_for(company, env)
        key = "wp_plugins" if kind == "plugins" else "wp_themes"
        return 200, {"environment": {"id": e["id"], "container_info": {
            "id": e["container_info"].get("id"), key: {"data": copy.deepcopy(e[kind])}}}}

    @staticmethod
    def _offer_next(item):
        """A newer version after the one just installed: the next patch."""
        parts = item["version"].split(".")
        try:
            parts[-1] = str(int(parts[-1]) + 1)
        except ValueError:
            parts.append("1")
        item["update"] = "available"
        item["update_version"] = ".".join(parts)
        item["update_status"] = None

    @staticmethod
    def _apply_update(item, version=None):
        item["version"] = version or item.get("update_version") or item["version"]
        item["update"] = "none"
        item["update_version"] = None
        item["update_status"] = "updated"

    def api_update_wp(self, company, env, kind, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise err400()
        name = req_str(body, "name")
        ver = req_str(body, "update_version")
        singular = "plugin" if kind == "plugins" else "theme"
        if not any(p["name"] == name for p in e[kind]):
            raise err404("%s not found: %s" % (singular.capitalize(), name))

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
            raise err400()
        items = body.get(kind)
        if not isinstance(items, list) or not items:
            raise err400('"%s" is required' % kind)
        names = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("name"), str) or not it["name"]:
                raise err400('each of "%s" needs a "name"' % kind)
            names.append(it["name"])
        known = {p["name"] for p in e[kind]}
        for n in names:
            if n not in known:
                raise err404("%s not found: %s" % ("Plugin" if kind == "plugins" else "Theme", n))

        def effect(op):
            for p in e[kind]:
                key = (e["id"], kind, p["name"])
                if p["name"] in names and p.get("update") == "available" \
                        and key not in self.stuck:
                    self._apply_update(p)
                    if key in self.endless:
                        self._offer_next(p)

        action = "bulk-update-plugins" if kind == "plugins" else "bulk-update-themes"
        return self.start_op(action, company, [e["id"]], s["id"],
                             {"environment_id": e["id"], kind: names}, effect, http_status=200)

    def api_wp_cli(self, company, env, body, **_):
        c, s, e = self._env_for(company, env)
        if not isinstance(body, dict):
            raise err400()
        cmd = req_str(body, "wp_command")
        if len(cmd) > 5000 or not WP_CLI_RE.match(cmd):
            raise err400('"wp_command" must match pattern ^wp\\s+[a-zA-Z0-9_\\-./:=@\'\\s]+$')

        def effect(op):
            self.wp_cli.append({"time": time.time(), "env_id": e["id"], "wp_command": cmd,
                                "operation_id": op["id"]})

        return self.start_op("run-wp-cli", company, [e["id"]], s["id"],
                             {"environment_id": e["id"], "wp_command": cmd}, effect)

    def api_logs(self, company, env, query, **_):
        c, s, e = self._env_for(company, env)
        fname = query.get("file_name", "error")
        if fname not in ("error", "access", "kinsta-cache-perf"):
            raise err400('"file_name" must be one of error, access, kinsta-cache-perf')
        try:
            lines = int(query.get("lines", "1000"))
        except ValueError:
            raise err400('"lines" must be a number')
        if lines < 0 or lines > 20000:
            raise err400('"lines" must be between 0 and 20000')
        sample = ["2026/01/01 00:00:%02d [%s] %s simulated log line %d" % (i % 60, fname, s["name"], i)
                  for i in range(min(lines, 20))]
        return 200, {"environment": {"container_info": {"logs": "\n".join(sample)}}}

    # ---- analytics ---------------------------------------------------------
    ANALYTICS_SPANS = {"24_hours": 1, "7_days": 7, "30_days": 30, "60_days": 60}
    ANALYTICS_KEYS = {"visits": "uniqueip", "bandwidth": "bandwidth",
                      "cdn-bandwidth": "cdn_bandwidth"}

    @staticmethod
    def analytics_value(env_id, metric, day):
        """Plausible and deterministic: the same environment, metric and day
        always give the same number (visits in the hundreds, bandwidth in
        hundreds of megabytes, CDN a little more), with quieter weekends."""
        h = int(hashlib.sha256(("%s/%s/%s" % (env_id, metric, day.isoformat())).encode())
                .hexdigest()[:8], 16)
        weekend = 0.6 if day.weekday() >= 5 else 1.0
        if metric == "visits":
            return int((300 + h % 500) * weekend)
        scale = 250_000_000 if metric == "bandwidth" else 400_000_000
        return int((scale + h % scale) * weekend)

    def api_analytics(self, company, env, metric, query, **_):
        c, s, e = self._env_for(company, env)
        cid = query.get("company_id")
        if not cid:
            raise err400('"company_id" is required')
        if cid != company:
            raise err404()
        span = query.get("time_span", "7_days")
        if span not in self.ANALYTICS_SPANS:
            raise err400('"time_span" must be one of 24_hours, 7_days, 30_days, 60_days')
        try:
            if query.get("from") and query.get("to"):
                first = datetime.date.fromisoformat(query["from"])
                last = datetime.date.fromisoformat(query["to"])
            else:
                last = datetime.datetime.now(datetime.timezone.utc).date()
                first = last - datetime.timedelta(days=self.ANALYTICS_SPANS[span] - 1)
        except ValueError:
            raise err400('"from" and "to" must be dates like 2025-10-20')
        if last < first or (last - first).days > 400:
            raise err400('"from" must not be after "to", nor a year before it')
        days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
        values = [self.analytics_value(e["id"], metric, d) for d in days]
        key = self.ANALYTICS_KEYS[metric]
        # 202 with the data inline, as the API answers (not an operation)
        return 202, {"analytics": {"analytics_response": {"key": key, "data": [{
            "name": key, "total": sum(values),
            "dataset": [{"key": d.isoformat() + "T00:00:00.000Z", "value": str(v)}
                        for d, v in zip(days, values)]}]}}}

    def api_push_env(self, company, site, body, **_):
        c, s = self._site_for(company, site)
        if not isinstance(body, dict):
            raise err400()
        src = req_str(body, "source_env_id")
        dst = req_str(body, "target_env_id")
        env_ids = [e["id"] for e in s["environments"]]
        if src not in env_ids or dst not in env_ids:
            raise err404("Environment not found")
        if src == dst:
            raise err400("source_env_id and target_env_id must differ")
        push_db = opt_bool(body, "push_db", True)
        push_files = opt_bool(body, "push_files", True)
        sr = opt_bool(body, "run_search_and_replace", True)
        opt = body.get("push_files_option", "ALL_FILES")
        if opt not in ("ALL_FILES", "SPECIFIC_FILES"):
            raise err400('"push_files_option" must be ALL_FILES or SPECIFIC_FILES')
        file_list = body.get("file_list", [])
        if not isinstance(file_list, list) or not all(isinstance(x, str) for x in file_list):
            raise err400('"file_list" must be a list of strings')
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
            raise err404()
        now = time.monotonic()
        o["polls"] += 1
        if now < o["_nf_until"]:
            raise err404()
        if o["state"] == "running":
            return 202, {"status": 202, "message": "Operation in progress"}
        if o["state"] == "succeeded":
            b = {"status": 200, "message": o["message"]}
            if o.get("data") is not None:
                b["data"] = copy.deepcopy(o["data"])
            return 200, b
        hs = o.get("http_status") or 500
        return hs, {"status": 500, "message": o["message"]}

    # ---- deployments (deprecated in Kinsta's API) ----------------------
    def api_list_apps(self, company, query, **_):
        if query.get("company") != company:
            raise err404()
        c = self._company(company)
        return 200, {"company": {"apps": {"items": [
            {k: a[k] for k in ("id", "name", "display_name", "status")} for a in c["apps"]]}}}

    def api_list_static(self, company, query, **_):
        if query.get("company") != company:
            raise err404()
        c = self._company(company)
        return 200, {"company": {"static_sites": {"items": [
            {k: a[k] for k in ("id", "name", "display_name", "status")} for a in c["static_sites"]]}}}

    def api_deploy_app(self, company, body, **_):
        if not isinstance(body, dict):
            raise err400()
        app_id = req_str(body, "app_id")
        c = self._company(company)
        app = next((a for a in c["apps"] if a["id"] == app_id), None)
        if app is None:
            raise err404("Application not found")
        branch = body.get("branch", "main")
        if not isinstance(branch, str):
            raise err400('"branch" must be a string')
        d = self._deployment("app", company, app_id, branch,
                             {"repo_url": app.get("repo_url", "https://github.com/example/app"),
                              "docker_image": body.get("docker_image"),
                              "is_restart": bool(body.get("is_restart", False))})
        return 200, {"deployment": {"id": d["id"]}}

    def api_get_app_deployment(self, company, dep, **_):
        d = self.deployments.get(dep)
        if d is None or d["kind"] != "app" or d["company"] != company:
            raise err404("Deployment not found")
        return 200, {"deployment": {
            "id": d["id"], "app_id": d["target_id"], "repo_url": d["repo_url"], "branch": d["branch"],
            "commit_sha": hashlib.sha1(d["id"].encode()).hexdigest(), "author_login": "sim-bot",
            "author_img": "https://example.com/sim-bot.png", "commit_message": "simulated deployment",
            "status": self._dep_status(d), "created_at": d["created_at"]}}

    def api_deploy_static(self, company, body, **_):
        if not isinstance(body, dict):
            raise err400()
        sid = req_str(body, "static_site_id")
        c = self._company(company)
        st = next((a for a in c["static_sites"] if a["id"] == sid), None)
        if st is None:
            raise err404("Static site not found")
        branch = body.get("branch", "main")
        if not isinstance(branch, str):
            raise err400('"branch" must be a string')
        d = self._deployment("static", company, sid, branch,
                             {"repo_url": st.get("repo_url", "https://github.com/example/static")})
        return 200, {"deployment": {"id": d["id"], "status": self._dep_status(d)}}

    def api_get_static_deployment(self, company, dep, **_):
        d = self.deployments.get(dep)
        if d is None or d["kind"] != "static" or d["company"] != company:
            raise err404("Deployment not found")
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

