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
#include <sys/utsname.h>
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

static inline long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static inline int vmf_open(void)
{
	return open(VMFAULT_DEV, O_RDWR | O_CLOEXEC);
}

static inline int vmf_configure(int fd, uint32_t mode, uint64_t size)
{
	struct vmfault_config cfg = { .mode = mode, .size = size };

	return ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg);
}

static inline int vmf_info(int fd, struct vmfault_region_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, VMFAULT_IOC_GET_INFO, info);
}

/* One counter of a region, or ~0 on error. */
static inline uint64_t vmf_counter(int fd, enum vmfault_counter idx)
{
	struct vmfault_region_info info;

	if (vmf_info(fd, &info))
		return ~0ULL;
	return info.counters[idx];
}

/*
 * The value of @name in a file of "name value" lines (/proc/vmfault,
 * /proc/vmstat, vmfaultfs's stats), or ~0 if the file or the name is
 * missing.
 */
static inline uint64_t kv_read(const char *path, const char *name)
{
	char key[64];
	unsigned long long val;
	uint64_t ret = ~0ULL;
	FILE *f = fopen(path, "r");

	if (!f)
		return ret;
	while (fscanf(f, "%63s %llu", key, &val) == 2) {
		if (!strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* A counter of /proc/vmfault by name, or ~0 when missing. */
static inline uint64_t vmf_proc(const char *name)
{
	return kv_read("/proc/vmfault", name);
}

/* Faults of this process so far, minor plus major, as getrusage() counts. */
static inline long rusage_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* The /proc/self/pagemap entry of a virtual address (0 on error). */
static inline uint64_t pagemap_entry(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  ((uintptr_t)addr / page_size()) * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

/* The page frame behind a virtual address, or 0 when not present. */
static inline uint64_t pfn_of(const void *addr)
{
	uint64_t ent = pagemap_entry(addr);

	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

static inline uint64_t kpage_read(const char *file, uint64_t pfn)
{
	uint64_t v = ~0ULL;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return v;
	if (pread(fd, &v, sizeof(v), pfn * sizeof(v)) != sizeof(v))
		v = ~0ULL;
	close(fd);
	return v;
}

static inline uint64_t kpageflags(uint64_t pfn)
{
	return kpage_read("/proc/kpageflags", pfn);
}

static inline uint64_t kpagecount(uint64_t pfn)
{
	return kpage_read("/proc/kpagecount", pfn);
}

static inline bool kpf(uint64_t pfn, int bit)
{
	return (kpageflags(pfn) >> bit) & 1;
}

/* The kernel's zero page, found the way an anonymous read fault maps it. */
static inline uint64_t zero_pfn(void)
{
	volatile char *p;
	uint64_t pfn;

	p = mmap(NULL, page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)p[0];
	pfn = pfn_of((const void *)p);
	munmap((void *)p, page_size());
	return pfn;
}

/*
 * After fork() the stack is copy-on-write: write 64 KiB of it and call
 * getrusage() once, so that a measurement's own calls take no fault.
 */
static void __attribute__((noinline, unused)) warm_stack(void)
{
	volatile char pad[64 << 10];
	struct rusage ru;

	memset((char *)pad, 0, sizeof(pad));
	getrusage(RUSAGE_SELF, &ru);
}

/*
 * mmap() @len bytes at an address aligned to @align (a power of two), so
 * that fault-around windows fall at known pages. Returns MAP_FAILED on
 * failure, with errno set.
 */
static inline void *mmap_aligned(size_t len, size_t align, int prot, int flags, int fd,
				 off_t off)
{
	char *r = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (r == MAP_FAILED)
		return r;
	a = ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)r)
		munmap(r, a - (uintptr_t)r);
	munmap((char *)a + len, (uintptr_t)r + align - a);
	return mmap((void *)a, len, prot, flags | MAP_FIXED, fd, off);
}

/* Keep the calling thread on the CPU it runs on now. */
static inline void pin_to_this_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Is the running kernel MAJOR.MINOR or newer? */
static inline bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Does a read of a hole map the shared zero page, in a mapping with these
 * mmap() flags of a region opened read-write? In MAP_PRIVATE, yes; in
 * MAP_SHARED, which may be written, no: the read allocates the region page
 * (6.10's rule, which vmfault keeps on every kernel:
 * vmfault_zero_page_allowed() in module/fault_zero.c).
 */
static inline bool zero_page_mapped_in(int flags)
{
	return !(flags & MAP_SHARED);
}

static inline void touch_read(const volatile char *p)
{
	(void)*p;
}

/*
 * @rel (such as "../tools/vmfault-pagemap") resolved against the directory
 * of this program, in @buf of PATH_MAX bytes. Returns @buf, or NULL.
 */
static inline char *beside_self(const char *rel, char *buf)
{
	ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX - strlen(rel) - 1);
	char *slash;

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	strcpy(slash ? slash + 1 : buf, rel);
	return buf;
}

/*
 * The first row of tools/vmfault-pagemap's map of the mapping at @addr in
 * this process (one character per page), in @row. The tool is
 * $VMFAULT_PAGEMAP, or ../tools/vmfault-pagemap beside this program.
 * Returns 0, or -1 if the tool failed or drew no row.
 */
static inline int pagemap_row(const void *addr, char *row, size_t len)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 64], line[128];
	const char *env = getenv("VMFAULT_PAGEMAP");
	int ok = -1;
	FILE *f;

	if (env)
		snprintf(tool, sizeof(tool), "%s", env);
	else if (!beside_self("../tools/vmfault-pagemap", tool))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s -1 %d %lx", tool, getpid(), (unsigned long)addr);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (ok && !strncmp(line, "     0 ", 7)) {
			snprintf(row, len, "%s", line + 7);
			row[strcspn(row, "\n")] = '\0';
			ok = 0;
		}
	}
	return pclose(f) == 0 ? ok : -1;
}

#endif /* VMFAULT_LIB_H */
