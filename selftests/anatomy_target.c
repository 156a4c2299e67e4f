// SPDX-License-Identifier: GPL-2.0
/*
 * anatomy_target: the guest half of 'make anatomy' (devtools/anatomy). For
 * each kind of fault below it prepares a mapping as vmfault_bench does
 * (2 MiB aligned, 4 KiB pages, a page table already there), then calls
 * anatomy_begin(kind), takes exactly one fault (or ANATOMY_WRITES private
 * first writes in a row, or one MADV_POPULATE_READ), and calls
 * anatomy_end(kind). The host's gdb has
 * hardware breakpoints on the two functions and single-steps the guest
 * from one to the other, recording every instruction: the fault's entry,
 * everything the kernel and the module do, its return to user mode and
 * the retried access.
 *
 * Linked static with its text at 0x10000000 (selftests/Makefile), where no
 * other program in the guest runs, so that the breakpoints stop only here.
 * Needs the module loaded. Waits for the file named by its argument to
 * exist (gdb's breakpoints are in place) before the first kind, and calls
 * anatomy_begin(ANATOMY_DONE) at the end.
 *
 * USAGE: anatomy_target READY_FILE
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmfault_lib.h"

#define ANATOMY_PAGES	64	/* the mapping: 256 KiB inside one page table */
#define HALF_PAGES	4096	/* K_VMF_READ_HALF's region: 16 MiB, as the bench's */
#define ANATOMY_POP	16	/* pages of one MADV_POPULATE_READ, and 3 times as many */
#define ANATOMY_WRITES	32	/* private first writes stepped in a row */
#define ANATOMY_DONE	255

enum kind {
	K_ANON_READ, K_VMF_READ, K_VMF_READ_FA, K_ANON_POPULATE, K_VMF_POPULATE,
	K_ANON_WRITE, K_VMF_WRITE, K_VMF_READ_HALF, K_ANON_POPULATE3, K_VMF_POPULATE3,
	/* The first fault of a 2 MiB range, which allocates its page table. */
	K_ANON_READ_PT, K_VMF_READ_PT, K_VMF_READ_FA_PT,
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

static size_t map_len(int kind)
{
	return (kind == K_VMF_READ_HALF ? HALF_PAGES : ANATOMY_PAGES) * 4096UL;
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

int main(int argc, char **argv)
{
	int kind, fd, i;
	char *p;

	if (argc != 2) {
		fprintf(stderr, "usage: anatomy_target READY_FILE\n");
		return 2;
	}
	for (i = 0; access(argv[1], F_OK); i++) {
		if (i == 600) {
			fprintf(stderr, "anatomy_target: %s did not appear in 60 s\n", argv[1]);
			return 1;
		}
		usleep(100000);
	}
	for (kind = 0; kind < NR_KINDS; kind++) {
		p = map(kind, &fd);
		/*
		 * The page table exists, as for all but 1 in 512 of the bench's
		 * faults; before a write, so does the vma's anon_vma (the first
		 * write of a private mapping allocates it).
		 */
		if (kind == K_ANON_WRITE || kind == K_VMF_WRITE)
			*(volatile char *)p = 1;
		else if (kind < K_ANON_READ_PT)
			(void)*(volatile char *)p;
		if (kind == K_VMF_READ_HALF) {
			/*
			 * As the bench's read-hole-half: every even page of
			 * 16 MiB is a region page (the xarray as deep as
			 * there), and the one before the hole is mapped.
			 */
			static const char page[4096] = { 1 };

			for (i = 0; i < HALF_PAGES; i += 2)
				if (pwrite(fd, page, sizeof(page), i * 4096L) != sizeof(page))
					die("pwrite");
			(void)*(volatile char *)(p + 2048 * 4096L);
		}
		if (kind == K_ANON_POPULATE || kind == K_VMF_POPULATE ||
		    kind == K_ANON_POPULATE3 || kind == K_VMF_POPULATE3) {
			/* 16 pages, or 48: the difference is 32 pages without the call's own cost. */
			size_t n = kind >= K_ANON_POPULATE3 ? 3 * ANATOMY_POP : ANATOMY_POP;

			anatomy_begin(kind);
			if (madvise(p + 16 * 4096, n * 4096, MADV_POPULATE_READ))
				die("MADV_POPULATE_READ");
			anatomy_end(kind);
		} else if (kind == K_ANON_WRITE || kind == K_VMF_WRITE) {
			/*
			 * ANATOMY_WRITES of them in a row: an allocating fault
			 * also pays, every so many faults, for work done in
			 * batches (the LRU's folio batch every 15, a refill of
			 * the per-CPU page lists), which one fault would miss.
			 */
			anatomy_begin(kind);
			for (i = 16; i < 16 + ANATOMY_WRITES; i++)
				*(volatile char *)(p + i * 4096L) = 1;
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
	anatomy_begin(ANATOMY_DONE);
	return 0;
}
