// SPDX-License-Identifier: GPL-2.0
/*
 * stress: random operations on /dev/vmfault regions of every mode, from
 * many threads and processes at once, for a bounded time and a given seed,
 * with a data oracle.
 *
 * USAGE: stress [-s SEED] [-t SECONDS] [-p PROCS] [-j THREADS] [-n] [-b] [-v]
 *   -s SEED     the seed (default: $VMFAULT_SEED, else from the clock);
 *               printed first, so that a run can be replayed with the same
 *               choices (the threads' interleaving is the scheduler's)
 *   -t SECONDS  how long to run (default 20)
 *   -p PROCS    worker processes at a time (default 3)
 *   -j THREADS  threads per worker process (default 3)
 *   -n          no vmfaultfs: file regions are backed by plain files, in
 *               /dev/shm (tmpfs) or DIR (default: on a vmfaultfs mount
 *               that is stalled and killed)
 *   -d DIR      with -n: the plain files' directory (an ext4 or xfs mount)
 *   -m BYTES    put every other worker in a memory cgroup with this
 *               memory.max: region pages are charged there; such a worker
 *               also grows a zero region of ballast (64 KiB per 20 ms),
 *               and one past the limit is OOM-killed (accepted, as a
 *               SIGKILL)
 *   -b          give half of the regions a frame budget smaller than the
 *               region (every policy; zero mode swapping to a tmpfs file),
 *               so that evictions race everything else; and drop caches
 *               every half to one and a half seconds, so that the kernel's
 *               reclaim of budgeted pages (the module's shrinker) races it
 *               too
 *
 * Each worker process owns NSLOT slots. A slot is a region, in zero mode or
 * in file mode over its own file, with at most one mapping (any pages of
 * which may be unmapped or read-only). The threads pick operations at
 * random: read or write pages through the mapping, pread and pwrite on the
 * region's fd, open and configure, mmap, munmap, mremap, mprotect,
 * MADV_DONTNEED, msync, the ioctls (also a refused reconfigure and an
 * unknown command), close, and fork (the child reads and writes its copy,
 * then exits); and I/O between a backing file and its region's mapping: a
 * write() of a mapped page to the file (buffered or O_DIRECT: the write
 * holds the file's inode lock and may fault on its source), and an
 * O_DIRECT read of the file into a mapped page (a GUP user writing into a
 * region page, perhaps across a writeback). Workers exit with their mappings alive, and the main
 * process SIGKILLs some of them. With vmfaultfs, the main process also
 * stops the daemon for up to a second now and then, and kills it (then
 * mounts a new one over the same files).
 *
 * The data oracle: every page is written whole with a stamp (object,
 * page, sequence number, then a body derived from those), under a
 * per-page sequence lock in memory shared by all processes. Every page
 * read, through a mapping or pread, must be all zeros (zero mode only) or
 * a whole stamp of that object and page: never another region's or
 * another page's data, never a torn or stale-frame page. Reads race
 * munmap, mremap and mprotect on purpose; a read that raced one is
 * discarded (a per-slot sequence count says so), and SIGSEGV is then
 * expected. At the end, after every process is gone, each backing file
 * must hold, page by page, the last stamp written through a MAP_SHARED
 * mapping or pwrite (none lost), unless its daemon was killed while the
 * file's region lived. And the module's counters must balance:
 * pages_allocated - pages_freed and the region count are back to what
 * they were.
 *
 * Exit status 0 when all of that holds, 1 otherwise (with the first
 * failure's description), 2 on bad usage or setup.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

#include "vmfaultfs_lib.h"

#define NSLOT		6	/* slots per worker process */
#define MAXPROCS	8
#define MAXTHREADS	8
#define OBJ_PAGES	48	/* zero regions and backing files: at most this */
#define STAMP_MAGIC	0x564d4653u	/* "VMFS" */
#define LOCK_SPINS	20000
#define TORN		"a torn or corrupt page"

static long ps;

/* ---- random numbers: splitmix64 ---- */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static __thread uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rng_state);
}

static unsigned int below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

/* ---- the stamp ---- */
struct stamp {
	uint32_t magic;
	uint32_t obj;
	uint32_t page;
	uint32_t seq;
};

static void stamp_fill(char *buf, uint32_t obj, uint32_t page, uint32_t seq)
{
	struct stamp *st = (struct stamp *)buf;
	uint64_t *w = (uint64_t *)buf, k = ((uint64_t)obj << 32) ^ ((uint64_t)page << 20) ^ seq;

	for (long i = 2; i < ps / 8; i++)
		w[i] = mix64(k + i);
	st->magic = STAMP_MAGIC;
	st->obj = obj;
	st->page = page;
	st->seq = seq;
}

/* NULL if @buf is a whole stamp of (obj, page) or, if allowed, all zeros. */
static const char *stamp_check(const char *buf, uint32_t obj, uint32_t page, bool zero_ok,
			       uint32_t *seq)
{
	const struct stamp *st = (const struct stamp *)buf;
	const uint64_t *w = (const uint64_t *)buf;
	uint64_t k;

	if (st->magic != STAMP_MAGIC) {
		for (long i = 0; i < ps / 8; i++)
			if (w[i])
				return "neither zeros nor a stamp";
		return zero_ok ? NULL : "zeros where the file has data";
	}
	if (st->obj != obj)
		return "another object's data";
	if (st->page != page)
		return "another page's data";
	k = ((uint64_t)obj << 32) ^ ((uint64_t)page << 20) ^ st->seq;
	for (long i = 2; i < ps / 8; i++)
		if (w[i] != mix64(k + i))
			return TORN;
	if (seq)
		*seq = st->seq;
	return NULL;
}

/* ---- state shared by every process (MAP_SHARED, made by main) ---- */
#define HIST	8			/* writes of a file page remembered */

struct file_state {			/* the backing file of one slot */
	uint32_t id;
	_Atomic uint32_t ver[OBJ_PAGES];	/* seqlock of each file page */
	_Atomic uint32_t last[OBJ_PAGES];	/* last seq written to the file's region */
	_Atomic uint32_t last_gen[OBJ_PAGES];	/* mount generation of that write;
						 * 0: made directly, not through a mount */
	/* the last HIST writes of each page, for the report of a lost one */
	_Atomic uint32_t hist[OBJ_PAGES][HIST];	/* seq << 8 | how */
	_Atomic uint32_t nhist[OBJ_PAGES];
};

struct zero_state {			/* the zero-mode region of one slot */
	_Atomic uint32_t ver[OBJ_PAGES];
};

struct shared {
	_Atomic int stop;
	_Atomic int failed;
	char why[512];
	_Atomic uint64_t mount_gen;		/* the live vmfaultfs mount: 1 to 63 */
	_Atomic uint64_t killed_gens;		/* generations whose daemon was killed */
	char mnt[64][64];			/* mount point of each generation */
	struct file_state files[MAXPROCS][NSLOT];
	struct zero_state zeros[MAXPROCS][NSLOT];
	_Atomic uint32_t next_obj;
	/* statistics */
	_Atomic uint64_t ops, pages_read, pages_written, zeros_seen, raced, contended,
		forks, opens, budgets, mremaps, mremap_refused, mprotects, munmaps, closes, ioctls,
		sigbus_dead, exits_live, flushes, repaired, torn_lossy, backing_writes,
		backing_reads, direct_io, torn_reads;
};

static struct shared *sh;
static bool fork_child_now;		/* in a fork child (its writes say 'c') */
static const char *filedir;		/* backing files: vmfaultfs or plain */
static char cgdir[128];			/* the workers' memory cgroup, if any */
static bool use_fuse = true;
static bool use_budgets;	/* -b: frame budgets on half of the regions */

static void fail(const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	int zero = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (atomic_compare_exchange_strong(&sh->failed, &zero, 1))
		snprintf(sh->why, sizeof(sh->why), "pid %d: %s", getpid(), msg);
	fprintf(stderr, "stress: FAIL: pid %d: %s\n", getpid(), msg);
	atomic_store(&sh->stop, 1);
}

/* ---- a page lock: the seqlock's writer side, bounded ---- */
static bool page_lock(_Atomic uint32_t *v, uint32_t *was)
{
	for (int i = 0; i < LOCK_SPINS; i++) {
		uint32_t cur = atomic_load(v);

		if (!(cur & 1) && atomic_compare_exchange_weak(v, &cur, cur + 1)) {
			*was = cur;
			return true;
		}
		if (i > 100)
			sched_yield();
	}
	atomic_fetch_add(&sh->contended, 1);
	return false;
}

static void page_unlock(_Atomic uint32_t *v)
{
	atomic_fetch_add(v, 1);
}

/* ---- signals: reads race munmap (SIGSEGV), dead daemons SIGBUS ---- */
static __thread sigjmp_buf jb;
static __thread volatile int armed;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (armed) {
		armed = 0;
		siglongjmp(jb, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- a slot, private to a worker process (its threads share it) ---- */
enum { MODE_NONE, MODE_ZERO, MODE_FILE };

struct slot {
	pthread_rwlock_t lock;		/* writers of data: read; structure: write */
	int idx;			/* in wk.slots */
	_Atomic uint32_t gen;		/* odd while the mapping changes */
	int fd;				/* -1 once closed */
	int mode;
	uint32_t obj;			/* stamp object: region id or file id */
	unsigned int obj_off;		/* region page 0 is object page obj_off */
	unsigned int npages;		/* region size */
	uint64_t mount_gen;
	/* the mapping (base NULL if none) */
	char *_Atomic base;
	unsigned int map_off;		/* region page of mapping page 0 */
	unsigned int map_pages;
	bool shared;
	bool mapped[OBJ_PAGES];
	bool writable[OBJ_PAGES];
	_Atomic uint32_t *ver;		/* seqlocks, by object page */
	struct file_state *file;
	bool alive;			/* a region exists (fd open or mapped) */
};

struct worker {
	int idx;
	uint64_t seed;
	struct slot slots[NSLOT];
	pthread_rwlock_t forklock;	/* fork children alive: read; file opens: write */
};

static struct worker wk;
static int ballast = -1;		/* a memory-cgroup worker's zero region */
#define BALLAST_PAGES	4096

static bool mount_dead(uint64_t gen)
{
	return use_fuse && (atomic_load(&sh->killed_gens) & (1ULL << (gen % 64)));
}

/* Record write @seq to file page @p, made through a region of @s's mount. */
static void file_written(struct slot *s, unsigned int p, uint32_t seq, char how)
{
	uint32_t n = atomic_fetch_add(&s->file->nhist[p], 1);

	atomic_store(&s->file->hist[p][n % HIST], seq << 8 | (uint8_t)how);
	atomic_store(&s->file->last[p], seq);
	atomic_store(&s->file->last_gen[p], s->mount_gen);
}

/*
 * Was the last write to file page @p made through a mount whose daemon was
 * then killed? Its writeback may never have happened, or only halfway: a
 * writeback caught a page that a thread was still writing, and the
 * writeback that would have followed never came. The file may then hold
 * an older stamp of that page, or a torn one (two stamps of that same
 * page); never another page's or another object's.
 */
static bool file_page_lossy(struct file_state *f, unsigned int p)
{
	return mount_dead(atomic_load(&f->last_gen[p]));
}

static void slot_begin_change(struct slot *s)
{
	atomic_fetch_add(&s->gen, 1);
}

static void slot_end_change(struct slot *s)
{
	atomic_fetch_add(&s->gen, 1);
}

/* Check one page read through the mapping of @s; the caller holds nothing. */
static void op_read(struct slot *s, char *buf)
{
	uint32_t g1 = atomic_load(&s->gen), v1, obj, objpage;
	unsigned int mp;
	char *base;
	const char *why;
	int sig;

	if (g1 & 1)
		return;
	base = atomic_load(&s->base);
	if (!base || !s->map_pages)
		return;
	mp = below(s->map_pages);
	if (!s->mapped[mp])
		return;
	obj = s->obj;
	objpage = s->obj_off + s->map_off + mp;
	if (objpage >= OBJ_PAGES)
		return;
	v1 = atomic_load(&s->ver[objpage]);
	if (v1 & 1)
		return;
	sig = sigsetjmp(jb, 1);
	if (sig) {
		if (atomic_load(&s->gen) != g1) {
			atomic_fetch_add(&sh->raced, 1);
			return;
		}
		if (sig == SIGBUS && s->mode == MODE_FILE && mount_dead(s->mount_gen)) {
			atomic_fetch_add(&sh->sigbus_dead, 1);
			return;
		}
		fail("signal %d reading page %u of a stable %s mapping (region page %u)", sig, mp,
		     s->mode == MODE_ZERO ? "zero" : "file", s->map_off + mp);
		return;
	}
	armed = 1;
	memcpy(buf, base + (size_t)mp * ps, ps);
	armed = 0;
	if (atomic_load(&s->gen) != g1 || atomic_load(&s->ver[objpage]) != v1) {
		atomic_fetch_add(&sh->raced, 1);
		return;
	}
	why = stamp_check(buf, obj, objpage, s->mode == MODE_ZERO, NULL);
	if (why && !strcmp(why, TORN) && s->file && file_page_lossy(s->file, objpage)) {
		atomic_fetch_add(&sh->torn_lossy, 1);
		why = NULL;
	}
	if (why) {
		const struct stamp *st = (const struct stamp *)buf;

		fail("read of %s region page %u (object %u page %u) through a %s mapping: %s "
		     "(found object %u page %u write %u)", s->mode == MODE_ZERO ? "zero" : "file",
		     s->map_off + mp, obj, objpage, s->shared ? "shared" : "private", why,
		     st->obj, st->page, st->seq);
	}
	atomic_fetch_add(&sh->pages_read, 1);
	if (buf[0] == 0)
		atomic_fetch_add(&sh->zeros_seen, 1);
}

/* Stamp one page through the mapping; the caller holds s->lock for read. */
static void op_write(struct slot *s, char *buf)
{
	unsigned int mp, objpage;
	uint32_t was;
	int sig;

	if (!s->base || !s->map_pages)
		return;
	mp = below(s->map_pages);
	if (!s->mapped[mp] || !s->writable[mp])
		return;
	objpage = s->obj_off + s->map_off + mp;
	if (!page_lock(&s->ver[objpage], &was))
		return;
	stamp_fill(buf, s->obj, objpage, (was + 2) / 2);
	sig = sigsetjmp(jb, 1);
	if (sig) {
		page_unlock(&s->ver[objpage]);
		if (sig == SIGBUS && s->mode == MODE_FILE && mount_dead(s->mount_gen)) {
			atomic_fetch_add(&sh->sigbus_dead, 1);
			return;
		}
		fail("signal %d writing page %u of a stable mapping", sig, mp);
		return;
	}
	armed = 1;
	memcpy(s->base + (size_t)mp * ps, buf, ps);
	armed = 0;
	if (s->shared && s->file)
		file_written(s, objpage, (was + 2) / 2, fork_child_now ? 'c' : 'm');
	page_unlock(&s->ver[objpage]);
	atomic_fetch_add(&sh->pages_written, 1);
}

/* pread or pwrite of one region page on the region's fd; s->lock held. */
static void op_rw_fd(struct slot *s, char *buf, bool write)
{
	unsigned int rp = below(s->npages), objpage = s->obj_off + rp;
	uint32_t was, v1;
	const char *why;
	ssize_t n;

	if (s->fd < 0 || objpage >= OBJ_PAGES)
		return;
	if (write) {
		if (!page_lock(&s->ver[objpage], &was))
			return;
		stamp_fill(buf, s->obj, objpage, (was + 2) / 2);
		n = pwrite(s->fd, buf, ps, (off_t)rp * ps);
		if (n == ps && s->file)
			file_written(s, objpage, (was + 2) / 2, 'w');
		page_unlock(&s->ver[objpage]);
		if (n == ps)
			atomic_fetch_add(&sh->pages_written, 1);
		else if (!(s->mode == MODE_FILE && mount_dead(s->mount_gen)))
			fail("pwrite of region page %u: %zd (%s)", rp, n, strerror(errno));
		return;
	}
	v1 = atomic_load(&s->ver[objpage]);
	if (v1 & 1)
		return;
	n = pread(s->fd, buf, ps, (off_t)rp * ps);
	if (n != ps) {
		if (!(s->mode == MODE_FILE && mount_dead(s->mount_gen)))
			fail("pread of region page %u: %zd (%s)", rp, n, strerror(errno));
		return;
	}
	if (atomic_load(&s->ver[objpage]) != v1) {
		atomic_fetch_add(&sh->raced, 1);
		return;
	}
	why = stamp_check(buf, s->obj, objpage, s->mode == MODE_ZERO, NULL);
	if (why && !strcmp(why, TORN) && s->file && file_page_lossy(s->file, objpage)) {
		atomic_fetch_add(&sh->torn_lossy, 1);
		why = NULL;
	}
	if (why)
		fail("pread of %s region page %u: %s", s->mode == MODE_ZERO ? "zero" : "file", rp, why);
	atomic_fetch_add(&sh->pages_read, 1);
}

static void file_path(char *p, size_t len, uint64_t gen, int w, int i)
{
	if (use_fuse)
		snprintf(p, len, "%s/w%d-s%d", sh->mnt[gen % 64], w, i);
	else
		snprintf(p, len, "%s/w%d-s%d", filedir, w, i);
}

/*
 * I/O between a file-mode slot's backing file and a page of its MAP_SHARED
 * mapping, that page's lock held: a write() of the page to its own place
 * in the file (the source is the mapping, perhaps not resident: the write
 * holds the file's inode lock and faults), or a read of the file's page
 * into it (O_DIRECT where the file takes it: a GUP user writing into a
 * region page). After a read the page holds what the file had, which is
 * then its last write. s->lock held for read.
 */
static void op_backing_io(struct slot *s, char *buf)
{
	bool read = below(2), direct = below(2);
	unsigned int mp, objpage;
	uint32_t was, seq = 0;
	const char *why;
	char path[160];
	ssize_t n = -1;
	int bfd;

	if (s->mode != MODE_FILE || !s->base || !s->shared || !s->map_pages)
		return;
	mp = below(s->map_pages);
	if (!s->mapped[mp] || (read && !s->writable[mp]))
		return;
	objpage = s->obj_off + s->map_off + mp;
	if (objpage >= OBJ_PAGES)
		return;
	file_path(path, sizeof(path), s->mount_gen, wk.idx, s->idx);
	bfd = open(path, (read ? O_RDONLY : O_WRONLY) | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (bfd < 0 && direct) {
		direct = false;		/* tmpfs before 6.6 */
		bfd = open(path, (read ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
	}
	if (bfd < 0) {
		if (!mount_dead(s->mount_gen))
			fail("open %s: %s", path, strerror(errno));
		return;
	}
	if (!page_lock(&s->ver[objpage], &was)) {
		close(bfd);
		return;
	}
	if (read)
		n = pread(bfd, s->base + (size_t)mp * ps, ps, (off_t)objpage * ps);
	else
		n = pwrite(bfd, s->base + (size_t)mp * ps, ps, (off_t)objpage * ps);
	/*
	 * What the read brought is now the region page's last write. Look at
	 * the page itself: the file may already hold something else (a
	 * writeback of the page's older data may land between).
	 */
	if (n == ps && read) {
		int sig = sigsetjmp(jb, 1);

		if (!sig) {
			armed = 1;
			memcpy(buf, s->base + (size_t)mp * ps, ps);
			armed = 0;
			why = stamp_check(buf, s->obj, objpage, false, &seq);
			if (why && !strcmp(why, TORN)) {
				/*
				 * The read met a writeback of this very page
				 * (a file page read while it is written may be
				 * half old, half new): stamp the page whole again.
				 */
				seq = (was + 2) / 2;
				stamp_fill(buf, s->obj, objpage, seq);
				armed = 1;
				memcpy(s->base + (size_t)mp * ps, buf, ps);
				armed = 0;
				atomic_fetch_add(&sh->torn_reads, 1);
				why = NULL;
			}
			if (!why)
				file_written(s, objpage, seq, direct ? 'D' : 'R');
			else if (!file_page_lossy(s->file, objpage))
				fail("a read of file page %u into its region page: %s", objpage, why);
		} else if (!(sig == SIGBUS && mount_dead(s->mount_gen))) {
			fail("signal %d reading page %u after a read into it", sig, mp);
		}
	}
	page_unlock(&s->ver[objpage]);
	close(bfd);
	if (n != ps) {
		if (!mount_dead(s->mount_gen))
			fail("%s of file page %u %s the region's mapping: %zd (%s)",
			     read ? "pread" : "pwrite", objpage, read ? "into" : "from", n,
			     strerror(errno));
		return;
	}
	atomic_fetch_add(read ? &sh->backing_reads : &sh->backing_writes, 1);
	if (direct)
		atomic_fetch_add(&sh->direct_io, 1);
}

/* Map @s (after a structural lock): a random part of the region. */
static void map_slot(struct slot *s)
{
	unsigned int off = below(s->npages), n = 1 + below(s->npages - off);
	bool shared = below(2), rw = below(4) != 0;
	char *p;

	p = mmap(NULL, (size_t)n * ps, PROT_READ | (rw ? PROT_WRITE : 0),
		 shared ? MAP_SHARED : MAP_PRIVATE, s->fd, (off_t)off * ps);
	if (p == MAP_FAILED) {
		if (!(s->mode == MODE_FILE && mount_dead(s->mount_gen)))
			fail("mmap of %u pages at %u of a %u-page region: %s", n, off, s->npages,
			     strerror(errno));
		return;
	}
	s->map_off = off;
	s->map_pages = n;
	s->shared = shared;
	for (unsigned int i = 0; i < OBJ_PAGES; i++) {
		s->mapped[i] = i < n;
		s->writable[i] = i < n && rw;
	}
	atomic_store(&s->base, p);
}

static void unmap_all(struct slot *s)
{
	if (s->base)
		munmap(s->base, (size_t)s->map_pages * ps);
	atomic_store(&s->base, NULL);
	s->map_pages = 0;
	if (s->fd < 0)
		s->alive = false;
}

/*
 * -b: a frame budget below the region's size, with a random policy (OPT
 * with a random reference string) and reference tracing now and then; a
 * zero-mode region swaps to an unnamed tmpfs file. Evictions then race
 * everything else the threads and processes do; the oracle must hold.
 */
static void set_budget(struct slot *s, uint32_t mode)
{
	struct vmfault_frames fr = {
		.frames = 1 + below(s->npages), .policy = below(VMFAULT_NR_POLICIES),
	};
	uint64_t refs[64];
	int sfd = -1;

	fr.trace_pages = fr.policy == VMFAULT_POLICY_OPT ? 1 : below(3);
	if (fr.trace_pages > s->npages)
		fr.trace_pages = s->npages;
	if (fr.policy == VMFAULT_POLICY_RANDOM)
		fr.seed = 1 + below(1000);
	if (mode == VMFAULT_MODE_ZERO) {
		sfd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (sfd < 0) {
			fail("a swap file in /dev/shm: %s", strerror(errno));
			return;
		}
		fr.swap_fd = sfd;
	}
	if (ioctl(s->fd, VMFAULT_IOC_SET_FRAMES, &fr))
		fail("frames %u policy %u trace %u: %s", fr.frames, fr.policy, fr.trace_pages,
		     strerror(errno));
	if (fr.policy == VMFAULT_POLICY_OPT) {
		struct vmfault_refs r = { .nr = 64, .refs = (uintptr_t)refs };

		for (unsigned int k = 0; k < 64; k++)
			refs[k] = below(s->npages);
		if (ioctl(s->fd, VMFAULT_IOC_SET_REFS, &r))
			fail("OPT's reference string: %s", strerror(errno));
	}
	if (sfd >= 0)
		close(sfd);	/* the module holds its own reference */
	atomic_fetch_add(&sh->budgets, 1);
}

/* Open and configure a region in slot @i; s->lock held for write. */
static void op_open(int i)
{
	struct slot *s = &wk.slots[i];
	struct vmfault_config cfg = { 0 };
	char path[160];
	int bfd = -1;

	s->fd = vmf_open();
	if (s->fd < 0) {
		fail("open %s: %s", VMFAULT_DEV, strerror(errno));
		return;
	}
	if (below(3)) {
		cfg.mode = VMFAULT_MODE_ZERO;
		cfg.size = (uint64_t)(1 + below(OBJ_PAGES)) * ps;
		cfg.flags = below(2) ? 0 : VMFAULT_FLAG_FAULT_AROUND;
		s->mode = MODE_ZERO;
		s->obj = atomic_fetch_add(&sh->next_obj, 1);
		s->obj_off = 0;
		s->ver = sh->zeros[wk.idx][i].ver;
		s->file = NULL;
	} else {
		/* One region per file at a time: no fork child may hold the old one. */
		pthread_rwlock_wrlock(&wk.forklock);
		s->mount_gen = atomic_load(&sh->mount_gen);
		file_path(path, sizeof(path), s->mount_gen, wk.idx, i);
		bfd = open(path, O_RDWR | O_CLOEXEC);
		pthread_rwlock_unlock(&wk.forklock);
		if (bfd < 0) {
			if (!mount_dead(s->mount_gen))
				fail("open %s: %s", path, strerror(errno));
			close(s->fd);
			s->fd = -1;
			return;
		}
		s->file = &sh->files[wk.idx][i];
		s->mode = MODE_FILE;
		s->obj = s->file->id;
		s->obj_off = below(8);
		s->ver = s->file->ver;
		cfg.mode = VMFAULT_MODE_FILE;
		cfg.fd = bfd;
		cfg.offset = (uint64_t)s->obj_off * ps;
		cfg.size = below(2) ? 0 : (uint64_t)(1 + below(OBJ_PAGES - s->obj_off)) * ps;
		cfg.window = below(17);
		cfg.flags = below(4) ? 0 : VMFAULT_FLAG_NO_FAULT_AROUND;
		if (below(2))
			cfg.flags |= VMFAULT_FLAG_ASYNC_PREFETCH;
	}
	if (ioctl(s->fd, VMFAULT_IOC_CONFIGURE, &cfg)) {
		if (!(s->mode == MODE_FILE && mount_dead(s->mount_gen)))
			fail("configure mode %u size %llu: %s", cfg.mode,
			     (unsigned long long)cfg.size, strerror(errno));
		close(s->fd);
		s->fd = -1;
		if (bfd >= 0)
			close(bfd);
		return;
	}
	if (bfd >= 0)
		close(bfd);	/* the module holds its own reference */
	s->npages = cfg.size ? cfg.size / ps : OBJ_PAGES - s->obj_off;
	if (use_budgets && cfg.size && !(cfg.flags & VMFAULT_FLAG_FAULT_AROUND) && below(2))
		set_budget(s, cfg.mode);
	s->alive = true;
	atomic_fetch_add(&sh->opens, 1);
	map_slot(s);
}

/* One structural operation on slot @i, with its lock held for write. */
static void op_structure(int i)
{
	struct slot *s = &wk.slots[i];
	struct vmfault_region_info info;
	unsigned int a, n;
	char *p;

	slot_begin_change(s);
	if (!s->alive) {
		op_open(i);
		goto out;
	}
	switch (below(8)) {
	case 0:		/* munmap a run of pages, or all of them */
		if (!s->base)
			break;
		a = below(s->map_pages);
		n = 1 + below(s->map_pages - a);
		if (below(3) == 0) {
			unmap_all(s);
		} else {
			/*
			 * Unmap a run by mapping an inaccessible placeholder
			 * over it (MAP_FIXED: the same munmap of the vmfault
			 * pages inside the kernel). A bare hole could be given
			 * to another slot's mmap(), and this slot's munmap of
			 * its whole range would then take that mapping too.
			 */
			if (mmap(s->base + (size_t)a * ps, (size_t)n * ps, PROT_NONE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0) == MAP_FAILED)
				fail("mmap(MAP_FIXED) over %u pages of a mapping: %s", n,
				     strerror(errno));
			for (unsigned int k = a; k < a + n; k++)
				s->mapped[k] = false;
		}
		atomic_fetch_add(&sh->munmaps, 1);
		break;
	case 1:		/* mremap: move, shrink or grow the whole mapping */
		if (!s->base)
			break;
		/* Placeholders would merge into one VMA that mremap() could move. */
		for (a = 0; a < s->map_pages && s->mapped[a]; a++)
			;
		if (a < s->map_pages)
			break;
		n = 1 + below(s->npages - s->map_off);
		p = mremap(s->base, (size_t)s->map_pages * ps, (size_t)n * ps, MREMAP_MAYMOVE);
		atomic_fetch_add(&sh->mremaps, 1);
		if (p == MAP_FAILED) {
			/* Holes (EFAULT) or growing a VM_DONTEXPAND mapping. */
			if (errno != EFAULT && errno != EINVAL && errno != ENOMEM)
				fail("mremap: %s", strerror(errno));
			atomic_fetch_add(&sh->mremap_refused, 1);
			break;
		}
		for (unsigned int k = s->map_pages; k < n; k++) {
			s->mapped[k] = true;
			s->writable[k] = s->writable[0];
		}
		s->map_pages = n;
		atomic_store(&s->base, p);
		break;
	case 2:		/* mprotect a run of pages (splits the VMA) */
		if (!s->base)
			break;
		a = below(s->map_pages);
		n = 1 + below(s->map_pages - a);
		{
			bool rw = below(2);

			if (mprotect(s->base + (size_t)a * ps, (size_t)n * ps,
				     PROT_READ | (rw ? PROT_WRITE : 0)) == 0) {
				for (unsigned int k = a; k < a + n; k++)
					s->writable[k] = rw;
			}
		}
		atomic_fetch_add(&sh->mprotects, 1);
		break;
	case 3:		/* MADV_DONTNEED: private copies go, the region stays */
		if (s->base)
			madvise(s->base, (size_t)s->map_pages * ps, MADV_DONTNEED);
		break;
	case 4:		/* close the fd; the mapping keeps the region */
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
			atomic_fetch_add(&sh->closes, 1);
			if (!s->base)
				s->alive = false;
		}
		break;
	case 5:		/* a new mapping in place of the old one */
		if (s->fd >= 0) {
			unmap_all(s);
			s->alive = true;
			map_slot(s);
		}
		break;
	case 6:		/* the ioctls, good and bad */
		if (s->fd < 0)
			break;
		atomic_fetch_add(&sh->ioctls, 1);
		if (vmf_info(s->fd, &info))
			fail("GET_INFO: %s", strerror(errno));
		else if (info.size != (uint64_t)s->npages * ps || info.resident > s->npages ||
			 info.mode != (s->mode == MODE_ZERO ? VMFAULT_MODE_ZERO : VMFAULT_MODE_FILE))
			fail("GET_INFO: size %llu resident %llu mode %u, expected %u pages",
			     (unsigned long long)info.size, (unsigned long long)info.resident,
			     info.mode, s->npages);
		if (vmf_configure(s->fd, VMFAULT_MODE_ZERO, ps) != -1 ||
		    (errno != EBUSY && errno != EINVAL))
			fail("a second CONFIGURE was not refused with EBUSY: %s", strerror(errno));
		if (ioctl(s->fd, _IO(VMFAULT_IOC_MAGIC, 0x7f)) != -1 || errno != ENOTTY)
			fail("an unknown ioctl did not fail with ENOTTY");
		break;
	case 7:		/* FLUSH or msync: writeback while others write */
		if (s->fd >= 0 && s->mode == MODE_FILE) {
			if (ioctl(s->fd, VMFAULT_IOC_FLUSH) && !mount_dead(s->mount_gen))
				fail("FLUSH: %s", strerror(errno));
			atomic_fetch_add(&sh->flushes, 1);
		} else if (s->base && s->mapped[0]) {
			msync(s->base, ps, MS_SYNC);
		}
		break;
	}
out:
	slot_end_change(s);
}

/* The child of a fork: read and write its copy of every mapping, exit. */
static void fork_child(char *buf)
{
	fork_child_now = true;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rng_state = mix64(rng_state ^ getpid());
	for (int k = 0; k < 64 && !atomic_load(&sh->stop); k++) {
		struct slot *s = &wk.slots[below(NSLOT)];

		if (below(2))
			op_read(s, buf);
		else
			op_write(s, buf);
	}
	_exit(0);
}

static void op_fork(char *buf)
{
	int status;
	pid_t pid;

	/* A consistent copy: no structural change while fork() runs. */
	for (int i = 0; i < NSLOT; i++)
		pthread_rwlock_wrlock(&wk.slots[i].lock);
	pthread_rwlock_rdlock(&wk.forklock);
	pid = fork();
	if (pid == 0)
		fork_child(buf);
	for (int i = 0; i < NSLOT; i++)
		pthread_rwlock_unlock(&wk.slots[i].lock);
	if (pid < 0) {
		pthread_rwlock_unlock(&wk.forklock);
		return;
	}
	atomic_fetch_add(&sh->forks, 1);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_rwlock_unlock(&wk.forklock);
	/* In the memory cgroup, the OOM killer may pick the child. */
	if (cgdir[0] && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		if (!atomic_load(&sh->stop))
			fail("fork child %d ended with status %#x", pid, status);
}

static void *worker_thread(void *arg)
{
	char *buf = aligned_alloc(ps, ps);
	uint64_t end = (uintptr_t)arg;

	rng_state = mix64(wk.seed ^ (uint64_t)gettid());
	while (!atomic_load(&sh->stop) && now_ms() < end) {
		int i = below(NSLOT);
		struct slot *s = &wk.slots[i];
		unsigned int op = below(100);

		atomic_fetch_add(&sh->ops, 1);
		if (op < 40) {
			op_read(s, buf);
		} else if (op < 65) {
			pthread_rwlock_rdlock(&s->lock);
			op_write(s, buf);
			pthread_rwlock_unlock(&s->lock);
		} else if (op < 72) {
			pthread_rwlock_rdlock(&s->lock);
			op_rw_fd(s, buf, below(2));
			pthread_rwlock_unlock(&s->lock);
		} else if (op < 76) {
			pthread_rwlock_rdlock(&s->lock);
			op_backing_io(s, buf);
			pthread_rwlock_unlock(&s->lock);
		} else if (op < 98) {
			pthread_rwlock_wrlock(&s->lock);
			op_structure(i);
			pthread_rwlock_unlock(&s->lock);
		} else {
			op_fork(buf);
		}
	}
	free(buf);
	return NULL;
}

/*
 * A memory-cgroup worker's ballast: 64 KiB more of a zero region every
 * 20 ms, charged to the group, until the OOM killer steps in (within a
 * couple of seconds at -m 6M) or the worker's life ends.
 */
static void *ballast_thread(void *arg)
{
	uint64_t end = (uintptr_t)arg;
	char *buf = aligned_alloc(ps, 16 * ps);

	memset(buf, 0xb, 16 * ps);
	while (!atomic_load(&sh->stop) && now_ms() < end) {
		unsigned int at = below(BALLAST_PAGES - 16);

		if (pwrite(ballast, buf, 16 * ps, (off_t)at * ps) < 0 && errno != ENOMEM)
			fail("ballast pwrite: %s", strerror(errno));
		usleep(20000);
	}
	free(buf);
	return NULL;
}

/* A worker process: threads on its slots for a while, then exit. */
static void worker_main(int idx, uint64_t seed, unsigned int threads, uint64_t end)
{
	pthread_t tid[MAXTHREADS];
	uint64_t life;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&wk, 0, sizeof(wk));
	wk.idx = idx;
	wk.seed = seed;
	rng_state = seed;
	pthread_rwlock_init(&wk.forklock, NULL);
	for (int i = 0; i < NSLOT; i++) {
		pthread_rwlock_init(&wk.slots[i].lock, NULL);
		wk.slots[i].fd = -1;
		wk.slots[i].idx = i;
	}
	/* Every other worker is charged to the memory cgroup, if there is one. */
	if (cgdir[0] && idx % 2) {
		char path[200], pid[16];
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cgdir);
		snprintf(pid, sizeof(pid), "%d", getpid());
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
			fail("join %s: %s", cgdir, strerror(errno));
		if (fd >= 0)
			close(fd);
		ballast = vmf_open();
		if (ballast < 0 || vmf_configure(ballast, VMFAULT_MODE_ZERO,
						 (uint64_t)BALLAST_PAGES * ps))
			fail("the ballast region: %s", strerror(errno));
	}
	life = now_ms() + 500 + below(4000);
	if (life > end)
		life = end;
	for (unsigned int t = 1; t < threads; t++)
		pthread_create(&tid[t], NULL, worker_thread, (void *)(uintptr_t)life);
	if (ballast >= 0)
		pthread_create(&tid[0], NULL, ballast_thread, (void *)(uintptr_t)life);
	worker_thread((void *)(uintptr_t)life);
	for (unsigned int t = 1; t < threads; t++)
		pthread_join(tid[t], NULL);
	if (ballast >= 0)
		pthread_join(tid[0], NULL);
	/* Half the time, exit with every mapping and fd alive. */
	if (below(2)) {
		atomic_fetch_add(&sh->exits_live, 1);
		_exit(0);
	}
	for (int i = 0; i < NSLOT; i++) {
		struct slot *s = &wk.slots[i];

		if (below(2) && s->fd >= 0) {	/* close before munmap, or after */
			close(s->fd);
			s->fd = -1;
		}
		unmap_all(s);
		if (s->fd >= 0)
			close(s->fd);
	}
	_exit(0);
}

/* ---- vmfaultfs: mount, stall, kill and mount again ---- */
static struct vff_mount fs;	/* the live mount; fs.src holds the files */
static pid_t fspid;

/* Mount generation @gen over fs.src, where the workers will find it. */
static int fs_mount(uint64_t gen)
{
	if (vff_mount_src(&fs, NULL))
		return -1;
	fspid = fs.pid;
	strcpy(sh->mnt[gen % 64], fs.mnt);
	atomic_store(&sh->mount_gen, gen);
	return 0;
}

/* Unmount (lazily if busy) and remove a mount point; keep fs.src. */
static void fs_umount(const char *mnt)
{
	if (umount2(mnt, 0))
		umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

static int make_files(const char *dir, int nprocs)
{
	char *buf = aligned_alloc(ps, ps), path[160];

	for (int w = 0; w < nprocs; w++) {
		for (int i = 0; i < NSLOT; i++) {
			struct file_state *f = &sh->files[w][i];
			int fd;

			f->id = atomic_fetch_add(&sh->next_obj, 1);
			snprintf(path, sizeof(path), "%s/w%d-s%d", dir, w, i);
			fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
			if (fd < 0)
				return -1;
			for (int p = 0; p < OBJ_PAGES; p++) {
				stamp_fill(buf, f->id, p, 0);
				if (pwrite(fd, buf, ps, (off_t)p * ps) != ps)
					return -1;
			}
			close(fd);
		}
	}
	free(buf);
	return 0;
}

/*
 * The last writes of file page @p, oldest first, as "seq how": m a store
 * through a mapping, c one in a fork child, w pwrite() on the region, D/R
 * an O_DIRECT/buffered read of the file into the mapped page, r a repair.
 */
static const char *history(struct file_state *f, unsigned int p)
{
	static char out[160];
	uint32_t n = atomic_load(&f->nhist[p]);
	size_t len = snprintf(out, sizeof(out), "its last writes:");

	for (uint32_t i = n > HIST ? n - HIST : 0; i < n && len < sizeof(out) - 16; i++) {
		uint32_t h = atomic_load(&f->hist[p][i % HIST]);

		len += snprintf(out + len, sizeof(out) - len, " %u%c", h >> 8, h & 0xff);
	}
	return out;
}

/* After every process is gone: each file holds its last written stamps. */
static unsigned int check_files(const char *dir, int nprocs, unsigned int *lossy)
{
	char *buf = aligned_alloc(ps, ps), path[160];
	unsigned int checked = 0;

	for (int w = 0; w < nprocs; w++) {
		for (int i = 0; i < NSLOT; i++) {
			struct file_state *f = &sh->files[w][i];
			int fd;

			snprintf(path, sizeof(path), "%s/w%d-s%d", dir, w, i);
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				fail("open %s: %s", path, strerror(errno));
				continue;
			}
			for (int p = 0; p < OBJ_PAGES; p++) {
				uint32_t seq = 0;
				const char *why = NULL;

				if (pread(fd, buf, ps, (off_t)p * ps) != ps)
					why = "short read";
				else if (atomic_load(&f->ver[p]) & 1)
					continue;	/* its writer was killed mid-page */
				else
					why = stamp_check(buf, f->id, p, false, &seq);
				if (file_page_lossy(f, p)) {
					/* Older or torn, but this page's. */
					if (why && strcmp(why, TORN))
						fail("file %s page %d: %s", path, p, why);
					(*lossy)++;
					continue;
				} else if (why) {
					fail("file %s page %d: %s", path, p, why);
				} else if (seq != atomic_load(&f->last[p])) {
					fail("file %s page %d holds write %u, but write %u was the last (lost data); %s",
					     path, p, seq, atomic_load(&f->last[p]), history(f, p));
				}
				checked++;
			}
			close(fd);
		}
	}
	free(buf);
	return checked;
}

/*
 * Worker @w's processes are all gone. A page whose writer was SIGKILLed
 * halfway is torn, and its lock is left taken: unlock it, and give a file
 * page a whole stamp again (through the live mount, as a user would).
 */
static void repair(int w)
{
	char *buf = aligned_alloc(ps, ps), path[160];

	for (int i = 0; i < NSLOT; i++) {
		struct file_state *f = &sh->files[w][i];
		int fd = -1;

		for (int p = 0; p < OBJ_PAGES; p++) {
			uint32_t v = atomic_load(&sh->zeros[w][i].ver[p]);

			if (v & 1)
				atomic_store(&sh->zeros[w][i].ver[p], v + 1);
			v = atomic_load(&f->ver[p]);
			if (!(v & 1))
				continue;
			if (fd < 0) {
				file_path(path, sizeof(path), atomic_load(&sh->mount_gen), w, i);
				fd = open(path, O_WRONLY);
			}
			stamp_fill(buf, f->id, p, (v + 1) / 2);
			/* If this write fails, the mount just died: lossy. */
			if (fd >= 0 && pwrite(fd, buf, ps, (off_t)p * ps) == ps)
				fsync(fd);
			atomic_store(&f->hist[p][atomic_fetch_add(&f->nhist[p], 1) % HIST],
				     (v + 1) / 2 << 8 | 'r');
			atomic_store(&f->last[p], (v + 1) / 2);
			atomic_store(&f->last_gen[p], atomic_load(&sh->mount_gen));
			atomic_store(&f->ver[p], v + 1);
			atomic_fetch_add(&sh->repaired, 1);
		}
		if (fd >= 0)
			close(fd);
	}
	free(buf);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-s SEED] [-t SECONDS] [-p PROCS] [-j THREADS] [-n [-d DIR]] "
		"[-m BYTES] [-b]\n", argv0);
	exit(2);
}

static void write_kmsg(const char *msg)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0)
			perror("/dev/kmsg");
		close(fd);
	}
}

/*
 * A memory cgroup for every other worker, with memory.max @max. Workers
 * past it are OOM-killed: the kernel log says to expect that (the dev
 * VM's dmesg check then accepts the OOM reports' stack traces).
 */
static int cg_setup(const char *max)
{
	char path[200];
	int fd;

	snprintf(cgdir, sizeof(cgdir), "/sys/fs/cgroup/vmfault-stress-%d", getpid());
	fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "+memory", 7) != 7)
			perror("+memory");
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/memory.max", cgdir);
	if (mkdir(cgdir, 0755) || (fd = open(path, O_WRONLY)) < 0 ||
	    write(fd, max, strlen(max)) != (ssize_t)strlen(max)) {
		fprintf(stderr, "stress: a memory cgroup with memory.max %s: %s\n", max,
			strerror(errno));
		return -1;
	}
	close(fd);
	write_kmsg("vmfault-selftest: expect OOM kills: stress workers in a memory cgroup");
	return 0;
}

static long long cg_peak(void)
{
	char path[200];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.peak", cgdir);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The run: its options, and what main()'s steps share. */
struct run {
	uint64_t seed;
	unsigned int secs, nprocs, threads;
	const char *plaindir, *memmax;
	char tmpdir[160];
	pid_t pids[MAXPROCS];		/* > 0 live, < 0 ended (group may linger) */
	unsigned int incarn[MAXPROCS];
	uint64_t alloc0, freed0, regions0;	/* /proc/vmfault at the start */
	uint64_t reclaimed0;
	unsigned int spawned, kills, stalls, dkills, checked, lossy, drops;
	bool unbalanced;
};

static void parse_args(struct run *r, int argc, char **argv)
{
	bool have_seed = false;
	int opt;

	while ((opt = getopt(argc, argv, "s:t:p:j:nd:m:b")) != -1) {
		switch (opt) {
		case 's': r->seed = strtoull(optarg, NULL, 0); have_seed = true; break;
		case 't': r->secs = atoi(optarg); break;
		case 'p': r->nprocs = atoi(optarg); break;
		case 'j': r->threads = atoi(optarg); break;
		case 'n': use_fuse = false; break;
		case 'd': r->plaindir = optarg; break;
		case 'm': r->memmax = optarg; break;
		case 'b': use_budgets = true; break;
		default: usage(argv[0]);
		}
	}
	if (!r->nprocs || r->nprocs > MAXPROCS || !r->threads || r->threads > MAXTHREADS ||
	    !r->secs)
		usage(argv[0]);
	if (!have_seed && getenv("VMFAULT_SEED")) {
		r->seed = strtoull(getenv("VMFAULT_SEED"), NULL, 0);
		have_seed = true;
	}
	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r->seed = ts.tv_sec * 1000003ULL ^ ts.tv_nsec;
	}
	printf("stress: seed %llu (replay: %s -s %llu -t %u -p %u -j %u%s%s%s%s%s)\n",
	       (unsigned long long)r->seed, argv[0], (unsigned long long)r->seed, r->secs,
	       r->nprocs, r->threads, use_fuse ? "" : " -n -d ", use_fuse ? "" : r->plaindir,
	       r->memmax ? " -m " : "", r->memmax ? r->memmax : "", use_budgets ? " -b" : "");
	fflush(stdout);
	rng_state = r->seed;
}

/* The counters' baseline, the shared state, the files and their mount. */
static int set_up(struct run *r)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

	if (access(VMFAULT_DEV, R_OK | W_OK)) {
		fprintf(stderr, "stress: %s: %s (is the module loaded?)\n", VMFAULT_DEV,
			strerror(errno));
		return -1;
	}
	r->alloc0 = vmf_proc("pages_allocated");
	r->freed0 = vmf_proc("pages_freed");
	r->regions0 = vmf_proc("regions");
	r->reclaimed0 = vmf_proc("reclaimed");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atomic_store(&sh->next_obj, 1);

	if (r->memmax && cg_setup(r->memmax))
		return -1;
	if (use_fuse) {
		strcpy(fs.src, "/tmp/vmfault-stress-src.XXXXXX");
		if (!mkdtemp(fs.src) || make_files(fs.src, r->nprocs) || fs_mount(1))
			return -1;
		filedir = fs.src;
	} else {
		snprintf(r->tmpdir, sizeof(r->tmpdir), "%s/vmfault-stress.XXXXXX", r->plaindir);
		if (!mkdtemp(r->tmpdir) || make_files(r->tmpdir, r->nprocs))
			return -1;
		filedir = r->tmpdir;
	}
	return 0;
}

/* Reap whatever ended: workers, and orphans of killed ones. */
static void reap_workers(struct run *r)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned int w = 0; w < r->nprocs; w++) {
			if (pid != r->pids[w])
				continue;
			r->pids[w] = -r->pids[w];	/* ended; its group may linger */
			if (WIFEXITED(status) && WEXITSTATUS(status))
				fail("worker %u exited %d", w, WEXITSTATUS(status));
			if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
				fail("worker %u died of signal %d", w, WTERMSIG(status));
		}
		if (pid == fspid && use_fuse)
			fspid = 0;
	}
}

/* A new worker in every empty place, once the old one's group is gone. */
static void spawn_workers(struct run *r, uint64_t end)
{
	for (unsigned int w = 0; w < r->nprocs; w++) {
		if (r->pids[w] > 0)
			continue;
		if (r->pids[w] < 0 && kill(r->pids[w], 0) == 0)
			continue;
		if (r->pids[w] < 0)
			repair(w);
		r->pids[w] = fork();
		if (r->pids[w] == 0)
			worker_main(w, mix64(r->seed ^ ((uint64_t)w << 40) ^ r->incarn[w]),
				    r->threads, end);
		r->incarn[w]++;
		r->spawned++;
	}
}

/* Stop the daemon for up to a second, or kill it and mount a new one. */
static int disturb_daemon(struct run *r)
{
	uint64_t gen;

	if (below(4)) {
		kill(fspid, SIGSTOP);
		usleep(100000 + below(900000));
		kill(fspid, SIGCONT);
		r->stalls++;
		return 0;
	}
	gen = atomic_load(&sh->mount_gen);
	atomic_fetch_or(&sh->killed_gens, 1ULL << (gen % 64));
	kill(fspid, SIGKILL);
	waitpid(fspid, NULL, 0);
	fs_umount(sh->mnt[gen % 64]);
	if (gen + 1 >= 64 || fs_mount(gen + 1)) {
		fail("could not mount vmfaultfs again");
		return -1;
	}
	r->dkills++;
	return 0;
}

/*
 * The run proper: keep every worker place filled, SIGKILL a worker now and
 * then whatever it is doing, and disturb the daemon every few seconds.
 */
static void supervise(struct run *r)
{
	uint64_t end = now_ms() + r->secs * 1000ULL;
	uint64_t next_fs_event = now_ms() + 1000 + below(2000);
	uint64_t next_drop = now_ms() + 500 + below(1000);

	while (now_ms() < end && !atomic_load(&sh->stop)) {
		if (use_budgets && now_ms() >= next_drop) {
			/* The kernel's reclaim of budgeted pages, racing the rest. */
			if (!write_file("/proc/sys/vm/drop_caches", "3"))
				r->drops++;
			next_drop = now_ms() + 500 + below(1000);
		}
		reap_workers(r);
		spawn_workers(r, end);
		if (below(40) == 0) {
			unsigned int w = below(r->nprocs);

			if (r->pids[w] > 0 && kill(-r->pids[w], SIGKILL) == 0)
				r->kills++;
		}
		if (use_fuse && now_ms() >= next_fs_event && fspid > 0) {
			if (disturb_daemon(r))
				break;
			next_fs_event = now_ms() + 1000 + below(3000);
		}
		usleep(50000);
	}
	atomic_store(&sh->stop, 1);
}

/* Every worker and every child of theirs ends: at most 60 s, killable. */
static void wind_down(struct run *r)
{
	uint64_t end = now_ms() + 60000;

	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid > 0 && pid == fspid)
			fspid = 0;
		if (use_fuse && fspid > 0) {
			/* The daemon stays; wait for everything else. */
			bool others = false;

			for (unsigned int w = 0; w < r->nprocs; w++)
				others |= r->pids[w] &&
					  kill(r->pids[w] > 0 ? -r->pids[w] : r->pids[w], 0) == 0;
			if (!others)
				break;
		}
		if (now_ms() > end) {
			fail("workers still alive 60 s after the end (unkillable?)");
			for (unsigned int w = 0; w < r->nprocs; w++)
				if (r->pids[w])
					kill(r->pids[w] > 0 ? -r->pids[w] : r->pids[w], SIGKILL);
			end = now_ms() + 60000;
		}
		if (pid <= 0)
			usleep(20000);
	}
}

/* Take the daemon and the cgroup down, then check files and counters. */
static void check_after(struct run *r)
{
	char path[200];
	uint64_t end;

	if (use_fuse) {
		uint64_t gen = atomic_load(&sh->mount_gen);

		fs_umount(sh->mnt[gen % 64]);
		if (fspid > 0 && reap_child(fspid, NULL, 10000))
			kill(fspid, SIGKILL);
	}
	if (cgdir[0]) {
		printf("stress: %lld OOM kills in the workers' memory cgroup (memory.max %s, peak %lld)\n",
		       (long long)kv_read(strcat(strcpy(path, cgdir), "/memory.events"), "oom_kill"),
		       r->memmax, cg_peak());
		rmdir(cgdir);
		write_kmsg("vmfault-selftest: expect no more OOM kills");
	}
	/*
	 * A region whose last holder was a thread of a SIGKILLed process is
	 * written back and freed on the module's workqueue: wait for it.
	 */
	for (end = now_ms() + 60000; vmf_proc("regions") != r->regions0 && now_ms() < end;)
		usleep(20000);
	r->checked = check_files(filedir, r->nprocs, &r->lossy);
	nftw(filedir, vff_rm_one, 16, FTW_DEPTH | FTW_PHYS);

	if (vmf_proc("regions") != r->regions0 ||
	    vmf_proc("pages_allocated") - vmf_proc("pages_freed") != r->alloc0 - r->freed0) {
		r->unbalanced = true;
		fail("counters do not balance: regions %llu (was %llu), allocated-freed %lld (was %lld)",
		     (unsigned long long)vmf_proc("regions"), (unsigned long long)r->regions0,
		     (long long)(vmf_proc("pages_allocated") - vmf_proc("pages_freed")),
		     (long long)(r->alloc0 - r->freed0));
	}
}

static void print_report(const struct run *r)
{
	printf("stress: %u s, %u processes x %u threads: %llu ops, %llu pages read and checked "
	       "(%llu zero), %llu pages written, %llu reads discarded after racing a remap, "
	       "%llu lock timeouts\n",
	       r->secs, r->nprocs, r->threads, (unsigned long long)sh->ops,
	       (unsigned long long)sh->pages_read, (unsigned long long)sh->zeros_seen,
	       (unsigned long long)sh->pages_written, (unsigned long long)sh->raced,
	       (unsigned long long)sh->contended);
	printf("stress: %u worker processes (%llu exited with live mappings, %u SIGKILLed), "
	       "%llu forks, %llu regions opened (%llu with a frame budget), %llu closes, "
	       "%llu munmaps, %llu mremaps "
	       "(%llu refused), %llu mprotects, %llu ioctl rounds, %llu flushes\n",
	       r->spawned, (unsigned long long)sh->exits_live, r->kills,
	       (unsigned long long)sh->forks, (unsigned long long)sh->opens,
	       (unsigned long long)sh->budgets,
	       (unsigned long long)sh->closes, (unsigned long long)sh->munmaps,
	       (unsigned long long)sh->mremaps, (unsigned long long)sh->mremap_refused,
	       (unsigned long long)sh->mprotects, (unsigned long long)sh->ioctls,
	       (unsigned long long)sh->flushes);
	if (use_fuse)
		printf("stress: vmfaultfs stopped %u times, killed %u times (%llu SIGBUS on its dead "
		       "mounts; %llu torn pages read and %u file pages left older or torn, "
		       "all last written through a mount whose daemon was killed)\n",
		       r->stalls, r->dkills, (unsigned long long)sh->sigbus_dead,
		       (unsigned long long)sh->torn_lossy, r->lossy);
	printf("stress: %llu writes of a mapped page to its file (from the mapping), %llu reads of "
	       "a file page into its mapped page (%llu torn by a writeback of that page), "
	       "%llu of them O_DIRECT\n",
	       (unsigned long long)sh->backing_writes, (unsigned long long)sh->backing_reads,
	       (unsigned long long)sh->torn_reads, (unsigned long long)sh->direct_io);
	if (use_budgets)
		printf("stress: %u drop_caches; the kernel's reclaim took %llu budgeted pages\n",
		       r->drops, (unsigned long long)(vmf_proc("reclaimed") - r->reclaimed0));
	printf("stress: %u file pages hold their last write (%llu torn by a SIGKILL, rewritten); "
	       "counters %s\n", r->checked, (unsigned long long)sh->repaired,
	       r->unbalanced ? "do NOT balance" : "balance");
}

int main(int argc, char **argv)
{
	struct run r = {
		.secs = 20, .nprocs = 3, .threads = 3, .plaindir = VMFAULT_SCRATCH,
	};

	ps = page_size();
	parse_args(&r, argc, argv);
	if (set_up(&r))
		return 2;
	supervise(&r);
	wind_down(&r);
	check_after(&r);
	print_report(&r);
	if (atomic_load(&sh->failed)) {
		printf("stress: FAIL (seed %llu): %s\n", (unsigned long long)r.seed, sh->why);
		return 1;
	}
	printf("stress: PASS (seed %llu)\n", (unsigned long long)r.seed);
	return 0;
}
