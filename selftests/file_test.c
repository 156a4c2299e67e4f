// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault file mode: demand paging from a backing file on vmfaultfs.
 *
 *  - a miss is one major fault and one READ of the window, which stops at a
 *    page the region holds already; prefetch windows
 *    1, 4, 16, 64 with and without fault-around, against a model of both
 *    ("# window:" lines);
 *  - the end of the file, permissions and bad backing fds;
 *  - writeback of MAP_SHARED writes on msync, fsync, munmap, close, exit
 *    and VMFAULT_IOC_FLUSH, and what happens when a WRITE fails;
 *  - MAP_PRIVATE writes, across fork too, never reaching the file;
 *  - read errors, a killed, stalled or aborted daemon;
 *  - many threads on one page, and faults racing munmap, close and fork;
 *  - the same file through the page cache (filemap_fault) and through
 *    /dev/vmfault, side by side ("# compare:" lines);
 *  - VMFAULT_FLAG_ASYNC_PREFETCH: the next window read in the background,
 *    waited for when a fault needs it, read again after an error, and not
 *    under MADV_RANDOM.
 *
 * Every count is exact: the module's counters, the daemon's, getrusage().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"

#define NPAGES	256		/* the scan file: 1 MiB */
#define HUGE	(2UL << 20)

/* Page i of every test file is filled with page_byte(i). */
static char page_byte(unsigned long i)
{
	return 'A' + i % 26;
}

/* Create @name in the source directory: @size bytes of the page pattern. */
static int make_pattern(struct vff_mount *m, const char *name, size_t size)
{
	long ps = page_size();
	char *buf = malloc(size ? size : 1);
	int fd, ok;

	if (!buf)
		return -1;
	for (size_t i = 0; i < size; i++)
		buf[i] = page_byte(i / ps);
	fd = open(vff_path(m, true, name), O_CREAT | O_TRUNC | O_WRONLY, 0644);
	ok = fd >= 0 && write(fd, buf, size) == (ssize_t)size;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static int configure_file(int fd, int bfd, uint32_t window, uint32_t flags, uint64_t size)
{
	struct vmfault_config cfg = {
		.mode = VMFAULT_MODE_FILE, .flags = flags, .size = size,
		.fd = bfd, .window = window,
	};

	return ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg);
}

/*
 * A region backed by @name on the mount, opened with @oflags. The backing
 * fd is closed before this returns: the module holds its own reference.
 * Returns the region fd, or -1.
 */
static int file_region(struct vff_mount *m, const char *name, int oflags,
		       uint32_t window, uint32_t flags, uint64_t size)
{
	int bfd = open(vff_path(m, false, name), oflags), fd = -1;

	if (bfd < 0)
		return -1;
	fd = vmf_open();
	if (fd >= 0 && configure_file(fd, bfd, window, flags, size)) {
		close(fd);
		fd = -1;
	}
	close(bfd);
	return fd;
}

/*
 * Map @len bytes of @fd at a 2 MiB-aligned address: one page table covers
 * the mapping and fault-around windows start at page 0.
 */
static char *map_aligned(int fd, size_t len, int prot, int flags)
{
	char *r = mmap(NULL, len + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (r == MAP_FAILED)
		return r;
	a = (char *)(((uintptr_t)r + HUGE - 1) & ~(HUGE - 1));
	if (mmap(a, len, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(r, len + HUGE);
		return MAP_FAILED;
	}
	if (a > r)
		munmap(r, a - r);
	munmap(a + len, r + len + HUGE - (a + len));
	return a;
}

/* Is every byte of page i of @p page_byte(i), for @n pages from @first? */
static bool pages_ok(const char *p, unsigned long first, unsigned long n)
{
	long ps = page_size();

	for (unsigned long i = first; i < first + n; i++)
		if (!all_bytes(p + i * ps, ps, page_byte(i)))
			return false;
	return true;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static bool present(const void *p)
{
	return pagemap_entry(p) & (1ULL << 63);
}

/* A file reference the module leaked would make the teardown's umount EBUSY. */
VFF_FIXTURE(file)

/*
 * A miss is a major fault (ru_majflt, pgmajfault, the module's counter)
 * and one READ of one page from the daemon; the page is the region's, the
 * same frame in every mapping; touching it again costs nothing.
 */
TEST_F(file, miss_is_one_major_fault_and_one_read)
{
	struct vmfault_region_info info;
	long maj, pgmaj;
	char *p, *q;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 16 * self->ps));
	fd = file_region(&self->m, "f", O_RDONLY, 1, VMFAULT_FLAG_NO_FAULT_AROUND, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 16 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	/* Code that runs between the two majflt() calls must be paged in. */
	pgmaj = kv_read("/proc/vmstat", "pgmajfault");
	pgmaj = kv_read("/proc/vmstat", "pgmajfault");
	EXPECT_EQ(1, pages_ok(p, 5, 0));
	maj = majflt();
	EXPECT_EQ(page_byte(5), p[5 * self->ps]);
	EXPECT_EQ(1, majflt() - maj);
	EXPECT_LE(1, kv_read("/proc/vmstat", "pgmajfault") - pgmaj);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(self->ps, vff_stat(&self->m, "read_bytes"));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(VMFAULT_MODE_FILE, info.mode);
	EXPECT_EQ(16 * self->ps, info.size);
	EXPECT_EQ(1, info.window);
	EXPECT_EQ(1, info.resident);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(self->ps, info.counters[VMFAULT_CNT_BYTES_READ]);
	EXPECT_LT(0, info.counters[VMFAULT_CNT_READ_NS]);
	maj = majflt();
	EXPECT_TRUE(pages_ok(p, 5, 1));
	/* A second mapping maps the same frame, without a major fault. */
	q = mmap(NULL, 16 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(page_byte(5), q[5 * self->ps]);
	EXPECT_EQ(0, majflt() - maj);
	/* (pfn_of() and kpf() may fault their own code in: after the count.) */
	EXPECT_EQ(pfn_of(p + 5 * self->ps), pfn_of(q + 5 * self->ps));
	EXPECT_FALSE(kpf(pfn_of(q + 5 * self->ps), KPF_ANON));
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	munmap(q, 16 * self->ps);
	munmap(p, 16 * self->ps);
	close(fd);
}

/*
 * A window read stops at the first page the region holds already. A
 * write() of page 9 reads its window (pages 9 to 15, as every write of a
 * page that is not resident) and then writes page 9; that page is kept as
 * it is by the reads of the windows before it (its frame, its data, then
 * the file's after fsync()), which cover only the pages before the first
 * resident one, each in one READ.
 */
TEST_F(file, window_stops_at_a_resident_page)
{
	const char x = ~page_byte(9);
	struct vmfault_region_info info;
	uint64_t pfn;
	char *buf, *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 16 * self->ps));
	fd = file_region(&self->m, "f", O_RDWR, 16, VMFAULT_FLAG_NO_FAULT_AROUND, 0);
	ASSERT_LE(0, fd);
	buf = malloc(16 * self->ps);
	ASSERT_NE(NULL, buf);
	memset(buf, x, self->ps);
	ASSERT_EQ(self->ps, pwrite(fd, buf, self->ps, 9 * self->ps));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(7, info.resident);
	p = map_aligned(fd, 16 * self->ps, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(x, p[9 * self->ps]);
	pfn = pfn_of(p + 9 * self->ps);
	ASSERT_NE(0, pfn);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	/* A miss at page 3 reads pages 3 to 8, in one READ. */
	EXPECT_EQ(page_byte(3), p[3 * self->ps]);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(6 * self->ps, vff_stat(&self->m, "read_bytes"));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(13, info.resident);
	EXPECT_TRUE(pages_ok(p, 3, 6));
	EXPECT_TRUE(all_bytes(p + 9 * self->ps, self->ps, x));
	EXPECT_TRUE(pages_ok(p, 10, 6));
	EXPECT_EQ(pfn, pfn_of(p + 9 * self->ps));
	/* A miss at page 0 reads pages 0 to 2; nothing else is read. */
	EXPECT_EQ(page_byte(0), p[0]);
	EXPECT_EQ(2, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(9 * self->ps, vff_stat(&self->m, "read_bytes"));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(16, info.resident);
	EXPECT_TRUE(pages_ok(p, 0, 9));
	EXPECT_EQ(pfn, pfn_of(p + 9 * self->ps));
	/* The file: its own data but page 9's, which is the write's. */
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(16 * self->ps, read_file(vff_path(&self->m, true, "f"), buf, 16 * self->ps));
	EXPECT_TRUE(pages_ok(buf, 0, 9));
	EXPECT_TRUE(all_bytes(buf + 9 * self->ps, self->ps, x));
	EXPECT_TRUE(pages_ok(buf, 10, 6));
	free(buf);
	munmap(p, 16 * self->ps);
	close(fd);
}

struct scan {
	long faults, major, reads, around;
};

/*
 * The model of a sequential scan: a miss reads the window (absent pages
 * from the miss on), with mmap_lock dropped; core mm retries the fault,
 * and the retry's ->map_pages maps the resident pages of the faulting
 * address's fault-around block (@fa pages, aligned), the faulting one
 * among them. A fault on a resident page does the same without reading.
 * Either way one fault (major if it read), and no fault-around without
 * ->map_pages (@fa 1).
 */
static void scan_model(unsigned int n, unsigned int window, unsigned int fa, struct scan *s)
{
	bool res[NPAGES] = { 0 }, mapped[NPAGES] = { 0 };

	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < n; i++) {
		if (mapped[i])
			continue;
		s->faults++;
		if (!res[i]) {
			s->major++;
			s->reads++;
			for (unsigned int j = i; j < n && j < i + window && !res[j]; j++)
				res[j] = true;
		}
		for (unsigned int j = i & ~(fa - 1); fa > 1 && j < n && j < (i & ~(fa - 1)) + fa; j++) {
			if (res[j] && !mapped[j]) {
				mapped[j] = true;
				if (j != i)
					s->around++;
			}
		}
		mapped[i] = true;
	}
}

/* Core mm's fault-around block in pages (64 KiB if unreadable). */
static unsigned int fault_around_pages(void)
{
	unsigned long bytes = fault_around_bytes();

	return (bytes ? bytes : 65536) / page_size();
}

/*
 * Prefetch windows 1, 4, 16 and 64, with and without fault-around, on a
 * sequential scan of 256 pages. Faults, major faults, READs and
 * fault-around pages equal the model exactly, in the module's counters,
 * the daemon's and getrusage(); every page is read once.
 */
TEST_F_TIMEOUT(file, prefetch_window_and_fault_around, 300)
{
	static const unsigned int windows[] = { 1, 4, 16, 64 };
	unsigned int fa = fault_around_pages();
	size_t len = NPAGES * self->ps;

	ASSERT_EQ(0, make_pattern(&self->m, "f", len));
	for (int w = 0; w < 4; w++) {
		for (int around = 1; around >= 0; around--) {
			struct vmfault_region_info info;
			long min0, maj0, faults, maj;
			uint64_t t0, us;
			struct scan s;
			char *p;
			int fd;

			fd = file_region(&self->m, "f", O_RDONLY, windows[w],
					 around ? 0 : VMFAULT_FLAG_NO_FAULT_AROUND, 0);
			ASSERT_LE(0, fd);
			p = map_aligned(fd, len, PROT_READ, MAP_SHARED);
			ASSERT_NE(MAP_FAILED, p);
			scan_model(NPAGES, windows[w], around ? fa : 1, &s);
			ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
			t0 = now_ms();
			min0 = minflt();
			maj0 = majflt();
			for (unsigned int i = 0; i < NPAGES; i++)
				(void)*(volatile char *)(p + i * self->ps);
			maj = majflt() - maj0;
			faults = minflt() - min0 + maj;
			us = (now_ms() - t0) * 1000;
			ASSERT_EQ(0, vmf_info(fd, &info));
			EXPECT_EQ(s.faults, faults);
			EXPECT_EQ(s.major, maj);
			EXPECT_EQ(s.faults, info.counters[VMFAULT_CNT_FAULTS]);
			EXPECT_EQ(s.major, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
			EXPECT_EQ(s.reads, info.counters[VMFAULT_CNT_FILE_READS]);
			EXPECT_EQ(s.around, info.counters[VMFAULT_CNT_FAULT_AROUND]);
			EXPECT_EQ(NPAGES, info.counters[VMFAULT_CNT_PAGES_READ]);
			EXPECT_EQ(s.reads, vff_stat(&self->m, "read_requests"));
			EXPECT_EQ(len, vff_stat(&self->m, "read_bytes"));
			/* A READ of two pages or more goes out by splice. */
			EXPECT_EQ(windows[w] > 1 ? s.reads : 0,
				  vff_stat(&self->m, "read_spliced"));
			EXPECT_TRUE(pages_ok(p, 0, NPAGES));
			report("window: %u fault-around %s faults %ld major %ld reads %lu bytes %lu around %lu us/page %lu\n",
			       windows[w], around ? "on" : "off", faults, maj,
			       (unsigned long)vff_stat(&self->m, "read_requests"),
			       (unsigned long)vff_stat(&self->m, "read_bytes"),
			       (unsigned long)info.counters[VMFAULT_CNT_FAULT_AROUND],
			       (unsigned long)(us / NPAGES));
			munmap(p, len);
			close(fd);
		}
	}
}

/*
 * The end of the file: the tail of the last partial page reads as zeros;
 * pages wholly past the end, and past the region, get SIGBUS; size 0
 * takes the file's size rounded up to a page.
 */
TEST_F(file, eof_tail_zeros_and_sigbus)
{
	struct access_arg a = { .len = self->ps };
	size_t fsize = 2 * self->ps + self->ps / 2;
	struct vmfault_region_info info;
	char buf[64];
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", fsize));
	fd = file_region(&self->m, "f", O_RDONLY, 4, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(3 * self->ps, info.size);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(pages_ok(p, 0, 2));
	EXPECT_TRUE(all_bytes(p + 2 * self->ps, self->ps / 2, page_byte(2)));
	EXPECT_TRUE(all_bytes(p + fsize, self->ps / 2, 0));
	a.p = p + 3 * self->ps;		/* past the region */
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	munmap(p, 4 * self->ps);
	close(fd);

	/* An explicit size past the end: those pages are SIGBUS, not zeros. */
	fd = file_region(&self->m, "f", O_RDONLY, 8, 0, 8 * self->ps);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 8 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(page_byte(0), p[0]);		/* reads pages 0-2: the window stops at the end */
	for (int i = 3; i < 8; i++) {
		a.p = p + i * self->ps;
		EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	}
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(5, info.counters[VMFAULT_CNT_SIGBUS]);
	EXPECT_EQ(3, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(fsize, info.counters[VMFAULT_CNT_BYTES_READ]);
	/* read() stops at the end of the data too. */
	EXPECT_EQ(0, pread(fd, buf, sizeof(buf), 4 * self->ps));
	EXPECT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), fsize - 32));
	EXPECT_TRUE(all_bytes(buf, 32, page_byte(2)));
	EXPECT_TRUE(all_bytes(buf + 32, 32, 0));
	munmap(p, 8 * self->ps);
	close(fd);
}

/*
 * A MAP_SHARED writer of a fresh @npages file: pages 1 and 3 written, the
 * source not yet. Returns the mapping (region fd in *@fdp), or NULL.
 */
static char *shared_writer(struct vff_mount *m, int *fdp, int npages)
{
	long ps = page_size();
	char *p;

	if (make_pattern(m, "f", npages * ps))
		return NULL;
	*fdp = file_region(m, "f", O_RDWR, 1, 0, 0);
	if (*fdp < 0)
		return NULL;
	p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE, MAP_SHARED, *fdp, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p + ps, '1', ps);
	memset(p + 3 * ps, '3', ps);
	return p;
}

/* Does the source file hold page_byte(i), except pages 1 and 3 as written? */
static bool source_written(struct vff_mount *m, int npages, bool written)
{
	long ps = page_size();
	size_t len = npages * ps;
	char *buf = malloc(len);
	bool ok;

	ok = buf && read_file(vff_path(m, true, "f"), buf, len) == (ssize_t)len;
	for (int i = 0; ok && i < npages; i++) {
		char c = page_byte(i);

		if (written && (i == 1 || i == 3))
			c = '0' + i;
		ok = all_bytes(buf + i * ps, ps, c);
	}
	free(buf);
	return ok;
}

/*
 * msync(MS_SYNC) writes the dirty pages back, one WRITE per run of
 * contiguous pages, and unmaps them; the next write dirties them again,
 * and fsync() of the region writes them again.
 */
TEST_F(file, writeback_on_msync_and_fsync)
{
	struct vmfault_region_info info;
	int fd;
	char *p = shared_writer(&self->m, &fd, 8);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(page_byte(0), p[0]);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.dirty);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_PAGES_DIRTIED]);
	EXPECT_TRUE(source_written(&self->m, 8, false));
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	EXPECT_EQ(0, msync(p, 8 * self->ps, MS_SYNC));
	EXPECT_TRUE(source_written(&self->m, 8, true));
	EXPECT_EQ(2, vff_stat(&self->m, "write_requests"));
	EXPECT_EQ(2 * self->ps, vff_stat(&self->m, "write_bytes"));
	EXPECT_LE(1, vff_stat(&self->m, "fsync_requests"));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.dirty);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_WRITEBACKS]);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_PAGES_WRITTEN]);
	EXPECT_EQ(2 * self->ps, info.counters[VMFAULT_CNT_BYTES_WRITTEN]);
	/* Written pages were unmapped; clean ones stay mapped. */
	EXPECT_FALSE(present(p + self->ps));
	EXPECT_TRUE(present(p));
	/* Two contiguous dirty pages are one WRITE. */
	p[self->ps] = '1';
	p[2 * self->ps] = page_byte(2);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(1, vff_stat(&self->m, "write_requests"));
	EXPECT_EQ(2 * self->ps, vff_stat(&self->m, "write_bytes"));
	EXPECT_TRUE(source_written(&self->m, 8, true));
	/* Nothing dirty: nothing written. */
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_FLUSH));
	EXPECT_EQ(0, vff_stat(&self->m, "write_requests"));
	munmap(p, 8 * self->ps);
	close(fd);
}

enum wb_trigger { WB_MUNMAP, WB_CLOSE, WB_FLUSH, WB_EXIT, WB_KILLED };

/* Each way a region's dirty pages reach the file, without msync(). */
static void writeback_on(struct __test_metadata *_metadata, struct vff_mount *m,
			 enum wb_trigger how)
{
	long ps = page_size();
	int fd, status;
	char *p;
	pid_t pid;

	if (how >= WB_EXIT) {
		ASSERT_EQ(0, make_pattern(m, "f", 8 * ps));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			p = shared_writer(m, &fd, 8);
			if (how == WB_KILLED)
				raise(SIGKILL);
			_exit(p ? 0 : 1);
		}
		ASSERT_EQ(0, reap_child(pid, &status, 20000));
		EXPECT_TRUE(how == WB_KILLED ? WIFSIGNALED(status) :
			    WIFEXITED(status) && !WEXITSTATUS(status));
		EXPECT_TRUE(source_written(m, 8, true));
		return;
	}
	p = shared_writer(m, &fd, 8);
	ASSERT_NE(NULL, p);
	switch (how) {
	case WB_MUNMAP:
		EXPECT_EQ(0, munmap(p, 8 * ps));
		EXPECT_TRUE(source_written(m, 8, true));
		break;
	case WB_CLOSE:
		/* close() writes back although the mapping stays. */
		EXPECT_EQ(0, close(fd));
		EXPECT_TRUE(source_written(m, 8, true));
		/* The mapping still writes; its munmap() writes back. */
		p[5 * ps] = 'x';
		EXPECT_EQ(0, munmap(p, 8 * ps));
		p = malloc(8 * ps);
		ASSERT_NE(NULL, p);
		EXPECT_EQ(8 * ps, read_file(vff_path(m, true, "f"), p, 8 * ps));
		EXPECT_EQ('x', p[5 * ps]);
		free(p);
		return;
	default:
		EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_FLUSH));
		EXPECT_TRUE(source_written(m, 8, true));
		munmap(p, 8 * ps);
		break;
	}
	close(fd);
}

/*
 * GET_INFO's dirty count is one walk of the region's marked pages, which
 * pauses every 1024 entries (region.c): it stays exact across the pauses,
 * for 3000 dirty pages of a memfd-backed region, for every other page
 * written again after a FLUSH, and for none after the next one.
 */
TEST_F(file, dirty_count_over_thousands_of_pages)
{
	const unsigned long n = 3000;
	struct vmfault_region_info info;
	int mfd = memfd_create("dirty", MFD_CLOEXEC), fd;
	char *p;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, n * self->ps));
	fd = vmf_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, configure_file(fd, mfd, 1, 0, 0));
	close(mfd);
	p = mmap(NULL, n * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (unsigned long i = 0; i < n; i++)
		p[i * self->ps] = 'd';
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(n, info.dirty);
	EXPECT_EQ(n, info.counters[VMFAULT_CNT_PAGES_DIRTIED]);
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_FLUSH));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.dirty);
	for (unsigned long i = 0; i < n; i += 2)
		p[i * self->ps] = 'e';
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(n / 2, info.dirty);
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_FLUSH));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.dirty);
	EXPECT_EQ(n + n / 2, info.counters[VMFAULT_CNT_PAGES_WRITTEN]);
	munmap(p, n * self->ps);
	close(fd);
}

TEST_F(file, writeback_on_munmap)
{
	writeback_on(_metadata, &self->m, WB_MUNMAP);
}

TEST_F(file, writeback_on_close)
{
	writeback_on(_metadata, &self->m, WB_CLOSE);
}

TEST_F(file, writeback_on_flush_ioctl)
{
	writeback_on(_metadata, &self->m, WB_FLUSH);
}

TEST_F(file, writeback_on_exit)
{
	writeback_on(_metadata, &self->m, WB_EXIT);
}

TEST_F(file, writeback_on_sigkill)
{
	writeback_on(_metadata, &self->m, WB_KILLED);
}

/*
 * A WRITE that fails: msync() and VMFAULT_IOC_FLUSH return EIO, the pages
 * stay dirty and are counted; once the disk works again they are written.
 */
TEST_F(file, writeback_error_keeps_pages_dirty)
{
	struct vmfault_region_info info;
	int fd;
	char *p = shared_writer(&self->m, &fd, 8);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_after 0"));
	EXPECT_EQ(-1, msync(p, 8 * self->ps, MS_SYNC));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_FLUSH));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.dirty);
	EXPECT_LE(2, info.counters[VMFAULT_CNT_IO_ERRORS]);
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_PAGES_WRITTEN]);
	EXPECT_TRUE(source_written(&self->m, 8, false));
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_after off"));
	EXPECT_EQ(0, msync(p, 8 * self->ps, MS_SYNC));
	EXPECT_TRUE(source_written(&self->m, 8, true));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.dirty);
	munmap(p, 8 * self->ps);
	close(fd);
}

/*
 * MAP_PRIVATE writes are copied (do_cow_fault) into anonymous pages and
 * never reach the region, the file or a MAP_SHARED view, nor across fork.
 */
TEST_F(file, private_writes_never_reach_the_file)
{
	struct vmfault_region_info info;
	char *priv, *shared;
	int fd, status;
	pid_t pid;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	fd = file_region(&self->m, "f", O_RDWR, 1, 0, 0);
	ASSERT_LE(0, fd);
	priv = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	shared = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	ASSERT_NE(MAP_FAILED, shared);
	priv[0] = 'p';				/* miss + COW */
	EXPECT_EQ(page_byte(1), priv[self->ps]);
	priv[self->ps] = 'q';			/* COW of a mapped page */
	EXPECT_TRUE(kpf(pfn_of(priv), KPF_ANON));
	EXPECT_TRUE(pages_ok(shared, 0, 4));
	EXPECT_NE(pfn_of(priv), pfn_of(shared));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		priv[2 * self->ps] = 'c';
		_exit(priv[0] == 'p' && priv[self->ps] == 'q' ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(page_byte(2), priv[2 * self->ps]);
	EXPECT_EQ(0, msync(priv, 4 * self->ps, MS_SYNC));
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_FLUSH));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_PAGES_DIRTIED]);
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_WRITEBACKS]);
	EXPECT_LE(1, info.counters[VMFAULT_CNT_COW_FAULTS]);
	munmap(priv, 4 * self->ps);
	munmap(shared, 4 * self->ps);
	close(fd);
	EXPECT_TRUE(source_written(&self->m, 4, false));
}

/*
 * A backing fd opened O_RDONLY is never written through: MAP_SHARED with
 * PROT_WRITE and mprotect() to it are EACCES, write() is EACCES;
 * MAP_PRIVATE writes COW. The file's bytes and mtime do not change.
 */
TEST_F(file, readonly_backing_is_never_written)
{
	struct stat before, after;
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	ASSERT_EQ(0, stat(vff_path(&self->m, true, "f"), &before));
	fd = file_region(&self->m, "f", O_RDONLY, 1, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, 4 * self->ps, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, 4 * self->ps);
	EXPECT_EQ(-1, pwrite(fd, "x", 1, 0));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'w', 4 * self->ps);
	EXPECT_EQ(0, msync(p, 4 * self->ps, MS_SYNC));
	munmap(p, 4 * self->ps);
	close(fd);
	EXPECT_TRUE(source_written(&self->m, 4, false));
	ASSERT_EQ(0, stat(vff_path(&self->m, true, "f"), &after));
	EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
}

/*
 * Bad backing fds and arguments: EBADF for a closed fd, -1, an O_PATH or
 * an O_WRONLY fd; EINVAL for a directory, a pipe, a socket, /dev/vmfault,
 * an unaligned or overflowing offset, a window too big, unknown flags, and
 * file fields in zero mode. None of them takes a reference (the mount
 * unmounts in teardown).
 */
TEST_F(file, bad_backing_fds)
{
	int fd = vmf_open(), pipefd[2], sock, dir, wronly, opath, self_fd, good;
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE };
	char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	ASSERT_EQ(0, pipe(pipefd));
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	dir = open(self->m.mnt, O_RDONLY | O_DIRECTORY);
	wronly = open(vff_path(&self->m, false, "f"), O_WRONLY);
	opath = open(vff_path(&self->m, false, "f"), O_PATH);
	good = open(vff_path(&self->m, false, "f"), O_RDONLY);
	self_fd = vmf_open();
	ASSERT_LE(0, sock);
	ASSERT_LE(0, dir);
	ASSERT_LE(0, wronly);
	ASSERT_LE(0, opath);
	ASSERT_LE(0, good);
	ASSERT_LE(0, self_fd);

	struct { int bfd; int err; } bad[] = {
		{ -1, EBADF }, { 1000, EBADF }, { opath, EBADF }, { wronly, EBADF },
		{ dir, EINVAL }, { pipefd[0], EINVAL }, { sock, EINVAL },
		{ self_fd, EINVAL }, { fd, EINVAL },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, configure_file(fd, bad[i].bfd, 1, 0, 0)) TH_LOG("case %u", i);
		EXPECT_EQ(bad[i].err, errno) TH_LOG("case %u", i);
	}
	cfg.fd = good;
	cfg.offset = 100;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.offset = ~0ULL - 4095;
	cfg.size = 8192;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.offset = 8 * self->ps;	/* size 0 = to the end, but past it */
	cfg.size = 0;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.offset = 0;
	cfg.window = VMFAULT_MAX_WINDOW + 1;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.window = 0;
	cfg.flags = 0x80;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.flags = VMFAULT_FLAG_FAULT_AROUND;	/* zero mode's */
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	cfg.flags = 0;
	cfg.mode = VMFAULT_MODE_ZERO;
	cfg.size = self->ps;
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EINVAL, errno);
	/* The good fd, then a good reconfiguration before mmap, then EBUSY. */
	cfg.mode = VMFAULT_MODE_FILE;
	cfg.size = 0;
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	cfg.window = 4;
	EXPECT_EQ(0, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EBUSY, errno);
	munmap(p, self->ps);
	close(good);
	close(self_fd);
	close(opath);
	close(wronly);
	close(dir);
	close(sock);
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
}

/*
 * EIO for a page is SIGBUS for the access that needs it, counted; the
 * page stays unreadable until the disk answers, then reads normally.
 */
TEST_F(file, read_error_is_sigbus)
{
	struct access_arg a = { .len = self->ps };
	struct vmfault_region_info info;
	char cmd[64];
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	fd = file_region(&self->m, "f", O_RDONLY, 1, 0, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	snprintf(cmd, sizeof(cmd), "eio_offset %ld\neio_len 1\n", 2 * self->ps);
	ASSERT_EQ(0, vff_ctl(&self->m, cmd));
	a.p = p + 2 * self->ps;
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	EXPECT_EQ(page_byte(1), p[self->ps]);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_IO_ERRORS]);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_SIGBUS]);
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_len 0"));
	EXPECT_TRUE(pages_ok(p, 0, 4));
	munmap(p, 4 * self->ps);
	close(fd);
}

/* A region on vmfaultfs with readahead off, mapped read-only, fd closed. */
static char *region_fresh(struct vff_mount *m, int npages)
{
	char *p;
	int fd;

	if (make_pattern(m, "f", npages * page_size()))
		return MAP_FAILED;
	fd = file_region(m, "f", O_RDONLY, 1, 0, 0);
	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, npages * page_size(), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p;
}

/*
 * region_fresh() of 4 pages at *@p, and a child blocked reading its page
 * @page on the stalled daemon (vff_stalled_toucher()); -1 on failure.
 */
static pid_t stalled_reader(struct vff_mount *m, char **p, int page)
{
	struct access_arg a = { .len = page_size() };

	*p = region_fresh(m, 4);
	if (*p == MAP_FAILED)
		return -1;
	a.p = *p + page * page_size();
	return vff_stalled_toucher(m, &a);
}

/*
 * A killed daemon: resident pages still read, a miss is SIGBUS (the
 * connection is gone), never a hang.
 */
TEST_F(file, daemon_killed_sigbus)
{
	struct access_arg a = { .len = self->ps };
	int status;
	char *p = region_fresh(&self->m, 4);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(page_byte(0), p[0]);
	ASSERT_EQ(0, kill(self->m.pid, SIGKILL));
	ASSERT_EQ(0, reap_child(self->m.pid, &status, 10000));
	self->m.pid = 0;
	EXPECT_EQ(page_byte(0), p[1]);
	a.p = p + self->ps;
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	munmap(p, 4 * self->ps);
}

/* The daemon killed while a fault waits for its READ: that fault is SIGBUS. */
TEST_F(file, daemon_killed_mid_fault)
{
	char *p;
	pid_t child = stalled_reader(&self->m, &p, 3);
	int status;

	ASSERT_LE(0, child);
	ASSERT_EQ(0, kill(self->m.pid, SIGKILL));
	EXPECT_EQ(0, reap_child(self->m.pid, &status, 10000));
	self->m.pid = 0;
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	munmap(p, 4 * self->ps);
}

/* A fault on a stalled daemon is killable, then the page reads normally. */
TEST_F(file, stalled_fault_is_killable)
{
	char *p;
	pid_t child = stalled_reader(&self->m, &p, 1);
	int status;

	ASSERT_LE(0, child);
	kill(child, SIGKILL);
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_EQ(0, vff_ctl(&self->m, "stall 0"));
	EXPECT_TRUE(pages_ok(p, 0, 4));
	munmap(p, 4 * self->ps);
}

/* Aborting the connection under a blocked fault gives it SIGBUS. */
TEST_F(file, connection_abort_sigbus)
{
	char *p;
	pid_t child = stalled_reader(&self->m, &p, 2);
	int status;

	ASSERT_LE(0, child);
	ASSERT_EQ(0, vff_abort(&self->m));
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	EXPECT_EQ(0, reap_child(self->m.pid, &self->m.status, 10000));
	self->m.pid = 0;
	munmap(p, 4 * self->ps);
}

struct toucher {
	pthread_barrier_t *go;
	char *p;
	char seen;
};

static void *touch_thread(void *arg)
{
	struct toucher *t = arg;

	pthread_barrier_wait(t->go);
	t->seen = *(volatile char *)t->p;
	return NULL;
}

/*
 * Eight threads fault the same page at once, on a disk that takes 50 ms:
 * one READ, one page read; all eight see the data.
 */
TEST_F(file, many_threads_one_read)
{
	struct vmfault_region_info info;
	struct toucher t[8];
	pthread_barrier_t go;
	pthread_t th[8];
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	fd = file_region(&self->m, "f", O_RDONLY, 1, 0, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vff_ctl(&self->m, "read_delay_us 50000\nzero_stats\n"));
	pthread_barrier_init(&go, NULL, 8);
	for (int i = 0; i < 8; i++) {
		t[i] = (struct toucher){ .go = &go, .p = p + 3 * self->ps };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, touch_thread, &t[i]));
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(page_byte(3), t[i].seen);
	}
	pthread_barrier_destroy(&go);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	munmap(p, 4 * self->ps);
	close(fd);
}

/*
 * read() and write() on the region fd with the buffer a mapping of the
 * same region: the copy faults into the region while the module holds no
 * lock, so nothing deadlocks, and the data is right.
 */
TEST_F(file, syscalls_into_own_mapping)
{
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", 8 * self->ps));
	fd = file_region(&self->m, "f", O_RDWR, 1, 0, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 8 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Page 6's data into page 1, through a read() into the mapping. */
	EXPECT_EQ(self->ps, pread(fd, p + self->ps, self->ps, 6 * self->ps));
	EXPECT_TRUE(all_bytes(p + self->ps, self->ps, page_byte(6)));
	/* Page 2 (not resident) into page 3 (not resident) with write(). */
	EXPECT_EQ(self->ps, pwrite(fd, p + 2 * self->ps, self->ps, 3 * self->ps));
	EXPECT_TRUE(all_bytes(p + 3 * self->ps, self->ps, page_byte(2)));
	/* The same page as source and destination. */
	EXPECT_EQ(self->ps, pwrite(fd, p + 5 * self->ps, self->ps, 5 * self->ps));
	EXPECT_EQ(0, fsync(fd));
	munmap(p, 8 * self->ps);
	p = malloc(8 * self->ps);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(8 * self->ps, read_file(vff_path(&self->m, true, "f"), p, 8 * self->ps));
	EXPECT_TRUE(all_bytes(p + self->ps, self->ps, page_byte(6)));
	EXPECT_TRUE(all_bytes(p + 3 * self->ps, self->ps, page_byte(2)));
	EXPECT_TRUE(pages_ok(p, 4, 4));
	free(p);
	close(fd);
}

struct racer {
	char *p;
	size_t len;
	int fd;
	volatile bool stop;
	unsigned long bad;
};

static void *fault_loop(void *arg)
{
	struct racer *r = arg;
	long ps = page_size();

	while (!r->stop) {
		for (size_t i = 0; i < r->len / ps; i++) {
			char c = *(volatile char *)(r->p + i * ps);

			if (c != page_byte(i))
				r->bad++;
		}
	}
	return NULL;
}

/* Rewrites every page with its own bytes and fsyncs: dirty, clean, dirty. */
static void *write_loop(void *arg)
{
	struct racer *r = arg;
	long ps = page_size();
	char *buf = malloc(ps);

	while (buf && !r->stop) {
		for (size_t i = 0; i < r->len / ps; i++) {
			memset(buf, page_byte(i), ps);
			if (pwrite(r->fd, buf, ps, i * ps) != ps)
				r->bad++;
		}
		if (fsync(r->fd))
			r->bad++;
	}
	free(buf);
	return NULL;
}

/*
 * Faults race munmap() + mmap(MAP_FIXED) of the same range, fork(), a
 * writer whose writeback unmaps pages under them, and close() of the
 * region fd, for a second or so each: every byte read is right, the
 * children see the same data, nothing hangs.
 */
TEST_F_TIMEOUT(file, faults_race_munmap_close_fork, 120)
{
	struct racer r = { .len = 32 * self->ps };
	pthread_t th[3];
	uint64_t end;
	int status;

	ASSERT_EQ(0, make_pattern(&self->m, "f", r.len));
	r.fd = file_region(&self->m, "f", O_RDWR, 4, 0, 0);
	ASSERT_LE(0, r.fd);
	r.p = mmap(NULL, r.len, PROT_READ, MAP_SHARED, r.fd, 0);
	ASSERT_NE(MAP_FAILED, r.p);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fault_loop, &r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, write_loop, &r));
	end = now_ms() + 1000;
	while (now_ms() < end) {
		/* The range vanishes and comes back; readers never see a hole. */
		ASSERT_NE(MAP_FAILED, mmap(r.p, r.len, PROT_READ, MAP_SHARED | MAP_FIXED, r.fd, 0));
		madvise(r.p, r.len, MADV_DONTNEED);
	}
	end = now_ms() + 1000;
	while (now_ms() < end) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(pages_ok(r.p, 0, r.len / self->ps) ? 0 : 1);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	r.stop = true;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	/* The fd goes while faults go on: the mapping holds the region. */
	r.stop = false;
	ASSERT_EQ(0, pthread_create(&th[0], NULL, fault_loop, &r));
	EXPECT_EQ(0, close(r.fd));
	usleep(300000);
	r.stop = true;
	pthread_join(th[0], NULL);
	EXPECT_EQ(0, r.bad);
	EXPECT_TRUE(pages_ok(r.p, 0, r.len / self->ps));
	munmap(r.p, r.len);
}

/* One sequential scan of @len bytes: faults, READs, bytes, µs per page. */
struct cost {
	long minor, major, reads, bytes, us_per_page;
};

static void scan_cost(struct vff_mount *m, char *p, size_t len, struct cost *c)
{
	long min0, maj0;
	uint64_t t0;

	vff_ctl(m, "zero_stats");
	t0 = now_ms();
	min0 = minflt();
	maj0 = majflt();
	for (size_t off = 0; off < len; off += page_size())
		(void)*(volatile char *)(p + off);
	c->major = majflt() - maj0;
	c->minor = minflt() - min0;
	c->us_per_page = (now_ms() - t0) * 1000 / (len / page_size());
	c->reads = vff_stat(m, "read_requests");
	c->bytes = vff_stat(m, "read_bytes");
}

/*
 * The comparison: one 256-page file on a disk that takes 1 ms per READ,
 * scanned once through the kernel's page cache (filemap_fault, readahead
 * 128 KiB) and through /dev/vmfault with windows 1 and 32, and 32 with
 * VMFAULT_FLAG_ASYNC_PREFETCH. Each route reads
 * each byte once; "# compare:" lines give the rest. The page cache is
 * dropped before each scan, so all start cold (a vmfault fault copies
 * what the page cache holds instead of reading it).
 */
TEST_F_TIMEOUT(file, page_cache_and_vmfault_side_by_side, 300)
{
	size_t len = NPAGES * self->ps;
	struct cost c;
	char *p;
	int fd;

	ASSERT_EQ(0, make_pattern(&self->m, "f", len));
	ASSERT_EQ(0, vff_ctl(&self->m, "read_delay_us 1000"));

	fd = open(vff_path(&self->m, false, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	scan_cost(&self->m, p, len, &c);
	EXPECT_EQ(len, c.bytes);
	EXPECT_TRUE(pages_ok(p, 0, NPAGES));
	report("compare: route page-cache faults %ld minor %ld major %ld reads %ld bytes %ld us/page %ld\n",
	       c.minor + c.major, c.minor, c.major, c.reads, c.bytes, c.us_per_page);
	munmap(p, len);
	close(fd);

	for (int r = 0; r < 3; r++) {
		/* Windows 1 and 32, and 32 with the next window in flight. */
		unsigned int w = r ? 32 : 1;
		bool async = r == 2;
		struct vmfault_region_info info;

		/* Cold again: a fault copies data the page cache holds (no READ). */
		fd = open(vff_path(&self->m, false, "f"), O_RDONLY);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
		close(fd);
		fd = file_region(&self->m, "f", O_RDONLY, w,
				 async ? VMFAULT_FLAG_ASYNC_PREFETCH : 0, 0);
		ASSERT_LE(0, fd);
		p = map_aligned(fd, len, PROT_READ, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, p);
		scan_cost(&self->m, p, len, &c);
		ASSERT_EQ(0, vmf_info(fd, &info));
		EXPECT_EQ(len, c.bytes);
		EXPECT_EQ(NPAGES / w, c.reads);
		/*
		 * In the background a window is read before its fault, which
		 * is minor, or while it waits (mmap_lock dropped, retried:
		 * getrusage() counts that as major, the module does not).
		 */
		if (async) {
			EXPECT_GE(NPAGES / w, c.major);
			EXPECT_LE(info.counters[VMFAULT_CNT_MAJOR_FAULTS], c.major);
			EXPECT_LE(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
			EXPECT_EQ(c.major, info.counters[VMFAULT_CNT_FAULT_RETRIES]);
		} else {
			EXPECT_EQ(NPAGES / w, c.major);
			EXPECT_EQ(c.major, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
		}
		EXPECT_EQ(c.minor + c.major, info.counters[VMFAULT_CNT_FAULTS]);
		EXPECT_EQ(NPAGES / w, info.counters[VMFAULT_CNT_FILE_READS]);
		EXPECT_TRUE(pages_ok(p, 0, NPAGES));
		report("compare: route vmfault-window-%u%s faults %ld minor %ld major %ld reads %ld bytes %ld us/page %ld\n",
		       w, async ? "-async" : "", c.minor + c.major, c.minor, c.major, c.reads,
		       c.bytes, c.us_per_page);
		munmap(p, len);
		close(fd);
	}
}

/*
 * A read that comes back short and then fails (a bad sector in the middle
 * of page 2 of a 4-page window): the pages read in full are up to date,
 * the partly read page is not (a zeroed tail would be written back over
 * real data later): touching it is SIGBUS, and once the disk answers it
 * reads whole, the real bytes, not zeros. The mount is cache=direct: in
 * FUSE's page cache a short READ means the end of the file.
 */
TEST_F(file, short_read_then_error_is_not_up_to_date)
{
	struct access_arg a = { .len = self->ps };
	struct vmfault_region_info info;
	struct vff_mount m;
	char cmd[96];
	char *p;
	int fd;

	ASSERT_EQ(0, vff_mount(&m, "cache=direct"));
	ASSERT_EQ(0, make_pattern(&m, "f", 4 * self->ps));
	fd = file_region(&m, "f", O_RDONLY, 4, VMFAULT_FLAG_NO_FAULT_AROUND, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	snprintf(cmd, sizeof(cmd), "eio_partial 1\neio_offset %ld\neio_len %ld\n",
		 2 * self->ps + self->ps / 2, self->ps / 2);
	ASSERT_EQ(0, vff_ctl(&m, cmd));
	EXPECT_TRUE(pages_ok(p, 0, 2));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(2 * self->ps + self->ps / 2, info.counters[VMFAULT_CNT_BYTES_READ]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_IO_ERRORS]);
	a.p = p + 2 * self->ps;
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	ASSERT_EQ(0, vff_ctl(&m, "eio_len 0\neio_partial 0\n"));
	EXPECT_TRUE(pages_ok(p, 2, 2));
	munmap(p, 4 * self->ps);
	close(fd);
	EXPECT_EQ(0, vff_umount(&m));
}

/*
 * A page being read (the daemon stalled) is never copied before it is up
 * to date: a pread() of it waits for the fault that reads it, and both get
 * the file's bytes (with page poisoning on the debug kernel, an early copy
 * would show the poison pattern).
 */
TEST_F(file, read_waits_for_a_page_being_read)
{
	struct access_arg a = { .len = self->ps };
	char *buf = malloc(self->ps), *p;
	int fd, status;
	pid_t toucher, reader;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, make_pattern(&self->m, "f", 4 * self->ps));
	fd = file_region(&self->m, "f", O_RDONLY, 4, 0, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	a.p = p + self->ps;
	toucher = vff_stalled_toucher(&self->m, &a);
	ASSERT_LT(0, toucher);
	reader = fork();
	ASSERT_LE(0, reader);
	if (reader == 0)
		_exit(pread(fd, buf, self->ps, 2 * self->ps) == self->ps &&
		      all_bytes(buf, self->ps, page_byte(2)) ? 0 : 1);
	usleep(300000);
	EXPECT_EQ(0, waitpid(reader, &status, WNOHANG));	/* it waits */
	EXPECT_EQ(0, vff_ctl(&self->m, "stall 0"));
	EXPECT_EQ(0, reap_child(reader, &status, 10000));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, reap_child(toucher, &status, 10000));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));	/* pages 1-3 */
	EXPECT_TRUE(pages_ok(p, 0, 4));
	munmap(p, 4 * self->ps);
	close(fd);
	free(buf);
}

#define KPF_WRITEBACK	8

/*
 * Stall the daemon and fork a child that fsync()s the region @fd (exit 0
 * if it worked). Returns the child once it has stayed blocked for half a
 * second in the writeback, or -1.
 */
static pid_t stalled_fsync(struct vff_mount *m, int fd)
{
	int status;
	pid_t pid;

	if (vff_ctl(m, "stall 1"))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(fsync(fd) ? 1 : 0);
	usleep(500000);
	return pid > 0 && waitpid(pid, &status, WNOHANG) == 0 ? pid : -1;
}

/*
 * A writeback held up by a stalled daemon: its page is under writeback
 * (KPF_WRITEBACK) but not locked, so faults on it go on: a read maps it, a
 * write dirties it again, neither waits. The task doing the writeback
 * (fsync) ends within a second of SIGKILL, and a later fsync writes the
 * last data.
 */
TEST_F(file, stalled_writeback_is_killable_and_faults_go_on)
{
	int fd, status;
	char *p = shared_writer(&self->m, &fd, 8);
	uint64_t t0;
	pid_t pid;

	ASSERT_NE(NULL, p);
	pid = stalled_fsync(&self->m, fd);
	ASSERT_LT(0, pid);
	t0 = now_ms();
	EXPECT_EQ('1', p[self->ps]);		/* maps it again, read-only */
	EXPECT_TRUE(kpf(pfn_of(p + self->ps), KPF_WRITEBACK));
	p[self->ps] = 'w';			/* dirties it again */
	EXPECT_GT(200, now_ms() - t0);
	t0 = now_ms();
	kill(pid, SIGKILL);
	EXPECT_EQ(0, reap_child(pid, &status, 1000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	TH_LOG("the fsync ended %llu ms after SIGKILL",
	       (unsigned long long)(now_ms() - t0));
	EXPECT_EQ(0, vff_ctl(&self->m, "stall 0"));
	EXPECT_EQ(0, fsync(fd));
	munmap(p, 8 * self->ps);
	close(fd);
	p = malloc(8 * self->ps);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(8 * self->ps, read_file(vff_path(&self->m, true, "f"), p, 8 * self->ps));
	EXPECT_EQ('w', p[self->ps]);
	EXPECT_TRUE(all_bytes(p + self->ps + 1, self->ps - 1, '1'));
	EXPECT_TRUE(all_bytes(p + 3 * self->ps, self->ps, '3'));
	free(p);
}

/*
 * The daemon killed while a writeback waits for it: the fsync fails
 * (the connection is gone) within seconds, and nothing hangs.
 */
TEST_F(file, daemon_killed_mid_writeback)
{
	int fd, status;
	char *p = shared_writer(&self->m, &fd, 8);
	pid_t pid;

	ASSERT_NE(NULL, p);
	pid = stalled_fsync(&self->m, fd);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, kill(self->m.pid, SIGKILL));
	EXPECT_EQ(0, reap_child(self->m.pid, &status, 10000));
	self->m.pid = 0;
	EXPECT_EQ(0, reap_child(pid, &status, 10000));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	munmap(p, 8 * self->ps);
	close(fd);
}

/* ---- VMFAULT_FLAG_ASYNC_PREFETCH ---- */

#define RA_FLAGS	(VMFAULT_FLAG_ASYNC_PREFETCH | VMFAULT_FLAG_NO_FAULT_AROUND)

/*
 * The background-read cases' region: a fresh @n-page pattern file "f",
 * window @w, RA_FLAGS, mapped read-only and 2 MiB-aligned. The mapping,
 * with the region fd in *@fdp, or MAP_FAILED.
 */
static char *ra_region(struct vff_mount *m, unsigned int n, unsigned int w, int *fdp)
{
	char *p;

	*fdp = -1;
	if (make_pattern(m, "f", n * page_size()))
		return MAP_FAILED;
	*fdp = file_region(m, "f", O_RDONLY, w, RA_FLAGS, 0);
	if (*fdp < 0)
		return MAP_FAILED;
	p = map_aligned(*fdp, n * page_size(), PROT_READ, MAP_SHARED);
	if (p == MAP_FAILED) {
		close(*fdp);
		*fdp = -1;
	}
	return p;
}

/*
 * Wait (up to 20 s) for the region's counter @idx to reach @want, as a
 * background read ends; returns its value then.
 */
static uint64_t wait_counter(int fd, int idx, uint64_t want)
{
	struct vmfault_region_info info;

	for (int i = 0; i < 2000; i++) {
		if (vmf_info(fd, &info))
			return ~0ULL;
		if (info.counters[idx] >= want)
			return info.counters[idx];
		usleep(10000);
	}
	return info.counters[idx];
}

/*
 * A sequential scan with window 8, fault-around off, waiting at each step
 * for the background read to end: the miss at page 0 reads 0-7 and marks
 * page 4; the fault on page 4 reads 8-15 in the background (not a fault:
 * nothing is mapped) and marks page 8; the fault on page 8 reads 16-23,
 * and so on. One major fault in all, one READ per window, every page once.
 */
TEST_F(file, async_prefetch_keeps_the_next_window_in_flight)
{
	const unsigned int w = 8, n = 64;
	struct vmfault_region_info info;
	uint64_t regions0 = vmf_proc("regions");
	long maj0, ps = self->ps;
	unsigned int i;
	char *p;
	int fd;

	p = ra_region(&self->m, n, w, &fd);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(RA_FLAGS, info.flags);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	maj0 = majflt();
	for (i = 0; i < w / 2; i++)
		EXPECT_EQ(page_byte(i), p[i * ps]);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(w, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(w, info.resident);

	EXPECT_EQ(page_byte(w / 2), p[w / 2 * ps]);
	EXPECT_EQ(2 * w, wait_counter(fd, VMFAULT_CNT_PAGES_READ, 2 * w));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_EQ(w / 2 + 1, info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(2 * w, info.resident);
	EXPECT_EQ(2, vff_stat(&self->m, "read_requests"));
	EXPECT_FALSE(present(p + w * ps));	/* read, not mapped */

	for (i = w / 2 + 1; i < n; i++) {
		EXPECT_EQ(page_byte(i), p[i * ps]);
		/* A window's first page starts the next one's read. */
		if (i % w == 0 && i + w < n)
			EXPECT_EQ(i + 2 * w, wait_counter(fd, VMFAULT_CNT_PAGES_READ, i + 2 * w));
	}
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(n / w, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(n, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(n, info.counters[VMFAULT_CNT_FAULTS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_FAULT_RETRIES]);
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_IO_ERRORS]);
	EXPECT_EQ(1, majflt() - maj0);
	EXPECT_EQ(n / w, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(n * ps, vff_stat(&self->m, "read_bytes"));
	EXPECT_TRUE(pages_ok(p, 0, n));
	munmap(p, n * ps);
	close(fd);
	/* The region went with the last close(), its reads ended: umount works. */
	EXPECT_EQ(regions0, vmf_proc("regions"));
}

/*
 * A fault on a page whose background read is under way (the daemon
 * stalled) waits for that read rather than reading again, in another
 * process too; the fault is minor.
 */
TEST_F(file, async_prefetch_in_flight_is_waited_for)
{
	const unsigned int w = 8, n = 32;
	struct access_arg a = { .len = self->ps };
	struct vmfault_region_info info;
	uint64_t regions0 = vmf_proc("regions");
	long ps = self->ps;
	int fd, status;
	pid_t child;
	char *p;

	p = ra_region(&self->m, n, w, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(page_byte(0), p[0]);
	ASSERT_EQ(0, vff_ctl(&self->m, "stall 1"));
	EXPECT_EQ(page_byte(w / 2), p[w / 2 * ps]);	/* 8-15 go out, and stall */
	for (int i = 0; i < 2000; i++) {
		ASSERT_EQ(0, vmf_info(fd, &info));
		if (info.resident == 2 * w)
			break;
		usleep(10000);
	}
	EXPECT_EQ(2 * w, info.resident);	/* published, locked, being read */
	a.p = p + w * ps;
	child = vff_stalled_toucher(&self->m, &a);
	ASSERT_LT(0, child);
	ASSERT_EQ(0, vff_ctl(&self->m, "stall 0"));
	ASSERT_EQ(0, reap_child(child, &status, 20000));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The child's fault on page 8 started the read of 16-23. */
	EXPECT_EQ(3 * w, wait_counter(fd, VMFAULT_CNT_PAGES_READ, 3 * w));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(3, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_IO_ERRORS]);
	EXPECT_TRUE(pages_ok(p, 0, 3 * w));
	munmap(p, n * ps);
	close(fd);
	/* The region went with the last close(), its reads ended: umount works. */
	EXPECT_EQ(regions0, vmf_proc("regions"));
}

/*
 * A background read that fails leaves its pages to be read again: the
 * fault on one of them reads it (a major fault), never SIGBUS.
 */
TEST_F(file, async_prefetch_error_reads_again)
{
	const unsigned int w = 8, n = 16;
	struct vmfault_region_info info;
	uint64_t regions0 = vmf_proc("regions");
	long ps = self->ps;
	char cmd[64];
	char *p;
	int fd;

	p = ra_region(&self->m, n, w, &fd);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(page_byte(0), p[0]);
	snprintf(cmd, sizeof(cmd), "eio_offset %ld\neio_len 1\n", 9 * ps);
	ASSERT_EQ(0, vff_ctl(&self->m, cmd));
	EXPECT_EQ(page_byte(w / 2), p[w / 2 * ps]);	/* 8-15 go out, and fail */
	EXPECT_EQ(1, wait_counter(fd, VMFAULT_CNT_IO_ERRORS, 1));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(w, info.counters[VMFAULT_CNT_PAGES_READ]);
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_len 0"));
	EXPECT_TRUE(pages_ok(p, 0, n));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_SIGBUS]);
	EXPECT_EQ(1, info.counters[VMFAULT_CNT_IO_ERRORS]);
	EXPECT_LE(2, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_LE(n, info.counters[VMFAULT_CNT_PAGES_READ]);
	munmap(p, n * ps);
	close(fd);
	/* The region went with the last close(), its reads ended: umount works. */
	EXPECT_EQ(regions0, vmf_proc("regions"));
}

/*
 * Under madvise(MADV_RANDOM) nothing is read in the background: a scan
 * of two windows is two misses, two READs, as without the flag.
 */
TEST_F(file, async_prefetch_not_under_madv_random)
{
	const unsigned int w = 8, n = 16;
	struct vmfault_region_info info;
	long ps = self->ps;
	char *p;
	int fd;

	p = ra_region(&self->m, n, w, &fd);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, n * ps, MADV_RANDOM));
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	EXPECT_TRUE(pages_ok(p, 0, n));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_FILE_READS]);
	EXPECT_EQ(2, info.counters[VMFAULT_CNT_MAJOR_FAULTS]);
	EXPECT_EQ(n, info.counters[VMFAULT_CNT_PAGES_READ]);
	EXPECT_EQ(2, vff_stat(&self->m, "read_requests"));
	munmap(p, n * ps);
	close(fd);
}

VMFAULT_TEST_MAIN
