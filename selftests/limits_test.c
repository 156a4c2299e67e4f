// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel's limits see of region memory, and what may never be
 * read from it:
 *
 *  - region pages are charged to the memory cgroup of the task that makes
 *    them (memory.current, memory.stat "kernel"), and given back when the
 *    region goes; so are pages read in the background for a task's fault;
 *  - memory.max bounds them: a task that writes past its group's limit is
 *    OOM-killed inside its group, not a bigger process in another one;
 *  - the module's max_pages bounds all regions together: past it a write()
 *    is ENOSPC and a fault SIGBUS, counted;
 *  - the OOM killer's report says what the regions hold;
 *  - /proc/vmfault_regions (who holds what) is root's only;
 *  - a hardware-poisoned page is never mapped or copied again (SIGBUS with
 *    BUS_MCEERR_AR, EIO);
 *  - a region cannot change mode while a read() of it is under way.
 *
 * OOM kills print a stack trace; the cases that cause them say so in the
 * kernel log first ("vmfault-selftest: expect OOM"), and the dev VM's
 * dmesg check accepts traces of OOM reports only between those lines.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vmfault_lib.h"

/*
 * The memory-cgroup cases fill a group up to its OOM kills: on the debug
 * kernel (KASAN, lockdep, one vCPU under TCG) that took the harness's
 * whole default of 30 s. Every case here gets 120 s (TEST() takes the
 * default as it expands).
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120
#include "vmfaultfs_lib.h"

#define CGROOT		"/sys/fs/cgroup"
#define KPF_HWPOISON	19
#define MIB		(1UL << 20)

static long long read_num(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* A line in the kernel log, so that a reader knows what comes next. */
static void kmsg(const char *msg)
{
	write_file("/dev/kmsg", msg);
}

/* A memory cgroup under the root one, in @dir; -1 on failure. */
static int cg_make(char *dir, size_t len, const char *name, const char *max)
{
	char path[200];

	if (access(CGROOT "/cgroup.controllers", R_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
		return -1;
	write_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(dir, len, CGROOT "/%s-%d", name, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	if (max) {
		snprintf(path, sizeof(path), "%s/memory.max", dir);
		if (write_file(path, max))
			return -1;
		snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
		write_file(path, "0");
	}
	return 0;
}

static int cg_join(const char *dir)
{
	char path[200], pid[16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(path, pid);
}

static long long cg_num(const char *dir, const char *file)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return read_num(path);
}

static long long cg_key(const char *dir, const char *file, const char *key)
{
	char path[200];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return kv_read(path, key);
}

/* Remove a cgroup once its tasks are gone. */
static void cg_remove(const char *dir)
{
	for (int i = 0; i < 100 && rmdir(dir) && errno == EBUSY; i++)
		usleep(50000);
}

/*
 * In a child: join the memory cgroup @dir and open a zero region of
 * @bytes. The region fd, or the child exits 1.
 */
static int region_in_group(const char *dir, size_t bytes)
{
	int fd = vmf_open();

	if (fd < 0 || cg_join(dir) || vmf_configure(fd, VMFAULT_MODE_ZERO, bytes))
		_exit(1);
	return fd;
}

/* Write @len bytes of ones into a fresh zero region of @len bytes: the pages it made. */
static long fill_region(int fd, size_t len)
{
	size_t chunk = MIB, done = 0;
	char *buf = malloc(chunk);

	if (!buf)
		return -1;
	memset(buf, 1, chunk);
	while (done < len) {
		ssize_t n = pwrite(fd, buf, chunk, done);

		if (n <= 0)
			break;
		done += n;
	}
	free(buf);
	return done / page_size();
}

struct charge {
	long long cur0, cur1, cur2, kernel1;
	long pages;
};

/*
 * Region pages count in the memory cgroup of the task that makes them,
 * with write() and with faults, as kernel memory (memory.stat "kernel");
 * closing the region gives them back.
 */
TEST(memcg_charges_region_pages)
{
	struct charge *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char dir[160];
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, c);
	ASSERT_EQ(0, cg_make(dir, sizeof(dir), "vmfault-charge", NULL));
	for (int faults = 0; faults <= 1; faults++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int fd = region_in_group(dir, 32 * MIB);
			char *p;

			c->cur0 = cg_num(dir, "memory.current");
			if (faults) {
				p = mmap(NULL, 32 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
				if (p == MAP_FAILED)
					_exit(1);
				for (size_t off = 0; off < 32 * MIB; off += page_size())
					p[off] = 1;
				c->pages = 32 * MIB / page_size();
				munmap(p, 32 * MIB);
			} else {
				c->pages = fill_region(fd, 32 * MIB);
			}
			c->cur1 = cg_num(dir, "memory.current");
			c->kernel1 = cg_key(dir, "memory.stat", "kernel");
			close(fd);
			c->cur2 = cg_num(dir, "memory.current");
			_exit(0);
		}
		ASSERT_EQ(0, reap_child(pid, &status, 60000));
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		/* Other charges come and go meanwhile: a MiB of slack. */
		EXPECT_EQ(32 * MIB / page_size(), c->pages);
		EXPECT_LE(31 * MIB, c->cur1 - c->cur0);
		EXPECT_LE(32 * MIB, c->kernel1);
		EXPECT_LE(31 * MIB, c->cur1 - c->cur2);
		TH_LOG("%s: memory.current %lld -> %lld -> %lld after close; memory.stat kernel %lld",
		       faults ? "faults" : "write()", c->cur0, c->cur1, c->cur2, c->kernel1);
	}
	cg_remove(dir);
	munmap(c, sizeof(*c));
}

/* Hold @mib MiB of anonymous memory until killed. */
static pid_t innocent(const char *dir, size_t mib)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *p;

		if (cg_join(dir))
			_exit(1);
		p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 7, mib * MIB);
		for (;;)
			pause();
	}
	return pid;
}

/*
 * A task in a group with memory.max = 64 MiB writes 512 MiB into a region,
 * with write() and then with faults. The group never holds more than its
 * limit, the OOM killer kills that task inside its group, and a bigger
 * process in another group (96 MiB of anonymous memory) lives on. The
 * region's pages are freed with the task.
 */
TEST(memcg_limit_oom_kills_inside_the_group)
{
	char hog[160], other[160];
	uint64_t resident0 = vmf_proc("pages_resident");
	int status;
	pid_t bystander, pid;

	ASSERT_EQ(0, cg_make(hog, sizeof(hog), "vmfault-hog", "64M"));
	ASSERT_EQ(0, cg_make(other, sizeof(other), "vmfault-other", NULL));
	bystander = innocent(other, 96);
	ASSERT_LE(0, bystander);
	kmsg("vmfault-selftest: expect OOM kills: memcg_limit_oom_kills_inside_the_group");
	for (int faults = 0; faults <= 1; faults++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int fd = region_in_group(hog, 512 * MIB);
			char *p;

			if (!faults) {
				fill_region(fd, 512 * MIB);
				_exit(2);	/* never here: killed */
			}
			p = mmap(NULL, 512 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(1);
			for (size_t off = 0; off < 512 * MIB; off += page_size())
				p[off] = 1;
			_exit(2);
		}
		ASSERT_EQ(0, reap_child(pid, &status, 120000));
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("%s: status %#x", faults ? "faults" : "write()", status);
	}
	kmsg("vmfault-selftest: expect no more OOM kills");
	EXPECT_LE(2, cg_key(hog, "memory.events", "oom_kill"));
	EXPECT_GE(64 * MIB, cg_num(hog, "memory.peak"));
	EXPECT_EQ(0, kill(bystander, 0));
	EXPECT_EQ(0, cg_key(other, "memory.events", "oom_kill"));
	TH_LOG("group peak %lld bytes of a 64 MiB limit, %llu OOM kills in it, none outside",
	       cg_num(hog, "memory.peak"), (unsigned long long)cg_key(hog, "memory.events", "oom_kill"));
	kill(bystander, SIGKILL);
	waitpid(bystander, NULL, 0);
	for (int i = 0; i < 100 && vmf_proc("pages_resident") != resident0; i++)
		usleep(50000);
	EXPECT_EQ(resident0, vmf_proc("pages_resident"));
	cg_remove(hog);
	cg_remove(other);
}

/*
 * A file on a tmpfs of its own (mounted with @opts) in @dir, a mkdtemp()
 * template, its path in @path (200 bytes): the dev VM's root is an
 * overlay. An fd open for writing, or -1.
 */
static int tmpfs_file(char *dir, char *path, const char *opts)
{
	if (!mkdtemp(dir) || mount("tmpfs", dir, "tmpfs", 0, opts))
		return -1;
	snprintf(path, 200, "%s/file", dir);
	return open(path, O_CREAT | O_RDWR, 0600);
}

/* Remove tmpfs_file()'s file and its tmpfs. */
static void tmpfs_file_remove(const char *dir, const char *path)
{
	unlink(path);
	umount(dir);
	rmdir(dir);
}

/*
 * A memory cgroup at its limit takes region pages back through the
 * module's shrinker instead of OOM-killing: a task in a group with
 * memory.max = 12 MiB reads a 32 MiB file twice through a file-mode
 * region whose budget is the whole file (so that its policy never
 * evicts). Without reclaim it is the OOM kill of the test above; here the
 * task finishes, every page reads back its stamp, the group never passes
 * its limit, and the pages the kernel took are counted in reclaimed, not
 * in evictions, each coming back by a major fault.
 */
TEST(memcg_limit_reclaims_budgeted_pages)
{
	const unsigned long pages = 32 * MIB / page_size();
	struct vmfault_frames fr = { .frames = pages, .policy = VMFAULT_POLICY_FIFO };
	char grp[160], dir[] = "/tmp/vmfault-memcg-XXXXXX", path[200];
	struct vmfault_region_info info;
	long ps = page_size();
	int pipefd[2], status, bfd;
	uint64_t *buf;
	pid_t pid;

	ASSERT_EQ(0, cg_make(grp, sizeof(grp), "vmfault-reclaim", "12M"));
	bfd = tmpfs_file(dir, path, "size=40M");
	ASSERT_LE(0, bfd);
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	for (unsigned long i = 0; i < pages; i++) {
		for (unsigned long j = 0; j < ps / sizeof(*buf); j++)
			buf[j] = i * 4096 + j;
		ASSERT_EQ(ps, write(bfd, buf, ps));
	}
	close(bfd);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned long bad = 0;
		uint64_t *p;
		int fd;

		close(pipefd[0]);
		if (cg_join(grp))
			_exit(1);
		fd = vmf_budget_file(path, O_RDONLY, &fr);
		if (fd < 0)
			_exit(1);
		p = mmap(NULL, pages * ps, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(1);
		for (int pass = 0; pass < 2; pass++)
			for (unsigned long i = 0; i < pages; i++)
				bad += p[i * ps / sizeof(*p) + 7] != i * 4096 + 7;
		if (vmf_info(fd, &info))
			_exit(1);
		if (write(pipefd[1], &info, sizeof(info)) != sizeof(info) ||
		    write(pipefd[1], &bad, sizeof(bad)) != sizeof(bad))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	if (reap_child(pid, &status, 100000)) {
		/* Too slow (a debug kernel): fail, and leave no pages behind. */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		TH_LOG("the reader did not finish in 100 s");
	}
	tmpfs_file_remove(dir, path);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x", status);
	ASSERT_EQ(sizeof(info), read(pipefd[0], &info, sizeof(info)));
	ASSERT_EQ(sizeof(*buf), read(pipefd[0], buf, sizeof(*buf)));
	close(pipefd[0]);
	TH_LOG("32 MiB read twice in a 12 MiB group: %llu major faults, %llu reclaimed, %llu evictions, group peak %lld KiB, %lld OOM kills",
	       (unsigned long long)info.counters[VMFAULT_CNT_MAJOR_FAULTS],
	       (unsigned long long)info.counters[VMFAULT_CNT_RECLAIMED],
	       (unsigned long long)info.counters[VMFAULT_CNT_EVICTIONS],
	       cg_num(grp, "memory.peak") / 1024, cg_key(grp, "memory.events", "oom_kill"));
	EXPECT_EQ(0, buf[0]);	/* pages that read back wrong */
	EXPECT_EQ(0, info.counters[VMFAULT_CNT_EVICTIONS]);
	/* Each of the second pass's misses is a page the kernel took. */
	EXPECT_LE(pages, info.counters[VMFAULT_CNT_RECLAIMED]);
	/* Every page the kernel took came back by a major fault, or is out. */
	EXPECT_EQ(info.counters[VMFAULT_CNT_MAJOR_FAULTS],
		  info.counters[VMFAULT_CNT_RECLAIMED] + info.resident);
	EXPECT_EQ(info.counters[VMFAULT_CNT_PAGES_ALLOCATED] - info.resident,
		  info.counters[VMFAULT_CNT_PAGES_FREED]);
	EXPECT_GE(12 * MIB, cg_num(grp, "memory.peak"));
	EXPECT_EQ(0, cg_key(grp, "memory.events", "oom_kill"));
	free(buf);
	cg_remove(grp);
}

/*
 * A free frame's page stays in the memory cgroup that allocated it: a miss
 * in another group frees it and allocates a page charged to its own
 * (/proc/kpagecgroup names the group); a later miss there takes a free
 * frame of its own group, the very page (the same pfn). 2 frames, batch 2,
 * FIFO, a file-mode region on tmpfs shared by this task and a child in a
 * group of its own.
 */
TEST(free_frames_stay_in_their_memcg)
{
	struct vmfault_frames fr = { .frames = 2, .policy = VMFAULT_POLICY_FIFO, .batch = 2 };
	char grp[160], dir[] = "/tmp/vmfault-ffcg-XXXXXX", path[200];
	uint64_t mine, pfn[5], got[3];
	struct vmfault_frames out;
	long ps = page_size();
	int pipefd[2], status, bfd, fd;
	struct stat st;
	char *p, *buf;
	pid_t pid;

	ASSERT_EQ(0, cg_make(grp, sizeof(grp), "vmfault-ffcg", NULL));
	ASSERT_EQ(0, stat(grp, &st));
	bfd = tmpfs_file(dir, path, "size=1M");
	ASSERT_LE(0, bfd);
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	for (int i = 0; i < 8; i++) {
		memset(buf, 'a' + i, ps);
		ASSERT_EQ(ps, write(bfd, buf, ps));
	}
	close(bfd);
	fd = vmf_budget_file(path, O_RDONLY, &fr);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 8 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Pages 0 and 1, then 2: both evicted, one free frame left. */
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ('a' + i, p[i * ps + 100]);
		pfn[i] = pfn_of(p + i * ps);
		ASSERT_NE(0, pfn[i]);
	}
	mine = kpage_read("/proc/kpagecgroup", pfn[2]);
	ASSERT_NE(~0ULL, mine);
	ASSERT_NE((uint64_t)st.st_ino, mine);
	ASSERT_EQ(0, ioctl(fd, VMFAULT_IOC_GET_FRAMES, &out));
	EXPECT_EQ(1, out.budget_free);

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pipefd[0]);
		if (cg_join(grp))
			_exit(1);
		/* Page 3: the free frame is charged elsewhere; a new page. */
		got[0] = p[3 * ps + 100] == 'd' ? pfn_of(p + 3 * ps) : 0;
		got[1] = got[0] ? kpage_read("/proc/kpagecgroup", got[0]) : 0;
		/* Page 4: evicts 2 and 3, and takes 3's frame, this group's. */
		got[2] = p[4 * ps + 100] == 'e' ? pfn_of(p + 4 * ps) : 0;
		_exit(write(pipefd[1], got, sizeof(got)) == sizeof(got) ? 0 : 1);
	}
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(sizeof(got), read(pipefd[0], got, sizeof(got)));
	close(pipefd[0]);
	TH_LOG("page 2 at pfn %#llx (group ino %llu); the child's page 3 at %#llx (group ino %llu, its own %llu), page 4 at %#llx",
	       (unsigned long long)pfn[2], (unsigned long long)mine,
	       (unsigned long long)got[0], (unsigned long long)got[1],
	       (unsigned long long)st.st_ino, (unsigned long long)got[2]);
	ASSERT_NE(0, got[0]);
	EXPECT_EQ((uint64_t)st.st_ino, got[1]);
	EXPECT_EQ(got[0], got[2]);
	ASSERT_EQ(0, ioctl(fd, VMFAULT_IOC_GET_FRAMES, &out));
	/* Page 2's frame, this task's group's, is free still. */
	EXPECT_EQ(1, out.budget_free);
	EXPECT_EQ(2, out.budget_used);
	EXPECT_EQ(1, out.used);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ('a' + i, p[i * ps + 100]);
	munmap(p, 8 * ps);
	close(fd);
	free(buf);
	tmpfs_file_remove(dir, path);
	cg_remove(grp);
}

/*
 * A background read (VMFAULT_FLAG_ASYNC_PREFETCH) runs on the module's
 * workqueue, but its pages are charged to the memory cgroup of the task
 * whose fault started it, as a fault's own read is: a child in a group of
 * its own scans a vmfaultfs file with window 8; page 12, read in the
 * background, is in the child's group (/proc/kpagecgroup), as page 0 is.
 */
TEST(memcg_charges_background_reads)
{
	struct vmfault_config cfg = {
		.mode = VMFAULT_MODE_FILE, .window = 8,
		.flags = VMFAULT_FLAG_ASYNC_PREFETCH | VMFAULT_FLAG_NO_FAULT_AROUND,
	};
	uint64_t got[4] = { 0 }, regions0 = vmf_proc("regions");
	long ps = page_size();
	struct vff_mount m;
	int pipefd[2], status;
	char grp[160];
	struct stat st;
	pid_t pid;

	ASSERT_EQ(0, cg_make(grp, sizeof(grp), "vmfault-racg", NULL));
	ASSERT_EQ(0, stat(grp, &st));
	ASSERT_EQ(0, vff_mount(&m, NULL));
	ASSERT_EQ(0, vff_make_file(&m, "f", 32 * ps, 'r'));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vmfault_region_info info;
		int fd = vmf_open(), bfd = open(vff_path(&m, false, "f"), O_RDONLY);
		char *p;

		close(pipefd[0]);
		cfg.fd = bfd;
		if (fd < 0 || bfd < 0 || cg_join(grp) || ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg))
			_exit(1);
		p = mmap(NULL, 32 * ps, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(1);
		(void)*(volatile char *)p;		/* reads 0-7 */
		(void)*(volatile char *)(p + 4 * ps);	/* 8-15, in the background */
		for (int i = 0; i < 2000; i++) {
			if (vmf_info(fd, &info))
				_exit(1);
			if (info.counters[VMFAULT_CNT_PAGES_READ] >= 16)
				break;
			usleep(10000);
		}
		got[0] = pfn_of(p);
		got[1] = kpage_read("/proc/kpagecgroup", got[0]);
		/* Read already: a minor fault that only maps it. */
		(void)*(volatile char *)(p + 12 * ps);
		got[2] = pfn_of(p + 12 * ps);
		got[3] = kpage_read("/proc/kpagecgroup", got[2]);
		if (vmf_info(fd, &info) || info.counters[VMFAULT_CNT_MAJOR_FAULTS] != 1)
			_exit(2);
		_exit(write(pipefd[1], got, sizeof(got)) == sizeof(got) ? 0 : 1);
	}
	close(pipefd[1]);
	ASSERT_EQ(0, reap_child(pid, &status, 60000));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(sizeof(got), read(pipefd[0], got, sizeof(got)));
	close(pipefd[0]);
	TH_LOG("group ino %llu: page 0 at pfn %#llx in %llu, page 12 (read in the background) at %#llx in %llu",
	       (unsigned long long)st.st_ino, (unsigned long long)got[0],
	       (unsigned long long)got[1], (unsigned long long)got[2],
	       (unsigned long long)got[3]);
	EXPECT_NE(0, got[0]);
	EXPECT_NE(0, got[2]);
	EXPECT_EQ((uint64_t)st.st_ino, got[1]);
	EXPECT_EQ((uint64_t)st.st_ino, got[3]);
	/* The child's region went with it. */
	EXPECT_EQ(regions0, vmf_proc("regions"));
	EXPECT_EQ(0, vff_umount(&m));
	cg_remove(grp);
}

/* Set the module's limit; returns the old one. */
static unsigned long set_max_pages(unsigned long max)
{
	unsigned long old = vmf_proc("max_pages");
	char v[32];

	snprintf(v, sizeof(v), "%lu", max);
	write_file("/sys/module/vmfault/parameters/max_pages", v);
	return old;
}

static void touch_write(void *arg)
{
	*(volatile char *)arg = 1;
}

/*
 * max_pages bounds the pages of all regions together, as size= bounds a
 * tmpfs: with room for 16 more, a write() of 32 pages stops after 16, the
 * next one is ENOSPC, a write fault on a hole is SIGBUS, a read of a hole
 * in a private mapping still maps the zero page; each refusal is counted.
 * Back at the old limit the write goes through.
 */
TEST(module_limit_refuses_pages)
{
	long ps = page_size();
	unsigned long old;
	char *buf = calloc(32, ps), *p, *q;
	int fd = vmf_open();

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vmf_configure(fd, VMFAULT_MODE_ZERO, 64 * ps));
	p = mmap(NULL, 64 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, 64 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	old = set_max_pages(vmf_proc("pages_resident") + 16);
	ASSERT_NE(old, vmf_proc("max_pages"));
	EXPECT_EQ(16 * ps, pwrite(fd, buf, 32 * ps, 0));
	EXPECT_EQ(-1, pwrite(fd, buf, ps, 20 * ps));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(SIGBUS, child_signal(touch_write, p + 40 * ps));
	EXPECT_EQ(0, q[41 * ps]);
	EXPECT_EQ(zero_pfn(), pfn_of(q + 41 * ps));
	EXPECT_LE(2, vmf_counter(fd, VMFAULT_CNT_LIMIT_REFUSALS));
	EXPECT_EQ(16, vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED));
	set_max_pages(old);
	EXPECT_EQ(ps, pwrite(fd, buf, ps, 20 * ps));
	p[40 * ps] = 1;
	EXPECT_EQ(18, vmf_counter(fd, VMFAULT_CNT_PAGES_ALLOCATED));
	munmap(q, 64 * ps);
	munmap(p, 64 * ps);
	close(fd);
	free(buf);
}

/*
 * The OOM killer ranks processes by their RSS, which has no room for
 * region pages that no process maps: before it picks, the module says in
 * its report what the regions hold. A manual OOM kill (sysrq f) with 8 MiB
 * in a region and a volunteer (oom_score_adj 1000) shows the line.
 */
TEST(oom_report_names_region_memory)
{
	char *log = malloc(1 << 20), *hit, *from;
	long pages = 0;
	int fd = vmf_open(), n, status;
	pid_t victim;

	ASSERT_NE(NULL, log);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vmf_configure(fd, VMFAULT_MODE_ZERO, 8 * MIB));
	ASSERT_EQ(8 * MIB / page_size(), fill_region(fd, 8 * MIB));
	victim = fork();
	ASSERT_LE(0, victim);
	if (victim == 0) {
		write_file("/proc/self/oom_score_adj", "1000");
		for (;;)
			pause();
	}
	usleep(200000);
	kmsg("vmfault-selftest: expect OOM kills: oom_report_names_region_memory");
	write_file("/proc/sys/kernel/sysrq", "1");
	ASSERT_EQ(0, write_file("/proc/sysrq-trigger", "f"));
	ASSERT_EQ(0, reap_child(victim, &status, 30000));
	kmsg("vmfault-selftest: expect no more OOM kills");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, (1 << 20) - 1);
	ASSERT_LT(0, n);
	log[n] = '\0';
	from = strstr(log, "expect OOM kills: oom_report_names_region_memory");
	ASSERT_NE(NULL, from);
	hit = strstr(from, "vmfault: ");
	ASSERT_NE(NULL, hit) TH_LOG("no vmfault line in the OOM report");
	hit = strstr(hit, "regions hold ");
	ASSERT_NE(NULL, hit);
	pages = atol(hit + strlen("regions hold "));
	EXPECT_LE(8 * MIB / page_size(), pages);
	TH_LOG("the OOM report says: %.*s", (int)strcspn(hit, "\n"), hit);
	close(fd);
	free(log);
}

/*
 * /proc/vmfault_regions names every region's owner, size and counters:
 * root's only (0400). /proc/vmfault, global counts, stays everyone's.
 */
TEST(proc_regions_is_roots)
{
	struct stat st;
	int status;
	pid_t pid;

	ASSERT_EQ(0, stat("/proc/vmfault_regions", &st));
	EXPECT_EQ(0400, st.st_mode & 0777);
	ASSERT_EQ(0, stat("/proc/vmfault", &st));
	EXPECT_EQ(0444, st.st_mode & 0777);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		a = open("/proc/vmfault_regions", O_RDONLY);
		if (a >= 0 || errno != EACCES)
			_exit(11);
		b = open("/proc/vmfault", O_RDONLY);
		_exit(b >= 0 ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x (11: the nobody user could open it)", status);
}

/* A child that touches @arg: exits 42 on SIGBUS with si_code BUS_MCEERR_AR. */
static void on_mce(int sig, siginfo_t *si, void *uc)
{
	_exit(si->si_code == BUS_MCEERR_AR ? 42 : 43);
}

static int touch_poisoned(char *p)
{
	struct sigaction sa = { .sa_sigaction = on_mce, .sa_flags = SA_SIGINFO };
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		sigaction(SIGBUS, &sa, NULL);
		(void)*(volatile char *)p;
		_exit(0);
	}
	if (pid < 0 || reap_child(pid, &status, 20000))
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Map @fd's 4-page region, write pages 0 ('P') and 1 ('Q'), poison page 0
 * and check that it is never mapped or copied again.
 */
static void poison_checks(struct __test_metadata *_metadata, int fd, bool file)
{
	long ps = page_size();
	char buf[8], *p, *q;
	uint64_t pfn;

	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'P', ps);
	memset(p + ps, 'Q', ps);

	if (access("/proc/sys/vm/memory_failure_recovery", F_OK)) {
		/* No CONFIG_MEMORY_FAILURE (Debian's riscv64 kernel): no poison. */
		EXPECT_EQ(-1, madvise(p, ps, MADV_HWPOISON));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ('P', p[0]);
		TH_LOG("this kernel has no memory-failure handling: MADV_HWPOISON is refused");
		munmap(p, 4 * ps);
		return;
	}
	/*
	 * memory_failure() marks the page, then finds it on no LRU and cannot
	 * recover it ("unknown page"): MADV_HWPOISON answers EBUSY. Keeping
	 * it from being read again is the module's job.
	 */
	pfn = pfn_of(p);
	ASSERT_NE(0, pfn);
	EXPECT_TRUE(!madvise(p, ps, MADV_HWPOISON) || errno == EBUSY) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(kpf(pfn, KPF_HWPOISON));
	/* A new mapping never maps it: SIGBUS with BUS_MCEERR_AR. */
	q = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(42, touch_poisoned(q));
	/* ...and it is gone from the old one too, the first time it was met. */
	EXPECT_EQ(0, pfn_of(p));
	EXPECT_EQ(42, touch_poisoned(p));
	/* read(), write() and writeback never copy it. */
	EXPECT_EQ(-1, pread(fd, buf, 8, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, pwrite(fd, "x", 1, 0));
	EXPECT_EQ(EIO, errno);
	if (file) {
		EXPECT_EQ(-1, fsync(fd));	/* it was dirty: its data is lost */
		EXPECT_EQ(EIO, errno);
		EXPECT_EQ(0, fsync(fd));	/* said once */
	}
	/* The page next to it is fine. */
	EXPECT_EQ('Q', q[ps]);
	EXPECT_LE(4, vmf_counter(fd, VMFAULT_CNT_HWPOISON));
	munmap(q, 4 * ps);
	munmap(p, 4 * ps);
}

/* A poisoned zero-mode page is never mapped or copied again. */
TEST(hwpoison_zero_mode)
{
	int fd = vmf_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vmf_configure(fd, VMFAULT_MODE_ZERO, 4 * page_size()));
	poison_checks(_metadata, fd, false);
	close(fd);
}

/* A poisoned file-mode page: the same, and its dirty data is an EIO. */
TEST(hwpoison_file_mode)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE };
	char path[] = VMFAULT_SCRATCH "/vmfault-poison.XXXXXX";
	int fd = vmf_open(), bfd = mkstemp(path);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, bfd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(bfd, 4 * page_size()));
	cfg.fd = bfd;
	ASSERT_EQ(0, ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg));
	close(bfd);
	poison_checks(_metadata, fd, true);
	close(fd);
}

struct parked {
	int fd;
	char *dst;
	ssize_t n;
};

static void *parked_read(void *arg)
{
	struct parked *r = arg;

	r->n = pread(r->fd, r->dst, 2 * page_size(), 0);
	return NULL;
}

/*
 * A read() of a zero-mode region is parked halfway (its user buffer is a
 * userfaultfd-registered page): meanwhile the region cannot be configured
 * into file mode or resized (EBUSY), so the read never meets a file page
 * that is being filled. A region is also frozen by any finished I/O.
 */
TEST(configure_refused_while_read_in_flight)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE };
	long ps = page_size();
	struct uffdio_register reg = { 0 };
	struct uffdio_api api = { .api = UFFD_API };
	struct parked r = { 0 };
	char path[] = VMFAULT_SCRATCH "/vmfault-cfg.XXXXXX";
	int uffd, bfd, done = 0;
	pthread_t th;

	r.fd = vmf_open();
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, vmf_configure(r.fd, VMFAULT_MODE_ZERO, 4 * ps));
	bfd = mkstemp(path);
	ASSERT_LE(0, bfd);
	unlink(path);
	ASSERT_EQ(0, ftruncate(bfd, 4 * ps));
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.dst = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.dst);
	reg.range.start = (uintptr_t)r.dst;
	reg.range.len = 2 * ps;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, pthread_create(&th, NULL, parked_read, &r));
	while (!done) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_zeropage z = { .range.len = ps };

		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("the read never faulted");
		ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
		/* The read is parked in the middle of its copy: reconfigure. */
		cfg.fd = bfd;
		EXPECT_EQ(-1, ioctl(r.fd, VMFAULT_IOC_CONFIGURE, &cfg));
		EXPECT_EQ(EBUSY, errno);
		EXPECT_EQ(-1, vmf_configure(r.fd, VMFAULT_MODE_ZERO, 8 * ps));
		EXPECT_EQ(EBUSY, errno);
		z.range.start = msg.arg.pagefault.address & ~(ps - 1);
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &z));
		done = z.range.start == (uintptr_t)r.dst + ps;
	}
	pthread_join(th, NULL);
	EXPECT_EQ(2 * ps, r.n);
	EXPECT_TRUE(all_bytes(r.dst, 2 * ps, 0));
	EXPECT_EQ(0, vmf_counter(r.fd, VMFAULT_CNT_PAGES_ALLOCATED));
	close(r.fd);

	/* A region that was read once keeps its mode and size. */
	r.fd = vmf_open();
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, vmf_configure(r.fd, VMFAULT_MODE_ZERO, 4 * ps));
	EXPECT_EQ(1, pread(r.fd, path, 1, 0));
	EXPECT_EQ(-1, ioctl(r.fd, VMFAULT_IOC_CONFIGURE, &cfg));
	EXPECT_EQ(EBUSY, errno);
	close(r.fd);
	close(bfd);
	close(uffd);
	munmap(r.dst, 2 * ps);
}

VMFAULT_TEST_MAIN
