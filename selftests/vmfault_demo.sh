#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmfault_demo.sh: the guest half of 'make demo', run by devtools/vm in the dev
# VM. Loads the module, runs the narrated demonstrations, prints the
# counters, unloads the module. Exits non-zero if any step failed.
#
# USAGE: selftests/vmfault_demo.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=vmfault_lib.sh
. "$top/selftests/vmfault_lib.sh"

insmod "$top/module/vmfault.ko"
trap 'rmmod vmfault 2>/dev/null || true' EXIT
"$top/selftests/vmfault_demo"

echo
echo "== 13. What the fault handler learns (scripts/faultdecode) =="
echo "A program reads a fresh page, stores to an unmapped page and to a read-only"
echo "one (each a SIGSEGV it catches), then reads and writes a /dev/vmfault page."
echo "Each of its faults as the hardware reported it (x86: CR2 and the error code;"
echo "RISC-V: scause, stval, sepc), and what vmfault's handler did; the program's"
echo "own lines start with 'target:'. Of its faults (the loader's and libc's"
echo "too), those at the addresses it printed:"
decoded=$(mktemp /tmp/vmfault-faultdecode.XXXXXX)
"$top/scripts/faultdecode" "$top/selftests/faultdecode_target" >"$decoded"
awk '	NR == FNR { if ($1 == "target:") addr[$3] = 1; next }
	/^target: / { print; next }
	{ a = $1 == "addr" ? $2 : $1 == "scause" ? $(NF - 3) : "" }
	a != "" { show = a in addr; if (show) print; next }
	/^  vmfault: / && show' "$decoded" "$decoded" |
	sed 's/^/   /'
rm -f "$decoded"

echo
echo "== 14. TLB shootdowns: replacing the zero page, 4 threads against 1 =="
echo "256 private writes, each replacing the zero page in a /dev/vmfault page;"
echo "the old translation must leave every TLB that may hold it. Remote flushes"
echo "sent by the writer (on CPU 0) while 3 threads of the process spin on CPU 1,"
echo "then by a process that has only ever run on CPU 0:"
for spec in "4 0-$(($(nproc) - 1))" "1 0"; do
	read -r threads cpus <<<"$spec"
	tlbout=$(mktemp /tmp/vmfault-tlb.XXXXXX)
	done_line=$(tlb_count "$top/selftests/tlb_target" "$threads" 256 "$cpus" "$tlbout")
	echo "   $threads thread(s): ${done_line#*: }"
	grep '^@' "$tlbout" | sed 's/^/      /'
	rm -f "$tlbout"
done
echo "   -> one IPI per replacement while another CPU runs the process; none alone"

echo
echo "== /proc/vmfault after the demo =="
cat /proc/vmfault

# vmfaultfs: memory-mapped files on a disk we control.
echo
echo "== vmfaultfs: page faults that go to a (slow) disk =="
src=$(mktemp -d /tmp/vmfaultfs-src.XXXXXX)
mnt=$(mktemp -d /tmp/vmfaultfs-mnt.XXXXXX)
head -c $((256 * 4096)) /dev/urandom >"$src/data"
"$top/fusefs/vmfaultfs" -o "source=$src,read_delay_us=2000" "$mnt"
fspid=$(pgrep -n -x vmfaultfs)
trap 'umount "$mnt" 2>/dev/null; rmmod vmfault 2>/dev/null || true' EXIT
bdi=/sys/class/bdi/$(mountpoint -d "$mnt")/read_ahead_kb
walk() {	# walk TITLE [mmap_walk options]: one cold scan of the file
	local title=$1
	shift
	echo 1 >/proc/sys/vm/drop_caches
	echo "-- $title"
	"$top/selftests/mmap_walk" -s "$mnt" "$@" "$mnt/data" | sed 's/^/   /'
}
echo "A 1 MiB file (256 pages) on vmfaultfs; every READ takes 2 ms (read_delay_us)."
echo "Each scan maps it afresh (page cache dropped) and reads one byte per page."
walk "sequential scan, readahead 128 KiB: few faults, few large READs"
walk "random order (MADV_RANDOM): one major fault and one 4 KiB READ per page" -r -a random
echo 0 >"$bdi"
walk "sequential scan, readahead off: every page a major fault" -a normal
echo 128 >"$bdi"
echo "-- the same scan again, file now cached: only minor faults, no READ"
"$top/selftests/mmap_walk" -s "$mnt" "$mnt/data" | sed 's/^/   /'
echo "   (fault-around maps up to 16 cached pages per minor fault: filemap_map_pages)"
echo "-- $mnt/.vmfaultfs/stats after that last scan:"
grep -E '^read_' "$mnt/.vmfaultfs/stats" | sed 's/^/   /'

# A program paged in from the slow disk.
echo
echo "== programs paged in from a slow disk: exec of a static binary on vmfaultfs =="
cp "$top/selftests/lecture_prog" "$src/prog"
pages=$(( ($(stat -c %s "$src/prog") + 4095) / 4096 ))
echo 0 >"$bdi"
for run in first second; do
	echo zero_stats >"$mnt/.vmfaultfs/ctl"
	start=$(date +%s%N)
	"$mnt/prog" text >/dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "   $run run: $(awk '$1 == "read_requests" { print $2 }' "$mnt/.vmfaultfs/stats") READs" \
		"of 4 KiB (readahead off), $ms ms; the file has $pages pages"
done
echo "   -> only the pages the run touched are read, each once; the second run"
echo "      finds them all in the page cache"
echo "Its 64 MiB zero-initialised array (BSS), read page by page, then 3 writes"
echo "(MADV_NOHUGEPAGE: 4 KiB pages, as the lecture draws them):"
"$top/selftests/lecture_prog" bss | sed 's/^/   /'
echo "   -> every page read is the zero page and RSS does not move; 3 writes, 3 pages"
echo "The same with transparent huge pages (the kernel's default here): one fault"
echo "per 2 MiB maps the huge zero page; a write splits it or takes a huge page:"
"$top/selftests/lecture_prog" bss-thp | sed 's/^/   /'
echo 128 >"$bdi"

# File mode: the same file, paged in by vmfault's own fault handler.
echo
echo "== demand paging by vmfault's own fault handler (file mode) =="
echo "The same file mapped through /dev/vmfault, backing fd = $mnt/data: a fault"
echo "on a missing page reads it, and window - 1 pages after it, from the file"
echo "into the region (one READ, a major fault); fault-around maps resident"
echo "neighbours without a fault of their own (->map_pages)."
for w in 1 4 16 64; do
	walk "file mode, prefetch window $w, fault-around on" -w "$w"
done
walk "file mode, prefetch window 16, fault-around off: 256 faults, 16 of them major" -w 16 -F
echo "-- the next window in flight while the current one is used (-A:"
echo "   VMFAULT_FLAG_ASYNC_PREFETCH, the page cache's asynchronous readahead):"
echo "   the same READs, read in the background; the faults that find them are minor"
walk "file mode, prefetch window 32, the next window in flight" -w 32 -A
echo "-- the page cache (filemap_fault, readahead 128 KiB) for comparison"
walk "page cache" 
echo "-- /usr/bin/time -v: minor and major faults of the whole process (startup"
echo "   included), window 1 against the page cache:"
for args in "-w 1" ""; do
	echo 1 >/proc/sys/vm/drop_caches
	# shellcheck disable=SC2086
	/usr/bin/time -v "$top/selftests/mmap_walk" $args "$mnt/data" 2>&1 >/dev/null |
		grep -E 'Command being|page faults|Elapsed' | sed 's/^\t*/   /'
done
echo "-- MAP_SHARED writes to every page, then msync(MS_SYNC): the module writes"
echo "   the dirty pages back, contiguous ones in one WRITE"
walk "file mode, window 64, writing" -w 64 -W
walk "page cache, writing" -W

echo
echo "== more virtual memory than frames: eviction, replacement, thrashing =="
echo "A file-mode region with a frame budget keeps at most that many pages"
echo "resident; a miss when it is full evicts the page its policy names"
echo "(selftests/evict_test asserts all of this on every target)."
"$top/selftests/evict_demo" "$mnt" | sed 's/^/   /'
umount "$mnt"
timeout 10 tail --pid="$fspid" -f /dev/null
rm -rf "$src"
rmdir "$mnt"
trap 'rmmod vmfault 2>/dev/null || true' EXIT

echo
echo "== faults handled in user space: pager mode (selftests/pager_test) =="
echo "A pager region has no data of its own: a miss, or a MAP_SHARED write to a"
echo "write-protected page, posts an event on its pager fd, and the faulting"
echo "thread waits (killably, mmap_lock dropped) until the handler answers."
"$top/selftests/pager_demo" | sed 's/^/   /'
[ "${PIPESTATUS[0]}" = 0 ]

# File mode over a file system that takes the inode lock.
echo
echo "== file mode over ext4: the kernel's lock order (selftests/backing_test) =="
echo "ext4's write() and O_DIRECT read take the file's inode lock (i_rwsem), and"
echo "the kernel's order is i_rwsem -> mmap_lock -> page lock: a fault must not"
echo "take the inode lock. So a fault drops mmap_lock for its read, and a fault"
echo "from inside such a write() (its source a region page not yet resident)"
echo "reads through the page cache. The cases (the first three hung for good,"
echo "unkillable, before file mode kept that order):"
VMFAULT_BACKING_FS=ext4 "$top/selftests/backing_test" 2>&1 | awk '
	/:ext4: [0-9]/    { sub(/^.*:ext4: /, ""); figures = figures "     " $0 "\n" }
	/^ok [0-9]+ /     { sub(/^ok [0-9]+ backing\.ext4\./, ""); print "   passed: " $0
			    printf "%s", figures; figures = "" }
	/^not ok [0-9]+ / { sub(/^not ok [0-9]+ /, ""); print "   FAILED: " $0
			    printf "%s", figures; figures = "" }'
[ "${PIPESTATUS[0]}" = 0 ]
echo "Region pages are charged to the memory cgroup of the task that allocates"
echo "them and bounded by the module's max_pages; /proc/vmfault:"
grep -E '^(pages_resident|max_pages|limit_refusals|fault_retries|cached_reads) ' /proc/vmfault |
	sed 's/^/   /'

echo
echo "== vmfaultfs experiments (selftests/fusefs_test; tables in Documentation/vmfaultfs.rst) =="
echo "mmaptest's checks, major faults by madvise() advice and readahead, latency"
echo "against the injected delay, MAP_SHARED/MAP_PRIVATE against the cache modes,"
echo "and a daemon killed, stalled, stopped or aborted under a mapping:"
"$top/selftests/fusefs_test" 2>&1 | awk '
	/^ok [0-9]+ /     { sub(/^ok [0-9]+ /, ""); print "   passed: " $0 }
	/^not ok [0-9]+ / { sub(/^not ok [0-9]+ /, ""); print "   FAILED: " $0 }
	/^# majflt: / {
		if (!head++)
			print "     readahead | order | advice | resident | majflt | READs | pages"
		sub(/^# majflt: /, ""); print "     " $0
	}
	/^# (latency|matrix|killed)/ { sub(/^# /, ""); print "     " $0 }'
[ "${PIPESTATUS[0]}" = 0 ]
