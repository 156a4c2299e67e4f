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
	bool one_thread;	/* the daemon runs -s: one thread, requests in turn */
};

/* The daemon: $VMFAULTFS, or ../fusefs/vmfaultfs beside this program. */
const char *vff_daemon(void);

/* Wait until every thread of @pid is stopped ('T'). 0, or -1 on timeout. */
int vff_wait_stopped(pid_t pid, unsigned int ms);
bool vff_is_fs(const char *path, long magic);
bool vff_mounted(const char *mnt);

/* The mount's device number, or 0 on error. */
dev_t vff_dev(struct vff_mount *m);

/*
 * Mount vmfaultfs with "-o source=m->src,@opts" (opts may be NULL) on a
 * fresh directory under /tmp, m->mnt, single-threaded (-s) if
 * m->one_thread. The source may already hold files (a daemon mounted again
 * over them). Returns 0, or -1 with a message on stderr.
 */
int vff_mount_src(struct vff_mount *m, const char *opts);

/* vff_mount_src() on a fresh, empty source directory under /tmp. */
int vff_mount(struct vff_mount *m, const char *opts);

/* nftw() callback that removes what it visits (FTW_DEPTH). */
int vff_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw);

/*
 * Unmount (lazily if busy), reap the daemon (SIGKILL after 10 s) and remove
 * both directories. Returns 0 if the unmount itself worked.
 */
int vff_umount(struct vff_mount *m);

/*
 * Unmount @m and reap its daemon as vff_umount() does, keeping m->src and
 * its files, then mount a new daemon over them: one thread (-s) if
 * @one_thread, else libfuse's multi-threaded loop. Returns 0, or -1 with a
 * message on stderr (m then mounts nothing; vff_umount() still cleans up).
 */
int vff_remount(struct vff_mount *m, const char *opts, bool one_thread);

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
uint64_t vff_stat(struct vff_mount *m, const char *name);

/*
 * Wait up to 10 s for vff_stat(@m, @name) to be @want ("reads_held" 1: a
 * READ is held); its last value.
 */
uint64_t vff_wait_stat(struct vff_mount *m, const char *name, uint64_t want);

/*
 * Did the kernel speak FUSE protocol 7.@minor or later at INIT (the ctl
 * file's kernel_protocol line)? What a test gates on when the kernel's
 * behaviour changed without a capability flag, instead of uname.
 */
bool vff_kernel_protocol_at_least(struct vff_mount *m, unsigned int minor);

/* Write one command ("zero_stats", "stall 1", ...) to .vmfaultfs/ctl. */
int vff_ctl(struct vff_mount *m, const char *cmd);

/* Kernel readahead of this mount (its backing_dev_info), in KiB; 0 is off. */
int vff_set_readahead_kb(struct vff_mount *m, unsigned int kb);

/*
 * Abort the FUSE connection, as an administrator would. fusectl names a
 * connection by its device number as the kernel encodes it (fuse_conn.dev,
 * printed with "%u": major << 20 | minor).
 */
int vff_abort(struct vff_mount *m);

/* Create @name in the source directory: @size bytes of @fill. */
int vff_make_file(struct vff_mount *m, const char *name, size_t size, int fill);
char *vff_path(struct vff_mount *m, bool source, const char *name);

/* Helpers shared by the tests of files on vmfaultfs. */

/*
 * A "# kind: ..." line for devtools/fusefs-tables. The harness ends each
 * test with _exit(), so flush: stdout is a pipe under the kselftest runner.
 */
#define report(fmt, ...) do {				\
	ksft_print_msg(fmt, ##__VA_ARGS__);		\
	fflush(stdout);					\
} while (0)

long majflt(void);

/* Read @len bytes of a file into @buf; the number read, or -1. */
ssize_t read_file(const char *path, char *buf, size_t len);
off_t file_size(const char *path);
struct access_arg {
	char *p;
	size_t len;
	bool write;
};

void touch_it(void *arg);

/* A child that makes the access @a describes, then exits 0. */
pid_t fork_toucher(struct access_arg *a);

/*
 * Stall the daemon ("stall 1") and fork a child that makes the access @a
 * describes. Returns the child once it has stayed blocked for half a
 * second, or -1 if it could not be started or did not block.
 */
pid_t vff_stalled_toucher(struct vff_mount *m, struct access_arg *a);

#endif /* VMFAULTFS_LIB_H */
