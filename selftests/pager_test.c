// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault pager mode: faults answered by a handler in user space.
 *
 *  - a miss posts exactly one event (offset, address, read/write, pid,
 *    tid) and the fault waits until the handler supplies the page, which
 *    the faulting thread then sees, by content and by pfn;
 *  - the zero-page answer maps the kernel's zero page where a mapping may
 *    show it; a MAP_PRIVATE write to it or to a supplied page copies;
 *  - write protection: a MAP_SHARED write to a protected page posts a
 *    write-protect event, and lands once the handler clears it;
 *  - invalidation takes a page out of every mapping: the next access is a
 *    miss again, and every process sees the new page;
 *  - faults from a forked child, from two processes on one page, from a
 *    system call copying from pager memory;
 *  - the faulting task waits with mmap_lock dropped (another thread
 *    mmap()s meanwhile) and killably; the handler's death is SIGBUS;
 *  - the handler may read its events through io_uring: a read waits on
 *    ->poll (no io_uring worker thread blocks in it) and completes with
 *    the event;
 *  - bad answers get clear errnos.
 *
 * The handler is the test's main thread; the faults are other threads' or
 * children's. Counts are exact: the pager's counters
 * (VMFAULT_PAGER_IOC_INFO), the region's, /proc/vmfault's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "pager_lib.h"
#include "vmfault_lib.h"

#define PAGES	16
/* How long a test waits for an event or a thread that should come. */
#define WAIT_MS	10000

/* A thread that reads or writes one byte, which may fault into the pager. */
struct toucher {
	pthread_t th;
	volatile char *p;
	bool write;
	char val;	/* written, or read */
	pid_t tid;
};

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;

	__atomic_store_n(&t->tid, gettid(), __ATOMIC_SEQ_CST);
	if (t->write)
		*t->p = t->val;
	else
		t->val = *t->p;
	return NULL;
}

static int toucher_start(struct toucher *t, volatile char *p, bool write, char val)
{
	t->p = p;
	t->write = write;
	t->val = val;
	t->tid = 0;
	return pthread_create(&t->th, NULL, toucher_fn, t);
}

/* 0 once the thread is done, or ETIMEDOUT (it is still in its fault). */
static int toucher_join(struct toucher *t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t->th, NULL, &ts);
}

/* A page of @c, for SUPPLY. */
static char *page_of(char c)
{
	char *buf = malloc(page_size());

	if (buf)
		memset(buf, c, page_size());
	return buf;
}

static uint64_t info_of(int pager, size_t field)
{
	struct vmfault_pager_info info = {};

	if (pager_info(pager, &info))
		return ~0ULL;
	return *(uint64_t *)((char *)&info + field);
}

#define PINFO(pager, f)	info_of(pager, offsetof(struct vmfault_pager_info, f))

FIXTURE(pager) {
	int region;
	int pager;
	long ps;
	char *p;
};

FIXTURE_VARIANT(pager) {
	int map;	/* MAP_SHARED or MAP_PRIVATE */
};

FIXTURE_VARIANT_ADD(pager, shared) { .map = MAP_SHARED };
FIXTURE_VARIANT_ADD(pager, private) { .map = MAP_PRIVATE };

FIXTURE_SETUP(pager)
{
	self->ps = page_size();
	ASSERT_EQ(0, pager_region(PAGES, O_CLOEXEC, &self->region, &self->pager));
	self->p = mmap(NULL, PAGES * self->ps, PROT_READ | PROT_WRITE, variant->map,
		       self->region, 0);
	ASSERT_NE(MAP_FAILED, self->p);
}

FIXTURE_TEARDOWN(pager)
{
	munmap(self->p, PAGES * self->ps);
	close(self->pager);
	close(self->region);
}

/* A read miss: one event, the page the handler supplies, one fault. */
TEST_F(pager, read_miss_posts_one_event)
{
	struct vmfault_pager_event ev;
	struct toucher t;
	uint64_t done;
	char *buf = page_of('x'), *rd = malloc(self->ps);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, toucher_start(&t, self->p + 3 * self->ps + 5, false, 0));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(3 * self->ps, ev.offset);
	EXPECT_EQ((uintptr_t)self->p + 3 * self->ps, ev.address);
	EXPECT_EQ(0, ev.flags);
	EXPECT_EQ(getpid(), ev.pid);
	EXPECT_EQ(__atomic_load_n(&t.tid, __ATOMIC_SEQ_CST), ev.tid);
	EXPECT_EQ(1, PINFO(self->pager, events));
	EXPECT_EQ(0, PINFO(self->pager, unread));
	EXPECT_EQ(1, PINFO(self->pager, waiting));
	/* Unanswered, the thread waits. */
	EXPECT_EQ(ETIMEDOUT, toucher_join(&t, 200));

	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 3 * self->ps,
				  self->ps, buf, 0, &done));
	EXPECT_EQ(self->ps, done);
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('x', t.val);
	EXPECT_EQ(1, PINFO(self->pager, supplied));
	EXPECT_EQ(1, PINFO(self->pager, woken));
	EXPECT_EQ(0, PINFO(self->pager, waiting));
	/* One fault (its retry is the same fault), one page, no other event. */
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_FAULTS));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_FAULT_RETRIES));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
	EXPECT_EQ(1, PINFO(self->pager, events));
	/* The thread mapped the region's page: the one read() shows. */
	ASSERT_EQ(self->ps, pread(self->region, rd, self->ps, 3 * self->ps));
	EXPECT_TRUE(all_bytes(rd, self->ps, 'x'));
	EXPECT_NE(0, pfn_of(self->p + 3 * self->ps));
	EXPECT_FALSE(kpf(pfn_of(self->p + 3 * self->ps), KPF_ANON));
	free(buf);
	free(rd);
}

/* A write miss: the event says write; shared writes the region page, private copies it. */
TEST_F(pager, write_miss)
{
	struct vmfault_pager_event ev;
	struct toucher t;
	char *buf = page_of('d'), *rd = malloc(self->ps);
	char *q = self->p + 2 * self->ps;

	ASSERT_EQ(0, toucher_start(&t, q + 9, true, 'W'));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(2 * self->ps, ev.offset);
	EXPECT_EQ(VMFAULT_PAGER_EVENT_WRITE, ev.flags);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 2 * self->ps,
				  self->ps, buf, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('W', q[9]);
	EXPECT_TRUE(all_bytes(q, 9, 'd'));
	EXPECT_TRUE(all_bytes(q + 10, self->ps - 10, 'd'));
	ASSERT_EQ(self->ps, pread(self->region, rd, self->ps, 2 * self->ps));
	if (variant->map == MAP_SHARED) {
		EXPECT_EQ('W', rd[9]);
		EXPECT_FALSE(kpf(pfn_of(q), KPF_ANON));
	} else {
		/* do_cow_fault() copied the supplied page; the region's is intact. */
		EXPECT_TRUE(all_bytes(rd, self->ps, 'd'));
		EXPECT_TRUE(kpf(pfn_of(q), KPF_ANON));
		EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_COW_FAULTS));
	}
	EXPECT_EQ(1, PINFO(self->pager, events));
	EXPECT_EQ(1, PINFO(self->pager, write_events));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_FAULTS));
	free(buf);
	free(rd);
}

/* The zero-page answer: the zero page where the mapping may show it, no page allocated. */
TEST_F(pager, zeropage_answer)
{
	struct vmfault_pager_event ev;
	struct toucher t;
	char *q = self->p + 6 * self->ps;

	ASSERT_EQ(0, toucher_start(&t, q, false, 1));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 6 * self->ps,
				  self->ps, NULL, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ(0, t.val);
	EXPECT_EQ(1, PINFO(self->pager, zeroed));
	if (zero_page_mapped_in(variant->map)) {
		EXPECT_EQ(zero_pfn(), pfn_of(q));
		EXPECT_EQ(0, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
		EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_ZERO_PAGE_MAPS));
	} else {
		/* A writable MAP_SHARED mapping never shows it: a page of zeros. */
		EXPECT_NE(zero_pfn(), pfn_of(q));
		EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
	}
	/* A write needs no handler: it copies (private) or writes the page (shared). */
	q[1] = 'z';
	EXPECT_EQ('z', q[1]);
	EXPECT_EQ(1, PINFO(self->pager, events));
	EXPECT_EQ(variant->map == MAP_PRIVATE, kpf(pfn_of(q), KPF_ANON));
}

/* Write protection: a shared write waits for the handler; a private one copies. */
TEST_F(pager, write_protect)
{
	struct vmfault_pager_event ev;
	struct toucher t;
	char *buf = page_of('p'), *rd = malloc(self->ps);
	char *q = self->p;
	uint64_t done;

	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, self->ps, buf,
				  VMFAULT_PAGER_WP, NULL));
	/* Supplied before any fault: a read needs no event. */
	EXPECT_EQ('p', q[0]);
	ASSERT_EQ(0, toucher_start(&t, q + 1, true, 'w'));
	if (variant->map == MAP_PRIVATE) {
		/* Core mm copies the page: the region's is never written. */
		ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
		EXPECT_EQ(0, PINFO(self->pager, events));
		ASSERT_EQ(self->ps, pread(self->region, rd, self->ps, 0));
		EXPECT_TRUE(all_bytes(rd, self->ps, 'p'));
		goto out;
	}
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(0, ev.offset);
	EXPECT_EQ(VMFAULT_PAGER_EVENT_WRITE | VMFAULT_PAGER_EVENT_WP, ev.flags);
	EXPECT_EQ(ETIMEDOUT, toucher_join(&t, 200));
	ASSERT_EQ(self->ps, pread(self->region, rd, self->ps, 0));
	EXPECT_TRUE(all_bytes(rd, self->ps, 'p'));
	/* Clearing the protection answers it: the write lands. */
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_PROTECT, 0, self->ps, NULL, 0,
				  &done));
	EXPECT_EQ(self->ps, done);
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	ASSERT_EQ(self->ps, pread(self->region, rd, self->ps, 0));
	EXPECT_EQ('w', rd[1]);
	EXPECT_EQ(1, PINFO(self->pager, wp_events));
	EXPECT_EQ(1, PINFO(self->pager, unprotected));

	/* Protected again: the page leaves the mapping; the next write is an event. */
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_PROTECT, 0, self->ps, NULL,
				  VMFAULT_PAGER_WP, NULL));
	EXPECT_EQ(0, pfn_of(q));
	EXPECT_EQ('w', q[1]);	/* a read maps it, read-only */
	ASSERT_EQ(0, toucher_start(&t, q + 2, true, 'v'));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(VMFAULT_PAGER_EVENT_WRITE | VMFAULT_PAGER_EVENT_WP, ev.flags);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_PROTECT, 0, self->ps, NULL, 0,
				  NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('v', q[2]);
	EXPECT_EQ(2, PINFO(self->pager, wp_events));
	EXPECT_EQ(1, PINFO(self->pager, protected));
	EXPECT_EQ(2, PINFO(self->pager, events));
out:
	free(buf);
	free(rd);
}

/* Invalidation: out of every process's mapping; the next access is a miss, seen by all. */
TEST_F(pager, invalidate_refaults_everywhere)
{
	struct vmfault_pager_event ev;
	struct toucher t;
	char *a = page_of('a'), *b = page_of('b');
	char *q = self->p + self->ps;
	int go[2], back[2], status;
	uint64_t done;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, self->ps, self->ps, a,
				  0, NULL));
	ASSERT_EQ('a', q[0]);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's mapping shows the region's page, then the new one. */
		c = q[0];
		if (write(back[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		c = q[0];
		_exit(c == 'b' ? 0 : 1);
	}
	ASSERT_EQ(1, read(back[0], &c, 1));
	EXPECT_EQ('a', c);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_INVALIDATE, self->ps, self->ps,
				  NULL, 0, &done));
	EXPECT_EQ(self->ps, done);
	EXPECT_EQ(1, PINFO(self->pager, invalidated));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_PAGES_FREED));
	EXPECT_EQ(0, pfn_of(q));
	ASSERT_EQ(0, toucher_start(&t, q, false, 0));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(self->ps, ev.offset);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, self->ps, self->ps, b,
				  0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('b', t.val);
	/*
	 * The child's mapping lost the page too (a read made no private copy,
	 * even in MAP_PRIVATE): its read finds the new page, with no event.
	 */
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, PINFO(self->pager, events));
	free(a);
	free(b);
}

/* A forked child's fault is answered by the parent, the handler. */
TEST_F(pager, fork_child_fault)
{
	struct vmfault_pager_event ev;
	char *buf = page_of('k');
	volatile char *q = self->p + 5 * self->ps;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q[7] == 'k' ? 0 : 1);
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(pid, ev.pid);
	EXPECT_EQ(pid, ev.tid);
	EXPECT_EQ(5 * self->ps, ev.offset);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 5 * self->ps,
				  self->ps, buf, 0, NULL));
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, PINFO(self->pager, events));
	free(buf);
}

/* Two processes miss one page: two events, one page, EEXIST for the second answer. */
TEST_F(pager, two_processes_one_page)
{
	struct vmfault_pager_event ev1, ev2;
	char *buf = page_of('2');
	volatile char *q = self->p + 7 * self->ps;
	struct toucher t;
	uint64_t done;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q[0] == '2' ? 0 : 1);
	ASSERT_EQ(0, pager_next(self->pager, &ev1, WAIT_MS));
	EXPECT_EQ(pid, ev1.pid);
	ASSERT_EQ(0, toucher_start(&t, q, false, 0));
	ASSERT_EQ(0, pager_next(self->pager, &ev2, WAIT_MS));
	EXPECT_EQ(getpid(), ev2.pid);
	EXPECT_EQ(ev1.offset, ev2.offset);
	EXPECT_EQ(2, PINFO(self->pager, waiting));
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 7 * self->ps,
				  self->ps, buf, 0, NULL));
	EXPECT_EQ(-EEXIST, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 7 * self->ps,
					self->ps, buf, 0, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('2', t.val);
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(2, PINFO(self->pager, woken));
	EXPECT_EQ(1, PINFO(self->pager, supplied));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
	free(buf);
}

/* A system call that copies from pager memory faults in the kernel, and waits too. */
TEST_F(pager, syscall_copy_waits)
{
	struct vmfault_pager_event ev;
	char *buf = page_of('s'), out[100];
	int fds[2];

	ASSERT_EQ(0, pipe(fds));
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(write(fds[1], self->p + 4 * self->ps, sizeof(out)) == sizeof(out) ? 0 : 1);
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(4 * self->ps, ev.offset);
	EXPECT_EQ(0, ev.flags);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 4 * self->ps,
				  self->ps, buf, 0, NULL));
	ASSERT_EQ(sizeof(out), read(fds[0], out, sizeof(out)));
	EXPECT_TRUE(all_bytes(out, sizeof(out), 's'));
	int status;

	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	EXPECT_EQ(0, WEXITSTATUS(status));
	free(buf);
}

struct mapper {
	int done;
};

static void *mapper_fn(void *arg)
{
	struct mapper *m = arg;

	for (int i = 0; i < 100; i++) {
		void *x = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (x == MAP_FAILED)
			return NULL;
		munmap(x, 1 << 16);
	}
	__atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A waiting fault holds no mmap_lock: another thread mmap()s and munmap()s meanwhile. */
TEST_F(pager, waits_without_mmap_lock)
{
	struct vmfault_pager_event ev;
	struct mapper m = {};
	struct toucher t, mt;
	char *buf = page_of('m');

	ASSERT_EQ(0, toucher_start(&t, self->p + 8 * self->ps, false, 0));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	/* mmap() takes mmap_lock for writing: it would wait for the fault. */
	ASSERT_EQ(0, pthread_create(&mt.th, NULL, mapper_fn, &m));
	EXPECT_EQ(0, toucher_join(&mt, WAIT_MS));
	EXPECT_EQ(1, __atomic_load_n(&m.done, __ATOMIC_SEQ_CST));
	EXPECT_EQ(1, PINFO(self->pager, waiting));
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 8 * self->ps,
				  self->ps, buf, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('m', t.val);
	free(buf);
}

/* A task waiting for a stalled handler dies at once of SIGKILL. */
TEST_F(pager, killable_while_waiting)
{
	struct vmfault_pager_event ev;
	volatile char *q = self->p + 9 * self->ps;
	uint64_t t0;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q[0]);
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	EXPECT_EQ(1, PINFO(self->pager, waiting));
	t0 = now_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_GT(2000, now_ms() - t0);
	EXPECT_EQ(1, PINFO(self->pager, killed));
	EXPECT_EQ(0, PINFO(self->pager, waiting));
	/* The late answer wakes nobody and installs the page. */
	EXPECT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 9 * self->ps,
				  self->ps, NULL, 0, NULL));
	EXPECT_EQ(0, PINFO(self->pager, woken));
}

/* Events queue: four threads on four pages, one read() returns them all, poll() says so. */
TEST_F(pager, poll_and_batched_read)
{
	struct vmfault_pager_event evs[8];
	struct pollfd pfd = { .fd = self->pager, .events = POLLIN };
	struct toucher t[4];
	int i, n = 0;

	EXPECT_EQ(0, poll(&pfd, 1, 0));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, toucher_start(&t[i], self->p + (10 + i) * self->ps, false, 0));
	for (i = 0; i < 500 && PINFO(self->pager, unread) < 4; i++)
		usleep(10000);
	ASSERT_EQ(4, PINFO(self->pager, unread));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN, pfd.revents);
	ASSERT_EQ(4 * sizeof(evs[0]), read(self->pager, evs, sizeof(evs)));
	for (i = 0; i < 4; i++)
		n |= 1 << (evs[i].offset / self->ps - 10);
	EXPECT_EQ(0xf, n);
	EXPECT_EQ(4, PINFO(self->pager, waiting));
	/* One answer for the four pages. */
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 10 * self->ps,
				  4 * self->ps, NULL, 0, NULL));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, toucher_join(&t[i], WAIT_MS));
	EXPECT_EQ(4, PINFO(self->pager, woken));
	EXPECT_EQ(4, PINFO(self->pager, zeroed));
	EXPECT_EQ(4, vmf_counter(self->region, VMFAULT_CNT_FAULTS));
}

/*
 * A minimal io_uring through its system calls (the lab image has no
 * liburing): one submission queue entry at a time, completions peeked.
 */
struct ring {
	int fd;
	void *sq, *cq;
	size_t sq_len, cq_len, sqes_len;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
};

static int ring_init(struct ring *r, unsigned int entries)
{
	struct io_uring_params p = {};

	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		return -1;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		r->sq_len = r->cq_len = r->sq_len > r->cq_len ? r->sq_len : r->cq_len;
	r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		     IORING_OFF_SQ_RING);
	if (r->sq == MAP_FAILED)
		return -1;
	r->cq = r->sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		r->cq = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			     r->fd, IORING_OFF_CQ_RING);
		if (r->cq == MAP_FAILED)
			return -1;
	}
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned int *)((char *)r->sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)r->sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)r->cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq + p.cq_off.cqes);
	return 0;
}

static void ring_exit(struct ring *r)
{
	munmap(r->sqes, r->sqes_len);
	if (r->cq != r->sq)
		munmap(r->cq, r->cq_len);
	munmap(r->sq, r->sq_len);
	close(r->fd);
}

/* The next submission queue entry, zeroed, with @opcode and @tag. */
static struct io_uring_sqe *ring_sqe(struct ring *r, uint8_t opcode, uint64_t tag)
{
	unsigned int i = *r->sq_tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[i];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->user_data = tag;
	r->sq_array[i] = i;
	return sqe;
}

/* Submit the entry ring_sqe() filled in. 0, or -1. */
static int ring_submit(struct ring *r)
{
	__atomic_store_n(r->sq_tail, *r->sq_tail + 1, __ATOMIC_RELEASE);
	return syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) == 1 ? 0 : -1;
}

/* Submit IORING_OP_READ of @len bytes of @fd into @buf. 0, or -1. */
static int ring_read(struct ring *r, int fd, void *buf, unsigned int len, uint64_t tag)
{
	struct io_uring_sqe *sqe = ring_sqe(r, IORING_OP_READ, tag);

	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = -1;		/* the file's position: the pager fd has none */
	return ring_submit(r);
}

/* Submit IORING_OP_ASYNC_CANCEL of the request tagged @victim. 0, or -1. */
static int ring_cancel(struct ring *r, uint64_t victim, uint64_t tag)
{
	struct io_uring_sqe *sqe = ring_sqe(r, IORING_OP_ASYNC_CANCEL, tag);

	sqe->fd = -1;
	sqe->addr = victim;
	return ring_submit(r);
}

/* The next completion, within @ms: 0 with its tag and result, or -1. */
static int ring_reap(struct ring *r, int ms, uint64_t *tag, int *res)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	unsigned int head = *r->cq_head;
	struct io_uring_cqe *cqe;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) &&
	    (poll(&pfd, 1, ms) != 1 || head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)))
		return -1;
	cqe = &r->cqes[head & *r->cq_mask];
	*tag = cqe->user_data;
	*res = cqe->res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

/* This process's io_uring worker threads (a blocking read would park one). */
static int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f) {
			n += fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7);
			fclose(f);
		}
	}
	closedir(d);
	return n;
}

/*
 * The handler reads its events with io_uring: a read submitted before the
 * fault waits on ->poll, not in a worker thread, and completes with the
 * event; a read submitted with an event pending completes at once.
 */
TEST_F(pager, io_uring_read)
{
	struct vmfault_pager_event evs[2], ev2[2], ev3;
	char *buf = page_of('u');
	struct toucher t;
	struct ring r;
	uint64_t tag;
	int res;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ring_init(&r, 4)) TH_LOG("io_uring_setup: %s", strerror(errno));
	ASSERT_EQ(0, ring_read(&r, self->pager, evs, sizeof(evs), 1));
	/* Nothing to read: no completion, and no worker blocked in read(). */
	EXPECT_EQ(-1, ring_reap(&r, 100, &tag, &res));
	EXPECT_EQ(0, io_workers());

	ASSERT_EQ(0, toucher_start(&t, self->p + 2 * self->ps, false, 0));
	ASSERT_EQ(0, ring_reap(&r, WAIT_MS, &tag, &res));
	EXPECT_EQ(1, tag);
	ASSERT_EQ(sizeof(evs[0]), res);
	EXPECT_EQ(2 * self->ps, evs[0].offset);
	EXPECT_EQ(0, evs[0].flags);
	EXPECT_EQ(__atomic_load_n(&t.tid, __ATOMIC_SEQ_CST), evs[0].tid);
	EXPECT_EQ(0, io_workers());
	EXPECT_EQ(1, PINFO(self->pager, events));
	EXPECT_EQ(0, PINFO(self->pager, unread));
	EXPECT_EQ(1, PINFO(self->pager, waiting));
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 2 * self->ps, self->ps,
				  buf, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('u', t.val);

	/* An event already pending: the read completes at once. */
	ASSERT_EQ(0, toucher_start(&t, self->p + 5 * self->ps, true, 'w'));
	for (int i = 0; i < 500 && PINFO(self->pager, unread) < 1; i++)
		usleep(10000);
	ASSERT_EQ(1, PINFO(self->pager, unread));
	ASSERT_EQ(0, ring_read(&r, self->pager, ev2, sizeof(ev2), 2));
	ASSERT_EQ(0, ring_reap(&r, WAIT_MS, &tag, &res));
	EXPECT_EQ(2, tag);
	ASSERT_EQ(sizeof(ev2[0]), res);
	EXPECT_EQ(5 * self->ps, ev2[0].offset);
	EXPECT_EQ(VMFAULT_PAGER_EVENT_WRITE, ev2[0].flags);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 5 * self->ps, self->ps,
				  buf, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ('w', self->p[5 * self->ps]);
	EXPECT_EQ(2, PINFO(self->pager, events));
	EXPECT_EQ(2, PINFO(self->pager, woken));
	EXPECT_EQ(2, vmf_counter(self->region, VMFAULT_CNT_FAULTS));

	/* A pending read cancelled: the next event goes to read(), none lost. */
	ASSERT_EQ(0, ring_read(&r, self->pager, &ev3, sizeof(ev3), 3));
	EXPECT_EQ(-1, ring_reap(&r, 100, &tag, &res));
	ASSERT_EQ(0, ring_cancel(&r, 3, 4));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, ring_reap(&r, WAIT_MS, &tag, &res));
		if (tag == 3) {
			EXPECT_EQ(-ECANCELED, res);
		} else {
			EXPECT_EQ(4, tag);
			EXPECT_EQ(0, res) TH_LOG("IORING_OP_ASYNC_CANCEL: %d", res);
		}
	}
	ring_exit(&r);
	ASSERT_EQ(0, toucher_start(&t, self->p + 7 * self->ps, false, 0));
	ASSERT_EQ(0, pager_next(self->pager, &ev3, WAIT_MS));
	EXPECT_EQ(7 * self->ps, ev3.offset);
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 7 * self->ps,
				  self->ps, NULL, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ(3, PINFO(self->pager, events));
	free(buf);
}

/* read() of the region is the handler's view: data and zeros, no event. */
TEST_F(pager, region_read_posts_nothing)
{
	char *buf = page_of('r'), *rd = malloc(2 * self->ps);

	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, self->ps, buf, 0,
				  NULL));
	ASSERT_EQ(2 * self->ps, pread(self->region, rd, 2 * self->ps, 0));
	EXPECT_TRUE(all_bytes(rd, self->ps, 'r'));
	EXPECT_TRUE(all_bytes(rd + self->ps, self->ps, 0));
	EXPECT_EQ(0, PINFO(self->pager, events));
	/* write() is refused: the handler's answers are the only way in. */
	EXPECT_EQ(-1, pwrite(self->region, buf, 1, 0));
	EXPECT_EQ(EINVAL, errno);
	free(buf);
	free(rd);
}

/* The region's counters and /proc/vmfault's totals count pager events. */
TEST_F(pager, proc_counters)
{
	uint64_t before = vmf_proc("pager_events"), sup = vmf_proc("pager_supplied");
	uint64_t wr = vmf_proc("pager_write_events");
	struct vmfault_pager_event ev;
	char *buf = page_of('c');
	struct toucher t;
	char *line;

	ASSERT_NE(~0ULL, before);
	ASSERT_EQ(0, toucher_start(&t, self->p + 15 * self->ps, true, 1));
	ASSERT_EQ(0, pager_next(self->pager, &ev, WAIT_MS));
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 15 * self->ps,
				  self->ps, buf, 0, NULL));
	ASSERT_EQ(0, toucher_join(&t, WAIT_MS));
	EXPECT_EQ(before + 1, vmf_proc("pager_events"));
	EXPECT_EQ(sup + 1, vmf_proc("pager_supplied"));
	EXPECT_EQ(wr + 1, vmf_proc("pager_write_events"));
	line = read_text("/proc/vmfault_regions");
	ASSERT_NE(NULL, line);
	EXPECT_NE(NULL, strstr(line, " pager "));
	free(line);
	free(buf);
}

/* The handler's death: a waiting fault and every later one get SIGBUS. */
static void die_with_handler(void *arg)
{
	int region, pager;
	struct toucher t;
	char *p;

	(void)arg;
	if (pager_region(1, 0, &region, &pager))
		_exit(10);
	p = mmap(NULL, page_size(), PROT_READ, MAP_SHARED, region, 0);
	if (p == MAP_FAILED || toucher_start(&t, p, false, 0))
		_exit(11);
	for (int i = 0; i < 1000 && PINFO(pager, unread) < 1; i++)
		usleep(10000);
	if (PINFO(pager, unread) != 1)
		_exit(12);
	close(pager);
	/* The waiting thread's SIGBUS ends the process. */
	sleep(10);
	_exit(13);
}

static void fault_after_death(void *arg)
{
	int region, pager;
	volatile char *p;

	if (pager_region(1, 0, &region, &pager))
		_exit(10);
	p = mmap(NULL, page_size(), PROT_READ, MAP_SHARED, region, 0);
	if (p == MAP_FAILED)
		_exit(11);
	if (arg)
		close(pager);
	else if (pager_answer(pager, VMFAULT_PAGER_IOC_SUPPLY, 0, page_size(), NULL, 0, NULL))
		_exit(12);
	(void)p[0];
	_exit(0);
}

TEST(pager_handler_death_is_sigbus)
{
	EXPECT_EQ(SIGBUS, child_signal(die_with_handler, NULL));
	EXPECT_EQ(SIGBUS, child_signal(fault_after_death, (void *)1));
	/* Answered before the handler left, the page is there: no SIGBUS. */
	EXPECT_EQ(0, child_signal(fault_after_death, NULL));
}

/* Before the handler attaches, a fault has nobody to ask: SIGBUS, counted as refused. */
static void fault_without_handler(void *arg)
{
	volatile char *p;
	int fd = vmf_open();

	(void)arg;
	if (fd < 0 || vmf_configure(fd, VMFAULT_MODE_PAGER, page_size()))
		_exit(10);
	p = mmap(NULL, page_size(), PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		_exit(11);
	(void)p[0];
	_exit(0);
}

TEST(pager_no_handler_is_sigbus)
{
	EXPECT_EQ(SIGBUS, child_signal(fault_without_handler, NULL));
}

/* MAP: another pager region's pages, the same frames; bad sources are refused. */
TEST_F(pager, map_shares_frames)
{
	struct vmfault_pager_map map = { .len = 2 * self->ps, .flags = VMFAULT_PAGER_WP };
	char *buf = page_of('M');
	int region, pager, zero, rdonly;
	char *q;

	ASSERT_EQ(0, pager_region(2, O_CLOEXEC, &region, &pager));
	ASSERT_EQ(0, pager_answer(pager, VMFAULT_PAGER_IOC_SUPPLY, 0, self->ps, buf, 0, NULL));
	map.src_fd = region;
	ASSERT_EQ(0, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(2 * self->ps, map.done);
	/* Page 0 is the source's frame; page 1, which the source lacks, is left alone. */
	EXPECT_EQ(1, PINFO(self->pager, mapped));
	EXPECT_EQ('M', self->p[0]);
	q = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, region, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ('M', q[0]);
	EXPECT_EQ(pfn_of(q), pfn_of(self->p));
	EXPECT_EQ(1, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
	/* Mapped twice: EEXIST; from itself, from a zero-mode region, a bad fd: refused. */
	map.len = self->ps;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EEXIST, errno);
	map.src_fd = self->region;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EINVAL, errno);
	zero = vmf_open();
	ASSERT_EQ(0, vmf_configure(zero, VMFAULT_MODE_ZERO, self->ps));
	map.src_fd = zero;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EINVAL, errno);
	map.src_fd = -1;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EBADF, errno);
	/* A region opened read-only may not hand out write access to its pages. */
	rdonly = open(VMFAULT_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rdonly);
	ASSERT_EQ(0, vmf_configure(rdonly, VMFAULT_MODE_PAGER, 2 * self->ps));
	map.src_fd = rdonly;
	map.src_offset = 0;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EBADF, errno);
	close(rdonly);
	map.src_fd = region;
	map.src_offset = self->ps;
	map.len = 2 * self->ps;
	EXPECT_EQ(-1, ioctl(self->pager, VMFAULT_PAGER_IOC_MAP, &map));
	EXPECT_EQ(EINVAL, errno);
	close(zero);
	munmap(q, self->ps);
	close(pager);
	close(region);
	free(buf);
}

/* Bad answers and misuse get clear errnos and change nothing. */
TEST_F(pager, bad_answers)
{
	struct vmfault_frames fr = { .frames = 2 };
	struct vmfault_pager_event ev;
	long ps = self->ps;
	char *buf = page_of('e');
	uint64_t done = 99;
	int zero;

	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 1, ps, buf, 0,
					NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, 0, buf, 0,
					NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, ps + 1, buf, 0,
					NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, PAGES * ps, ps,
					buf, 0, NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, ps, PAGES * ps,
					buf, 0, NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, ps, buf, 0x80,
					NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 0, ps, buf, 0,
					NULL));
	EXPECT_EQ(-EINVAL, pager_answer(self->pager, VMFAULT_PAGER_IOC_INVALIDATE, 0, ps, NULL,
					VMFAULT_PAGER_WP, NULL));
	/* A bad source: nothing is installed. */
	EXPECT_EQ(-EFAULT, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, ps,
					(void *)8, 0, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(0, vmf_counter(self->region, VMFAULT_CNT_PAGES_ALLOCATED));
	/* A second handler, a handler for a zero-mode region, bad flags. */
	EXPECT_EQ(-1, ioctl(self->region, VMFAULT_IOC_PAGER_OPEN, 0));
	EXPECT_EQ(EBUSY, errno);
	zero = vmf_open();
	ASSERT_LE(0, zero);
	ASSERT_EQ(0, vmf_configure(zero, VMFAULT_MODE_ZERO, ps));
	EXPECT_EQ(-1, ioctl(zero, VMFAULT_IOC_PAGER_OPEN, 0));
	EXPECT_EQ(EINVAL, errno);
	close(zero);
	zero = vmf_open();
	ASSERT_LE(0, zero);
	ASSERT_EQ(0, vmf_configure(zero, VMFAULT_MODE_PAGER, ps));
	EXPECT_EQ(-1, ioctl(zero, VMFAULT_IOC_PAGER_OPEN, O_APPEND));
	EXPECT_EQ(EINVAL, errno);
	close(zero);
	/* The handler of a region opened read-only would write its contents. */
	zero = open(VMFAULT_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, zero);
	ASSERT_EQ(0, vmf_configure(zero, VMFAULT_MODE_PAGER, ps));
	EXPECT_EQ(-1, ioctl(zero, VMFAULT_IOC_PAGER_OPEN, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, ioctl(zero, VMFAULT_IOC_SET_FRAMES, &fr));
	EXPECT_EQ(EINVAL, errno);
	close(zero);
	/* Reading: less than one event's room; nothing to read without blocking. */
	EXPECT_EQ(-1, read(self->pager, &ev, 8));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, fcntl(self->pager, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(self->pager, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	/* A page answered twice: EEXIST, for a page and for a zero-page hole. */
	ASSERT_EQ(0, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, ps, ps, NULL, 0, NULL));
	EXPECT_EQ(-EEXIST, pager_answer(self->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, 2 * ps, NULL, 0,
					&done));
	EXPECT_EQ(ps, done);
	EXPECT_EQ(-EEXIST, pager_answer(self->pager, VMFAULT_PAGER_IOC_ZEROPAGE, 0, ps, NULL, 0,
					&done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(1, PINFO(self->pager, supplied));
	EXPECT_EQ(1, PINFO(self->pager, zeroed));
	free(buf);
}

/*
 * JOS's user-level copy-on-write fork, the lecture's exercise: over 8
 * pages the parent filled, the child writes a 128-byte array and an 8-byte
 * variable: its handler copies exactly those 2 pages; the other 6 stay the
 * parent's very frames (pagemap); the parent's data is intact and it
 * copied nothing.
 */
struct ufork_report {
	uint64_t copies;
	uint64_t pfn[8];
	int ok;
};

TEST(ufork_copies_exactly_two_pages)
{
	struct ufork_report rep = {};
	struct umem m;
	long ps = page_size();
	uint64_t pfn[8];
	int fds[2], status, i;
	pid_t pid;

	ASSERT_EQ(0, umem_create(&m, 8));
	for (i = 0; i < 8; i++)
		memset(m.base + i * ps, 'a' + i, ps);
	for (i = 0; i < 8; i++)
		pfn[i] = pfn_of(m.base + i * ps);
	ASSERT_EQ(0, pipe(fds));
	pid = ufork(&m);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *arr = m.base + 2 * ps + 100;
		uint64_t *var = (uint64_t *)(m.base + 5 * ps + 8);

		memset(arr, 'C', 128);
		*var = 0x1234;
		rep.ok = *var == 0x1234 && all_bytes(arr, 128, 'C') &&
			 all_bytes(m.base + 2 * ps, 100, 'c') &&
			 all_bytes(m.base + 5 * ps, 8, 'f');
		for (i = 0; i < 8; i++) {
			if (i != 2 && i != 5)
				rep.ok &= all_bytes(m.base + i * ps, ps, 'a' + i);
			rep.pfn[i] = pfn_of(m.base + i * ps);
		}
		rep.copies = umem_copies(&m);
		_exit(write(fds[1], &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1);
	}
	ASSERT_EQ(sizeof(rep), read(fds[0], &rep, sizeof(rep)));
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	EXPECT_EQ(0, status);
	EXPECT_TRUE(rep.ok);
	EXPECT_EQ(2, rep.copies);
	for (i = 0; i < 8; i++) {
		if (i == 2 || i == 5) {
			EXPECT_NE(pfn[i], rep.pfn[i]) TH_LOG("page %d not copied", i);
		} else {
			EXPECT_EQ(pfn[i], rep.pfn[i]) TH_LOG("page %d not the parent's frame", i);
		}
	}
	/* The parent: its data and frames as before, nothing copied. */
	for (i = 0; i < 8; i++) {
		EXPECT_TRUE(all_bytes(m.base + i * ps, ps, 'a' + i));
		EXPECT_EQ(pfn[i], pfn_of(m.base + i * ps));
	}
	EXPECT_EQ(0, umem_copies(&m));
	EXPECT_EQ(8, PINFO(m.pager, events));
	EXPECT_EQ(8, PINFO(m.pager, supplied));
	EXPECT_EQ(8, PINFO(m.pager, protected));
}

/* After ufork() the parent's write copies in the parent; the child still sees the old data. */
TEST(ufork_parent_write_copies_in_parent)
{
	struct umem m;
	long ps = page_size();
	int go[2], back[2], status;
	uint64_t pfn;
	char c;
	pid_t pid;

	ASSERT_EQ(0, umem_create(&m, 2));
	memset(m.base, 'o', 2 * ps);
	pfn = pfn_of(m.base);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	pid = ufork(&m);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		c = m.base[0] == 'o' && m.base[ps] == 'o' && pfn_of(m.base) == pfn &&
		    umem_copies(&m) == 0;
		_exit(write(back[1], &c, 1) == 1 ? 0 : 3);
	}
	m.base[0] = 'n';
	EXPECT_EQ(1, umem_copies(&m));
	EXPECT_NE(pfn, pfn_of(m.base));
	EXPECT_EQ('n', m.base[0]);
	EXPECT_TRUE(all_bytes(m.base + 1, ps - 1, 'o'));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(back[0], &c, 1));
	EXPECT_EQ(1, c) TH_LOG("the child saw the parent's write, or copied");
	ASSERT_EQ(0, reap_child(pid, &status, WAIT_MS));
	EXPECT_EQ(0, status);
}

/* Configuring a pager region: a size, nothing else. */
TEST(pager_configure)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_PAGER, .size = page_size() };
	int fd = vmf_open();

	ASSERT_LE(0, fd);
	cfg.flags = VMFAULT_FLAG_FAULT_AROUND;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.flags = 0;
	cfg.window = 4;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.window = 0;
	cfg.size = 0;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.size = page_size();
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	close(fd);
}

VMFAULT_TEST_MAIN
