// SPDX-License-Identifier: GPL-2.0
/*
 * fault_workload: a known page-fault workload for the tracing smoke tests.
 *
 * USAGE: fault_workload [PAGES]
 *
 * A child touches PAGES (default 512) pages: half anonymous (written),
 * half of a /dev/vmfault region when the device is there (read, then
 * written), and exits. The parent prints the child's fault counts as the
 * kernel reports them to wait4(), for a tracer to be compared against:
 *   "pid P minflt N majflt M"
 * The child makes no system call that faults through GUP, so every one of
 * its faults is a trap that perf's software events see too.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "vmfault_lib.h"

int main(int argc, char **argv)
{
	long ps = page_size(), pages = argc > 1 ? atol(argv[1]) : 512, i;
	struct rusage ru;
	char *anon, *vm = NULL;
	int fd = vmf_open(), status;
	pid_t pid;

	if (pages < 2)
		pages = 512;
	anon = mmap(NULL, pages / 2 * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return 1;
	if (fd >= 0) {
		vm = mmap(NULL, pages / 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (vm == MAP_FAILED)
			return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (i = 0; i < pages / 2; i++)
			anon[i * ps] = 1;
		for (i = 0; vm && i < pages / 2; i++) {
			touch_read(vm + i * ps);
			vm[i * ps] = 1;
		}
		_exit(0);
	}
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status))
		return 1;
	printf("pid %d minflt %ld majflt %ld\n", pid, ru.ru_minflt, ru.ru_majflt);
	return 0;
}
