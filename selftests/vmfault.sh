#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmfault.sh: run the installed vmfault kselftests with the module loaded,
# as test_hmm.sh runs hmm-tests: load the module, run the suite, unload it.
#
# USAGE: vmfault.sh [run_kselftest.sh OPTIONS]    (root)
#        vmfault.sh -h                            this help
#
# Without OPTIONS it runs '../run_kselftest.sh -c vmfault' (every program,
# with the timeout of vmfault/settings); with OPTIONS (e.g.
# '-t vmfault:cow_test') it passes them on. The module is the installed
# one (modprobe vmfault: make install, or the vmfault-dkms package), or
# $VMFAULT_KO. If the module was already loaded it is used and left loaded.
# Exit status: 0 when every test passed, 1 when one failed, 4 (kselftest's
# SKIP) when there is no module to load, 2 for bad usage.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ksft_skip=4
case "${1:-}" in
-h|--help) sed -n '3,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
# Only run_kselftest.sh's options (checked here: it exits 1 on a bad one).
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	-t|--test|-c|--collection) [ $# -ge 2 ] || { echo "vmfault.sh: $1 needs an argument" >&2; exit 2; }; shift 2 ;;
	-s|--summary|-l|--list|-d|--dry-run) shift ;;
	*) echo "vmfault.sh: unknown option '$1' ('vmfault.sh -h')" >&2; exit 2 ;;
	esac
done
set -- "${args[@]}"
runner=$here/../run_kselftest.sh
[ -x "$runner" ] || { echo "vmfault.sh: $runner missing: run the installed tree (make -C selftests install INSTALL_PATH=DIR)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "vmfault.sh: loading a module needs root" >&2; exit 2; }

loaded=0
if [ ! -d /sys/module/vmfault ]; then
	if [ -n "${VMFAULT_KO:-}" ]; then
		insmod "$VMFAULT_KO" || { echo "vmfault.sh: insmod $VMFAULT_KO failed" >&2; exit 1; }
	elif ! modinfo vmfault >/dev/null 2>&1; then
		echo "1..0 # SKIP the vmfault module is not installed for $(uname -r) (modinfo vmfault)"
		exit $ksft_skip
	elif ! modprobe vmfault; then
		echo "vmfault.sh: modprobe vmfault failed" >&2
		exit 1
	fi
	loaded=1
fi
# vmfault_test's module-parameter cases reload the module from its .ko.
[ -n "${VMFAULT_KO:-}" ] || VMFAULT_KO=$(modinfo -n vmfault 2>/dev/null) || true
export VMFAULT_KO

[ $# -gt 0 ] || set -- -c vmfault
log=$(mktemp /tmp/vmfault-ksft.XXXXXX)
"$runner" "$@" | tee "$log"
rc=0
grep -q '^not ok ' "$log" && rc=1
grep -q '^ok ' "$log" || rc=1	# nothing ran
rm -f "$log"
if [ "$loaded" = 1 ] && ! rmmod vmfault; then
	echo "vmfault.sh: rmmod vmfault failed (a region still open?)" >&2
	rc=1
fi
exit $rc
