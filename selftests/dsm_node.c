// SPDX-License-Identifier: GPL-2.0
/*
 * dsm_node: one node of the distributed shared memory (dsm_lib.c) on one
 * machine, the other node on another: the two dev VMs of devtools/dsm-2vm,
 * over a virtual network. The protocol's messages go over one TCP
 * connection; the two programs keep in step over a second one.
 *
 *   dsm_node a PORT          node A, the manager: listens on PORT, PORT+1
 *   dsm_node b HOST PORT     node B: connects to A (for up to 60 s)
 *
 * Options (both nodes must agree): -r ROUNDS of alternating writes (100),
 * -l RUNS of the litmus test (1000), -d DELAY_US per message (0).
 *
 * The cases of dsm_test, on real machines' faults and a real network:
 * B's read of A's page is 1 fetch; A's write invalidates B's copy (1
 * invalidation) and B's next read is its 2nd fetch; ROUNDS alternating
 * writes to one word make 2 * ROUNDS ownership transfers, two counters on
 * one page as many, on two pages none; in RUNS message-passing runs B
 * never sees the flag without the data. Each node prints what it saw; A
 * prints the verdict, from both nodes' counts. Exit status 0 when every
 * count is exact, 1 when one is not, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsm_lib.h"
#include "vmfault_lib.h"

#define PAGES		8
#define P_SHARE		0	/* read sharing */
#define P_ALT		1	/* alternating writes to one word */
#define P_FALSE		2	/* two counters on one page */
#define P_TWO_A		3	/* two counters on two pages: A's ... */
#define P_TWO_B		4	/* ... and B's */
#define P_DATA		5	/* the litmus test's data ... */
#define P_FLAG		6	/* ... and its flag */

static int node;		/* 0: A, 1: B */
static int ctl = -1;		/* the step connection */
static struct dsm_node *dsm;
static char *mem;
static long ps;
static int failed;

static void die(const char *what)
{
	fprintf(stderr, "dsm_node %c: %s: %s\n", 'A' + node, what, strerror(errno));
	exit(2);
}

/* Print what was seen against what must be; a difference fails the node. */
static void check(const char *what, unsigned long long got, unsigned long long want)
{
	printf("dsm_node %c: %-44s %llu (want %llu)%s\n", 'A' + node, what, got, want,
	       got == want ? "" : "  FAILED");
	fflush(stdout);
	failed |= got != want;
}

/* As check(), for a page state: one of DSM_NONE, DSM_READ, DSM_WRITE. */
static void check_state(const char *what, char got, char want)
{
	printf("dsm_node %c: %-44s '%c' (want '%c')%s\n", 'A' + node, what, got, want,
	       got == want ? "" : "  FAILED");
	fflush(stdout);
	failed |= got != want;
}

/* Exactly @len bytes over the step connection, or exit. */
static void ctl_io(void *buf, size_t len, int out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = out ? send(ctl, (char *)buf + done, len - done, MSG_NOSIGNAL) :
				  recv(ctl, (char *)buf + done, len - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r ? errno : ECONNRESET;
			die("the step connection");
		}
		done += r;
	}
}

/* Both nodes reach this point before either goes on. */
static void step(void)
{
	char c = 's';

	if (node) {
		ctl_io(&c, 1, 0);
		ctl_io(&c, 1, 1);
	} else {
		ctl_io(&c, 1, 1);
		ctl_io(&c, 1, 0);
	}
}

/* B's counters, to A. */
static struct dsm_stats b_stats(void)
{
	struct dsm_stats st = dsm_stats(dsm);

	if (node)
		ctl_io(&st, sizeof(st), 1);
	else
		ctl_io(&st, sizeof(st), 0);
	return st;
}

static int tcp_listen(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		die("listen");
	return s;
}

static void nodelay(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

static int tcp_accept(int l)
{
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (s < 0)
		die("accept");
	close(l);
	nodelay(s);
	return s;
}

/* Connect to @host:@port, trying for up to 60 s (A may still be booting). */
static int tcp_connect(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int i;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		errno = EINVAL;
		die(host);
	}
	for (i = 0; i < 600; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			die("socket");
		if (!connect(s, (struct sockaddr *)&a, sizeof(a))) {
			nodelay(s);
			return s;
		}
		close(s);
		usleep(100000);
	}
	die("connect");
	return -1;
}

/* Read sharing, then a write that invalidates (dsm_test's first case). */
static void read_share(void)
{
	char map[PAGES + 1];
	uint64_t t0;
	char v;

	if (node) {
		step();					/* A wrote 42 */
		t0 = now_us();
		v = mem[P_SHARE * ps];			/* a fetch */
		t0 = now_us() - t0;
		check("B reads A's page: the value", v, 42);
		printf("dsm_node B: the fetch took %llu us\n", (unsigned long long)t0);
		check("B's fetches", dsm_stats(dsm).fetches, 1);
		step();
		step();					/* A wrote 43 */
		dsm_map(dsm, map, sizeof(map));
		check_state("B's copy invalidated: its page state", map[P_SHARE], DSM_NONE);
		check("B reads again: the new value", mem[P_SHARE * ps], 43);
		check("B's fetches", dsm_stats(dsm).fetches, 2);
		check("B's invalidations", dsm_stats(dsm).invalidations, 1);
		b_stats();
		return;
	}
	mem[P_SHARE * ps] = 42;
	step();						/* B reads */
	step();
	dsm_map(dsm, map, sizeof(map));
	check_state("A keeps a read-only copy: its page state", map[P_SHARE], DSM_READ);
	t0 = now_us();
	mem[P_SHARE * ps] = 43;				/* B's copy goes */
	printf("dsm_node A: the invalidating write took %llu us\n",
	       (unsigned long long)(now_us() - t0));
	step();
	b_stats();
}

/*
 * @rounds writes each, alternating, A's counter at @pa:@off_a, B's at
 * @pb:@off_b. Returns both nodes' ownership transfers after B's warm-up.
 */
static uint64_t alternate(int rounds, int pa, size_t off_a, int pb, size_t off_b)
{
	volatile uint64_t *ca = (uint64_t *)(mem + pa * ps + off_a);
	volatile uint64_t *cb = (uint64_t *)(mem + pb * ps + off_b);
	bool same = ca == cb;
	uint64_t t0, last = 0;
	int ok = 1;

	if (node) {
		*cb = 1;			/* warm-up: B owns its counter's page */
		t0 = dsm_stats(dsm).transfers;
		step();
		for (int i = 0; i < rounds; i++) {
			step();			/* A wrote */
			if (same)
				ok &= *cb == 2ULL * i + 2;
			(*cb)++;
			step();
		}
		ok &= *cb == (same ? 2ULL * rounds + 1 : rounds + 1ULL);
		check("B saw every value it should", ok, 1);
		t0 = dsm_stats(dsm).transfers - t0;
		ctl_io(&t0, sizeof(t0), 1);
		return 0;
	}
	step();
	t0 = dsm_stats(dsm).transfers;
	for (int i = 0; i < rounds; i++) {
		last = ++(*ca);
		step();
		step();
	}
	check("A's last value", last, same ? 2ULL * rounds : (uint64_t)rounds);
	t0 = dsm_stats(dsm).transfers - t0;
	{
		uint64_t b;

		ctl_io(&b, sizeof(b), 0);
		return t0 + b;
	}
}

/* Message passing: whoever sees the flag sees the data. */
static void litmus(int runs)
{
	volatile uint64_t *data = (uint64_t *)(mem + P_DATA * ps);
	volatile uint64_t *flag = (uint64_t *)(mem + P_FLAG * ps);
	uint64_t bad = 0, t0 = now_us();

	for (uint64_t i = 1; i <= (uint64_t)runs; i++) {
		step();
		if (node) {
			while (*flag < i)
				;
			bad += *data < i;
		} else {
			*data = i;
			*flag = i;
		}
	}
	if (node) {
		check("litmus: runs with the flag but not the data", bad, 0);
		ctl_io(&bad, sizeof(bad), 1);
	} else {
		ctl_io(&bad, sizeof(bad), 0);
		printf("dsm_node A: %d message-passing runs in %llu ms, %llu with the flag but not the data\n",
		       runs, (unsigned long long)(now_us() - t0) / 1000, (unsigned long long)bad);
	}
}

int main(int argc, char **argv)
{
	int rounds = 100, runs = 1000, port, opt;
	unsigned int delay_us = 0;
	struct dsm_stats a, b;
	uint64_t t;
	int sock;

	while ((opt = getopt(argc, argv, "r:l:d:")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'l': runs = atoi(optarg); break;
		case 'd': delay_us = strtoul(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "a")) {
		int l = tcp_listen(port = atoi(argv[optind + 1])), lc = tcp_listen(port + 1);

		printf("dsm_node A: listening on ports %d and %d\n", port, port + 1);
		fflush(stdout);
		sock = tcp_accept(l);
		ctl = tcp_accept(lc);
	} else if (argc - optind == 3 && !strcmp(argv[optind], "b")) {
		node = 1;
		port = atoi(argv[optind + 2]);
		sock = tcp_connect(argv[optind + 1], port);
		ctl = tcp_connect(argv[optind + 1], port + 1);
	} else {
usage:
		fprintf(stderr, "usage: dsm_node [-r ROUNDS] [-l RUNS] [-d DELAY_US] a PORT | b HOST PORT\n");
		return 2;
	}
	if (rounds <= 0 || runs <= 0) {
		errno = EINVAL;
		die("-r and -l take a positive number");
	}
	ps = page_size();
	dsm = dsm_start(node, PAGES, sock, delay_us);
	if (!dsm)
		die("dsm_start");
	mem = dsm_base(dsm);
	printf("dsm_node %c: connected; %d pages, %u us per message\n", 'A' + node, PAGES, delay_us);
	fflush(stdout);

	step();
	read_share();
	t = alternate(rounds, P_ALT, 0, P_ALT, 0);
	if (!node)
		check("alternating writes to one word: transfers", t, 2ULL * rounds);
	t = alternate(rounds, P_FALSE, 0, P_FALSE, 8);
	if (!node)
		check("two counters on one page: transfers", t, 2ULL * rounds);
	t = alternate(rounds, P_TWO_A, 0, P_TWO_B, 0);
	if (!node)
		check("two counters on two pages: transfers", t, 0);
	litmus(runs);

	a = dsm_stats(dsm);
	b = b_stats();
	if (!node) {
		printf("dsm_node A: A sent %llu messages, B %llu; B fetched %llu copies\n",
		       (unsigned long long)a.messages, (unsigned long long)b.messages,
		       (unsigned long long)b.fetches);
	}
	/* Neither node leaves while the other may still fault. */
	step();
	printf("dsm_node %c: %s\n", 'A' + node, failed ? "FAILED" : "every count exact");
	return failed;
}
