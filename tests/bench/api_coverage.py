#!/usr/bin/python3
"""How much of Kinsta's API kinsta-cron reaches (issue 16), counted from
Kinsta's OpenAPI document and from the action registry itself.

    api_coverage.py [BUILD_DIR]     (default: build/gcc; or $KCRON_BIN)
    api_coverage.py --list ...      also name each operation and how

The registry is read through the binary: a configuration with one job per
action is checked, and `kinsta-cron check` lists, for each job, the API
calls its steps make ("  calls GET /sites, POST /sites/clone, ...").  A
call matches a document operation when method and path agree with every
{parameter} taken as one segment.

An operation counts as

  named      when some action's steps call it;
  templated  when a `request` job can call it with its path filled per
             target, and show and save its answer: every path parameter
             is one the templating fills ({site_id}; {env_id} and
             {target_env_id}: the environment; {id} under /company/: the
             company).  Required query parameters and bodies are written
             in the job.  Those whose path needs the id of another
             resource (a backup, a domain, an SFTP account...) can still be
             called with the id written in, but not per target; they are
             listed apart.

Only the current operations count: the deprecated ones (applications,
databases, static sites, served by Sevalla now) are left out.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.environ.get("KINSTA_OPENAPI") or os.path.join(
    os.path.dirname(TOP), "shared", "kinsta-api", "openapi.json")
COMPANY = "54fb80af-576c-4fdc-ba4f-b596c83f15a1"
ENV = "a1111111-1111-4111-8111-111111111111"

# One job per action of the registry, each as a libconfig body; together
# they take every variant whose calls differ (plain site, verified and
# restoring update).  The script fails when an action is missing here.
JOBS = {
    "clear-cache": f'environment_id = "{ENV}";',
    "clear-edge-cache": f'environment_id = "{ENV}";',
    "clear-cdn-cache": f'environment_id = "{ENV}";',
    "clear-all-caches": f'environment_id = "{ENV}";',
    "restart-php": f'environment_id = "{ENV}";',
    "set-php-version": f'environment_id = "{ENV}"; php_version = "8.3";',
    "backup": f'environment_id = "{ENV}"; keep = 2;',
    "update-plugins": f'environment_id = "{ENV}"; backup_first = true; '
                      'clear_caches_after = true; on_failure = "restore";',
    "update-themes": f'environment_id = "{ENV}"; backup_first = true;',
    "push-environment": f'site = "s"; source = "staging"; target = "live";',
    "run-wp-cli": f'environment_id = "{ENV}"; command = "wp cache flush";',
    "create-site": 'display_name = "d"; region = "r"; admin_email = "a@b.c"; '
                   'admin_password = "p"; admin_user = "u"; site_title = "t";',
    "create-site-plain": 'display_name = "d"; region = "r"; install_mode = "plain";',
    "deploy-app": 'app_id = "c3333333-3333-4333-8333-333333333333";',
    "deploy-static-site": 'static_site_id = "d4444444-4444-4444-8444-444444444444";',
    "report": "",
    "request": 'path = "/validate";',
    "refresh-staging": 'site = "s";',
    "clone-site": 'display_name = "d"; source_environment = "s";',
    "add-domain": f'environment_id = "{ENV}"; domain = "a.example.com";',
    "remove-domain": f'environment_id = "{ENV}"; domain = "a.example.com";',
    "fetch-logs": f'environment_id = "{ENV}";',
    "restore-backup": f'environment_id = "{ENV}";',
}
FILLED = {"site_id", "env_id", "target_env_id"}


def binary():
    if os.environ.get("KCRON_BIN"):
        return os.environ["KCRON_BIN"]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    return os.path.join(args[0] if args else os.path.join(TOP, "build", "gcc"),
                        "kinsta-cron")


def shape(path):
    """A path with each {parameter} as {} and no query: what matches."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def registry_calls(kcron):
    """(action, METHOD, shape) of every call `check` lists."""
    with tempfile.TemporaryDirectory() as d:
        jobs = ",\n".join(
            '  { name = "%s"; schedule = "@daily"; action = "%s"; %s }'
            % (name, "create-site" if name == "create-site-plain" else name, body)
            for name, body in JOBS.items())
        conf = os.path.join(d, "k.conf")
        with open(conf, "w") as f:
            f.write('state_dir = "%s";\naccounts = ( { name = "a"; company = "%s"; } );\n'
                    "jobs = (\n%s\n);\n" % (d, COMPANY, jobs))
        env = dict(os.environ, KINSTA_API_KEY="coverage-count-key")
        env.pop("CREDENTIALS_DIRECTORY", None)
        p = subprocess.run([kcron, "-c", conf, "check"], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("kinsta-cron check failed:\n" + p.stderr)
    out, job = [], None
    listed = set()
    for line in p.stdout.splitlines():
        m = re.match(r"job (\S+): (\S+) on", line)
        if m:
            job = m.group(1)
            listed.add(m.group(2))
        elif line.startswith("  calls ") and job:
            for call in line[len("  calls "):].split(", "):
                method, path = call.split(" ", 1)
                out.append((job, method, shape(path)))
    return out, listed


def main():
    spec = json.load(open(SPEC))
    kcron = binary()
    calls, listed = registry_calls(kcron)
    missing = set(a for a in JOBS if a != "create-site-plain") - listed
    if missing:
        sys.exit("jobs of these actions did not load: %s" % sorted(missing))
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method.upper(), path, bool(op.get("deprecated"))))
    current = [(m, p) for m, p, dep in ops if not dep]
    named = {}
    for job, method, sh in calls:
        if job == "request":  # its path is the job's, not the registry's
            continue
        for m, p in current:
            if m == method and shape(p) == sh:
                named.setdefault((m, p), set()).add(job)
    templated, literal = set(), set()
    for m, p in current:
        params = set(re.findall(r"\{([^}]*)\}", p))
        ok = all(x in FILLED or (x == "id" and p.startswith("/company/"))
                 for x in params)
        (templated if ok else literal).add((m, p))
    reach = set(named) | templated
    print("Kinsta OpenAPI %s: %d operations, %d current (%d deprecated)"
          % (spec["info"]["version"], len(ops), len(current),
             len(ops) - len(current)))
    print("named actions: %d current operations called by %d actions"
          % (len(named), len(listed) - 1))
    print("templated request (answer shown and saved): %d" % len(templated))
    print("reachable by a named action or a templated request: %d of %d"
          % (len(reach), len(current)))
    print("only with an id written in the path: %d" % len(set(current) - reach))
    if "--list" in sys.argv:
        for m, p in sorted(current, key=lambda x: (x[1], x[0])):
            how = ("named (%s)" % ", ".join(sorted(named[(m, p)]))
                   if (m, p) in named else
                   "templated" if (m, p) in templated else "id written in")
            print("  %-6s %-70s %s" % (m, p, how))
    return 0


if __name__ == "__main__":
    sys.exit(main())
