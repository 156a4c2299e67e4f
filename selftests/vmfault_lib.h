/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vmfault selftests, demo and benchmark programs:
 * open and configure a region, read its counters and /proc/vmfault, look
 * up page frames in /proc/self/pagemap, /proc/kpageflags and
 * /proc/kpagecount, and count faults with getrusage().
 */
#ifndef VMFAULT_LIB_H
#define VMFAULT_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmfault_uapi.h"

#define VMFAULT_DEV	"/dev/vmfault"

/*
 * Where tests put plain backing files: a tmpfs. The dev VM's /tmp is an
 * overlayfs, which has no page cache of its own to read from in a fault,
 * so file mode refuses files there (EINVAL).
 */
#define VMFAULT_SCRATCH	"/dev/shm"

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h). */
#define KPF_ANON	12
#define KPF_ZERO_PAGE	24
#define KPF_MLOCKED	33

long page_size(void);
int vmf_open(void);
int vmf_configure(int fd, uint32_t mode, uint64_t size);
int vmf_info(int fd, struct vmfault_region_info *info);

/* One counter of a region, or ~0 on error. */
uint64_t vmf_counter(int fd, enum vmfault_counter idx);

/*
 * The value of @name in a file of "name value" lines (/proc/vmfault,
 * /proc/vmstat, vmfaultfs's stats), or ~0 if the file or the name is
 * missing.
 */
uint64_t kv_read(const char *path, const char *name);

/* A counter of /proc/vmfault by name, or ~0 when missing. */
uint64_t vmf_proc(const char *name);

/* Faults of this process so far, minor plus major, as getrusage() counts. */
long rusage_faults(void);

/* Bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT		(1ULL << 63)
#define PM_MMAP_EXCLUSIVE	(1ULL << 56)
#define PM_PFN_MASK		((1ULL << 55) - 1)

/* The /proc/self/pagemap entry of a virtual address (0 on error). */
uint64_t pagemap_entry(const void *addr);

/* The page frame behind a virtual address, or 0 when not present. */
uint64_t pfn_of(const void *addr);
uint64_t kpage_read(const char *file, uint64_t pfn);
uint64_t kpageflags(uint64_t pfn);
uint64_t kpagecount(uint64_t pfn);
bool kpf(uint64_t pfn, int bit);

/* The kernel's zero page, found the way an anonymous read fault maps it. */
uint64_t zero_pfn(void);

/*
 * After fork() the stack is copy-on-write: write 64 KiB of it and call
 * getrusage() once, so that a measurement's own calls take no fault.
 */
void warm_stack(void);

/*
 * mmap() @len bytes at an address aligned to @align (a power of two), so
 * that fault-around windows fall at known pages. Returns MAP_FAILED on
 * failure, with errno set.
 */
void *mmap_aligned(size_t len, size_t align, int prot, int flags, int fd,
		   off_t off);

/*
 * Read (or write) one byte of every @step bytes of [@p, @p + @len): the
 * loop whose faults vmfault_bench counts, and which anatomy_target steps
 * as the same code.
 */
static inline void touch_pages(char *p, size_t len, size_t step, bool write)
{
	size_t off;

	for (off = 0; off < len; off += step) {
		if (write)
			((volatile char *)p)[off] = 1;
		else
			(void)((volatile char *)p)[off];
	}
}

/*
 * Put @a[0..@n) in a random order of @seed (random(), Fisher-Yates): the
 * same order for the same @seed on every run and every target.
 */
void shuffle(uint32_t *a, size_t n, unsigned int seed);

/*
 * The seed of make bench's file-random order: 1024 distinct pages of its
 * 64 MiB file (the first 1024 of all 16384 shuffled), which anatomy_target
 * takes in the same order.
 */
#define FILE_RANDOM_SEED	9

/*
 * Core mm's fault-around window in bytes (debugfs fault_around_bytes,
 * mounted if need be), or 0 if it cannot be read.
 */
unsigned long fault_around_bytes(void);

/* Run the calling thread on @cpu only: 0, or -1 (errno). */
int pin_to_cpu(int cpu);
/* Keep the calling thread on the CPU it runs on now. */
void pin_to_this_cpu(void);

/*
 * Does a read of a hole map the shared zero page, in a mapping with these
 * mmap() flags of a region opened read-write? In MAP_PRIVATE, yes; in
 * MAP_SHARED, which may be written, no: the read allocates the region page
 * (6.10's rule, which vmfault keeps on every kernel:
 * vmfault_zero_page_allowed() in module/fault_zero.c).
 */
bool zero_page_mapped_in(int flags);
/*
 * A read of one byte that the compiler keeps, in program order: a later
 * plain store (q[1] = 2 after touch_read(q)) must not become the first
 * access, or a test counting a read fault and then a write fault sees one
 * write fault (GCC did move it once the helpers left the header). Inline,
 * for measured loops.
 */
static inline void touch_read(const volatile char *p)
{
	(void)*p;
	__asm__ __volatile__("" ::: "memory");
}

/*
 * @rel (such as "../tools/vmfault-pagemap") resolved against the directory
 * of this program, in @buf of PATH_MAX bytes. Returns @buf, or NULL.
 */
char *beside_self(const char *rel, char *buf);

/*
 * The first row of tools/vmfault-pagemap's map of the mapping at @addr in
 * this process (one character per page), in @row. The tool is
 * $VMFAULT_PAGEMAP, or ../tools/vmfault-pagemap beside this program.
 * Returns 0, or -1 if the tool failed or drew no row.
 */
int pagemap_row(const void *addr, char *row, size_t len);

/* CLOCK_MONOTONIC in nanoseconds, and in milliseconds. */
uint64_t now_ns(void);
uint64_t now_us(void);
uint64_t now_ms(void);

/* Reap @pid within @ms milliseconds. Returns 0, or -1 if it is still alive. */
int reap_child(pid_t pid, int *status, unsigned int ms);

/*
 * Run @fn(@arg) in a child. Returns the signal that killed it, 0 if it
 * exited, or -1 if it could not be run or was still alive after 20 s (it
 * is killed then).
 */
int child_signal(void (*fn)(void *), void *arg);

/* Are all @len bytes at @p equal to @c? */
bool all_bytes(const char *p, size_t len, char c);

/* Write @val to the file at @path (truncated first). Returns 0 or -1. */
int write_file(const char *path, const char *val);

/* The number a file (a sysfs or sysctl knob) starts with, or -1. */
long read_long(const char *path);

/* All of a file (a tracefs one too), NUL-terminated, malloc()ed; NULL on failure. */
char *read_text(const char *path);

/*
 * The Rss of the mapping that holds @addr, from /proc/self/smaps (a
 * page-table walk, exact at once), in kB; -1 on error.
 */
/*
 * A file-mode region over the file at @path, opened with @oflags (window
 * 1), given the frame budget @fr (VMFAULT_IOC_SET_FRAMES; all 0 for none).
 * The region's fd, or -errno of the first call that failed.
 */
int vmf_budget_file(const char *path, int oflags, const struct vmfault_frames *fr);
long smaps_rss_kb(const void *addr);
/* Any "Field: N kB" line of that mapping's smaps entry (Referenced, ...), or -1. */
long smaps_kb(const void *addr, const char *field);

/*
 * In a kselftest program that needs /dev/vmfault: without the device (the
 * module not loaded) the whole program is skipped, as kselftest asks of a
 * test whose device is absent, instead of failing every case. make check
 * still counts that as a failure: a skipped program reports no totals.
 */
#define VMFAULT_REQUIRE_DEVICE() do {						\
	if (access(VMFAULT_DEV, F_OK)) {					\
		ksft_print_header();						\
		ksft_exit_skip("%s: %s (is the vmfault module loaded?)\n",	\
			       VMFAULT_DEV, strerror(errno));			\
	}									\
} while (0)

/* TEST_HARNESS_MAIN for the programs that need /dev/vmfault. */
#define VMFAULT_TEST_MAIN							\
	int main(int argc, char **argv)						\
	{									\
		VMFAULT_REQUIRE_DEVICE();					\
		return test_harness_run(argc, argv);				\
	}

#endif /* VMFAULT_LIB_H */
