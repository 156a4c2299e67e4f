#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dsm_2vm.sh: the guest half of devtools/dsm-2vm. One node of the
# distributed shared memory (selftests/dsm_node) in this dev VM, the other
# in a second dev VM, on a virtual Ethernet between the two (QEMU's socket
# netdev: devtools/vm --net). Node a, the manager, is 10.0.2.1; node b is
# 10.0.2.2. Its exit status is dsm_node's.
#
# USAGE: selftests/dsm_2vm.sh a|b PORT [dsm_node options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
role=${1:?a or b}
port=${2:?PORT}
shift 2
case "$role" in
a) addr=10.0.2.1 ;;
b) addr=10.0.2.2 ;;
*) echo "dsm_2vm: role '$role': a or b" >&2; exit 2 ;;
esac

modprobe virtio_net
dev=
for _ in $(seq 100); do
	for d in /sys/class/net/*; do
		[ "${d##*/}" = lo ] || [ ! -e "$d" ] || { dev=${d##*/}; break; }
	done
	[ -n "$dev" ] && break
	sleep 0.1
done
[ -n "$dev" ] || { echo "dsm_2vm: no network interface (is the VM's --net set?)" >&2; exit 2; }
ip addr add "$addr/24" dev "$dev"
ip link set "$dev" up
echo "dsm_2vm: node $role is $addr on $dev ($(cat "/sys/class/net/$dev/address"))"

insmod "$top/module/vmfault.ko"
trap 'rmmod vmfault 2>/dev/null || true' EXIT
rc=0
if [ "$role" = a ]; then
	"$top/selftests/dsm_node" "$@" a "$port" || rc=$?
else
	"$top/selftests/dsm_node" "$@" b 10.0.2.1 "$port" || rc=$?
fi
rmmod vmfault
trap - EXIT
exit "$rc"
