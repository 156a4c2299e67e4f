// SPDX-License-Identifier: GPL-2.0
/*
 * Distributed shared memory on pager regions (dsm_lib.c): two processes,
 * nodes A (the manager, first owner of every page) and B, each with its
 * own pager region standing for the same memory, pages moving over a
 * socket. Exact counts of IVY's single-writer, multiple-reader protocol:
 *
 *  - B reads A's page: 1 fetch, A's data; then both hold read-only copies
 *    (a write on either faults: an event at its pager);
 *  - A writes: B's copy is invalidated; B's next read fetches the new
 *    value (1 fetch);
 *  - 1000 alternating writes to one page by A and B: exactly 2000
 *    ownership transfers;
 *  - two counters on one page against two counters on two pages: 2000
 *    transfers against 0 after warm-up (false sharing, counted);
 *  - message passing (data, then a flag, on two pages): over 10^5 runs B
 *    never sees the flag without the data (DSM_RUNS: CI runs 2000,
 *    make litmus 10^5);
 *  - with a network delay per message: the same counts, and a fetch or
 *    an invalidating write takes at least two delays.
 *
 * A is the test's process, B a child; they keep in step over two pipes
 * (not the DSM's socket), and B reports its counters at the end.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "dsm_lib.h"
#include "pager_lib.h"
#include "vmfault_lib.h"

/* The two nodes, seen from one of them. */
struct pair {
	int node;		/* 0: A, the test's process; 1: B, the child */
	struct dsm_node *n;
	char *mem;
	int a2b[2], b2a[2];	/* barrier pipes */
	pid_t pid;
};

static int pair_start(struct pair *pr, unsigned long pages, unsigned int delay_us)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) || pipe(pr->a2b) ||
	    pipe(pr->b2a))
		return -1;
	pr->pid = fork();
	if (pr->pid < 0)
		return -1;
	pr->node = pr->pid == 0;
	close(sv[!pr->node]);
	pr->n = dsm_start(pr->node, pages, sv[pr->node], delay_us);
	if (!pr->n) {
		if (pr->node)
			_exit(99);
		return -1;
	}
	pr->mem = dsm_base(pr->n);
	return 0;
}

/* Both nodes reach this point before either goes on. */
static int step(struct pair *pr)
{
	char c = 's';

	if (pr->node)
		return read(pr->a2b[0], &c, 1) == 1 && write(pr->b2a[1], &c, 1) == 1 ? 0 : -1;
	return write(pr->a2b[1], &c, 1) == 1 && read(pr->b2a[0], &c, 1) == 1 ? 0 : -1;
}

/* B's end: its counters and a verdict to A, then exit. */
struct b_report {
	struct dsm_stats st;
	int ok;
	uint64_t us[2];		/* timings of B's, where a case takes them */
};

static void b_finish_us(struct pair *pr, int ok, uint64_t us0, uint64_t us1)
{
	struct b_report r = { .st = dsm_stats(pr->n), .ok = ok, .us = { us0, us1 } };

	_exit(write(pr->b2a[1], &r, sizeof(r)) == sizeof(r) ? 0 : 98);
}

static void b_finish(struct pair *pr, int ok)
{
	b_finish_us(pr, ok, 0, 0);
}

static int a_collect(struct pair *pr, struct b_report *r)
{
	int status;

	if (read(pr->b2a[0], r, sizeof(*r)) != sizeof(*r))
		return -1;
	if (reap_child(pr->pid, &status, 30000))
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/*
 * No state of its own: the fixture gives each case a timeout (the debug
 * kernel under TCG runs a round trip in about a millisecond).
 */
FIXTURE(dsm) {
};

FIXTURE_SETUP(dsm)
{
}

FIXTURE_TEARDOWN(dsm)
{
}

/* Read sharing, then a write that invalidates: the counts of each step. */
TEST_F_TIMEOUT(dsm, read_share_then_invalidate, 120)
{
	struct dsm_stats a0;
	struct b_report r;
	struct pair pr;
	char map[8];

	ASSERT_EQ(0, pair_start(&pr, 2, 0));
	if (pr.node == 1) {
		int ok = 1;

		step(&pr);				/* A wrote 42 */
		ok &= pr.mem[0] == 42;			/* 1 fetch */
		ok &= dsm_stats(pr.n).fetches == 1;
		dsm_map(pr.n, map, sizeof(map));
		ok &= !strcmp(map, "r.");
		step(&pr);
		step(&pr);				/* A read, then wrote 43 */
		dsm_map(pr.n, map, sizeof(map));
		ok &= !strcmp(map, "..");		/* our copy is gone */
		ok &= dsm_stats(pr.n).invalidations == 1;
		ok &= pr.mem[0] == 43;			/* 1 more fetch */
		ok &= dsm_stats(pr.n).fetches == 2;
		b_finish(&pr, ok);
	}
	pr.mem[0] = 42;
	ASSERT_EQ(0, step(&pr));			/* B reads */
	ASSERT_EQ(0, step(&pr));
	/* Both hold read-only copies: the owner kept one when it sent B's. */
	dsm_map(pr.n, map, sizeof(map));
	EXPECT_STREQ("rW", map);
	a0 = dsm_stats(pr.n);
	EXPECT_EQ(42, pr.mem[0]);			/* no message */
	EXPECT_EQ(a0.messages, dsm_stats(pr.n).messages);
	pr.mem[0] = 43;				/* a write faults: B's copy goes */
	EXPECT_EQ(a0.messages + 1, dsm_stats(pr.n).messages);	/* the invalidation */
	dsm_map(pr.n, map, sizeof(map));
	EXPECT_STREQ("WW", map);
	ASSERT_EQ(0, step(&pr));
	ASSERT_EQ(0, a_collect(&pr, &r));
	EXPECT_TRUE(r.ok) TH_LOG("B: fetches %llu invalidations %llu",
				 (unsigned long long)r.st.fetches,
				 (unsigned long long)r.st.invalidations);
	EXPECT_EQ(2, r.st.fetches);
	EXPECT_EQ(1, r.st.invalidations);
	EXPECT_EQ(0, r.st.transfers + dsm_stats(pr.n).transfers);
}

/*
 * The network's delay, injected before each message: the same protocol,
 * the same counts, and each exchange on a fault's path at least as long
 * as its messages' delays (a fetch: request and reply; a write over a
 * copy: invalidation and acknowledgement).
 */
#define DELAY_US	20000

TEST_F_TIMEOUT(dsm, network_delay, 120)
{
	uint64_t t0, write_us;
	struct b_report r;
	struct pair pr;

	ASSERT_EQ(0, pair_start(&pr, 2, DELAY_US));
	if (pr.node == 1) {
		uint64_t us0, us1;
		int ok = 1;

		step(&pr);				/* A wrote 42 */
		t0 = now_us();
		ok &= pr.mem[0] == 42;			/* a fetch: 2 messages */
		us0 = now_us() - t0;
		step(&pr);
		step(&pr);				/* A wrote 43 */
		t0 = now_us();
		ok &= pr.mem[0] == 43;			/* another fetch */
		us1 = now_us() - t0;
		b_finish_us(&pr, ok, us0, us1);
	}
	pr.mem[0] = 42;					/* A owns it: no message */
	EXPECT_EQ(0, dsm_stats(pr.n).messages);
	ASSERT_EQ(0, step(&pr));			/* B reads */
	ASSERT_EQ(0, step(&pr));
	t0 = now_us();
	pr.mem[0] = 43;					/* B's copy goes: 2 messages */
	write_us = now_us() - t0;
	ASSERT_EQ(0, step(&pr));
	ASSERT_EQ(0, a_collect(&pr, &r));
	EXPECT_TRUE(r.ok);
	ksft_print_msg("dsm: %u us per message: B's fetches took %llu and %llu us, A's write over B's copy %llu us\n",
		       DELAY_US, (unsigned long long)r.us[0], (unsigned long long)r.us[1],
		       (unsigned long long)write_us);
	fflush(stdout);
	/* The counts of read_share_then_invalidate, delay or not. */
	EXPECT_EQ(2, r.st.fetches);
	EXPECT_EQ(1, r.st.invalidations);
	EXPECT_EQ(3, r.st.messages);		/* 2 requests, 1 acknowledgement */
	EXPECT_EQ(3, dsm_stats(pr.n).messages);	/* 2 replies, 1 invalidation */
	/* Every message on the path waited its delay. */
	EXPECT_GE(r.us[0], 2 * DELAY_US);
	EXPECT_GE(r.us[1], 2 * DELAY_US);
	EXPECT_GE(write_us, 2 * DELAY_US);
}

/*
 * Writes that alternate between A and B, @rounds of each after B's
 * warm-up write: A's counter at offset 0, B's at @off_b (the same word
 * when 0). Returns the ownership transfers after the warm-up, both nodes'.
 */
static uint64_t alternate(struct __test_metadata *_metadata, size_t off_b, int rounds)
{
	struct b_report r;
	struct pair pr;
	uint64_t a0, last = 0;

	if (pair_start(&pr, 2, 0))
		return ~0ULL;
	volatile uint64_t *ca = (uint64_t *)pr.mem, *cb = (uint64_t *)(pr.mem + off_b);

	if (pr.node == 1) {
		uint64_t t0;
		int ok = 1;

		*cb = 1;			/* warm-up: B owns its word's page */
		t0 = dsm_stats(pr.n).transfers;
		step(&pr);
		for (int i = 0; i < rounds; i++) {
			step(&pr);		/* A wrote */
			if (!off_b)
				ok &= *cb == 2ULL * i + 2;	/* A's value, then ours */
			(*cb)++;
			step(&pr);
		}
		r.st = dsm_stats(pr.n);
		r.st.transfers -= t0;
		r.ok = ok && *cb == (off_b ? rounds + 1ULL : 2ULL * rounds + 1);
		_exit(write(pr.b2a[1], &r, sizeof(r)) == sizeof(r) ? 0 : 98);
	}
	if (step(&pr))
		return ~0ULL;
	a0 = dsm_stats(pr.n).transfers;
	for (int i = 0; i < rounds; i++) {
		last = ++(*ca);
		if (step(&pr) || step(&pr))
			return ~0ULL;
	}
	/* (Not read again: once B has exited, a miss here has nobody to ask.) */
	EXPECT_EQ(off_b ? (uint64_t)rounds : 2ULL * rounds, last);
	if (a_collect(&pr, &r) || !r.ok)
		return ~0ULL;
	return dsm_stats(pr.n).transfers - a0 + r.st.transfers;
}

/* 1000 alternating writes to one page by A and B: exactly 2000 ownership transfers. */
TEST_F_TIMEOUT(dsm, alternating_writes_transfer_ownership, 600)
{
	uint64_t t = alternate(_metadata, 0, 1000);

	EXPECT_EQ(2000, t);
	ksft_print_msg("dsm: 1000 alternating writes each to one word: %llu ownership transfers\n",
		       (unsigned long long)t);
	fflush(stdout);
}

/* False sharing: two counters on one page move it 2000 times; on two pages, never. */
TEST_F_TIMEOUT(dsm, false_sharing, 1200)
{
	uint64_t one = alternate(_metadata, 8, 1000), two = alternate(_metadata, page_size(), 1000);

	EXPECT_EQ(2000, one);
	EXPECT_EQ(0, two);
	ksft_print_msg("dsm: two counters, 1000 increments each: %llu transfers on one page, %llu on two\n",
		       (unsigned long long)one, (unsigned long long)two);
	fflush(stdout);
}

/* Message passing: whoever sees the flag sees the data (DSM_RUNS runs). */
/* The dev VM's own bound (an hour): 10^5 runs take about 15 minutes on x86 6.1. */
TEST_F_TIMEOUT(dsm, message_passing_litmus, 3600)
{
	const uint64_t runs = getenv("DSM_RUNS") ? strtoull(getenv("DSM_RUNS"), NULL, 0) : 2000;
	struct b_report r;
	struct pair pr;
	long ps = page_size();

	ASSERT_EQ(0, pair_start(&pr, 2, 0));
	volatile uint64_t *data = (uint64_t *)pr.mem, *flag = (uint64_t *)(pr.mem + ps);

	if (pr.node == 1) {
		uint64_t bad = 0;

		for (uint64_t i = 1; i <= runs; i++) {
			if (step(&pr))
				_exit(97);
			while (*flag < i)
				;
			if (*data < i)
				bad++;		/* the flag without its data */
		}
		b_finish(&pr, bad == 0);
	}
	/* Each run starts with B spinning on its copy of the flag. */
	for (uint64_t i = 1; i <= runs; i++) {
		ASSERT_EQ(0, step(&pr));
		*data = i;
		*flag = i;
	}
	ASSERT_EQ(0, a_collect(&pr, &r));
	EXPECT_TRUE(r.ok) TH_LOG("B saw the flag without the data");
	ksft_print_msg("dsm: %llu message-passing runs, B fetched %llu copies, %llu messages\n",
		       (unsigned long long)runs, (unsigned long long)r.st.fetches,
		       (unsigned long long)(r.st.messages + dsm_stats(pr.n).messages));
	fflush(stdout);
}

VMFAULT_TEST_MAIN
