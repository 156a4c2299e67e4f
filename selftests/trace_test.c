// SPDX-License-Identifier: GPL-2.0
/*
 * trace_test: the module's tracepoints fire once per event the counters
 * count, with the documented fields; on kernels with the per-VMA lock,
 * zero mode's faults run under it.
 *
 * Uses a private tracefs instance, so it neither sees nor disturbs other
 * tracing. Needs tracefs at /sys/kernel/tracing (the dev VM mounts it).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pager_lib.h"
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
	{ "vmfault_pager_event", { "region;", "address;", "pgoff;", "flags;", "tid;" } },
	{ "vmfault_pager_answer", { "region;", " op;", "nr_pages;", "done;", "err;", "woken;" } },
};

/*
 * The next line of @trace from *@pos that is event @name of region @id:
 * the text after "name: ", its length to the end of the line in *@len;
 * NULL when there is none. *@pos moves past it.
 */
static const char *next_event(const char **pos, const char *name, unsigned int id, size_t *len)
{
	char want[96], region[32];
	const char *p;

	snprintf(want, sizeof(want), " %s: ", name);
	snprintf(region, sizeof(region), "region=%u ", id);
	while ((p = strstr(*pos, want))) {
		const char *eol = strchr(p, '\n');

		p += strlen(want);
		*len = eol ? (size_t)(eol - p) : strlen(p);
		*pos = p + *len;
		if (memmem(p, *len, region, strlen(region)))
			return p;
	}
	return NULL;
}

/* Where " key=" is in the event text @ev of @len bytes, just after it; or NULL. */
static const char *event_field(const char *ev, size_t len, const char *key)
{
	char k[32];
	const char *f;

	snprintf(k, sizeof(k), " %s=", key);
	f = memmem(ev, len, k, strlen(k));
	return f ? f + strlen(k) : NULL;
}

/* Count lines of the trace that are event name for region id. */
static int count_events(const char *trace, const char *name, unsigned int id)
{
	const char *pos = trace;
	size_t len;
	int n = 0;

	while (next_event(&pos, name, id, &len))
		n++;
	return n;
}

/* The sum of field=N over the events name of region id. */
static long sum_field(const char *trace, const char *name, unsigned int id, const char *field)
{
	const char *pos = trace, *ev, *f;
	long sum = 0;
	size_t len;

	while ((ev = next_event(&pos, name, id, &len)))
		if ((f = event_field(ev, len, field)))
			sum += atol(f);
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

/* Pager mode: one event per waiting fault, one per answer; the faults' outcome is pager. */
TEST_F_TIMEOUT(trace, pager_events_match_counters, 180)
{
	struct vmfault_pager_info pi = {};
	struct vmfault_region_info info;
	struct vmfault_pager_event ev;
	long ps = self->ps;
	int pager, status;
	char *s, *trace;
	pid_t pid;

	ASSERT_EQ(0, vmf_configure(self->fd, VMFAULT_MODE_PAGER, 2 * ps));
	pager = ioctl(self->fd, VMFAULT_IOC_PAGER_OPEN, O_CLOEXEC);
	ASSERT_LE(0, pager);
	s = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(s, MAP_FAILED);
	ASSERT_EQ(write_file(INSTANCE "/events/vmfault/enable", "1"), 0);
	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "1"), 0);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		touch_read(s);		/* a read miss */
		s[ps] = 'w';		/* a write miss */
		_exit(0);
	}
	ASSERT_EQ(0, pager_next(pager, &ev, 10000));
	EXPECT_EQ(0, ev.flags);
	ASSERT_EQ(0, pager_answer(pager, VMFAULT_PAGER_IOC_SUPPLY, 0, ps, NULL, 0, NULL));
	ASSERT_EQ(0, pager_next(pager, &ev, 10000));
	EXPECT_EQ(VMFAULT_PAGER_EVENT_WRITE, ev.flags);
	ASSERT_EQ(0, pager_answer(pager, VMFAULT_PAGER_IOC_ZEROPAGE, ps, ps, NULL, 0, NULL));
	ASSERT_EQ(0, reap_child(pid, &status, 10000));
	EXPECT_EQ(0, status);
	ASSERT_EQ(0, pager_answer(pager, VMFAULT_PAGER_IOC_PROTECT, 0, 2 * ps, NULL,
				  VMFAULT_PAGER_WP, NULL));

	ASSERT_EQ(write_file(INSTANCE "/tracing_on", "0"), 0);
	ASSERT_EQ(vmf_info(self->fd, &info), 0);
	ASSERT_EQ(0, pager_info(pager, &pi));
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(trace, NULL);
	EXPECT_EQ(2, pi.events);
	EXPECT_EQ(pi.events, count_events(trace, "vmfault_pager_event", info.id));
	EXPECT_EQ(3, count_events(trace, "vmfault_pager_answer", info.id));
	EXPECT_EQ(2, sum_field(trace, "vmfault_pager_answer", info.id, "woken"));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(count_events(trace, "vmfault_fault", info.id),
		  info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_NE(strstr(trace, "outcome=pager"), NULL);
	EXPECT_NE(strstr(trace, "read|missing"), NULL);
	EXPECT_NE(strstr(trace, "write|missing"), NULL);
	EXPECT_NE(strstr(trace, "op=supply"), NULL);
	EXPECT_NE(strstr(trace, "op=zeropage"), NULL);
	EXPECT_NE(strstr(trace, "op=protect"), NULL);
	free(trace);
	munmap(s, 2 * ps);
	close(pager);
}

/* Of the vmfault_fault events of region id, how many ran under the per-VMA lock. */
static int count_vma_lock(const char *trace, unsigned int id)
{
	const char *pos = trace, *ev;
	size_t len;
	int n = 0;

	while ((ev = next_event(&pos, "vmfault_fault", id, &len)))
		n += memmem(ev, len, "vma_lock", 8) != NULL;
	return n;
}

/*
 * Zero mode without fault-around, where the kernel has the per-VMA lock
 * (6.12): every fault runs ->fault under it, none is redone under
 * mmap_lock. Core mm calls ->fault under the VMA lock only for a vma with
 * ->map_pages (vmf_can_call_fault()), and returns VM_FAULT_RETRY for the
 * rest: the mapping's ->map_pages that maps nothing is what avoids it.
 * 300 read holes (the zero page), 300 private first writes (a copy), 300
 * shared first writes: 900 faults, each once, each under the VMA lock
 * (cause "vma_lock" in vmfault_fault). 6.1 has no VMA lock: none.
 */
#define VL_PAGES	300
TEST_F_TIMEOUT(trace, zero_faults_under_vma_lock, 180)
{
	long ps = self->ps;
	struct vmfault_region_info info;
	char *fmt, *trace, *priv, *shared;
	bool has_vma_lock;
	int i, n, vl;

	fmt = read_text(TRACEFS "/events/vmfault/vmfault_fault/format");
	ASSERT_NE(NULL, fmt);
	has_vma_lock = strstr(fmt, "vma_lock") != NULL;
	free(fmt);
	ASSERT_EQ(0, vmf_configure(self->fd, VMFAULT_MODE_ZERO, 3 * VL_PAGES * ps));
	priv = mmap(NULL, 2 * VL_PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	shared = mmap(NULL, VL_PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		      2 * VL_PAGES * ps);
	ASSERT_NE(MAP_FAILED, priv);
	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_EQ(0, write_file(INSTANCE "/buffer_size_kb", "4096"));
	ASSERT_EQ(0, write_file(INSTANCE "/events/vmfault/vmfault_fault/enable", "1"));
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "1"));
	for (i = 0; i < VL_PAGES; i++)
		touch_read(priv + (long)i * ps);
	for (i = VL_PAGES; i < 2 * VL_PAGES; i++)
		priv[(long)i * ps] = 1;
	for (i = 0; i < VL_PAGES; i++)
		shared[(long)i * ps] = 1;
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "0"));
	ASSERT_EQ(0, vmf_info(self->fd, &info));
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(NULL, trace);
	n = count_events(trace, "vmfault_fault", info.id);
	vl = count_vma_lock(trace, info.id);
	free(trace);
	ksft_print_msg("zero mode: %d faults, %d of them under the per-VMA lock (the kernel %s)\n",
		       n, vl, has_vma_lock ? "has it" : "has none");
	fflush(stdout);
	EXPECT_EQ(3 * VL_PAGES, n);
	EXPECT_EQ(3 * VL_PAGES, info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(VL_PAGES, info.counters[VMFAULT_CNT_ZERO_PAGE_MAPS]);
	EXPECT_EQ(VL_PAGES, info.counters[VMFAULT_CNT_COW_FAULTS]);
	EXPECT_EQ(has_vma_lock ? 3 * VL_PAGES : 0, vl);
	munmap(priv, 2 * VL_PAGES * ps);
	munmap(shared, VL_PAGES * ps);
}

/* The pfn field of the n-th (from 0) event @name of region @id, or -1. */
static long nth_pfn(const char *trace, const char *name, unsigned int id, int nth)
{
	const char *pos = trace, *ev, *f;
	size_t len;

	while ((ev = next_event(&pos, name, id, &len)))
		if (nth-- == 0)
			return (f = event_field(ev, len, "pfn")) ? strtol(f, NULL, 0) : -1;
	return -1;
}

/* A writer thread: @n private first writes to holes, pinned to @cpu (or not, -1). */
struct hole_writer {
	pthread_t th;
	char *p;
	long ps;
	int n, cpu;
	pid_t tid;
};

static void *hole_writer_fn(void *arg)
{
	struct hole_writer *w = arg;

	w->tid = gettid();
	if (w->cpu >= 0 && pin_to_cpu(w->cpu))
		return NULL;
	for (int i = 0; i < w->n; i++)
		w->p[(long)i * w->ps] = 1;
	return NULL;
}

/* Lines of @trace (the function tracer's) that are a call of @fn by thread @tid. */
static int count_calls(const char *trace, const char *fn, pid_t tid)
{
	char want[96], who[32];
	const char *p = trace;
	int n = 0;

	snprintf(want, sizeof(want), " %s <-", fn);
	snprintf(who, sizeof(who), "-%d ", (int)tid);
	while ((p = strstr(p, want))) {
		const char *bol = p;

		while (bol > trace && bol[-1] != '\n')
			bol--;
		if (memmem(bol, p - bol, who, strlen(who)))
			n++;
		p += strlen(want);
	}
	return n;
}

#define HW_PAGES	2000

/*
 * A private first write to a hole copies zeros: do_cow_fault() locks the
 * source page that ->fault returns and copies it. Not the kernel's one
 * zero page, whose lock every CPU would share: a zeroed page of the CPU's
 * own (vmfault_cow_event's pfn). Two writers pinned to two CPUs, 2000
 * such writes each, never wait for a page lock (the function tracer on
 * __folio_lock(), which folio_lock() calls only when the lock is taken:
 * a kprobe would do, but Debian's riscv64 6.12 refuses every kprobe).
 */
TEST_F_TIMEOUT(trace, private_hole_writes_share_no_lock, 180)
{
	long ps = self->ps, zero_pfn, p0, p1 = -1, waits[2] = { -1, -1 };
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct vmfault_region_info info;
	struct hole_writer w[2];
	char *p, *trace;

	ASSERT_EQ(0, vmf_configure(self->fd, VMFAULT_MODE_ZERO, (4 + 2 * HW_PAGES) * ps));
	p = mmap(NULL, (4 + 2 * HW_PAGES) * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	touch_read(p);
	zero_pfn = pfn_of(p);
	ASSERT_TRUE(kpf(zero_pfn, KPF_ZERO_PAGE));
	ASSERT_EQ(0, write_file(INSTANCE "/events/vmfault/vmfault_cow/enable", "1"));
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "1"));
	ASSERT_EQ(0, pin_to_cpu(0));
	p[1 * ps] = 1;
	p[2 * ps] = 1;
	if (ncpu > 1) {
		ASSERT_EQ(0, pin_to_cpu(1));
		p[3 * ps] = 1;
	}
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "0"));
	ASSERT_EQ(0, vmf_info(self->fd, &info));
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(NULL, trace);
	p0 = nth_pfn(trace, "vmfault_cow", info.id, 0);
	EXPECT_EQ(p0, nth_pfn(trace, "vmfault_cow", info.id, 1));
	if (ncpu > 1)
		p1 = nth_pfn(trace, "vmfault_cow", info.id, 2);
	free(trace);
	TH_LOG("source pages of private writes to holes: CPU 0 %#lx, CPU 1 %#lx; the zero page %#lx",
	       p0, p1, zero_pfn);
	EXPECT_GT(p0, 0);
	EXPECT_NE(zero_pfn, p0);
	if (ncpu > 1) {
		EXPECT_GT(p1, 0);
		EXPECT_NE(p0, p1);
		EXPECT_NE(zero_pfn, p1);
	}
	/* Each write got a page of its own, of zeros but its byte, not the source. */
	for (int i = 1; i <= (ncpu > 1 ? 3 : 2); i++) {
		EXPECT_TRUE(kpf(pfn_of(p + i * ps), KPF_ANON));
		EXPECT_NE(p0, pfn_of(p + i * ps));
		EXPECT_EQ(1, p[i * ps]);
		EXPECT_TRUE(all_bytes(p + i * ps + 1, ps - 1, 0));
	}
	EXPECT_EQ(ncpu > 1 ? 3 : 2, info.counters[VMFAULT_CNT_COW_FAULTS]);

	/* Two writers on two CPUs: no page lock waits (the debug VM has one CPU). */
	if (ncpu < 2) {
		TH_LOG("one CPU: no two writers on two CPUs");
		munmap(p, (4 + 2 * HW_PAGES) * ps);
		return;
	}
	ASSERT_EQ(0, write_file(INSTANCE "/events/vmfault/vmfault_cow/enable", "0"));
	ASSERT_EQ(0, write_file(INSTANCE "/set_ftrace_filter", "__folio_lock"))
		TH_LOG("the function tracer on __folio_lock: %s", strerror(errno));
	ASSERT_EQ(0, write_file(INSTANCE "/current_tracer", "function"));
	ASSERT_EQ(0, write_file(INSTANCE "/trace", ""));
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "1"));
	for (int i = 0; i < 2; i++) {
		w[i] = (struct hole_writer){ .p = p + (4 + i * HW_PAGES) * ps, .ps = ps,
					     .n = HW_PAGES, .cpu = i };
		ASSERT_EQ(0, pthread_create(&w[i].th, NULL, hole_writer_fn, &w[i]));
	}
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "0"));
	trace = read_text(INSTANCE "/trace");
	ASSERT_NE(NULL, trace);
	for (int i = 0; i < 2; i++)
		waits[i] = count_calls(trace, "__folio_lock", w[i].tid);
	free(trace);
	write_file(INSTANCE "/current_tracer", "nop");
	write_file(INSTANCE "/set_ftrace_filter", "");
	ASSERT_EQ(0, vmf_info(self->fd, &info));
	ksft_print_msg("private writes to holes, %d by each of 2 threads on CPUs 0 and 1: %ld and %ld page lock waits\n",
		       HW_PAGES, waits[0], waits[1]);
	fflush(stdout);
	EXPECT_EQ(0, waits[0]);
	EXPECT_EQ(0, waits[1]);
	EXPECT_EQ(3 + 2 * HW_PAGES, info.counters[VMFAULT_CNT_COW_FAULTS]);
	munmap(p, (4 + 2 * HW_PAGES) * ps);
}

VMFAULT_TEST_MAIN
