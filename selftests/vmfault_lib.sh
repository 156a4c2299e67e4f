# SPDX-License-Identifier: GPL-2.0
#
# vmfault_lib.sh: what the shell test programs of selftests/ share (sourced,
# bash): KTAP output in the form kselftest's runner and make check read,
# bounded waits for bpftrace, and the parsers of bpftrace's and
# /proc/vmfault's output. vmfault_lib_test.sh tests the parsers.
# shellcheck shell=bash

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_pass=0
ktap_fail=0
ktap_skip=0
ktap_n=0

# ktap_begin: the header. The plan comes last (ktap_end): how many cases
# run depends on the target (the debug kernel stops early; x86 has one
# fault view more).
ktap_begin() {
	echo "TAP version 13"
}

# ktap_result OK|FAIL NAME [DETAIL]: one case.
ktap_result() {
	ktap_n=$((ktap_n + 1))
	if [ "$1" = OK ]; then
		ktap_pass=$((ktap_pass + 1))
		echo "ok $ktap_n $2"
	else
		ktap_fail=$((ktap_fail + 1))
		echo "not ok $ktap_n $2${3:+ # $3}"
	fi
}

# ktap_check NAME DETAIL CMD...: a case that passes when CMD succeeds.
ktap_check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then
		ktap_result OK "$name"
	else
		ktap_result FAIL "$name" "$detail"
	fi
}

# ktap_skip_program REASON: the whole program does not apply here.
ktap_skip_program() {
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	exit "$KSFT_SKIP"
}

# ktap_end: the plan, the totals line make check counts, the exit status.
ktap_end() {
	echo "1..$ktap_n"
	echo "# Totals: pass:$ktap_pass fail:$ktap_fail xfail:0 xpass:0 skip:$ktap_skip error:0"
	[ "$ktap_fail" = 0 ] && exit "$KSFT_PASS"
	exit "$KSFT_FAIL"
}

# vmfault_scripts_dir HERE: the directory of the dashboards, for a program
# in HERE: the build tree's HERE/../scripts, else that of the installed
# vmfault-top on $PATH (make install links it from PREFIX/share/vmfault).
vmfault_scripts_dir() {
	local t
	if [ -x "$1/../scripts/vmfault-top" ]; then
		(cd "$1/../scripts" && pwd)
	elif t=$(command -v vmfault-top); then
		dirname "$(readlink -f "$t")"
	else
		return 1
	fi
}

# vmfault_vmfaultfs HERE: the vmfaultfs program: HERE/../fusefs/vmfaultfs in
# the build tree, else the one on $PATH.
vmfault_vmfaultfs() {
	if [ -x "$1/../fusefs/vmfaultfs" ]; then
		(cd "$1/../fusefs" && echo "$PWD/vmfaultfs")
	else
		command -v vmfaultfs
	fi
}

# wait_for FILE PATTERN: wait (at most 60 s) until FILE has PATTERN.
wait_for() {
	local _
	for _ in $(seq 120); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.5; done
	return 1
}

# bt_ready FILE: wait until bpftrace, writing to FILE, has attached.
bt_ready() {
	wait_for "$1" Tracing || echo "# $1: bpftrace did not start" >&2
}

# stop_within SECS PID NAME: reap PID after its SIGINT, within SECS; else
# print its threads' kernel stacks, SIGKILL it and return 1.
#
# bpftrace before 0.19 (Debian 12 has 0.17) loses a SIGINT that arrives
# while it is between two epoll_wait() calls: the handler sets its exit
# flag, but the poll loop only looks at the flag when epoll_wait() fails
# with EINTR. So, like a user pressing Ctrl-C again, send another SIGINT
# every 3 s while the process still sleeps in epoll_wait() (it does not
# once it has left the loop to print its maps).
stop_within() {
	local i t
	for ((i = 1; i <= $1 * 10; i++)); do
		kill -0 "$2" 2>/dev/null || { wait "$2"; return 0; }
		if ((i % 30 == 0)) && [ "$(cat /proc/"$2"/wchan 2>/dev/null)" = do_epoll_wait ]; then
			echo "# $3 (pid $2) still polls $((i / 10)) s after SIGINT; sending another"
			kill -INT "$2" 2>/dev/null
		fi
		sleep 0.1
	done
	echo "# $3 (pid $2) did not exit $1 s after SIGINT; its threads' kernel stacks:"
	for t in /proc/"$2"/task/*; do
		echo "# -- $t $(cat "$t/comm" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/# /' "$t/stack" 2>/dev/null
	done
	pkill -KILL -P "$2" 2>/dev/null
	kill -KILL "$2" 2>/dev/null
	wait "$2"
	return 1
}

# proc_snapshot ARRAY: /proc/vmfault into an associative array.
proc_snapshot() {
	local -n snap=$1
	local name value
	while read -r name value; do snap[$name]=$value; done </proc/vmfault
}

# bt_value FILE MAP KEY: the value of "@MAP[KEY]: N" (or "@MAP: N" with an
# empty KEY) in bpftrace's output; 0 when absent.
bt_value() {
	awk -F': ' -v want="@$2${3:+[$3]}" '$1 == want { v = $2 } END { print v + 0 }' "$1"
}

# bt_sum FILE MAPREGEX KEYREGEX: the sum of "@MAP[KEY]: N" over the maps
# and keys that match the two awk regular expressions, each whole.
bt_sum() {
	awk -F': ' -v re="^@($2)\\[($3)\\]\$" '$1 ~ re { n += $2 } END { print n + 0 }' "$1"
}

# bt_hist_count FILE MAP: the samples in the histograms of @MAP (every key),
# the counts of their "[lo, hi)  N |@@@|" lines.
bt_hist_count() {
	awk -v map="@$2" '
		/^@/ { in_map = (index($0, map "[") == 1 || index($0, map ":") == 1) }
		in_map && /^\[/ { sub(/^[^)\]]*[)\]]/, ""); n += $1 }
		END { print n + 0 }' "$1"
}

# kv_value FILE NAME: the value of a "NAME VALUE" line (/proc/vmfault,
# vmfault-top's rows use "NAME RATE TOTAL"); empty when absent.
kv_value() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# word_after TEXT WORD: the word that follows WORD in TEXT ("read_requests
# 64 read_bytes ..." -> 64 for read_requests).
word_after() {
	awk -v w="$2" '{ for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1); exit } }' <<<"$1"
}

# tlb_probe: the bpftrace program (its probes) that counts the TLB flushes
# of process $1: @sent, the remote flushes it asks for; @received, the
# flushes other CPUs do for it (x86); @local, those of its own CPU only.
# x86: the tlb:tlb_flush tracepoint's reasons TLB_REMOTE_SEND_IPI (4),
# TLB_REMOTE_SHOOTDOWN (1), TLB_LOCAL_SHOOTDOWN (2) and
# TLB_LOCAL_MM_SHOOTDOWN (3). RISC-V has no such
# tracepoint: the writer's __flush_tlb_range() calls (fentry) whose CPU
# mask names another CPU go out as remote sfence.vma (IPIs, or SBI's
# remote fence; fentry on those functions themselves fails to attach or
# never fires on Debian's 6.12), the others flush the local TLB only.
# Empty elsewhere.
tlb_probe() {
	case $(uname -m) in
	x86_64) echo 'tracepoint:tlb:tlb_flush /pid == $1 && args->reason == 4/ { @sent = count(); }
tracepoint:tlb:tlb_flush /pid == $1 && args->reason == 1/ { @received = count(); }
tracepoint:tlb:tlb_flush /pid == $1 && (args->reason == 2 || args->reason == 3)/ { @local = count(); }' ;;
	riscv64) echo 'kfunc:__flush_tlb_range /pid == $1/ {
	if (args->cmask->bits[0] & ~(1 << cpu)) { @sent = count(); } else { @local = count(); } }' ;;
	esac
}

# tlb_count TARGET THREADS PAGES CPUS OUT: run tlb_target (TARGET) on CPUS
# and count the flushes of its writes only (it waits for a line before and
# after them) into OUT, bpftrace's output; tlb_target's "done" line on
# stdout (not into OUT: bpftrace, still writing there, would overwrite it).
# bpftrace runs on the first of CPUS, beside tlb_target's writer: on a
# spinner's CPU it would take turns with the spinners, and each write made
# while it ran there would need no remote flush (x86 takes a CPU out of
# an mm's cpumask when it switches to another process's mm). A CI run
# under load counted 113 remote flushes of 256 that way. tlb_target's
# spinners are real-time for the writes (SCHED_FIFO), so that no other
# process takes their CPU meanwhile.
tlb_count() {
	local bt rc=0 tpid line
	coproc TGT { exec taskset -c "$4" "$1" "$2" "$3"; }
	tpid=$TGT_PID
	read -r line <&"${TGT[0]}"
	[ "$line" = go ] || { echo "# tlb_target: $line"; return 1; }
	taskset -c "${4%%[-,]*}" bpftrace -e "BEGIN { printf(\"Tracing\n\"); } $(tlb_probe)" "$tpid" >"$5" 2>&1 &
	bt=$!
	bt_ready "$5"
	echo >&"${TGT[1]}"
	read -r line <&"${TGT[0]}"
	echo "# $2 thread(s) on CPUs $4: $line"
	kill -INT "$bt"
	stop_within 30 "$bt" "bpftrace (TLB)" || rc=1
	echo >&"${TGT[1]}"
	wait "$tpid" || rc=1
	return $rc
}
