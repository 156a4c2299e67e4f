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

/* The control directory in the mount's root (control.c). */
#define VFF_CTL_DIR_NAME	".vmfaultfs"

enum vff_cache {
	VFF_CACHE_PAGECACHE,	/* the kernel page cache, kept across opens */
	VFF_CACHE_DIRECT,	/* FOPEN_DIRECT_IO: no page cache */
	VFF_CACHE_WRITEBACK,	/* page cache with FUSE_CAP_WRITEBACK_CACHE */
};

/* Request classes that are accounted in .vmfaultfs/stats. */
enum vff_op {
	VFF_OP_READ,
	VFF_OP_WRITE,
	VFF_OP_FSYNC,
	VFF_OP_FLUSH,
	VFF_OP_OPEN,
	VFF_OP_LOOKUP,
	VFF_OP_GETATTR,
	VFF_OP_SETATTR,
	VFF_OP_NR,
};

struct vff_op_stats {
	atomic_uint_fast64_t count;	/* requests answered */
	atomic_uint_fast64_t errors;	/* of which answered with an error */
	atomic_uint_fast64_t bytes;	/* data bytes (READ and WRITE) */
	atomic_uint_fast64_t ns;	/* time from receipt to reply */
};

/* Injection settings: read and written with atomics, no lock. */
struct vff_inject {
	atomic_uint read_delay_us;
	atomic_uint write_delay_us;
	atomic_uint jitter_us;
	atomic_uint_fast64_t eio_offset;	/* reads overlapping [offset, */
	atomic_uint_fast64_t eio_len;		/*  offset + len) get EIO */
	atomic_uint eio_partial;		/* 1: a read from before the range
						 * returns what precedes it */
	atomic_int_fast64_t eio_after;		/* -1: off; else N data requests succeed */
	atomic_uint_fast64_t data_requests;	/* since eio_after was set */
	atomic_uint hold_reads;			/* READs still to hold after their data */
};

extern struct vff_inject vff_inject;
extern struct vff_op_stats vff_stats[VFF_OP_NR];
extern atomic_uint_fast64_t vff_read_spliced;	/* READs answered by splice */
extern enum vff_cache vff_cache_mode;
extern struct fuse_session *vff_session;
extern double vff_timeout;
extern unsigned int vff_proto_major, vff_proto_minor;
extern const struct fuse_lowlevel_ops vff_ctl_ops;

const char *vff_cache_name(enum vff_cache mode);
int vff_cache_parse(const char *name, enum vff_cache *mode);

uint64_t vff_now_ns(void);
uint64_t vff_account(enum vff_op op, uint64_t start_ns, uint64_t bytes, int err);

int vff_data_begin(fuse_req_t req, bool write, uint64_t off, size_t *size);
bool vff_read_hold_claim(void);
int vff_read_hold(fuse_req_t req);
int vff_ctl_set(const char *key, const char *value);
void vff_ctl_mounted(void);
void vff_stall(bool on);

bool vff_ctl_ino(fuse_ino_t ino);

#endif /* VMFAULTFS_H */
