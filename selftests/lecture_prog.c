// SPDX-License-Identifier: GPL-2.0
/*
 * lecture_prog: a program to be paged in from a slow disk. Linked static
 * (selftests/Makefile), so that all of its text comes from its own file:
 * lecture_test copies it onto vmfaultfs and runs it from there.
 *
 *   lecture_prog text   print "text ok" and exit: the run's text faults
 *   lecture_prog wait   print "main pfn 0xPFN" (the frame of main()'s code
 *                       page) and wait for EOF on stdin: two at once show
 *                       shared text
 *   lecture_prog bss    a 64 MiB zero-initialised array: read every page,
 *                       then write 3; prints what pagemap, kpageflags and
 *                       smaps say after each. With MADV_NOHUGEPAGE: the
 *                       lecture's 4 KiB pages
 *   lecture_prog bss-thp the same with transparent huge pages as the
 *                       kernel's default has them (Debian: always)
 */
#define _GNU_SOURCE
#include "vmfault_lib.h"

#define BSS_SIZE	(64UL << 20)

static char bss[BSS_SIZE];

/*
 * The array's whole pages: its first page is shared with the end of the
 * initialised data (the loader zeroes the rest of that page in place).
 */
static char *first;
static long npages;

/*
 * Zero-page and anonymous pages among them: one read of their pagemap
 * entries, and kpageflags once per distinct frame run (the zero page is
 * one frame, looked up once).
 */
static void count_pages(long ps, long *zero, long *anon)
{
	static uint64_t ent[(BSS_SIZE >> 12) + 1];
	uint64_t last = ~0ULL, flags = 0;
	long i;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	*zero = *anon = 0;
	if (fd < 0 || pread(fd, ent, npages * sizeof(ent[0]),
			    (uintptr_t)first / ps * sizeof(ent[0])) != (ssize_t)(npages * sizeof(ent[0]))) {
		*zero = *anon = -1;
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (i = 0; i < npages; i++) {
		uint64_t pfn = ent[i] & PM_PFN_MASK;

		if (!(ent[i] & PM_PRESENT) || !pfn)
			continue;
		if (pfn != last) {
			flags = kpageflags(pfn);
			last = pfn;
		}
		*zero += !!(flags & (1ULL << KPF_ZERO_PAGE));
		*anon += !!(flags & (1ULL << KPF_ANON));
	}
}

static int bss_demo(bool thp)
{
	long ps = page_size(), zero, anon, rss0, rss1, rss2, f0, f1, f2, i;

	first = (char *)(((uintptr_t)bss + ps - 1) & ~(uintptr_t)(ps - 1));
	npages = ((uintptr_t)bss + BSS_SIZE - (uintptr_t)first) / ps;
	if (!thp && madvise(first, npages * ps, MADV_NOHUGEPAGE)) {
		perror("madvise(MADV_NOHUGEPAGE)");
		return 1;
	}
	rss0 = smaps_rss_kb(first);
	f0 = rusage_faults();
	for (i = 0; i < npages; i++)
		touch_read(first + i * ps);
	f1 = rusage_faults();
	rss1 = smaps_rss_kb(first);
	count_pages(ps, &zero, &anon);
	printf("bss pages %ld read-faults %ld zero-page %ld anon %ld rss-kb %ld -> %ld\n",
	       npages, f1 - f0, zero, anon, rss0, rss1);
	f1 = rusage_faults();
	first[0] = 1;
	first[npages / 2 * ps] = 1;
	first[(npages - 1) * ps] = 1;
	f2 = rusage_faults();
	rss2 = smaps_rss_kb(first);
	count_pages(ps, &zero, &anon);
	printf("bss writes 3 write-faults %ld zero-page %ld anon %ld rss-kb %ld -> %ld\n",
	       f2 - f1, zero, anon, rss1, rss2);
	return 0;
}

int main(int argc, char **argv)
{
	char c;

	if (argc != 2) {
		fprintf(stderr, "usage: lecture_prog text|wait|bss|bss-thp\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "text")) {
		printf("text ok\n");
		return 0;
	}
	if (!strcmp(argv[1], "wait")) {
		printf("main pfn %#llx\n", (unsigned long long)pfn_of((void *)(uintptr_t)main));
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
	if (!strcmp(argv[1], "bss") || !strcmp(argv[1], "bss-thp"))
		return bss_demo(!strcmp(argv[1], "bss-thp"));
	fprintf(stderr, "lecture_prog: unknown mode '%s'\n", argv[1]);
	return 2;
}
