// SPDX-License-Identifier: GPL-2.0
/*
 * tlb_target: zero-page replacements whose TLB flushes are counted
 * (selftests/lecture.sh, the demo). Maps PAGES pages of a /dev/vmfault
 * region MAP_PRIVATE, reads each (the zero page is mapped), starts
 * THREADS - 1 threads that spin, each pinned to a CPU other than the
 * first (round robin), then writes each page from the first CPU (pinned
 * there too): every write
 * replaces the zero page with a private copy, and the old translation must
 * leave every TLB that may hold it. For the writes the spinners are
 * SCHED_FIFO and running (spinners_fifo(), spinners_running()). Prints
 * "go" before the writes and "done" after, and waits for a line on stdin
 * before each, so that a tracer counts only the writes.
 *
 * USAGE: tlb_target THREADS PAGES
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

#include "vmfault_lib.h"

#define MAX_THREADS 16

static volatile int stop;
/* Loops of the spinners of each CPU (they run on CPUs 1 to MAX_THREADS - 1). */
static unsigned long ticks[MAX_THREADS];

/*
 * A spinner. On x86 its loop pauses as a spin-wait should, and QEMU's TCG
 * ends the vCPU's turn at a PAUSE: with both vCPUs on one host thread
 * (round robin) a spinning vCPU would otherwise keep it for its whole
 * 100 ms slice after each flush IPI, and the 256 writes would take 25 s.
 */
static void *spin(void *arg)
{
	int cpu = (int)(long)arg;

	pin_to_cpu(cpu);
	while (!stop) {
		__atomic_fetch_add(&ticks[cpu], 1, __ATOMIC_RELAXED);
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return NULL;
}

/* The CPU of spinner @i (1 to threads - 1): 1 to ncpus - 1, round robin. */
static int spinner_cpu(long i, long ncpus)
{
	return 1 + (i - 1) % (ncpus - 1);
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

/*
 * Make the spinners (t[1] to t[threads - 1]) SCHED_FIFO, or SCHED_OTHER
 * again. While they are real-time no other process runs on their CPUs, so
 * every write finds a thread of this process running there. A process that
 * ran there even for a moment would take the CPU out of the mm's cpumask
 * (x86), and the writes made meanwhile would need no IPI: a CI run
 * counted 101 IPIs of 256 so. Returns 0 or the first error (EPERM without
 * CAP_SYS_NICE), having tried every thread.
 */
static int spinners_fifo(pthread_t *t, long threads, bool fifo)
{
	struct sched_param sp = { .sched_priority = fifo ? 1 : 0 };
	int err = 0, e;
	long i;

	for (i = 1; i < threads; i++) {
		e = pthread_setschedparam(t[i], fifo ? SCHED_FIFO : SCHED_OTHER, &sp);
		if (e && !err)
			err = e;
	}
	return err;
}

/*
 * Wait (at most 10 s) until a spinner has run on each spinners' CPU since
 * they all became real-time: from then on one of them holds each such CPU.
 * The process that ran there before leaves only when that CPU reschedules,
 * which under TCG may be after many of the writes. Returns 0 or ETIMEDOUT.
 */
static int spinners_running(long threads, long ncpus)
{
	unsigned long seen[MAX_THREADS];
	uint64_t end = now_ns() + 10000000000ull;
	long i, waiting;
	int c;

	for (c = 0; c < MAX_THREADS; c++)
		seen[c] = __atomic_load_n(&ticks[c], __ATOMIC_RELAXED);
	do {
		waiting = 0;
		for (i = 1; i < threads; i++) {
			c = spinner_cpu(i, ncpus);
			waiting += __atomic_load_n(&ticks[c], __ATOMIC_RELAXED) == seen[c];
		}
		if (!waiting)
			return 0;
	} while (now_ns() < end);
	return ETIMEDOUT;
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
	pthread_t t[MAX_THREADS];
	uint64_t t0;
	char *p;
	int fd, err, e;

	if (argc != 3 || (threads = atol(argv[1])) < 1 || threads > MAX_THREADS ||
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
		if (pthread_create(&t[i], NULL, spin, (void *)(long)spinner_cpu(i, ncpus)))
			return 1;
	usleep(100000);		/* the spinners spread over the CPUs */
	printf("go\n");
	wait_line();
	err = threads > 1 ? spinners_fifo(t, threads, true) : 0;
	if (threads > 1 && !err)
		err = spinners_running(threads, ncpus);
	t0 = now_ns();
	for (i = 0; i < pages; i++)
		p[i * ps] = 1;
	t0 = now_ns() - t0;
	if (threads > 1 && (e = spinners_fifo(t, threads, false))) {
		fprintf(stderr, "tlb_target: SCHED_OTHER: %s\n", strerror(e));
		return 1;
	}
	printf("done %ld writes in %llu ms; ", pages,
	       (unsigned long long)(t0 / 1000000));
	if (threads > 1)
		printf("spinners %s; ", !err ? "SCHED_FIFO" :
		       err == ETIMEDOUT ? "not seen running in 10 s" : strerror(err));
	print_cpus();
	wait_line();
	stop = 1;
	for (i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
