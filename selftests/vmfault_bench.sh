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
# Settle: for a while after boot the guest does work of its own that
# icount charges to whatever runs (read-hole measured 4161 instructions
# against 2170 a minute later, a shared first write 14798 against 7101,
# with the same module). Probe a shared first write until two probes in a
# row agree within 1% (at most 20 probes).
prev=0
settled=no
for probe in $(seq 20); do
	cur=$("$top/selftests/vmfault_bench" -s write-first -t 3 |
	      awk -F'\t' '$2 == "vmfault-shared" { print $4 }')
	if [ -n "$cur" ] && [ "$prev" -gt 0 ] &&
	   awk -v a="$cur" -v b="$prev" 'BEGIN { d = a - b; exit !(d * d <= (b / 100) ^ 2) }'; then
		settled="after $probe probes ($prev, $cur instructions per shared first write)"
		break
	fi
	prev=${cur:-0}
done
{
	echo "# settled: $settled"
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
