// SPDX-License-Identifier: GPL-2.0
/*
 * trace_test: the module's tracepoints fire once per event the counters
 * count, with the documented fields.
 *
 * Uses a private tracefs instance, so it neither sees nor disturbs other
 * tracing. Needs tracefs at /sys/kernel/tracing (the dev VM mounts it).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vmfault_lib.h"
#include "kselftest_harness.h"

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/vmfault_selftest"

/* The events and the fields each must have. */
static const struct {
	const char *name;
	const char *fields[6];
} events[] = {
	{ "vmfault_fault", { "region;", "address;", "outcome;", "latency_ns;", " ip;", " cause;" } },
	{ "vmfault_zero_page_map", { "region;", "address;", "pgoff;", "pfn;" } },
	{ "vmfault_page_alloc", { "region;", "address;", "pgoff;", "pfn;" } },
	{ "vmfault_cow", { "region;", "address;", "pgoff;", "pfn;" } },
	{ "vmfault_sigbus", { "region;", "address;", "pgoff;", "size_pages;" } },
	{ "vmfault_demand_read", { "region;", "nr_pages;", "bytes;", "latency_ns;" } },
	{ "vmfault_writeback", { "region;", "nr_pages;", "bytes;", "latency_ns;" } },
};

/* Count lines of the trace that are event name for region id. */
static int count_events(const char *trace, const char *name, unsigned int id)
{
	char want[96], region[32];
	const char *p = trace;
	int n = 0;

	snprintf(want, sizeof(want), " %s: ", name);
	snprintf(region, sizeof(region), "region=%u ", id);
	while ((p = strstr(p, want))) {
		const char *eol = strchr(p, '\n');
		const char *r = strstr(p, region);

		if (r && (!eol || r < eol))
			n++;
		p += strlen(want);
	}
	return n;
}

/* The sum of field=N over the events name of region id. */
static long sum_field(const char *trace, const char *name, unsigned int id, const char *field)
{
	char want[96], region[32], key[32];
	const char *p = trace;
	long sum = 0;

	snprintf(want, sizeof(want), " %s: ", name);
	snprintf(region, sizeof(region), "region=%u ", id);
	snprintf(key, sizeof(key), " %s=", field);
	while ((p = strstr(p, want))) {
		const char *eol = strchr(p, '\n');
		const char *r = strstr(p, region), *f = strstr(p, key);

		if (r && f && (!eol || f < eol) && r < f)
			sum += atol(f + strlen(key));
		p += strlen(want);
	}
	return sum;
}

/*
 * Each test makes and removes a tracefs instance (a ring buffer per CPU)
 * and switches the vmfault events on and off, which patches kernel text
 * on every CPU: on the debug kernel under TCG, its vCPUs taking turns on
 * one host thread, that once took longer than the harness's default 30 s.
 * The tests get 180 s each.
 */
FIXTURE(trace) {
	int fd;
	long ps;
};

FIXTURE_SETUP(trace)
{
	self->ps = page_size();
	self->fd = vmf_open();
	ASSERT_GE(self->fd, 0)
		TH_LOG("open %s: %s (is the module loaded?)", VMFAULT_DEV, strerror(errno));
	rmdir(INSTANCE);
	ASSERT_EQ(mkdir(INSTANCE, 0755), 0) TH_LOG("tracefs instance: %s", strerror(errno));
}

FIXTURE_TEARDOWN(trace)
{
	close(self->fd);
	rmdir(INSTANCE);
}

/* Every event exists with its documented fields. */
TEST_F_TIMEOUT(trace, event_formats, 180)
{
	char path[256], *fmt;
	unsigned int i, j;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/vmfault/%s/format",
			 events[i].name);
		fmt = read_text(path);
		ASSERT_NE(fmt, NULL) TH_LOG("%s missing", path);
		for (j = 0; j < 6 && events[i].fields[j]; j++) {
			const char *field = events[i].fields[j];

			EXPECT_NE(strstr(fmt, field), NULL)
				TH_LOG("%s has no field %s", events[i].name, field);
		}
		free(fmt);
	}
}

/* A known workload: the events equal the region's counters, one for one. */
TEST_F_TIMEOUT(trace, events_match_counters, 180)
{
	long ps = self->ps;
	struct vmfault_region_info info;
	char *s, *p, *trace;
	int i, status;
	pid_t pid;

	ASSERT_EQ(vmf_configure(self->fd, VMFAULT_MODE_ZERO, 8 * ps), 0);
	ASSERT_EQ(write_file(INSTANCE "/events/vmfault/enable", "1"), 0);
	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "1"), 0);

	s = mmap(NULL, 10 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	p = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(s, MAP_FAILED);
	ASSERT_NE(p, MAP_FAILED);
	/*
	 * No zero page in this writable MAP_SHARED mapping: the reads
	 * allocate, and the first two writes are mkwrites.
	 */
	for (i = 0; i < 4; i++)
		touch_read(s + i * ps);		/* 4 pages allocated */
	for (i = 2; i < 6; i++)
		s[i * ps] = 1;			/* 2 mkwrites + 2 fresh pages */
	p[6 * ps] = 1;				/* a do_cow_fault copy of a hole */
	p[3 * ps] = 1;				/* ... and of a region page */
	pid = fork();
	if (pid == 0) {
		touch_read(s + 9 * ps);		/* SIGBUS */
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);

	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "0"), 0);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(trace, NULL);

	EXPECT_EQ(count_events(trace, "vmfault_fault", info.id),
		  info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(count_events(trace, "vmfault_zero_page_map", info.id),
		  info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS]);
	EXPECT_EQ(count_events(trace, "vmfault_page_alloc", info.id),
		  info.counters[VMFAULT_CNT_PAGES_ALLOCATED]);
	EXPECT_EQ(count_events(trace, "vmfault_cow", info.id),
		  info.counters[VMFAULT_CNT_COW_FAULTS]);
	EXPECT_EQ(count_events(trace, "vmfault_sigbus", info.id),
		  info.counters[VMFAULT_CNT_SIGBUS]);
	/* And the counters are what the workload must give. */
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS], 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED], 6);
	EXPECT_EQ(info.counters[VMFAULT_CNT_ZERO_PAGE_UPGRADES], 0);
	EXPECT_EQ(info.counters[VMFAULT_CNT_MKWRITES], 2);
	EXPECT_EQ(info.counters[VMFAULT_CNT_COW_FAULTS], 2);
	EXPECT_EQ(info.counters[VMFAULT_CNT_SIGBUS], 1);
	/* 4 reads, 2 mkwrites, 2 fresh writes, 2 COW, 1 SIGBUS. */
	EXPECT_EQ(info.counters[VMFAULT_CNT_FAULTS], 11);
	EXPECT_NE(strstr(trace, "outcome=mkwrite"), NULL);
	EXPECT_NE(strstr(trace, "outcome=cow"), NULL);
	EXPECT_EQ(strstr(trace, "latency_ns=0\n"), NULL);
	free(trace);
	munmap(s, 10 * ps);
	munmap(p, 8 * ps);
}

/*
 * File mode: one vmfault_demand_read per read of the backing file, one
 * vmfault_writeback per write, their bytes adding up to the counters'.
 * The backing file is a plain file on tmpfs (a buffered read).
 */
TEST_F_TIMEOUT(trace, file_events_match_counters, 180)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE, .window = 4 };
	char path[] = VMFAULT_SCRATCH "/vmfault-trace.XXXXXX", *buf, *trace, *s;
	struct vmfault_region_info info;
	long ps = self->ps;
	int bfd;

	bfd = mkstemp(path);
	ASSERT_LE(0, bfd);
	unlink(path);
	buf = malloc(8 * ps);
	ASSERT_NE(NULL, buf);
	memset(buf, 'T', 8 * ps);
	ASSERT_EQ(8 * ps, write(bfd, buf, 8 * ps));
	cfg.fd = bfd;
	ASSERT_EQ(0, ioctl(self->fd, VMFAULT_IOC_CONFIGURE, &cfg));
	ASSERT_EQ(write_file(INSTANCE "/events/vmfault/enable", "1"), 0);
	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "1"), 0);

	s = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(s, MAP_FAILED);
	touch_read(s);			/* reads pages 0-3 */
	touch_read(s + 5 * ps);		/* reads pages 5-7 */
	s[ps] = 'x';
	s[2 * ps] = 'y';
	EXPECT_EQ(0, msync(s, 8 * ps, MS_SYNC));	/* one run of 2 pages */

	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "0"), 0);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(trace, NULL);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(7, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_WRITEBACKS]);
	EXPECT_EQ(count_events(trace, "vmfault_demand_read", info.id),
		  info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(sum_field(trace, "vmfault_demand_read", info.id, "bytes"),
		  info.counters[VMFAULT_CNT_BYTES_READ]);
	EXPECT_EQ(sum_field(trace, "vmfault_demand_read", info.id, "nr_pages"),
		  info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(count_events(trace, "vmfault_writeback", info.id),
		  info.counters[VMFAULT_CNT_WRITEBACKS]);
	EXPECT_EQ(sum_field(trace, "vmfault_writeback", info.id, "bytes"),
		  info.counters[VMFAULT_CNT_BYTES_WRITTEN]);
	EXPECT_EQ(count_events(trace, "vmfault_fault", info.id),
		  info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_NE(strstr(trace, "outcome=read"), NULL);
	EXPECT_EQ(pread(bfd, buf, 8 * ps, 0), 8 * ps);
	EXPECT_EQ('x', buf[ps]);
	EXPECT_EQ('y', buf[2 * ps]);
	free(trace);
	free(buf);
	munmap(s, 8 * ps);
	close(bfd);
}

VMFAULT_TEST_MAIN
