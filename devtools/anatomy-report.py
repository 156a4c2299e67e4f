#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# anatomy-report.py: the report of devtools/anatomy. Names every program
# counter that gdb stepped through (devtools/anatomy-step.py) from the
# guest's /proc/kallsyms (the dev VM's copy, taken after the module was
# loaded), and prints for each kind of fault its instructions by part of
# the path and by function, with the total set against make bench's figure
# for the same fault when a bench run of the same kernel is there.
#
# USAGE: anatomy-report.py STEPS KALLSYMS OUTDIR [BENCH_GUEST_TSV]
# Writes OUTDIR/anatomy.tsv (kind, function, instructions) and prints the
# report.
import bisect
import collections
import re
import sys

# kind: (name, per, bench scenario, bench comparator): per is how many
# pages the one stepped call serves (the bench's figures are per page).
KINDS = {
    0: ("anonymous read of a hole", 1, "read-hole", "anon"),
    1: ("vmfault read of a hole", 1, "read-hole", "vmfault"),
    2: ("vmfault read, fault-around (one fault, 16 pages)", 16, "read-hole-fa", "vmfault-fa"),
    3: ("anonymous MADV_POPULATE_READ of 16 pages", 16, "populate-read", "anon"),
    4: ("vmfault MADV_POPULATE_READ of 16 pages", 16, "populate-read", "vmfault"),
    5: ("anonymous private first writes, 32 in a row", 32, "write-first", "anon"),
    6: ("vmfault private first writes, 32 in a row", 32, "write-first", "vmfault"),
    7: ("vmfault read of a hole between region pages", 1, "read-hole-half", "vmfault"),
    8: ("anonymous MADV_POPULATE_READ of 48 pages", 48, None, None),
    9: ("vmfault MADV_POPULATE_READ of 48 pages", 48, None, None),
    10: ("anonymous read, the first of a 2 MiB range (its page table)", 1, None, None),
    11: ("vmfault read, the first of a 2 MiB range (its page table)", 1, None, None),
    12: ("vmfault fault-around, the first of a 2 MiB range (its page table)", 16, None, None),
    13: ("page cache major fault, MADV_RANDOM, on vmfaultfs", 1, "file-random",
         "mmap-fuse-random"),
    14: ("vmfault major fault, file mode, window 1, on vmfaultfs", 1, "file-random",
         "vmfault-w1"),
    15: ("vmfault sequential read of 128 KiB, file mode, window 32, on vmfaultfs", 32,
         "file-seq", "vmfault-w32"),
}
# The bench's figure is per page except for these kinds: pages per its unit
# (file-seq's is a MiB).
BENCH_UNIT = {15: 256}
# The bench's reads allocate a page table at the first fault of each
# 2 MiB: 1 fault in 512 (1 in 32 with fault-around). The per-page figure
# set against the bench counts that fault's extra at that rate: kind:
# (the first read of a 2 MiB range, the read it is set against, every).
# file-random's 1024 faults over 64 MiB allocate one for each of its 32
# ranges, 1 in 32, none of them among the stepped sample (its
# faults 63, 127 ... 1023 in the bench's order touch no range first): a
# read's extra, the page cache's set against the anonymous read's (core
# mm's __pte_alloc() for both), vmfault's against vmfault's.
AMORTIZE = {0: (10, 0, 512), 1: (11, 1, 512), 2: (12, 2, 32), 13: (10, 0, 32),
            14: (11, 1, 32)}
# A populate's own cost (the call, its vma walk) is spread over its pages:
# over 4096 in make bench, 16 or 48 here. The per-page figure set against
# the bench is the 48-page call's less the 16-page one's, over 32 pages.
MARGINAL = {3: 8, 4: 9}
# The major faults: every 64th of a trial of the bench's file-random, a
# sample of its own faults (each pays for what the faults before it left;
# none allocates a page table: AMORTIZE). Their figure is the mean,
# function by function, as the bench's is a trial's mean.
MEAN = {13, 14}


def leftover(seq):
    """The steps of a major fault that finish the fault before it.

    Since EEVDF (6.6) the faulting task, woken by the daemon's answer, may
    preempt the daemon at the return from its write() to /dev/fuse, before
    the daemon has gone back to read() the next request. A free-running
    fault then leaves the rest of the daemon's turn (its return to user
    mode, its loop, its read() up to /dev/fuse) to run in the next fault,
    where it finds the request waiting (on 6.12, 5 to 8 of the 16 sampled
    faults of each kind followed one). No stepped fault has been seen to
    leave its own: the daemon reaches read() before the task runs again
    (the stub runs no timer while it steps). A fault after such a one
    would count two turns of the daemon, where the bench's faults count
    one a fault on average. These steps are the fault before's: from the
    daemon's return from schedule(), when it does not return into the read
    of /dev/fuse, to its next read() of /dev/fuse, if it ran user code in
    between. Returns (start, end), or None.
    """
    try:
        i = seq.index("schedule", seq.index("__switch_to"))
    except ValueError:
        return None
    while i < len(seq) and seq[i] == "schedule":
        i += 1
    if i == len(seq) or seq[i].startswith("fuse_dev_do_read"):
        return None
    try:
        end = seq.index("fuse_dev_read", i)
    except ValueError:
        return None
    if "[user: another process]" not in seq[i:end]:
        return None
    return i, end


# The parts of a fault path, for the lesson: the first pattern that matches
# a function's name decides (module functions are "module" whatever their name).
# x86-64 and riscv64 names: riscv's trap is handle_exception(), do_page_fault()
# and ret_from_exception(), its do_user_addr_fault() is handle_page_fault(),
# and its clear_page() is a memset().
PARTS = [
    ("user mode", r"^\[user\]$"),
    ("user mode, another process (FUSE daemon)", r"^\[user: another process\]$"),
    ("trap entry and exit", r"^(asm_exc_page_fault|exc_page_fault|error_entry|error_return|"
     r"irqentry_|sync_regs|fixup_bad_iret|restore_regs_and_return|"
     r"swapgs_restore|native_iret|entry_SYSCALL|entry_SYSRETQ|do_syscall_64|"
     r"syscall_exit|syscall_enter|exit_to_user_mode|__(x64|riscv)_sys_madvise|"
     r"do_madvise|madvise_|x64_sys_call|__pfx_|arch_exit_to_user_mode|"
     r"syscall_return_via_sysret|fpregs_assert|"
     r"handle_exception|ret_from_exception|do_page_fault|do_trap_ecall_u|"
     r"get_random_u16)"),
    ("vma lookup and mmap_lock", r"^(do_user_addr_fault|handle_page_fault|find_vma|lock_mm_and_find_vma|"
     r"lock_vma_under_rcu|vma_start_read|mt_|mas_|mtree_|down_read|up_read|"
     r"mmap_read|_raw_read|rwsem|vma_end_read)"),
    ("RCU read side (maple tree, xarray)", r"^(__rcu_read|rcu_read)"),
    ("handle_mm_fault and accounting", r"^(handle_mm_fault|__handle_mm_fault|"
     r"mem_cgroup|__mem_cgroup|get_mem_cgroup|count_memcg|__count_memcg|lru_gen|"
     r"perf_sw|__perf_sw|sanitize_fault_flags|__cgroup|mm_account)"),
    ("core mm: do_fault, __do_fault, finish_fault", r"^(do_fault|do_read_fault|do_cow_fault|"
     r"do_shared_fault|__do_fault|finish_fault|do_set_pte|set_pte_range|"
     r"do_fault_around|should_fault_around|filemap_map_pages|__x86_indirect|"
     r"__x86_return_thunk|vmf_can_call_fault)"),
    ("page tables: walk, pte lock, set", r"^(apply_to_page_range|__apply_to_page_range|"
     r"pmd_huge|pud_huge|pte_alloc|__pte_alloc|pmd_install|__pte_offset_map|"
     r"pte_offset_map|_raw_spin_lock|_raw_spin_unlock|handle_pte_fault|"
     r"do_anonymous_page|pfn_pte|set_pte|ptep_|native_set_pte|"
     r"update_mmu_cache|pmd_|pud_|p4d_|pgd_|follow_|native_flush)"),
    ("page allocation and clear", r"^(__alloc_pages|alloc_pages|get_page_from_freelist|"
     r"rmqueue|__rmqueue|prep_new_page|post_alloc_hook|clear_page|"
     r"kernel_init_pages|__folio_alloc|vma_alloc_folio|folio_alloc|"
     r"alloc_anon_folio|should_fail_alloc|__next_zones|first_zones|"
     r"__zone_watermark|zone_watermark|__mod_zone|__mod_node|__mod_lruvec|"
     r"mod_zone|mod_node|_find_next|free_unref|__free|free_pcp|"
     r"policy_node|policy_nodemask|get_vma_policy|__get_vma_policy|"
     r"mempolicy|gfp_|__count_vm|count_vm|get_pfnblock|__pi_memset)"),
    ("copy", r"^(copy_page|copy_mc|__wp_page_copy|wp_page_copy|copy_user|__pi_memcpy)"),
    ("rmap, LRU, refcount", r"^(page_add_|folio_add_|__folio_|folio_|lru_|"
     r"__lru|__page_set_anon|page_set_anon|__mod_lruvec|inc_mm_counter|"
     r"add_mm_counter|__mod_memcg|anon_vma|__anon_vma|page_ref|put_page|"
     r"__put_page|release_pages|mlock_|__lock_page|unlock_page|lock_page|"
     r"folio_lock|folio_unlock|__folio_lock|mark_page_accessed|"
     r"percpu_counter_add|__vmf_anon_prepare)"),
    ("FUSE: request, /dev/fuse, reply", r"^(fuse_|__fuse|fuse)"),
    ("scheduler: sleep, wakeup, switch", r"^(schedule|__schedule|try_to_wake_up|ttwu_|"
     r"wake_up|__wake_up|autoremove_wake|prepare_to_wait|finish_wait|enqueue_|"
     r"dequeue_|pick_next|put_prev|set_next|__switch_to|switch_mm|switch_fpu|"
     r"finish_task_switch|update_curr|update_load|update_cfs|reweight|"
     r"select_task_rq|check_preempt|resched_curr|place_entity|__update_load|"
     r"update_rq_clock|psi_|cpuacct|__calc_delta|sched_|account_|"
     r"rcu_note_context_switch|__enqueue|__dequeue|wakeup_preempt|newidle|"
     r"pick_eevdf|avg_vruntime|update_min_vruntime|__cgroup_account|"
     r"raw_spin_rq|__cond_resched)"),
    ("file reads: VFS, page cache, copies", r"^(filemap_|page_cache_|__filemap|"
     r"read_pages|readahead|do_sync_mmap|do_async_mmap|ra_|force_page_cache|"
     r"vfs_read|vfs_write|rw_verify|__fsnotify|fsnotify|iov_iter|_copy_to_iter|"
     r"_copy_from_iter|copy_page_to_iter|copy_page_from_iter|security_file|"
     r"__fdget|fdget|fput|__fput|kernel_read|shmem_|ksys_|"
     r"__(x64|riscv)_sys_(read|write|pread|pwrite))"),
    ("xarray and RCU", r"^(xa_|xas_|__xa|__xas|rcu_|__rcu|radix_)"),
    ("GUP (populate)", r"^(__get_user_pages|get_user_pages|faultin_page|"
     r"follow_page|faultin_|check_vma_flags|__gup|gup_|try_grab_folio|"
     r"no_page_table|vma_is_secretmem|"
     r"populate_vma|__mm_populate|madvise_populate|vma_pgtable_walk)"),
]
PART_RE = [(n, re.compile(p)) for n, p in PARTS]


def load_kallsyms(path):
    syms = []
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            addr = int(parts[0], 16)
            if addr == 0:
                continue
            name = parts[2]
            # riscv64 modules keep their local labels (.L*) and ISA mapping
            # symbols ($x*) for relocation: not functions.
            if name.startswith((".L", "$")):
                continue
            if len(parts) > 3:
                name += " " + parts[3]
            syms.append((addr, name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def part_of(func):
    if func.endswith("[vmfault]"):
        return "module"
    name = func if func.startswith("[") else func.split(" ")[0]
    for n, r in PART_RE:
        if r.search(name):
            return n
    return "other"


def bench_figures(path):
    figs = {}
    if not path:
        return figs
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                c = line.rstrip("\n").split("\t")
                if len(c) > 4:
                    figs[(c[0], c[1])] = float(c[3])
    except OSError:
        pass
    return figs


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: anatomy-report.py STEPS KALLSYMS OUTDIR [BENCH_GUEST_TSV]")
    addrs, names = load_kallsyms(sys.argv[2])
    if not addrs:
        sys.exit("anatomy-report.py: no symbols in %s" % sys.argv[2])
    bench = bench_figures(sys.argv[4] if len(sys.argv) == 5 else None)
    trials = {}
    cur = None
    # anatomy_target's text, where anatomy-step.py found it: user PCs
    # elsewhere are another process's.
    text = None
    with open(sys.argv[1], encoding="ascii") as f:
        for line in f:
            if line.startswith("text "):
                text = tuple(int(x, 16) for x in line.split()[1:3])
            elif line.startswith("kind "):
                if not text:
                    sys.exit("anatomy-report.py: %s: no 'text' line before the first kind" %
                             sys.argv[1])
                cur = []
                trials.setdefault(int(line.split()[1]), []).append(cur)
            elif line.startswith("end "):
                cur = None
            elif cur is not None:
                pc = int(line, 16)
                if text[0] <= pc < text[1]:
                    func = "[user]"
                elif pc < 0x800000000000:
                    func = "[user: another process]"
                else:
                    i = bisect.bisect_right(addrs, pc) - 1
                    func = names[i] if i >= 0 else "?"
                cur.append(func)
    # Count each trial's steps by function, in the order first stepped,
    # less a major fault's leftover from the fault before.
    cut = {}
    for k, ts in trials.items():
        for n, seq in enumerate(ts):
            span = leftover(seq) if k in MEAN else None
            if span:
                cut.setdefault(k, []).append(span[1] - span[0])
                seq = seq[:span[0]] + seq[span[1]:]
            ts[n] = collections.Counter(seq)
    # A kind stepped more than once is its median trial (a sequential
    # read's windows), or the mean of its trials (a sample of the bench's
    # major faults, MEAN).
    kinds = {}
    for k, t in trials.items():
        if k in MEAN:
            # In the order first stepped, as a single trial's: a set's order
            # changes from run to run, and with it the order of ties.
            funcs = dict.fromkeys(f for x in t for f in x)
            kinds[k] = {f: sum(x.get(f, 0) for x in t) / len(t) for f in funcs}
        else:
            kinds[k] = sorted(t, key=lambda f: sum(f.values()))[(len(t) - 1) // 2]
    if not kinds:
        sys.exit("anatomy-report.py: no fault was stepped")
    failed = compared = 0
    with open(sys.argv[3] + "/anatomy.tsv", "w", encoding="utf-8") as tsv:
        tsv.write("kind\tpart\tfunction\tinstructions\n")
        for k in sorted(kinds):
            name, per, scen, comp = KINDS.get(k, ("kind %d" % k, 1, None, None))
            funcs = kinds[k]
            total = sum(funcs.values())
            print("\n== %s: %.0f instructions%s ==" % (name, total,
                  " (%.0f per page)" % (total / per) if per > 1 else ""))
            if len(trials[k]) > 1:
                sums = [sum(t.values()) for t in trials[k]]
                print("  the %s of %d stepped faults: %s" % (
                    "mean" if k in MEAN else "median", len(sums), ", ".join(map(str, sums))))
                if k in MEAN:
                    # How far a mean of so few may fall from the trial's:
                    # the sample's standard deviation over its square root.
                    sd = (sum((s - total) ** 2 for s in sums) / (len(sums) - 1)) ** 0.5
                    print("  their standard error: %.0f (%.1f%% of the mean)" % (
                        sd / len(sums) ** 0.5, sd / len(sums) ** 0.5 / total * 100))
                if k in cut:
                    print("  %d of them began with the daemon finishing the fault before (the task"
                          " preempted it as it answered): its steps from there to its next read()"
                          " of /dev/fuse are that fault's, left out: %s" % (
                              len(cut[k]), ", ".join(map(str, cut[k]))))
            parts = {}
            for func, n in funcs.items():
                parts[part_of(func)] = parts.get(part_of(func), 0) + n
                tsv.write("%s\t%s\t%s\t%.0f\n" % (name, part_of(func), func, n))
            for p, n in sorted(parts.items(), key=lambda x: -x[1]):
                print("  %-44s %7.0f" % (p, n))
            print("  functions, most first:")
            # The major faults (stepped more than once) cross into the daemon: more functions.
            shown = 24 if len(trials[k]) > 1 else 14
            for func, n in sorted(funcs.items(), key=lambda x: -x[1])[:shown]:
                print("    %-42s %7.0f  %s" % (func, n, part_of(func)))
            stepped, how = total / per, "per page"
            if k in AMORTIZE and AMORTIZE[k][0] in kinds and AMORTIZE[k][1] in kinds:
                first, base, every = AMORTIZE[k]
                extra = sum(kinds[first].values()) - sum(kinds[base].values())
                stepped = (total + extra / every) / per
                how = "per page with 1 in %d faults allocating a page table (%+d)" % (every, extra)
            if k in MARGINAL and MARGINAL[k] in kinds:
                stepped = (sum(kinds[MARGINAL[k]].values()) - total) / 32
                how = "per page of the 48-page call less the 16-page one"
                print("  %.0f per page without the call's own cost (the 48-page call less this one, over 32)" %
                      stepped)
            if (scen, comp) in bench:
                b = bench[(scen, comp)] / BENCH_UNIT.get(k, 1)
                diff = (stepped - b) / b * 100
                ok = abs(diff) <= 2
                compared += 1
                failed += not ok
                print("  make bench (%s, %s): %.0f per page; stepped %.0f %s: %+.1f%%%s" %
                      (scen, comp, b, stepped, how, diff, "" if ok else "  OVER 2%"))
    if bench:
        print("\n%d of %d totals within 2%% of make bench" % (compared - failed, compared))

if __name__ == "__main__":
    main()
