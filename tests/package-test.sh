#!/bin/sh
# The Debian package, end to end, on this machine (CI runs it as root):
# build it with cpack (Release, Debian's hardening flags, warnings as
# errors), hold it to lintian (no error, no warning, no info tag left; each
# override in cmake/KcronDebStage.cmake says why), install it with
# apt-get, check what a sysadmin gets (files, conffiles, the service
# neither enabled nor started, the unit's verify and security score,
# "kinsta-cron check" of the installed configuration once a key is in
# place and its warnings, the bash completion as bash-completion loads
# it), upgrade it over itself keeping an edited conffile, then remove and
# purge it and check that nothing is left.
#
#   tests/package-test.sh [BUILD_DIR]    (default: build/deb)
#
# It installs and removes the package "kinsta-cron" and deletes
# /etc/kinsta-cron and /var/lib/kinsta-cron on this machine: run it on a
# test machine or in a container.  It is idempotent: a kinsta-cron package
# left by an earlier run is purged first.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${KCRON_BUILD_DIR:-$top/build}/deb}
# Absolute: apt-get takes "build/deb/x.deb" for a package name.
mkdir -p "$out"
out=$(cd "$out" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
unit=/lib/systemd/system/kinsta-cron.service

[ "$(id -u)" -eq 0 ] || { echo "package-test: needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

fail() {
	echo "package-test: FAIL: $*" >&2
	exit 1
}
step() { echo "== package: $*"; }

purge() {
	if dpkg-query -W -f='${Status}' kinsta-cron 2>/dev/null |
		grep -q 'ok \(installed\|config-files\|half\)'; then
		apt-get purge -y -qq kinsta-cron >/dev/null
	fi
}

# cpack's dependency list needs dpkg-shlibdeps (dpkg-dev) and file(1);
# the hardening flags dpkg-buildflags (dpkg-dev).
need=
for p in dpkg-dev file lintian bash-completion; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086 # a list of names
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

step "build in $out"
# The README's build (Release), with every target like the README's
# "cmake --build", warnings as errors: what a user builds compiles clean.
cmake -S "$top" -B "$out" -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_BUILD_TYPE=Release -DKCRON_WERROR=ON >/dev/null
cmake --build "$out" -j"$jobs" >/dev/null
rm -f "$out"/kinsta-cron_*.deb
(cd "$out" && cpack -G DEB >/dev/null)
set -- "$out"/kinsta-cron_*.deb
[ -f "$1" ] || fail "cpack made no kinsta-cron_*.deb"
# Absolute: apt-get takes "build/deb/x.deb" for a package "build" from a
# release "deb/x.deb"; only a path starting with / or ./ is a file to it.
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dpkg-deb -f "$deb" Package Version Depends

# What the control archive says.
for lib in libc6 libcurl4 libmicrohttpd12 libuv1 libconfig9 libyajl2 ca-certificates tzdata; do
	dpkg-deb -f "$deb" Depends | grep -q "\\b$lib\\b" ||
		fail "Depends lacks $lib"
done
step "lintian"
# Every tag, information included, fails: an exception is an override with
# its reason (cmake/KcronDebStage.cmake).  lintian warns about running as
# root on stderr; that is all it says there.
lintian -I --fail-on error,warning,info --tag-display-limit 0 "$deb" \
	2>/dev/null || fail "lintian found the tags above"
dpkg-deb -c "$deb" | grep -q ' ./usr/share/doc/kinsta-cron/copyright$' ||
	fail "no copyright file"
dpkg-deb --fsys-tarfile "$deb" |
	tar -xO ./usr/share/doc/kinsta-cron/copyright |
	head -1 | grep -qx \
	'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
	fail "the copyright file is not machine-readable (DEP-5)"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/kinsta-cron/kinsta-cron.conf ||
	fail "kinsta-cron.conf is not a conffile"

step "install"
purge
trap 'purge' EXIT
apt-get install -y -qq "$deb" >/dev/null
dpkg-query -W -f='${Status}\n' kinsta-cron | grep -q "install ok installed" ||
	fail "not installed"
for f in /usr/sbin/kinsta-cron $unit /etc/kinsta-cron/kinsta-cron.conf \
	/usr/share/man/man8/kinsta-cron.8.gz \
	/usr/share/man/man5/kinsta-cron.conf.5.gz \
	/usr/share/doc/kinsta-cron/operations.md \
	/usr/share/doc/kinsta-cron/copyright \
	/usr/share/doc/kinsta-cron/changelog.Debian.gz \
	/usr/share/bash-completion/completions/kinsta-cron \
	/usr/share/doc/kinsta-cron/examples/systemd/credentials.conf; do
	[ -e "$f" ] || fail "$f is missing"
done
[ -d /etc/kinsta-cron/conf.d ] || fail "conf.d is missing"
[ "$(stat -c %a /etc/kinsta-cron/credentials)" = 700 ] ||
	fail "credentials/ is not 0700"
/usr/sbin/kinsta-cron -V

# A fresh install is neither enabled nor started: there is no key yet.
[ ! -e /etc/systemd/system/multi-user.target.wants/kinsta-cron.service ] ||
	fail "the package enabled the service"
if [ -d /run/systemd/system ]; then
	systemctl is-active --quiet kinsta-cron && fail "the service runs"
fi

step "the unit as installed"
man=--man=yes
command -v man >/dev/null || man=--man=no
(cd / && systemd-analyze verify $man $unit) || fail "systemd-analyze verify"
score=$(systemd-analyze security --offline=yes $unit 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "exposure $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 1.5) }' ||
	fail "exposure $score > 1.5"

step "check the installed configuration"
# Without a key the check fails and says what to do ...
if /usr/sbin/kinsta-cron check >/tmp/kcron-pkg.$$ 2>&1; then
	fail "check passed without an API key"
fi
grep -q 'no API key' /tmp/kcron-pkg.$$ || { cat /tmp/kcron-pkg.$$; fail \
	"check did not name the missing key"; }
# ... and passes once the key is where the guide puts it.
install -m 0600 /dev/null /etc/kinsta-cron/credentials/main
echo "kinsta-cron-package-test-not-a-key" >/etc/kinsta-cron/credentials/main
env -u CREDENTIALS_DIRECTORY \
	/usr/sbin/kinsta-cron check >/tmp/kcron-pkg.$$ 2>&1 ||
	{ cat /tmp/kcron-pkg.$$; fail "check of the installed configuration"; }
cat /tmp/kcron-pkg.$$
grep -q kinsta-cron-package-test-not-a-key /tmp/kcron-pkg.$$ &&
	fail "check printed the key"
# The installed file as it comes: a placeholder company and no job, each
# said on stderr (the exit status stays 0).
env -u CREDENTIALS_DIRECTORY /usr/sbin/kinsta-cron check \
	2>/tmp/kcron-pkg.$$ >/dev/null || fail "check with warnings"
cat >/tmp/kcron-pkg-want.$$ <<'WANT'
/etc/kinsta-cron/kinsta-cron.conf:43: warning: account "main": company "00000000-0000-4000-8000-000000000000" is a placeholder, not your company; set company to your Kinsta company's ID (MyKinsta, Company settings, Billing details)
/etc/kinsta-cron/kinsta-cron.conf: warning: jobs: none in this file or in /etc/kinsta-cron/conf.d/*.conf, so the daemon would start and never call the API; add a job to either (see JOBS in kinsta-cron.conf(5))
WANT
diff -u /tmp/kcron-pkg-want.$$ /tmp/kcron-pkg.$$ || fail "check's warnings"
# A key_file, as the man page once showed it: root's 0600 file, which the
# service's dynamic user cannot read.  A credential is never questioned.
install -m 0600 /dev/null /etc/kinsta-cron/acme.key
echo "kinsta-cron-package-test-not-a-key" >/etc/kinsta-cron/acme.key
cat >/etc/kinsta-cron/conf.d/acme.conf <<'CONF'
accounts = (
  { name = "acme"; company = "54fb80af-576c-4fdc-ba4f-b596c83f15a1";
    key_file = "/etc/kinsta-cron/acme.key"; }
);
jobs = (
  { name = "nightly"; schedule = "0 3 * * *"; account = "acme";
    action = "clear-cache";
    environment_id = "8b2f5e21-7c55-4b0e-9d34-6a1d2c3e4f50"; }
);
CONF
env -u CREDENTIALS_DIRECTORY /usr/sbin/kinsta-cron check \
	2>/tmp/kcron-pkg.$$ >/dev/null || fail "check with a key_file"
cat >/tmp/kcron-pkg-want.$$ <<'WANT'
/etc/kinsta-cron/kinsta-cron.conf:43: warning: account "main": company "00000000-0000-4000-8000-000000000000" is a placeholder, not your company; set company to your Kinsta company's ID (MyKinsta, Company settings, Billing details)
/etc/kinsta-cron/conf.d/acme.conf:3: warning: account "acme": key_file "/etc/kinsta-cron/acme.key": kinsta-cron.service cannot read it (the service runs as its own user, DynamicUser=yes, not as the file's owner, and cannot see /home, /root, /tmp or /etc/kinsta-cron/credentials), so it would not start; give it the key as a credential, which systemd reads as root: move the file to /etc/kinsta-cron/credentials/acme, delete the key_file line and add "LoadCredential=acme:/etc/kinsta-cron/credentials/acme" with "systemctl edit kinsta-cron"
WANT
diff -u /tmp/kcron-pkg-want.$$ /tmp/kcron-pkg.$$ || fail "the key_file warning"
rm -f /etc/kinsta-cron/acme.key /etc/kinsta-cron/conf.d/acme.conf \
	/tmp/kcron-pkg.$$ /tmp/kcron-pkg-want.$$

step "bash completion, as bash-completion loads it"
got=$(bash -c '
	. /usr/share/bash-completion/bash_completion
	_completion_loader kinsta-cron
	COMP_WORDS=(kinsta-cron st); COMP_CWORD=1
	COMP_LINE="kinsta-cron st"; COMP_POINT=${#COMP_LINE}
	_kinsta_cron kinsta-cron st kinsta-cron
	echo "${COMPREPLY[*]}"')
[ "$got" = status ] || fail "completion of \"kinsta-cron st\": \"$got\""

step "libcurl: loaded by run, not mapped at every start"
# http.c loads libcurl with dlopen; Depends (checked above) must bring it.
ldd /usr/sbin/kinsta-cron | grep -q libcurl &&
	fail "the program links libcurl: every command pays for it"
tmp=$(mktemp -d)
printf 'not-a-key\n' >"$tmp/key"
chmod 600 "$tmp/key"
# Nothing listens on port 9 of loopback: the request fails in curl.
cat >"$tmp/run.conf" <<EOF
api = { url = "http://127.0.0.1:9/v2"; timeout = 5; };
state_dir = "$tmp";
accounts = ( { name = "a"; company = "54fb80af-576c-4fdc-ba4f-b596c83f15a1";
               key_file = "key"; } );
jobs = ( { name = "j"; schedule = "@daily"; action = "clear-cache";
           environment_id = "8b2f5e21-7c55-4b0e-9d34-6a1d2c3e4f50";
           retries = 0; } );
EOF
/usr/sbin/kinsta-cron -c "$tmp/run.conf" run j >"$tmp/out" 2>&1 &&
	fail "run reached a server on 127.0.0.1:9"
grep -q "outcome=failed.*onnect" "$tmp/out" ||
	{ cat "$tmp/out"; fail "run did not get to libcurl"; }
rm -rf "$tmp"

step "upgrade over itself keeps an edited conffile"
echo "# edited by package-test" >>/etc/kinsta-cron/kinsta-cron.conf
apt-get install -y -qq --reinstall "$deb" >/dev/null
grep -q "edited by package-test" /etc/kinsta-cron/kinsta-cron.conf ||
	fail "the upgrade replaced the edited configuration"
[ -f /etc/kinsta-cron/credentials/main ] || fail "the upgrade lost the key"

step "remove"
apt-get remove -y -qq kinsta-cron >/dev/null
[ ! -e /usr/sbin/kinsta-cron ] || fail "remove left the binary"
[ ! -e $unit ] || fail "remove left the unit"
[ -f /etc/kinsta-cron/kinsta-cron.conf ] || fail "remove deleted the conffile"

step "purge"
apt-get purge -y -qq kinsta-cron >/dev/null
trap - EXIT
for f in /etc/kinsta-cron /var/lib/kinsta-cron /var/lib/private/kinsta-cron \
	/etc/systemd/system/multi-user.target.wants/kinsta-cron.service \
	/etc/systemd/system/kinsta-cron.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then fail "purge left $f"; fi
done
dpkg-query -W kinsta-cron >/dev/null 2>&1 && fail "dpkg still knows kinsta-cron"
step "ok"
