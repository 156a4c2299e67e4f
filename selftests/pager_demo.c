// SPDX-License-Identifier: GPL-2.0
/*
 * pager_demo: the demo's step on faults handled in user space (make demo).
 * A pager region of 4 pages, a handler thread that prints every event and
 * answers it, and a main thread whose accesses are the faults: misses
 * answered with data and with the zero page, a write to a write-protected
 * page (how a checkpointer learns what was written), an invalidation (how
 * distributed shared memory takes a page back), then JOS's copy-on-write
 * fork() done in user space (ufork()), and a distributed shared memory
 * between two processes (dsm_lib.c). Exits 1 if the module's counts
 * differ from what the demo says.
 *
 * USAGE: pager_demo
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "dsm_lib.h"
#include "pager_lib.h"
#include "vmfault_lib.h"

#define PAGES	4

static int region, pager, failed;
static long ps;
static char *base;
static volatile char *priv;
/* Page versions the handler supplies: page i's next content is "page i vN". */
static int version[PAGES];

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failed = 1;
	va_start(ap, fmt);
	printf("MISMATCH: ");
	vprintf(fmt, ap);
	va_end(ap);
}

/* The handler: page 3 is answered with the zero page, the others with text. */
static void *handler(void *arg)
{
	struct vmfault_pager_event ev;
	char *buf = calloc(1, ps);

	(void)arg;
	while (buf && !pager_next(pager, &ev, -1)) {
		unsigned long i = ev.offset / ps;
		int err;

		printf("  handler: %s %s page %lu (tid %u, address %#llx)\n",
		       ev.flags & VMFAULT_PAGER_EVENT_WRITE ? "write" : "read",
		       ev.flags & VMFAULT_PAGER_EVENT_WP ? "to write-protected" : "miss on",
		       i, ev.tid, (unsigned long long)ev.address);
		if (ev.flags & VMFAULT_PAGER_EVENT_WP) {
			printf("  handler: page %lu is now dirty: unprotect it\n", i);
			err = pager_answer(pager, VMFAULT_PAGER_IOC_PROTECT, ev.offset, ps, NULL, 0,
					   NULL);
		} else if (i == PAGES - 1) {
			printf("  handler: answer with the zero page\n");
			err = pager_answer(pager, VMFAULT_PAGER_IOC_ZEROPAGE, ev.offset, ps, NULL, 0,
					   NULL);
		} else {
			memset(buf, 0, ps);
			snprintf(buf, ps, "page %lu v%d", i, ++version[i]);
			printf("  handler: supply \"%s\"\n", buf);
			err = pager_answer(pager, VMFAULT_PAGER_IOC_SUPPLY, ev.offset, ps, buf, 0,
					   NULL);
		}
		if (err)
			printf("  handler: answer failed: %s\n", strerror(-err));
	}
	free(buf);
	return NULL;
}

/*
 * Page @i's text, read into a buffer of the caller's before any stdio: a
 * printf() that faulted into the pager would hold stdout's lock while it
 * waits, and the handler, printing, would wait for that lock.
 */
static const char *text(unsigned long i)
{
	static char buf[64];

	memcpy(buf, base + i * ps, sizeof(buf) - 1);
	return buf;
}

static void show_info(void)
{
	struct vmfault_pager_info in = {};

	pager_info(pager, &in);
	printf("pager counters: events %llu (write %llu, write-protect %llu), supplied %llu,\n"
	       "  zeroed %llu, protected %llu, unprotected %llu, invalidated %llu, woken %llu\n",
	       (unsigned long long)in.events, (unsigned long long)in.write_events,
	       (unsigned long long)in.wp_events, (unsigned long long)in.supplied,
	       (unsigned long long)in.zeroed, (unsigned long long)in.protected,
	       (unsigned long long)in.unprotected, (unsigned long long)in.invalidated,
	       (unsigned long long)in.woken);
	check(in.events == 5 && in.write_events == 2 && in.wp_events == 1 && in.supplied == 3 &&
	      in.zeroed == 1 && in.protected == 1 && in.unprotected == 1 &&
	      in.invalidated == 1 && in.woken == 5,
	      "pager counters are not 5 events (2 writes, 1 write-protect), 3 supplied, 1 zeroed, 1 protected, 1 unprotected, 1 invalidated, 5 woken\n");
}

/*
 * JOS's user-level copy-on-write fork, the lecture's exercise: the child
 * writes a 128-byte array and an 8-byte variable over 8 shared pages.
 */
static void demo_ufork(void)
{
	struct { uint64_t copies, pfn[8]; } rep = { 0 };
	uint64_t pfn[8];
	struct umem m;
	int fds[2], status, i;
	pid_t pid;

	printf("\nJOS's fork() in user space (ufork(), selftests/pager_lib.c):\n");
	if (umem_create(&m, 8) || pipe(fds)) {
		check(false, "umem_create: %s\n", strerror(errno));
		return;
	}
	for (i = 0; i < 8; i++) {
		memset(m.base + i * ps, 'a' + i, ps);
		pfn[i] = pfn_of(m.base + i * ps);
	}
	printf("parent: 8 pages filled; ufork(): the child's region maps the same 8 frames\n"
	       "  (VMFAULT_PAGER_IOC_MAP), write-protected in both\n");
	pid = ufork(&m);
	if (pid == 0) {
		memset(m.base + 2 * ps + 100, 'C', 128);
		*(uint64_t *)(m.base + 5 * ps + 8) = 0x1234;
		for (i = 0; i < 8; i++) {
			touch_read(m.base + i * ps);	/* mapped: a frame to show */
			rep.pfn[i] = pfn_of(m.base + i * ps);
		}
		rep.copies = umem_copies(&m);
		_exit(write(fds[1], &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1);
	}
	if (pid < 0 || read(fds[0], &rep, sizeof(rep)) != sizeof(rep) ||
	    waitpid(pid, &status, 0) != pid) {
		check(false, "ufork: %s\n", strerror(errno));
		return;
	}
	printf("child: wrote a 128-byte array in page 2 and an 8-byte variable in page 5;\n"
	       "  its handler copied %llu pages\n", (unsigned long long)rep.copies);
	printf("  page  parent's frame  child's frame\n");
	for (i = 0; i < 8; i++)
		printf("  %d     %#-14llx  %#-13llx %s\n", i, (unsigned long long)pfn[i],
		       (unsigned long long)rep.pfn[i], pfn[i] == rep.pfn[i] ? "shared" : "copied");
	for (i = 0; i < 8; i++)
		check(all_bytes(m.base + i * ps, ps, 'a' + i), "the parent's page %d changed\n", i);
	printf("parent: its 8 pages intact, %llu copied by its handler\n",
	       (unsigned long long)umem_copies(&m));
	check(rep.copies == 2 && umem_copies(&m) == 0, "copies are not 2 and 0\n");
	for (i = 0; i < 8; i++)
		check((pfn[i] == rep.pfn[i]) == (i != 2 && i != 5), "page %d's frames\n", i);
}

/* B's side of the DSM demo: do what A asks, send back its page-state map. */
static void dsm_b(struct dsm_node *n, int in, int out)
{
	char cmd[2], map[8];

	while (read(in, cmd, 2) == 2) {
		volatile char *q = dsm_base(n) + (cmd[1] - '0') * ps;

		if (cmd[0] == 'r')
			(void)*q;
		else if (cmd[0] == 'w')
			*q = cmd[1];
		dsm_map(n, map, sizeof(map));
		if (write(out, map, 5) != 5)
			break;
	}
	_exit(0);
}

/* One step of the DSM demo: A's action or B's, then both maps. */
static void dsm_step(struct dsm_node *a, int to_b, int from_b, const char *what, char op,
		     int page)
{
	char cmd[2] = { 'n', '0' }, mb[8], ma[8];
	volatile char *q = dsm_base(a) + page * ps;

	if (what[0] == 'A') {
		if (op == 'r')
			(void)*q;
		else if (op == 'w')
			*q = 'A';
	} else {
		cmd[0] = op;
		cmd[1] = '0' + page;
	}
	if (write(to_b, cmd, 2) != 2 || read(from_b, mb, 5) != 5) {
		check(false, "the DSM demo's node B is gone\n");
		return;
	}
	dsm_map(a, ma, sizeof(ma));
	printf("  %-32s A %s   B %s\n", what, ma, mb);
}

/*
 * Distributed shared memory: two processes, a pager region each, pages
 * moving over a socket (dsm_lib.c), their page states as they change.
 */
static void demo_dsm(void)
{
	int sv[2], a2b[2], b2a[2], status;
	struct dsm_node *a;
	struct dsm_stats st;
	pid_t pid;

	printf("\nDistributed shared memory (IVY: single writer, multiple readers;\n"
	       "selftests/dsm_lib.c): nodes A and B, one pager region each, pages over a\n"
	       "socket. W: the owner's writable copy, r: a read-only copy, .: none\n");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) || pipe(a2b) || pipe(b2a)) {
		check(false, "socketpair: %s\n", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct dsm_node *b;

		/* Only A's end of each pipe left open: A's close ends B. */
		close(a2b[1]);
		close(b2a[0]);
		b = dsm_start(1, 4, sv[1], 0);
		if (!b)
			_exit(1);
		dsm_b(b, a2b[0], b2a[1]);
	}
	close(a2b[0]);
	close(b2a[1]);
	a = dsm_start(0, 4, sv[0], 0);
	if (pid < 0 || !a) {
		check(false, "dsm_start: %s\n", strerror(errno));
		return;
	}
	dsm_step(a, a2b[1], b2a[0], "start: A owns every page", 'n', 0);
	dsm_step(a, a2b[1], b2a[0], "B reads page 0 (a fetch)", 'r', 0);
	dsm_step(a, a2b[1], b2a[0], "A writes page 0 (B's copy goes)", 'w', 0);
	dsm_step(a, a2b[1], b2a[0], "B writes page 1 (ownership)", 'w', 1);
	dsm_step(a, a2b[1], b2a[0], "A reads page 1 (a fetch)", 'r', 1);
	dsm_step(a, a2b[1], b2a[0], "A writes page 1 (ownership)", 'w', 1);
	st = dsm_stats(a);
	printf("  A: %llu fetches, %llu ownership transfers received, %llu messages sent\n",
	       (unsigned long long)st.fetches, (unsigned long long)st.transfers,
	       (unsigned long long)st.messages);
	check(st.fetches == 1 && st.transfers == 1, "A's counts are not 1 fetch, 1 transfer\n");
	close(a2b[1]);
	waitpid(pid, &status, 0);
}

int main(void)
{
	pthread_t th;
	uint64_t f0;
	int err;

	ps = page_size();
	err = pager_region(PAGES, O_CLOEXEC, &region, &pager);
	if (err) {
		fprintf(stderr, "pager_demo: a pager region: %s\n", strerror(-err));
		return 1;
	}
	base = mmap(NULL, PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED, region, 0);
	priv = mmap(NULL, PAGES * ps, PROT_READ, MAP_PRIVATE, region, 0);
	if (base == MAP_FAILED || priv == MAP_FAILED || pthread_create(&th, NULL, handler, NULL)) {
		perror("pager_demo");
		return 1;
	}
	f0 = vmf_counter(region, VMFAULT_CNT_FAULTS);

	/* Unbuffered, so that main's and the handler's lines come in order. */
	setvbuf(stdout, NULL, _IONBF, 0);
	/* Never hang a demo: a lost answer ends it with SIGALRM. */
	alarm(60);
	printf("main: read page 0\n");
	printf("main: page 0 says \"%s\"\n", text(0));
	printf("main: read page 0 again: \"%s\" (mapped: no fault, no event)\n", text(0));
	printf("main: write page 1\n");
	base[ps + 20] = '!';
	printf("main: page 1 says \"%s\", byte 20 is '%c'\n", text(1), base[ps + 20]);
	printf("main: read page 3 through a MAP_PRIVATE mapping of the region\n");
	check(!priv[3 * ps], "page 3 is not zero\n");
	printf("main: page 3 reads 0, at pfn %#llx: the zero page (%#llx), nothing allocated\n",
	       (unsigned long long)pfn_of((const void *)(priv + 3 * ps)), (unsigned long long)zero_pfn());
	check(pfn_of((const void *)(priv + 3 * ps)) == zero_pfn(), "page 3 is not the zero page\n");

	printf("main: write-protect page 0 (VMFAULT_PAGER_IOC_PROTECT), then write it\n");
	pager_answer(pager, VMFAULT_PAGER_IOC_PROTECT, 0, ps, NULL, VMFAULT_PAGER_WP, NULL);
	base[0] = 'P';
	printf("main: page 0 says \"%s\"\n", text(0));

	printf("main: invalidate page 1 (VMFAULT_PAGER_IOC_INVALIDATE), then read it\n");
	pager_answer(pager, VMFAULT_PAGER_IOC_INVALIDATE, ps, ps, NULL, 0, NULL);
	printf("main: page 1 says \"%s\" (the handler's new version)\n", text(1));
	check(!strcmp(text(1), "page 1 v2"), "page 1 is not v2\n");
	check(!strcmp(text(0), "Page 0 v1"), "page 0 is not \"Page 0 v1\"\n");

	show_info();
	printf("region faults: %llu (each event is one fault; its retry is the same fault)\n",
	       (unsigned long long)(vmf_counter(region, VMFAULT_CNT_FAULTS) - f0));
	pthread_cancel(th);
	pthread_join(th, NULL);
	demo_ufork();
	demo_dsm();
	return failed;
}
