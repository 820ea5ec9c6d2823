#!/bin/sh
# The Debian package, end to end, on this machine (CI runs it as root):
# build it with cpack, install it with apt-get, check what a sysadmin gets
# (files, conffiles, the service neither enabled nor started, the unit's
# verify and security score, "kinsta-cron check" of the installed
# configuration once a key is in place), upgrade it over itself keeping an
# edited conffile, then remove and purge it and check that nothing is left.
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

# cpack's dependency list needs dpkg-shlibdeps (dpkg-dev) and file(1).
need=
for p in dpkg-dev file; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086 # a list of names
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

step "build in $out"
cmake -S "$top" -B "$out" -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKCRON_WERROR=ON >/dev/null
cmake --build "$out" -j"$jobs" --target kinsta-cron >/dev/null
rm -f "$out"/kinsta-cron_*.deb
(cd "$out" && cpack -G DEB >/dev/null)
set -- "$out"/kinsta-cron_*.deb
[ -f "$1" ] || fail "cpack made no kinsta-cron_*.deb"
# Absolute: apt-get takes "build/deb/x.deb" for a package "build" from a
# release "deb/x.deb"; only a path starting with / or ./ is a file to it.
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dpkg-deb -f "$deb" Package Version Depends

# What the control archive says.
for lib in libc6 libcurl4 libuv1 libconfig9 libyajl2 ca-certificates tzdata; do
	dpkg-deb -f "$deb" Depends | grep -q "\\b$lib\\b" ||
		fail "Depends lacks $lib"
done
if command -v lintian >/dev/null; then
	# Advisory: the Maintainer and the copyright file are the project's.
	lintian --tag-display-limit 0 "$deb" 2>/dev/null || true
fi
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
rm -f /tmp/kcron-pkg.$$

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
