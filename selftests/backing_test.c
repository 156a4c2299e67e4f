// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault file mode on the file systems users have: tmpfs, ext4, xfs and
 * btrfs on loop devices, and vmfaultfs. ext4 and xfs take the inode lock
 * (i_rwsem) in their O_DIRECT reads and writes, xfs in buffered reads too;
 * tmpfs and FUSE take none on read, so a suite on those alone never meets
 * the lock order that file mode must keep (module/file_io.c, "file mode's
 * lock order"). Each case runs on each file system (a variant):
 *
 *  - a write() to the backing file whose source is a not yet resident
 *    page of a region mapping (the write holds i_rwsem and faults);
 *  - three threads: a writer of the backing file faulting under i_rwsem, a
 *    reader faulting region pages in, and mmap()/munmap(); again with the
 *    reader's windows read in the background (VMFAULT_FLAG_ASYNC_PREFETCH);
 *  - writeback (fsync of the region) racing write()s to the backing file
 *    from the region's mapping, for up to two thousand rounds;
 *  - an O_DIRECT read into a region page that completes after an fsync()
 *    of the region: the data must still reach the file;
 *  - write() past the file's end, within the region: the file grows;
 *  - a read of an unfaulted page through /proc/self/mem (GUP that cannot
 *    drop mmap_lock: the page-cache route);
 *  - close-on-exec of a region fd with dirty pages, while the parent writes
 *    the backing file from the region;
 *  - a write() of the backing file from its own region mapping, one page
 *    behind (a memmove through the mapping): done, or killable.
 *
 * A case that could hang runs in a child with a bound; if the bound passes,
 * the test fails and prints the kernel stacks of the child's threads (an
 * unkillable task stays behind: run this program last in a guest).
 *
 * The file systems are made once, in main(), before the harness forks the
 * tests: images on a tmpfs, loop-mounted; they go at exit.
 * VMFAULT_BACKING_SECS (default 3) bounds each timed loop.
 * VMFAULT_BACKING_FS (say "ext4,vmfaultfs") runs the cases on those file
 * systems only: the others are neither made nor listed, so they count
 * neither as passed nor as skipped. 'make check' runs them all on the 6.1
 * kernels and ext4 and vmfaultfs on 6.12 (devtools/check-guest).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"

/*
 * On the debug kernel (KASAN, lockdep, one vCPU under TCG) a case on xfs or
 * vmfaultfs took the harness's whole default of 30 s (close_on_exec's
 * writeback after an exec). Every case here gets 120 s (TEST_F() takes the
 * default as it expands).
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120

#define NPAGES		64
#define HANG_MS		60000	/* a case that takes longer has hung */

struct backing_fs {
	const char *name;
	const char *mkfs;	/* NULL: not on a loop device */
	const char *size;	/* of the sparse image */
	char dir[160];		/* where the files go */
	bool ready;
	char why[320];		/* why not ready */
};

static struct backing_fs fses[] = {
	{ .name = "tmpfs" },
	{ .name = "ext4", .mkfs = "mkfs.ext4 -q -F", .size = "128M" },
	{ .name = "xfs", .mkfs = "mkfs.xfs -q -f", .size = "320M" },
	{ .name = "btrfs", .mkfs = "mkfs.btrfs -q -f", .size = "256M" },
	{ .name = "vmfaultfs" },
};

enum { FS_TMPFS, FS_EXT4, FS_XFS, FS_BTRFS, FS_VMFAULTFS };

static char top[64];			/* tmpfs with the images and mount points */
static struct vff_mount fuse_fs;	/* the vmfaultfs variant */
static struct vff_mount slow;		/* a stalled "disk" for O_DIRECT reads */
static unsigned int secs = 3;

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Make and mount one file system; on failure say why in f->why. */
static void fs_setup(struct backing_fs *f)
{
	char img[200];

	snprintf(f->dir, sizeof(f->dir), "%s/%s", top, f->name);
	if (mkdir(f->dir, 0755)) {
		snprintf(f->why, sizeof(f->why), "mkdir %s: %s", f->dir, strerror(errno));
		return;
	}
	if (!strcmp(f->name, "tmpfs")) {
		if (mount("tmpfs", f->dir, "tmpfs", 0, "size=256m"))
			snprintf(f->why, sizeof(f->why), "mount tmpfs: %s", strerror(errno));
		else
			f->ready = true;
		return;
	}
	if (!strcmp(f->name, "vmfaultfs")) {
		if (vff_mount(&fuse_fs, NULL))
			snprintf(f->why, sizeof(f->why), "vmfaultfs did not mount");
		else
			f->ready = true;
		snprintf(f->dir, sizeof(f->dir), "%s", fuse_fs.mnt);
		return;
	}
	/*
	 * The kernel's modules, if they are (Debian's are; the debug kernel
	 * has them built in): the file system's, and loop's, which a mount
	 * -o loop does not load by itself where nothing made /dev/loop-control.
	 */
	run("modprobe -q %s 2>/dev/null; modprobe -q loop 2>/dev/null", f->name);
	snprintf(img, sizeof(img), "%s/%s.img", top, f->name);
	if (run("truncate -s %s %s && %s %s >/dev/null 2>&1", f->size, img, f->mkfs, img)) {
		snprintf(f->why, sizeof(f->why), "%s %s failed (is %s installed? 'make deps')",
			 f->mkfs, img, f->mkfs);
		return;
	}
	if (run("mount -o loop %s %s", img, f->dir)) {
		snprintf(f->why, sizeof(f->why), "mount -o loop %s: this kernel has no %s?", img,
			 f->name);
		return;
	}
	f->ready = true;
}

static pid_t main_pid;

/* At exit of main() (the harness ends with exit()), not of a test's child. */
static void fs_teardown(void)
{
	if (getpid() != main_pid)
		return;
	for (unsigned int i = 0; i < sizeof(fses) / sizeof(fses[0]); i++) {
		if (!fses[i].ready || i == FS_VMFAULTFS)
			continue;
		if (umount2(fses[i].dir, 0))
			umount2(fses[i].dir, MNT_DETACH);
	}
	if (fses[FS_VMFAULTFS].ready)
		vff_umount(&fuse_fs);
	if (slow.pid)
		vff_umount(&slow);
	umount2(top, MNT_DETACH);
	rmdir(top);
}

/* Page i of every test file is filled with page_byte(i). */
static char page_byte(unsigned long i)
{
	return 'A' + i % 26;
}

static int make_pattern(const char *path, unsigned long npages)
{
	long ps = page_size();
	char *buf = malloc(ps);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644), ok = fd >= 0 && buf;

	for (unsigned long i = 0; ok && i < npages; i++) {
		memset(buf, page_byte(i), ps);
		ok = pwrite(fd, buf, ps, i * ps) == ps;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

/*
 * A file-mode region over @path with @flags, opened O_RDWR; the backing fd
 * is closed.
 */
static int file_region_flags(const char *path, uint32_t window, uint32_t flags, uint64_t size)
{
	struct vmfault_config cfg = {
		.mode = VMFAULT_MODE_FILE, .window = window, .size = size, .flags = flags,
	};
	int bfd = open(path, O_RDWR), fd;

	if (bfd < 0)
		return -1;
	cfg.fd = bfd;
	fd = vmf_open();
	if (fd >= 0 && ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg)) {
		close(fd);
		fd = -1;
	}
	close(bfd);
	return fd;
}

static int file_region(const char *path, uint32_t window, uint64_t size)
{
	return file_region_flags(path, window, 0, size);
}

/* Does file page @i of @path hold @c in every byte? */
static bool file_page_is(const char *path, unsigned long i, char c)
{
	long ps = page_size();
	char *buf = malloc(ps);
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && buf && pread(fd, buf, ps, i * ps) == ps && all_bytes(buf, ps, c);

	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

/*
 * Reap @pid within @ms. If it does not end, print the kernel stacks of
 * its threads (it is then probably in D state for good) and return -1.
 */
static int reap_or_report(struct __test_metadata *_metadata, pid_t pid, int *status,
			  unsigned int ms)
{
	char path[300], buf[4096];
	struct dirent *de;
	DIR *d;

	if (!reap_child(pid, status, ms))
		return 0;
	TH_LOG("pid %d did not finish within %u ms; its threads:", pid, ms);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, de->d_name);
		f = fopen(path, "r");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[n] = '\0';
		if (f)
			fclose(f);
		TH_LOG("-- task %s:\n%s", de->d_name, buf);
	}
	if (d)
		closedir(d);
	kill(pid, SIGKILL);
	return -1;
}

FIXTURE(backing) {
	struct backing_fs *fs;
	char path[200];		/* this test's backing file */
	long ps;
};

FIXTURE_VARIANT(backing) {
	int fs;
};

FIXTURE_VARIANT_ADD(backing, tmpfs) { .fs = FS_TMPFS };
FIXTURE_VARIANT_ADD(backing, ext4) { .fs = FS_EXT4 };
FIXTURE_VARIANT_ADD(backing, xfs) { .fs = FS_XFS };
FIXTURE_VARIANT_ADD(backing, btrfs) { .fs = FS_BTRFS };
FIXTURE_VARIANT_ADD(backing, vmfaultfs) { .fs = FS_VMFAULTFS };

FIXTURE_SETUP(backing)
{
	int fd = vmf_open();

	ASSERT_LE(0, fd) TH_LOG("open %s: %s (is the module loaded?)", VMFAULT_DEV,
				strerror(errno));
	close(fd);
	self->ps = page_size();
	self->fs = &fses[variant->fs];
	ASSERT_TRUE(self->fs->ready) TH_LOG("%s: %s", self->fs->name, self->fs->why);
	snprintf(self->path, sizeof(self->path), "%s/f-%d", self->fs->dir, getpid());
	ASSERT_EQ(0, make_pattern(self->path, NPAGES));
}

FIXTURE_TEARDOWN(backing)
{
	unlink(self->path);
}

/*
 * write() to the backing file, buffered and O_DIRECT, from pages of a
 * MAP_SHARED region mapping that are not resident: the write holds the
 * file's inode lock and faults on its source. The fault reads through the
 * page cache (cached_reads), never with ->read_iter, which would take the
 * inode lock again; the write completes and the file holds the data.
 */
TEST_F(backing, write_from_unfaulted_region)
{
	struct vmfault_region_info info;
	int fd, status;
	char *p;

	fd = file_region(self->path, 4, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, NPAGES * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (int direct = 0; direct <= 1; direct++) {
		int wfd = open(self->path, O_WRONLY | (direct ? O_DIRECT : 0));
		pid_t pid;

		if (wfd < 0 && direct && errno == EINVAL) {
			TH_LOG("%s takes no O_DIRECT on this kernel: buffered only", self->fs->name);
			break;
		}
		ASSERT_LE(0, wfd);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			ssize_t n = pwrite(wfd, p + (8 + 4 * direct) * self->ps, 4 * self->ps,
					   (40 + 4 * direct) * self->ps);

			_exit(n == 4 * self->ps ? 0 : 1);
		}
		ASSERT_EQ(0, reap_or_report(_metadata, pid, &status, HANG_MS));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		close(wfd);
		for (int i = 0; i < 4; i++)
			EXPECT_TRUE(file_page_is(self->path, 40 + 4 * direct + i,
						 page_byte(8 + 4 * direct + i)));
	}
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_LE(4, info.counters[VMFAULT_CNT_CACHED_READS]);
	/* The source pages are the region's: resident, not anonymous. */
	EXPECT_TRUE(all_bytes(p + 8 * self->ps, self->ps, page_byte(8)));
	EXPECT_FALSE(kpf(pfn_of(p + 8 * self->ps), KPF_ANON));
	munmap(p, NPAGES * self->ps);
	close(fd);
}

struct trio {
	const char *path;
	long ps;
	bool async;	/* B reads with VMFAULT_FLAG_ASYNC_PREFETCH */
	_Atomic int stop;
	_Atomic unsigned long writes, regions, maps;
	_Atomic int failed;
};

/* A writes the backing file from memory that faults under the inode lock. */
static void *trio_writer(void *arg)
{
	struct trio *t = arg;
	size_t len = 16 * t->ps;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int wfd = open(t->path, O_WRONLY);

	if (buf == MAP_FAILED || wfd < 0) {
		t->failed = 1;
		return NULL;
	}
	while (!t->stop) {
		madvise(buf, len, MADV_DONTNEED);
		if (pwrite(wfd, buf, len, (NPAGES + 16) * t->ps) != (ssize_t)len)
			t->failed = 1;
		t->writes++;
	}
	close(wfd);
	munmap(buf, len);
	return NULL;
}

/*
 * B faults pages of fresh regions in: every one a read of the file. With
 * @async, windows of 8 read in the background, and B reads a different
 * part of each region before it unmaps and closes it, so that a
 * background read is often still under way then.
 */
static void *trio_reader(void *arg)
{
	struct trio *t = arg;

	while (!t->stop) {
		int fd = t->async ? file_region_flags(t->path, 8, VMFAULT_FLAG_ASYNC_PREFETCH,
						      NPAGES * t->ps) :
				    file_region(t->path, 1, NPAGES * t->ps);
		int n = t->async ? NPAGES / 4 + t->regions % (NPAGES / 2) : NPAGES;
		char *p;

		if (fd < 0) {
			t->failed = 1;
			return NULL;
		}
		p = mmap(NULL, NPAGES * t->ps, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			t->failed = 1;
			close(fd);
			return NULL;
		}
		for (int i = 0; i < n && !t->stop; i++)
			if (p[i * t->ps] != page_byte(i))
				t->failed = 1;
		munmap(p, NPAGES * t->ps);
		close(fd);
		t->regions++;
	}
	return NULL;
}

/* C takes mmap_lock for writing, again and again. */
static void *trio_mapper(void *arg)
{
	struct trio *t = arg;

	while (!t->stop) {
		void *x = mmap(NULL, t->ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (x != MAP_FAILED)
			munmap(x, t->ps);
		t->maps++;
	}
	return NULL;
}

/*
 * Three threads of one process, no shared buffer: A writes the backing
 * file from anonymous memory (faulting with i_rwsem held), B faults
 * region pages in (each a read of the file), C maps and unmaps. With a
 * read under mmap_lock, rwsem fairness closes A -> C -> B -> A; here all
 * three go on for the whole time.
 */
static void trio_run(struct __test_metadata *_metadata, const char *path, long ps,
		     const char *fs, bool async)
{
	struct trio *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t regions0 = vmf_proc("regions");
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, t);
	t->path = path;
	t->ps = ps;
	t->async = async;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t th[3];

		pthread_create(&th[0], NULL, trio_writer, t);
		pthread_create(&th[1], NULL, trio_reader, t);
		pthread_create(&th[2], NULL, trio_mapper, t);
		sleep(secs);
		t->stop = 1;
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		_exit(0);
	}
	ASSERT_EQ(0, reap_or_report(_metadata, pid, &status, secs * 1000 + HANG_MS));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, t->failed);
	EXPECT_LT(0, t->writes);
	EXPECT_LT(0, t->regions);
	EXPECT_LT(0, t->maps);
	TH_LOG("%s%s: %lu writes, %lu regions read, %lu mmap/munmap in %u s", fs,
	       async ? " (background reads)" : "", (unsigned long)t->writes,
	       (unsigned long)t->regions, (unsigned long)t->maps, secs);
	munmap(t, sizeof(*t));
	/* A region closed with a background read under way went when it ended. */
	EXPECT_EQ(regions0, vmf_proc("regions"));
}

TEST_F(backing, three_threads_writer_reader_mapper)
{
	trio_run(_metadata, self->path, self->ps, self->fs->name, false);
}

/*
 * The same, B with VMFAULT_FLAG_ASYNC_PREFETCH: the module's worker reads
 * the file (->read_iter, the inode lock on ext4 and xfs) while A holds
 * that lock and faults, C takes mmap_lock, and B closes regions whose
 * reads are under way.
 */
TEST_F(backing, async_prefetch_beside_writer_and_mapper)
{
	trio_run(_metadata, self->path, self->ps, self->fs->name, true);
}

struct abba {
	char *p;
	int fd, wfd;
	long ps;
	_Atomic int stop;
	_Atomic unsigned long rounds, writes;
	_Atomic int failed;
};

/*
 * In shared memory: a region over @path (@window), its MAP_SHARED mapping
 * and a write-only fd of the file; NULL on failure.
 */
static struct abba *abba_setup(const char *path, uint32_t window)
{
	struct abba *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED)
		return NULL;
	a->ps = page_size();
	a->fd = file_region(path, window, NPAGES * a->ps);
	a->wfd = open(path, O_WRONLY);
	if (a->fd < 0 || a->wfd < 0)
		return NULL;
	a->p = mmap(NULL, NPAGES * a->ps, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	return a->p == MAP_FAILED ? NULL : a;
}

static void abba_teardown(struct abba *a)
{
	munmap(a->p, NPAGES * a->ps);
	close(a->wfd);
	close(a->fd);
	munmap(a, sizeof(*a));
}

/* Dirty every page of the region and fsync() it, round after round. */
static void *abba_dirtier(void *arg)
{
	struct abba *a = arg;

	while (!a->stop && a->rounds < 2000) {
		for (int i = 0; i < NPAGES; i++)
			a->p[i * a->ps] = 'a' + a->rounds % 26;
		if (fsync(a->fd))
			a->failed = 1;
		a->rounds++;
	}
	a->stop = 1;
	return NULL;
}

/* write() the whole region mapping to the backing file, past the region. */
static void *abba_writer(void *arg)
{
	struct abba *a = arg;

	while (!a->stop) {
		if (pwrite(a->wfd, a->p, NPAGES * a->ps, NPAGES * a->ps) != NPAGES * a->ps)
			a->failed = 1;
		a->writes++;
	}
	return NULL;
}

/*
 * Writeback of a region racing write()s to the backing file whose source
 * is the region's mapping: the writer holds the inode lock and faults on
 * region pages; writeback writes those pages with the file's ->write_iter.
 * Two thousand rounds, or the time bound (4 x VMFAULT_BACKING_SECS: the
 * debug kernel's btrfs makes a few dozen), with no hang; both threads get
 * on, and the file holds the last round.
 */
TEST_F(backing, writeback_vs_write_from_region)
{
	struct abba *a = abba_setup(self->path, 16);
	int status, rfd;
	pid_t pid;
	char c;

	ASSERT_NE(NULL, a);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t th[2];

		pthread_create(&th[0], NULL, abba_dirtier, a);
		pthread_create(&th[1], NULL, abba_writer, a);
		for (unsigned int ms = 0; ms < secs * 4000 && !a->stop; ms += 50)
			usleep(50000);
		a->stop = 1;
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		_exit(fsync(a->fd) ? 1 : 0);
	}
	ASSERT_EQ(0, reap_or_report(_metadata, pid, &status, secs * 4000 + HANG_MS));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, a->failed);
	EXPECT_LT(0, a->writes);
	EXPECT_LT(0, a->rounds);
	TH_LOG("%s: %lu writeback rounds against %lu writes from the region", self->fs->name,
	       (unsigned long)a->rounds, (unsigned long)a->writes);
	/* The last round reached the file (the child's fsync). */
	EXPECT_EQ('a' + (a->rounds - 1) % 26, a->p[0]);
	rfd = open(self->path, O_RDONLY);
	ASSERT_LE(0, rfd);
	for (int i = 0; i < NPAGES; i++) {
		EXPECT_EQ(1, pread(rfd, &c, 1, i * self->ps));
		EXPECT_EQ(a->p[0], c);
	}
	close(rfd);
	abba_teardown(a);
}

struct dio {
	int sfd;
	char *dst;
	long ps;
	ssize_t n;
};

static void *dio_read(void *arg)
{
	struct dio *d = arg;

	d->n = pread(d->sfd, d->dst, d->ps, 0);
	return NULL;
}

/*
 * An O_DIRECT read into a dirty region page, held up by a stalled disk,
 * completes after an fsync() of the region wrote the page back: the GUP
 * user sets PG_dirty when it lets go, the page kept its mark because it
 * was held, and the region's release writes the new data. The file ends
 * with what the read brought, not with what fsync() wrote.
 */
TEST_F(backing, gup_write_after_fsync_reaches_the_file)
{
	struct vmfault_region_info info;
	struct dio d = { .ps = self->ps };
	pthread_t th;
	char src[200];
	int fd;

	ASSERT_NE(0, slow.pid) TH_LOG("the stalled disk did not mount");
	snprintf(src, sizeof(src), "%s/s-%d", slow.src, getpid());
	ASSERT_EQ(0, vff_make_file(&slow, strrchr(src, '/') + 1, self->ps, 'N'));
	d.sfd = open(vff_path(&slow, false, strrchr(src, '/') + 1), O_RDONLY | O_DIRECT);
	ASSERT_LE(0, d.sfd);
	fd = file_region(self->path, 1, 4 * self->ps);
	ASSERT_LE(0, fd);
	d.dst = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, d.dst);
	memset(d.dst, 'a', self->ps);
	ASSERT_EQ(0, vff_ctl(&slow, "stall 1"));
	ASSERT_EQ(0, pthread_create(&th, NULL, dio_read, &d));
	usleep(500000);		/* the read holds the page and waits for the disk */
	EXPECT_EQ(0, fsync(fd));
	EXPECT_TRUE(file_page_is(self->path, 0, 'a'));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.dirty);
	EXPECT_EQ(0, vff_ctl(&slow, "stall 0"));
	pthread_join(th, NULL);
	EXPECT_EQ(self->ps, d.n);
	EXPECT_TRUE(all_bytes(d.dst, self->ps, 'N'));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(1, info.dirty);
	munmap(d.dst, 4 * self->ps);
	close(fd);
	close(d.sfd);
	unlink(src);
	EXPECT_TRUE(file_page_is(self->path, 0, 'N'));
}

/*
 * write() past the backing file's end, within the region, extends the
 * file: the data reads back, fsync() and close() keep it, the bytes in
 * between are zeros. A mapping sees the new data; a store past the new
 * end is dropped, as the page cache drops it.
 */
TEST_F(backing, write_past_eof_extends_the_file)
{
	char buf[16], *p;
	struct stat st;
	int fd;

	ASSERT_EQ(0, truncate(self->path, 100));
	fd = file_region(self->path, 1, 0);		/* one page: the file, rounded up */
	ASSERT_LE(0, fd);
	EXPECT_EQ(5, pwrite(fd, "HELLO", 5, 1000));
	EXPECT_EQ(5, pread(fd, buf, 5, 1000));
	EXPECT_EQ(0, memcmp(buf, "HELLO", 5));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(1005, st.st_size);
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(15, pread(fd, buf, 16, 990));
	EXPECT_TRUE(all_bytes(buf, 10, 0));
	EXPECT_EQ(0, memcmp(buf + 10, "HELLO", 5));
	EXPECT_EQ(1, pread(fd, buf, 1, 99));
	EXPECT_EQ('A', buf[0]);
	close(fd);

	/* A page wholly past the end, in a bigger region; a mapping of it. */
	fd = file_region(self->path, 1, 4 * self->ps);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(5, pwrite(fd, "WORLD", 5, 3 * self->ps + 10));
	EXPECT_EQ('W', p[3 * self->ps + 10]);
	EXPECT_EQ(0, p[2 * self->ps]);
	p[3 * self->ps + 100] = 'z';			/* past the new end */
	munmap(p, 4 * self->ps);
	close(fd);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(3 * self->ps + 15, st.st_size);
}

/*
 * A read of a page that is not resident through /proc/self/mem: GUP
 * without FAULT_FLAG_ALLOW_RETRY, so the fault cannot drop mmap_lock and
 * reads through the backing file's page cache under it, as filemap_fault()
 * does then. The data is right; the page is then resident.
 */
TEST_F(backing, proc_mem_reads_an_unfaulted_page)
{
	struct vmfault_region_info info;
	char *buf = malloc(self->ps), *p;
	long min0;
	int fd, mem;

	ASSERT_NE(NULL, buf);
	fd = file_region(self->path, 4, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, NPAGES * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mem = open("/proc/self/mem", O_RDONLY);
	ASSERT_LE(0, mem);
	EXPECT_EQ(self->ps, pread(mem, buf, self->ps, (off_t)(uintptr_t)(p + 5 * self->ps)));
	EXPECT_TRUE(all_bytes(buf, self->ps, page_byte(5)));
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_LE(1, info.counters[VMFAULT_CNT_CACHED_READS]);
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_FAULT_RETRIES]);
	/* Touching it now reads nothing more. */
	min0 = rusage_faults();
	EXPECT_EQ(page_byte(5), p[5 * self->ps]);
	ASSERT_EQ(0, vmf_info(fd, &info));
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_FAULT_RETRIES]);
	EXPECT_GE(1, rusage_faults() - min0);
	close(mem);
	munmap(p, NPAGES * self->ps);
	close(fd);
	free(buf);
}

/*
 * A child execs with the region fd open and close-on-exec: exec closes it
 * (->flush writes dirty pages back) while the parent writes the backing
 * file from the region's mapping. Twenty execs, none hangs; the file
 * holds the data.
 */
TEST_F(backing, close_on_exec_writes_back)
{
	struct abba *a = abba_setup(self->path, 4);
	pthread_t th;
	int status;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, pthread_create(&th, NULL, abba_writer, a));
	for (int i = 0; i < 20; i++) {
		pid_t pid;

		memset(a->p, 'e' + i % 8, NPAGES * self->ps);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		ASSERT_EQ(0, reap_or_report(_metadata, pid, &status, HANG_MS));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	a->stop = 1;
	pthread_join(th, NULL);
	EXPECT_EQ(0, a->failed);
	EXPECT_TRUE(file_page_is(self->path, NPAGES - 1, 'e' + 19 % 8));
	abba_teardown(a);
}

/*
 * A write() of the backing file from its own region mapping, the source one
 * page behind the destination (a memmove through the mapping): every
 * source page is an unfaulted region page over a file page the write is
 * about to overwrite. It completes, or, where a file system keeps the
 * pages it filled locked while it faults on the next source (FUSE's
 * multi-page write waits for itself, as it does through its own page
 * cache), SIGKILL ends it within a second: never an unkillable task.
 */
TEST_F(backing, overlapping_write_from_region_is_killable)
{
	int fd, wfd, status;
	uint64_t t0;
	pid_t pid;
	char *p;

	fd = file_region(self->path, 1, 0);
	ASSERT_LE(0, fd);
	p = mmap(NULL, NPAGES * self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	wfd = open(self->path, O_WRONLY);
	ASSERT_LE(0, wfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pwrite(wfd, p, 8 * self->ps, self->ps) == 8 * self->ps ? 0 : 1);
	if (reap_child(pid, &status, 5000)) {
		t0 = now_ms();
		kill(pid, SIGKILL);
		ASSERT_EQ(0, reap_or_report(_metadata, pid, &status, 1000));
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		TH_LOG("%s: the write waited for itself; SIGKILL ended it in %llu ms",
		       self->fs->name, (unsigned long long)(now_ms() - t0));
	} else {
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		/*
		 * Page 0's data moved to page 1; what the later pages hold
		 * depends on when the write faulted its source in (page by
		 * page: the copy smears page 0 forward, as memmove through a
		 * page-cache mapping would).
		 */
		EXPECT_TRUE(file_page_is(self->path, 1, page_byte(0)));
	}
	close(wfd);
	munmap(p, NPAGES * self->ps);
	close(fd);
}

#define NR_FS	(sizeof(fses) / sizeof(fses[0]))

/* The index in fses[] of the N-character NAME, or -1. */
static int fs_index(const char *name, size_t n)
{
	for (unsigned int i = 0; i < NR_FS; i++)
		if (strlen(fses[i].name) == n && !strncmp(name, fses[i].name, n))
			return i;
	return -1;
}

/*
 * Run the cases on the file systems in LIST (names separated by commas or
 * spaces) only: returns their mask (bit i: fses[i]) after dropping the
 * other variants from the harness's list (6.1's harness has no -v filter;
 * that list is linked by next, and only the head's prev is circular), or
 * 0 with a message.
 */
static unsigned int select_file_systems(const char *list)
{
	struct __fixture_variant_metadata **pp = &_backing_fixture_object.variant;
	struct __fixture_variant_metadata *v, *last = NULL;
	unsigned int mask = 0;

	for (const char *p = list + strspn(list, ", "); *p; p += strspn(p, ", ")) {
		size_t n = strcspn(p, ", ");
		int i = fs_index(p, n);

		if (i < 0) {
			fprintf(stderr, "backing_test: VMFAULT_BACKING_FS: no file system '%.*s' (%s)\n",
				(int)n, p, "tmpfs, ext4, xfs, btrfs, vmfaultfs");
			return 0;
		}
		mask |= 1u << i;
		p += n;
	}
	if (!mask) {
		fprintf(stderr, "backing_test: VMFAULT_BACKING_FS='%s' names no file system\n", list);
		return 0;
	}
	for (v = *pp; v; v = v->next) {
		if (!(mask & (1u << fs_index(v->name, strlen(v->name)))))
			continue;
		*pp = v;
		v->prev = last;
		last = v;
		pp = &v->next;
	}
	*pp = NULL;
	_backing_fixture_object.variant->prev = last;
	return mask;
}

int main(int argc, char **argv)
{
	const char *s = getenv("VMFAULT_BACKING_SECS");
	const char *only = getenv("VMFAULT_BACKING_FS");
	unsigned int mask = (1u << NR_FS) - 1;

	VMFAULT_REQUIRE_DEVICE();
	if (s && atoi(s) > 0)
		secs = atoi(s);
	if (only && !(mask = select_file_systems(only)))
		return KSFT_FAIL;
	strcpy(top, "/tmp/vmfault-backing.XXXXXX");
	if (!mkdtemp(top) || mount("tmpfs", top, "tmpfs", 0, "size=1g")) {
		perror("backing_test: a tmpfs for the images");
		return KSFT_FAIL;
	}
	for (unsigned int i = 0; i < NR_FS; i++)
		if (mask & (1u << i))
			fs_setup(&fses[i]);
	if (vff_mount(&slow, NULL))
		slow.pid = 0;
	main_pid = getpid();
	atexit(fs_teardown);
	return test_harness_run(argc, argv);
}
