/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfaultfs: shared declarations of the file system (vmfaultfs.c) and its
 * injection, accounting and control files (control.c).
 */
#ifndef VMFAULTFS_H
#define VMFAULTFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Node ids of the control directory and its files (never real inodes). */
#define VFS_CTL_DIR_NAME	".vmfaultfs"

enum vfs_kind {
	VFS_REAL,	/* a file or directory of the source tree */
	VFS_CTL_DIR,	/* .vmfaultfs */
	VFS_CTL_STATS,	/* .vmfaultfs/stats: request accounting */
	VFS_CTL_CTL,	/* .vmfaultfs/ctl: injection settings */
};

enum vfs_cache {
	VFS_CACHE_PAGECACHE,	/* the kernel page cache, kept across opens */
	VFS_CACHE_DIRECT,	/* FOPEN_DIRECT_IO: no page cache */
	VFS_CACHE_WRITEBACK,	/* page cache with FUSE_CAP_WRITEBACK_CACHE */
};

/* Request classes that are accounted in .vmfaultfs/stats. */
enum vfs_op {
	VFS_OP_READ,
	VFS_OP_WRITE,
	VFS_OP_FSYNC,
	VFS_OP_FLUSH,
	VFS_OP_OPEN,
	VFS_OP_LOOKUP,
	VFS_OP_GETATTR,
	VFS_OP_SETATTR,
	VFS_OP_NR,
};

struct vfs_op_stats {
	atomic_uint_fast64_t count;	/* requests answered */
	atomic_uint_fast64_t errors;	/* of which answered with an error */
	atomic_uint_fast64_t bytes;	/* data bytes (READ and WRITE) */
	atomic_uint_fast64_t ns;	/* time from receipt to reply */
};

/* Injection settings: read and written with atomics, no lock. */
struct vfs_inject {
	atomic_uint read_delay_us;
	atomic_uint write_delay_us;
	atomic_uint jitter_us;
	atomic_uint_fast64_t eio_offset;	/* reads overlapping [offset, */
	atomic_uint_fast64_t eio_len;		/*  offset + len) get EIO */
	atomic_uint eio_partial;		/* 1: a read from before the range
						 * returns what precedes it */
	atomic_int_fast64_t eio_after;		/* -1: off; else N data requests succeed */
	atomic_uint_fast64_t data_requests;	/* since eio_after was set */
};

extern struct vfs_inject vfs_inject;
extern struct vfs_op_stats vfs_stats[VFS_OP_NR];
extern enum vfs_cache vfs_cache_mode;
extern struct fuse_session *vfs_session;

const char *vfs_cache_name(enum vfs_cache mode);
int vfs_cache_parse(const char *name, enum vfs_cache *mode);

uint64_t vfs_now_ns(void);
void vfs_account(enum vfs_op op, uint64_t start_ns, uint64_t bytes, int err);

int vfs_data_begin(fuse_req_t req, bool write, uint64_t off, size_t *size);
int vfs_ctl_set(const char *key, const char *value);
void vfs_ctl_mounted(void);
void vfs_stall(bool on);

int vfs_ctl_stat(enum vfs_kind kind, struct stat *st);
char *vfs_ctl_render(enum vfs_kind kind, size_t *len);
int vfs_ctl_write(enum vfs_kind kind, const char *buf, size_t size);

#endif /* VMFAULTFS_H */
