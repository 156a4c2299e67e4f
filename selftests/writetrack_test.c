// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking, four ways: which pages were written since the last
 * checkpoint? 37 of 256 pages are written after a checkpoint, and each
 * way must report exactly those 37:
 *
 *  - mprotect() + SIGSEGV: the checkpoint makes the memory read-only; the
 *    handler of the first write to a page records it and makes it writable;
 *  - userfaultfd write-protect (UFFDIO_REGISTER_MODE_WP): the same, with a
 *    handler thread instead of a signal handler;
 *  - soft-dirty: the checkpoint writes 4 to /proc/self/clear_refs, and bit
 *    55 of a page's /proc/self/pagemap entry says whether it was written;
 *  - vmfault pager mode: the checkpoint write-protects a pager region
 *    (VMFAULT_PAGER_IOC_PROTECT), and the handler records each
 *    write-protect event and unprotects the page.
 *
 * Where the kernel has no userfaultfd write-protect or soft-dirty (Debian's
 * riscv64 6.12 has neither; the debug kernel has no soft-dirty), the test
 * asserts that the kernel says so (the UFFDIO_API features, and
 * registering for it fails; no page ever soft-dirty); on x86 userfaultfd
 * write-protect must be there. Each case prints what a tracked page cost
 * (the write's fault and its handling) and what the checkpoint cost per
 * page, in nanoseconds of this run: Documentation/vmfault.rst compares
 * them.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "pager_lib.h"
#include "vmfault_lib.h"

#define NPAGES	256
#define NWRITES	37

/* The 37 pages written after the checkpoint: a seeded draw, distinct. */
static void pick_pages(bool *want)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int n = 0;

	memset(want, 0, NPAGES * sizeof(*want));
	while (n < NWRITES) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		unsigned int i = (x * 0x2545f4914f6cdd1dULL) >> 56;

		if (!want[i]) {
			want[i] = true;
			n++;
		}
	}
}

/* What a run measured, for the cost line. */
struct track_cost {
	uint64_t checkpoint_ns;
	uint64_t writes_ns;
};

/* Write one byte in each wanted page (twice: only the first may be tracked). */
static void write_pages(char *base, const bool *want, struct track_cost *c)
{
	long ps = page_size();
	uint64_t t0 = now_ns();

	for (int i = 0; i < NPAGES; i++) {
		if (want[i]) {
			((volatile char *)base)[i * ps + 7] = 'w';
			((volatile char *)base)[i * ps + 9] = 'w';
		}
	}
	c->writes_ns = now_ns() - t0;
}

static void print_cost(const char *how, const struct track_cost *c)
{
	ksft_print_msg("writetrack: %-16s %7llu ns per tracked page, checkpoint %6llu ns per page\n",
		       how, (unsigned long long)(c->writes_ns / NWRITES),
		       (unsigned long long)(c->checkpoint_ns / NPAGES));
	fflush(stdout);	/* the harness's child ends with _exit() */
}

/* Is the set of tracked pages exactly the written one? */
static int same_set(const bool *got, const bool *want)
{
	int n = 0;

	for (int i = 0; i < NPAGES; i++) {
		if (got[i] != want[i])
			return -1;
		n += got[i];
	}
	return n;
}

static char *anon_pages(void)
{
	char *p = mmap(NULL, NPAGES * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		memset(p, 'a', NPAGES * page_size());	/* all present before the checkpoint */
	return p;
}

/* 1. mprotect() + SIGSEGV */
static char *segv_base;
static bool segv_got[NPAGES];

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	long ps = page_size();
	uintptr_t page = (uintptr_t)si->si_addr & ~(uintptr_t)(ps - 1);
	long i = (long)(page - (uintptr_t)segv_base) / ps;

	if (i < 0 || i >= NPAGES || mprotect((void *)page, ps, PROT_READ | PROT_WRITE))
		abort();
	segv_got[i] = true;
}

TEST(mprotect_sigsegv)
{
	struct sigaction sa = { .sa_sigaction = segv_handler, .sa_flags = SA_SIGINFO };
	bool want[NPAGES];
	struct track_cost c;
	uint64_t t0;

	pick_pages(want);
	segv_base = anon_pages();
	ASSERT_NE(MAP_FAILED, segv_base);
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	t0 = now_ns();
	ASSERT_EQ(0, mprotect(segv_base, NPAGES * page_size(), PROT_READ));
	c.checkpoint_ns = now_ns() - t0;
	write_pages(segv_base, want, &c);
	EXPECT_EQ(NWRITES, same_set(segv_got, want));
	print_cost("mprotect+SIGSEGV", &c);
}

/* 2. userfaultfd write-protect */
struct uffd_tracker {
	int uffd;
	char *base;
	bool got[NPAGES];
	int stop;
};

static void *uffd_handler(void *arg)
{
	struct uffd_tracker *t = arg;
	long ps = page_size();
	struct uffd_msg msg;

	while (!__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
		struct pollfd pfd = { .fd = t->uffd, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(t->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
			continue;
		uint64_t page = msg.arg.pagefault.address & ~(uint64_t)(ps - 1);
		struct uffdio_writeprotect wp = {
			.range = { .start = page, .len = ps }, .mode = 0,
		};

		t->got[(page - (uintptr_t)t->base) / ps] = true;
		ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp);	/* clears it and wakes */
	}
	return NULL;
}

TEST(userfaultfd_wp)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffd_tracker t = {};
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	bool want[NPAGES];
	struct track_cost c;
	pthread_t th;
	uint64_t t0;

	pick_pages(want);
	t.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, t.uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(t.uffd, UFFDIO_API, &api));
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
#if defined(__x86_64__)
		ASSERT_TRUE(false) TH_LOG("x86's kernels have userfaultfd write-protect");
#endif
		/* The kernel says it has none (riscv64 6.12): registering for it fails. */
		t.base = anon_pages();
		reg.range.start = (uintptr_t)t.base;
		reg.range.len = NPAGES * page_size();
		reg.mode = UFFDIO_REGISTER_MODE_WP;
		EXPECT_EQ(-1, ioctl(t.uffd, UFFDIO_REGISTER, &reg));
		ksft_print_msg("writetrack: userfaultfd-wp     not in this kernel (UFFDIO_API)\n");
		fflush(stdout);
		return;
	}
	t.base = anon_pages();
	ASSERT_NE(MAP_FAILED, t.base);
	reg.range.start = (uintptr_t)t.base;
	reg.range.len = NPAGES * page_size();
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(0, ioctl(t.uffd, UFFDIO_REGISTER, &reg)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&th, NULL, uffd_handler, &t));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	t0 = now_ns();
	ASSERT_EQ(0, ioctl(t.uffd, UFFDIO_WRITEPROTECT, &wp));
	c.checkpoint_ns = now_ns() - t0;
	write_pages(t.base, want, &c);
	__atomic_store_n(&t.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	EXPECT_EQ(NWRITES, same_set(t.got, want));
	print_cost("userfaultfd-wp", &c);
}

/* 3. soft-dirty: clear_refs 4 and pagemap bit 55 */
#define PM_SOFT_DIRTY	(1ULL << 55)

TEST(soft_dirty)
{
	bool want[NPAGES], got[NPAGES];
	struct track_cost c;
	long ps = page_size();
	char *p = anon_pages();
	uint64_t t0, scan, pm[NPAGES];
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	pick_pages(want);
	/*
	 * A page just written is soft-dirty wherever the kernel tracks it
	 * (CONFIG_MEM_SOFT_DIRTY: Debian's x86 kernels; not riscv64's, nor the
	 * debug kernel, built from x86_64_defconfig). Without it no page ever
	 * is, even written after a checkpoint: nothing is reported, falsely.
	 */
	if (!(pagemap_entry(p) & PM_SOFT_DIRTY)) {
		ASSERT_EQ(0, write_file("/proc/self/clear_refs", "4"));
		write_pages(p, want, &c);
		for (int i = 0; i < NPAGES; i++)
			ASSERT_FALSE(pagemap_entry(p + i * ps) & PM_SOFT_DIRTY);
		ksft_print_msg("writetrack: soft-dirty         not in this kernel (bit 55 never set)\n");
		fflush(stdout);
		return;
	}
	t0 = now_ns();
	ASSERT_EQ(0, write_file("/proc/self/clear_refs", "4"));
	c.checkpoint_ns = now_ns() - t0;
	write_pages(p, want, &c);
	/* The scan: the range's pagemap entries in one read. */
	t0 = now_ns();
	fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(pm), pread(fd, pm, sizeof(pm), (uintptr_t)p / ps * sizeof(pm[0])));
	close(fd);
	for (int i = 0; i < NPAGES; i++)
		got[i] = pm[i] & PM_SOFT_DIRTY;
	scan = now_ns() - t0;
	EXPECT_EQ(NWRITES, same_set(got, want));
	/* The scan is the checkpoint's too: it reads every page's entry. */
	c.checkpoint_ns += scan;
	print_cost("soft-dirty", &c);
}

/* 4. vmfault pager mode: write-protect events */
struct pager_tracker {
	int pager;
	bool got[NPAGES];
	int stop;
};

static void *pager_handler(void *arg)
{
	struct pager_tracker *t = arg;
	struct vmfault_pager_event ev;
	long ps = page_size();

	while (!__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
		if (pager_next(t->pager, &ev, 100))
			continue;
		if (!(ev.flags & VMFAULT_PAGER_EVENT_WP))
			continue;
		t->got[ev.offset / ps] = true;
		pager_answer(t->pager, VMFAULT_PAGER_IOC_PROTECT, ev.offset, ps, NULL, 0, NULL);
	}
	return NULL;
}

TEST(pager_wp)
{
	struct pager_tracker t = {};
	bool want[NPAGES];
	struct track_cost c;
	long ps = page_size();
	int region;
	pthread_t th;
	uint64_t t0;
	char *p;

	pick_pages(want);
	ASSERT_EQ(0, pager_region(NPAGES, O_CLOEXEC, &region, &t.pager));
	ASSERT_EQ(0, pager_answer(t.pager, VMFAULT_PAGER_IOC_SUPPLY, 0, NPAGES * ps, NULL, 0,
				  NULL));
	p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED, region, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'a', NPAGES * ps);	/* all mapped, writable, before the checkpoint */
	ASSERT_EQ(0, pthread_create(&th, NULL, pager_handler, &t));
	t0 = now_ns();
	ASSERT_EQ(0, pager_answer(t.pager, VMFAULT_PAGER_IOC_PROTECT, 0, NPAGES * ps, NULL,
				  VMFAULT_PAGER_WP, NULL));
	c.checkpoint_ns = now_ns() - t0;
	write_pages(p, want, &c);
	__atomic_store_n(&t.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	EXPECT_EQ(NWRITES, same_set(t.got, want));
	struct vmfault_pager_info info = {};

	ASSERT_EQ(0, pager_info(t.pager, &info));
	EXPECT_EQ(NWRITES, info.wp_events);
	EXPECT_EQ(NWRITES, info.events);
	print_cost("pager-wp", &c);
}

VMFAULT_TEST_MAIN
