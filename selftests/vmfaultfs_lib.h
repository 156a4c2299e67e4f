/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests that need a vmfaultfs mount: start the daemon in the
 * foreground on a fresh source and mount directory, wait for the mount,
 * read its request counters, change its injection settings, find its
 * backing_dev_info (readahead) and its /sys/fs/fuse/connections entry, and
 * take everything down again, also when the daemon was killed.
 */
#ifndef VMFAULTFS_LIB_H
#define VMFAULTFS_LIB_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmfault_lib.h"

#define FUSE_SUPER_MAGIC	0x65735546
#define FUSECTL_SUPER_MAGIC	0x65735543

struct vff_mount {
	char src[64];		/* the mirrored directory */
	char mnt[64];		/* the mount point */
	dev_t dev;		/* the mount's device, taken while it answers */
	pid_t pid;		/* the daemon (-f), 0 once reaped */
	int status;		/* its wait status, once reaped */
};

/* The daemon: $VMFAULTFS, or ../fusefs/vmfaultfs beside this program. */
static inline const char *vff_daemon(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("VMFAULTFS");

	if (env)
		return env;
	return beside_self("../fusefs/vmfaultfs", path) ?: "vmfaultfs";
}

static inline uint64_t vff_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Reap @pid within @ms milliseconds. Returns 0, or -1 if it is still alive. */
static inline int vff_reap(pid_t pid, int *status, unsigned int ms)
{
	uint64_t end = vff_now_ms() + ms;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return r == pid ? 0 : -1;
		usleep(10000);
	} while (vff_now_ms() < end);
	return -1;
}

/* Wait until every thread of @pid is stopped ('T'). 0, or -1 on timeout. */
static inline int vff_wait_stopped(pid_t pid, unsigned int ms)
{
	uint64_t end = vff_now_ms() + ms;
	char path[300];

	do {
		bool all = true;
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		d = opendir(path);
		if (!d)
			return -1;
		while (all && (de = readdir(d))) {
			char stat[512], *p;
			FILE *f;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, de->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
			all = p && p[1] == ' ' && p[2] == 'T';
			fclose(f);
		}
		closedir(d);
		if (all)
			return 0;
		usleep(10000);
	} while (vff_now_ms() < end);
	return -1;
}

static inline bool vff_is_fs(const char *path, long magic)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == magic;
}

static inline bool vff_mounted(const char *mnt)
{
	return vff_is_fs(mnt, FUSE_SUPER_MAGIC);
}

/* The mount's device number, or 0 on error. */
static inline dev_t vff_dev(struct vff_mount *m)
{
	struct stat st;

	return stat(m->mnt, &st) ? 0 : st.st_dev;
}

/*
 * Mount vmfaultfs with "-o source=m->src,@opts" (opts may be NULL) on a
 * fresh directory under /tmp, m->mnt. The source may already hold files
 * (a daemon mounted again over them). Returns 0, or -1 with a message on
 * stderr.
 */
static inline int vff_mount_src(struct vff_mount *m, const char *opts)
{
	char o[512];
	uint64_t end;

	m->pid = 0;
	strcpy(m->mnt, "/tmp/vmfaultfs-mnt.XXXXXX");
	if (!mkdtemp(m->mnt)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(o, sizeof(o), "source=%s%s%s", m->src, opts ? "," : "", opts ? opts : "");
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		execl(vff_daemon(), "vmfaultfs", "-f", "-o", o, m->mnt, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", vff_daemon(), strerror(errno));
		_exit(127);
	}
	end = vff_now_ms() + 20000;
	while (!vff_mounted(m->mnt)) {
		if (waitpid(m->pid, &m->status, WNOHANG) == m->pid) {
			fprintf(stderr, "vmfaultfs exited before mounting (status %#x)\n",
				m->status);
			m->pid = 0;
			return -1;
		}
		if (vff_now_ms() > end) {
			fprintf(stderr, "vmfaultfs did not mount within 20 s\n");
			return -1;
		}
		usleep(10000);
	}
	m->dev = vff_dev(m);
	return 0;
}

/* vff_mount_src() on a fresh, empty source directory under /tmp. */
static inline int vff_mount(struct vff_mount *m, const char *opts)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->src, "/tmp/vmfaultfs-src.XXXXXX");
	if (!mkdtemp(m->src)) {
		perror("mkdtemp");
		return -1;
	}
	return vff_mount_src(m, opts);
}

static inline int vff_rm_one(const char *path, const struct stat *st, int flag,
			     struct FTW *ftw)
{
	return remove(path);
}

/*
 * Unmount (lazily if busy), reap the daemon (SIGKILL after 10 s) and remove
 * both directories. Returns 0 if the unmount itself worked.
 */
static inline int vff_umount(struct vff_mount *m)
{
	int ret = 0;

	if (m->pid > 0)
		kill(m->pid, SIGCONT);	/* a stopped daemon would block statfs() */
	if (vff_mounted(m->mnt) && umount2(m->mnt, 0)) {
		fprintf(stderr, "umount %s: %s\n", m->mnt, strerror(errno));
		umount2(m->mnt, MNT_DETACH);
		ret = -1;
	}
	if (m->pid > 0) {
		if (vff_reap(m->pid, &m->status, 10000)) {
			fprintf(stderr, "vmfaultfs did not exit after umount; killing it\n");
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &m->status, 0);
			ret = -1;
		}
		m->pid = 0;
	}
	rmdir(m->mnt);
	nftw(m->src, vff_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}

/*
 * A kselftest fixture @name with a fresh vmfaultfs mount (self->m) and the
 * page size (self->ps); its teardown fails if the unmount does. For the
 * harness's users only (FIXTURE() is kselftest_harness.h's).
 */
#define VFF_FIXTURE(name)					\
	FIXTURE(name) {						\
		struct vff_mount m;				\
		long ps;					\
	};							\
	FIXTURE_SETUP(name)					\
	{							\
		self->ps = page_size();				\
		ASSERT_EQ(0, vff_mount(&self->m, NULL));	\
	}							\
	FIXTURE_TEARDOWN(name)					\
	{							\
		EXPECT_EQ(0, vff_umount(&self->m));		\
	}

/* One counter of .vmfaultfs/stats ("read_requests", ...), or ~0 on error. */
static inline uint64_t vff_stat(struct vff_mount *m, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/.vmfaultfs/stats", m->mnt);
	return kv_read(path, name);
}

/* Write one command ("zero_stats", "stall 1", ...) to .vmfaultfs/ctl. */
static inline int vff_ctl(struct vff_mount *m, const char *cmd)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.vmfaultfs/ctl", m->mnt);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n == (ssize_t)strlen(cmd) ? 0 : -1;
}

static inline int vff_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* Kernel readahead of this mount (its backing_dev_info), in KiB; 0 is off. */
static inline int vff_set_readahead_kb(struct vff_mount *m, unsigned int kb)
{
	dev_t dev = m->dev;
	char path[96], val[16];

	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(dev), minor(dev));
	snprintf(val, sizeof(val), "%u", kb);
	return vff_write_file(path, val);
}

/*
 * Abort the FUSE connection, as an administrator would. fusectl names a
 * connection by its device number as the kernel encodes it (fuse_conn.dev,
 * printed with "%u": major << 20 | minor).
 */
static inline int vff_abort(struct vff_mount *m)
{
	dev_t dev = m->dev;
	char path[96];

	if (!vff_is_fs("/sys/fs/fuse/connections", FUSECTL_SUPER_MAGIC) &&
	    mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL))
		return -1;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 (major(dev) << 20) | minor(dev));
	return vff_write_file(path, "1");
}

/* Create @name in the source directory: @size bytes of @fill. */
static inline int vff_make_file(struct vff_mount *m, const char *name, size_t size, int fill)
{
	char path[160], *buf = malloc(size ? size : 1);
	int fd, ok;

	if (!buf)
		return -1;
	memset(buf, fill, size);
	snprintf(path, sizeof(path), "%s/%s", m->src, name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	ok = fd >= 0 && write(fd, buf, size) == (ssize_t)size;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static inline char *vff_path(struct vff_mount *m, bool source, const char *name)
{
	static _Thread_local char path[2][160];
	char *p = path[source];

	snprintf(p, sizeof(path[0]), "%s/%s", source ? m->src : m->mnt, name);
	return p;
}

/* Helpers shared by the tests of files on vmfaultfs. */

/*
 * A "# kind: ..." line for scripts/fusefs-tables. The harness ends each
 * test with _exit(), so flush: stdout is a pipe under the kselftest runner.
 */
#define report(fmt, ...) do {				\
	ksft_print_msg(fmt, ##__VA_ARGS__);		\
	fflush(stdout);					\
} while (0)

static inline long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

/* Does a child that runs @fn die of @sig? */
static inline bool dies_of(void (*fn)(void *), void *arg, int sig)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || vff_reap(pid, &status, 20000))
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

static inline bool all_bytes(const char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/* Read @len bytes of a file into @buf; the number read, or -1. */
static inline ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, 0);
	close(fd);
	return n;
}

static inline off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

struct access_arg {
	char *p;
	size_t len;
	bool write;
};

static inline void touch_it(void *arg)
{
	struct access_arg *a = arg;

	if (a->write)
		*(volatile char *)a->p = 'w';
	else
		(void)*(volatile char *)a->p;
}

/* A child that makes the access @a describes, then exits 0. */
static inline pid_t fork_toucher(struct access_arg *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		touch_it(a);
		_exit(0);
	}
	return pid;
}

/*
 * Stall the daemon ("stall 1") and fork a child that makes the access @a
 * describes. Returns the child once it has stayed blocked for half a
 * second, or -1 if it could not be started or did not block.
 */
static inline pid_t vff_stalled_toucher(struct vff_mount *m, struct access_arg *a)
{
	pid_t child;
	int status;

	if (vff_ctl(m, "stall 1"))
		return -1;
	child = fork_toucher(a);
	if (child < 0)
		return -1;
	usleep(500000);
	return waitpid(child, &status, WNOHANG) == 0 ? child : -1;
}

#endif /* VMFAULTFS_LIB_H */
