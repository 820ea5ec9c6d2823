"""Seed data: the companies, sites, environments, plugins, themes, backups,
users, apps and static sites the simulator starts from, and the defaults
that make a hand-written seed (``--state FILE``) complete.

Nothing here knows of HTTP or of the running service: a seed is a plain
dict, deep-copied by SimCore on every reset.
"""

import copy
import uuid

ACME_COMPANY = "aaaaaaaa-0000-4000-8000-000000000001"
GLOBEX_COMPANY = "bbbbbbbb-0000-4000-8000-000000000002"
ACME_KEY = "test-key-acme"
GLOBEX_KEY = "test-key-globex"

BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z in ms
DAY_MS = 86400000

_UUID_NS = uuid.UUID("6f1c2b1e-5a4d-4c3b-9a2e-1d0c0b0a0908")


def did(*parts):
    """A deterministic UUID string from some parts."""
    return str(uuid.uuid5(_UUID_NS, "/".join(str(p) for p in parts)))


def wp_item(name, title, status, version, update_version=None):
    """A plugin or theme as the plugin and theme lists give it."""
    return {
        "name": name,
        "title": title,
        "status": status,
        "version": version,
        "update": "available" if update_version else "none",
        "update_version": update_version,
        "update_status": None,
    }


def environment(site_name, env_id, name, php, *, edge=True, cdn=True, premium=False,
                domains=(), plugins=(), themes=(), backups=(), omit_edge_key=False):
    """An internal environment record (API fields + private plugins/themes/backups).

    The edge-cache and CDN ids are the environment id with its first letter
    changed to e or c; omit_edge_key leaves id_edge_cache out altogether
    rather than null, as recorded answers do for a staging environment."""
    doms = []
    for dname in domains:
        doms.append({"id": did(env_id, "domain", dname), "name": dname,
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


# ---- the built-in seed ------------------------------------------------------

def _catalogue():
    """The plugin and theme lists the built-in environments draw from."""
    std_plugins = [
        wp_item("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3", "5.3.1"),
        wp_item("wordpress-seo", "Yoast SEO", "active", "22.0"),
        wp_item("classic-editor", "Classic Editor", "inactive", "1.6.3", "1.6.4"),
        wp_item("hello-dolly", "Hello Dolly", "inactive", "1.7.2"),
    ]
    return {
        "std_plugins": std_plugins,
        "woo_plugins": std_plugins + [
            wp_item("woocommerce", "WooCommerce", "active", "8.5.1", "8.6.0"),
        ],
        "std_themes": [
            wp_item("twentytwentyfour", "Twenty Twenty-Four", "active", "1.0", "1.1"),
            wp_item("twentytwentythree", "Twenty Twenty-Three", "inactive", "1.3"),
        ],
        "woo_themes": [
            wp_item("storefront", "Storefront", "active", "4.5.4", "4.5.5"),
            wp_item("twentytwentythree", "Twenty Twenty-Three", "inactive", "1.3"),
        ],
        "uptodate_plugins": [
            wp_item("akismet", "Akismet Anti-Spam: Spam Protection", "active", "5.3.1"),
            wp_item("woocommerce", "WooCommerce", "active", "8.6.0"),
        ],
        "uptodate_themes": [
            wp_item("storefront", "Storefront", "active", "4.5.5"),
        ],
    }


class _Backups:
    """Each environment's backups, numbered in the order they are made:
    two scheduled, then a manual one noted "before redesign", then extras."""

    def __init__(self):
        self.last = 100000000

    def __call__(self, site, extra_manual=()):
        out = []
        for i in range(2):
            self.last += 1
            out.append({"id": self.last, "name": "%s-%d-scheduled" % (site, self.last),
                        "note": "Daily Auto Backup", "type": "scheduled",
                        "created_at": BASE_MS - (i + 1) * DAY_MS})
        for j, note in enumerate(("before redesign",) + tuple(extra_manual)):
            self.last += 1
            out.append({"id": self.last, "name": "%s-%d-manual" % (site, self.last),
                        "note": note, "type": "manual",
                        "created_at": BASE_MS - (10 + j) * DAY_MS})
        return out


def _label(company_n, n, name):
    return {"id": "1abe1000-0000-4000-8000-%012d" % (company_n * 100 + n), "name": name}


def _site(sid, name, display, labels, envs, company):
    for e in envs:
        for d in e["domains"]:
            d["site_id"] = sid
        if e["primaryDomain"]:
            e["primaryDomain"]["site_id"] = sid
    return {"id": sid, "name": name, "display_name": display, "status": "live",
            "company_id": company, "siteLabels": [dict(lb) for lb in labels],
            "environments": envs}


def _acme_sites(cat, backups):
    client_a, woo, client_b = _label(1, 1, "client-a"), _label(1, 2, "woocommerce"), \
        _label(1, 3, "client-b")
    std = dict(plugins=cat["std_plugins"], themes=cat["std_themes"])
    return [
        _site("11111111-1111-4111-8111-111111111111", "alphasite", "Alpha Site", [client_a], [
            environment("alphasite", "a1111111-1111-4111-8111-111111111111", "live", "8.1",
                        premium=True, domains=["alphasite.kinsta.cloud", "example-alpha.com"],
                        plugins=cat["std_plugins"] + [
                            wp_item("jetpack", "Jetpack", "active", "13.0", "13.1")],
                        themes=cat["std_themes"],
                        backups=backups("alphasite", ["kinsta-cron:nightly-backup"])),
            environment("alphasite", "a1111111-1111-4111-8111-111111111112", "staging", "8.2",
                        cdn=False, omit_edge_key=True, domains=["staging-alphasite.kinsta.cloud"],
                        backups=backups("alphasite-staging"), **std),
        ], ACME_COMPANY),
        _site("22222222-2222-4222-8222-222222222222", "bravosite", "Bravo Site", [client_a, woo], [
            environment("bravosite", "a2222222-2222-4222-8222-222222222222", "live", "8.1",
                        premium=True, domains=["bravosite.kinsta.cloud", "example-bravo.com"],
                        plugins=cat["woo_plugins"], themes=cat["woo_themes"],
                        backups=backups("bravosite")),
        ], ACME_COMPANY),
        _site("33333333-3333-4333-8333-333333333333", "charliesite", "Charlie Site", [client_b], [
            environment("charliesite", "a3333333-3333-4333-8333-333333333331", "staging", "8.2",
                        omit_edge_key=True, domains=["staging-charliesite.kinsta.cloud"],
                        backups=backups("charliesite-staging"), **std),
            environment("charliesite", "a3333333-3333-4333-8333-333333333333", "live", "8.2",
                        domains=["example-charlie.com"], backups=backups("charliesite"), **std),
        ], ACME_COMPANY),
        _site("44444444-4444-4444-8444-444444444444", "deltasite", "Delta Site", [client_b, woo], [
            environment("deltasite", "a4444444-4444-4444-8444-444444444444", "live", "8.0",
                        edge=False, cdn=False,
                        domains=["deltasite.kinsta.cloud", "example-delta.com"],
                        plugins=cat["uptodate_plugins"], themes=cat["uptodate_themes"],
                        backups=backups("deltasite")),
        ], ACME_COMPANY),
        _site("55555555-5555-4555-8555-555555555555", "echosite", "Echo Site", [], [
            environment("echosite", "a5555555-5555-4555-8555-555555555555", "live", "8.3",
                        domains=["echosite.kinsta.cloud"], backups=backups("echosite"), **std),
        ], ACME_COMPANY),
    ]


def _globex_sites(cat, backups):
    client_g, woo = _label(2, 1, "client-g"), _label(2, 2, "woocommerce")
    std = dict(plugins=cat["std_plugins"], themes=cat["std_themes"])
    return [
        _site("66666666-6666-4666-8666-666666666666", "foxtrotsite", "Foxtrot Site", [client_g], [
            environment("foxtrotsite", "a6666666-6666-4666-8666-666666666666", "live", "8.2",
                        premium=True, domains=["foxtrot.kinsta.cloud", "example-foxtrot.com"],
                        backups=backups("foxtrotsite"), **std),
            environment("foxtrotsite", "a6666666-6666-4666-8666-666666666661", "staging", "8.2",
                        omit_edge_key=True, cdn=False, domains=["staging-foxtrot.kinsta.cloud"],
                        backups=backups("foxtrotsite-staging"), **std),
        ], GLOBEX_COMPANY),
        _site("77777777-7777-4777-8777-777777777777", "golfsite", "Golf Site", [woo], [
            environment("golfsite", "a7777777-7777-4777-8777-777777777777", "live", "8.1",
                        domains=["golf.kinsta.cloud"], plugins=cat["woo_plugins"],
                        themes=cat["woo_themes"], backups=backups("golfsite")),
        ], GLOBEX_COMPANY),
    ]


def _user(uid, email, n, full_name):
    return {"user": {"id": uid, "email": email,
                     "image": "https://www.gravatar.com/avatar/%d" % n, "full_name": full_name}}


def _deployable(uid, name, display, repo):
    """An application or a static site (deprecated in Kinsta's API)."""
    return {"id": uid, "name": name, "display_name": display, "status": "deploymentSuccess",
            "repo_url": repo}


def default_seed():
    """The built-in seed: two companies, seven sites, eleven environments."""
    cat = _catalogue()
    backups = _Backups()   # one numbering across both companies, Acme first
    acme_sites = _acme_sites(cat, backups)
    globex_sites = _globex_sites(cat, backups)
    return {
        "companies": [
            {
                "id": ACME_COMPANY,
                "name": "Acme Agency",
                "keys": [{"key": ACME_KEY, "name": "kinsta-cron-acme"}],
                "users": [
                    _user("0ae00001-0000-4000-8000-000000000001", "owner@acme.example", 0,
                          "Ada Owner"),
                    _user("0ae00001-0000-4000-8000-000000000002", "dev@acme.example", 1,
                          "Dev Eloper"),
                ],
                "sites": acme_sites,
                "apps": [_deployable("0a990001-0000-4000-8000-000000000001", "acme-api",
                                     "Acme API", "https://github.com/acme/api")],
                "static_sites": [_deployable("05a70001-0000-4000-8000-000000000001", "acme-docs",
                                             "Acme Docs", "https://github.com/acme/docs")],
            },
            {
                "id": GLOBEX_COMPANY,
                "name": "Globex",
                "keys": [{"key": GLOBEX_KEY, "name": "kinsta-cron-globex"}],
                "users": [
                    _user("0ae00002-0000-4000-8000-000000000001", "hank@globex.example", 2,
                          "Hank Scorpio"),
                ],
                "sites": globex_sites,
                "apps": [_deployable("0a990002-0000-4000-8000-000000000001", "globex-api",
                                     "Globex API", "https://github.com/globex/api")],
                "static_sites": [_deployable("05a70002-0000-4000-8000-000000000001", "globex-www",
                                             "Globex WWW", "https://github.com/globex/www")],
            },
        ]
    }


# ---- a seed from elsewhere -----------------------------------------------------

def _normalize_env(e):
    e.setdefault("name", "live")
    e.setdefault("display_name", e["name"].capitalize())
    e.setdefault("is_blocked", False)
    e.setdefault("is_premium", False)
    e.setdefault("cdn_cache_id", None)
    e.setdefault("domains", [])
    e.setdefault("primaryDomain", e["domains"][0] if e["domains"] else None)
    e.setdefault("container_info", {"id": did(e["id"], "container"),
                                    "php_engine_version": "php8.2"})
    e.setdefault("plugins", [])
    e.setdefault("themes", [])
    e.setdefault("backups", [])


def normalize_seed(seed):
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
                _normalize_env(e)
    return seed
