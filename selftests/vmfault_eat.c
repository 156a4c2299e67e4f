// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault_eat: the lectures' cost model checked against a measured workload.
 *
 *   EAT = (1 - p) t_mem + p t_fault
 *
 * A workload makes n accesses. k = p * n of them, chosen at random (seeded),
 * read a page of a file on vmfaultfs that was never read before: a major
 * fault, one READ from the "disk" with the injected delay. The others are
 * dependent 8-byte loads at random in a resident 64 MiB buffer (cache and
 * TLB misses natively). Per trial, calibration runs of the same loop
 * measure the model's parameters: t_fault (k faults back to back) and,
 * just before each mixed run, t_mem (its n loads, no fault). The model
 * then predicts the mixed run's slowdown, (1 - p) + p * t_fault / t_mem,
 * and the program measures it, T / (n * t_mem), for every p asked for.
 * The workload is pinned to one CPU; the daemon is not.
 *
 * Every timed run's counts are checked exactly: k major faults (ru_majflt),
 * no minor fault, k READs at the daemon, and with the module its region's
 * major_faults counter; a run that does not fault as planned is an error,
 * never a figure.
 *
 * The faulting memory is either the file's page cache (mmap of the FUSE
 * file, readahead off and MADV_RANDOM: no module needed, so it runs
 * natively too) or a vmfault file-mode region over the same file with a
 * window of one page (needs /dev/vmfault; devtools/bench runs it in the dev
 * VM under -icount shift=0, where a guest nanosecond is one instruction and
 * the daemon's sleep runs in real time), or such a region with a budget of
 * 16 frames (vmfault-evict): once full, every fault also evicts a page.
 *
 * USAGE: vmfault_eat [-d US[,US...]] [-p P[,P...]] [-k FAULTS] [-t TRIALS]
 *                    [--native] [--check]
 *   -d     READ delays in microseconds (default 1000,10000)
 *   -p     fault probabilities (default 1e-4,1e-3,1e-2,1e-1)
 *   -k     faults per timed run (default 100)
 *   -t     trials; each figure is the median (default 3)
 *   --native  the page cache only (no module)
 *   --check   a small run whose counts are checked and whose times are
 *             not judged (selftests/lecture_test)
 *
 * Output, one tab-separated line per (memory, delay, p); '#' lines say the
 * conditions:
 *
 *   memory delay_us p n k majflt reads t_mem_ns t_fault_ns predicted measured error
 *
 * (majflt and reads: the counts of the last trial's run at that p.)
 *
 * It exits 0 when every prediction is within 10% of the measured slowdown
 * (or, with --check, when every count is exact), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "vmfaultfs_lib.h"

#define MAX_LIST	16
#define MAX_TRIALS	15
#define BUF_LEN		(64UL << 20)	/* the resident memory of t_mem */
#define CHECK_BUF_LEN	(1UL << 20)	/* ...with --check, which times nothing */
#define FILE_LEN	(64UL << 20)	/* every fault reads a page never read */
#define TOLERANCE	0.10

static long ps;
static struct vff_mount mnt;
static uint64_t *buf;			/* one random cycle of slot indices */
static size_t buf_len = BUF_LEN;
static size_t next_page;		/* the first file page no run has read */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmfault_eat: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (mnt.pid)
		vff_umount(&mnt);
	exit(1);
}

/* xorshift64*: the same fault positions on every run and machine. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int parse_list(char *arg, double *v, double lo, double hi)
{
	char *tok, *save = NULL, *end;
	int n = 0;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_LIST)
			die("at most %d values in a list", MAX_LIST);
		errno = 0;
		v[n] = strtod(tok, &end);
		if (errno || *end || end == tok || !(v[n] >= lo && v[n] <= hi))
			die("'%s' is not a number from %g to %g", tok, lo, hi);
		n++;
	}
	return n;
}

/*
 * The faulting memory: the page cache of the FUSE file, or a vmfault
 * region over it; with @frames, a region with a budget of that many
 * frames, full after its first faults, so that every fault also evicts
 * (FIFO; the victims are clean: no WRITE), the lecture's paging with
 * replacement.
 */
struct memory {
	const char *name;
	bool vmfault;
	uint32_t frames;
	int fd;			/* the file */
	int region;		/* /dev/vmfault, or -1 */
	char *map;		/* all of the file */
};

static void memory_open(struct memory *m)
{
	m->fd = open(vff_path(&mnt, false, "disk"), O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		die("open the vmfaultfs file: %s", strerror(errno));
	m->region = -1;
	if (m->vmfault) {
		struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE, .fd = m->fd,
					      .window = 1 };

		m->region = vmf_open();
		if (m->region < 0)
			die("open %s: %s (is the module loaded? --native runs without it)",
			    VMFAULT_DEV, strerror(errno));
		if (ioctl(m->region, VMFAULT_IOC_CONFIGURE, &cfg))
			die("configure a file-mode region: %s", strerror(errno));
		if (m->frames) {
			struct vmfault_frames fr = { .frames = m->frames,
						     .policy = VMFAULT_POLICY_FIFO };

			if (ioctl(m->region, VMFAULT_IOC_SET_FRAMES, &fr))
				die("a budget of %u frames: %s", m->frames, strerror(errno));
		}
	}
	m->map = mmap(NULL, FILE_LEN, PROT_READ, MAP_SHARED,
		      m->vmfault ? m->region : m->fd, 0);
	if (m->map == MAP_FAILED)
		die("mmap %s: %s", m->name, strerror(errno));
	/* One READ per fault: no readahead (the mount's is off), no fault-around I/O. */
	if (!m->vmfault && madvise(m->map, FILE_LEN, MADV_RANDOM))
		die("MADV_RANDOM: %s", strerror(errno));
}

static void memory_close(struct memory *m)
{
	munmap(m->map, FILE_LEN);
	if (m->region >= 0)
		close(m->region);
	close(m->fd);
}

/* What one run of the workload measured. */
struct run {
	uint64_t ns;
	long major;		/* ru_majflt */
	uint64_t reads;		/* READs at the daemon */
};

/*
 * The workload: @n accesses, the ones at @pos[0..k) (ascending) read the
 * next fresh file page, the others load from @buf. Dies unless it took
 * exactly k major faults (and with the module, k in its region's counter),
 * k READs and no minor fault, and read the file's data.
 */
static struct run workload(struct memory *m, const uint64_t *pos, size_t k, size_t n)
{
	size_t i, j = 0, next = k ? pos[0] : n, first = next_page;
	uint64_t x = 0, sum = 0, t0, t1, region_major = 0;
	struct rusage r0, r1;
	struct run r;

	if (first + k > FILE_LEN / ps)
		die("the file has no fresh page left: fewer trials, faults or probabilities");
	next_page += k;
	r.reads = vff_stat(&mnt, "read_requests");
	if (m->vmfault)
		region_major = vmf_counter(m->region, VMFAULT_CNT_MAJOR_FAULTS);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (i == next) {
			sum += ((volatile char *)m->map)[(first + j) * ps];
			next = ++j < k ? pos[j] : n;
		} else {
			x = buf[x];
		}
	}
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &r1);
	r.ns = t1 - t0 + (x == ~0ULL);
	r.major = r1.ru_majflt - r0.ru_majflt;
	r.reads = vff_stat(&mnt, "read_requests") - r.reads;
	if (m->vmfault)
		region_major = vmf_counter(m->region, VMFAULT_CNT_MAJOR_FAULTS) - region_major;
	if ((size_t)r.major != k || r1.ru_minflt != r0.ru_minflt || r.reads != k ||
	    (m->vmfault && region_major != k))
		die("%s: %zu accesses, %zu planned faults: %ld major and %ld minor faults, %llu READs, %llu in the region's major_faults",
		    m->name, n, k, r.major, r1.ru_minflt - r0.ru_minflt,
		    (unsigned long long)r.reads, (unsigned long long)region_major);
	/* The fresh pages hold what vff_make_file() wrote. */
	if (sum != k * (uint64_t)'e')
		die("%s: the faulted pages do not hold the file's data", m->name);
	return r;
}

/* k distinct positions out of n, ascending (Floyd's sampling, then a sort). */
static void positions(uint64_t *pos, size_t k, size_t n, uint64_t seed)
{
	uint8_t *hit = calloc((n + 7) / 8, 1);
	size_t i, j;

	if (!hit)
		die("out of memory");
	for (i = n - k; i < n; i++) {
		size_t t = rnd(&seed) % (i + 1);

		if (hit[t / 8] & (1 << (t % 8)))
			t = i;
		hit[t / 8] |= 1 << (t % 8);
	}
	for (i = 0, j = 0; i < n; i++)
		if (hit[i / 8] & (1 << (i % 8)))
			pos[j++] = i;
	free(hit);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One delay on one memory: per trial, t_fault, then for each p the loads
 * alone (t_mem, over the same n) and at once the mixed run, so that the
 * two see the machine in the same state. Prints a line per p; returns how
 * many predictions missed.
 */
static int run_delay(struct memory *m, double delay, const double *p, int np,
		     size_t k, int trials, bool check)
{
	double tmem[MAX_LIST][MAX_TRIALS], tfault[MAX_TRIALS], meas[MAX_LIST][MAX_TRIALS];
	struct run last[MAX_LIST];
	uint64_t *pos, *all;
	int t, q, missed = 0;
	char cmd[64];
	size_t i;

	snprintf(cmd, sizeof(cmd), "read_delay_us %.0f", delay);
	if (vff_ctl(&mnt, cmd))
		die("vmfaultfs: '%s' failed", cmd);
	pos = malloc(k * sizeof(*pos));
	all = malloc(k * sizeof(*all));
	if (!pos || !all)
		die("out of memory");
	for (i = 0; i < k; i++)
		all[i] = i;
	for (t = 0; t < trials; t++) {
		tfault[t] = (double)workload(m, all, k, k).ns / k;
		for (q = 0; q < np; q++) {
			size_t n = llround(k / p[q]);

			tmem[q][t] = (double)workload(m, NULL, 0, n).ns / n;
			positions(pos, k, n, 0x5eed0000 + q);
			last[q] = workload(m, pos, k, n);
			meas[q][t] = (double)last[q].ns / n;
		}
	}
	for (q = 0; q < np; q++) {
		size_t n = llround(k / p[q]);
		double mem = median(tmem[q], trials), fault = median(tfault, trials);
		double pe = (double)k / n;
		double pred = 1 - pe + pe * fault / mem;
		double got = median(meas[q], trials) / mem;
		double err = got / pred - 1;
		bool ok = fabs(err) <= TOLERANCE;

		printf("%s\t%.0f\t%g\t%zu\t%zu\t%ld\t%llu\t%.1f\t%.0f\t%.3f\t%.3f\t%+.1f%%%s\n",
		       m->name, delay, p[q], n, k, last[q].major, (unsigned long long)last[q].reads,
		       mem, fault, pred, got, 100 * err,
		       check || ok ? "" : "\t# off by more than 10%");
		missed += !check && !ok;
	}
	free(pos);
	free(all);
	return missed;
}

/* One random cycle through buf_len / 8 slots, so that each load depends on the last. */
static void make_buffer(void)
{
	size_t slots = buf_len / sizeof(uint64_t), i;
	uint64_t seed = 42;

	buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap %zu MiB: %s", buf_len >> 20, strerror(errno));
	/* Sattolo's shuffle of the identity: a single cycle. */
	for (i = 0; i < slots; i++)
		buf[i] = i;
	for (i = slots - 1; i > 0; i--) {
		size_t j = rnd(&seed) % i;
		uint64_t tmp = buf[i];

		buf[i] = buf[j];
		buf[j] = tmp;
	}
}

int main(int argc, char **argv)
{
	double delays[MAX_LIST] = { 1000, 10000 }, p[MAX_LIST] = { 1e-4, 1e-3, 1e-2, 1e-1 };
	int nd = 2, np = 4, trials = 3, a, d, missed = 0, m, nmem;
	bool native = false, check = false;
	struct memory mems[3] = { { .name = "pagecache" }, { .name = "vmfault", .vmfault = true },
				  { .name = "vmfault-evict", .vmfault = true, .frames = 16 } };
	size_t k = 100;
	struct utsname u;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-d") && a + 1 < argc)
			nd = parse_list(argv[++a], delays, 0, 1e6);
		else if (!strcmp(argv[a], "-p") && a + 1 < argc)
			np = parse_list(argv[++a], p, 1e-7, 1);
		else if (!strcmp(argv[a], "-k") && a + 1 < argc)
			k = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "-t") && a + 1 < argc)
			trials = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--native"))
			native = true;
		else if (!strcmp(argv[a], "--check"))
			check = true;
		else
			die("usage: %s [-d US,...] [-p P,...] [-k FAULTS] [-t TRIALS] [--native] [--check]",
			    argv[0]);
	}
	if (trials < 1 || trials > MAX_TRIALS || k < 1 || k > 10000)
		die("-t is 1 to %d, -k 1 to 10000", MAX_TRIALS);
	ps = page_size();
	nmem = native ? 1 : 3;
	/* The fresh pages every run reads, against the file's. */
	if ((size_t)nmem * nd * trials * k * (np + 1) > FILE_LEN / ps)
		die("%d memories x %d delays x %d trials x %zu faults x %d runs exceed the file's %lu pages",
		    nmem, nd, trials, k, np + 1, FILE_LEN / ps);
	/* 4 KiB pages, so that t_mem's buffer misses the TLB as the lecture's memory does. */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("PR_SET_THP_DISABLE: %s", strerror(errno));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (check)
		buf_len = CHECK_BUF_LEN;	/* a 64 MiB shuffle takes long under TCG */
	make_buffer();
	if (vff_mount(&mnt, NULL))
		die("cannot mount vmfaultfs (fuse3 and root are needed)");
	/*
	 * The workload on one CPU (the daemon, started above, is free): a
	 * wakeup on the other CPU would find its caches cold, a cost of
	 * migration rather than of the fault.
	 */
	pin_to_this_cpu();
	if (vff_set_readahead_kb(&mnt, 0))
		die("cannot turn the mount's readahead off: %s", strerror(errno));
	if (vff_make_file(&mnt, "disk", FILE_LEN, 'e'))
		die("cannot create the file");
	uname(&u);
	printf("# %s %s, %ld CPU, %s\n", u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
	       native ? "native" : "CLOCK_MONOTONIC (under -icount: 1 ns = 1 instruction)");
	printf("# t_mem: a dependent load at random in %zu MiB\n", buf_len >> 20);
	printf("# t_fault: a major fault, one 4 KiB READ from vmfaultfs (vmfault-evict: and the\n"
	       "# eviction of a clean page, a budget of 16 frames being full)\n");
	printf("# %zu faults per run; medians of %d trials\n", k, trials);
	printf("# predicted (1-p) + p t_fault/t_mem; measured T / (n t_mem)\n");
	printf("# memory\tdelay_us\tp\tn\tk\tmajflt\treads\tt_mem_ns\tt_fault_ns\tpredicted\tmeasured\terror\n");
	for (m = 0; m < nmem; m++) {
		memory_open(&mems[m]);
		for (d = 0; d < nd; d++)
			missed += run_delay(&mems[m], delays[d], p, np, k, trials, check);
		memory_close(&mems[m]);
	}
	vff_ctl(&mnt, "read_delay_us 0");
	if (vff_umount(&mnt))
		die("umount failed");
	printf("# %s\n", check ? "every run faulted exactly as planned" :
	       missed ? "some predictions are off by more than 10%" :
	       "every prediction within 10% of the measured slowdown");
	return missed ? 1 : 0;
}
