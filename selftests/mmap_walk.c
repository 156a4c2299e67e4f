// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_walk: map a file and read one byte of every page, the way a program
 * scans a memory-mapped file, and report what it cost: minor and major
 * faults (as /usr/bin/time -v reports them), time per page, and, when the
 * file is on vmfaultfs, the READ requests and bytes the daemon served.
 *
 * USAGE: mmap_walk [-r] [-a ADVICE] [-p PAGES] [-s MOUNT] [-w WINDOW [-F] [-A]] FILE
 *   -r         touch the pages in a random order (fixed seed)
 *   -a ADVICE  normal, random, sequential or willneed (madvise)
 *   -p PAGES   walk only the first PAGES pages
 *   -s MOUNT   the vmfaultfs mount FILE lives on: zero and read its counters
 *   -w WINDOW  map FILE through /dev/vmfault (file mode, this prefetch
 *              window) instead of directly (the page cache, filemap_fault)
 *   -F         with -w: no fault-around (VMFAULT_FLAG_NO_FAULT_AROUND)
 *   -A         with -w: the next window in flight while the current one is
 *              used (VMFAULT_FLAG_ASYNC_PREFETCH)
 *   -W         write one byte of every page instead (MAP_SHARED), then
 *              msync(MS_SYNC): the writeback, in the WRITE counters
 *
 * Prints one line of "key value" pairs, for scripts and the demo.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"

static void usage(void)
{
	fprintf(stderr, "usage: mmap_walk [-r] [-a normal|random|sequential|willneed] "
		"[-p PAGES] [-s MOUNT] [-w WINDOW [-F] [-A]] [-W] FILE\n");
	exit(2);
}

/* One walk: what the options ask for, and what it maps. */
struct walk {
	const char *file;
	const char *advice;	/* its name */
	int adv;		/* its MADV_*, or -1: none */
	bool random;
	bool writes;
	unsigned long pages;	/* 0: the whole file */
	long window;		/* 0: the page cache; else through /dev/vmfault */
	struct vmfault_config cfg;
	struct vff_mount m;	/* m.mnt: the vmfaultfs mount, or "" */
	long ps;
	int fd;			/* FILE */
	int mfd;		/* the region, or -1 */
	char *p;		/* the mapping */
	unsigned long *order;	/* the pages in walk order */
};

static void parse_args(struct walk *w, int argc, char **argv)
{
	static const struct { const char *name; int advice; } advices[] = {
		{ "normal", MADV_NORMAL }, { "random", MADV_RANDOM },
		{ "sequential", MADV_SEQUENTIAL }, { "willneed", MADV_WILLNEED },
	};
	int opt;

	while ((opt = getopt(argc, argv, "ra:p:s:w:FAW")) != -1) {
		switch (opt) {
		case 'r':
			w->random = true;
			break;
		case 'a':
			w->advice = optarg;
			for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++)
				if (!strcmp(optarg, advices[i].name))
					w->adv = advices[i].advice;
			if (w->adv < 0)
				usage();
			break;
		case 'p':
			w->pages = strtoul(optarg, NULL, 0);
			break;
		case 's':
			snprintf(w->m.mnt, sizeof(w->m.mnt), "%s", optarg);
			break;
		case 'w':
			w->window = strtol(optarg, NULL, 0);
			if (w->window < 1 || w->window > VMFAULT_MAX_WINDOW)
				usage();
			break;
		case 'F':
			w->cfg.flags |= VMFAULT_FLAG_NO_FAULT_AROUND;
			break;
		case 'A':
			w->cfg.flags |= VMFAULT_FLAG_ASYNC_PREFETCH;
			break;
		case 'W':
			w->writes = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	w->file = argv[optind];
}

/* The page order: 0, 1, 2... or a shuffle of it with a fixed seed. */
static int make_order(struct walk *w)
{
	unsigned int seed = 42;

	w->order = malloc(w->pages * sizeof(*w->order));
	if (!w->order)
		return -1;
	for (unsigned long i = 0; i < w->pages; i++)
		w->order[i] = i;
	for (unsigned long i = w->pages - 1; w->random && i > 0; i--) {
		unsigned long j = rand_r(&seed) % (i + 1), t = w->order[i];

		w->order[i] = w->order[j];
		w->order[j] = t;
	}
	return 0;
}

/* Open FILE and map it, directly or as a file-mode region. */
static int open_and_map(struct walk *w)
{
	struct stat st;

	w->fd = open(w->file, w->writes ? O_RDWR : O_RDONLY);
	if (w->fd < 0 || fstat(w->fd, &st)) {
		perror(w->file);
		return -1;
	}
	if (!w->pages || w->pages > (unsigned long)(st.st_size + w->ps - 1) / w->ps)
		w->pages = (st.st_size + w->ps - 1) / w->ps;
	if (!w->pages) {
		fprintf(stderr, "mmap_walk: %s is empty\n", w->file);
		return -1;
	}
	if (w->window) {
		w->mfd = vmf_open();
		w->cfg.fd = w->fd;
		w->cfg.window = w->window;
		if (w->mfd < 0 || ioctl(w->mfd, VMFAULT_IOC_CONFIGURE, &w->cfg)) {
			perror(w->mfd < 0 ? VMFAULT_DEV : "VMFAULT_IOC_CONFIGURE");
			return -1;
		}
	}
	w->p = mmap(NULL, w->pages * w->ps, PROT_READ | (w->writes ? PROT_WRITE : 0),
		    MAP_SHARED, w->window ? w->mfd : w->fd, 0);
	if (w->p == MAP_FAILED) {
		perror("mmap");
		return -1;
	}
	return 0;
}

/* The walk itself, between the two rusage and clock samples. */
static int do_walk(struct walk *w, struct rusage *r0, struct rusage *r1, double *us_per_page)
{
	struct timespec t0, t1;

	getrusage(RUSAGE_SELF, r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (w->adv >= 0 && madvise(w->p, w->pages * w->ps, w->adv)) {
		perror("madvise");
		return -1;
	}
	for (unsigned long i = 0; i < w->pages; i++) {
		if (w->writes)
			*(volatile char *)(w->p + w->order[i] * w->ps) ^= 0xff;
		else
			(void)*(volatile char *)(w->p + w->order[i] * w->ps);
	}
	if (w->writes && msync(w->p, w->pages * w->ps, MS_SYNC)) {
		perror("msync");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, r1);
	*us_per_page = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 /
		       w->pages;
	return 0;
}

/* The one line of "key value" pairs. */
static void print_result(struct walk *w, const struct rusage *r0, const struct rusage *r1,
			 double us_per_page)
{
	struct vmfault_region_info info;

	if (w->window)
		printf("route vmfault window %ld fault_around %s async %s ", w->window,
		       w->cfg.flags & VMFAULT_FLAG_NO_FAULT_AROUND ? "off" : "on",
		       w->cfg.flags & VMFAULT_FLAG_ASYNC_PREFETCH ? "on" : "off");
	else
		printf("route page_cache ");
	printf("op %s pages %lu order %s advice %s minflt %ld majflt %ld us_per_page %.1f",
	       w->writes ? "write" : "read", w->pages, w->random ? "random" : "sequential",
	       w->advice, r1->ru_minflt - r0->ru_minflt, r1->ru_majflt - r0->ru_majflt,
	       us_per_page);
	if (*w->m.mnt)
		printf(" read_requests %llu read_bytes %llu",
		       (unsigned long long)vff_stat(&w->m, "read_requests"),
		       (unsigned long long)vff_stat(&w->m, "read_bytes"));
	if (*w->m.mnt && w->writes)
		printf(" write_requests %llu write_bytes %llu",
		       (unsigned long long)vff_stat(&w->m, "write_requests"),
		       (unsigned long long)vff_stat(&w->m, "write_bytes"));
	if (w->window && !vmf_info(w->mfd, &info))
		printf(" module_faults %llu module_major %llu file_reads %llu",
		       (unsigned long long)info.counters[VMFAULT_CNT_FAULTS],
		       (unsigned long long)info.counters[VMFAULT_CNT_MAJOR_FAULTS],
		       (unsigned long long)info.counters[VMFAULT_CNT_FILE_READS]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct walk w = {
		.advice = "normal", .adv = -1, .cfg = { .mode = VMFAULT_MODE_FILE },
		.ps = page_size(), .fd = -1, .mfd = -1,
	};
	struct rusage r0, r1;
	double us_per_page;

	parse_args(&w, argc, argv);
	if (open_and_map(&w) || make_order(&w))
		return 1;
	if (*w.m.mnt && vff_ctl(&w.m, "zero_stats")) {
		fprintf(stderr, "mmap_walk: %s/.vmfaultfs/ctl: %s\n", w.m.mnt, strerror(errno));
		return 1;
	}
	if (do_walk(&w, &r0, &r1, &us_per_page))
		return 1;
	print_result(&w, &r0, &r1, us_per_page);
	munmap(w.p, w.pages * w.ps);
	if (w.mfd >= 0)
		close(w.mfd);
	close(w.fd);
	free(w.order);
	return 0;
}
