// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault_test: kselftest suite for /dev/vmfault, zero-fill-on-demand.
 *
 * Every test asserts what really happened: exact counter deltas from the
 * region (VMFAULT_IOC_GET_INFO) and /proc/vmfault, fault counts from
 * getrusage(), page identity from /proc/self/pagemap, /proc/kpageflags and
 * /proc/kpagecount, and the bytes read back. Run as root with the module
 * loaded: without /dev/vmfault every test fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <linux/loop.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "vmfault_lib.h"
#include "kselftest_harness.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

static void touch_fn(void *arg)
{
	touch_read(arg);
}

static void write_fn(void *arg)
{
	*(volatile char *)arg = 1;
}

/*
 * Run body in a child that exits with the value body leaves in rc; evaluate
 * to that exit status, or -1 if the child died otherwise.
 */
#define IN_CHILD(body) ({						\
	int __st = -1;							\
	pid_t __pid = fork();						\
	if (__pid == 0) {						\
		int rc = 0;						\
		body;							\
		_exit(rc);						\
	}								\
	if (__pid > 0 && waitpid(__pid, &__st, 0) == __pid &&		\
	    WIFEXITED(__st))						\
		__st = WEXITSTATUS(__st);				\
	else								\
		__st = -1;						\
	__st;								\
})

FIXTURE(region) {
	int fd;
	long ps;
};

FIXTURE_VARIANT(region) {
	int flags;
};

FIXTURE_VARIANT_ADD(region, shared) {
	.flags = MAP_SHARED,
};

FIXTURE_VARIANT_ADD(region, private) {
	.flags = MAP_PRIVATE,
};

/* Both fixtures open a fresh region; without the module this fails. */
#define OPEN_REGION_FIXTURE() do {						\
	self->ps = page_size();							\
	self->fd = vmf_open();							\
	ASSERT_GE(self->fd, 0)							\
		TH_LOG("open %s: %s (is the module loaded?)", VMFAULT_DEV,	\
		       strerror(errno));					\
} while (0)

FIXTURE_SETUP(region)
{
	OPEN_REGION_FIXTURE();
}

FIXTURE_TEARDOWN(region)
{
	close(self->fd);
}

/* Tests that choose their own mapping types use this fixture. */
FIXTURE(one) {
	int fd;
	long ps;
};

FIXTURE_SETUP(one)
{
	OPEN_REGION_FIXTURE();
}

FIXTURE_TEARDOWN(one)
{
	close(self->fd);
}

/*
 * Reads of never-written pages map the one zero page and allocate nothing;
 * in a writable MAP_SHARED mapping they allocate the region pages.
 */
TEST_F(region, read_maps_zero_page)
{
	const int n = 16;
	bool zpm = zero_page_mapped_in(variant->flags);
	uint64_t zp = zero_pfn(), g0 = vmf_proc("faults");
	struct vmfault_region_info info;
	char *p;
	long f0, f1;
	int i;

	ASSERT_NE(zp, 0);
	ASSERT_TRUE(kpf(zp, KPF_ZERO_PAGE));
	p = mmap(NULL, n * self->ps, PROT_READ, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);

	f0 = rusage_faults();
	for (i = 0; i < n; i++)
		touch_read(p + i * self->ps);
	f1 = rusage_faults();

	EXPECT_EQ(f1 - f0, n);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], n);
	EXPECT_EQ(info.counters[VMFAULT_CNT_READ_FAULTS], n);
	EXPECT_EQ(info.counters[VMFAULT_CNT_WRITE_FAULTS], 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], zpm ? n : 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], zpm ? 0 : n);
	EXPECT_EQ(info.resident, zpm ? 0 : n);
	EXPECT_EQ(info.size, n * self->ps);
	EXPECT_EQ(vmf_proc("faults") - g0, n);
	for (i = 0; i < n; i++) {
		uint64_t pfn = pfn_of(p + i * self->ps);

		if (zpm) {
			EXPECT_EQ(pfn, zp);
		} else {
			EXPECT_NE(pfn, zp);
			EXPECT_FALSE(kpf(pfn, KPF_ANON));
		}
		EXPECT_TRUE(all_bytes(p + i * self->ps, self->ps, 0));
	}
	munmap(p, n * self->ps);
}

/*
 * The zero page is the same frame in every region, mapping and process
 * (but for a writable MAP_SHARED mapping, which has its own page).
 */
TEST_F(region, zero_page_same_everywhere)
{
	uint64_t zp = zero_pfn(), za;
	int fd2 = vmf_open();
	char *a, *b;

	ASSERT_GE(fd2, 0);
	a = mmap(NULL, 4 * self->ps, PROT_READ, variant->flags, self->fd, 0);
	b = mmap(NULL, 4 * self->ps, PROT_READ, MAP_PRIVATE, fd2, 0);
	ASSERT_NE(a, MAP_FAILED);
	ASSERT_NE(b, MAP_FAILED);
	touch_read(a + 3 * self->ps);
	touch_read(b + 1 * self->ps);
	za = pfn_of(a + 3 * self->ps);
	if (zero_page_mapped_in(variant->flags)) {
		EXPECT_EQ(za, zp);
	} else {
		EXPECT_NE(za, zp);
	}
	EXPECT_EQ(pfn_of(b + 1 * self->ps), zp);
	/* A child maps both again and sees the same frame. */
	EXPECT_EQ(IN_CHILD({
		char *c = mmap(NULL, self->ps, PROT_READ, MAP_PRIVATE, fd2, 2 * self->ps);

		if (c == MAP_FAILED)
			_exit(2);
		touch_read(c);
		touch_read(a + 3 * self->ps);
		rc = pfn_of(c) == zp && pfn_of(a + 3 * self->ps) == za ? 0 : 1;
	}), 0);
	close(fd2);
}

/* Any access past the region's size gets SIGBUS, and is counted. */
TEST_F(region, sigbus_past_size)
{
	char *p;

	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 2 * self->ps), 0);
	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	EXPECT_EQ(child_signal(touch_fn, p + self->ps), 0);
	EXPECT_EQ(child_signal(touch_fn, p + 2 * self->ps), SIGBUS);
	EXPECT_EQ(child_signal(write_fn, p + 3 * self->ps), SIGBUS);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_SIGBUS), 2);
	munmap(p, 4 * self->ps);
}

/* An unconfigured region takes the size of its first mapping. */
TEST_F(region, sized_by_first_mapping)
{
	struct vmfault_region_info info;
	char *p, *q;

	p = mmap(NULL, 5 * self->ps, PROT_READ, variant->flags, self->fd, 2 * self->ps);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.size, 7 * self->ps);
	EXPECT_EQ(info.mapped, 1);
	EXPECT_EQ(info.mode, VMFAULT_MODE_ZERO);
	/* A later mapping may reach past the size, as with a file: SIGBUS. */
	q = mmap(NULL, self->ps, PROT_READ, variant->flags, self->fd, 7 * self->ps);
	ASSERT_NE(q, MAP_FAILED);
	EXPECT_EQ(child_signal(touch_fn, q), SIGBUS);
	EXPECT_EQ(child_signal(touch_fn, p + 4 * self->ps), 0);
	/* The size is frozen from the first mmap() on. */
	EXPECT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 64 * self->ps), -1);
	EXPECT_EQ(errno, EBUSY);
	munmap(p, 5 * self->ps);
	munmap(q, self->ps);
}

/*
 * Offsets near the top of off_t: an unsized region refuses
 * a first mapping that would make it larger than VMFAULT_MAX_SIZE; a sized
 * one maps it, and an access there is SIGBUS, the page index math intact.
 */
TEST_F(region, mmap_offset_near_2_63)
{
	off_t top = (INT64_MAX / self->ps - 1) * self->ps;
	char *p;

	p = mmap(NULL, self->ps, PROT_READ, variant->flags, self->fd, top);
	EXPECT_EQ(p, MAP_FAILED);
	EXPECT_EQ(errno, EINVAL);
	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 4 * self->ps), 0);
	p = mmap(NULL, self->ps, PROT_READ, variant->flags, self->fd, top);
	ASSERT_NE(p, MAP_FAILED);
	EXPECT_EQ(child_signal(touch_fn, p), SIGBUS);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_SIGBUS), 1);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), 0);
	munmap(p, self->ps);
}

/*
 * /dev/vmfault opened read-only: a writable MAP_SHARED
 * mapping, or mprotect() to one, is EACCES; a MAP_PRIVATE write is allowed
 * and copies, so the region gets no page.
 */
TEST(readonly_fd_no_shared_write)
{
	long ps = page_size();
	int fd = open(VMFAULT_DEV, O_RDONLY | O_CLOEXEC);
	char *p;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(vmf_configure(fd, VMFAULT_MODE_ZERO, 4 * ps), 0);
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(p, MAP_FAILED);
	EXPECT_EQ(errno, EACCES);
	p = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	EXPECT_EQ(mprotect(p, 4 * ps, PROT_READ | PROT_WRITE), -1);
	EXPECT_EQ(errno, EACCES);
	EXPECT_EQ(child_signal(write_fn, p), SIGSEGV);
	munmap(p, 4 * ps);
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[0] = 'x';
	EXPECT_EQ(p[0], 'x');
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED), 0);
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_COW_FAULTS), 1);
	munmap(p, 4 * ps);
	close(fd);
}

/*
 * MAP_POPULATE and MADV_POPULATE_READ map the zero page, nothing else (a
 * writable MAP_SHARED mapping: the region's pages, once each).
 */
TEST_F(region, populate_read)
{
	const int n = 8;
	bool zpm = zero_page_mapped_in(variant->flags);
	uint64_t zp = zero_pfn();
	char *p, *q;
	int i;

	p = mmap(NULL, n * self->ps, PROT_READ, variant->flags | MAP_POPULATE, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_ZERO_PAGE_MAPS), zpm ? n : 0);
	for (i = 0; i < n; i++) {
		if (zpm) {
			EXPECT_EQ(pfn_of(p + i * self->ps), zp);
		} else {
			EXPECT_NE(pfn_of(p + i * self->ps), zp);
		}
	}
	q = mmap(NULL, n * self->ps, PROT_READ, variant->flags, self->fd, 0);
	ASSERT_NE(q, MAP_FAILED);
	ASSERT_EQ(madvise(q, n * self->ps, MADV_POPULATE_READ), 0);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_ZERO_PAGE_MAPS), zpm ? 2 * n : 0);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), zpm ? 0 : n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(pfn_of(q + i * self->ps), zpm ? zp : pfn_of(p + i * self->ps));
	munmap(p, n * self->ps);
	munmap(q, n * self->ps);
}

/*
 * VMFAULT_FLAG_FAULT_AROUND: a read of a hole maps the zero page at every
 * hole of its aligned 16-page window, so 64 pages take 4 faults. Where the
 * zero page is refused (a writable MAP_SHARED mapping) every read allocates.
 */
TEST_F(region, fault_around_zero_page)
{
	const int n = 64, w = 16;
	bool zpm = zero_page_mapped_in(variant->flags);
	uint64_t zp = zero_pfn(), g0 = vmf_proc("fault_around_pages");
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_ZERO, .size = n * self->ps,
				      .flags = VMFAULT_FLAG_FAULT_AROUND };
	struct vmfault_region_info info;
	long f0, f1;
	char *p;
	int i;

	ASSERT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), 0);
	p = mmap_aligned(n * self->ps, w * self->ps, PROT_READ, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	f0 = rusage_faults();
	for (i = 0; i < n; i++)
		touch_read(p + i * self->ps);
	f1 = rusage_faults();

	EXPECT_EQ(f1 - f0, zpm ? n / w : n);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], zpm ? n / w : n);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], zpm ? n : 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULT_AROUND], zpm ? n - n / w : 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], zpm ? 0 : n);
	EXPECT_EQ(vmf_proc("fault_around_pages") - g0, zpm ? n - n / w : 0);
	for (i = 0; i < n; i++) {
		if (zpm) {
			EXPECT_EQ(pfn_of(p + i * self->ps), zp);
		} else {
			EXPECT_NE(pfn_of(p + i * self->ps), zp);
		}
	}
	EXPECT_TRUE(all_bytes(p, n * self->ps, 0));
	munmap(p, n * self->ps);
}

/*
 * One fault on a window with region pages, a private copy and holes:
 * ->map_pages maps the region pages, ->fault the zero page at the holes,
 * and the private copy keeps its data.
 */
TEST_F(one, fault_around_mixed_window)
{
	const int w = 16;
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_ZERO, .size = w * self->ps,
				      .flags = VMFAULT_FLAG_FAULT_AROUND };
	uint64_t zp = zero_pfn(), pfn5;
	char *p, *q, buf[8] = "region";
	long f0, f1;
	int i;

	ASSERT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), 0);
	ASSERT_EQ(pwrite(self->fd, buf, sizeof(buf), 5 * self->ps), sizeof(buf));
	ASSERT_EQ(pwrite(self->fd, buf, sizeof(buf), 9 * self->ps), sizeof(buf));
	p = mmap_aligned(w * self->ps, w * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			 self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[3 * self->ps] = 'c';		/* a private copy of a hole */
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULTS), 1);

	f0 = rusage_faults();
	for (i = 0; i < w; i++)
		touch_read(p + i * self->ps);
	f1 = rusage_faults();
	EXPECT_EQ(f1 - f0, 1);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULTS), 2);
	/* 2 region pages by ->map_pages; 13 holes, the faulting one included. */
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_ZERO_PAGE_MAPS), w - 3);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULT_AROUND), 2 + w - 3 - 1);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), 2);
	pfn5 = pfn_of(p + 5 * self->ps);
	EXPECT_NE(pfn5, zp);
	EXPECT_FALSE(kpf(pfn5, KPF_ANON));
	EXPECT_STREQ(p + 5 * self->ps, "region");
	EXPECT_STREQ(p + 9 * self->ps, "region");
	EXPECT_EQ(p[3 * self->ps], 'c');
	EXPECT_TRUE(kpf(pfn_of(p + 3 * self->ps), KPF_ANON));
	for (i = 0; i < w; i++)
		if (i != 3 && i != 5 && i != 9)
			EXPECT_EQ(pfn_of(p + i * self->ps), zp);

	/* A shared mapping sees the same region page, and writes reach p. */
	q = mmap(NULL, w * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(q, MAP_FAILED);
	touch_read(q + 5 * self->ps);
	EXPECT_EQ(pfn_of(q + 5 * self->ps), pfn5);
	q[5 * self->ps] = 'R';
	EXPECT_EQ(p[5 * self->ps], 'R');
	/* A shared write to a hole replaces p's zero page too. */
	q[7 * self->ps] = 'h';
	EXPECT_EQ(p[7 * self->ps], 'h');
	EXPECT_NE(pfn_of(p + 7 * self->ps), zp);
	munmap(q, w * self->ps);
	munmap(p, w * self->ps);
}

/*
 * Fault-around where the page table does not exist yet: the first read of
 * a fresh 2 MiB-aligned mapping. Core mm allocates the table before
 * ->map_pages, which installs it and maps the whole window: 16 resident
 * pages, one fault (before, the window was left to ->fault: one page).
 * The next window, whose table exists, is mapped whole as well.
 */
TEST_F(one, fault_around_new_page_table)
{
	const int n = 512, w = 16;
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_ZERO, .size = n * self->ps,
				      .flags = VMFAULT_FLAG_FAULT_AROUND };
	uint64_t zp = zero_pfn();
	int first = w, i, mapped = 0;
	char *p, *buf;
	long f0;

	buf = malloc(n * self->ps);
	ASSERT_NE(buf, NULL);
	for (i = 0; i < n; i++)
		memset(buf + i * self->ps, 'a' + i % 26, self->ps);
	ASSERT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), 0);
	ASSERT_EQ(pwrite(self->fd, buf, n * self->ps, 0), n * self->ps);
	p = mmap_aligned(n * self->ps, n * self->ps, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);

	f0 = rusage_faults();
	touch_read(p);
	EXPECT_EQ(rusage_faults() - f0, 1);
	for (i = 0; i < 2 * w; i++)
		mapped += pfn_of(p + i * self->ps) != 0;
	EXPECT_EQ(mapped, first);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULTS), 1);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULT_AROUND), first - 1);

	f0 = rusage_faults();
	touch_read(p + w * self->ps);
	EXPECT_EQ(rusage_faults() - f0, 1);
	mapped = 0;
	for (i = 0; i < 2 * w; i++)
		mapped += pfn_of(p + i * self->ps) != 0;
	EXPECT_EQ(mapped, first + w);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULT_AROUND), first - 1 + w - 1);
	/* Each mapped page is the region's, with its data. */
	for (i = 0; i < 2 * w; i++) {
		uint64_t pfn = pfn_of(p + i * self->ps);

		if (!pfn)
			continue;
		EXPECT_NE(pfn, zp);
		EXPECT_EQ(p[i * self->ps], 'a' + i % 26);
	}
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), n);
	munmap(p, n * self->ps);
	free(buf);
}

/* Lazy allocation: map 10 pages, write 3, and exactly 3 pages exist. */
TEST_F(one, lazy_allocation_shared)
{
	const int touched[] = { 0, 4, 9 };
	struct vmfault_region_info info;
	uint64_t pfn[3], a0 = vmf_proc("pages_allocated");
	char *p;
	long f0, f1;
	int i;

	p = mmap(NULL, 10 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	f0 = rusage_faults();
	for (i = 0; i < 3; i++)
		p[touched[i] * self->ps + 7] = 'x';
	f1 = rusage_faults();

	EXPECT_EQ(f1 - f0, 3);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], 3);
	EXPECT_EQ(info.counters[VMFAULT_CNT_WRITE_FAULTS], 3);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], 3);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], 0);
	EXPECT_EQ(info.resident, 3);
	EXPECT_EQ(vmf_proc("pages_allocated") - a0, 3);
	for (i = 0; i < 3; i++) {
		char *pg = p + touched[i] * self->ps;

		pfn[i] = pfn_of(pg);
		EXPECT_NE(pfn[i], 0);
		EXPECT_NE(pfn[i], zero_pfn());
		EXPECT_FALSE(kpf(pfn[i], KPF_ANON));
		EXPECT_EQ(kpagecount(pfn[i]), 1);
		/* The new page is zeroed but for the byte written. */
		EXPECT_EQ(pg[7], 'x');
		pg[7] = 0;
		EXPECT_TRUE(all_bytes(pg, self->ps, 0));
	}
	EXPECT_NE(pfn[0], pfn[1]);
	EXPECT_NE(pfn[1], pfn[2]);
	EXPECT_EQ(pfn_of(p + self->ps), 0);
	munmap(p, 10 * self->ps);
}

/*
 * In a private mapping writes are private: core mm's do_cow_fault() copies
 * the zero page into anonymous pages; the region allocates nothing.
 */
TEST_F(one, lazy_allocation_private)
{
	struct vmfault_region_info info;
	char *p, *s;
	long f0, f1;
	int i;

	p = mmap(NULL, 10 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	f0 = rusage_faults();
	for (i = 0; i < 3; i++)
		p[i * 3 * self->ps] = 'p';
	f1 = rusage_faults();
	EXPECT_EQ(f1 - f0, 3);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], 3);
	EXPECT_EQ(info.counters[VMFAULT_CNT_COW_FAULTS], 3);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], 0);
	for (i = 0; i < 3; i++) {
		uint64_t pfn = pfn_of(p + i * 3 * self->ps);

		EXPECT_TRUE(kpf(pfn, KPF_ANON));
		EXPECT_NE(pfn, zero_pfn());
	}
	/* The region itself is still all holes (read through a private mapping). */
	s = mmap(NULL, 10 * self->ps, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(s, MAP_FAILED);
	EXPECT_EQ(s[0], 0);
	EXPECT_EQ(pfn_of(s), zero_pfn());
	munmap(p, 10 * self->ps);
	munmap(s, 10 * self->ps);
}

/*
 * xv6's buf[4096] in process memory: read then write takes 2 faults and 1
 * page. The module serves the read; core mm's wp_page_copy() the write.
 */
TEST_F(one, private_read_then_write)
{
	struct vmfault_region_info info;
	char *p;
	long f0, f1;
	uint64_t pfn;

	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	f0 = rusage_faults();
	touch_read(p + self->ps);
	p[self->ps] = 'w';
	f1 = rusage_faults();
	EXPECT_EQ(f1 - f0, 2);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], 1);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], 1);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], 0);
	pfn = pfn_of(p + self->ps);
	EXPECT_TRUE(kpf(pfn, KPF_ANON));
	EXPECT_NE(pfn, zero_pfn());
	munmap(p, 4 * self->ps);
}

/*
 * In a shared mapping read then write takes 2 faults and 1 page: the read
 * allocates the region page (no zero page in a mapping that may be
 * written) and maps it read-only, the write is ->page_mkwrite.
 */
TEST_F(one, shared_read_then_write)
{
	struct vmfault_region_info info;
	char *p;
	long f0, f1;

	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	f0 = rusage_faults();
	touch_read(p + self->ps);
	p[self->ps] = 'w';
	f1 = rusage_faults();
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(f1 - f0, 2);
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], 2);
	EXPECT_EQ(info.counters[VMFAULT_CNT_WRITE_FAULTS], 1);
	EXPECT_EQ(info.counters[VMFAULT_CNT_MKWRITES], 1);
	EXPECT_EQ(info.counters[VMFAULT_CNT_READ_FAULTS], 1);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_UPGRADES], 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], 1);
	EXPECT_NE(pfn_of(p + self->ps), zero_pfn());
	EXPECT_FALSE(kpf(pfn_of(p + self->ps), KPF_ANON));
	munmap(p, 4 * self->ps);
}

/*
 * A page that a MAP_SHARED read mapped, pinned by vmsplice() (GUP), shows a
 * write made later through another mapping: the read mapped the region's
 * own page. Had it mapped the zero page, the write would have replaced it
 * under the pin, and the pipe would still give zeros (why 6.10 refuses the
 * zero page there, and vmfault on every kernel).
 */
TEST_F(one, pinned_shared_read_sees_later_writes)
{
	char *p, *buf = malloc(self->ps);
	struct iovec iov;
	int pfd[2];

	ASSERT_NE(NULL, buf);
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	touch_read(p);
	EXPECT_NE(zero_pfn(), pfn_of(p));
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = self->ps;
	ASSERT_EQ(self->ps, vmsplice(pfd[1], &iov, 1, 0));
	memset(buf, 0x77, self->ps);
	ASSERT_EQ(IN_CHILD({
		char *c = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);

		if (c == MAP_FAILED)
			_exit(2);
		memset(c, 0x77, self->ps);
	}), 0);
	EXPECT_EQ(self->ps, read(pfd[0], buf, self->ps));
	EXPECT_TRUE(all_bytes(buf, self->ps, 0x77));
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, self->ps);
	free(buf);
}

/* A write to a region page mapped read-only is the module's fault too. */
TEST_F(one, shared_mkwrite_counted)
{
	char *p, *q;
	long f0, f1;

	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[0] = 1;
	q = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(q, MAP_FAILED);
	f0 = rusage_faults();
	touch_read(q);
	q[1] = 2;
	f1 = rusage_faults();
	EXPECT_EQ(f1 - f0, 2);
	/* 1 write fault for p, then read and mkwrite for q. */
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULTS), 3);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_MKWRITES), 1);
	EXPECT_EQ(p[1], 2);
	EXPECT_EQ(pfn_of(p), pfn_of(q));
	munmap(p, self->ps);
	munmap(q, self->ps);
}

/*
 * Another process's writes reach this process's mappings: the shared one
 * (same frames) and a private one that mapped the zero page, which the
 * write replaces everywhere.
 */
TEST_F(one, shared_coherent_across_processes)
{
	char *p, *q, *r;
	uint64_t zp = zero_pfn();
	int fd = self->fd;

	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = mmap(NULL, 4 * self->ps, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_NE(r, MAP_FAILED);
	touch_read(p + self->ps);
	touch_read(r);
	ASSERT_EQ(pfn_of(r), zp);
	ASSERT_NE(pfn_of(p + self->ps), zp);

	/* A child maps the region anew and writes page 0 ... */
	ASSERT_EQ(IN_CHILD({
		char *c = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (c == MAP_FAILED)
			_exit(2);
		memset(c, 0x5a, self->ps);
	}), 0);
	/* ... and writes page 1 through the mapping it inherited. */
	ASSERT_EQ(IN_CHILD(memset(p + self->ps, 0xa5, self->ps)), 0);

	EXPECT_TRUE(all_bytes(p, self->ps, 0x5a));
	EXPECT_TRUE(all_bytes(p + self->ps, self->ps, (char)0xa5));
	EXPECT_NE(pfn_of(p), zp);
	/* A second mapping in this process sees the same frames. */
	q = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(q, MAP_FAILED);
	EXPECT_EQ(q[0], 0x5a);
	EXPECT_EQ(q[self->ps], (char)0xa5);
	EXPECT_EQ(pfn_of(q), pfn_of(p));
	EXPECT_EQ(pfn_of(q + self->ps), pfn_of(p + self->ps));
	EXPECT_EQ(r[0], 0x5a);
	EXPECT_EQ(pfn_of(r), pfn_of(p));
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED), 2);
	munmap(p, 4 * self->ps);
	munmap(q, 4 * self->ps);
	munmap(r, 4 * self->ps);
}

/* A private write never reaches the region or the zero page. */
TEST_F(one, private_write_isolated)
{
	char *s, *p;

	s = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	p = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(s, MAP_FAILED);
	ASSERT_NE(p, MAP_FAILED);
	s[0] = 'A';
	EXPECT_EQ(p[0], 'A');
	EXPECT_EQ(pfn_of(p), pfn_of(s));
	p[0] = 'B';
	p[self->ps] = 'C';
	EXPECT_EQ(s[0], 'A');
	EXPECT_EQ(s[self->ps], 0);
	EXPECT_EQ(p[0], 'B');
	EXPECT_NE(pfn_of(p), pfn_of(s));
	EXPECT_TRUE(kpf(pfn_of(p), KPF_ANON));
	/* s[ps] was read: a second page (no zero page in a shared mapping). */
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), 2);
	munmap(s, 2 * self->ps);
	munmap(p, 2 * self->ps);
}

/* Does the zero page still read as zeros, seen through fresh mappings? */
static bool zero_page_intact(int fd, long ps)
{
	char *a = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd2 = vmf_open();
	char *b = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd2, 0);
	bool ok;

	(void)fd;
	ok = a != MAP_FAILED && b != MAP_FAILED && all_bytes(a, ps, 0) &&
	     all_bytes(b, ps, 0) && pfn_of(a) == pfn_of(b);
	munmap(a, ps);
	munmap(b, ps);
	close(fd2);
	return ok;
}

/* mprotect() to writable never makes the zero page writable. */
TEST_F(region, zero_page_survives_mprotect)
{
	char *p;

	p = mmap(NULL, 2 * self->ps, PROT_READ, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	touch_read(p);
	if (zero_page_mapped_in(variant->flags)) {
		ASSERT_EQ(pfn_of(p), zero_pfn());
	}
	ASSERT_EQ(mprotect(p, 2 * self->ps, PROT_READ | PROT_WRITE), 0);
	memset(p, 0x77, self->ps);
	EXPECT_NE(pfn_of(p), zero_pfn());
	EXPECT_TRUE(all_bytes(p, self->ps, 0x77));
	EXPECT_TRUE(zero_page_intact(self->fd, self->ps));
	/* Back to read-only and writable again: still a copy, not the zero page. */
	ASSERT_EQ(mprotect(p, 2 * self->ps, PROT_READ), 0);
	ASSERT_EQ(mprotect(p, 2 * self->ps, PROT_READ | PROT_WRITE), 0);
	touch_read(p + self->ps);
	p[self->ps] = 1;
	EXPECT_TRUE(zero_page_intact(self->fd, self->ps));
	munmap(p, 2 * self->ps);
}

/* After fork, a child's write to a zero-page mapping is its own. */
TEST_F(region, zero_page_survives_fork)
{
	char *p;

	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	touch_read(p);
	ASSERT_EQ(IN_CHILD({
		memset(p, 0x33, self->ps);
		rc = all_bytes(p, self->ps, 0x33) ? 0 : 1;
	}), 0);
	/* Shared: the parent sees the child's data; private: it keeps zeros. */
	EXPECT_TRUE(all_bytes(p, self->ps, variant->flags == MAP_SHARED ? 0x33 : 0));
	EXPECT_TRUE(zero_page_intact(self->fd, self->ps));
	munmap(p, self->ps);
}

/* Forced writes through /proc/self/mem COW or fail; never hit the zero page. */
TEST_F(region, zero_page_survives_proc_mem)
{
	char *p, buf[16];
	int mem;
	ssize_t n;

	p = mmap(NULL, self->ps, PROT_READ, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	touch_read(p);
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_GE(mem, 0);
	memset(buf, 0x42, sizeof(buf));
	n = pwrite(mem, buf, sizeof(buf), (uintptr_t)p);
	if (variant->flags == MAP_PRIVATE) {
		/* FOLL_FORCE breaks COW: a private anonymous copy. */
		EXPECT_EQ(n, sizeof(buf));
		EXPECT_EQ(p[0], 0x42);
		EXPECT_TRUE(kpf(pfn_of(p), KPF_ANON));
	} else {
		/* A read-only shared mapping cannot be forced writable. */
		EXPECT_EQ(n, -1);
		EXPECT_EQ(p[0], 0);
	}
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED),
		  zero_page_mapped_in(variant->flags) ? 0 : 1);
	EXPECT_TRUE(zero_page_intact(self->fd, self->ps));
	close(mem);
	munmap(p, self->ps);
}

/* Bad configurations get EINVAL, bad pointers EFAULT, bad commands ENOTTY. */
TEST_F(one, bad_ioctls)
{
	const uint64_t bad_sizes[] = { 0, 1, 4095, self->ps + 1, VMFAULT_MAX_SIZE + self->ps,
				       1ULL << 63, UINT64_MAX };
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_ZERO, .size = self->ps };
	struct vmfault_region_info info;
	unsigned int i;
	char *ro;

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		EXPECT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, bad_sizes[i]), -1);
		EXPECT_EQ(errno, EINVAL);
	}
	EXPECT_EQ(vmf_configure(self->fd, VMFAULT_MODE_INVALID, self->ps), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(vmf_configure(self->fd, 99, self->ps), -1);
	EXPECT_EQ(errno, EINVAL);
	cfg.flags = VMFAULT_FLAG_NO_FAULT_AROUND;	/* file mode's */
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), -1);
	EXPECT_EQ(errno, EINVAL);
	cfg.flags = VMFAULT_FLAG_ASYNC_PREFETCH;	/* file mode's */
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), -1);
	EXPECT_EQ(errno, EINVAL);
	cfg.flags = 0x80;
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), -1);
	EXPECT_EQ(errno, EINVAL);
	cfg.flags = 0;
	cfg.reserved[0] = 1;
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg), -1);
	EXPECT_EQ(errno, EINVAL);

	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, NULL), -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_CONFIGURE, (void *)1), -1);
	EXPECT_EQ(errno, EFAULT);
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_GET_INFO, (void *)0xffffffffff600000ULL), -1);
	EXPECT_EQ(errno, EFAULT);
	ro = mmap(NULL, self->ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(ro, MAP_FAILED);
	EXPECT_EQ(ioctl(self->fd, VMFAULT_IOC_GET_INFO, ro), -1);
	EXPECT_EQ(errno, EFAULT);
	munmap(ro, self->ps);

	EXPECT_EQ(ioctl(self->fd, _IOW(VMFAULT_IOC_MAGIC, 0x00, __u64), &cfg), -1);
	EXPECT_EQ(errno, ENOTTY);
	EXPECT_EQ(ioctl(self->fd, _IO(VMFAULT_IOC_MAGIC, 0x7f)), -1);
	EXPECT_EQ(errno, ENOTTY);
	EXPECT_EQ(ioctl(self->fd, 0x5401 /* TCGETS */, &cfg), -1);
	EXPECT_EQ(errno, ENOTTY);

	/* None of that configured anything. */
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_FAULTS), 0);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	EXPECT_EQ(info.size, 0);
	EXPECT_EQ(info.nr_counters, VMFAULT_NR_COUNTERS);
}

/* Configure, then map: the size holds; reconfiguring after mmap is EBUSY. */
TEST_F(region, configure_then_map)
{
	char *p;

	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 8 * self->ps), 0);
	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 3 * self->ps), 0);
	p = mmap(NULL, 3 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[2 * self->ps] = 1;
	EXPECT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 3 * self->ps), -1);
	EXPECT_EQ(errno, EBUSY);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_SIGBUS), 0);
	munmap(p, 3 * self->ps);
}

/*
 * The largest region up to VMFAULT_MAX_SIZE (1 TiB) that the address
 * space holds twice over: 1 TiB with x86's 4-level paging (128 TiB of user
 * space), 64 GiB with RISC-V's Sv39 (256 GiB).
 */
static uint64_t sparse_size(void)
{
	uint64_t size;
	void *p;

	for (size = VMFAULT_MAX_SIZE; size > (1ULL << 30); size >>= 1) {
		p = mmap(NULL, 2 * size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			munmap(p, 2 * size);
			break;
		}
	}
	return size;
}

/* A 1 TiB region (64 GiB under Sv39) costs only the pages touched. */
TEST_F(region, huge_sparse_region)
{
	const uint64_t size = sparse_size();
	char *p;
	int i;

	TH_LOG("a %llu GiB region", (unsigned long long)(size >> 30));
	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, size), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, variant->flags | MAP_NORESERVE,
		 self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	for (i = 0; i < 16; i++)
		p[(size / 16) * i + 4097 * i] = (char)i;
	p[size - 1] = 'e';
	EXPECT_EQ(p[size - 1], 'e');
	if (variant->flags == MAP_SHARED)
		EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED), 17);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_WRITE_FAULTS), 17);
	munmap(p, size);
}

/*
 * Where a page was written, a read finds it; between, a read of a hole maps
 * the zero page. The module answers "no page" from its resident map, 2^15
 * offsets (128 MiB) to a chunk, without the xarray's walk: its edges are
 * checked here, in a region as large as the address space allows (holes
 * in chunks with pages and in chunks without), and in a 3-page region (a
 * chunk smaller than a word).
 */
TEST(resident_map_edges)
{
	const uint64_t chunk = 1ULL << 15, size = sparse_size();
	const long ps = page_size();
	const uint64_t last = size / ps - 1;
	const uint64_t written[] = { 0, chunk - 1, chunk, 2 * chunk - 1, 5 * chunk + 7,
				     last - chunk, last };
	const uint64_t holes[] = { 1, chunk - 2, chunk + 1, 2 * chunk - 2, 2 * chunk,
				   3 * chunk, 5 * chunk + 6, 5 * chunk + 8, last - chunk + 1,
				   last - 1 };
	uint64_t zp = zero_pfn();
	unsigned int i;
	int fd = vmf_open(), fd3 = vmf_open();
	char *p, *q, c;

	ASSERT_GE(fd, 0);
	ASSERT_GE(fd3, 0);
	TH_LOG("a %llu GiB region, %llu pages", (unsigned long long)(size >> 30),
	       (unsigned long long)(last + 1));
	ASSERT_EQ(vmf_configure(fd, VMFAULT_MODE_ZERO, size), 0);
	for (i = 0; i < ARRAY_SIZE(written); i++) {
		c = (char)('a' + i);
		ASSERT_EQ(pwrite(fd, &c, 1, written[i] * ps + 5), 1);
	}
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED), ARRAY_SIZE(written));
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	for (i = 0; i < ARRAY_SIZE(written); i++) {
		char *pg = p + written[i] * ps;

		EXPECT_EQ(pg[5], (char)('a' + i)) TH_LOG("page %llu", (unsigned long long)written[i]);
		EXPECT_NE(pfn_of(pg), zp);
	}
	for (i = 0; i < ARRAY_SIZE(holes); i++) {
		char *pg = p + holes[i] * ps;

		touch_read(pg);
		EXPECT_EQ(pfn_of(pg), zp) TH_LOG("hole %llu", (unsigned long long)holes[i]);
		EXPECT_TRUE(all_bytes(pg, ps, 0));
	}
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_ZERO_PAGE_MAPS), ARRAY_SIZE(holes));
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED), ARRAY_SIZE(written));
	munmap(p, size);

	/* 3 pages: the map is one chunk of 3 bits. */
	ASSERT_EQ(vmf_configure(fd3, VMFAULT_MODE_ZERO, 3 * ps), 0);
	c = 'm';
	ASSERT_EQ(pwrite(fd3, &c, 1, ps + 9), 1);
	q = mmap(NULL, 3 * ps, PROT_READ, MAP_PRIVATE, fd3, 0);
	ASSERT_NE(q, MAP_FAILED);
	EXPECT_EQ(q[ps + 9], 'm');
	touch_read(q);
	touch_read(q + 2 * ps);
	EXPECT_EQ(pfn_of(q), zp);
	EXPECT_EQ(pfn_of(q + 2 * ps), zp);
	EXPECT_NE(pfn_of(q + ps), zp);
	munmap(q, 3 * ps);
	close(fd3);
	close(fd);
}

/* /proc/vmfault_regions shows each region: owner, mode, size, counters. */
TEST(proc_region_view)
{
	long ps = page_size();
	struct vmfault_region_info info;
	char line[1024], header[1024];
	unsigned int id = 0;
	unsigned long long size = 0, resident = 0, faults = 0, allocated = 0;
	int owner = 0, found = 0, fd = vmf_open();
	char mode[16] = "";
	FILE *f;
	char *p;

	ASSERT_GE(fd, 0);
	p = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[0] = p[ps] = 1;
	touch_read(p + 2 * ps);
	ASSERT_EQ(vmf_info(fd, &info), 0);
	f = fopen("/proc/vmfault_regions", "r");
	ASSERT_NE(f, NULL);
	ASSERT_NE(fgets(header, sizeof(header), f), NULL);
	EXPECT_EQ(strncmp(header, "id owner mode size resident faults read_faults", 46), 0);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %d %15s %llu %llu %llu", &id, &owner, mode, &size,
			   &resident, &faults) == 6 && id == info.id) {
			found++;
			/* pages_allocated is column 13 (5 + its counter index). */
			sscanf(line, "%*u %*d %*s %*u %*u %*u %*u %*u %*u %*u %*u %*u %llu",
			       &allocated);
			break;
		}
	}
	fclose(f);
	ASSERT_EQ(found, 1) TH_LOG("region %u not listed", info.id);
	EXPECT_EQ(owner, getpid());
	EXPECT_STREQ(mode, "zero");
	EXPECT_EQ(size, 6 * ps);
	/* The read of page 2 allocates too: no zero page in a shared mapping. */
	EXPECT_EQ(resident, 3);
	EXPECT_EQ(faults, 3);
	EXPECT_EQ(allocated, 3);
	EXPECT_EQ(VMFAULT_CNT_PAGES_ALLOCATED, 7);
	munmap(p, 6 * ps);
	close(fd);
}

/* Everything is freed when the last mapping and fd go, in either order. */
TEST(memory_freed_after_last_unmap_and_close)
{
	long ps = page_size();
	uint64_t freed0 = vmf_proc("pages_freed"), regions0 = vmf_proc("regions");
	int fd = vmf_open();
	char *p;
	int i;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(vmf_proc("regions"), regions0 + 1);
	p = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	for (i = 0; i < 8; i++)
		p[i * ps] = 1;
	close(fd);
	/* The mapping keeps the region alive after close(). */
	EXPECT_EQ(vmf_proc("pages_freed"), freed0);
	EXPECT_EQ(vmf_proc("regions"), regions0 + 1);
	EXPECT_EQ(p[7 * ps], 1);
	munmap(p, 8 * ps);
	EXPECT_EQ(vmf_proc("pages_freed"), freed0 + 8);
	EXPECT_EQ(vmf_proc("regions"), regions0);

	/* munmap() first, then close(). */
	fd = vmf_open();
	ASSERT_GE(fd, 0);
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[0] = p[ps] = 1;
	munmap(p, 2 * ps);
	EXPECT_EQ(vmf_proc("pages_freed"), freed0 + 8);
	close(fd);
	EXPECT_EQ(vmf_proc("pages_freed"), freed0 + 10);
}

/*
 * /proc/vmfault adds up the regions' own counters, of the regions open and
 * of those gone: every event once, and nothing lost when a region goes.
 */
TEST(global_counters_add_up_regions)
{
	long ps = page_size();
	uint64_t f0 = vmf_proc("faults"), r0 = vmf_proc("read_faults");
	uint64_t w0 = vmf_proc("write_faults"), a0 = vmf_proc("pages_allocated");
	uint64_t fr0 = vmf_proc("pages_freed"), z0 = vmf_proc("zero_page_maps");
	uint64_t c0 = vmf_proc("cow_faults");
	int a = vmf_open(), b = vmf_open(), i;
	char *pa, *pb;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	pa = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, a, 0);
	ASSERT_NE(pa, MAP_FAILED);
	pb = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	ASSERT_NE(pb, MAP_FAILED);
	for (i = 0; i < 4; i++)
		touch_read(pa + i * ps);
	/* Private first writes to holes: one count each, a write and a COW. */
	pa[4 * ps] = 1;
	pa[5 * ps] = 1;
	for (i = 0; i < 3; i++)
		pb[i * ps] = 1;
	/* a's reads of holes: each one count that is a read and a zero page. */
	EXPECT_EQ(vmf_counter(a, VMFAULT_CNT_READ_FAULTS), 4);
	EXPECT_EQ(vmf_counter(a, VMFAULT_CNT_ZERO_PAGE_MAPS), 4);
	EXPECT_EQ(vmf_counter(a, VMFAULT_CNT_WRITE_FAULTS), 2);
	EXPECT_EQ(vmf_counter(a, VMFAULT_CNT_COW_FAULTS), 2);
	EXPECT_EQ(vmf_counter(a, VMFAULT_CNT_FAULTS), 6);
	EXPECT_EQ(vmf_counter(b, VMFAULT_CNT_WRITE_FAULTS), 3);
	EXPECT_EQ(vmf_counter(b, VMFAULT_CNT_ZERO_PAGE_MAPS), 0);
	EXPECT_EQ(vmf_counter(b, VMFAULT_CNT_COW_FAULTS), 0);
	EXPECT_EQ(vmf_proc("faults") - f0, 9);
	EXPECT_EQ(vmf_proc("read_faults") - r0, 4);
	EXPECT_EQ(vmf_proc("write_faults") - w0, 5);
	EXPECT_EQ(vmf_proc("cow_faults") - c0, 2);
	EXPECT_EQ(vmf_proc("zero_page_maps") - z0, 4);
	/* The private copies are anonymous: a holds no page of its own. */
	EXPECT_EQ(vmf_proc("pages_allocated") - a0, 3);

	/* Region a goes: its six faults and zero pages stay counted. */
	munmap(pa, 6 * ps);
	close(a);
	EXPECT_EQ(vmf_proc("faults") - f0, 9);
	EXPECT_EQ(vmf_proc("read_faults") - r0, 4);
	EXPECT_EQ(vmf_proc("cow_faults") - c0, 2);
	EXPECT_EQ(vmf_proc("zero_page_maps") - z0, 4);
	/* A store to a page mapped writable is no fault. */
	pb[0] = 2;
	EXPECT_EQ(vmf_proc("faults") - f0, 9);
	/* b goes, and its pages with it, counted freed as it goes. */
	munmap(pb, 3 * ps);
	EXPECT_EQ(vmf_proc("pages_freed") - fr0, 0);
	close(b);
	EXPECT_EQ(vmf_proc("faults") - f0, 9);
	EXPECT_EQ(vmf_proc("write_faults") - w0, 5);
	EXPECT_EQ(vmf_proc("pages_allocated") - a0, 3);
	EXPECT_EQ(vmf_proc("pages_freed") - fr0, 3);
}

/* write() from and read() into vmfault memory work like ordinary memory. */
TEST_F(region, syscalls_use_vmfault_buffers)
{
	int pfd[2];
	char *p, buf[8192];

	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	memset(p + self->ps, 'd', self->ps);
	ASSERT_EQ(pipe(pfd), 0);
	/* Page 0 is a hole (zero page), page 1 holds data. */
	ASSERT_EQ(write(pfd[1], p, 2 * self->ps), 2 * self->ps);
	ASSERT_EQ(read(pfd[0], buf, 2 * self->ps), 2 * self->ps);
	EXPECT_TRUE(all_bytes(buf, self->ps, 0));
	EXPECT_TRUE(all_bytes(buf + self->ps, self->ps, 'd'));
	/* read() into a hole of the mapping. */
	memset(buf, 'r', self->ps);
	ASSERT_EQ(write(pfd[1], buf, self->ps), self->ps);
	ASSERT_EQ(read(pfd[0], p + 2 * self->ps, self->ps), self->ps);
	EXPECT_TRUE(all_bytes(p + 2 * self->ps, self->ps, 'r'));
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, 4 * self->ps);
}

/* process_vm_readv() and /proc/PID/mem (what gdb uses) read vmfault memory. */
TEST_F(region, remote_access)
{
	char *p, buf[64];
	struct iovec local = { buf, sizeof(buf) }, remote;
	int mem;

	p = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	strcpy(p + self->ps, "hello from vmfault");
	remote.iov_base = p + self->ps;
	remote.iov_len = sizeof(buf);
	ASSERT_EQ(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), sizeof(buf));
	EXPECT_STREQ(buf, "hello from vmfault");
	/* A hole reads as zeros, via the zero page. */
	remote.iov_base = p;
	memset(buf, 1, sizeof(buf));
	ASSERT_EQ(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), sizeof(buf));
	EXPECT_TRUE(all_bytes(buf, sizeof(buf), 0));
	mem = open("/proc/self/mem", O_RDONLY);
	ASSERT_GE(mem, 0);
	ASSERT_EQ(pread(mem, buf, sizeof(buf), (uintptr_t)(p + self->ps)), sizeof(buf));
	EXPECT_STREQ(buf, "hello from vmfault");
	close(mem);
	munmap(p, 2 * self->ps);
}

/* vmsplice() pins vmfault pages into a pipe, like any user memory. */
TEST_F(region, vmsplice_from_mapping)
{
	int pfd[2];
	char *p, buf[4096];
	struct iovec iov;

	ASSERT_LE(self->ps, (long)sizeof(buf));
	p = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	memset(p, 'v', self->ps);
	touch_read(p + self->ps);
	ASSERT_EQ(pipe(pfd), 0);
	iov.iov_base = p;
	iov.iov_len = 2 * self->ps;
	ASSERT_EQ(vmsplice(pfd[1], &iov, 1, 0), 2 * self->ps);
	ASSERT_EQ(read(pfd[0], buf, self->ps), self->ps);
	EXPECT_TRUE(all_bytes(buf, self->ps, 'v'));
	ASSERT_EQ(read(pfd[0], buf, self->ps), self->ps);
	EXPECT_TRUE(all_bytes(buf, self->ps, 0));
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, 2 * self->ps);
}

/* MADV_POPULATE_WRITE allocates the pages (shared) or private copies. */
TEST_F(region, populate_write)
{
	const int n = 8;
	char *p;

	p = mmap(NULL, n * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(madvise(p, n * self->ps, MADV_POPULATE_WRITE), 0);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_WRITE_FAULTS), n);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_PAGES_ALLOCATED),
		  variant->flags == MAP_SHARED ? n : 0);
	EXPECT_EQ(vmf_counter(self->fd, VMFAULT_CNT_COW_FAULTS),
		  variant->flags == MAP_SHARED ? 0 : n);
	EXPECT_NE(pfn_of(p + (n - 1) * self->ps), 0);
	EXPECT_TRUE(all_bytes(p, n * self->ps, 0));
	munmap(p, n * self->ps);
}

/* Set up a loop device over a memfd; return its O_DIRECT fd or -1. */
static int loop_direct_open(char *path, size_t len, size_t bytes)
{
	int ctl, nr, backing, fd = -1;

	ctl = open("/dev/loop-control", O_RDWR);
	if (ctl < 0)
		return -1;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -1;
	backing = memfd_create("vmfault-loop", MFD_CLOEXEC);
	if (backing < 0 || ftruncate(backing, bytes))
		goto out;
	snprintf(path, len, "/dev/loop%d", nr);
	fd = open(path, O_RDWR);
	if (fd < 0)
		goto out;
	if (ioctl(fd, LOOP_SET_FD, backing)) {
		close(fd);
		fd = -1;
		goto out;
	}
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
out:
	if (backing >= 0)
		close(backing);
	return fd;
}

/* O_DIRECT I/O goes straight to and from vmfault pages (GUP pins them). */
TEST_F(region, o_direct)
{
	char path[64], *p;
	int dio;

	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, variant->flags, self->fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	dio = loop_direct_open(path, sizeof(path), 1 << 20);
	ASSERT_GE(dio, 0) TH_LOG("loop device with O_DIRECT: %s", strerror(errno));
	memset(p + self->ps, 'o', self->ps);
	/* Write a hole and a data page, read both back into pages 2 and 3. */
	ASSERT_EQ(pwrite(dio, p, 2 * self->ps, 0), 2 * self->ps);
	ASSERT_EQ(pread(dio, p + 2 * self->ps, 2 * self->ps, 0), 2 * self->ps);
	EXPECT_TRUE(all_bytes(p + 2 * self->ps, self->ps, 0));
	EXPECT_TRUE(all_bytes(p + 3 * self->ps, self->ps, 'o'));
	EXPECT_TRUE(zero_page_intact(self->fd, self->ps));
	ioctl(dio, LOOP_CLR_FD, 0);
	close(dio);
	munmap(p, 4 * self->ps);
}

struct touch_job {
	char *p;
	long ps;
	int npages;
	int id;
	pthread_barrier_t *bar;
};

static void *touch_thread(void *arg)
{
	struct touch_job *j = arg;
	int i;

	pthread_barrier_wait(j->bar);
	for (i = 0; i < j->npages; i++) {
		if (j->id % 2)
			j->p[i * j->ps + j->id] = (char)j->id;
		else
			touch_read(j->p + i * j->ps + j->id);
	}
	return NULL;
}

/* Threads racing reads and writes on fresh pages: one page each, coherent. */
TEST(concurrent_first_touch)
{
	enum { NT = 8, NP = 64 };
	long ps = page_size();
	struct touch_job jobs[NT];
	pthread_t th[NT];
	pthread_barrier_t bar;
	int fd = vmf_open(), i, t;
	char *p, *q;

	ASSERT_GE(fd, 0);
	p = mmap(NULL, NP * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	pthread_barrier_init(&bar, NULL, NT);
	for (t = 0; t < NT; t++) {
		jobs[t] = (struct touch_job){ p, ps, NP, t, &bar };
		ASSERT_EQ(pthread_create(&th[t], NULL, touch_thread, &jobs[t]), 0);
	}
	for (t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	EXPECT_EQ(vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED), NP);
	q = mmap(NULL, NP * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(q, MAP_FAILED);
	for (i = 0; i < NP; i++) {
		EXPECT_NE(pfn_of(p + i * ps), zero_pfn());
		EXPECT_EQ(pfn_of(p + i * ps), pfn_of(q + i * ps) ?: pfn_of(p + i * ps));
		for (t = 1; t < NT; t += 2)
			EXPECT_EQ(q[i * ps + t], t);
	}
	munmap(p, NP * ps);
	munmap(q, NP * ps);
	close(fd);
}

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

/* The module's .ko: $VMFAULT_KO, else ../module/vmfault.ko beside this test. */
static int open_ko(void)
{
	char path[PATH_MAX], *slash;
	const char *env = getenv("VMFAULT_KO");
	ssize_t n;

	if (env)
		return open(env, O_RDONLY | O_CLOEXEC);
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		return -1;
	path[n] = 0;
	slash = strrchr(path, '/');
	if (!slash)
		return -1;
	strcpy(slash, "/../module/vmfault.ko");
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int load_module(const char *params)
{
	int ko = open_ko(), ret;

	if (ko < 0)
		return -1;
	ret = syscall(SYS_finit_module, ko, params, 0);
	close(ko);
	return ret;
}

static mode_t dev_mode(void)
{
	struct stat st;

	if (stat(VMFAULT_DEV, &st))
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static gid_t dev_gid(void)
{
	struct stat st;

	return stat(VMFAULT_DEV, &st) ? (gid_t)-1 : st.st_gid;
}

/*
 * Whether a udevd runs (a zombie's does not count): it applies the
 * installed rule (root:vmfault 0660).
 */
static bool udevd_running(void)
{
	struct dirent *d;
	char path[300], line[128], comm[32], state;
	bool found = false;
	DIR *dir = opendir("/proc");
	FILE *f;

	while (dir && !found && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* "PID (COMM) STATE ..." */
		found = fgets(line, sizeof(line), f) &&
			sscanf(line, "%*d (%31[^)]) %c", comm, &state) == 2 &&
			(!strcmp(comm, "systemd-udevd") || !strcmp(comm, "udevd")) &&
			state != 'Z';
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

/*
 * The mode /dev/vmfault should have after a load with @devmode: that
 * devmode, or, where a udevd runs, the installed rule's 0660. In that case
 * wait (up to 5 s) for udevd to have applied the rule: it chowns the node
 * before its last chmod, so the group alone does not say it is done.
 * Call it before reading dev_mode().
 */
static mode_t loaded_mode(mode_t devmode)
{
	int i;

	if (!udevd_running())
		return devmode;
	for (i = 0; i < 100 && (dev_gid() == 0 || dev_mode() != 0660); i++)
		usleep(50000);
	return 0660;
}

/*
 * rmmod is refused while a region is open or mapped, works once the last
 * mapping is gone, and the module loads again (with and without devmode).
 */
TEST(unload_while_open_and_reload)
{
	long ps = page_size();
	int fd = vmf_open();
	mode_t want;
	char *p;

	ASSERT_GE(fd, 0);
	/* As loaded: devmode's default, or the udev rule's (make check's modprobe). */
	if (dev_gid() == 0) {
		ASSERT_EQ(dev_mode(), 0600);
	} else {
		ASSERT_EQ(dev_mode(), 0660);
	}
	EXPECT_EQ(delete_module("vmfault"), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	p[0] = 1;
	close(fd);
	EXPECT_EQ(delete_module("vmfault"), -1);
	EXPECT_EQ(errno, EWOULDBLOCK);
	EXPECT_EQ(p[0], 1);
	munmap(p, ps);
	ASSERT_EQ(delete_module("vmfault"), 0) TH_LOG("rmmod: %s", strerror(errno));
	EXPECT_EQ(access(VMFAULT_DEV, F_OK), -1);
	EXPECT_EQ(access("/proc/vmfault", F_OK), -1);

	/* A bad parameter is refused with EINVAL; a good one takes effect. */
	EXPECT_EQ(load_module("devmode=01777"), -1);
	EXPECT_EQ(errno, EINVAL);
	ASSERT_EQ(load_module("devmode=0640"), 0) TH_LOG("insmod: %s", strerror(errno));
	want = loaded_mode(0640);
	EXPECT_EQ(dev_mode(), want);
	ASSERT_EQ(delete_module("vmfault"), 0);
	ASSERT_EQ(load_module(""), 0) TH_LOG("insmod: %s", strerror(errno));
	want = loaded_mode(0600);
	EXPECT_EQ(dev_mode(), want);
	/* Fresh counters, and the device works. */
	EXPECT_EQ(vmf_proc("faults"), 0);
	fd = vmf_open();
	ASSERT_GE(fd, 0);
	p = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(p, MAP_FAILED);
	touch_read(p);
	EXPECT_EQ(vmf_proc("faults"), 1);
	munmap(p, ps);
	close(fd);
}

VMFAULT_TEST_MAIN
