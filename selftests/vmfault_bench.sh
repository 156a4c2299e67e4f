#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmfault_bench.sh: the guest half of 'make bench', run by devtools/vm in the dev
# VM (one vCPU, -icount shift=0). Runs selftests/vmfault_bench with the
# module as built, then only vmfault's comparators with the comparison
# build that has counters and tracepoints compiled out (NOSTATS_KO), and
# writes both to OUT. Then checks the cost model with the module as built
# (selftests/vmfault_eat) into eat-icount.tsv beside OUT: its exit status
# is its verdict, which the report prints.
#
# USAGE: selftests/vmfault_bench.sh OUT NOSTATS_KO [vmfault_bench options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?OUT}
nostats=${2:?NOSTATS_KO}
shift 2

insmod "$top/module/vmfault.ko"
trap 'rmmod vmfault 2>/dev/null || true' EXIT
{
	echo "# kernel $(uname -r), $(uname -m), $(nproc) CPU, clock $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	"$top/selftests/vmfault_bench" "$@"
} >"$out.tmp"
eat=$(dirname "$out")/eat-icount.tsv
rc=0
"$top/selftests/vmfault_eat" >"$eat.tmp" || rc=$?
[ "$rc" = 0 ] || echo "# vmfault_eat exited $rc" >>"$eat.tmp"
mv "$eat.tmp" "$eat"
rmmod vmfault
insmod "$nostats"
"$top/selftests/vmfault_bench" "$@" --tag nostats \
	-s read-hole,read-hole-fa,write-first,cow-private >>"$out.tmp"
rmmod vmfault
mv "$out.tmp" "$out"
