// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault-pagemap: a live map of the pages of a process's vmfault mappings
 * (or of any one mapping), one character per page, redrawn as faults
 * happen. Built from /proc/PID/maps, /proc/PID/pagemap, /proc/kpageflags,
 * /proc/kpagecount and the module's /proc/vmfault_regions and
 * /proc/vmfault_pages (which tells a page resident in its region but not
 * mapped here, or swapped out to the region's swap file, from one that is
 * not there at all). Needs root (the kernel hides page frame numbers from
 * others).
 *
 * USAGE: vmfault-pagemap [-1] [-i MS] [-n FRAMES] PID [ADDRESS]
 *   -1         draw once, without terminal control codes (for scripts)
 *   -i MS      redraw interval in milliseconds (default 250)
 *   -n FRAMES  stop after FRAMES redraws (default: until Ctrl-C)
 *   ADDRESS    show the mapping that contains ADDRESS (hex) instead of
 *              the /dev/vmfault ones
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_PFN_MASK	((1ULL << 55) - 1)

/* include/uapi/linux/kernel-page-flags.h */
#define KPF_DIRTY	4
#define KPF_ANON	12
#define KPF_ZERO_PAGE	24

#define COLUMNS		64
#define MAX_MAPS	8
#define MAX_ROWS	32	/* per mapping: at most 2048 pages shown */

struct mapping {
	unsigned long start, end;
	char perms[5];
	char path[256];
};

static const char legend[] =
	"legend: . not present   0 zero page   r region/file page   R the same, mapped\n"
	"        more than once   d/D such a page, dirty   p private copy (anonymous)\n"
	"        P private page still shared after fork (COW pending)   s swapped out\n"
	"        u resident in the region, not mapped here (evicted from this mapping)\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: vmfault-pagemap [-1] [-i MS] [-n FRAMES] PID [ADDRESS] (-h: help)\n");
	exit(2);
}

static void help(void)
{
	printf("usage: vmfault-pagemap [-1] [-i MS] [-n FRAMES] PID [ADDRESS]\n"
	       "A live map of the pages of a process's vmfault mappings (or of the one\n"
	       "mapping that contains ADDRESS, hex), one character per page. Needs root.\n"
	       "  -1         draw once, without terminal control codes (for scripts)\n"
	       "  -i MS      redraw interval in milliseconds (default 250)\n"
	       "  -n FRAMES  stop after FRAMES redraws (default: until Ctrl-C)\n"
	       "  -h         this help\n"
	       "See vmfault-pagemap(1) for the page characters.\n");
	exit(0);
}

static int read_u64(int fd, uint64_t index, uint64_t *v)
{
	return pread(fd, v, sizeof(*v), index * sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

/* The mappings to show: /dev/vmfault ones, or the one holding @addr. */
static int find_mappings(pid_t pid, bool by_addr, unsigned long addr, struct mapping *maps)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < MAX_MAPS && fgets(line, sizeof(line), f)) {
		struct mapping *m = &maps[n];

		m->path[0] = '\0';
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255[^\n]", &m->start, &m->end,
			   m->perms, m->path) < 3)
			continue;
		if (by_addr ? addr >= m->start && addr < m->end : !!strstr(m->path, "vmfault"))
			n++;
	}
	fclose(f);
	return n;
}

/*
 * The module's view of each page of the vmfault mapping at @start
 * (/proc/vmfault_pages: r resident, s swapped out, e swapped out and its
 * read by a fault failed, - neither) into @held,
 * @n bytes; 0, or -1 when it cannot be had (an older module, not root).
 */
static int module_view(pid_t pid, unsigned long start, char *held, unsigned long n)
{
	char req[64];
	int fd = open("/proc/vmfault_pages", O_RDWR), len;
	ssize_t got = -1;

	if (fd < 0)
		return -1;
	len = snprintf(req, sizeof(req), "%d %lx", pid, start);
	if (write(fd, req, len) == len)
		got = pread(fd, held, n, 0);
	close(fd);
	return got == (ssize_t)n ? 0 : -1;
}

/* @held: the module's view of the page ('r', 's', 'e', '-'), or 0 for none. */
static char page_state(int pagemap, int kflags, int kcount, unsigned long addr, long ps,
		       char held)
{
	uint64_t pme, flags, count, pfn;

	if (read_u64(pagemap, addr / ps, &pme))
		return '?';
	if (pme & PM_SWAP)
		return 's';
	if (!(pme & PM_PRESENT))
		return held == 'r' ? 'u' : held == 's' || held == 'e' ? 's' : '.';
	pfn = pme & PM_PFN_MASK;
	if (!pfn || read_u64(kflags, pfn, &flags) || read_u64(kcount, pfn, &count))
		return '?';
	if (flags & (1ULL << KPF_ZERO_PAGE))
		return '0';
	if (flags & (1ULL << KPF_ANON))
		return count > 1 ? 'P' : 'p';
	if (flags & (1ULL << KPF_DIRTY))
		return count > 1 ? 'D' : 'd';
	return count > 1 ? 'R' : 'r';
}

/* The module's line for each region @pid owns, from /proc/vmfault_regions. */
static void show_regions(pid_t pid)
{
	char line[1024], hdr[1024];
	FILE *f = fopen("/proc/vmfault_regions", "r");

	if (!f)
		return;
	if (fgets(hdr, sizeof(hdr), f)) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long id, size, resident;
			char mode[16];
			int owner;

			if (sscanf(line, "%lu %d %15s %lu %lu", &id, &owner, mode, &size,
				   &resident) == 5 && owner == pid)
				printf("region %lu (owner %d): mode %s, %lu pages, %lu resident\n",
				       id, owner, mode, size / sysconf(_SC_PAGESIZE), resident);
		}
	}
	fclose(f);
}

static int draw(pid_t pid, bool by_addr, unsigned long addr, bool plain)
{
	struct mapping maps[MAX_MAPS];
	long ps = sysconf(_SC_PAGESIZE);
	int pagemap, kflags, kcount, n;
	char path[64];

	n = find_mappings(pid, by_addr, addr, maps);
	if (n < 0) {
		fprintf(stderr, "vmfault-pagemap: no process %d\n", pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap = open(path, O_RDONLY);
	kflags = open("/proc/kpageflags", O_RDONLY);
	kcount = open("/proc/kpagecount", O_RDONLY);
	if (pagemap < 0 || kflags < 0 || kcount < 0) {
		fprintf(stderr, "vmfault-pagemap: %s: %s (root is needed)\n",
			pagemap < 0 ? path : "/proc/kpageflags", strerror(errno));
		return -1;
	}
	if (!plain)
		printf("\033[H\033[2J");
	printf("pid %d: %d mapping%s%s\n", pid, n, n == 1 ? "" : "s",
	       n ? "" : by_addr ? " at that address" : " of /dev/vmfault");
	show_regions(pid);
	for (int i = 0; i < n; i++) {
		struct mapping *m = &maps[i];
		unsigned long pages = (m->end - m->start) / ps, shown = pages;
		unsigned long counts[128] = { 0 };
		char held[COLUMNS * MAX_ROWS];
		bool have_held;

		if (shown > COLUMNS * MAX_ROWS)
			shown = COLUMNS * MAX_ROWS;
		have_held = strstr(m->path, "vmfault") && !module_view(pid, m->start, held, shown);
		printf("\n%lx-%lx %s %s (%lu pages)\n", m->start, m->end, m->perms,
		       m->path[0] ? m->path : "[anon]", pages);
		for (unsigned long p = 0; p < shown; p++) {
			char c = page_state(pagemap, kflags, kcount, m->start + p * ps, ps,
					    have_held ? held[p] : 0);

			counts[(unsigned char)c]++;
			if (p % COLUMNS == 0)
				printf("%6lu ", p);
			putchar(c);
			if (p % COLUMNS == COLUMNS - 1 || p == shown - 1)
				putchar('\n');
		}
		if (shown < pages)
			printf("       ... %lu more pages not shown\n", pages - shown);
		printf("      ");
		for (const char *c = ".0rRdDpPsu?"; *c; c++)
			if (counts[(unsigned char)*c])
				printf(" %c:%lu", *c, counts[(unsigned char)*c]);
		putchar('\n');
	}
	printf("\n%s", legend);
	fflush(stdout);
	close(pagemap);
	close(kflags);
	close(kcount);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long addr = 0, frames = 0, interval_ms = 250;
	bool plain = false, by_addr = false;
	char *end;
	pid_t pid;
	int opt;

	while ((opt = getopt(argc, argv, "1i:n:h")) != -1) {
		switch (opt) {
		case 'h':
			help();
			break;
		case '1':
			plain = true;
			frames = 1;
			break;
		case 'i':
			interval_ms = strtoul(optarg, &end, 10);
			if (*end || !interval_ms)
				usage();
			break;
		case 'n':
			frames = strtoul(optarg, &end, 10);
			if (*end)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || optind + 2 < argc)
		usage();
	pid = strtol(argv[optind], &end, 10);
	if (*end || pid <= 0)
		usage();
	if (optind + 1 < argc) {
		addr = strtoul(argv[optind + 1], &end, 16);
		if (*end)
			usage();
		by_addr = true;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (unsigned long f = 0; !stop && (!frames || f < frames); f++) {
		struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000 };

		if (draw(pid, by_addr, addr, plain))
			return 1;
		if (!frames || f + 1 < frames)
			nanosleep(&ts, NULL);
	}
	return 0;
}
