// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault_demo: the lecture's zero-fill-on-demand steps, narrated, on
 * /dev/vmfault. Each step prints what it did, the fault counts (getrusage()
 * and the module's own), the pages allocated and the page frames it saw.
 *
 * USAGE: vmfault_demo     (root, module loaded; 'make demo' runs it in the VM)
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "vmfault_lib.h"
#include "lecture_lib.h"

static long ps;
static uint64_t zpfn;

struct snap {
	long ru;
	uint64_t faults, allocated, zero_maps, cow;
};

static void snap(struct snap *s)
{
	s->faults = vmf_proc("faults");
	s->allocated = vmf_proc("pages_allocated");
	s->zero_maps = vmf_proc("zero_page_maps");
	s->cow = vmf_proc("cow_faults");
	s->ru = rusage_faults();
}

static void report(const struct snap *a, const struct snap *b)
{
	printf("   faults (getrusage)        %ld\n", b->ru - a->ru);
	printf("   faults the module served  %llu\n", (unsigned long long)(b->faults - a->faults));
	printf("   zero-page maps            %llu\n",
	       (unsigned long long)(b->zero_maps - a->zero_maps));
	printf("   private copies (do_cow)   %llu\n", (unsigned long long)(b->cow - a->cow));
	printf("   region pages allocated    %llu\n",
	       (unsigned long long)(b->allocated - a->allocated));
}

/*
 * Without CAP_SYS_ADMIN, pagemap hides page frame numbers (they read 0) and
 * /proc/kpageflags cannot be opened: a group member runs the demo (the udev
 * rule) and sees presence and exclusivity instead of frames.
 */
static bool pfns_visible(void)
{
	return zpfn != 0;
}

static const char *pfn_kind(uint64_t pfn)
{
	if (!pfn)
		return "not present";
	if (pfn == zpfn)
		return "the zero page";
	if (kpf(pfn, KPF_ANON))
		return "a private (anonymous) copy";
	return "a region page";
}

static void show_pfn(const char *what, const void *addr)
{
	uint64_t ent = pagemap_entry(addr);
	uint64_t pfn = ent & PM_PRESENT ? ent & PM_PFN_MASK : 0;

	if (!pfns_visible()) {
		printf("   %-22s %s%s\n", what,
		       ent & PM_PRESENT ? "present" : "not present",
		       ent & PM_PRESENT ? (ent & PM_MMAP_EXCLUSIVE ? ", mapped once" :
					   ", mapped more than once") : "");
		return;
	}

	printf("   %-22s pfn %#-9llx %s\n", what, (unsigned long long)pfn, pfn_kind(pfn));
}

static void show_page(const char *p, int i)
{
	char what[32];

	snprintf(what, sizeof(what), "page %d", i);
	show_pfn(what, p + i * ps);
}

static void *map(int fd, size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap /dev/vmfault");
		exit(1);
	}
	return p;
}

static int open_region(void)
{
	int fd = vmf_open();

	if (fd < 0) {
		perror("open " VMFAULT_DEV " (is the module loaded?)");
		exit(1);
	}
	return fd;
}

/* Step 1: xv6's sbrklazy. Map 10 pages, touch 3: 3 faults, 3 pages. */
static void lazy_allocation(void)
{
	const int touched[] = { 0, 4, 9 };
	struct snap a, b;
	int fd = open_region(), i;
	char *p = map(fd, 10 * ps, MAP_SHARED);

	printf("\n== 1. Lazy allocation (xv6: sbrklazy, vmfault()) ==\n");
	printf("mmap(10 pages, MAP_SHARED) of /dev/vmfault, then write pages 0, 4 and 9\n");
	snap(&a);
	for (i = 0; i < 3; i++)
		p[touched[i] * ps] = 'x';
	snap(&b);
	report(&a, &b);
	printf("   -> only 3 of 10 pages used: %ld of %ld bytes\n",
	       (long)(b.allocated - a.allocated) * ps, 10 * ps);
	for (i = 0; i < 3; i++)
		show_page(p, touched[i]);
	show_pfn("page 1 (untouched)", p + ps);
	munmap(p, 10 * ps);
	close(fd);
}

/* Read name[off] of a fresh mapping, then write it; show what that took. */
static void read_then_write(int flags, const char *kind, const char *name, long off,
			    const char *lesson)
{
	struct snap a, b;
	int fd = open_region();
	char *p = map(fd, 4 * ps, flags);

	printf("\n%s: %s[%ld] read, then written\n", kind, name, off);
	snap(&a);
	touch_read(p + off);
	show_pfn("after the read", p + off);
	p[off] = 1;
	snap(&b);
	show_pfn("after the write", p + off);
	report(&a, &b);
	fputs(lesson, stdout);
	munmap(p, 4 * ps);
	close(fd);
}

/* The page-state map of the mapping at @addr (tools/vmfault-pagemap). */
static void show_map(const char *who, const void *addr)
{
	char row[128];

	if (!pagemap_row(addr, row, sizeof(row)))
		printf("   page map, %s: %s\n", who, row);
}

/* Step 2: one zero-filled page shared by every read. */
static void one_zero_page(void)
{
	struct snap a, b;
	int fd = open_region(), i;
	char *p = map(fd, 8 * ps, MAP_PRIVATE);

	printf("\n== 2. One zero-filled page ==\n");
	printf("read 8 pages of a fresh MAP_PRIVATE mapping\n");
	snap(&a);
	for (i = 0; i < 8; i++)
		touch_read(p + i * ps);
	snap(&b);
	report(&a, &b);
	for (i = 0; i < 8; i += 3)
		show_page(p, i);
	show_map("after the reads", p);
	printf("   -> every read maps the same frame, the kernel's zero page");
	if (pfns_visible())
		printf(" (kpageflags ZERO_PAGE: %d)\n", kpf(zpfn, KPF_ZERO_PAGE));
	else
		printf(" (its frame number is root's only)\n");
	munmap(p, 8 * ps);
	close(fd);

	read_then_write(MAP_PRIVATE, "MAP_PRIVATE (xv6's process memory)", "buf", 4096,
			"   -> 2 faults, 1 page: the module maps the zero page on the read;\n"
			"      the write to that read-only pte is core mm's (do_wp_page ->\n"
			"      wp_page_copy), which gives this mapping a zeroed private page\n");
	read_then_write(MAP_PRIVATE, "MAP_PRIVATE", "buf", 8192,
			"   -> the same: 2 faults, 1 page\n");
	read_then_write(MAP_SHARED, "MAP_SHARED", "s", 4096,
			"   -> 2 faults, 1 page: no zero page in a shared mapping that may\n"
			"      be written (a GUP pin of it would go stale when a write\n"
			"      replaced it; Linux refuses it there since 6.10), so the read\n"
			"      allocates the region's page, mapped read-only; the write is\n"
			"      ->page_mkwrite\n");
}

/* Step 3: the exercise "128 KiB array, one write every 16 KiB". */
static void sparse_array(void)
{
	struct snap a, b;
	int fd = open_region(), i;
	char *arr = map(fd, 128 * 1024, MAP_SHARED);

	printf("\n== 3. Exercise: a 128 KiB array, one write every 16 KiB ==\n");
	snap(&a);
	for (i = 0; i < 128 * 1024; i += 16 * 1024)
		arr[i] = 1;
	snap(&b);
	report(&a, &b);
	printf("   -> %llu pages = %llu bytes of memory for a 131072-byte array\n",
	       (unsigned long long)(b.allocated - a.allocated),
	       (unsigned long long)(b.allocated - a.allocated) * ps);
	munmap(arr, 128 * 1024);
	close(fd);
}

/* Print the smaps sharing figures of the mapping that starts at addr. */
static void show_smaps(const char *who, const void *addr)
{
	char line[256];
	unsigned long start, end;
	bool in = false;
	long kb;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return;
	printf("   smaps, %-15s", who);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start == (uintptr_t)addr;
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Shared_Clean: %ld", &kb) == 1)
			printf(" Shared_Clean %2ld kB", kb);
		else if (sscanf(line, "Shared_Dirty: %ld", &kb) == 1)
			printf("  Shared_Dirty %2ld kB", kb);
		else if (sscanf(line, "Private_Dirty: %ld", &kb) == 1)
			printf("  Private_Dirty %2ld kB", kb);
	}
	printf("\n");
	fclose(f);
}

/* Step 4: copy-on-write over region contents. */
static void cow_contents(void)
{
	struct snap a, b;
	int fd = open_region(), i;
	char *data = malloc(4 * ps), *sh, *pr;

	printf("\n== 4. Copy-on-write of a region's contents (MAP_PRIVATE) ==\n");
	vmf_configure(fd, VMFAULT_MODE_ZERO, 4 * ps);
	for (i = 0; i < 4; i++)
		memset(data + i * ps, 'a' + i, ps);
	if (pwrite(fd, data, 4 * ps, 0) != 4 * ps)
		perror("pwrite");
	sh = map(fd, 4 * ps, MAP_SHARED);
	pr = map(fd, 4 * ps, MAP_PRIVATE);
	printf("pwrite() 4 pages of data; map them MAP_SHARED and MAP_PRIVATE; read both\n");
	for (i = 0; i < 4; i++) {
		touch_read(sh + i * ps);
		touch_read(pr + i * ps);
	}
	show_pfn("shared page 1", sh + ps);
	show_pfn("private page 1", pr + ps);
	if (pfns_visible())
		printf("   kpagecount of it          %llu (mapped by both)\n",
		       (unsigned long long)kpagecount(pfn_of(sh + ps)));
	show_smaps("the private", pr);
	printf("private write to page 1 (its pte maps the region page read-only)\n");
	snap(&a);
	pr[ps] = 'X';
	snap(&b);
	report(&a, &b);
	show_pfn("shared page 1", sh + ps);
	show_pfn("private page 1", pr + ps);
	printf("   private page 1 reads      '%c%c%c...' (old data first, then the write)\n",
	       pr[ps], pr[ps + 1], pr[ps + 2]);
	printf("   shared page 1 reads       '%c%c%c...' (the region is unchanged)\n",
	       sh[ps], sh[ps + 1], sh[ps + 2]);
	show_smaps("the private", pr);
	printf("   -> 1 fault (getrusage) and 1 copy, made by core mm's wp_page_copy()\n"
	       "      without calling the module: pagemap shows it (a new anonymous\n"
	       "      frame), and so does scripts/vmfault-cowcopies (bpftrace)\n");
	munmap(sh, 4 * ps);
	munmap(pr, 4 * ps);
	free(data);
	close(fd);
}

/* Step 5: COW fork, the lecture's exercise: exactly 2 pages copied. */
static void cow_fork(void)
{
	int fd = open_region(), i, pfd[2], copied = -1;
	const int n = 8;
	uint64_t pfn[8];
	char *p = map(fd, n * ps, MAP_PRIVATE);
	pid_t pid;

	printf("\n== 5. COW fork: the child writes a 128-byte array and an 8-byte variable ==\n");
	memset(p, 'p', n * ps);
	for (i = 0; i < n; i++)
		pfn[i] = pfn_of(p + i * ps);
	printf("the parent wrote %d private pages; fork()\n", n);
	if (pipe(pfd))
		return;
	pid = fork();
	if (pid == 0) {
		long f0, f1;
		int c = 0;

		show_smaps("child, before", p);
		show_map("child, before", p);
		rusage_faults();	/* may COW its own stack page after fork */
		f0 = rusage_faults();
		memset(p + 2 * ps + 512, 'A', 128);
		*(volatile uint64_t *)(p + 5 * ps + 64) = 42;
		f1 = rusage_faults();
		for (i = 0; i < n; i++)	/* a new frame, or (no root) not shared */
			c += pfns_visible() ? pfn_of(p + i * ps) != pfn[i] :
			     !!(pagemap_entry(p + i * ps) & PM_MMAP_EXCLUSIVE);
		printf("   child: %ld faults, %d of %d pages now have a new frame\n",
		       f1 - f0, c, n);
		show_smaps("child, after", p);
		show_map("child, after", p);
		if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	if (read(pfd[0], &copied, sizeof(copied)) != sizeof(copied))
		copied = -1;
	printf("   -> exactly %d pages copied; the other %d stayed shared until the\n"
	       "      child exited; the parent's data is intact: %s\n", copied, n - copied,
	       p[2 * ps + 512] == 'p' && p[5 * ps + 64] == 'p' ? "yes" : "NO");
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, n * ps);
	close(fd);
}

/* Step 6: fault-around. 64 pages read, with and without the flag. */
static void fault_around(void)
{
	const int n = 64;
	int pass;

	printf("\n== 6. Fault-around: read 64 never-written pages (MAP_PRIVATE) ==\n");
	for (pass = 0; pass < 2; pass++) {
		struct vmfault_config cfg = { .mode = VMFAULT_MODE_ZERO, .size = n * ps,
					      .flags = pass ? VMFAULT_FLAG_FAULT_AROUND : 0 };
		int fd = open_region(), i;
		struct snap a, b;
		char *p;

		if (ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg)) {
			perror("VMFAULT_IOC_CONFIGURE");
			exit(1);
		}
		p = mmap_aligned(n * ps, 16 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			perror("mmap /dev/vmfault");
			exit(1);
		}
		printf("%s:\n", pass ? "VMFAULT_FLAG_FAULT_AROUND: the zero page at every hole of a 16-page window"
				     : "without fault-around (the default, as anonymous memory)");
		snap(&a);
		for (i = 0; i < n; i++)
			touch_read(p + i * ps);
		snap(&b);
		report(&a, &b);
		printf("   -> %ld faults for %d pages\n", b.ru - a.ru, n);
		munmap(p, n * ps);
		close(fd);
	}
}

/* ---- the lecture's second half: the process's own memory ---- */

static void stack_on_demand(void)
{
	struct lecture_stack r;
	unsigned long start[5];
	long faults[4];
	int i;

	printf("\n== 7. The stack on demand: the same 128 KiB array as a local variable ==\n");
	printf("void f(void) { char a[131072]; for (i = 0; i < 131072; i += 16384) a[i] = 1; }\n");
	printf("called on a new thread's stack:\n");
	if (lecture_stack_on_demand(&r)) {
		printf("   FAILED: %s\n", strerror(errno));
		return;
	}
	printf("   faults during the call (RUSAGE_THREAD)  %ld\n", r.faults);
	printf("   pages of a[] present (pagemap)           %d of %d\n", r.present, r.pages);
	printf("   a[] page by page, lowest first           %s\n", r.map);
	printf("   -> %ld faults, %d of %d stack pages: the stack is demand-paged too\n",
	       r.faults, r.present, r.pages);
	printf("The process's [stack] grows as it is used (a store one page below it):\n");
	if (lecture_stack_growth(4, start, faults))
		return;
	for (i = 0; i < 4; i++)
		printf("   store at %#lx: [stack] starts at %#lx, then %#lx (%ld fault)\n",
		       start[i] - ps + 64, start[i], start[i + 1], faults[i]);
	printf("   -> one page, and one fault, per page touched below it\n");
}

static void store_null(void *arg)
{
	(void)arg;
	lecture_store(NULL);
}

static const char *segv_code(int code)
{
	return code == SEGV_MAPERR ? "SEGV_MAPERR (nothing mapped there)" :
	       code == SEGV_ACCERR ? "SEGV_ACCERR (mapped, but not for this access)" : "?";
}

static void guard_pages(void)
{
	struct lecture_guard g;
	struct lecture_segv s;
	long min = lecture_mmap_min_addr();
	int err;

	printf("\n== 8. The null page and guard pages ==\n");
	lecture_catch_segv(store_null, NULL, &s);
	printf("*(int *)0 = 1\n");
	printf("   SIGSEGV %s, si_addr %#lx, %s\n", s.caught ? "caught" : "NOT caught",
	       (unsigned long)s.addr, segv_code(s.code));
	printf("mmap(MAP_FIXED) without CAP_SYS_RAWIO; vm.mmap_min_addr = %ld:\n", min);
	err = lecture_map_fixed_unprivileged(0);
	printf("   at 0                        %s\n", err ? strerror(err) : "mapped");
	err = lecture_map_fixed_unprivileged(min);
	printf("   at %#-24lx %s\n", min, err ? strerror(err) : "mapped");
	printf("   -> page 0 can never be mapped by a user, so a NULL dereference always faults\n");
	if (lecture_thread_guard(&g))
		return;
	printf("A new thread's stack (glibc): a guard page [%#lx, %#lx) below it\n",
	       (unsigned long)g.guard_lo, (unsigned long)g.guard_hi);
	printf("   /proc/self/maps there        %s\n",
	       g.prot_none_vma ? "---p (a PROT_NONE mapping)" : "no mapping");
	printf("   a store into it              SIGSEGV at %#lx, %s\n",
	       (unsigned long)g.segv.addr, segv_code(g.segv.code));
	printf("   -> ACCERR, not MAPERR: the guard is a mapping without access, so a stack\n"
	       "      overflow faults instead of running into the memory below\n");
}

static void cow_second_case(void)
{
	struct lecture_cow c;

	printf("\n== 9. Copy-on-write, case 2: the other side has exited ==\n");
	printf("a written page, fork(); the child exits; the parent writes the page\n");
	if (lecture_cow_after_exit(false, &c))
		return;
	if (pfns_visible()) {
		printf("   before the write   pfn %#llx\n", (unsigned long long)c.pfn_before);
		printf("   after the write    pfn %#llx (%ld fault)\n",
		       (unsigned long long)c.pfn_after, c.faults);
	}
	printf("   -> %s: the page is the parent's alone again, so the fault reuses it\n",
	       !pfns_visible() ? "(frame numbers need root)" :
	       c.pfn_before == c.pfn_after ? "same frame, no copy" : "COPIED");
	if (lecture_cow_after_exit(true, &c))
		return;
	if (pfns_visible())
		printf("   while the child lives: pfn %#llx -> %#llx: case 1, a copy\n",
		       (unsigned long long)c.pfn_before, (unsigned long long)c.pfn_after);
}

static void virt_res(void)
{
	struct lecture_virt_res v;

	printf("\n== 10. top: VIRT and RES of a sparse region ==\n");
	if (lecture_virt_res(VMFAULT_MAX_SIZE, 17, &v)) {
		printf("   FAILED: %s\n", strerror(errno));
		return;
	}
	printf("mmap() %llu GiB of /dev/vmfault, then 17 writes to 17 pages%s\n",
	       (unsigned long long)(v.size >> 30),
	       v.size < VMFAULT_MAX_SIZE ? " (the most Sv39 holds)" : "");
	printf("   VmSize (VIRT)   %ld kB -> %ld kB   (+%ld kB)\n", v.vsz_before, v.vsz_after,
	       v.vsz_after - v.vsz_before);
	printf("   its Rss (RES)   %ld kB -> %ld kB   (+%ld kB)\n", v.rss_before, v.rss_after,
	       v.rss_after - v.rss_before);
	printf("   -> virtual memory is an address range; only the 17 pages written use RAM\n");
}

static void ksm(void)
{
	struct lecture_ksm k;

	printf("\n== 11. Identical pages shared: KSM ==\n");
	printf("two processes, 16 pages each with the same bytes, madvise(MADV_MERGEABLE)\n");
	if (geteuid()) {
		printf("   (needs root: ksmd is started through /sys/kernel/mm/ksm)\n");
		return;
	}
	if (lecture_ksm(16, 60000, &k)) {
		printf("   not run: %s\n", k.skip[0] ? k.skip : strerror(errno));
		return;
	}
	printf("   merged pages (/proc/PID/ksm_merging_pages)  %ld after ksmd's scans (%ld ms)\n",
	       k.merging_merged, k.merge_ms);
	printf("   same frame in both processes   %d of 16 pages (KPF_KSM on %d)\n",
	       k.same_pfn, k.ksm_flag);
	printf("   one process writes its page 0  %s; merged pages %ld (the other process: %ld)\n",
	       k.write_copied ? "a private copy (COW)" : "NOT copied", k.merging_after_write,
	       k.child_after_write);
	printf("   system-wide pages_sharing      %ld -> %ld -> %ld\n",
	       k.sharing_before, k.sharing_merged, k.sharing_after_write);
	printf("   -> what a hypervisor does for identical guest pages; the other copy is intact: %s\n",
	       k.other_intact ? "yes" : "NO");
}

static void growsdown(void)
{
	struct lecture_growsdown g;

	printf("\n== 12. A stack that grows down on demand (xv6's lazy lab) ==\n");
	printf("a %d-page region with VMFAULT_FLAG_GROWSDOWN: the stack is its top page,\n"
	       "its lowest %d pages a guard gap\n", LECTURE_GD_PAGES, LECTURE_GD_GUARD);
	if (lecture_growsdown(&g)) {
		printf("   FAILED: %s\n", strerror(errno));
		return;
	}
	printf("   a store 2 pages below the stack     SIGSEGV at %#lx, %s\n",
	       (unsigned long)g.deep.addr, segv_code(g.deep.code));
	printf("   stores 1 page below it, %d times     %d grew it, %ld faults\n",
	       LECTURE_GD_PAGES - 1 - LECTURE_GD_GUARD, g.grown, g.grow_faults);
	printf("   a store into the guard gap          SIGSEGV at %#lx, %s\n",
	       (unsigned long)g.guard.addr, segv_code(g.guard.code));
	printf("   stack_growths %llu, stack_segv %llu; pages, lowest first (g: the gap):\n",
	       (unsigned long long)g.growths, (unsigned long long)g.segvs);
	printf("   %s\n", g.map);
	printf("   -> the stack grew one page per fault, down to its limit; below it, SIGSEGV\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: vmfault-demo\n"
		       "The page-fault lectures on real faults of /dev/vmfault regions: lazy\n"
		       "allocation, the zero page, a sparse array, copy on write, COW fork,\n"
		       "fault-around; the stack on demand, guard pages and the null page, COW's\n"
		       "second case, VIRT against RES, KSM, a stack that grows down. Needs the module loaded and access to /dev/vmfault (group\n"
		       "vmfault); page frame numbers are shown to root only. See vmfault-demo(1).\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "vmfault-demo: no arguments ('vmfault-demo -h')\n");
		return 2;
	}
	ps = page_size();
	zpfn = zero_pfn();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vmfault demo: zero-fill-on-demand on /dev/vmfault (page size %ld)\n", ps);
	if (pfns_visible()) {
		printf("zero page: pfn %#llx\n", (unsigned long long)zpfn);
		printf("page maps (tools/vmfault-pagemap): . not present, 0 zero page,\n"
		       "  r/R region page (R: mapped more than once), d/D the same but dirty,\n"
		       "  p private copy, P private page still shared after fork\n");
	} else {
		printf("not root: page frame numbers, page flags and page maps are hidden;\n"
		       "  the demo shows which pages are present and which are shared\n");
	}
	lazy_allocation();
	one_zero_page();
	sparse_array();
	cow_contents();
	cow_fork();
	fault_around();
	/*
	 * VMFAULT_DEMO_FIRST_HALF: the region steps only, whose exact
	 * counts selftests/dashboards.sh checks its dashboards against.
	 */
	if (getenv("VMFAULT_DEMO_FIRST_HALF"))
		return 0;
	stack_on_demand();
	guard_pages();
	cow_second_case();
	virt_res();
	ksm();
	growsdown();
	return 0;
}
