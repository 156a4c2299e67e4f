// SPDX-License-Identifier: GPL-2.0
/*
 * faultdecode_target: faults whose every detail is known, for
 * scripts/faultdecode to decode (selftests/lecture.sh compares the two).
 * Prints, in order, one "target:" line per access:
 *
 *   target: read ADDR                      a read of a fresh anonymous page
 *   target: segv ADDR code C pc PC         a store to an unmapped page
 *   target: segv ADDR code C pc PC         a store to a read-only page
 *   target: vmfault-read ADDR              a read of a /dev/vmfault page
 *   target: vmfault-write ADDR             then a write to it (MAP_SHARED)
 *
 * (C: si_code; PC: the faulting instruction, from the signal's ucontext.)
 * The vmfault lines only when /dev/vmfault can be opened.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "vmfault_lib.h"
#include "lecture_lib.h"

static void report(const struct lecture_segv *s)
{
	if (s->caught)
		printf("target: segv %#lx code %d pc %#lx\n", (unsigned long)s->addr, s->code,
		       (unsigned long)s->pc);
	else
		printf("target: no SIGSEGV\n");
}

int main(int argc, char **argv)
{
	long ps = page_size();
	struct lecture_segv s;
	char *ro, *hole, *v;
	int fd;

	if (argc > 1) {
		fprintf(stderr, "usage: %s (no arguments)\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Every address distinct: the vmfault page is mapped before the hole is made. */
	ro = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open(VMFAULT_DEV, O_RDWR);
	v = fd < 0 ? NULL : mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	hole = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED || v == MAP_FAILED || hole == MAP_FAILED || munmap(hole, ps))
		return 1;
	printf("target: read %#lx\n", (unsigned long)ro);
	touch_read(ro);
	lecture_catch_segv(lecture_store, hole, &s);
	report(&s);
	lecture_catch_segv(lecture_store, ro, &s);
	report(&s);

	if (!v)
		return 0;
	printf("target: vmfault-read %#lx\n", (unsigned long)v);
	touch_read(v);
	printf("target: vmfault-write %#lx\n", (unsigned long)v);
	v[0] = 1;
	munmap(v, ps);
	close(fd);
	return 0;
}
