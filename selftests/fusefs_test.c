// SPDX-License-Identifier: GPL-2.0
/*
 * vmfaultfs: memory-mapped files on a file system whose disk we control.
 *
 *  - xv6 mmaptest's behaviours, on a vmfaultfs file;
 *  - major faults and READ requests per page under madvise() advice, with
 *    readahead on and off, and fault latency against the injected delay;
 *  - MAP_SHARED and MAP_PRIVATE against each cache mode (the "# matrix:"
 *    lines become the table in Documentation/vmfaultfs.rst);
 *  - a daemon killed, stalled, stopped or aborted under a mapping;
 *  - POSIX modes and owners on a mount shared by every user.
 *
 * Every figure comes from the daemon's own request counters
 * (.vmfaultfs/stats) and from getrusage(), not from timing.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "vmfault_lib.h"
#include "vmfaultfs_lib.h"

#define PAGES	256		/* the major-fault file: 1 MiB */

/* Drop a file's clean pages from the page cache; true if none is left. */
static bool drop_cache(int fd, size_t len)
{
	unsigned char vec[PAGES];
	void *p;
	bool empty = true;

	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return false;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	if (mincore(p, len, vec))
		empty = false;
	for (size_t i = 0; empty && i < len / page_size(); i++)
		empty = !(vec[i] & 1);
	munmap(p, len);
	return empty;
}

/* Byte @i of the splice tests' file: differs in every byte of a page. */
static char splice_byte(size_t i)
{
	return (char)(i * 7 + i / 4096);
}

/*
 * Read @len bytes at @off of @path with O_DIRECT (one READ): bytes read, or
 * -errno; and, if @ok, in it whether each is splice_byte() of its offset.
 */
static ssize_t read_direct_at(const char *path, off_t off, size_t len, bool *ok)
{
	unsigned char *buf;
	ssize_t n;
	int fd;

	if (ok)
		*ok = true;
	if (posix_memalign((void **)&buf, 4096, len))
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_DIRECT);
	n = fd < 0 ? -errno : pread(fd, buf, len, off);
	if (fd >= 0 && n < 0)
		n = -errno;
	for (ssize_t i = 0; ok && i < n; i++)
		*ok &= buf[i] == (unsigned char)splice_byte(off + i);
	if (fd >= 0)
		close(fd);
	free(buf);
	return n;
}

/* Read a whole (one-page) file with O_DIRECT: bytes read, or -errno. */
static ssize_t read_direct(const char *path)
{
	return read_direct_at(path, 0, 4096, NULL);
}

VFF_FIXTURE(fs)

/* mmaptest: the file is mirrored faithfully (stat and contents). */
TEST_F(fs, mirrors_source)
{
	char buf[8192];

	ASSERT_EQ(0, vff_make_file(&self->m, "f", 5000, 'x'));
	EXPECT_EQ(5000, file_size(vff_path(&self->m, false, "f")));
	EXPECT_EQ(5000, read_file(vff_path(&self->m, false, "f"), buf, sizeof(buf)));
	EXPECT_TRUE(all_bytes(buf, 5000, 'x'));
	/* The control directory is not part of the mirror. */
	EXPECT_EQ(0, access(vff_path(&self->m, false, ".vmfaultfs/stats"), R_OK));
	EXPECT_NE(0, access(vff_path(&self->m, true, ".vmfaultfs"), F_OK));
}

/* A bad control write is refused with EINVAL and changes nothing. */
TEST_F(fs, ctl_rejects_bad_input)
{
	char buf[512];
	ssize_t n;

	EXPECT_EQ(-1, vff_ctl(&self->m, "read_delay_us 5\nbogus 1\n"));
	EXPECT_EQ(-1, vff_ctl(&self->m, "stall 2"));
	EXPECT_EQ(-1, vff_ctl(&self->m, "read_delay_us -1"));
	n = read_file(vff_path(&self->m, false, ".vmfaultfs/ctl"), buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	EXPECT_NE(NULL, strstr(buf, "read_delay_us 0\n"));
	EXPECT_EQ(0, vff_ctl(&self->m, "read_delay_us=7\neio_after 3\n"));
	n = read_file(vff_path(&self->m, false, ".vmfaultfs/ctl"), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	EXPECT_NE(NULL, strstr(buf, "read_delay_us 7\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_after 3\n"));
}

/* mmaptest: a private mapping is never written back. */
TEST_F(fs, private_never_written_back)
{
	char buf[8192];
	char *p;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", 2 * self->ps, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	memset(p, 'B', 2 * self->ps);
	EXPECT_EQ(0, munmap(p, 2 * self->ps));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	EXPECT_EQ(0, vff_stat(&self->m, "write_requests"));
	EXPECT_EQ(2 * self->ps, read_file(vff_path(&self->m, true, "f"), buf, sizeof(buf)));
	EXPECT_TRUE(all_bytes(buf, 2 * self->ps, 'A'));
}

/* mmaptest: MAP_SHARED|PROT_WRITE of a read-only fd is EACCES; others work. */
TEST_F(fs, shared_write_needs_writable_fd)
{
	void *p;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", self->ps, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, p);
	munmap(p, self->ps);
	p = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_NE(MAP_FAILED, p);
	munmap(p, self->ps);
	close(fd);
}

/*
 * mmaptest: shared writes survive close(fd); after munmap they are seen
 * through the mount, and fsync puts them in the source, half page at EOF
 * included. Bytes written past EOF in the last page do not grow the file.
 */
TEST_F(fs, shared_writes_reach_source)
{
	size_t size = self->ps + self->ps / 2;
	char buf[3 * 4096], *p;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", size, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, close(fd));
	memset(p, 'S', 2 * self->ps);
	EXPECT_EQ(0, munmap(p, 2 * self->ps));

	EXPECT_EQ(size, read_file(vff_path(&self->m, false, "f"), buf, sizeof(buf)));
	EXPECT_TRUE(all_bytes(buf, size, 'S'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	EXPECT_EQ(size, file_size(vff_path(&self->m, true, "f")));
	EXPECT_EQ(size, read_file(vff_path(&self->m, true, "f"), buf, sizeof(buf)));
	EXPECT_TRUE(all_bytes(buf, size, 'S'));
	EXPECT_LE(1, vff_stat(&self->m, "write_requests"));
}

/*
 * mmaptest: mapping is lazy. Nothing is read at mmap(); a change made to
 * the source after mmap() shows on the first touch, which is one READ.
 */
TEST_F(fs, lazy_first_touch)
{
	char *p;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", self->ps, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, vff_stat(&self->m, "read_requests"));
	ASSERT_EQ(0, vff_make_file(&self->m, "f", self->ps, 'C'));
	EXPECT_EQ('C', p[0]);
	EXPECT_EQ('C', p[self->ps - 1]);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(self->ps, vff_stat(&self->m, "read_bytes"));
	munmap(p, self->ps);
	close(fd);
}

/* mmaptest: two files mapped at once keep their own contents and writes. */
TEST_F(fs, two_files)
{
	char buf[4096], *p[2];
	const char *names[2] = { "f1", "f2" };
	int i, fd[2];

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vff_make_file(&self->m, names[i], self->ps, '1' + i));
		fd[i] = open(vff_path(&self->m, false, names[i]), O_RDWR);
		ASSERT_LE(0, fd[i]);
		p[i] = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd[i], 0);
		ASSERT_NE(MAP_FAILED, p[i]);
	}
	EXPECT_TRUE(all_bytes(p[0], self->ps, '1'));
	EXPECT_TRUE(all_bytes(p[1], self->ps, '2'));
	memset(p[0], 'a', self->ps);
	memset(p[1], 'b', self->ps);
	for (i = 0; i < 2; i++) {
		munmap(p[i], self->ps);
		EXPECT_EQ(0, fsync(fd[i]));
		close(fd[i]);
		EXPECT_EQ(self->ps, read_file(vff_path(&self->m, true, names[i]), buf,
					      sizeof(buf)));
		EXPECT_TRUE(all_bytes(buf, self->ps, 'a' + i));
	}
}

/* mmaptest: a child sees the mapping; its partial munmap spares the parent. */
TEST_F(fs, fork_child_sees_mapping)
{
	int status;
	char *p;
	pid_t pid;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", 4 * self->ps, 'F'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 4 * self->ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'P';
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		bool ok = p[0] == 'P' && all_bytes(p + 1, 4 * self->ps - 1, 'F');

		ok = ok && !munmap(p, 2 * self->ps);
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ('P', p[0]);
	EXPECT_TRUE(all_bytes(p + 1, 4 * self->ps - 1, 'F'));
	munmap(p, 4 * self->ps);
	close(fd);
}

/*
 * The first @npages pages of the file "f", mapped PROT_READ MAP_SHARED with
 * readahead off, so that each first touch is one READ of one page. The
 * descriptor is closed at once: the mapping keeps the file, and a child
 * forked later holds no FUSE file to FLUSH at exit. FUSE_FLUSH is a forced
 * request that waits uninterruptibly, for an answer a stopped daemon never
 * gives. Returns the mapping, or MAP_FAILED.
 */
static char *map_f(struct vff_mount *m, int npages)
{
	char *p;
	int fd;

	if (vff_set_readahead_kb(m, 0))
		return MAP_FAILED;
	fd = open(vff_path(m, false, "f"), O_RDONLY);
	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, npages * page_size(), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return p;
}

/* map_f() of a fresh @npages-page file "f" of @fill bytes. */
static char *map_fresh(struct vff_mount *m, int npages, int fill)
{
	if (vff_make_file(m, "f", npages * page_size(), fill))
		return MAP_FAILED;
	return map_f(m, npages);
}

/* mmaptest: an access after munmap, or a write to PROT_READ, is fatal. */
TEST_F(fs, bad_access_is_fatal)
{
	struct access_arg a = { .len = self->ps };
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", self->ps, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	a.p = mmap(NULL, self->ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a.p);
	a.write = true;
	EXPECT_EQ(SIGSEGV, child_signal(touch_it, &a));
	munmap(a.p, self->ps);
	a.write = false;
	EXPECT_EQ(SIGSEGV, child_signal(touch_it, &a));
	close(fd);
}

/* With readahead off, one fault is one major fault and one READ of a page. */
TEST_F(fs, one_fault_one_read)
{
	char *p = map_fresh(&self->m, 16, 'R');
	long maj;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	maj = majflt();
	EXPECT_EQ('R', p[5 * self->ps]);
	EXPECT_EQ(1, majflt() - maj);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(self->ps, vff_stat(&self->m, "read_bytes"));
	/* The page is now cached: touching it again costs nothing. */
	EXPECT_EQ('R', p[5 * self->ps + 1]);
	EXPECT_EQ(1, majflt() - maj);
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	munmap(p, 16 * self->ps);
}

/* How many threads the process @pid has, or -1. */
static int thread_count(pid_t pid)
{
	struct dirent *de;
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Page 5 of "f" through a fresh mapping, readahead off: its byte, after
 * exactly one READ (else 0).
 */
static char first_touch(struct vff_mount *m, int npages)
{
	char c, *p;

	if (vff_ctl(m, "zero_stats"))
		return 0;
	p = map_f(m, npages);
	if (p == MAP_FAILED)
		return 0;
	c = p[5 * page_size()];
	munmap(p, npages * page_size());
	return vff_stat(m, "read_requests") == 1 ? c : 0;
}

/*
 * vff_remount(): a new daemon over the same source, single-threaded (-s)
 * or with libfuse's threads. The files stay, the old mount point goes, and
 * a first touch is one READ from the new daemon.
 */
TEST_F(fs, remount_one_thread)
{
	char old[sizeof(self->m.mnt)], src[sizeof(self->m.src)];
	pid_t pid = self->m.pid;

	strcpy(old, self->m.mnt);
	strcpy(src, self->m.src);
	ASSERT_EQ(0, vff_make_file(&self->m, "f", 16 * self->ps, 'R'));
	EXPECT_EQ('R', first_touch(&self->m, 16));
	EXPECT_LE(2, thread_count(self->m.pid));	/* a worker and the main thread */

	ASSERT_EQ(0, vff_remount(&self->m, NULL, true));
	EXPECT_NE(pid, self->m.pid);
	EXPECT_STREQ(src, self->m.src);
	EXPECT_NE(0, strcmp(old, self->m.mnt));
	EXPECT_NE(0, access(old, F_OK));
	EXPECT_EQ('R', first_touch(&self->m, 16));
	EXPECT_EQ(1, thread_count(self->m.pid));

	ASSERT_EQ(0, vff_remount(&self->m, NULL, false));
	EXPECT_FALSE(self->m.one_thread);
	EXPECT_EQ('R', first_touch(&self->m, 16));
	EXPECT_LE(2, thread_count(self->m.pid));
}

/* A child that reads 16 KiB of @path with O_DIRECT and exits 0 if all are @c. */
static pid_t direct_reader(const char *path, char c)
{
	pid_t pid = fork();

	if (!pid) {
		unsigned char *buf;
		ssize_t n = -1;
		int fd, ok;

		if (posix_memalign((void **)&buf, 4096, 16384))
			_exit(2);
		fd = open(path, O_RDONLY | O_DIRECT);
		if (fd >= 0)
			n = pread(fd, buf, 16384, 0);
		ok = n == 16384;
		for (ssize_t i = 0; ok && i < n; i++)
			ok = buf[i] == (unsigned char)c;
		_exit(ok ? 0 : 1);
	}
	return pid;
}

/*
 * hold_reads: a held READ has read its data before it waits. While it
 * waits, a WRITE over the same bytes is served, and so is the next READ
 * (only N are held), which gets the new bytes; release_reads lets the held
 * one reply with the old. A held READ whose task is killed lets go: an
 * interrupt, never a hang.
 */
TEST_F(fs, hold_reads)
{
	const char *path = vff_path(&self->m, false, "f");
	unsigned char *buf;
	int st, fd;
	pid_t pid;

	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, 16384));
	ASSERT_EQ(0, vff_make_file(&self->m, "f", 16384, 'o'));
	ASSERT_EQ(0, vff_ctl(&self->m, "zero_stats"));
	EXPECT_EQ(-1, vff_ctl(&self->m, "release_reads 1"));
	ASSERT_EQ(0, vff_ctl(&self->m, "hold_reads 1"));
	pid = direct_reader(path, 'o');
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, vff_wait_stat(&self->m, "reads_held", 1));
	EXPECT_EQ(0, vff_stat(&self->m, "read_requests"));	/* counted at its reply */
	/* Served meanwhile: a WRITE of the same bytes, then a READ of them. */
	fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	memset(buf, 'n', 16384);
	EXPECT_EQ(16384, pwrite(fd, buf, 16384, 0));
	EXPECT_EQ(1, vff_stat(&self->m, "write_requests"));
	memset(buf, 0, 16384);
	EXPECT_EQ(16384, pread(fd, buf, 16384, 0));
	EXPECT_TRUE(all_bytes((char *)buf, 16384, 'n'));
	EXPECT_EQ(1, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(1, vff_stat(&self->m, "read_spliced"));
	EXPECT_EQ(1, vff_stat(&self->m, "reads_held"));
	/* Released: the held READ replies with what it read, the old bytes. */
	ASSERT_EQ(0, vff_ctl(&self->m, "release_reads"));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ(0, vff_stat(&self->m, "reads_held"));
	EXPECT_EQ(2, vff_stat(&self->m, "read_requests"));
	EXPECT_EQ(1, vff_stat(&self->m, "read_spliced"));	/* the held one copied */
	EXPECT_EQ(0, vff_stat(&self->m, "read_errors"));
	/* Killed while held: the READ is interrupted and the hold ends. */
	ASSERT_EQ(0, vff_ctl(&self->m, "hold_reads 1"));
	pid = direct_reader(path, 'n');
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, vff_wait_stat(&self->m, "reads_held", 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT_EQ(0, vff_wait_stat(&self->m, "reads_held", 0));
	/* The file kept the WRITE's bytes. */
	EXPECT_EQ(16384, pread(fd, buf, 16384, 0));
	EXPECT_TRUE(all_bytes((char *)buf, 16384, 'n'));
	close(fd);
	free(buf);
}

/*
 * A READ of two pages or more is answered by splice (one copy, not two),
 * with the same bytes and the same exact accounting as pread(): a READ
 * that ends beyond the end of the file returns only what is there, and a
 * one-page READ still goes by pread(). -o no_splice_write turns it off.
 */
TEST(large_reads_spliced)
{
	static const char *const opts[] = { NULL, "no_splice_write" };
	size_t ps = page_size(), size = 5 * ps + 100;
	char *path, *data;
	bool ok;

	data = malloc(size);
	ASSERT_NE(NULL, data);
	for (size_t i = 0; i < size; i++)
		data[i] = splice_byte(i);
	for (int o = 0; o < 2; o++) {
		uint64_t spliced = o ? 0 : 1;
		struct vff_mount m;
		int fd;

		ASSERT_EQ(0, vff_mount(&m, opts[o]));
		fd = open(vff_path(&m, true, "f"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ASSERT_LE(0, fd);
		ASSERT_EQ(size, write(fd, data, size));
		close(fd);
		path = vff_path(&m, false, "f");
		ASSERT_EQ(0, vff_ctl(&m, "zero_stats"));

		/* Three whole pages. */
		EXPECT_EQ(3 * ps, read_direct_at(path, ps, 3 * ps, &ok));
		EXPECT_TRUE(ok);
		EXPECT_EQ(1, vff_stat(&m, "read_requests"));
		EXPECT_EQ(3 * ps, vff_stat(&m, "read_bytes"));
		EXPECT_EQ(spliced, vff_stat(&m, "read_spliced"));

		/* Four pages asked for, a page and 100 bytes there. */
		EXPECT_EQ(ps + 100, read_direct_at(path, 4 * ps, 4 * ps, &ok));
		EXPECT_TRUE(ok);
		EXPECT_EQ(2, vff_stat(&m, "read_requests"));
		EXPECT_EQ(4 * ps + 100, vff_stat(&m, "read_bytes"));
		EXPECT_EQ(2 * spliced, vff_stat(&m, "read_spliced"));

		/* One page: pread(), whatever the mount. */
		EXPECT_EQ(ps, read_direct_at(path, 0, ps, &ok));
		EXPECT_TRUE(ok);
		EXPECT_EQ(3, vff_stat(&m, "read_requests"));
		EXPECT_EQ(5 * ps + 100, vff_stat(&m, "read_bytes"));
		EXPECT_EQ(2 * spliced, vff_stat(&m, "read_spliced"));
		EXPECT_EQ(0, vff_stat(&m, "read_errors"));

		/* An injected error is answered before anything is spliced. */
		ASSERT_EQ(0, vff_ctl(&m, "eio_offset 8192\neio_len 1\n"));
		EXPECT_EQ(-EIO, read_direct_at(path, 0, 4 * ps, &ok));
		EXPECT_EQ(1, vff_stat(&m, "read_errors"));
		EXPECT_EQ(2 * spliced, vff_stat(&m, "read_spliced"));
		EXPECT_EQ(0, vff_umount(&m));
	}
	free(data);
}

/*
 * WRITE latency is injected on its own: with write_delay_us 2000 and
 * jitter_us 1000, each write() through the page cache (one WRITE) takes
 * at least 2 ms, and READs are not delayed.
 */
TEST_F(fs, write_delay_and_jitter)
{
	char buf[4096];
	uint64_t t0;
	int fd;

	memset(buf, 'w', sizeof(buf));
	ASSERT_EQ(0, vff_make_file(&self->m, "f", 4 * self->ps, 'A'));
	fd = open(vff_path(&self->m, false, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vff_ctl(&self->m, "write_delay_us 2000\njitter_us 1000\nzero_stats\n"));
	t0 = now_ms();
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(sizeof(buf), pwrite(fd, buf, sizeof(buf), i * sizeof(buf)));
	EXPECT_LE(8, now_ms() - t0);
	EXPECT_EQ(4, vff_stat(&self->m, "write_requests"));
	EXPECT_EQ(4 * sizeof(buf), vff_stat(&self->m, "write_bytes"));
	EXPECT_LE(4 * 2000000ULL, vff_stat(&self->m, "write_ns"));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	EXPECT_EQ(4 * sizeof(buf), read_file(vff_path(&self->m, true, "f"), buf, sizeof(buf)) +
		  3 * sizeof(buf));
	EXPECT_TRUE(all_bytes(buf, sizeof(buf), 'w'));
}

/* EIO from the daemon for a page is SIGBUS for the access that needs it. */
TEST_F(fs, injected_eio_is_sigbus)
{
	struct access_arg a = { .len = 4 * self->ps };
	char buf[64];

	a.p = map_fresh(&self->m, 4, 'E');
	ASSERT_NE(MAP_FAILED, a.p);
	snprintf(buf, sizeof(buf), "eio_offset %ld\neio_len 1\n", 2 * self->ps);
	ASSERT_EQ(0, vff_ctl(&self->m, buf));
	EXPECT_EQ('E', a.p[self->ps]);
	a.p += 2 * self->ps;
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	EXPECT_LE(1, vff_stat(&self->m, "read_errors"));
	/* After N good requests, everything fails. */
	a.p += self->ps;
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_offset 0\neio_len 0\neio_after 0\n"));
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	ASSERT_EQ(0, vff_ctl(&self->m, "eio_after off"));
	EXPECT_EQ('E', *a.p);
	munmap(a.p - 3 * self->ps, a.len);
}

enum advice { ADV_NORMAL, ADV_RANDOM, ADV_SEQUENTIAL, ADV_WILLNEED, ADV_NR };
static const int advice_flag[ADV_NR] = {
	MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
};
static const char *const advice_name[ADV_NR] = {
	"MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
};

struct majrun {
	long resident;		/* pages in the page cache after madvise() */
	long majflt, reads, bytes;
};

/* Touch every page of a fresh (uncached) mapping once; count the cost. */
static int major_run(struct vff_mount *m, bool random, enum advice adv, struct majrun *r)
{
	size_t len = PAGES * page_size();
	unsigned int order[PAGES], in = 0, last = ~0U;
	unsigned char vec[PAGES];
	long maj;
	char *p;
	int fd;

	for (unsigned int i = 0; i < PAGES; i++)
		order[i] = i;
	if (random) {
		unsigned int seed = 42;

		for (unsigned int i = PAGES - 1; i > 0; i--) {
			unsigned int j = rand_r(&seed) % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	/* A file's readahead window is set from the bdi when it is opened. */
	fd = open(vff_path(m, false, "f"), O_RDONLY);
	if (fd < 0)
		return -1;
	if (!drop_cache(fd, len))
		goto err_close;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err_close;
	vff_ctl(m, "zero_stats");
	maj = majflt();
	if (madvise(p, len, advice_flag[adv]))
		goto err_unmap;
	/* Let asynchronous readahead settle: resident pages stop changing. */
	for (int t = 0, same = 0; t < 500 && same < 5; t++) {
		usleep(20000);
		mincore(p, len, vec);
		in = 0;
		for (unsigned int i = 0; i < PAGES; i++)
			in += vec[i] & 1;
		same = in == last ? same + 1 : 0;
		last = in;
	}
	r->resident = in;
	for (unsigned int i = 0; i < PAGES; i++)
		(void)*(volatile char *)(p + order[i] * page_size());
	r->majflt = majflt() - maj;
	r->reads = vff_stat(m, "read_requests");
	r->bytes = vff_stat(m, "read_bytes");
	munmap(p, len);
	close(fd);
	return 0;

err_unmap:
	munmap(p, len);
err_close:
	close(fd);
	return -1;
}

/*
 * Major faults and READ requests for a 256-page file, sequential and random,
 * under each madvise() advice, with readahead on (128 KiB) and off. Each
 * page is read from the daemon exactly once in every case; what changes is
 * how many faults and requests that takes. Printed as "# majflt:" lines.
 */
TEST_F_TIMEOUT(fs, major_faults_by_advice, 600)
{
	struct majrun r;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", PAGES * self->ps, 'M'));
	for (int ra = 1; ra >= 0; ra--) {
		ASSERT_EQ(0, vff_set_readahead_kb(&self->m, ra ? 128 : 0));
		for (int random = 0; random < 2; random++) {
			for (int adv = 0; adv < ADV_NR; adv++) {
				ASSERT_EQ(0, major_run(&self->m, random, adv, &r));
				report("majflt: %s | %s | %s | %ld | %ld | %ld | %ld\n",
					       ra ? "128 KiB" : "off",
					       random ? "random" : "sequential",
					       advice_name[adv], r.resident, r.majflt, r.reads,
					       r.bytes / self->ps);
				/* Every page came from the daemon, once. */
				EXPECT_EQ(PAGES * self->ps, r.bytes);
				/*
				 * WILLNEED reads one window ahead, of
				 * max(io_pages, ra_pages) pages
				 * (force_page_cache_ra()); FUSE's io_pages
				 * is its largest READ, 32 pages, so it does
				 * so even with readahead off.
				 */
				EXPECT_EQ(adv == ADV_WILLNEED ? 32 : 0, r.resident);
				if (adv == ADV_RANDOM || !ra) {
					/* Then one page per fault, one READ per page. */
					EXPECT_EQ(PAGES - r.resident, r.majflt);
					EXPECT_EQ(PAGES - r.resident + !!r.resident, r.reads);
				} else if (!random) {
					/* Readahead: many pages per READ and per fault. */
					EXPECT_GE(PAGES / 8, r.reads);
					EXPECT_GE(PAGES / 8, r.majflt);
				}
			}
		}
	}
}

/*
 * The cost of a major fault follows the injected disk latency: with a
 * delay of D µs per READ no fault can take less than D, and the daemon's
 * own READ time is at least D. Printed as "# latency:" lines; 10 ms is
 * the lecture's disk (its EAT example).
 */
TEST_F_TIMEOUT(fs, fault_latency_follows_delay, 300)
{
	static const unsigned int delays[] = { 0, 100, 1000, 5000, 10000 };
	const int n = 16;
	char cmd[64], *p;
	int fd;

	ASSERT_EQ(0, vff_make_file(&self->m, "f", PAGES * self->ps, 'L'));
	ASSERT_EQ(0, vff_set_readahead_kb(&self->m, 0));
	fd = open(vff_path(&self->m, false, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	for (unsigned int d = 0; d < sizeof(delays) / sizeof(delays[0]); d++) {
		uint64_t t0, t1, fault_ns = ~0ULL, total = 0;

		ASSERT_TRUE(drop_cache(fd, PAGES * self->ps));
		p = mmap(NULL, PAGES * self->ps, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		snprintf(cmd, sizeof(cmd), "read_delay_us %u\nzero_stats\n", delays[d]);
		ASSERT_EQ(0, vff_ctl(&self->m, cmd));
		for (int i = 0; i < n; i++) {
			struct timespec a, b;

			clock_gettime(CLOCK_MONOTONIC, &a);
			(void)*(volatile char *)(p + i * 7 * self->ps);
			clock_gettime(CLOCK_MONOTONIC, &b);
			t0 = a.tv_sec * 1000000000ULL + a.tv_nsec;
			t1 = b.tv_sec * 1000000000ULL + b.tv_nsec;
			total += t1 - t0;
			if (t1 - t0 < fault_ns)
				fault_ns = t1 - t0;
		}
		EXPECT_EQ(n, vff_stat(&self->m, "read_requests"));
		report("latency: delay %u us | fault min %lu us, mean %lu us | READ mean %lu us\n",
			       delays[d], (unsigned long)(fault_ns / 1000),
			       (unsigned long)(total / n / 1000),
			       (unsigned long)(vff_stat(&self->m, "read_ns") / n / 1000));
		EXPECT_LE(delays[d] * 1000ULL, fault_ns);
		EXPECT_LE(delays[d] * 1000ULL * n, vff_stat(&self->m, "read_ns"));
		munmap(p, PAGES * self->ps);
	}
	close(fd);
}

/* A SIGKILLed daemon: cached pages still read, others give SIGBUS. */
TEST_F(fs, daemon_killed_sigbus)
{
	struct access_arg a = { .len = 4 * self->ps };
	int status;

	a.p = map_fresh(&self->m, 4, 'K');
	ASSERT_NE(MAP_FAILED, a.p);
	EXPECT_EQ('K', a.p[0]);
	ASSERT_EQ(0, kill(self->m.pid, SIGKILL));
	ASSERT_EQ(0, reap_child(self->m.pid, &status, 10000));
	self->m.pid = 0;
	EXPECT_EQ('K', a.p[1]);
	a.p += self->ps;
	EXPECT_EQ(SIGBUS, child_signal(touch_it, &a));
	munmap(a.p - self->ps, a.len);
}

/*
 * A child faulting on a stalled daemon (stall 1, or SIGSTOP) blocks; it
 * stays killable, and the mount comes down afterwards.
 */
static void stalled_fault_is_killable(struct __test_metadata *_metadata,
				      struct vff_mount *m, bool sigstop)
{
	struct access_arg a = { .len = 4 * page_size() };
	pid_t child;
	uint64_t t0;
	int status;

	a.p = map_fresh(m, 4, 'T');
	ASSERT_NE(MAP_FAILED, a.p);
	if (sigstop) {
		/*
		 * Wait until every daemon thread has stopped: a thread that
		 * wakes for a request before it notices SIGSTOP takes the
		 * request first, and then nothing but an abort ends the wait
		 * (see connection_abort_frees_stopped_daemon).
		 */
		ASSERT_EQ(0, kill(m->pid, SIGSTOP));
		ASSERT_EQ(0, vff_wait_stopped(m->pid, 10000));
	} else {
		ASSERT_EQ(0, vff_ctl(m, "stall 1"));
	}
	child = fork_toucher(&a);
	ASSERT_LE(0, child);
	usleep(500000);
	EXPECT_EQ(0, waitpid(child, &status, WNOHANG));	/* still blocked */
	t0 = now_ms();
	kill(child, SIGKILL);
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	report("killed a fault on a %s daemon in %lu ms\n",
		       sigstop ? "SIGSTOPped" : "stalled",
		       (unsigned long)(now_ms() - t0));
	if (sigstop)
		kill(m->pid, SIGCONT);
	else
		EXPECT_EQ(0, vff_ctl(m, "stall 0"));
	EXPECT_EQ('T', a.p[0]);
	munmap(a.p, a.len);
}

TEST_F(fs, stalled_fault_is_killable)
{
	stalled_fault_is_killable(_metadata, &self->m, false);
}

TEST_F(fs, stopped_daemon_fault_is_killable)
{
	stalled_fault_is_killable(_metadata, &self->m, true);
}

/* Aborting the connection under a blocked fault gives that fault SIGBUS. */
TEST_F(fs, connection_abort_sigbus)
{
	struct access_arg a = { .len = 4 * self->ps };
	pid_t child;
	int status;

	a.p = map_fresh(&self->m, 4, 'X');
	ASSERT_NE(MAP_FAILED, a.p);
	child = vff_stalled_toucher(&self->m, &a);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, vff_abort(&self->m));
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
	/* The daemon notices and exits by itself. */
	EXPECT_EQ(0, reap_child(self->m.pid, &self->m.status, 10000));
	self->m.pid = 0;
	munmap(a.p, a.len);
}

/*
 * A daemon that took the request and then stopped: the faulting task waits
 * uninterruptibly (request_wait_answer(): the request was sent, so only an
 * answer ends the wait). SIGKILL cannot free it; aborting the connection
 * does, and the fault gets SIGBUS.
 */
TEST_F(fs, connection_abort_frees_stopped_daemon)
{
	struct access_arg a = { .len = 4 * self->ps };
	pid_t child;
	int status;

	a.p = map_fresh(&self->m, 4, 'Y');
	ASSERT_NE(MAP_FAILED, a.p);
	/* Stall, so the READ is surely taken by a daemon thread; then stop. */
	child = vff_stalled_toucher(&self->m, &a);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, kill(self->m.pid, SIGSTOP));
	ASSERT_EQ(0, vff_wait_stopped(self->m.pid, 10000));
	kill(child, SIGKILL);
	EXPECT_NE(0, reap_child(child, &status, 2000));	/* in D state */
	ASSERT_EQ(0, vff_abort(&self->m));
	EXPECT_EQ(0, reap_child(child, &status, 10000));
	EXPECT_TRUE(WIFSIGNALED(status));
	munmap(a.p, a.len);
}

/*
 * MAP_SHARED and MAP_PRIVATE against each cache mode. Each "# matrix:"
 * line is a row of the table in Documentation/vmfaultfs.rst, which
 * devtools/check regenerates from this output; the variant holds what
 * Linux 6.1 does, so a change of behaviour fails here first, and what
 * 6.6 and later do where they differ.
 */
FIXTURE(cache) {
	struct vff_mount m;
	long ps;
};

FIXTURE_VARIANT(cache) {
	const char *mode;
	const char *shared;	/* expected row for MAP_SHARED */
	const char *private;	/* expected row for MAP_PRIVATE */
	const char *private_66;	/* ... from FUSE 7.39 (6.6) on, where it differs */
};

FIXTURE_VARIANT_ADD(cache, pagecache) {
	.mode = "pagecache",
	.shared = "ok | yes | yes | stale | yes",
	.private = "ok | yes | yes | stale | no",
};

FIXTURE_VARIANT_ADD(cache, direct) {
	.mode = "direct",
	.shared = "ENODEV | - | - | - | -",
	.private = "ok | yes | stale | stale | no",
	/*
	 * 6.6 ("fuse: invalidate page cache pages before direct write")
	 * drops the cached pages a direct write covers, so a private
	 * mapping's unwritten pages read the new data. No capability flag
	 * tells; the FUSE protocol the kernel speaks does: 7.39 came with
	 * 6.6.
	 */
	.private_66 = "ok | yes | yes | stale | no",
};

FIXTURE_VARIANT_ADD(cache, writeback) {
	.mode = "writeback",
	.shared = "ok | yes | yes | stale | yes",
	.private = "ok | yes | yes | stale | no",
};

FIXTURE_SETUP(cache)
{
	char opts[32];

	self->ps = page_size();
	snprintf(opts, sizeof(opts), "cache=%s", variant->mode);
	ASSERT_EQ(0, vff_mount(&self->m, opts));
}

FIXTURE_TEARDOWN(cache)
{
	EXPECT_EQ(0, vff_umount(&self->m));
}

/*
 * One row: does mmap() work; does the mapping read the file; does a
 * write() through the mount show in the mapping; does a change made to the
 * source behind the daemon show in it; does a write through the mapping
 * reach the source (munmap, fsync)?
 */
static void matrix_row(struct vff_mount *m, int flags, char *row, size_t size)
{
	const char *name = flags == MAP_SHARED ? "shared" : "private";
	long ps = page_size();
	char path[160], c = 0;
	char *p;
	int fd, src;

	snprintf(path, sizeof(path), "%s/%s", m->src, name);
	vff_make_file(m, name, 2 * ps, 'A');
	fd = open(vff_path(m, false, name), O_RDWR);
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(row, size, "%s | - | - | - | -", errno == ENODEV ? "ENODEV" :
			 strerror(errno));
		close(fd);
		return;
	}
	snprintf(row, size, "ok | %s", p[0] == 'A' && p[ps] == 'A' ? "yes" : "no");
	pwrite(fd, "W", 1, 0);
	snprintf(row + strlen(row), size - strlen(row), " | %s", p[0] == 'W' ? "yes" : "stale");
	src = open(path, O_WRONLY);
	pwrite(src, "S", 1, ps);
	close(src);
	snprintf(row + strlen(row), size - strlen(row), " | %s", p[ps] == 'S' ? "yes" : "stale");
	p[ps] = 'M';
	munmap(p, 2 * ps);
	fsync(fd);
	close(fd);
	src = open(path, O_RDONLY);
	pread(src, &c, 1, ps);
	close(src);
	snprintf(row + strlen(row), size - strlen(row), " | %s", c == 'M' ? "yes" : "no");
}

TEST_F(cache, shared_and_private)
{
	char row[128];

	matrix_row(&self->m, MAP_SHARED, row, sizeof(row));
	report("matrix: %s | MAP_SHARED | %s\n", variant->mode, row);
	EXPECT_STREQ(variant->shared, row);
	matrix_row(&self->m, MAP_PRIVATE, row, sizeof(row));
	report("matrix: %s | MAP_PRIVATE | %s\n", variant->mode, row);
	if (variant->private_66 && vff_kernel_protocol_at_least(&self->m, 39)) {
		EXPECT_STREQ(variant->private_66, row);
	} else {
		EXPECT_STREQ(variant->private, row);
	}
}

/* The ctl file's text, in @buf. */
static bool ctl_text(struct vff_mount *m, char *buf, size_t size)
{
	ssize_t n = read_file(vff_path(m, false, ".vmfaultfs/ctl"), buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0;
}

/*
 * "zero_stats" zeroes the counters and keeps the settings; "reset" puts
 * every setting back as the mount began (its options) and zeroes the
 * counters: no errors injected, not stalled, and the mount's own delay.
 */
TEST(ctl_zero_stats_and_reset)
{
	struct vff_mount m;
	char buf[4096];

	ASSERT_EQ(0, vff_mount(&m, "read_delay_us=1000"));
	ASSERT_EQ(0, vff_make_file(&m, "f", 4096, 'z'));
	ASSERT_EQ(4096, read_file(vff_path(&m, false, "f"), buf, 4096));
	EXPECT_LT(0, vff_stat(&m, "read_requests"));
	ASSERT_EQ(0, vff_ctl(&m, "read_delay_us 7\njitter_us 9\neio_offset 0\neio_len 4096\n"
				 "eio_partial 1\neio_after 3\nzero_stats\n"));
	EXPECT_EQ(0, vff_stat(&m, "read_requests"));
	ASSERT_TRUE(ctl_text(&m, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "read_delay_us 7\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_len 4096\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_after 3\n"));
	/* The injected error is on: an uncached read of the file fails. */
	EXPECT_EQ(-EIO, read_direct(vff_path(&m, false, "f")));
	EXPECT_LT(0, vff_stat(&m, "read_errors"));
	/* "reset" in the stats file is the counters only. */
	ASSERT_EQ(0, write_file(vff_path(&m, false, ".vmfaultfs/stats"), "reset\n"));
	EXPECT_EQ(0, vff_stat(&m, "read_errors"));
	ASSERT_TRUE(ctl_text(&m, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "eio_len 4096\n"));
	/* The control directory's names and modes are fixed. */
	EXPECT_EQ(-1, open(vff_path(&m, false, ".vmfaultfs/new"), O_CREAT | O_WRONLY, 0644));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, unlink(vff_path(&m, false, ".vmfaultfs/ctl")));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, chmod(vff_path(&m, false, ".vmfaultfs/ctl"), 0600));
	EXPECT_EQ(EPERM, errno);

	ASSERT_EQ(0, vff_ctl(&m, "stall 1\nreset\n"));
	ASSERT_TRUE(ctl_text(&m, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "read_delay_us 1000\n")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "jitter_us 0\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_len 0\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_partial 0\n"));
	EXPECT_NE(NULL, strstr(buf, "eio_after off\n"));
	EXPECT_NE(NULL, strstr(buf, "stall 0\n"));
	EXPECT_EQ(0, vff_stat(&m, "read_requests"));
	EXPECT_EQ(0, vff_stat(&m, "read_errors"));
	/* And the disk answers again. */
	EXPECT_EQ(4096, read_direct(vff_path(&m, false, "f")));
	EXPECT_EQ(1, vff_stat(&m, "read_requests"));
	EXPECT_EQ(0, vff_umount(&m));
}

/*
 * POSIX on a mount that every user may use (allow_other,
 * default_permissions), as pjdfstest checks it: a new entry's mode is the
 * one asked for under the caller's umask only (the daemon's own umask does
 * not apply), and its owner is the creating user, its group the user's or,
 * in a set-group-ID directory, the directory's, as on a local file system.
 */
#define USER_ID		4321	/* an unprivileged creator */
#define GROUP_ID	4322
#define SGID_GROUP	4323

/* In a child: umask @mask, then become USER_ID (if @user) and create. */
static int create_entries(const char *mnt, mode_t mask, bool user)
{
	char path[256];
	pid_t pid = fork();
	int status, fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *who = user ? "u" : "r";

		umask(mask);
		if (user && (setgroups(0, NULL) || setgid(GROUP_ID) || setuid(USER_ID)))
			_exit(10);
		snprintf(path, sizeof(path), "%s/%s-file-%03o", mnt, who, mask);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0666);
		if (fd < 0 || close(fd))
			_exit(11);
		snprintf(path, sizeof(path), "%s/%s-dir-%03o", mnt, who, mask);
		if (mkdir(path, 0777))
			_exit(12);
		snprintf(path, sizeof(path), "%s/%s-fifo-%03o", mnt, who, mask);
		if (mkfifo(path, 0666))
			_exit(13);
		snprintf(path, sizeof(path), "%s/%s-link-%03o", mnt, who, mask);
		if (symlink("target", path))
			_exit(14);
		snprintf(path, sizeof(path), "%s/%s-suid-%03o", mnt, who, mask);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 04755);
		if (fd < 0 || close(fd))
			_exit(15);
		if (user) {
			snprintf(path, sizeof(path), "%s/sgid/u-file", mnt);
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0 || close(fd))
				_exit(16);
			snprintf(path, sizeof(path), "%s/sgid/u-dir", mnt);
			if (mkdir(path, 0755))
				_exit(17);
			/* default_permissions: root's 0755 directory is not the user's. */
			snprintf(path, sizeof(path), "%s/roots/u-file", mnt);
			fd = open(path, O_CREAT | O_WRONLY, 0644);
			if (fd >= 0 || errno != EACCES)
				_exit(18);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* lstat() of @name in the mount and in its source agree, and are @mode @uid:@gid. */
static bool entry_is(struct vff_mount *m, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat in_mnt, in_src;

	if (lstat(vff_path(m, false, name), &in_mnt) || lstat(vff_path(m, true, name), &in_src)) {
		fprintf(stderr, "# %s: %s\n", name, strerror(errno));
		return false;
	}
	if (in_mnt.st_mode != in_src.st_mode || in_mnt.st_uid != in_src.st_uid ||
	    in_mnt.st_gid != in_src.st_gid || in_mnt.st_mode != mode ||
	    in_mnt.st_uid != uid || in_mnt.st_gid != gid) {
		fprintf(stderr, "# %s: mount %06o %u:%u, source %06o %u:%u, want %06o %u:%u\n",
			name, in_mnt.st_mode, in_mnt.st_uid, in_mnt.st_gid, in_src.st_mode,
			in_src.st_uid, in_src.st_gid, mode, uid, gid);
		return false;
	}
	return true;
}

TEST(posix_modes_and_owners)
{
	struct vff_mount m;

	ASSERT_EQ(0, vff_mount(&m, "allow_other,default_permissions"));
	ASSERT_EQ(0, chmod(m.src, 0777));
	ASSERT_EQ(0, mkdir(vff_path(&m, true, "sgid"), 0777));
	ASSERT_EQ(0, chown(vff_path(&m, true, "sgid"), 0, SGID_GROUP));
	ASSERT_EQ(0, chmod(vff_path(&m, true, "sgid"), 02777));
	ASSERT_EQ(0, mkdir(vff_path(&m, true, "roots"), 0755));

	/* Root, umask 0 and 022: the modes asked for, under that umask only. */
	EXPECT_EQ(0, create_entries(m.mnt, 0, false));
	EXPECT_TRUE(entry_is(&m, "r-file-000", S_IFREG | 0666, 0, 0));
	EXPECT_TRUE(entry_is(&m, "r-dir-000", S_IFDIR | 0777, 0, 0));
	EXPECT_TRUE(entry_is(&m, "r-fifo-000", S_IFIFO | 0666, 0, 0));
	EXPECT_TRUE(entry_is(&m, "r-suid-000", S_IFREG | 04755, 0, 0));
	EXPECT_EQ(0, create_entries(m.mnt, 022, false));
	EXPECT_TRUE(entry_is(&m, "r-file-022", S_IFREG | 0644, 0, 0));
	EXPECT_TRUE(entry_is(&m, "r-dir-022", S_IFDIR | 0755, 0, 0));
	EXPECT_TRUE(entry_is(&m, "r-fifo-022", S_IFIFO | 0644, 0, 0));

	/* Another user: the entries are that user's, with its mode bits. */
	EXPECT_EQ(0, create_entries(m.mnt, 0, true));
	EXPECT_TRUE(entry_is(&m, "u-file-000", S_IFREG | 0666, USER_ID, GROUP_ID));
	EXPECT_TRUE(entry_is(&m, "u-dir-000", S_IFDIR | 0777, USER_ID, GROUP_ID));
	EXPECT_TRUE(entry_is(&m, "u-fifo-000", S_IFIFO | 0666, USER_ID, GROUP_ID));
	EXPECT_TRUE(entry_is(&m, "u-link-000", S_IFLNK | 0777, USER_ID, GROUP_ID));
	EXPECT_TRUE(entry_is(&m, "u-suid-000", S_IFREG | 04755, USER_ID, GROUP_ID));
	/* In a set-group-ID directory: its group; a new directory inherits the bit. */
	EXPECT_TRUE(entry_is(&m, "sgid/u-file", S_IFREG | 0644, USER_ID, SGID_GROUP));
	EXPECT_TRUE(entry_is(&m, "sgid/u-dir", S_IFDIR | 02755, USER_ID, SGID_GROUP));
	EXPECT_NE(0, access(vff_path(&m, true, "roots/u-file"), F_OK));

	EXPECT_EQ(0, vff_umount(&m));
}

TEST_HARNESS_MAIN
