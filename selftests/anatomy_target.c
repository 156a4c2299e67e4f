// SPDX-License-Identifier: GPL-2.0
/*
 * anatomy_target: the guest half of 'make anatomy' (devtools/anatomy). For
 * each kind of fault below it prepares a mapping as vmfault_bench does
 * (2 MiB aligned, 4 KiB pages, a page table already there), then calls
 * anatomy_begin(kind), takes exactly one fault (or ANATOMY_WRITES private
 * first writes in a row, or one MADV_POPULATE_READ; with fault-around, the
 * bench's reads of the 16 pages that one fault maps), and calls
 * anatomy_end(kind). The major faults are make bench's file-random trial:
 * its 1024 pages of a file on vmfaultfs, none of them cached, in its
 * order, through the page cache (MADV_RANDOM) and through a file-mode
 * region with a one-page window; a pass free-running (the bench's warm-up
 * trial), then a pass with every MAJOR_EVERY-th fault stepped (the report
 * keeps their mean, as the bench keeps a trial's). Their steps include
 * the daemon's (another process) and the switches to it and back; the
 * report leaves out the end of the daemon's turn for the fault before
 * when it ran in a stepped one (anatomy-report.py, leftover()).
 * The host's gdb has
 * hardware breakpoints on the two functions and single-steps the guest
 * from one to the other, recording every instruction: the fault's entry,
 * everything the kernel and the module do, its return to user mode and
 * the retried access.
 *
 * The address space is the bench's: a position-independent executable
 * linked as vmfault_bench is (selftests/Makefile), started as the bench
 * starts (main()), a shared page as the bench's trials hand their samples
 * back through, and each kind in a child forked for it, in a 16 MiB
 * mapping, as each memory trial of the bench runs. A fault's vma lookup
 * walks the maple tree of that address space, and its cost depends on
 * where the mapping's range lies in the tree's nodes, so on the process's
 * mappings and their history: on 6.12 an anonymous read of a hole stepped
 * 1468 instructions linked static (the bench: 1488), 1526 without the
 * bench's start, 1476 with it. No libc function runs between the
 * breakpoints: a user PC outside this program's text is another
 * process's.
 *
 * Needs the module loaded and the vmfaultfs daemon (vff_daemon():
 * ../fusefs/vmfaultfs beside it). Writes the addresses of anatomy_begin(),
 * anatomy_end() and its text ("BEGIN END TEXT_START TEXT_END", hex) to
 * ADDRS_FILE, for gdb's breakpoints, and waits for READY_FILE to exist
 * (they are in place) before the first kind; calls
 * anatomy_begin(ANATOMY_DONE) at the end.
 *
 * USAGE: anatomy_target ADDRS_FILE READY_FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"

#define ANATOMY_PAGES	4096	/* the mapping: 16 MiB, as the bench's */
#define ANATOMY_POP	16	/* pages of one MADV_POPULATE_READ, and 3 times as many */
#define ANATOMY_WRITES	32	/* private first writes stepped in a row */
#define MAJOR_PAGES	16384	/* the major faults' file: 64 MiB, as file-random's */
#define MAJOR_FAULTS	1024	/* file-random's faults in a trial */
#define MAJOR_EVERY	64	/* of which every 64th is stepped: 16 of each kind */
#define SEQ_TRIALS	3	/* K_VMF_SEQ's windows stepped */
#define SEQ_WINDOW	32	/* K_VMF_SEQ's window: 128 KiB, one READ */
#define SEQ_FIRST	256	/* its first stepped page; the MiB before is read first */
#define ANATOMY_DONE	255

enum kind {
	K_ANON_READ, K_VMF_READ, K_VMF_READ_FA, K_ANON_POPULATE, K_VMF_POPULATE,
	K_ANON_WRITE, K_VMF_WRITE, K_VMF_READ_HALF, K_ANON_POPULATE3, K_VMF_POPULATE3,
	/* The first fault of a 2 MiB range, which allocates its page table. */
	K_ANON_READ_PT, K_VMF_READ_PT, K_VMF_READ_FA_PT,
	/* A major fault on vmfaultfs: the page cache's, then a file-mode region's. */
	K_CACHE_MAJOR, K_VMF_MAJOR,
	/* A sequential read of one window, file mode, window 32. */
	K_VMF_SEQ,
	NR_KINDS,
};

/* Kept out of line and apart, so that their addresses are gdb's breakpoints. */
__attribute__((noinline, used)) void anatomy_begin(long kind)
{
	__asm__ volatile("" : : "r"(kind) : "memory");
}

__attribute__((noinline, used)) void anatomy_end(long kind)
{
	__asm__ volatile("" : : "r"(kind) : "memory");
}

static void die(const char *what)
{
	fprintf(stderr, "anatomy_target: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct vff_mount mnt;	/* for the major faults */

/* The linker's: where this program's text begins and ends. */
extern char __executable_start[], etext[];

static size_t map_len(int kind)
{
	if (kind >= K_CACHE_MAJOR)
		return MAJOR_PAGES * 4096UL;
	return ANATOMY_PAGES * 4096UL;
}

/*
 * The major faults' mapping: the file "major" on vmfaultfs, none of it
 * cached, mapped as the bench maps it for file-random: MAP_SHARED and
 * read-only, with MADV_RANDOM (the page cache), or a file-mode region of
 * it with a one-page window (vmfault-w1); for K_VMF_SEQ, a region with a
 * 32-page window (file-seq's vmfault-w32).
 */
static char *map_file(int kind, int *fdp)
{
	size_t len = map_len(kind);
	int ffd = open(vff_path(&mnt, false, "major"), O_RDONLY | O_CLOEXEC), fd = ffd;
	char *p;

	if (ffd < 0)
		die("open the vmfaultfs file");
	/*
	 * The bench reads its file many times over: the daemon's copy of
	 * it (on tmpfs) is in its active list. Read K_VMF_SEQ's pages twice
	 * through the page cache, which is then dropped, for the same.
	 */
	if (kind == K_VMF_SEQ) {
		static char buf[SEQ_WINDOW * 4096];

		for (int pass = 0; pass < 2; pass++)
			for (long w = 0; w < SEQ_FIRST / SEQ_WINDOW + SEQ_TRIALS; w++)
				if (pread(ffd, buf, sizeof(buf), w * sizeof(buf)) != sizeof(buf))
					die("read the vmfaultfs file");
	}
	if (posix_fadvise(ffd, 0, 0, POSIX_FADV_DONTNEED))
		die("POSIX_FADV_DONTNEED");
	if (kind == K_VMF_MAJOR || kind == K_VMF_SEQ) {
		struct vmfault_config cfg = {
			.mode = VMFAULT_MODE_FILE, .fd = ffd,
			.window = kind == K_VMF_SEQ ? SEQ_WINDOW : 1,
		};

		fd = vmf_open();
		if (fd < 0 || ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg))
			die("a file-mode vmfault region (is the module loaded?)");
		close(ffd);
	}
	p = mmap_aligned(len, 2UL << 20, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	if (kind == K_CACHE_MAJOR && madvise(p, len, MADV_RANDOM))
		die("MADV_RANDOM");
	*fdp = fd;
	return p;
}

/*
 * The major faults, as make bench's file-random takes them: a trial is the
 * file's cache dropped, a new mapping (and region), and its 1024 pages in
 * the bench's order. One trial free-running, as the bench's warm-up; then
 * one with every MAJOR_EVERY-th fault stepped. The stepped faults are the
 * bench's own, at their places in its trial: what the faults before them
 * left (the LRU's batch, RCU callbacks) falls on them as in the bench, and
 * their neighbours are as seldom resident. None of them is the first of
 * its 2 MiB range: the report puts the page tables back at the trial's 1
 * in 32. Three faults stepped beside warm neighbours, as until
 * 2026-12-06, missed the page cache's figure on 6.1 by 2.8%
 * (Documentation/vmfault-bench.rst, Method).
 */
static void run_major(int kind)
{
	static uint32_t order[MAJOR_PAGES];
	int fd, i, pass;
	char *p;

	for (i = 0; i < MAJOR_PAGES; i++)
		order[i] = i;
	shuffle(order, MAJOR_PAGES, FILE_RANDOM_SEED);
	for (pass = 0; pass < 2; pass++) {
		p = map_file(kind, &fd);
		for (i = 0; i < MAJOR_FAULTS; i++) {
			volatile const char *a = p + order[i] * 4096L;

			if (pass && i % MAJOR_EVERY == MAJOR_EVERY - 1) {
				anatomy_begin(kind);
				(void)*a;
				anatomy_end(kind);
			} else {
				(void)*a;
			}
		}
		munmap(p, map_len(kind));
		close(fd);
	}
}

/*
 * madvise() without libc, so that no user code but this program's runs
 * between the breakpoints.
 */
static long raw_madvise(void *addr, size_t len, long advice)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(28L), "D"(addr), "S"(len), "d"(advice)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__riscv)
	register long a0 __asm__("a0") = (long)addr;
	register long a1 __asm__("a1") = (long)len;
	register long a2 __asm__("a2") = advice;
	register long a7 __asm__("a7") = 233;

	__asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
	return a0;
#else
#error "anatomy_target: x86_64 or riscv64"
#endif
}

static char *map(int kind, int *fdp)
{
	size_t len = map_len(kind);
	bool vmf = kind == K_VMF_READ || kind == K_VMF_READ_FA || kind == K_VMF_POPULATE ||
		   kind == K_VMF_WRITE || kind == K_VMF_READ_HALF || kind == K_VMF_POPULATE3 ||
		   kind == K_VMF_READ_PT || kind == K_VMF_READ_FA_PT;
	struct vmfault_config cfg = {
		.mode = VMFAULT_MODE_ZERO, .size = len,
		.flags = kind == K_VMF_READ_FA || kind == K_VMF_READ_FA_PT ?
			 VMFAULT_FLAG_FAULT_AROUND : 0,
	};
	int fd = -1;
	char *p;

	if (vmf) {
		fd = vmf_open();
		if (fd < 0 || ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg))
			die("a vmfault region (is the module loaded?)");
	}
	p = mmap_aligned(len, 2UL << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | (vmf ? 0 : MAP_ANONYMOUS), fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	if (!vmf)
		madvise(p, len, MADV_NOHUGEPAGE);
	*fdp = fd;
	return p;
}

/*
 * As the bench's child_prefault(): the stack below the child's first frame
 * and the shared page are the parent's until written, and the vDSO's text
 * is not mapped in a child before its first call.
 */
static __attribute__((noinline)) void child_prefault(volatile long *shared)
{
	volatile char stack[8 * 4096];
	struct timespec ts;

	for (size_t i = 0; i < sizeof(stack); i += 4096)
		stack[i] = 0;
	*shared = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
}

/*
 * vmfault_bench's loop (touch_pages(), vmfault_lib.h) over a window: a
 * fault-around fault serves 16 pages, and the bench's per-page figure
 * holds the loop's instructions for the 15 it reads without a fault (about
 * 8 a page on x86, 5% of a fault-around page there). Out of line and
 * opaque to the optimizer (noipa), so that @write stays a run-time test
 * in the loop, as in the bench, not a constant it is specialised for.
 */
static __attribute__((noipa)) void touch_window(char *p, size_t len, size_t step, bool write)
{
	touch_pages(p, len, step, write);
}

/* One kind, stepped between anatomy_begin() and anatomy_end(). */
static void run_kind(int kind)
{
	int fd, i;
	char *p;

	if (kind == K_CACHE_MAJOR || kind == K_VMF_MAJOR) {
		run_major(kind);
		return;
	}
	p = kind == K_VMF_SEQ ? map_file(kind, &fd) : map(kind, &fd);
	/*
	 * The page table exists, as for all but 1 in 512 of the bench's faults;
	 * before a write, so does the vma's anon_vma (the first write of a
	 * private mapping allocates it).
	 */
	if (kind == K_ANON_WRITE || kind == K_VMF_WRITE)
		*(volatile char *)p = 1;
	else if (kind < K_ANON_READ_PT)
		(void)*(volatile char *)p;
	else if (kind == K_VMF_SEQ)
		for (i = 0; i < SEQ_FIRST; i++)
			(void)*(volatile char *)(p + i * 4096L);
	if (kind == K_VMF_READ_HALF) {
		/*
		 * As the bench's read-hole-half: every even page of 16 MiB
		 * is a region page (the xarray as deep as there), and the
		 * one before the hole is mapped.
		 */
		static const char page[4096] = { 1 };

		for (i = 0; i < ANATOMY_PAGES; i += 2)
			if (pwrite(fd, page, sizeof(page), i * 4096L) != sizeof(page))
				die("pwrite");
		(void)*(volatile char *)(p + 2048 * 4096L);
	}
	if (kind == K_ANON_POPULATE || kind == K_VMF_POPULATE ||
	    kind == K_ANON_POPULATE3 || kind == K_VMF_POPULATE3) {
		/* 16 pages, or 48: the difference is 32 pages without the call's own cost. */
		size_t n = kind >= K_ANON_POPULATE3 ? 3 * ANATOMY_POP : ANATOMY_POP;
		long r;

		anatomy_begin(kind);
		r = raw_madvise(p + 16 * 4096, n * 4096, MADV_POPULATE_READ);
		anatomy_end(kind);
		if (r) {
			errno = -r;
			die("MADV_POPULATE_READ");
		}
	} else if (kind == K_ANON_WRITE || kind == K_VMF_WRITE) {
		/*
		 * ANATOMY_WRITES of them in a row: an allocating fault also
		 * pays, every so many faults, for work done in batches (the
		 * LRU's folio batch every 15, a refill of the per-CPU page
		 * lists), which one fault would miss.
		 */
		anatomy_begin(kind);
		for (i = 16; i < 16 + ANATOMY_WRITES; i++)
			*(volatile char *)(p + i * 4096L) = 1;
		anatomy_end(kind);
	} else if (kind == K_VMF_SEQ) {
		/* Each trial: one window, its pages in order, as the bench scans. */
		for (int t = 0; t < SEQ_TRIALS; t++) {
			long first = SEQ_FIRST + t * SEQ_WINDOW;

			anatomy_begin(kind);
			for (i = 0; i < SEQ_WINDOW; i++)
				(void)*(volatile char *)(p + (first + i) * 4096L);
			anatomy_end(kind);
		}
	} else if (kind == K_VMF_READ_FA || kind == K_VMF_READ_FA_PT) {
		/* The window of page 17, read as the bench reads it: one fault. */
		anatomy_begin(kind);
		touch_window(p + 16 * 4096, 16 * 4096, 4096, false);
		anatomy_end(kind);
	} else {
		size_t page = kind == K_VMF_READ_HALF ? 2049 : 17;

		anatomy_begin(kind);
		(void)*(volatile char *)(p + page * 4096);
		anatomy_end(kind);
	}
	munmap(p, map_len(kind));
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	volatile long *shared;
	int kind, i, st;
	FILE *f;
	pid_t pid;
	char tmp[4096];

	if (argc != 3) {
		fprintf(stderr, "usage: anatomy_target ADDRS_FILE READY_FILE\n");
		return 2;
	}
	/*
	 * What vmfault_bench does before its memory scenarios, which changes
	 * its maple tree: a page mapped and unmapped (zero_pfn()), and
	 * stdout's buffer. Without them, a read of a hole here walked 38
	 * instructions more than in the bench on 6.12 (free-running, as
	 * stepped).
	 */
	if (!zero_pfn())
		die("no pfn in /proc/self/pagemap: run as root");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("anatomy_target: %d kinds, pid %d\n", NR_KINDS, getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%#lx %#lx %#lx %#lx\n", (unsigned long)anatomy_begin,
			  (unsigned long)anatomy_end, (unsigned long)__executable_start,
			  (unsigned long)etext) < 0 || fclose(f) || rename(tmp, argv[1]))
		die("write the addresses file");
	for (i = 0; access(argv[2], F_OK); i++) {
		if (i == 600) {
			fprintf(stderr, "anatomy_target: %s did not appear in 60 s\n", argv[2]);
			return 1;
		}
		usleep(100000);
	}
	/* As vmfault_bench's trial_in_child(): a page its children write. */
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");
	for (kind = 0; kind < NR_KINDS; kind++) {
		/*
		 * The bench mounts vmfaultfs after its memory scenarios, and
		 * serves its single major faults from one daemon thread and
		 * its sequential scans from libfuse's threads.
		 */
		if (kind == K_CACHE_MAJOR &&
		    (vff_mount(&mnt, NULL) ||
		     vff_make_file(&mnt, "major", MAJOR_PAGES * 4096UL, 'm') ||
		     vff_remount(&mnt, NULL, true)))
			die("a vmfaultfs mount and file");
		if (kind == K_VMF_SEQ && vff_remount(&mnt, NULL, false))
			die("mount vmfaultfs again, multi-threaded");
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			child_prefault(shared);
			run_kind(kind);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "anatomy_target: kind %d: its child failed (wait status %#x)\n",
				kind, st);
			return 1;
		}
	}
	if (vff_umount(&mnt))
		die("unmount vmfaultfs");
	anatomy_begin(ANATOMY_DONE);
	return 0;
}
