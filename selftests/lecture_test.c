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
 *   VmSize and 68 KiB to VmRSS (on riscv64's Sv39, whose user space is
 *   256 GiB, a 128 GiB region);
 * - KSM: two processes' identical pages become one frame (KPF_KSM), and a
 *   write copies the page back out.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "vmfault_lib.h"
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
	TH_LOG("%llu GiB at %#lx: VmSize %ld -> %ld kB, VmRSS %ld -> %ld kB",
	       (unsigned long long)(v.size >> 30), (unsigned long)v.addr,
	       v.vsz_before, v.vsz_after, v.rss_before, v.rss_after);
#ifdef __x86_64__
	EXPECT_EQ(VMFAULT_MAX_SIZE, v.size);	/* 47 bits of user space */
#endif
	EXPECT_EQ(v.size / 1024, v.vsz_after - v.vsz_before);
	EXPECT_EQ(17 * page_size() / 1024, v.rss_after - v.rss_before);
}

TEST(ksm_merges_identical_pages)
{
	struct lecture_ksm k;
	const int pages = 16;
	int ret = lecture_ksm(pages, 60000, &k);

	if (ret && k.skip[0])
		SKIP(return, "%s", k.skip);
	ASSERT_EQ(0, ret);
	TH_LOG("pages_sharing %ld -> %ld in %ld ms, -> %ld after one write; same pfn %d, KPF_KSM %d",
	       k.sharing_before, k.sharing_merged, k.merge_ms, k.sharing_after_write,
	       k.same_pfn, k.ksm_flag);
	EXPECT_GE(k.sharing_merged - k.sharing_before, pages);
	EXPECT_EQ(pages, k.same_pfn);
	EXPECT_EQ(pages, k.ksm_flag);
	EXPECT_TRUE(k.write_copied);
	EXPECT_EQ(k.sharing_merged - 1, k.sharing_after_write);
	EXPECT_TRUE(k.other_intact);
}

TEST_HARNESS_MAIN
