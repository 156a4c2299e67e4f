#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lecture.sh: what the fault handler learns at a fault, checked against
# what the faulting program learns. scripts/faultdecode runs
# faultdecode_target, whose accesses are known (their address, and for
# the two that end in SIGSEGV the si_code and the instruction from the
# ucontext), and each decoded line must say what the hardware reported:
#
# - x86: "addr A err 4 = user read not-present" for the first read of a
#   page, "err 6 = user write not-present" for the store to an unmapped
#   page (SEGV_MAPERR), "err 7 = user write protection" for the store to a
#   read-only one (SEGV_ACCERR), each with ip = the signal's pc;
# - RISC-V: scause 13 (load page fault) and 15 (store page fault) with
#   stval = the address and sepc = the signal's pc;
# - with the module loaded, the faults in a /dev/vmfault page are followed
#   by the module's view (the vmfault_fault tracepoint's cause and ip): a
#   user read that mapped the region page, then a user write that made it
#   writable, each with the instruction pointer the hardware line showed;
# - TLB shootdowns: replacing the zero page in 256 pages of a process with
#   4 threads on 2 CPUs (3 spinning on the other CPU, real-time while the
#   writer writes) sends exactly one remote TLB flush per page, and none
#   in a process that has only ever run on one CPU.
#
# Needs root, bpftrace and the module loaded (make check's dev VM), and
# for the TLB case 2 CPUs. On the debug target (VMFAULT_TARGET *-debug:
# one vCPU, bpftrace slow to start) only the target's own view is checked.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vmfault_lib.sh
. "$here/vmfault_lib.sh"
scripts=$(vmfault_scripts_dir "$here") || ktap_skip_program "the dashboards are neither in ../scripts nor on \$PATH"
[ -e /dev/vmfault ] || ktap_skip_program "/dev/vmfault: No such file or directory (is the vmfault module loaded?)"
command -v bpftrace >/dev/null || ktap_skip_program "bpftrace is not installed"
out=${VMFAULT_OUT:-$(mktemp -d /tmp/vmfault-lecture.XXXXXX)}
mkdir -p "$out"
ktap_begin

log=$out/faultdecode.txt
# The debug target (one vCPU, KASAN, lockdep) takes minutes to start a
# bpftrace program, as dashboards.sh says: there the target runs alone,
# its own view of its faults is checked, and the decoding and the TLB
# shootdowns are left to the production kernels.
debug=0
case ${VMFAULT_TARGET:-} in *-debug) debug=1 ;; esac
if [ "$debug" = 1 ]; then
	if "$here/faultdecode_target" >"$log" 2>&1; then
		ktap_result OK "faultdecode_target ran to its end (debug kernel: without the decoder)"
	else
		ktap_result FAIL "faultdecode_target ran to its end"
	fi
elif timeout 300 "$scripts/faultdecode" "$here/faultdecode_target" >"$log" 2>&1; then
	ktap_result OK "faultdecode ran faultdecode_target to its end"
else
	ktap_result FAIL "faultdecode ran faultdecode_target to its end"
fi
sed 's/^/# /' "$log"

case $(uname -m) in
x86_64) arch=x86 ;;
riscv64) arch=riscv ;;
*) arch=other ;;
esac
# target LINE-KIND N FIELD: field FIELD of the Nth "target: KIND" line
target() { awk -v k="$1" -v n="$2" -v f="$3" '$1 == "target:" && $2 == k && ++i == n { print $f }' "$log"; }
# ip_of LINE: the instruction pointer of a decoded line
ip_of() { sed -nE 's/.* (ip|sepc) (0x[0-9a-f]+).*/\2/p' <<<"$1"; }

read_addr=$(target read 1 3)
segv1=$(target segv 1 3); code1=$(target segv 1 5); pc1=$(target segv 1 7)
segv2=$(target segv 2 3); code2=$(target segv 2 5); pc2=$(target segv 2 7)
vread=$(target vmfault-read 1 3)
vwrite=$(target vmfault-write 1 3)
ktap_check "the target took its faults (read, SEGV_MAPERR, SEGV_ACCERR, a vmfault page)" \
	"read $read_addr, codes $code1 $code2, vmfault $vread" test -n "$read_addr" -a "$code1" = 1 -a "$code2" = 2 -a -n "$vread" -a "$vwrite" = "$vread"
if [ "$debug" = 1 ]; then
	echo "# debug kernel: the decoding and the TLB shootdowns are checked on the production kernels"
	ktap_end
fi

# decoded LINE...: is the line (a fixed string) in the decoded output?
decoded() { grep -qxF "$1" "$log"; }
# A MAP_SHARED page is mapped read-only by the read fault, so the write is
# a protection fault; ->page_mkwrite does not see whether it came from user
# mode (core mm passes it FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE only).
case $arch in
x86)
	want_read="addr $read_addr err 4 = user read not-present"
	want_maperr="addr $segv1 err 6 = user write not-present ip $pc1"
	want_accerr="addr $segv2 err 7 = user write protection ip $pc2"
	hw_vread="addr $vread err 4 = user read not-present ip "
	hw_vwrite="addr $vread err 7 = user write protection ip "
	;;
riscv)
	want_read="scause 13 (load page fault) stval $read_addr sepc "
	want_maperr="scause 15 (store page fault) stval $segv1 sepc $pc1 user"
	want_accerr="scause 15 (store page fault) stval $segv2 sepc $pc2 user"
	hw_vread="scause 13 (load page fault) stval $vread sepc "
	hw_vwrite="scause 15 (store page fault) stval $vread sepc "
	;;
*)
	want_read=unsupported want_maperr=unsupported want_accerr=unsupported
	hw_vread=unsupported hw_vwrite=unsupported
	;;
esac
ktap_check "read of a fresh page is decoded: $want_read" "got: $(grep -F "$read_addr" "$log" | head -3 | tr '\n' '/')" \
	grep -qF "$want_read" "$log"
ktap_check "store to an unmapped page (SEGV_MAPERR) is decoded: $want_maperr" \
	"got: $(grep -F "$segv1" "$log" | tr '\n' '/')" decoded "$want_maperr"
ktap_check "store to a read-only page (SEGV_ACCERR) is decoded: $want_accerr" \
	"got: $(grep -F "$segv2" "$log" | tr '\n' '/')" decoded "$want_accerr"

# The vmfault page: each hardware line, then the module's line with the
# same instruction pointer.
r=$(grep -m1 -F "$hw_vread" "$log")
w=$(grep -m1 -F "$hw_vwrite" "$log")
r_ip=$(ip_of "$r")
w_ip=$(ip_of "$w")
ktap_check "vmfault read: $r, then the module mapped the region page (user read) at the same ip" \
	"got: $(grep -A1 -F "$hw_vread" "$log" | tr '\n' '/')" \
	grep -qE "^  vmfault: region [0-9]+ page 0: region page mapped \(user read\) ip ${r_ip:-none}$" "$log"
ktap_check "vmfault write: $w, then the module made the page writable at the same ip" \
	"got: $(grep -A1 -F "$hw_vwrite" "$log" | tr '\n' '/')" \
	grep -qE "^  vmfault: region [0-9]+ page 0: made writable \(write, via ->page_mkwrite\) ip ${w_ip:-none}$" "$log"


# ---- TLB shootdowns: a zero-page replacement, 4 threads against 1 ----
# tlb_target replaces the zero page in 256 pages of a MAP_PRIVATE region
# (a COW of each); the old translation must leave every TLB that may hold
# it. tlb_probe and tlb_count (vmfault_lib.sh) count the writes' remote
# and local flushes.
tlb_probe=$(tlb_probe)
if [ -z "$tlb_probe" ]; then
	ktap_result FAIL "TLB shootdowns: no way to count them on $(uname -m)"
elif [ "$(nproc)" -lt 2 ]; then
	ktap_result FAIL "TLB shootdowns need 2 CPUs (this guest has $(nproc))"
else
	pages=256
	d4=$(tlb_count "$here/tlb_target" 4 $pages 0-"$(($(nproc) - 1))" "$out/tlb-4.txt")
	d1=$(tlb_count "$here/tlb_target" 1 $pages 0 "$out/tlb-1.txt")
	printf '%s\n%s\n' "$d4" "$d1"
	sed 's/^/# /' "$out/tlb-4.txt" "$out/tlb-1.txt"
	s4=$(bt_value "$out/tlb-4.txt" sent) r4=$(bt_value "$out/tlb-4.txt" received)
	s1=$(bt_value "$out/tlb-1.txt" sent) r1=$(bt_value "$out/tlb-1.txt" received)
	echo "# tlb: $pages zero-page replacements: 4 threads on 2 CPUs: sent $s4 received $r4; 1 thread on 1 CPU: sent $s1 received $r1"
	# One remote flush per replacement while a thread of the process runs
	# on the other CPU (the writer on CPU 0, the spinners on the others,
	# SCHED_FIFO for the writes, so that no other process takes that CPU
	# out of the mm's cpumask meanwhile); none when the process has only
	# ever run on one CPU. x86: each IPI sent is received (a CPU in lazy
	# TLB mode, running a kernel thread, would skip it; the real-time
	# spinners leave none running there). RISC-V counts the sender only.
	ok4=0
	[ "$s4" = $pages ] && { [ "$(uname -m)" != x86_64 ] || [ "$r4" = $pages ]; } &&
		[[ $d4 == *"spinners SCHED_FIFO;"* ]] && ok4=1
	ktap_check "TLB shootdowns: $pages replacements, 4 threads on 2 CPUs, the spinners real-time: one remote flush each" \
		"sent $s4 received $r4; ${d4#\# }" test $ok4 = 1
	ktap_check "TLB shootdowns: the same, one thread on one CPU: none" \
		"sent $s1 received $r1" test "$s1" = 0 -a "$r1" = 0
fi
ktap_end
