// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault_bench: the cost of vmfault's fault paths against what a user
 * would pick instead: anonymous memory, shmem, userfaultfd, MADV_POPULATE,
 * a FUSE file through the page cache (mmap, read()) and a userfaultfd
 * pager that pread()s the FUSE file.
 *
 * Every scenario runs each comparator once to warm up, then -t times
 * (default 7), each time on a fresh mapping (and, for files, a cold cache),
 * and prints one tab-separated line per comparator:
 *
 *   scenario comparator unit median min max trials faults/unit
 *   allocs/unit reads/unit read/touched
 *
 * The times are CLOCK_MONOTONIC nanoseconds per unit (a 4 KiB page, or a
 * MiB for the sequential file scenario), to one decimal: a page of a
 * fault-around read costs about 180, where a whole instruction would be
 * 0.5% of a 2% target. In the dev VM under
 * `-icount shift=0` (devtools/bench) one guest nanosecond is one
 * instruction, so they are instructions per unit, of the whole guest (a
 * FUSE daemon's or a userfaultfd thread's work included). The counts are
 * exact: faults (ru_minflt + ru_majflt), pages allocated (present frames
 * other than the zero page, from /proc/self/pagemap; needs root), FUSE
 * READ requests and bytes read ÷ bytes touched (vmfaultfs's counters).
 *
 * USAGE: vmfault_bench [-t TRIALS] [-n PAGES] [-s SCENARIO[,...]]
 *                      [--native] [--tag TAG]
 *   --native   leave out every comparator that needs /dev/vmfault
 *   --tag TAG  run only vmfault's comparators and append "/TAG" to their
 *              names (devtools/bench: the build without counters)
 * It exits 1 if anything it needs fails: a figure it cannot measure is
 * never printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmfaultfs_lib.h"

#define MAX_TRIALS	64
#define SZ_2M		(2UL << 20)

static long ps;
static int trials = 7;
static size_t npages = 4096;		/* 16 MiB for the memory scenarios */
static bool native;
static const char *tag;
static const char *only;
static uint64_t zpfn;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vmfault_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* A count the scenario does not measure: "-" in the output. */
#define NOT_COUNTED	UINT64_MAX

/* What one trial measured (allocs: NOT_COUNTED unless the trial counts them). */
struct sample {
	uint64_t ns;
	long faults;
	uint64_t allocs;	/* present frames that are not the zero page, or NOT_COUNTED */
	uint64_t reads;		/* FUSE READ requests */
	uint64_t bytes;		/* bytes FUSE READs returned */
	uint64_t touched;	/* bytes the workload touched */
	uint64_t units;		/* what ns and counts are divided by */
	int64_t tlb;		/* TLB flushes of the task (-1: not countable) */
	uint64_t mapped;	/* pages mapped when it ended (0: not counted) */
};

/* Present frames in [p, p + len) other than the zero page. */
static uint64_t count_allocs(const char *p, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t pages = len / ps, i, done;
	uint64_t ent[512], n = 0;

	if (fd < 0)
		die("open /proc/self/pagemap: %s", strerror(errno));
	for (done = 0; done < pages; done += i) {
		size_t want = pages - done < 512 ? pages - done : 512;
		off_t off = ((uintptr_t)p / ps + done) * sizeof(uint64_t);

		if (pread(fd, ent, want * sizeof(uint64_t), off) != (ssize_t)(want * sizeof(uint64_t)))
			die("read /proc/self/pagemap: %s", strerror(errno));
		for (i = 0; i < want; i++)
			if ((ent[i] & (1ULL << 63)) && (ent[i] & ((1ULL << 55) - 1)) != zpfn)
				n++;
	}
	close(fd);
	return n;
}

/* ---- regions and mappings ---- */

static int region(uint32_t mode, uint32_t flags, uint64_t size, int fd, uint32_t window)
{
	struct vmfault_config cfg = { .mode = mode, .flags = flags, .size = size,
				      .fd = mode == VMFAULT_MODE_FILE ? fd : 0,
				      .window = window };
	int r = vmf_open();

	if (r < 0)
		die("open %s: %s (is the module loaded?)", VMFAULT_DEV, strerror(errno));
	if (ioctl(r, VMFAULT_IOC_CONFIGURE, &cfg))
		die("configure mode %u flags %#x: %s", mode, flags, strerror(errno));
	return r;
}

static char *map_or_die(size_t len, int prot, int flags, int fd, off_t off)
{
	char *p = mmap_aligned(len, SZ_2M, prot, flags, fd, off);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	if (flags & MAP_ANONYMOUS)
		madvise(p, len, MADV_NOHUGEPAGE);	/* 4 KiB pages, as vmfault's */
	return p;
}

/*
 * The threads of a fault server (userfaultfd's or a pager's): each waits in
 * poll() on the server's fd and on @stop, an eventfd that stops them all.
 */
struct server_threads {
	int stop;
	int n;
	pthread_t thread[2];
};

static void server_threads_start(struct server_threads *t, void *(*fn)(void *), void *arg,
				 int n)
{
	t->stop = eventfd(0, EFD_CLOEXEC);
	if (t->stop < 0)
		die("eventfd: %s", strerror(errno));
	/* Several: each waits in poll(); one reads, the others see EAGAIN. */
	for (t->n = 0; t->n < n; t->n++)
		if (pthread_create(&t->thread[t->n], NULL, fn, arg))
			die("pthread_create");
}

static void server_threads_stop(struct server_threads *t)
{
	uint64_t one = 1;

	if (write(t->stop, &one, sizeof(one)) != sizeof(one))
		die("eventfd: %s", strerror(errno));
	while (t->n)
		pthread_join(t->thread[--t->n], NULL);
	close(t->stop);
}

/* ---- userfaultfd: a zero-page server, a copier, a pager ---- */

enum uffd_kind { UFFD_ZERO, UFFD_COPY, UFFD_PAGER };

struct uffd_server {
	enum uffd_kind kind;
	int uffd, file;
	char *base;
	size_t len, chunk;
	char *buf;
	struct server_threads threads;
};

static void *uffd_serve(void *arg)
{
	struct uffd_server *s = arg;
	struct pollfd pfd[2] = { { s->uffd, POLLIN }, { s->threads.stop, POLLIN } };
	struct uffd_msg msg;

	for (;;) {
		unsigned long addr, start, end;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[1].revents)
			return NULL;
		if (read(s->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN)
				continue;
			die("read userfaultfd: %s", strerror(errno));
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		addr = msg.arg.pagefault.address & ~(unsigned long)(ps - 1);
		if (s->kind == UFFD_ZERO) {
			struct uffdio_zeropage z = { .range = { addr, ps } };

			if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
				die("UFFDIO_ZEROPAGE: %s", strerror(errno));
			continue;
		}
		/* A chunk-aligned block, as a pager with read-ahead would. */
		start = addr & ~(unsigned long)(s->chunk - 1);
		if (start < (unsigned long)s->base)
			start = (unsigned long)s->base;
		end = start + s->chunk;
		if (end > (unsigned long)s->base + s->len)
			end = (unsigned long)s->base + s->len;
		if (s->kind == UFFD_PAGER &&
		    pread(s->file, s->buf, end - start, start - (unsigned long)s->base) < 0)
			die("pager pread: %s", strerror(errno));
		{
			struct uffdio_copy c = { .dst = start, .src = (unsigned long)s->buf,
						 .len = end - start };

			if (ioctl(s->uffd, UFFDIO_COPY, &c) && errno != EEXIST)
				die("UFFDIO_COPY: %s", strerror(errno));
		}
	}
}

static void uffd_start(struct uffd_server *s, enum uffd_kind kind, char *base, size_t len,
		       size_t chunk, int file, int nthreads)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (unsigned long)base, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->base = base;
	s->len = len;
	s->chunk = chunk;
	s->file = file;
	s->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s->uffd < 0)
		die("userfaultfd: %s", strerror(errno));
	if (ioctl(s->uffd, UFFDIO_API, &api) || ioctl(s->uffd, UFFDIO_REGISTER, &reg))
		die("userfaultfd setup: %s", strerror(errno));
	s->buf = aligned_alloc(ps, chunk ? chunk : ps);
	if (!s->buf)
		die("userfaultfd server: %s", strerror(errno));
	memset(s->buf, 0, chunk ? chunk : ps);
	server_threads_start(&s->threads, uffd_serve, s, nthreads);
}

static void uffd_stop(struct uffd_server *s)
{
	server_threads_stop(&s->threads);
	close(s->uffd);
	free(s->buf);
}

/* ---- vmfault pager mode: the same servers, on a pager region's fd ---- */

struct pager_server {
	bool zero;		/* ZEROPAGE, else SUPPLY of a 4 KiB buffer */
	int pager;
	char *buf;
	struct server_threads threads;
};

static void *pager_serve(void *arg)
{
	struct pager_server *s = arg;
	struct pollfd pfd[2] = { { s->pager, POLLIN }, { s->threads.stop, POLLIN } };
	struct vmfault_pager_event ev;

	for (;;) {
		struct vmfault_pager_range r = { .len = ps };

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[1].revents)
			return NULL;
		if (read(s->pager, &ev, sizeof(ev)) != sizeof(ev)) {
			if (errno == EAGAIN)
				continue;
			die("read pager fd: %s", strerror(errno));
		}
		r.offset = ev.offset;
		r.src = s->zero ? 0 : (uintptr_t)s->buf;
		if (ioctl(s->pager, s->zero ? VMFAULT_PAGER_IOC_ZEROPAGE : VMFAULT_PAGER_IOC_SUPPLY,
			  &r) && errno != EEXIST)
			die("pager answer: %s", strerror(errno));
	}
}

static void pager_start(struct pager_server *s, int region_fd, bool zero, int nthreads)
{
	memset(s, 0, sizeof(*s));
	s->zero = zero;
	s->pager = ioctl(region_fd, VMFAULT_IOC_PAGER_OPEN, O_CLOEXEC | O_NONBLOCK);
	s->buf = aligned_alloc(ps, ps);
	if (s->pager < 0 || !s->buf)
		die("pager server: %s", strerror(errno));
	memset(s->buf, 'p', ps);
	server_threads_start(&s->threads, pager_serve, s, nthreads);
}

static void pager_stop(struct pager_server *s)
{
	server_threads_stop(&s->threads);
	close(s->pager);
	free(s->buf);
}

/* ---- the memory scenarios ---- */

enum mem_kind {
	M_VMF, M_VMF_SHARED, M_VMF_FA, M_ANON, M_SHMEM, M_UFFD_ZERO, M_UFFD_COPY4K,
	M_UFFD_COPY64K, M_POPULATE, M_TMPFS_PRIV,
	/* userfaultfd and pager mode, one handler thread or two (2H) */
	M_UFFD_ZERO2H, M_UFFD_COPY4K2H, M_PAGER_ZERO, M_PAGER_ZERO2H, M_PAGER_SUPPLY,
	M_PAGER_SUPPLY2H,
};

enum mem_op {
	OP_READ,	/* read one byte per page */
	OP_WRITE,	/* write one byte per page */
	OP_READ_WRITE,	/* read every page, then write every page */
	OP_COW,		/* write to a MAP_PRIVATE mapping of pages with data */
	OP_SPARSE,	/* read one page per 2 MiB */
	OP_READ_HALF,	/* read the odd pages; the even ones exist and are mapped */
	OP_MAP_POPULATE, OP_POPULATE_READ, OP_POPULATE_WRITE,
};

struct mem_case {
	const char *name;
	enum mem_kind kind;
};

/*
 * Make the even pages of @len bytes at @p exist and be mapped, so that the
 * odd ones are holes between resident pages (a populated tree and page
 * table): written through the region's fd @fd at @off and read, or for
 * anonymous memory (@fd < 0) written through the mapping.
 */
static void make_even_pages(int fd, off_t off, char *p, size_t len)
{
	for (size_t o = 0; o < len; o += 2 * ps) {
		if (fd < 0)
			((volatile char *)p)[o] = 'h';
		else if (pwrite(fd, "h", 1, off + o) != 1)
			die("pwrite: %s", strerror(errno));
		else
			(void)((volatile char *)p)[o];
	}
}

static void mem_trial(enum mem_op op, enum mem_kind kind, struct sample *s)
{
	size_t span = op == OP_SPARSE ? npages / 16 * SZ_2M : npages * ps;
	size_t step = op == OP_SPARSE ? SZ_2M : op == OP_READ_HALF ? 2 * (size_t)ps : (size_t)ps;
	bool write = op == OP_WRITE || op == OP_COW || op == OP_POPULATE_WRITE;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE, fd = -1;
	struct uffd_server srv;
	struct pager_server psrv;
	bool uffd = false, pager = false;
	uint64_t t0, t1;
	long f0;
	char *p;

	switch (kind) {
	case M_PAGER_ZERO:
	case M_PAGER_ZERO2H:
	case M_PAGER_SUPPLY:
	case M_PAGER_SUPPLY2H:
		/* Read holes in a private mapping (the zero page), writes in a shared one. */
		fd = region(VMFAULT_MODE_PAGER, 0, span, -1, 0);
		if (kind == M_PAGER_SUPPLY || kind == M_PAGER_SUPPLY2H)
			flags = MAP_SHARED;
		break;
	case M_VMF:
	case M_VMF_SHARED:
	case M_VMF_FA:
		fd = region(VMFAULT_MODE_ZERO, kind == M_VMF_FA ? VMFAULT_FLAG_FAULT_AROUND : 0,
			    span, -1, 0);
		if (kind == M_VMF_SHARED)
			flags = MAP_SHARED;
		break;
	case M_SHMEM:
	case M_TMPFS_PRIV:
		fd = memfd_create("bench", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, span))
			die("memfd: %s", strerror(errno));
		if (kind == M_SHMEM)
			flags = MAP_SHARED;
		break;
	default:
		flags |= MAP_ANONYMOUS;
		break;
	}
	if (op == OP_COW) {
		/* The pages exist, with data, before the private mapping. */
		char *data = malloc(span);

		memset(data, 'd', span);
		if (pwrite(fd, data, span, 0) != (ssize_t)span)
			die("pwrite: %s", strerror(errno));
		free(data);
	}
	if (op == OP_MAP_POPULATE) {
		f0 = faults_now();
		t0 = now_ns();
		p = mmap(NULL, span, prot, flags | MAP_POPULATE, fd, 0);
		t1 = now_ns();
		if (p == MAP_FAILED)
			die("mmap MAP_POPULATE: %s", strerror(errno));
		goto done;
	}
	p = map_or_die(span, prot, flags, fd, 0);
	if (kind == M_UFFD_ZERO || kind == M_UFFD_COPY4K || kind == M_UFFD_COPY64K ||
	    kind == M_UFFD_ZERO2H || kind == M_UFFD_COPY4K2H) {
		bool zero = kind == M_UFFD_ZERO || kind == M_UFFD_ZERO2H;

		uffd_start(&srv, zero ? UFFD_ZERO : UFFD_COPY, p, span,
			   kind == M_UFFD_COPY64K ? 65536 : ps, -1,
			   kind == M_UFFD_ZERO2H || kind == M_UFFD_COPY4K2H ? 2 : 1);
		uffd = true;
	}
	if (kind >= M_PAGER_ZERO) {
		pager_start(&psrv, fd, kind == M_PAGER_ZERO || kind == M_PAGER_ZERO2H,
			    kind == M_PAGER_ZERO2H || kind == M_PAGER_SUPPLY2H ? 2 : 1);
		pager = true;
	}
	if (op == OP_READ_HALF)
		make_even_pages(fd, 0, p, span);
	f0 = faults_now();
	t0 = now_ns();
	switch (op) {
	case OP_READ_HALF:
		touch_pages(p + ps, span - ps, step, false);
		break;
	case OP_POPULATE_READ:
	case OP_POPULATE_WRITE:
		if (madvise(p, span, op == OP_POPULATE_READ ? MADV_POPULATE_READ :
			    MADV_POPULATE_WRITE))
			die("MADV_POPULATE: %s", strerror(errno));
		break;
	case OP_READ_WRITE:
		touch_pages(p, span, step, false);
		touch_pages(p, span, step, true);
		break;
	default:
		if (kind == M_POPULATE) {
			if (madvise(p, span, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ))
				die("MADV_POPULATE: %s", strerror(errno));
		} else {
			touch_pages(p, span, step, write);
		}
		break;
	}
	t1 = now_ns();
done:
	s->faults = faults_now() - f0;
	s->ns = t1 - t0;
	s->units = span / step;
	s->touched = s->units * ps;
	s->allocs = count_allocs(p, span);
	if (op == OP_READ_HALF)
		s->allocs -= s->units;	/* the even pages, there before */
	if (uffd)
		uffd_stop(&srv);
	if (pager)
		pager_stop(&psrv);
	munmap(p, span);
	if (fd >= 0)
		close(fd);
}

/* ---- the file scenarios ---- */

static struct vff_mount mnt;

enum file_kind {
	F_VMF, F_VMF_ASYNC, F_MMAP, F_MMAP_RANDOM, F_READ, F_PAGER,
};

struct file_case {
	const char *name;
	enum file_kind kind;
	unsigned int size;	/* window in pages, read() size or pager chunk in bytes */
};

static void drop_cache(int fd)
{
	if (fdatasync(fd) && errno != EINVAL)
		die("fdatasync: %s", strerror(errno));
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die("fadvise DONTNEED failed");
}

/*
 * One cold pass over @name: all of it in order (@order NULL), or the
 * pages @order lists.
 */
static void file_trial(const char *name, size_t len, const uint32_t *order, size_t norder,
		       const struct file_case *fc, struct sample *s)
{
	int fd = open(vff_path(&mnt, false, name), O_RDONLY | O_CLOEXEC);
	size_t npg = order ? norder : len / ps, i;
	uint64_t r0, b0, t0, t1;
	struct uffd_server srv;
	char *p = NULL, *buf = NULL;
	int r = -1;
	long f0;

	if (fd < 0)
		die("open %s: %s", name, strerror(errno));
	drop_cache(fd);
	switch (fc->kind) {
	case F_VMF:
	case F_VMF_ASYNC:
		r = region(VMFAULT_MODE_FILE,
			   fc->kind == F_VMF_ASYNC ? VMFAULT_FLAG_ASYNC_PREFETCH : 0, 0, fd,
			   fc->size);
		p = map_or_die(len, PROT_READ, MAP_SHARED, r, 0);
		break;
	case F_MMAP:
	case F_MMAP_RANDOM:
		p = map_or_die(len, PROT_READ, MAP_SHARED, fd, 0);
		if (fc->kind == F_MMAP_RANDOM && madvise(p, len, MADV_RANDOM))
			die("MADV_RANDOM: %s", strerror(errno));
		break;
	case F_READ:
		buf = aligned_alloc(ps, fc->size);
		break;
	case F_PAGER:
		p = map_or_die(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uffd_start(&srv, UFFD_PAGER, p, len, fc->size, fd, 1);
		break;
	}
	r0 = vff_stat(&mnt, "read_requests");
	b0 = vff_stat(&mnt, "read_bytes");
	f0 = faults_now();
	t0 = now_ns();
	if (fc->kind == F_READ) {
		for (i = 0; i < npg; i++) {
			size_t off = (order ? order[i] : i) * (size_t)ps;

			if (order || off % fc->size == 0) {
				size_t n = order ? (size_t)ps : fc->size;

				if (pread(fd, buf, n, off) <= 0)
					die("pread: %s", strerror(errno));
			}
			(void)((volatile char *)buf)[order ? 0 : off % fc->size];
		}
	} else {
		for (i = 0; i < npg; i++)
			(void)((volatile char *)p)[(order ? order[i] : i) * (size_t)ps];
	}
	t1 = now_ns();
	s->faults = faults_now() - f0;
	s->ns = t1 - t0;
	s->reads = vff_stat(&mnt, "read_requests") - r0;
	s->bytes = vff_stat(&mnt, "read_bytes") - b0;
	s->touched = npg * ps;
	s->units = order ? npg : len >> 20;
	if (fc->kind == F_PAGER)
		uffd_stop(&srv);
	if (p)
		munmap(p, len);
	if (r >= 0)
		close(r);
	free(buf);
	close(fd);
}

/*
 * t_mem of the cost model: dependent 8-byte loads at random over a
 * resident 256 MiB buffer (natively, cache and TLB misses; under icount,
 * the instructions of one load).
 */
static void mem_access_trial(struct sample *s)
{
	const size_t len = 256 << 20, n = 1 << 20, slots = len / sizeof(uint64_t);
	uint64_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t t0, x = 0, i;

	if (b == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	/* One random cycle through the slots, so each load depends on the last. */
	for (i = 0; i < slots; i++)
		b[i] = i;
	for (i = slots - 1; i > 0; i--) {
		uint64_t j = ((i * 2654435761ULL) ^ (i >> 7)) % i, t = b[i];

		b[i] = b[j];
		b[j] = t;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		x = b[x];
	s->ns = now_ns() - t0 + (x == ~0ULL);
	s->units = n;
	munmap(b, len);
}

/* ---- eviction: a frame budget's eviction plus refault against a minor fault ---- */

/*
 * TLB flushes of this task, from x86's tlb:tlb_flush event (not on other
 * architectures) in a tracefs instance of our own: every reason but a
 * context switch's. tlb_count_start() returns false where it cannot count.
 */
#define TLB_INSTANCE	"/sys/kernel/tracing/instances/vmfault-bench"
#define TLB_EVENT	TLB_INSTANCE "/events/tlb/tlb_flush"

static bool tlb_count_start(void)
{
	char filter[64];

	if (access("/sys/kernel/tracing/events/tlb/tlb_flush", F_OK))
		return false;
	if (mkdir(TLB_INSTANCE, 0700) && errno != EEXIST)
		return false;
	snprintf(filter, sizeof(filter), "common_pid == %d && reason != 0", getpid());
	return !write_file(TLB_EVENT "/filter", filter) && !write_file(TLB_INSTANCE "/trace", "") &&
	       !write_file(TLB_EVENT "/enable", "1");
}

static int64_t tlb_count_stop(void)
{
	char line[512];
	int64_t n = 0;
	FILE *f;

	write_file(TLB_EVENT "/enable", "0");
	f = fopen(TLB_INSTANCE "/trace", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#' && strstr(line, "tlb_flush:") != NULL;
	fclose(f);
	return n;
}

static char evict_dir[64];
static int evict_file = -1;

/* The backing file: npages pages on a tmpfs of our own, in its page cache. */
static void evict_setup(void)
{
	char path[96], *buf = malloc(ps);

	snprintf(evict_dir, sizeof(evict_dir), "/tmp/vmfault-bench-evict-XXXXXX");
	if (!buf || !mkdtemp(evict_dir) || mount("tmpfs", evict_dir, "tmpfs", 0, NULL))
		die("tmpfs for the eviction scenario: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/file", evict_dir);
	evict_file = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (evict_file < 0)
		die("open %s: %s", path, strerror(errno));
	memset(buf, 'e', ps);
	for (size_t i = 0; i < npages; i++)
		if (pwrite(evict_file, buf, ps, i * ps) != ps)
			die("pwrite: %s", strerror(errno));
	free(buf);
}

static void evict_teardown(void)
{
	close(evict_file);
	umount(evict_dir);
	rmdir(evict_dir);
}

struct evict_arg {
	uint32_t frames;	/* 0: all of them, for the minor faults */
	uint32_t batch;
};

/*
 * A file-mode region of npages pages (window 1) with a FIFO budget, read
 * once to warm it up. Then the timed pass: with @frames below npages, a
 * second sequential read, where every page is a miss that evicts the
 * oldest page (or, with @batch, 16 of them at a time) and reads its own
 * back from the page cache: an eviction plus a refault per page. With all
 * the frames, the region is mapped again and read: every page is resident
 * and unmapped, a minor (reference) fault each.
 */
static void evict_trial(const void *arg, struct sample *s)
{
	const struct evict_arg *e = arg;
	struct vmfault_frames fr = { .frames = e->frames ? e->frames : npages,
				     .policy = VMFAULT_POLICY_FIFO, .batch = e->batch };
	size_t len = npages * ps;
	bool tlb;
	uint64_t t0;
	long f0;
	char *p;
	int fd;

	fd = region(VMFAULT_MODE_FILE, 0, len, evict_file, 1);
	if (ioctl(fd, VMFAULT_IOC_SET_FRAMES, &fr))
		die("VMFAULT_IOC_SET_FRAMES: %s", strerror(errno));
	p = map_or_die(len, PROT_READ, MAP_SHARED, fd, 0);
	touch_pages(p, len, ps, false);
	if (!e->frames) {
		munmap(p, len);
		p = map_or_die(len, PROT_READ, MAP_SHARED, fd, 0);
	}
	tlb = tlb_count_start();
	f0 = faults_now();
	t0 = now_ns();
	touch_pages(p, len, ps, false);
	s->ns = now_ns() - t0;
	s->faults = faults_now() - f0;
	s->tlb = tlb ? tlb_count_stop() : -1;
	s->allocs = count_allocs(p, len);
	s->units = npages;
	if (vmf_counter(fd, VMFAULT_CNT_EVICTIONS) != (e->frames ? 2 * npages - e->frames : 0))
		die("evict: %llu evictions, not as planned",
		    (unsigned long long)vmf_counter(fd, VMFAULT_CNT_EVICTIONS));
	munmap(p, len);
	close(fd);
}

/* ---- private first writes from 1 and 2 threads ---- */

struct writer {
	pthread_t t;
	int cpu;
	char *p;
	size_t len;
	volatile int *go;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	pin_to_cpu(w->cpu);
	while (!*w->go)
		;
	touch_pages(w->p, w->len, ps, true);
	return NULL;
}

struct threads_arg {
	bool vmfault;
	int nthreads;
};

/*
 * Pages of a write-threads trial: 64 MiB. In wall-clock time a trial of
 * 16 MiB (about 40 ms in the dev VM) was short enough for one stall of
 * the shared host to move it by 20% or more.
 */
#define WT_PAGES	16384

/*
 * Private first writes to WT_PAGES holes (a vmfault zero region, or
 * anonymous memory), split between @nthreads threads on CPUs of their
 * own: wall-clock nanoseconds per page, with the threads made and waiting
 * before the clock starts. Run only when asked for (-s write-threads), in
 * a VM with a host thread per vCPU (devtools/bench): under icount there is
 * one vCPU, and two threads would only take turns.
 */
static void threads_trial(const void *arg, struct sample *s)
{
	const struct threads_arg *a = arg;
	size_t span = WT_PAGES * ps, part = span / a->nthreads;
	struct writer w[2];
	volatile int go = 0;
	int fd = a->vmfault ? region(VMFAULT_MODE_ZERO, 0, span, -1, 0) : -1;
	char *p = map_or_die(span, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | (a->vmfault ? 0 : MAP_ANONYMOUS), fd, 0);
	uint64_t t0;
	long f0;
	int i;

	for (i = 0; i < a->nthreads; i++) {
		w[i] = (struct writer){ .cpu = i, .p = p + i * part, .len = part, .go = &go };
		if (pthread_create(&w[i].t, NULL, writer_fn, &w[i]))
			die("pthread_create failed");
	}
	usleep(10000);	/* the threads are on their CPUs, spinning */
	f0 = faults_now();
	t0 = now_ns();
	go = 1;
	for (i = 0; i < a->nthreads; i++)
		pthread_join(w[i].t, NULL);
	s->ns = now_ns() - t0;
	s->faults = faults_now() - f0;
	s->units = WT_PAGES;
	s->touched = span;
	s->allocs = count_allocs(p, span);
	munmap(p, span);
	if (fd >= 0)
		close(fd);
}

/* ---- mmap()/munmap() beside major faults ---- */

#define MMLAT_CALLS	200	/* mmap()+munmap() pairs timed per trial */
#define MMLAT_PAGES	4096	/* pages the two faulting threads read (16 MiB of "rand") */

struct mmlat_arg {
	bool vmfault;		/* a vmfault file region (window 1), else the page cache */
};

/* A thread that reads the pages @order lists, on a CPU of its own. */
struct faulter {
	pthread_t t;
	int cpu;
	const char *p;		/* the mapping */
	const uint32_t *order;	/* its pages, in the order to read them */
	size_t n;
	volatile int *go;	/* wait for it, if set */
	volatile int *stop;	/* stop early when it is set, if set */
	size_t done;		/* pages read */
};

static void *faulter_fn(void *arg)
{
	struct faulter *f = arg;

	pin_to_cpu(f->cpu);
	while (f->go && !*f->go)
		;
	for (f->done = 0; f->done < f->n && !(f->stop && *f->stop); f->done++)
		(void)((volatile const char *)f->p)[f->order[f->done] * (size_t)ps];
	return NULL;
}

/*
 * The FUSE file "rand", its cache dropped, mapped whole (64 MiB) through a
 * vmfault file region of window 1 (*@r its fd) or through the page cache
 * with MADV_RANDOM; @order gets its pages 0, @stride, 2 @stride ... (@n of
 * them) in a random order of @seed: no READ serves two of them.
 */
static char *map_rand(bool vmfault, uint32_t *order, int n, int stride, unsigned int seed,
		      int *fdp, int *r)
{
	size_t len = 64 << 20;
	int fd = open(vff_path(&mnt, false, "rand"), O_RDONLY | O_CLOEXEC), i;
	char *p;

	if (fd < 0)
		die("open rand: %s", strerror(errno));
	drop_cache(fd);
	for (i = 0; i < n; i++)
		order[i] = i * stride;
	shuffle(order, n, seed);
	*r = -1;
	if (vmfault) {
		*r = region(VMFAULT_MODE_FILE, 0, 0, fd, 1);
		p = map_or_die(len, PROT_READ, MAP_SHARED, *r, 0);
	} else {
		p = map_or_die(len, PROT_READ, MAP_SHARED, fd, 0);
		if (madvise(p, len, MADV_RANDOM))
			die("MADV_RANDOM: %s", strerror(errno));
	}
	*fdp = fd;
	return p;
}

/* map_rand()'s mapping, region and file, gone. */
static void unmap_rand(char *p, int fd, int r)
{
	munmap(p, 64 << 20);
	if (r >= 0)
		close(r);
	close(fd);
}

static int cmp_u64(const void *a, const void *b);

/*
 * A third thread's mmap() and munmap() of 4 KiB of anonymous memory while
 * two threads take major faults on the FUSE file "rand" (vmfaultfs told to
 * wait 1 ms per READ): MMLAT_CALLS pairs 200 us apart, and the median
 * pair's wall-clock nanoseconds (faults and READs: of the whole trial). Both calls take mmap_lock for writing; a fault that held
 * it across its READ would make them wait up to the READ's 1 ms. vmfault
 * (a file region, window 1) drops it for the READ as filemap_fault() does
 * for the page cache (MADV_RANDOM: one page per READ too). A "#mmlat" line
 * gives the last trial's median, 90th percentile and largest pair. Run
 * only when asked for (-s mmap-latency), in the VM with a host thread per
 * vCPU (devtools/bench), as write-threads.
 */
static void mmlat_trial(const void *arg, struct sample *s)
{
	const struct mmlat_arg *a = arg;
	size_t half = MMLAT_PAGES / 2;
	static uint64_t lat[MMLAT_CALLS];
	static uint32_t order[MMLAT_PAGES];
	struct faulter f[2];
	volatile int stop = 0;
	int fd, r, i;
	uint64_t r0;
	long f0;
	/* Every 4th page of the file, shuffled. */
	char *p = map_rand(a->vmfault, order, MMLAT_PAGES, 4, 11, &fd, &r);

	r0 = vff_stat(&mnt, "read_requests");
	f0 = faults_now();
	for (i = 0; i < 2; i++) {
		f[i] = (struct faulter){ .cpu = i, .p = p, .order = order + i * half,
					 .n = half, .stop = &stop };
		if (pthread_create(&f[i].t, NULL, faulter_fn, &f[i]))
			die("pthread_create failed");
	}
	usleep(20000);	/* both are in their first READs */
	for (i = 0; i < MMLAT_CALLS; i++) {
		uint64_t t0 = now_ns();
		void *m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		munmap(m, ps);
		lat[i] = now_ns() - t0;
		usleep(200);
	}
	stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(f[i].t, NULL);
		if (f[i].done == f[i].n)
			die("mmap-latency: a faulting thread ran out of pages before the calls ended");
	}
	/* The trial's figure: the median pair (a mean would be the few longest). */
	qsort(lat, MMLAT_CALLS, sizeof(lat[0]), cmp_u64);
	s->ns = lat[MMLAT_CALLS / 2];
	s->units = 1;
	s->reads = vff_stat(&mnt, "read_requests") - r0;
	s->faults = faults_now() - f0;	/* the faulting threads' */
	printf("#mmlat\t%s\t%llu\t%llu\t%llu\n", a->vmfault ? "vmfault-w1" : "mmap-fuse-random",
	       (unsigned long long)lat[MMLAT_CALLS / 2],
	       (unsigned long long)lat[MMLAT_CALLS * 9 / 10],
	       (unsigned long long)lat[MMLAT_CALLS - 1]);
	unmap_rand(p, fd, r);
}

/* ---- random major faults from one thread and from two ---- */

#define RT_PAGES	256	/* pages read per trial, split between the threads */

/*
 * RT_PAGES cold random pages of the FUSE file "rand" (vmfaultfs told to
 * wait 1 ms per READ), read by @nthreads threads on CPUs of their own:
 * wall-clock nanoseconds per page. Two threads take twice as many faults
 * at once only if nothing serializes them: not the module (each fault's
 * READ outside any lock of the region's) and not the daemon (vmfaultfs
 * serves requests on several threads). vmfault window 1 against the page
 * cache with MADV_RANDOM. Run only when asked for (-s random-threads), in
 * the VM with a host thread per vCPU (devtools/bench), as write-threads.
 */
static void rthreads_trial(const void *arg, struct sample *s)
{
	const struct threads_arg *a = arg;	/* vmfault: a file region */
	size_t part = RT_PAGES / a->nthreads;
	static uint32_t order[RT_PAGES];
	struct faulter f[2];
	volatile int go = 0;
	int fd, r, i;
	uint64_t r0, t0;
	long f0;
	/* Every 64th page of the file, shuffled. */
	char *p = map_rand(a->vmfault, order, RT_PAGES, 64, 13, &fd, &r);

	for (i = 0; i < a->nthreads; i++) {
		f[i] = (struct faulter){ .cpu = i, .p = p, .order = order + i * part,
					 .n = part, .go = &go };
		if (pthread_create(&f[i].t, NULL, faulter_fn, &f[i]))
			die("pthread_create failed");
	}
	usleep(10000);	/* the threads are on their CPUs, spinning */
	r0 = vff_stat(&mnt, "read_requests");
	f0 = faults_now();
	t0 = now_ns();
	go = 1;
	for (i = 0; i < a->nthreads; i++)
		pthread_join(f[i].t, NULL);
	s->ns = now_ns() - t0;
	s->faults = faults_now() - f0;
	s->reads = vff_stat(&mnt, "read_requests") - r0;
	s->units = RT_PAGES;
	unmap_rand(p, fd, r);
}

/*
 * In a trial's child, before its window: fault in what the window touches
 * besides the trial's mappings, so that the window counts none of the
 * child's own first faults. fork() copies no pte of the vDSO's text (its
 * first clock_gettime() in the child would fault inside the window) nor of
 * a shared mapping (size_trial() stores in its @sample before its last
 * count of faults), and the stack pages below the child's first frame are
 * the parent's, copy-on-write.
 */
static __attribute__((noinline)) void child_prefault(struct sample *sample)
{
	volatile char stack[8 * 4096];
	size_t i;

	for (i = 0; i < sizeof(stack); i += ps)
		stack[i] = 0;
	((volatile struct sample *)sample)->units = sample->units;
	(void)now_ns();
}

/*
 * Run a trial in a child forked for it, and take its sample back: each
 * memory trial's mapping then goes into a copy of the same address space,
 * at the same place. In the one long-lived process each mmap() landed
 * where the earlier ones had left room, and the vma lookup of every fault
 * (the maple tree's walk, which scans a node's pivots in turn) cost about
 * 50 instructions more or less from one scenario to the next, anon's and
 * vmfault's alike: an offset that moved every ratio, and the comparison
 * of the module with and without counters. The child has its own rusage,
 * and leaves by _exit() (die() too exits only the child; the parent then
 * dies of it). fork() itself, and the child's first faults
 * (child_prefault()), are outside the measured window.
 */
static void trial_in_child(void (*trial)(const void *arg, struct sample *s), const void *arg,
			   struct sample *s)
{
	static struct sample *shared;
	pid_t pid;
	int st;

	if (!shared) {
		shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED)
			die("mmap: %s", strerror(errno));
	}
	*shared = *s;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		child_prefault(shared);
		trial(arg, shared);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("a trial's child failed (wait status %#x)", st);
	*s = *shared;
}

/* ---- growth with size ---- */

struct size_arg {
	uint64_t size;		/* the region's size */
	bool half;		/* the window's even pages exist and are mapped */
};

#define SIZE_WINDOW	256	/* pages read: the last MiB of the region */

/*
 * A read of a hole near the end of a sparse region of @size bytes (the
 * deepest xarray path it has): SIZE_WINDOW pages, or with @half the odd
 * ones between resident pages. A private read-only mapping, so that a
 * 64 GiB region is not charged to overcommit.
 */
static void size_trial_here(const void *arg, struct sample *s)
{
	const struct size_arg *a = arg;
	size_t win = SIZE_WINDOW * ps, step = a->half ? 2 * (size_t)ps : (size_t)ps;
	int fd = region(VMFAULT_MODE_ZERO, 0, a->size, -1, 0);
	char *p = map_or_die(a->size, PROT_READ, MAP_PRIVATE, fd, 0);
	char *w = p + a->size - win;
	uint64_t t0;
	long f0;

	if (a->half)
		make_even_pages(fd, a->size - win, w, win);
	f0 = faults_now();
	t0 = now_ns();
	touch_pages(w + (a->half ? ps : 0), win - (a->half ? ps : 0), step, false);
	s->ns = now_ns() - t0;
	s->faults = faults_now() - f0;
	s->units = win / step;
	s->touched = s->units * ps;
	s->allocs = count_allocs(w, win) - (a->half ? s->units : 0);
	munmap(p, a->size);
	close(fd);
}

static void size_trial(const void *arg, struct sample *s)
{
	trial_in_child(size_trial_here, arg, s);
}

/* ---- core mm's fault-around at each window: vmfault against shmem ---- */

#define FA_BYTES	"/sys/kernel/debug/fault_around_bytes"
#define FA_SPARSE	16	/* fa-window-sparse: reads, 2 MiB apart */

/* Core mm's fault-around window in bytes (debugfs). */
static unsigned long fault_around_get(void)
{
	unsigned long v = fault_around_bytes();

	if (!v)
		die("%s: cannot read it", FA_BYTES);
	return v;
}

/* Set it to @bytes, a power of two from 4 KiB to 2 MiB; it must take. */
static void fault_around_set(unsigned long bytes)
{
	FILE *f = fopen(FA_BYTES, "w");

	if (!f || fprintf(f, "%lu\n", bytes) < 0 || fclose(f))
		die("%s: cannot write %lu: %s", FA_BYTES, bytes, strerror(errno));
	if (fault_around_get() != bytes)
		die("%s: wrote %lu, reads %lu", FA_BYTES, bytes, fault_around_get());
}

struct window_arg {
	int fd;		/* a zero-mode region (FAULT_AROUND) or a memfd, written */
	size_t span;
	bool sparse;	/* one read per 2 MiB, not one per page */
};

/*
 * fa-window, fa-window-sparse: a warm re-mmap. The pages exist and hold
 * data; each trial maps them again (MAP_SHARED, 2 MiB aligned) and reads
 * one byte per page, or one per 2 MiB, with core mm's fault-around at the
 * window fault_around_bytes says: vmfault's ->map_pages
 * (vmfault_region_map_resident(): zero mode with FAULT_AROUND, and file
 * mode over a memfd whose pages the region has read in) against the
 * kernel's own, filemap_map_pages() over shmem. Nothing is allocated,
 * cleared or copied on either side: same class.
 */
static void window_trial(const void *arg, struct sample *s)
{
	const struct window_arg *w = arg;
	size_t step = w->sparse ? SZ_2M : (size_t)ps;
	char *p = map_or_die(w->span, PROT_READ, MAP_SHARED, w->fd, 0);
	uint64_t t0;
	long f0;

	f0 = faults_now();
	t0 = now_ns();
	touch_pages(p, w->span, step, false);
	s->ns = now_ns() - t0;
	s->faults = faults_now() - f0;
	s->units = w->span / step;
	s->touched = s->units * ps;
	s->mapped = count_allocs(p, w->span);
	munmap(p, w->span);
}

/* ---- GET_INFO and /proc/vmfault_regions against dirty pages ---- */

struct info_arg {
	size_t dirty;		/* pages written, not yet written back */
	bool proc;		/* read /proc/vmfault_regions, not GET_INFO */
};

#define INFO_CALLS	32

/*
 * A file-mode region over a memfd with @dirty pages written through a
 * shared mapping: the time of one VMFAULT_IOC_GET_INFO, or of one read of
 * /proc/vmfault_regions (which asks every open region for the same).
 */
static void info_trial(const void *arg, struct sample *s)
{
	const struct info_arg *a = arg;
	size_t len = (a->dirty ? a->dirty : 1) * ps;
	int mfd = memfd_create("bench-dirty", MFD_CLOEXEC), fd, i;
	struct vmfault_region_info info;
	char buf[65536];
	uint64_t t0;
	char *p;

	if (mfd < 0 || ftruncate(mfd, len))
		die("memfd: %s", strerror(errno));
	fd = region(VMFAULT_MODE_FILE, 0, len, mfd, 1);
	p = map_or_die(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a->dirty)
		touch_pages(p, len, ps, true);
	if (ioctl(fd, VMFAULT_IOC_GET_INFO, &info))
		die("VMFAULT_IOC_GET_INFO: %s", strerror(errno));
	if (info.dirty != a->dirty)
		die("info: %llu dirty pages, not %zu", (unsigned long long)info.dirty, a->dirty);
	t0 = now_ns();
	for (i = 0; i < INFO_CALLS; i++) {
		if (a->proc) {
			int pfd = open("/proc/vmfault_regions", O_RDONLY | O_CLOEXEC);

			if (pfd < 0)
				die("open /proc/vmfault_regions: %s", strerror(errno));
			while (read(pfd, buf, sizeof(buf)) > 0)
				;
			close(pfd);
		} else if (ioctl(fd, VMFAULT_IOC_GET_INFO, &info)) {
			die("VMFAULT_IOC_GET_INFO: %s", strerror(errno));
		}
	}
	s->ns = now_ns() - t0;
	s->units = INFO_CALLS;
	munmap(p, len);
	close(fd);
	close(mfd);
}

/* ---- running and printing ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool wanted(const char *scen)
{
	const char *p;
	size_t n = strlen(scen);

	if (!only)
		return true;
	for (p = only; (p = strstr(p, scen)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/*
 * Print the line of one comparator: times over the trials (@per: tenths of
 * a nanosecond per unit, printed to one decimal), counts of the last.
 */
static void emit(const char *scen, const char *comp, const char *unit, uint64_t *per,
		 int n, const struct sample *s)
{
	double u = s->units;
	char allocs[32] = "-";

	if (s->allocs != NOT_COUNTED)
		snprintf(allocs, sizeof(allocs), "%.4f", s->allocs / u);
	qsort(per, n, sizeof(*per), cmp_u64);
	printf("%s\t%s%s%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%.4f\t%s\t%.4f\t%.3f\n", scen, comp,
	       tag ? "/" : "", tag ? tag : "", unit, per[n / 2] / 10.0, per[0] / 10.0,
	       per[n - 1] / 10.0, n,
	       s->faults / u, allocs, s->reads / u,
	       s->touched ? (double)s->bytes / s->touched : 0.0);
	/* Where counted: TLB flushes per unit, a line of its own. */
	if (s->tlb > 0 || (s->tlb == 0 && strstr(comp, "evict")))
		printf("#tlb\t%s\t%s%s%s\t%.4f\n", scen, comp, tag ? "/" : "", tag ? tag : "",
		       s->tlb / u);
	/* Where counted: pages mapped per unit (fault-around's reach). */
	if (s->mapped)
		printf("#mapped\t%s\t%s%s%s\t%.4f\n", scen, comp, tag ? "/" : "",
		       tag ? tag : "", s->mapped / u);
	fflush(stdout);
}

/* Comparators that need the module: vmfault's modes, its pager mode. */
static bool is_vmfault(const char *comp)
{
	return !strncmp(comp, "vmfault", 7) || !strncmp(comp, "pager", 5);
}

static bool skip_comp(const char *comp)
{
	return (native && is_vmfault(comp)) || (tag && !is_vmfault(comp));
}

/* One comparator: a warm-up, then the trials; one line. */
static void measure(const char *scen, const char *comp, const char *unit,
		    void (*trial)(const void *arg, struct sample *s), const void *arg)
{
	uint64_t per[MAX_TRIALS];
	struct sample s;
	int t;

	if (skip_comp(comp))
		return;
	for (t = -1; t < trials; t++) {
		memset(&s, 0, sizeof(s));
		s.allocs = NOT_COUNTED;
		trial(arg, &s);
		if (t >= 0)
			per[t] = s.ns * 10 / s.units;
	}
	emit(scen, comp, unit, per, trials, &s);
}

/* A comparator of a scenario, for measure_set(); a scenario has at most MAX_COMPS. */
#define MAX_COMPS	32

struct comp {
	const char *name;
	const char *unit;
	void (*trial)(const void *arg, struct sample *s);
	const void *arg;
};

/*
 * The comparators of one scenario. Under icount each runs its warm-up and
 * its trials in turn (instructions do not drift). Natively, and in the
 * dev VM's wall-clock scenarios (@wall), the warm-ups and then the trials
 * go round the comparators, so that a slow spell of the machine (another
 * process, the clock frequency, the host of a VM) falls on all of them,
 * not on one.
 */
static void measure_set(const char *scen, const struct comp *cs, int n, bool wall)
{
	uint64_t (*per)[MAX_TRIALS];
	struct sample *last;
	int c, t;

	if (!native && !wall) {
		for (c = 0; c < n; c++)
			measure(scen, cs[c].name, cs[c].unit, cs[c].trial, cs[c].arg);
		return;
	}
	per = calloc(n, sizeof(*per));
	last = calloc(n, sizeof(*last));
	if (!per || !last)
		die("calloc: %s", strerror(errno));
	for (t = -1; t < trials; t++)
		for (c = 0; c < n; c++) {
			if (skip_comp(cs[c].name))
				continue;
			memset(&last[c], 0, sizeof(last[c]));
			last[c].allocs = NOT_COUNTED;
			cs[c].trial(cs[c].arg, &last[c]);
			if (t >= 0)
				per[c][t] = last[c].ns * 10 / last[c].units;
		}
	for (c = 0; c < n; c++) {
		if (skip_comp(cs[c].name))
			continue;
		/*
		 * Wall clock: each trial in round order, before emit() sorts
		 * them, so that a target over several comparators can be
		 * taken round by round, each ratio of trials that ran side by
		 * side (vmfault_bench_report).
		 */
		if (wall) {
			printf("#rounds\t%s\t%s", scen, cs[c].name);
			for (t = 0; t < trials; t++)
				printf("%c%.1f", t ? ',' : '\t', per[c][t] / 10.0);
			printf("\n");
		}
		emit(scen, cs[c].name, cs[c].unit, per[c], trials, &last[c]);
	}
	free(per);
	free(last);
}

struct mem_arg {
	enum mem_op op;
	enum mem_kind kind;
};

static void mem_trial_arg(const void *arg, struct sample *s)
{
	const struct mem_arg *m = arg;

	mem_trial(m->op, m->kind, s);
}

static void mem_trial_fn(const void *arg, struct sample *s)
{
	trial_in_child(mem_trial_arg, arg, s);
}

static void run_mem(const char *scen, enum mem_op op, const struct mem_case *cases, int ncases)
{
	struct mem_arg m[MAX_COMPS];
	struct comp cs[MAX_COMPS];
	int c;

	if (!wanted(scen))
		return;
	if (ncases > MAX_COMPS)
		die("%s: %d comparators, at most %d", scen, ncases, MAX_COMPS);
	for (c = 0; c < ncases; c++) {
		m[c] = (struct mem_arg){ op, cases[c].kind };
		cs[c] = (struct comp){ cases[c].name, "page", mem_trial_fn, &m[c] };
	}
	measure_set(scen, cs, ncases, false);
}

struct file_arg {
	const char *name;
	size_t len;
	const uint32_t *order;
	size_t norder;
	const struct file_case *fc;
};

static void file_trial_fn(const void *arg, struct sample *s)
{
	const struct file_arg *f = arg;

	file_trial(f->name, f->len, f->order, f->norder, f->fc, s);
}

/*
 * The READ latency the daemon measured (receipt to reply, its own
 * counters) over the trials just run, beside the delay it was told to
 * inject: a "#readlat" line.
 */
static void print_read_latency(const char *scen, const char *comp, unsigned int nominal_us,
			       struct vff_mount *m)
{
	uint64_t n = vff_stat(m, "read_requests"), ns = vff_stat(m, "read_ns");

	if (!n || n == UINT64_MAX || ns == UINT64_MAX)
		die("vmfaultfs: no READ counted for %s", comp);
	printf("#readlat\t%s\t%s%s%s\t%u\t%.1f\t%llu\n", scen, comp, tag ? "/" : "",
	       tag ? tag : "", nominal_us, ns / 1000.0 / n, (unsigned long long)n);
	fflush(stdout);
}

static void run_file(const char *scen, const char *name, size_t len, const uint32_t *order,
		     size_t norder, const struct file_case *cases, int ncases)
{
	struct file_arg f[MAX_COMPS];
	struct comp cs[MAX_COMPS];
	int c;

	if (!wanted(scen))
		return;
	if (ncases > MAX_COMPS)
		die("%s: %d comparators, at most %d", scen, ncases, MAX_COMPS);
	for (c = 0; c < ncases; c++) {
		f[c] = (struct file_arg){ name, len, order, norder, &cases[c] };
		cs[c] = (struct comp){ cases[c].name, order ? "page" : "MiB", file_trial_fn, &f[c] };
	}
	measure_set(scen, cs, ncases, false);
}

/* Every window from 1 to 512 pages, each comparator on pages of its own. */
static void run_window(const char *scen, bool sparse)
{
	static const unsigned int windows[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };
	size_t span = sparse ? FA_SPARSE * SZ_2M : npages * ps;
	unsigned long saved;
	char name[32];
	char *data;

	if (!wanted(scen) || native)
		return;
	saved = fault_around_get();
	data = malloc(span);
	if (!data)
		die("malloc: %s", strerror(errno));
	memset(data, 'w', span);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		fault_around_set(windows[i] * ps);
		for (int c = 0; c < 3; c++) {
			static const char *const comp[] = { "vmfault-fa", "vmfault-file", "shmem" };
			struct window_arg w = { -1, span, sparse };
			int mfd = -1;

			snprintf(name, sizeof(name), "%s-w%u", comp[c], windows[i]);
			if (skip_comp(name))
				continue;
			if (c == 0) {
				w.fd = region(VMFAULT_MODE_ZERO, VMFAULT_FLAG_FAULT_AROUND, span, -1, 0);
			} else if ((w.fd = memfd_create("bench-window", MFD_CLOEXEC)) < 0) {
				die("memfd: %s", strerror(errno));
			}
			if (pwrite(w.fd, data, span, 0) != (ssize_t)span)
				die("pwrite: %s", strerror(errno));
			if (c == 1) {
				/* File mode over the memfd, its pages read in once. */
				char *p;

				mfd = w.fd;
				w.fd = region(VMFAULT_MODE_FILE, 0, 0, mfd, 1);
				p = map_or_die(span, PROT_READ, MAP_SHARED, w.fd, 0);
				touch_pages(p, span, ps, false);
				munmap(p, span);
			}
			measure(scen, name, "page", window_trial, &w);
			close(w.fd);
			if (mfd >= 0)
				close(mfd);
		}
	}
	fault_around_set(saved);
	free(data);
}

static void mem_access_fn(const void *arg, struct sample *s)
{
	mem_access_trial(s);
}

static const struct mem_case read_cases[] = {
	{ "vmfault", M_VMF }, { "vmfault-shared", M_VMF_SHARED }, { "anon", M_ANON },
	{ "shmem", M_SHMEM }, { "uffd-zeropage", M_UFFD_ZERO },
	{ "populate-read", M_POPULATE },
	{ "pager-zeropage", M_PAGER_ZERO }, { "uffd-zeropage-2h", M_UFFD_ZERO2H },
	{ "pager-zeropage-2h", M_PAGER_ZERO2H },
};

static const struct mem_case read_fa_cases[] = {
	{ "vmfault-fa", M_VMF_FA }, { "vmfault", M_VMF }, { "anon", M_ANON },
	{ "shmem", M_SHMEM }, { "uffd-zeropage", M_UFFD_ZERO },
	{ "populate-read", M_POPULATE },
};

static const struct mem_case half_cases[] = {
	{ "vmfault", M_VMF }, { "anon", M_ANON },
};

static const struct mem_case sparse_cases[] = {
	{ "vmfault-fa", M_VMF_FA }, { "vmfault", M_VMF }, { "anon", M_ANON },
};

static const struct mem_case write_cases[] = {
	{ "vmfault", M_VMF }, { "vmfault-shared", M_VMF_SHARED }, { "anon", M_ANON },
	{ "shmem", M_SHMEM }, { "populate-write", M_POPULATE },
	{ "uffd-copy-4k", M_UFFD_COPY4K }, { "uffd-copy-64k", M_UFFD_COPY64K },
	{ "pager-supply-4k", M_PAGER_SUPPLY }, { "uffd-copy-4k-2h", M_UFFD_COPY4K2H },
	{ "pager-supply-4k-2h", M_PAGER_SUPPLY2H },
};

static const struct mem_case rw_cases[] = {
	{ "vmfault", M_VMF }, { "anon", M_ANON },
	{ "vmfault-shared", M_VMF_SHARED }, { "shmem", M_SHMEM },
};

static const struct mem_case cow_cases[] = {
	{ "vmfault", M_VMF }, { "tmpfs-private", M_TMPFS_PRIV },
};

static const struct mem_case populate_cases[] = {
	{ "vmfault", M_VMF }, { "vmfault-shared", M_VMF_SHARED }, { "anon", M_ANON },
	{ "shmem", M_SHMEM },
};

static const struct file_case seq_cases[] = {
	{ "vmfault-w1", F_VMF, 1 }, { "vmfault-w16", F_VMF, 16 },
	{ "vmfault-w32", F_VMF, 32 }, { "mmap-fuse", F_MMAP, 0 },
	{ "read-4k", F_READ, 4096 }, { "read-128k", F_READ, 131072 },
	{ "uffd-pager-4k", F_PAGER, 4096 }, { "uffd-pager-128k", F_PAGER, 131072 },
};

static const struct file_case rand_cases[] = {
	{ "vmfault-w1", F_VMF, 1 }, { "vmfault-w32", F_VMF, 32 },
	{ "mmap-fuse", F_MMAP, 0 }, { "mmap-fuse-random", F_MMAP_RANDOM, 0 },
	{ "pread-4k", F_READ, 4096 }, { "uffd-pager-4k", F_PAGER, 4096 },
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/*
 * The daemon that serves the next file scenario, mounted again over the
 * same files when it is not the one mounted, and said in a "# vmfaultfs:"
 * line (the report's heading): one thread (-s) where one fault waits for
 * one READ at a time, else libfuse's threads, for the scenarios whose
 * READs overlap (readahead in flight, several faulting threads). Idle
 * worker threads are not free: on 6.12 a major fault with the
 * multi-threaded daemon costs about 10% more, for vmfault and the page
 * cache alike, and the scenario switches context 14% more often (see
 * "Method" in Documentation/vmfault-bench.rst).
 */
static void file_daemon(bool one_thread)
{
	const char *what = one_thread ? "one thread (-s)" : "multi-threaded";

	if (mnt.one_thread != one_thread && vff_remount(&mnt, NULL, one_thread))
		die("cannot mount vmfaultfs again, %s", what);
	printf("# vmfaultfs: %s\n", what);
}

static bool file_scenarios_wanted(void)
{
	return wanted("file-seq") || wanted("file-random") || wanted("major-fault") ||
	       wanted("file-seq-delay") ||
	       (only && (wanted("mmap-latency") || wanted("random-threads")));
}

int main(int argc, char **argv)
{
	const size_t seq_len = 8 << 20, rand_len = 64 << 20, nrand = 1024;
	uint32_t *order;
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-t") && a + 1 < argc)
			trials = atoi(argv[++a]);
		else if (!strcmp(argv[a], "-n") && a + 1 < argc)
			npages = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "-s") && a + 1 < argc)
			only = argv[++a];
		else if (!strcmp(argv[a], "--native"))
			native = true;
		else if (!strcmp(argv[a], "--tag") && a + 1 < argc)
			tag = argv[++a];
		else
			die("usage: %s [-t TRIALS] [-n PAGES] [-s SCENARIO,...] [--native] [--tag TAG]",
			    argv[0]);
	}
	if (trials < 1 || trials > MAX_TRIALS || npages < 16 || npages % 16)
		die("-t is 1 to %d, -n a multiple of 16", MAX_TRIALS);
	ps = page_size();
	/* 4 KiB pages everywhere, also for MAP_POPULATE of anonymous memory. */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("PR_SET_THP_DISABLE: %s", strerror(errno));
	zpfn = zero_pfn();
	if (!zpfn)
		die("no pfn in /proc/self/pagemap: run as root");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# scenario\tcomparator\tunit\tmedian_ns\tmin_ns\tmax_ns\ttrials\tfaults\tallocs\treads\tread_per_touched\n");

	run_mem("read-hole", OP_READ, read_cases, N(read_cases));
	run_mem("read-hole-fa", OP_READ, read_fa_cases, N(read_fa_cases));
	run_mem("read-hole-half", OP_READ_HALF, half_cases, N(half_cases));
	run_mem("sparse-read", OP_SPARSE, sparse_cases, N(sparse_cases));
	run_mem("write-first", OP_WRITE, write_cases, N(write_cases));
	run_mem("read-then-write", OP_READ_WRITE, rw_cases, N(rw_cases));
	run_mem("cow-private", OP_COW, cow_cases, N(cow_cases));
	run_mem("map-populate", OP_MAP_POPULATE, populate_cases, N(populate_cases));
	run_mem("populate-read", OP_POPULATE_READ, populate_cases, N(populate_cases));
	run_mem("populate-write", OP_POPULATE_WRITE, populate_cases, N(populate_cases));

	if (wanted("mem-access") && !tag)
		measure("mem-access", "load", "access", mem_access_fn, NULL);
	if (wanted("evict-refault") && !native) {
		static const struct evict_arg minor = { 0, 0 }, b1 = { 0, 1 }, b16 = { 0, 16 };
		struct evict_arg e1 = b1, e16 = b16;

		/* A quarter of the pages fit: every page of the second pass misses. */
		e1.frames = e16.frames = npages / 4;
		evict_setup();
		measure("evict-refault", "vmfault-minor", "page", evict_trial, &minor);
		measure("evict-refault", "vmfault-evict-b1", "page", evict_trial, &e1);
		measure("evict-refault", "vmfault-evict-b16", "page", evict_trial, &e16);
		evict_teardown();
	}
	/* Only when asked for: see threads_trial(). */
	if (only && wanted("write-threads") && !native) {
		static const struct threads_arg ta[] = {
			{ true, 1 }, { true, 2 }, { false, 1 }, { false, 2 },
		};
		static const char *const names[] = {
			"vmfault-1t", "vmfault-2t", "anon-1t", "anon-2t",
		};

		struct comp cs[N(ta)];

		if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
			die("write-threads: needs 2 CPUs");
		for (size_t i = 0; i < N(ta); i++)
			cs[i] = (struct comp){ names[i], "page", threads_trial, &ta[i] };
		measure_set("write-threads", cs, N(ta), true);
	}
	if (wanted("read-hole-size") && !native) {
		static const struct size_arg sz[] = {
			{ 1ULL << 20, false }, { 16ULL << 20, false }, { 1ULL << 30, false },
			{ 64ULL << 30, false }, { 1ULL << 20, true }, { 16ULL << 20, true },
			{ 1ULL << 30, true }, { 64ULL << 30, true },
		};
		static const char *const names[] = {
			"vmfault-1m", "vmfault-16m", "vmfault-1g", "vmfault-64g",
			"vmfault-1m-half", "vmfault-16m-half", "vmfault-1g-half", "vmfault-64g-half",
		};

		for (size_t i = 0; i < N(sz); i++)
			measure("read-hole-size", names[i], "page", size_trial, &sz[i]);
	}
	run_window("fa-window", false);
	run_window("fa-window-sparse", true);
	if (wanted("info-dirty") && !native && !tag) {
		static const struct info_arg ia[] = {
			{ 0, false }, { 1024, false }, { 16384, false }, { 65536, false },
			{ 0, true }, { 1024, true }, { 16384, true }, { 65536, true },
		};
		static const char *const names[] = {
			"get-info-d0", "get-info-d1k", "get-info-d16k", "get-info-d64k",
			"proc-regions-d0", "proc-regions-d1k", "proc-regions-d16k", "proc-regions-d64k",
		};

		for (size_t i = 0; i < N(ia); i++)
			measure("info-dirty", names[i], "call", info_trial, &ia[i]);
	}
	if (!file_scenarios_wanted() || tag)
		return 0;
	if (vff_mount(&mnt, NULL))
		die("cannot mount vmfaultfs");
	if (vff_make_file(&mnt, "seq", seq_len, 's') || vff_make_file(&mnt, "rand", rand_len, 'r'))
		die("cannot create the files");
	/* 1024 distinct pages of the 64 MiB file, in a fixed random order. */
	order = malloc(rand_len / ps * sizeof(*order));
	for (i = 0; i < rand_len / ps; i++)
		order[i] = i;
	shuffle(order, rand_len / ps, FILE_RANDOM_SEED);
	if (wanted("file-seq"))
		file_daemon(false);
	run_file("file-seq", "seq", seq_len, NULL, 0, seq_cases, N(seq_cases));
	/* One fault, one READ at a time: one daemon thread. */
	if (wanted("file-random"))
		file_daemon(true);
	run_file("file-random", "rand", rand_len, order, nrand, rand_cases, N(rand_cases));
	/* Major faults of the cost model: one 4 KiB READ each, at three disk delays. */
	if (wanted("major-fault") && !native) {
		static const char * const delays[] = { "0", "100", "1000" };
		char cmd[64], name[32];
		unsigned int d;

		file_daemon(true);
		for (d = 0; d < 3; d++) {
			struct file_case fc = { name, F_VMF, 1 };

			snprintf(cmd, sizeof(cmd), "read_delay_us %s", delays[d]);
			snprintf(name, sizeof(name), "vmfault-w1-delay-%sus", delays[d]);
			if (vff_ctl(&mnt, cmd) || vff_ctl(&mnt, "zero_stats"))
				die("vmfaultfs ctl '%s' failed", cmd);
			run_file("major-fault", "rand", rand_len, order, 256, &fc, 1);
			print_read_latency("major-fault", name, atoi(delays[d]), &mnt);
		}
		vff_ctl(&mnt, "read_delay_us 0");
	}
	/*
	 * Sequential scans at three disk delays: vmfault's window against the
	 * page cache's readahead, each with its next window in flight while
	 * the scan uses the current one. Under icount with sleep=off, time
	 * spent waiting for the daemon is virtual time, counted exactly.
	 * Here and below READs overlap: the multi-threaded daemon.
	 */
	if (wanted("file-seq-delay") && !native) {
		static const char * const delays[] = { "0", "100", "1000" };
		char cmd[64], names[3][32];
		unsigned int d;

		file_daemon(false);
		for (d = 0; d < N(delays); d++) {
			struct file_case fc[3] = {
				{ names[0], F_VMF_ASYNC, 32 }, { names[1], F_VMF, 32 },
				{ names[2], F_MMAP, 0 },
			};

			snprintf(cmd, sizeof(cmd), "read_delay_us %s", delays[d]);
			snprintf(names[0], sizeof(names[0]), "vmfault-w32-async-%sus", delays[d]);
			snprintf(names[1], sizeof(names[1]), "vmfault-w32-%sus", delays[d]);
			snprintf(names[2], sizeof(names[2]), "mmap-fuse-%sus", delays[d]);
			if (vff_ctl(&mnt, cmd) || vff_ctl(&mnt, "zero_stats"))
				die("vmfaultfs ctl '%s' failed", cmd);
			run_file("file-seq-delay", "seq", seq_len, NULL, 0, fc, N(fc));
			print_read_latency("file-seq-delay", "both", atoi(delays[d]), &mnt);
		}
		vff_ctl(&mnt, "read_delay_us 0");
	}
	/* Only when asked for: see mmlat_trial(). */
	if (only && wanted("mmap-latency") && !native) {
		static const struct mmlat_arg ma[] = { { true }, { false } };
		static const char *const names[] = { "vmfault-w1", "mmap-fuse-random" };

		struct comp cs[N(ma)];

		if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
			die("mmap-latency: needs 2 CPUs");
		file_daemon(false);
		if (vff_ctl(&mnt, "read_delay_us 1000") || vff_ctl(&mnt, "zero_stats"))
			die("vmfaultfs ctl failed");
		for (size_t i = 0; i < N(ma); i++)
			cs[i] = (struct comp){ names[i], "call", mmlat_trial, &ma[i] };
		measure_set("mmap-latency", cs, N(ma), true);
		print_read_latency("mmap-latency", "both", 1000, &mnt);
		vff_ctl(&mnt, "read_delay_us 0");
	}
	/* Only when asked for: see rthreads_trial(). */
	if (only && wanted("random-threads") && !native) {
		static const struct threads_arg ra[] = {
			{ true, 1 }, { true, 2 }, { false, 1 }, { false, 2 },
		};
		static const char *const names[] = {
			"vmfault-w1-1t", "vmfault-w1-2t", "mmap-fuse-random-1t", "mmap-fuse-random-2t",
		};

		struct comp cs[N(ra)];

		if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
			die("random-threads: needs 2 CPUs");
		file_daemon(false);
		if (vff_ctl(&mnt, "read_delay_us 1000") || vff_ctl(&mnt, "zero_stats"))
			die("vmfaultfs ctl failed");
		for (size_t i = 0; i < N(ra); i++)
			cs[i] = (struct comp){ names[i], "page", rthreads_trial, &ra[i] };
		measure_set("random-threads", cs, N(ra), true);
		print_read_latency("random-threads", "all", 1000, &mnt);
		vff_ctl(&mnt, "read_delay_us 0");
	}
	free(order);
	if (vff_umount(&mnt))
		die("umount failed");
	return 0;
}
