/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The second half of the lecture on the process's own memory, measured:
 * stack pages on demand, the stack growing, guard pages, the null page,
 * copy-on-write's second case, VIRT against RES of a sparse region, and
 * identical pages merged by KSM. Each function measures; the demo
 * (vmfault_demo.c) prints the figures and lecture_test.c asserts them.
 */
#ifndef LECTURE_LIB_H
#define LECTURE_LIB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The lecture's array: 128 KiB, one store every 16 KiB. */
#define LECTURE_ARRAY		(128 * 1024)
#define LECTURE_STRIDE		(16 * 1024)

/*
 * A function with the 128 KiB local array, called on the stack of a new
 * thread: the faults the thread took during the call (getrusage
 * RUSAGE_THREAD) and which of the array's pages are present afterwards
 * (/proc/self/pagemap), as a string of '#' and '.' (one per page).
 */
struct lecture_stack {
	long faults;
	int pages;		/* the array's pages */
	int present;		/* of them present */
	bool stored_present;	/* every page stored to is present */
	char map[LECTURE_ARRAY / 4096 + 1];
};
int lecture_stack_on_demand(struct lecture_stack *r);

/*
 * The process's [stack] growing: @n stores, each one page below the lowest
 * page of [stack] in /proc/self/maps. @start[i] is [stack]'s start before
 * store i (i = 0..n), @faults[i] the faults store i took.
 */
int lecture_stack_growth(int n, unsigned long *start, long *faults);

/* What a SIGSEGV told its handler. */
struct lecture_segv {
	bool caught;
	uintptr_t addr;		/* si_addr */
	int code;		/* si_code: SEGV_MAPERR or SEGV_ACCERR */
	uintptr_t pc;		/* the faulting instruction, from the ucontext */
};

/*
 * Run @fn(@arg) with a SIGSEGV handler on an alternate signal stack: the
 * handler records the signal and returns to lecture_catch_segv() (the
 * faulting access does not complete).
 */
void lecture_catch_segv(void (*fn)(void *), void *arg, struct lecture_segv *s);

/* A store of one int to @addr (the compiler keeps it). */
void lecture_store(void *addr);

/*
 * The guard page under a new thread's stack (glibc's pthread guard):
 * where it is, and what a store into it gets.
 */
struct lecture_guard {
	uintptr_t guard_lo, guard_hi;	/* the guard: [lo, hi) */
	bool prot_none_vma;		/* /proc/self/maps: a ---p mapping there */
	struct lecture_segv segv;
};
int lecture_thread_guard(struct lecture_guard *g);

/*
 * mmap(MAP_FIXED) of a page at @addr by an unprivileged child (uid
 * nobody, no CAP_SYS_RAWIO). Returns 0 if it was mapped, else the errno.
 */
int lecture_map_fixed_unprivileged(uintptr_t addr);

/* vm.mmap_min_addr, or -1. */
long lecture_mmap_min_addr(void);

/*
 * Copy-on-write's second case: a page written, fork(), the child exits,
 * then the parent writes it again (@child_alive: while the child still
 * maps it, for the first case). The pfns before and after the write and
 * the faults the write took.
 */
struct lecture_cow {
	uint64_t pfn_before, pfn_after;
	long faults;
};
int lecture_cow_after_exit(bool child_alive, struct lecture_cow *c);

/*
 * VIRT and RES of a sparse /dev/vmfault region of @size bytes (or the
 * largest power-of-two fraction of it that the address space holds) after
 * @writes stores to distinct pages (MAP_SHARED): the process's VmSize
 * (/proc/self/status) and the mapping's Rss (/proc/self/smaps) before and
 * after, in KiB.
 */
struct lecture_virt_res {
	uint64_t size;		/* the size mapped */
	long vsz_before, vsz_after, rss_before, rss_after;
	uintptr_t addr;
};
int lecture_virt_res(uint64_t size, int writes, struct lecture_virt_res *v);

/*
 * KSM: two processes with @pages identical anonymous pages (page i of
 * each holds the same bytes), madvise(MADV_MERGEABLE), ksmd run until
 * they merge (at most @timeout_ms). Then a write to the parent's page 0.
 *
 * The waits watch each process's own count (/proc/PID/ksm_merging_pages),
 * not the system-wide pages_sharing: that one still counts the pages of
 * processes gone since ksmd last ran (an earlier run, the demo), until
 * ksmd's next scans notice.
 */
struct lecture_ksm {
	long sharing_before, sharing_merged, sharing_after_write;	/* system-wide */
	long merging_merged;		/* the parent's merged pages */
	long merging_after_write;	/* the parent's, once ksmd saw the write */
	long child_after_write;		/* the child's then (from its count at fork) */
	int same_pfn;		/* pages whose pfns became one */
	int ksm_flag;		/* parent pages with KPF_KSM set */
	bool write_copied;	/* the written page got a pfn of its own */
	bool other_intact;	/* the child's copy kept its bytes */
	long merge_ms;
	char skip[128];		/* why it could not run, or "" */
	char state[256];	/* ksmd's counters after each wait */
};
int lecture_ksm(int pages, long timeout_ms, struct lecture_ksm *k);

/*
 * A grows-down /dev/vmfault region (VMFAULT_FLAG_GROWSDOWN) of
 * LECTURE_GD_PAGES pages, its stack 1 page at the top, a guard gap of
 * LECTURE_GD_GUARD pages at the bottom, mapped MAP_SHARED: a store to the
 * top page, a store two pages below the stack, then stores one page below
 * it down to the guard gap, then a store into the gap.
 */
#define LECTURE_GD_PAGES	64
#define LECTURE_GD_GUARD	4
struct lecture_growsdown {
	struct lecture_segv deep;	/* the store two pages below */
	uintptr_t deep_addr;
	long grow_faults;		/* faults of the stores that grew it */
	int grown;			/* of them, stores that worked */
	struct lecture_segv guard;	/* the store into the gap */
	uintptr_t guard_addr;
	uint64_t growths, segvs;	/* the region's counters */
	int present;			/* region pages present afterwards */
	char map[LECTURE_GD_PAGES + 1];	/* '#' present, '.' not, 'g' guard */
};
int lecture_growsdown(struct lecture_growsdown *g);

#endif
