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
#   NOSTATS_KO "none": only the run with the module as built (devtools/bench's
#   pass on a vCPU without ERMS, and its two-thread pass), no cost model and
#   no comparison build.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?OUT}
nostats=${2:?NOSTATS_KO}
shift 2

# The dev VM copies kallsyms after a module comes or goes (devtools/vm-init):
# about 280 million instructions of guest work, which icount would charge
# to the scenario running then (it doubled read-hole's first comparators).
# Wait until a round of its poll that began after the module came is done
# and its copy names the modules loaded now: two rounds past the one
# counted on entry (that one may have read /proc/modules before the
# insmod). Not the name alone: right after boot the first copy has not
# written one yet, and a module loaded again at the same address (rmmod,
# insmod of the comparison build) gives the same name while a copy for
# its removal may be under way; both let the copy run beside the first
# scenario. Outside the dev VM (no /run/vmfault/started) there is none.
kallsyms_caught_up() {
	local want round=-1 now

	[ -e /run/vmfault/started ] || return 0
	want=$(awk '{ printf "%s %s;", $1, $6 }' /proc/modules)
	for _ in $(seq 200); do
		now=$(cat /run/vmfault/kallsyms.round 2>/dev/null || echo 0)
		[ "$round" -ge 0 ] || round=$now
		[ "$now" -ge $((round + 2)) ] &&
			[ "$(cat /run/vmfault/kallsyms.modules 2>/dev/null)" = "$want" ] && return 0
		sleep 0.2
	done
	echo "vmfault_bench.sh: the dev VM's kallsyms copy did not catch up in 40 s" >&2
}

# How this guest clears and copies a page, which decides what icount counts
# for it: one instruction per rep iteration, so a 4 KiB rep stosb (ERMS)
# is 4096 and a rep stosq 512. Linux picks clear_page's variant from the
# erms and rep_good flags; copy_page is rep movsq with rep_good.
pages_line() {
	local flags clear copy init

	flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2 || true) "
	case $(uname -m) in
	x86_64)
		case $flags in
		*" erms "*) clear="clear_page_erms (rep stosb: 4096 per 4 KiB)" ;;
		*" rep_good "*) clear="clear_page_rep (rep stosq: 512 per 4 KiB)" ;;
		*) clear="clear_page_orig (unrolled stores)" ;;
		esac
		case $flags in
		*" rep_good "*) copy="copy_page (rep movsq: 512 per 4 KiB)" ;;
		*) copy="copy_page_regs (unrolled loads and stores)" ;;
		esac ;;
	*) clear="clear_page ($(uname -m): no string-instruction variants)"; copy="copy_page" ;;
	esac
	init=$(dmesg | sed -n 's/.*heap alloc:\([a-z]*\).*/\1/p' | head -n 1)
	echo "# pages: $clear, $copy, init_on_alloc ${init:-unknown}"
}

insmod "$top/module/vmfault.ko"
trap 'rmmod vmfault 2>/dev/null || true' EXIT
kallsyms_caught_up
# Settle: for a while after boot the guest does work of its own that
# icount charges to whatever runs (read-hole measured 4161 instructions
# against 2170 a minute later, a shared first write 14798 against 7101,
# with the same module). Probe a shared first write until two probes in a
# row agree within 1% (at most 20 probes).
# In wall-clock time (devtools/bench's two-thread pass, two vCPUs) the
# first private first writes after boot ran 1.2 to 3 times slower than
# the rest (27319 ns per page, then 9043, 18005 and 10128 against 9100
# from then on; still 11106 and 10346 with the guest's memory
# preallocated on the host): probe one thread's private first writes
# until two probes in a row agree within 5% (at most 10 probes).
prev=0
settled=no
if [ "$(nproc)" = 1 ]; then
	probes=20 tol=1 probe=(-s write-first -t 3) comp=vmfault-shared what="instructions per shared first write"
else
	probes=10 tol=5 probe=(-s write-threads -t 3) comp=vmfault-1t what="ns per private first write, one thread"
fi
for probe_nr in $(seq "$probes"); do
	cur=$("$top/selftests/vmfault_bench" "${probe[@]}" |
	      awk -F'\t' -v c="$comp" '$2 == c { print $4 }')
	if [ -n "$cur" ] &&
	   awk -v a="$cur" -v b="$prev" -v t="$tol" 'BEGIN { d = a - b; exit !(b > 0 && d * d <= (b * t / 100) ^ 2) }'; then
		settled="after $probe_nr probes ($prev, $cur $what)"
		break
	fi
	prev=${cur:-0}
done
{
	echo "# settled: $settled"
	echo "# kernel $(uname -r), $(uname -m), $(nproc) CPU, clock $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	pages_line
	"$top/selftests/vmfault_bench" "$@"
} >"$out.tmp"
if [ "$nostats" = none ]; then
	mv "$out.tmp" "$out"
	exit 0
fi
eat=$(dirname "$out")/eat-icount.tsv
rc=0
"$top/selftests/vmfault_eat" >"$eat.tmp" || rc=$?
[ "$rc" = 0 ] || echo "# vmfault_eat exited $rc" >>"$eat.tmp"
mv "$eat.tmp" "$eat"
rmmod vmfault
insmod "$nostats"
kallsyms_caught_up
"$top/selftests/vmfault_bench" "$@" --tag nostats \
	-s read-hole,read-hole-fa,write-first,cow-private >>"$out.tmp"
rmmod vmfault
mv "$out.tmp" "$out"
