// SPDX-License-Identifier: GPL-2.0
/*
 * fault_rate: the cost of each kind of page fault on this machine.
 *
 * USAGE: fault_rate [PAGES]
 *
 * For each kind, touches PAGES (default 2048) fresh pages once, one fault
 * each, and prints one line:
 *   "kind K faults N ns_per_fault T faults_per_s R vs_anon_read X"
 * N is what getrusage() counted (it must equal PAGES: the program exits 1
 * otherwise), T the mean wall time per fault, X the ratio to the first
 * kind. The kinds, in the order of the lectures:
 *   anon_read      read of anonymous memory: the shared zero page
 *   anon_write     write of anonymous memory: a new zeroed page
 *   cow_fork       write after fork(): wp_page_copy() copies the page
 *   vmf_read       read of a MAP_PRIVATE vmfault region: its ->fault maps
 *                  the zero page
 *   vmf_write      write of a MAP_SHARED vmfault region: ->fault allocates
 *                  a region page
 *   vmf_cow        write of a MAP_PRIVATE vmfault region: do_cow_fault()
 *   vmf_file       read of a file-mode region (window 1, no fault-around,
 *                  backing file on tmpfs): a demand read per fault
 * Under TCG the absolute figures are the emulator's, not the hardware's;
 * the ratios travel better (../Documentation/vmfault.rst).
 */
#define _GNU_SOURCE
#include <sys/wait.h>
#include <time.h>

#include "vmfault_lib.h"

static long ps, pages;
static double base_ns;

/*
 * Fault in what measure() itself touches: the vDSO's data page (first
 * clock_gettime()) and the stack (after fork() it is COW).
 */
static void warm_up(void)
{
	warm_stack();
	now_ns();
}

/* Touch every page of p once (read or write); report; 0 if exact. */
static int measure(const char *kind, char *p, bool write)
{
	long f0, f1, i;
	uint64_t t0, t1;
	double ns;

	f0 = rusage_faults();
	t0 = now_ns();
	for (i = 0; i < pages; i++) {
		if (write)
			p[i * ps] = 1;
		else
			touch_read(p + i * ps);
	}
	t1 = now_ns();
	f1 = rusage_faults();
	ns = (double)(t1 - t0) / pages;
	if (base_ns == 0)
		base_ns = ns;
	printf("kind %-10s faults %ld ns_per_fault %.0f faults_per_s %.0f vs_anon_read %.2f\n",
	       kind, f1 - f0, ns, 1e9 / ns, ns / base_ns);
	fflush(stdout);
	if (f1 - f0 != pages) {
		fprintf(stderr, "fault_rate: %s: %ld faults for %ld pages\n", kind, f1 - f0, pages);
		return 1;
	}
	return 0;
}

static char *map_anon(void)
{
	char *p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("fault_rate: mmap");
		exit(1);
	}
	/* One fault per page: no transparent huge pages. */
	madvise(p, pages * ps, MADV_NOHUGEPAGE);
	return p;
}

static char *map_region(int flags, struct vmfault_config *cfg)
{
	int fd = vmf_open();
	char *p;

	if (fd < 0) {
		perror("fault_rate: open " VMFAULT_DEV " (is the module loaded?)");
		exit(1);
	}
	if (cfg && ioctl(fd, VMFAULT_IOC_CONFIGURE, cfg)) {
		perror("fault_rate: VMFAULT_IOC_CONFIGURE");
		exit(1);
	}
	p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED) {
		perror("fault_rate: mmap of the region");
		exit(1);
	}
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE, .window = 1,
				      .flags = VMFAULT_FLAG_NO_FAULT_AROUND };
	char path[] = VMFAULT_SCRATCH "/fault_rate.XXXXXX";
	int bad = 0, status, fd;
	char *p;
	pid_t pid;

	ps = page_size();
	pages = argc > 1 ? atol(argv[1]) : 2048;
	if (pages < 1) {
		fprintf(stderr, "usage: fault_rate [PAGES]\n");
		return 2;
	}
	printf("# fault_rate: %ld pages per kind, page size %ld\n", pages, ps);
	pin_to_this_cpu();
	warm_up();

	bad |= measure("anon_read", map_anon(), false);
	bad |= measure("anon_write", map_anon(), true);

	/* The child writes pages its parent wrote before fork(). */
	p = map_anon();
	memset(p, 1, pages * ps);
	pid = fork();
	if (pid == 0) {
		warm_up();
		_exit(measure("cow_fork", p, true));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bad = 1;

	bad |= measure("vmf_read", map_region(MAP_PRIVATE, NULL), false);
	bad |= measure("vmf_write", map_region(MAP_SHARED, NULL), true);
	bad |= measure("vmf_cow", map_region(MAP_PRIVATE, NULL), true);

	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, pages * ps)) {
		perror("fault_rate: backing file");
		return 1;
	}
	unlink(path);
	cfg.fd = fd;
	bad |= measure("vmf_file", map_region(MAP_SHARED, &cfg), false);
	close(fd);
	return bad;
}
