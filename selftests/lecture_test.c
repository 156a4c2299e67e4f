// SPDX-License-Identifier: GPL-2.0
/*
 * lecture_test: the lecture's second half on a process's own memory, with
 * its numbers (lecture_lib.c measures, the demo prints the same figures):
 *
 * - stack pages on demand: a 128 KiB local array with a store every 16 KiB
 *   takes exactly 8 faults on a fresh thread's stack, and 8 of its 32
 *   pages are present;
 * - [stack] grows one page per page stored below it, one fault each;
 * - the null page: a store to address 0 is SIGSEGV (SEGV_MAPERR) with
 *   si_addr 0; mmap(MAP_FIXED) below vm.mmap_min_addr is refused (EPERM)
 *   to a process without CAP_SYS_RAWIO, and allowed at it;
 * - the guard page glibc puts under a thread's stack: a PROT_NONE
 *   mapping, so a store into it is SIGSEGV with SEGV_ACCERR;
 * - copy-on-write's second case: after fork(), once the child has exited,
 *   the parent's write reuses its frame (same pfn, one fault); while the
 *   child lives, the same write copies;
 * - VIRT against RES: a 1 TiB sparse region after 17 writes adds 1 TiB to
 *   VmSize and 68 KiB to the mapping's Rss (smaps; on riscv64's Sv39,
 *   whose user space is 256 GiB, a 128 GiB region);
 * - KSM: two processes' identical pages become one frame (KPF_KSM), and a
 *   write copies the page back out;
 * - programs paged in from a slow disk: lecture_prog (static) run from
 *   vmfaultfs with readahead off reads exactly the pages it touches, one
 *   READ each, far fewer than the file has, and nothing the second time;
 *   two running at once map the same text frame (kpagecount 2), each page
 *   read once; its 64 MiB BSS reads as the zero page and takes no memory
 *   until written (3 writes: 3 pages);
 * - the workload that checks the cost model EAT (vmfault_eat, which
 *   make bench times): exactly the planned accesses are major faults, one
 *   READ each, in the page cache and in a vmfault region;
 * - a grows-down region (VMFAULT_FLAG_GROWSDOWN, xv6's lazy stack): a store
 *   one page below the stack grows it by that page, one fault each, down
 *   to the guard gap; a store lower down or into the gap is SIGSEGV with
 *   si_addr there; bad configurations are EINVAL.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"
#include "lecture_lib.h"

#include "kselftest_harness.h"

TEST(stack_on_demand)
{
	struct lecture_stack r;

	ASSERT_EQ(0, lecture_stack_on_demand(&r));
	TH_LOG("faults %ld, present %d of %d: %s", r.faults, r.present, r.pages, r.map);
	EXPECT_EQ(LECTURE_ARRAY / LECTURE_STRIDE, r.faults);
	EXPECT_EQ(LECTURE_ARRAY / page_size(), r.pages);
	EXPECT_EQ(LECTURE_ARRAY / LECTURE_STRIDE, r.present);
	EXPECT_TRUE(r.stored_present);
}

TEST(stack_grows_one_page_per_page)
{
	unsigned long start[9];
	long faults[8];
	int i;

	ASSERT_EQ(0, lecture_stack_growth(8, start, faults));
	for (i = 0; i < 8; i++) {
		TH_LOG("store %d at %#lx: [stack] from %#lx to %#lx, %ld fault(s)", i,
		       start[i] - page_size() + 64, start[i], start[i + 1], faults[i]);
		EXPECT_EQ(start[i] - page_size(), start[i + 1]);
		EXPECT_EQ(1, faults[i]);
	}
}

static void store_null(void *arg)
{
	(void)arg;
	lecture_store(NULL);
}

TEST(null_page)
{
	struct lecture_segv s;
	long min = lecture_mmap_min_addr();

	lecture_catch_segv(store_null, NULL, &s);
	ASSERT_TRUE(s.caught);
	EXPECT_EQ(0, s.addr);
	EXPECT_EQ(SEGV_MAPERR, s.code);
	EXPECT_NE(0, s.pc);

	ASSERT_GT(min, 0);
	TH_LOG("vm.mmap_min_addr %ld", min);
	EXPECT_EQ(EPERM, lecture_map_fixed_unprivileged(0));
	EXPECT_EQ(EPERM, lecture_map_fixed_unprivileged(min - page_size()));
	EXPECT_EQ(0, lecture_map_fixed_unprivileged(min));
}

TEST(thread_guard_page)
{
	struct lecture_guard g;

	ASSERT_EQ(0, lecture_thread_guard(&g));
	TH_LOG("guard [%#lx, %#lx), ---p mapping %d, si_addr %#lx si_code %d",
	       (unsigned long)g.guard_lo, (unsigned long)g.guard_hi, g.prot_none_vma,
	       (unsigned long)g.segv.addr, g.segv.code);
	ASSERT_GT(g.guard_hi, g.guard_lo);
	/* glibc maps the guard PROT_NONE: a protection fault, not a missing page. */
	EXPECT_TRUE(g.prot_none_vma);
	ASSERT_TRUE(g.segv.caught);
	EXPECT_EQ(SEGV_ACCERR, g.segv.code);
	EXPECT_EQ(g.guard_lo + (g.guard_hi - g.guard_lo) / 2, g.segv.addr);
}

TEST(cow_second_case_reuses_the_frame)
{
	struct lecture_cow c;

	ASSERT_EQ(0, lecture_cow_after_exit(false, &c));
	TH_LOG("child exited: pfn %#llx -> %#llx, %ld fault(s)",
	       (unsigned long long)c.pfn_before, (unsigned long long)c.pfn_after, c.faults);
	ASSERT_NE(0, c.pfn_before);
	EXPECT_EQ(c.pfn_before, c.pfn_after);
	EXPECT_EQ(1, c.faults);

	ASSERT_EQ(0, lecture_cow_after_exit(true, &c));
	TH_LOG("child alive: pfn %#llx -> %#llx, %ld fault(s)",
	       (unsigned long long)c.pfn_before, (unsigned long long)c.pfn_after, c.faults);
	EXPECT_NE(c.pfn_before, c.pfn_after);
	EXPECT_NE(0, c.pfn_after);
	EXPECT_EQ(1, c.faults);
}

TEST(virt_and_res_of_a_sparse_terabyte)
{
	struct lecture_virt_res v;

	ASSERT_EQ(0, access(VMFAULT_DEV, R_OK | W_OK))
		TH_LOG("%s: %s (is the vmfault module loaded?)", VMFAULT_DEV, strerror(errno));
	ASSERT_EQ(0, lecture_virt_res(VMFAULT_MAX_SIZE, 17, &v));
	TH_LOG("%llu GiB at %#lx: VmSize %ld -> %ld kB, its Rss %ld -> %ld kB",
	       (unsigned long long)(v.size >> 30), (unsigned long)v.addr,
	       v.vsz_before, v.vsz_after, v.rss_before, v.rss_after);
#ifdef __x86_64__
	EXPECT_EQ(VMFAULT_MAX_SIZE, v.size);	/* 47 bits of user space */
#endif
	EXPECT_EQ(v.size / 1024, v.vsz_after - v.vsz_before);
	EXPECT_EQ(17 * page_size() / 1024, v.rss_after - v.rss_before);
}

/* ---- a grows-down region (xv6's lazy lab) ---- */

TEST(growsdown_region)
{
	const int grow = LECTURE_GD_PAGES - 1 - LECTURE_GD_GUARD;
	struct lecture_growsdown g;

	ASSERT_EQ(0, access(VMFAULT_DEV, R_OK | W_OK));
	ASSERT_EQ(0, lecture_growsdown(&g));
	TH_LOG("%s (g: guard gap); two below: SIGSEGV %d at %#lx code %d; gap: SIGSEGV %d at %#lx code %d; growths %llu segv %llu",
	       g.map, g.deep.caught, (unsigned long)g.deep.addr, g.deep.code, g.guard.caught,
	       (unsigned long)g.guard.addr, g.guard.code, (unsigned long long)g.growths,
	       (unsigned long long)g.segvs);
	/* A store more than one page below the stack is SIGSEGV at its address. */
	EXPECT_TRUE(g.deep.caught);
	EXPECT_EQ(g.deep_addr, g.deep.addr);
	EXPECT_EQ(SEGV_MAPERR, g.deep.code);
	/* One page at a time, it grows down to the guard gap: one fault each. */
	EXPECT_EQ(grow, g.grown);
	EXPECT_EQ(grow, g.grow_faults);
	EXPECT_EQ(grow, g.growths);
	/* The gap is SIGSEGV, with si_addr inside it. */
	EXPECT_TRUE(g.guard.caught);
	EXPECT_EQ(g.guard_addr, g.guard.addr);
	EXPECT_EQ(SEGV_MAPERR, g.guard.code);
	EXPECT_EQ(2, g.segvs);
	EXPECT_EQ(LECTURE_GD_PAGES - LECTURE_GD_GUARD, g.present);
}

/* Bad grows-down configurations: EINVAL, never a region. */
TEST(growsdown_bad_config)
{
	const uint64_t size = 16 * page_size();
	const struct {
		uint32_t flags, stack, guard;
		const char *what;
	} bad[] = {
		{ VMFAULT_FLAG_GROWSDOWN | VMFAULT_FLAG_FAULT_AROUND, 1, 1, "with FAULT_AROUND" },
		{ VMFAULT_FLAG_GROWSDOWN, 0, 1, "no stack page" },
		{ VMFAULT_FLAG_GROWSDOWN, 1, 0, "no guard page" },
		{ VMFAULT_FLAG_GROWSDOWN, 16, 1, "stack and guard beyond the region" },
		{ VMFAULT_FLAG_GROWSDOWN, 0xffffffff, 0xffffffff, "overflowing pages" },
		{ 0, 1, 1, "stack_pages without GROWSDOWN" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmfault_config cfg = {
			.mode = VMFAULT_MODE_ZERO, .flags = bad[i].flags, .size = size,
			.stack_pages = bad[i].stack, .guard_pages = bad[i].guard,
		};
		int fd = vmf_open();

		ASSERT_GE(fd, 0);
		EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg)) TH_LOG("%s", bad[i].what);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i].what);
		close(fd);
	}
	{
		/* File mode: refused before the file is looked at. */
		struct vmfault_config cfg = {
			.mode = VMFAULT_MODE_FILE, .flags = VMFAULT_FLAG_GROWSDOWN, .size = size,
			.fd = 0, .stack_pages = 1, .guard_pages = 1,
		};
		int fd = vmf_open();

		ASSERT_GE(fd, 0);
		EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
		EXPECT_EQ(EINVAL, errno);
		close(fd);
	}
}

/* ---- programs paged in from a slow disk ---- */

/* Run @argv; its stdout in @out (up to @len). Its exit status, or -1. */
static int run_argv(char *const argv[], char *out, size_t len)
{
	int pfd[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < len && (n = read(pfd[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Run @path @mode; its stdout in @out (up to @len). Its exit status, or -1. */
static int run_prog(const char *path, const char *mode, char *out, size_t len)
{
	char *const argv[] = { (char *)path, (char *)mode, NULL };

	return run_argv(argv, out, len);
}

/* Cases that take a while under TCG (riscv64: 16383 faults twice), or wait for ksmd. */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

/*
 * ksmd's two waits are bounded at 20 s each: more than the harness's 30 s.
 * The counts are the processes' own: the system-wide pages_sharing may
 * still count an earlier run's pages (the demo's) and is only logged.
 */
TEST_F_TIMEOUT(slow, ksm_merges_identical_pages, 90)
{
	struct lecture_ksm k;
	const int pages = 16;
	int ret = lecture_ksm(pages, 20000, &k);

	if (ret && k.skip[0])
		SKIP(return, "%s", k.skip);
	TH_LOG("ksmd: %s", k.state);
	ASSERT_EQ(0, ret);
	TH_LOG("merged pages %ld in %ld ms, %ld after one write (the other process: %ld); same pfn %d, KPF_KSM %d; pages_sharing %ld -> %ld -> %ld",
	       k.merging_merged, k.merge_ms, k.merging_after_write, k.child_after_write,
	       k.same_pfn, k.ksm_flag, k.sharing_before, k.sharing_merged,
	       k.sharing_after_write);
	EXPECT_EQ(pages, k.merging_merged);
	EXPECT_EQ(pages, k.same_pfn);
	EXPECT_EQ(pages, k.ksm_flag);
	EXPECT_TRUE(k.write_copied);
	EXPECT_EQ(pages - 1, k.merging_after_write);
	EXPECT_EQ(pages, k.child_after_write);
	EXPECT_TRUE(k.other_intact);
}

TEST_F_TIMEOUT(slow, bss_on_demand, 300)
{
	long pages, faults, zero, anon, rss0, rss1, wfaults, zero2, anon2, rss2;
	char prog[PATH_MAX], out[512];

	ASSERT_NE(NULL, beside_self("lecture_prog", prog));
	ASSERT_EQ(0, run_prog(prog, "bss", out, sizeof(out)));
	TH_LOG("%s", out);
	ASSERT_EQ(6, sscanf(out, "bss pages %ld read-faults %ld zero-page %ld anon %ld rss-kb %ld -> %ld",
			    &pages, &faults, &zero, &anon, &rss0, &rss1));
	ASSERT_NE(NULL, strchr(out, '\n'));
	ASSERT_EQ(5, sscanf(strchr(out, '\n') + 1,
			    "bss writes 3 write-faults %ld zero-page %ld anon %ld rss-kb %*d -> %ld",
			    &wfaults, &zero2, &anon2, &rss2) + 1);
	/* Every page of the 64 MiB read maps the zero page; RSS does not move. */
	EXPECT_GE(pages, (64L << 20) / page_size() - 1);
	EXPECT_EQ(pages, zero);
	EXPECT_EQ(0, anon);
	EXPECT_EQ(rss0, rss1);
	/* Three writes: three private pages, 12 kB. */
	EXPECT_EQ(3, wfaults);
	EXPECT_EQ(3, anon2);
	EXPECT_EQ(pages - 3, zero2);
	EXPECT_EQ(rss1 + 3 * page_size() / 1024, rss2);
	EXPECT_EQ(pages, faults);

	/*
	 * With transparent huge pages (Debian's default, always): a read
	 * fault maps the huge zero page over 2 MiB, still KPF_ZERO_PAGE and
	 * no RSS; a write then splits it (6.1) or takes a whole huge page
	 * (later kernels): only logged.
	 */
	ASSERT_EQ(0, run_prog(prog, "bss-thp", out, sizeof(out)));
	TH_LOG("with THP: %s", out);
	ASSERT_EQ(6, sscanf(out, "bss pages %ld read-faults %ld zero-page %ld anon %ld rss-kb %ld -> %ld",
			    &pages, &faults, &zero, &anon, &rss0, &rss1));
	EXPECT_EQ(pages, zero);
	EXPECT_EQ(0, anon);
	EXPECT_EQ(rss0, rss1);
	EXPECT_LE(faults, pages);
}

/*
 * The cost model's workload (vmfault_eat, which make bench times) faults
 * exactly as planned: at p = 1/100 and 1/10, 8 of 800 and 8 of 80
 * accesses are major faults, one READ each, in the page cache of a
 * vmfaultfs file, in a vmfault region over it, and in one with a budget
 * of 16 frames where every later fault also evicts (vmfault_eat exits 1
 * on any other count, a minor fault, or data that is not the file's).
 */
TEST_F_TIMEOUT(slow, eat_workload_faults_as_planned, 300)
{
	char prog[PATH_MAX], out[4096], mem[16], *line, *save = NULL;
	char *const argv[] = { prog, "--check", "-d", "0", "-p", "1e-2,1e-1", "-k", "8",
			       "-t", "1", NULL };
	int pagecache = 0, region = 0, evict = 0;

	ASSERT_NE(NULL, beside_self("vmfault_eat", prog));
	ASSERT_EQ(0, run_argv(argv, out, sizeof(out)));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long delay, n, k, major, reads;
		double p;

		if (line[0] == '#')
			continue;
		TH_LOG("%s", line);
		ASSERT_EQ(7, sscanf(line, "%15s %ld %lf %ld %ld %ld %ld", mem, &delay, &p, &n, &k,
				    &major, &reads));
		EXPECT_EQ(8, k);
		EXPECT_EQ(p < 0.05 ? 800 : 80, n);
		EXPECT_EQ(k, major);
		EXPECT_EQ(k, reads);
		pagecache += !strcmp(mem, "pagecache");
		region += !strcmp(mem, "vmfault");
		evict += !strcmp(mem, "vmfault-evict");
	}
	EXPECT_EQ(2, pagecache);
	EXPECT_EQ(2, region);
	EXPECT_EQ(2, evict);
}

VFF_FIXTURE(disk);

/* Copy lecture_prog into the mount's source as "prog"; its size in pages. */
static long install_prog(struct vff_mount *m)
{
	char prog[PATH_MAX], buf[65536];
	int in, o;
	ssize_t n;
	off_t size = 0;

	if (!beside_self("lecture_prog", prog))
		return -1;
	in = open(prog, O_RDONLY);
	o = open(vff_path(m, true, "prog"), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || o < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(o, buf, n) != n)
			return -1;
		size += n;
	}
	close(in);
	close(o);
	return (size + page_size() - 1) / page_size();
}

/* Pages of the file at @path in the page cache (mincore). */
static long cached_pages(const char *path, long pages)
{
	unsigned char vec[4096];
	long i, n = 0;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pages > (long)sizeof(vec))
		return -1;
	p = mmap(NULL, pages * page_size(), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED || mincore(p, pages * page_size(), vec))
		return -1;
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(p, pages * page_size());
	return n;
}

TEST_F(disk, text_paged_on_demand)
{
	long pages = install_prog(&self->m), reads, cached;
	char out[256];

	ASSERT_GT(pages, 0);
	ASSERT_EQ(0, vff_set_readahead_kb(&self->m, 0));
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	ASSERT_EQ(0, run_prog(vff_path(&self->m, false, "prog"), "text", out, sizeof(out)));
	ASSERT_STREQ("text ok\n", out);
	reads = vff_stat(&self->m, "read_requests");
	cached = cached_pages(vff_path(&self->m, false, "prog"), pages);
	TH_LOG("first run: %ld READs, %ld of the file's %ld pages in the page cache",
	       reads, cached, pages);
	/* One READ per page the run touched, under half of the file. */
	EXPECT_EQ(cached, reads);
	EXPECT_LT(reads * 2, pages);
	EXPECT_EQ(reads * page_size(), vff_stat(&self->m, "read_bytes"));

	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	ASSERT_EQ(0, run_prog(vff_path(&self->m, false, "prog"), "text", out, sizeof(out)));
	TH_LOG("second run: %ld READs", (long)vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(0, vff_stat(&self->m, "read_requests"));
}

TEST_F(disk, shared_text)
{
	long pages = install_prog(&self->m), reads, cached;
	int in[2][2], outp[2][2], i;
	unsigned long long pfn[2] = { 0, 0 };
	pid_t pid[2];

	ASSERT_GT(pages, 0);
	ASSERT_EQ(0, vff_set_readahead_kb(&self->m, 0));
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe2(in[i], O_CLOEXEC));
		ASSERT_EQ(0, pipe2(outp[i], O_CLOEXEC));
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			dup2(in[i][0], 0);
			dup2(outp[i][1], 1);
			close(in[i][1]);
			close(outp[i][0]);
			execl(vff_path(&self->m, false, "prog"), "prog", "wait", (char *)NULL);
			_exit(127);
		}
		close(in[i][0]);
		close(outp[i][1]);
	}
	for (i = 0; i < 2; i++) {
		char line[64] = "";
		ssize_t n = read(outp[i][0], line, sizeof(line) - 1);

		ASSERT_GT(n, 0);
		line[n] = '\0';
		ASSERT_EQ(1, sscanf(line, "main pfn %llx", &pfn[i]));
	}
	TH_LOG("main()'s text page: pfn %#llx and %#llx, kpagecount %llu",
	       pfn[0], pfn[1], (unsigned long long)kpagecount(pfn[0]));
	EXPECT_NE(0, pfn[0]);
	EXPECT_EQ(pfn[0], pfn[1]);
	EXPECT_EQ(2, kpagecount(pfn[0]));
	for (i = 0; i < 2; i++) {
		int st;

		close(in[i][1]);
		close(outp[i][0]);
		ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	reads = vff_stat(&self->m, "read_requests");
	cached = cached_pages(vff_path(&self->m, false, "prog"), pages);
	TH_LOG("two runs at once: %ld READs, %ld pages cached", reads, cached);
	/* Each page was read from the disk once. */
	EXPECT_EQ(cached, reads);
}

TEST_HARNESS_MAIN
