// SPDX-License-Identifier: GPL-2.0
/*
 * The measurements of lecture_lib.h. Built with -fno-stack-clash-protection
 * (selftests/Makefile): with stack-clash probing, the 128 KiB frame's
 * prologue would touch every page of it, and the lecture's "8 faults"
 * would be 32.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <ucontext.h>

#include "vmfault_lib.h"
#include "lecture_lib.h"

#define KPF_KSM		21

/* ---- stack pages on demand ---- */

static volatile uintptr_t lecture_array_addr;

/* The lecture's function: a 128 KiB local array, a store every 16 KiB. */
static __attribute__((noinline)) void lecture_array(void)
{
	volatile char a[LECTURE_ARRAY] __attribute__((aligned(4096)));
	int i;

	for (i = 0; i < LECTURE_ARRAY; i += LECTURE_STRIDE)
		a[i] = 1;
	lecture_array_addr = (uintptr_t)a;
}

static void *stack_thread(void *arg)
{
	struct lecture_stack *r = arg;
	struct rusage before, after;
	volatile char *sp, *pad;
	size_t n;

	/*
	 * Put the stack pointer in the middle of a page and touch that page,
	 * so that the call's return address and saved registers land on a
	 * page that is present already: the array's 32 pages lie wholly
	 * below it (it is page-aligned), and only they can fault.
	 */
	sp = alloca(16);
	n = (((uintptr_t)sp & 4095) + 4096 - 2048) & 4095;
	pad = alloca(n + 16);
	pad[0] = 0;
	/* After fork() the variable's page is copy-on-write: fault it now. */
	lecture_array_addr = 0;
	/*
	 * And the two snapshots' pages: the kernel writes @before after
	 * taking it, so a first touch there would count as the array's.
	 */
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	/*
	 * And the function's own code: its text page may not be mapped yet
	 * (fault-around maps only what the page cache holds), and that
	 * instruction fetch would be a ninth fault.
	 */
	(void)*(volatile const char *)(uintptr_t)lecture_array;
	(void)*(volatile const char *)((uintptr_t)lecture_array + 127);
	getrusage(RUSAGE_THREAD, &before);
	lecture_array();
	getrusage(RUSAGE_THREAD, &after);
	r->faults = (after.ru_minflt + after.ru_majflt) - (before.ru_minflt + before.ru_majflt);
	return NULL;
}

int lecture_stack_on_demand(struct lecture_stack *r)
{
	size_t stack_size = 1 << 20;
	pthread_attr_t attr;
	pthread_t t;
	char *stack;
	int i;

	memset(r, 0, sizeof(*r));
	/*
	 * Bind getrusage() now: its first call through the PLT runs the
	 * dynamic linker's resolver, whose frame (a few KiB of saved vector
	 * registers) would touch the thread's stack below the caller.
	 */
	getrusage(RUSAGE_THREAD, &(struct rusage){ 0 });
	/* A stack of its own, never used (glibc may hand out a cached one). */
	stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, stack_size);
	if (pthread_create(&t, &attr, stack_thread, r)) {
		munmap(stack, stack_size);
		return -1;
	}
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
	r->pages = LECTURE_ARRAY / page_size();
	r->stored_present = true;
	for (i = 0; i < r->pages; i++) {
		char *p = (char *)lecture_array_addr + (long)i * page_size();
		bool present = pagemap_entry(p) & PM_PRESENT;

		r->map[i] = present ? '#' : '.';
		r->present += present;
		if ((long)i * page_size() % LECTURE_STRIDE == 0 && !present)
			r->stored_present = false;
	}
	r->map[r->pages] = '\0';
	munmap(stack, stack_size);
	return 0;
}

/* ---- the process's stack growing ---- */

static unsigned long stack_start(void)
{
	unsigned long start = 0, end;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(f);
	return start;
}

void lecture_store(void *addr)
{
	*(volatile int *)addr = 1;
}

int lecture_stack_growth(int n, unsigned long *start, long *faults)
{
	long ps = page_size();
	int i, warm = 0;

	/*
	 * Run the store and the counter once first: their text may not be
	 * mapped yet (a first run read it from 9p in the debug VM: one more
	 * fault in the first step).
	 */
	lecture_store(&warm);
	rusage_faults();
	for (i = 0; i < n; i++) {
		void *below;
		long f;

		start[i] = stack_start();
		if (!start[i])
			return -1;
		/* The page just below [stack]: the kernel grows the vma to it. */
		below = (void *)(start[i] - ps + 64);
		f = rusage_faults();
		lecture_store(below);
		faults[i] = rusage_faults() - f;
	}
	start[n] = stack_start();
	return 0;
}

/* ---- SIGSEGV, caught on an alternate stack ---- */

static __thread sigjmp_buf segv_jmp;
static __thread struct lecture_segv *segv_out;

static void segv_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	segv_out->caught = true;
	segv_out->addr = (uintptr_t)si->si_addr;
	segv_out->code = si->si_code;
#if defined(__x86_64__)
	segv_out->pc = uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__riscv)
	segv_out->pc = uc->uc_mcontext.__gregs[REG_PC];
#else
	(void)uc;
	segv_out->pc = 0;
#endif
	siglongjmp(segv_jmp, 1);
}

void lecture_catch_segv(void (*fn)(void *), void *arg, struct lecture_segv *s)
{
	struct sigaction sa = { 0 }, old;
	stack_t alt = { 0 }, old_alt;

	memset(s, 0, sizeof(*s));
	segv_out = s;
	alt.ss_size = 64 * 1024;
	alt.ss_sp = malloc(alt.ss_size);
	if (!alt.ss_sp || sigaltstack(&alt, &old_alt)) {
		free(alt.ss_sp);
		return;
	}
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(segv_jmp, 1))
		fn(arg);
	sigaction(SIGSEGV, &old, NULL);
	sigaltstack(&old_alt, NULL);
	free(alt.ss_sp);
}

/* ---- the guard page under a thread's stack ---- */

/* Does the mapping at @addr in /proc/self/maps have permissions @perms? */
static bool maps_perms_at(uintptr_t addr, const char *perms)
{
	unsigned long start, end;
	char line[512], p[8];
	bool ret = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &start, &end, p) == 3 &&
		    addr >= start && addr < end) {
			ret = !strcmp(p, perms);
			break;
		}
	fclose(f);
	return ret;
}

static void *guard_thread(void *arg)
{
	struct lecture_guard *g = arg;
	pthread_attr_t attr;
	size_t size, guard;
	void *lo;

	if (pthread_getattr_np(pthread_self(), &attr))
		return NULL;
	pthread_attr_getstack(&attr, &lo, &size);
	pthread_attr_getguardsize(&attr, &guard);
	pthread_attr_destroy(&attr);
	g->guard_lo = (uintptr_t)lo - guard;
	g->guard_hi = (uintptr_t)lo;
	g->prot_none_vma = maps_perms_at(g->guard_lo, "---p");
	if (guard)
		lecture_catch_segv(lecture_store, (void *)(g->guard_lo + guard / 2), &g->segv);
	return NULL;
}

int lecture_thread_guard(struct lecture_guard *g)
{
	pthread_t t;

	memset(g, 0, sizeof(*g));
	if (pthread_create(&t, NULL, guard_thread, g))
		return -1;
	pthread_join(t, NULL);
	return g->guard_hi ? 0 : -1;
}

/* ---- the null page and vm.mmap_min_addr ---- */

long lecture_mmap_min_addr(void)
{
	return read_long("/proc/sys/vm/mmap_min_addr");
}

int lecture_map_fixed_unprivileged(uintptr_t addr)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0) {
		void *p;

		if (!geteuid() && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(255);
		p = mmap((void *)addr, page_size(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			_exit(errno);
		_exit(p == (void *)addr ? 0 : 254);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* ---- copy-on-write's second case ---- */

int lecture_cow_after_exit(bool child_alive, struct lecture_cow *c)
{
	volatile char *p;
	int go[2], st;
	long f;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	/* One CPU: the page must not sit in another CPU's LRU batch (a reference). */
	pin_to_this_cpu();
	p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || pipe(go))
		return -1;
	p[0] = 1;
	c->pfn_before = pfn_of((const void *)p);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char b;

		close(go[1]);
		if (child_alive)
			(void)!read(go[0], &b, 1);	/* until the parent has written */
		_exit(p[0] == 1 ? 0 : 1);
	}
	close(go[0]);
	if (!child_alive && waitpid(pid, &st, 0) != pid)
		return -1;
	warm_stack();
	f = rusage_faults();
	p[0] = 2;
	c->faults = rusage_faults() - f;
	c->pfn_after = pfn_of((const void *)p);
	close(go[1]);
	if (child_alive && waitpid(pid, &st, 0) != pid)
		return -1;
	munmap((void *)p, page_size());
	/* The child saw its own value throughout. */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ---- VIRT and RES ---- */

/*
 * VmSize from /proc/self/status, in kB, read with no allocation.
 */
static long vsz_kb(void)
{
	char buf[4096], *s;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	s = strstr(buf, "\nVmSize:");
	return s ? strtol(s + 8, NULL, 10) : -1;
}

/*
 * RES is the mapping's Rss (smaps_rss_kb(), a page-table walk), not the
 * process's VmRSS, which moves with whatever else the process faults in
 * meanwhile (a text page of this very function, with fault-around's 16
 * neighbours: +52 kB in CI), and on 6.1 comes from counters that each
 * thread batches (SPLIT_RSS_COUNTING: shown after 64 more faults or at the
 * thread's exit).
 */
int lecture_virt_res(uint64_t size, int writes, struct lecture_virt_res *v)
{
	long stride, i;
	char *p;
	int fd;

	memset(v, 0, sizeof(*v));
	fd = vmf_open();
	if (fd < 0 || vmf_configure(fd, VMFAULT_MODE_ZERO, size))
		return -1;
	vsz_kb();		/* its own stack page, once */
	v->vsz_before = vsz_kb();
	/*
	 * The largest size that fits, from @size down: RISC-V's Sv39 (the dev
	 * VM's page-table format) gives user space 256 GiB in all.
	 */
	for (v->size = size; v->size >= size / 64; v->size /= 2) {
		p = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED || errno != ENOMEM)
			break;
	}
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	v->addr = (uintptr_t)p;
	v->rss_before = smaps_rss_kb(p);
	stride = v->size / writes / page_size() * page_size();
	for (i = 0; i < writes; i++)
		p[stride * i] = 1;
	v->rss_after = smaps_rss_kb(p);
	v->vsz_after = vsz_kb();
	munmap(p, v->size);
	close(fd);
	return 0;
}

/* ---- a grows-down region ---- */

int lecture_growsdown(struct lecture_growsdown *g)
{
	struct vmfault_config cfg = {
		.mode = VMFAULT_MODE_ZERO,
		.flags = VMFAULT_FLAG_GROWSDOWN,
		.size = (uint64_t)LECTURE_GD_PAGES * page_size(),
		.stack_pages = 1,
		.guard_pages = LECTURE_GD_GUARD,
	};
	long ps = page_size(), f;
	char *p;
	int fd, i;

	memset(g, 0, sizeof(*g));
	fd = vmf_open();
	if (fd < 0 || ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg))
		return -1;
	p = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	lecture_store(p + (LECTURE_GD_PAGES - 1) * ps);
	g->deep_addr = (uintptr_t)p + (LECTURE_GD_PAGES - 3) * ps;
	lecture_catch_segv(lecture_store, (void *)g->deep_addr, &g->deep);
	/* Each store one page below the stack: it grows (a SIGSEGV would kill us). */
	for (i = LECTURE_GD_PAGES - 2; i >= LECTURE_GD_GUARD; i--) {
		f = rusage_faults();
		lecture_store(p + i * ps);
		g->grow_faults += rusage_faults() - f;
		g->grown++;
	}
	g->guard_addr = (uintptr_t)p + (LECTURE_GD_GUARD - 1) * ps + ps / 2;
	lecture_catch_segv(lecture_store, (void *)g->guard_addr, &g->guard);
	g->growths = vmf_counter(fd, VMFAULT_CNT_STACK_GROWTHS);
	g->segvs = vmf_counter(fd, VMFAULT_CNT_STACK_SEGV);
	for (i = 0; i < LECTURE_GD_PAGES; i++) {
		bool present = pagemap_entry(p + i * ps) & PM_PRESENT;

		g->present += present;
		g->map[i] = i < LECTURE_GD_GUARD ? (present ? '!' : 'g') : present ? '#' : '.';
	}
	munmap(p, cfg.size);
	close(fd);
	return 0;
}

/* ---- KSM ---- */

#define KSM	"/sys/kernel/mm/ksm/"

static long ksm_read(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), KSM "%s", name);
	return read_long(path);
}

static int ksm_write(const char *name, long v)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), KSM "%s", name);
	snprintf(val, sizeof(val), "%ld", v);
	return write_file(path, val);
}

/* A process's merged pages (ksm_merging_pages), or -1. */
static long ksm_merging(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", (int)pid);
	return read_long(path);
}

/* Append ksmd's counters, after @what and @ms, to @k->state. */
static void ksm_state(struct lecture_ksm *k, const char *what, uint64_t ms)
{
	size_t len = strlen(k->state);

	snprintf(k->state + len, sizeof(k->state) - len,
		 "%s%s %llu ms: shared %ld sharing %ld unshared %ld volatile %ld full_scans %ld",
		 len ? "; " : "", what, (unsigned long long)ms, ksm_read("pages_shared"),
		 ksm_read("pages_sharing"), ksm_read("pages_unshared"),
		 ksm_read("pages_volatile"), ksm_read("full_scans"));
}

static void fill_pages(char *p, int pages)
{
	int i;

	for (i = 0; i < pages; i++)
		memset(p + (long)i * page_size(), 'A' + i % 26, page_size());
}

int lecture_ksm(int pages, long timeout_ms, struct lecture_ksm *k)
{
	long run, to_scan, sleep_ms, base, child_base, size = (long)pages * page_size();
	int req[2], rsp[2], i, st, ret = -1;
	uint64_t start, *child_pfn;
	char *p, cmd;
	pid_t pid;

	memset(k, 0, sizeof(*k));
	run = ksm_read("run");
	to_scan = ksm_read("pages_to_scan");
	sleep_ms = ksm_read("sleep_millisecs");
	if (run < 0 || to_scan < 0 || sleep_ms < 0) {
		snprintf(k->skip, sizeof(k->skip),
			 "%s: no KSM in this kernel (CONFIG_KSM)", KSM "run");
		return -1;
	}
	child_pfn = calloc(pages, sizeof(*child_pfn));
	if (!child_pfn || pipe(req) || pipe(rsp))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Its own pages with the same bytes: merged only by KSM. */
		char ok;

		close(req[1]);
		close(rsp[0]);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		fill_pages(p, pages);
		if (madvise(p, size, MADV_MERGEABLE))
			_exit(2);
		while (read(req[0], &cmd, 1) == 1 && cmd == 'p') {
			for (i = 0; i < pages; i++)
				child_pfn[i] = pfn_of(p + (long)i * page_size());
			ok = p[0] == 'A' && all_bytes(p, size > 4096 ? 4096 : size, 'A');
			if (write(rsp[1], child_pfn, pages * sizeof(*child_pfn)) < 0 ||
			    write(rsp[1], &ok, 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(req[0]);
	close(rsp[1]);
	/* The child's count starts at ours: fork() copies it (6.1). */
	child_base = ksm_merging(pid);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto out;
	fill_pages(p, pages);
	if (madvise(p, size, MADV_MERGEABLE)) {
		snprintf(k->skip, sizeof(k->skip), "madvise(MADV_MERGEABLE): %s", strerror(errno));
		goto out;
	}
	base = ksm_merging(getpid());
	if (base < 0) {
		snprintf(k->skip, sizeof(k->skip), "/proc/self/ksm_merging_pages: %s",
			 strerror(errno));
		goto out;
	}
	k->sharing_before = ksm_read("pages_sharing");
	ksm_write("pages_to_scan", 1000);
	ksm_write("sleep_millisecs", 10);
	start = now_ms();
	if (ksm_write("run", 1))
		goto out;
	while (ksm_merging(getpid()) - base < pages && now_ms() - start < (uint64_t)timeout_ms)
		usleep(20000);
	k->merge_ms = now_ms() - start;
	k->merging_merged = ksm_merging(getpid()) - base;
	k->sharing_merged = ksm_read("pages_sharing");
	ksm_state(k, "merged", k->merge_ms);

	cmd = 'p';
	if (write(req[1], &cmd, 1) != 1 ||
	    read(rsp[0], child_pfn, pages * sizeof(*child_pfn)) != (ssize_t)(pages * sizeof(*child_pfn)))
		goto out;
	if (read(rsp[0], &cmd, 1) != 1)
		goto out;
	for (i = 0; i < pages; i++) {
		uint64_t pfn = pfn_of(p + (long)i * page_size());

		k->same_pfn += pfn && pfn == child_pfn[i];
		k->ksm_flag += pfn && kpf(pfn, KPF_KSM);
	}
	/* Copy on write: the parent writes its page 0. */
	{
		uint64_t before = pfn_of(p);

		p[0] = 'Z';
		k->write_copied = pfn_of(p) != before && p[0] == 'Z';
	}
	/* ksmd's next scans notice that the page is no longer shared. */
	start = now_ms();
	while (ksm_merging(getpid()) - base >= k->merging_merged &&
	       now_ms() - start < (uint64_t)timeout_ms)
		usleep(20000);
	k->merging_after_write = ksm_merging(getpid()) - base;
	k->child_after_write = ksm_merging(pid) - child_base;
	k->sharing_after_write = ksm_read("pages_sharing");
	ksm_state(k, "after the write", now_ms() - start);
	ksm_write("run", 0);
	cmd = 'p';
	if (write(req[1], &cmd, 1) != 1 ||
	    read(rsp[0], child_pfn, pages * sizeof(*child_pfn)) != (ssize_t)(pages * sizeof(*child_pfn)) ||
	    read(rsp[0], &cmd, 1) != 1)
		goto out;
	k->other_intact = cmd;
	ret = 0;
out:
	close(req[1]);
	waitpid(pid, &st, 0);
	close(rsp[0]);
	if (p != MAP_FAILED)
		munmap(p, size);
	free(child_pfn);
	ksm_write("sleep_millisecs", sleep_ms);
	ksm_write("pages_to_scan", to_scan);
	ksm_write("run", run);
	return ret;
}
