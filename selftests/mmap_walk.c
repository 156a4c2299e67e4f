// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_walk: map a file and read one byte of every page, the way a program
 * scans a memory-mapped file, and report what it cost: minor and major
 * faults (as /usr/bin/time -v reports them), time per page, and, when the
 * file is on vmfaultfs, the READ requests and bytes the daemon served.
 *
 * USAGE: mmap_walk [-r] [-a ADVICE] [-p PAGES] [-s MOUNT] [-w WINDOW [-F]] FILE
 *   -r         touch the pages in a random order (fixed seed)
 *   -a ADVICE  normal, random, sequential or willneed (madvise)
 *   -p PAGES   walk only the first PAGES pages
 *   -s MOUNT   the vmfaultfs mount FILE lives on: reset and read its stats
 *   -w WINDOW  map FILE through /dev/vmfault (file mode, this prefetch
 *              window) instead of directly (the page cache, filemap_fault)
 *   -F         with -w: no fault-around (VMFAULT_FLAG_NO_FAULT_AROUND)
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
		"[-p PAGES] [-s MOUNT] [-w WINDOW [-F]] [-W] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int advice; } advices[] = {
		{ "normal", MADV_NORMAL }, { "random", MADV_RANDOM },
		{ "sequential", MADV_SEQUENTIAL }, { "willneed", MADV_WILLNEED },
	};
	struct vfs_mount m = { 0 };
	const char *advice = "normal";
	unsigned long pages = 0, *order;
	struct rusage r0, r1;
	struct timespec t0, t1;
	bool random = false, writes = false;
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE };
	struct vmfault_region_info info;
	int adv = -1, opt, fd, mfd = -1;
	long window = 0;
	long ps = page_size();
	unsigned int seed = 42;
	struct stat st;
	char *p;

	while ((opt = getopt(argc, argv, "ra:p:s:w:FW")) != -1) {
		switch (opt) {
		case 'r':
			random = true;
			break;
		case 'a':
			advice = optarg;
			for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++)
				if (!strcmp(optarg, advices[i].name))
					adv = advices[i].advice;
			if (adv < 0)
				usage();
			break;
		case 'p':
			pages = strtoul(optarg, NULL, 0);
			break;
		case 's':
			snprintf(m.mnt, sizeof(m.mnt), "%s", optarg);
			break;
		case 'w':
			window = strtol(optarg, NULL, 0);
			if (window < 1 || window > VMFAULT_MAX_WINDOW)
				usage();
			break;
		case 'F':
			cfg.flags |= VMFAULT_FLAG_NO_FAULT_AROUND;
			break;
		case 'W':
			writes = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	fd = open(argv[optind], writes ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[optind]);
		return 1;
	}
	if (!pages || pages > (unsigned long)(st.st_size + ps - 1) / ps)
		pages = (st.st_size + ps - 1) / ps;
	if (!pages) {
		fprintf(stderr, "mmap_walk: %s is empty\n", argv[optind]);
		return 1;
	}
	order = malloc(pages * sizeof(*order));
	if (!order)
		return 1;
	for (unsigned long i = 0; i < pages; i++)
		order[i] = i;
	for (unsigned long i = pages - 1; random && i > 0; i--) {
		unsigned long j = rand_r(&seed) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (window) {
		mfd = vmf_open();
		cfg.fd = fd;
		cfg.window = window;
		if (mfd < 0 || ioctl(mfd, VMFAULT_IOC_CONFIGURE, &cfg)) {
			perror(mfd < 0 ? VMFAULT_DEV : "VMFAULT_IOC_CONFIGURE");
			return 1;
		}
	}
	p = mmap(NULL, pages * ps, PROT_READ | (writes ? PROT_WRITE : 0), MAP_SHARED,
		 window ? mfd : fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (*m.mnt && vfs_ctl(&m, "zero_stats")) {
		fprintf(stderr, "mmap_walk: %s/.vmfaultfs/ctl: %s\n", m.mnt, strerror(errno));
		return 1;
	}
	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (adv >= 0 && madvise(p, pages * ps, adv)) {
		perror("madvise");
		return 1;
	}
	for (unsigned long i = 0; i < pages; i++) {
		if (writes)
			*(volatile char *)(p + order[i] * ps) ^= 0xff;
		else
			(void)*(volatile char *)(p + order[i] * ps);
	}
	if (writes && msync(p, pages * ps, MS_SYNC)) {
		perror("msync");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);

	if (window)
		printf("route vmfault window %ld fault_around %s ", window,
		       cfg.flags & VMFAULT_FLAG_NO_FAULT_AROUND ? "off" : "on");
	else
		printf("route page_cache ");
	printf("op %s pages %lu order %s advice %s minflt %ld majflt %ld us_per_page %.1f",
	       writes ? "write" : "read", pages, random ? "random" : "sequential", advice,
	       r1.ru_minflt - r0.ru_minflt, r1.ru_majflt - r0.ru_majflt,
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / pages);
	if (*m.mnt)
		printf(" read_requests %llu read_bytes %llu",
		       (unsigned long long)vfs_stat(&m, "read_requests"),
		       (unsigned long long)vfs_stat(&m, "read_bytes"));
	if (*m.mnt && writes)
		printf(" write_requests %llu write_bytes %llu",
		       (unsigned long long)vfs_stat(&m, "write_requests"),
		       (unsigned long long)vfs_stat(&m, "write_bytes"));
	if (window && !vmf_info(mfd, &info))
		printf(" module_faults %llu module_major %llu file_reads %llu",
		       (unsigned long long)info.counters[VMFAULT_CNT_FAULTS],
		       (unsigned long long)info.counters[VMFAULT_CNT_MAJOR_FAULTS],
		       (unsigned long long)info.counters[VMFAULT_CNT_FILE_READS]);
	printf("\n");
	munmap(p, pages * ps);
	if (mfd >= 0)
		close(mfd);
	close(fd);
	free(order);
	return 0;
}
