// SPDX-License-Identifier: GPL-2.0
/*
 * tlb_target: zero-page replacements whose TLB flushes are counted
 * (selftests/lecture.sh, the demo). Maps PAGES pages of a /dev/vmfault
 * region MAP_PRIVATE, reads each (the zero page is mapped), starts
 * THREADS - 1 threads that spin, each pinned to a CPU other than the
 * first (round robin), then writes each page from the first CPU (pinned
 * there too): every write
 * replaces the zero page with a private copy, and the old translation must
 * leave every TLB that may hold it. Prints "go" before the writes and
 * "done" after, and waits for a line on stdin before each, so that a
 * tracer counts only the writes.
 *
 * USAGE: tlb_target THREADS PAGES
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

#include "vmfault_lib.h"

static volatile int stop;

static void *spin(void *arg)
{
	pin_to_cpu((int)(long)arg);
	while (!stop)
		__asm__ __volatile__("" ::: "memory");
	return NULL;
}

/* The CPU each thread of this process last ran on (/proc/self/task). */
static void print_cpus(void)
{
	char path[300], buf[1024], *s;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int i;

	printf("threads on CPUs:");
	while (dir && (d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (s = strrchr(buf, ')'))) {
			/* field 39, processor: the 37th after the comm's ')' */
			for (i = 0; i < 37 && s; i++)
				s = strchr(s + 1, ' ');
			if (s)
				printf(" %d", atoi(s + 1));
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	printf("\n");
}

static void wait_line(void)
{
	char c;

	while (read(0, &c, 1) == 1 && c != '\n')
		;
}

int main(int argc, char **argv)
{
	long ps = page_size(), threads, pages, ncpus, i;
	pthread_t t[16];
	char *p;
	int fd;

	if (argc != 3 || (threads = atol(argv[1])) < 1 || threads > 16 ||
	    (pages = atol(argv[2])) < 1 || pages > 65536) {
		fprintf(stderr, "usage: tlb_target THREADS(1-16) PAGES(1-65536)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = vmf_open();
	if (fd < 0 || vmf_configure(fd, VMFAULT_MODE_ZERO, pages * ps)) {
		perror("tlb_target: " VMFAULT_DEV);
		return 1;
	}
	p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < pages; i++)
		touch_read(p + i * ps);
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (threads > 1 && ncpus < 2) {
		fprintf(stderr, "tlb_target: %ld threads need 2 CPUs\n", threads);
		return 1;
	}
	pin_to_cpu(0);
	for (i = 1; i < threads; i++)
		if (pthread_create(&t[i], NULL, spin, (void *)(1 + (i - 1) % (ncpus - 1))))
			return 1;
	usleep(100000);		/* the spinners spread over the CPUs */
	printf("go\n");
	wait_line();
	for (i = 0; i < pages; i++)
		p[i * ps] = 1;
	printf("done %ld writes; ", pages);
	print_cpus();
	wait_line();
	stop = 1;
	for (i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
