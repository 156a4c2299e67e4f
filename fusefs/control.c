// SPDX-License-Identifier: GPL-2.0
/*
 * vmfaultfs: what makes it a controllable "disk". Latency and error
 * injection and the stall switch, applied to every READ and WRITE of a data
 * file (vff_data_begin), the request accounting (vff_account), and the
 * control directory inside the mount, with operations of its own
 * (vff_ctl_ops):
 *
 *   .vmfaultfs/stats  "name value" lines (read_requests, read_bytes, ...);
 *                     writing "reset" zeroes them
 *   .vmfaultfs/ctl    the injection settings (vff_settings[]); write "key
 *                     value" lines, "zero_stats" (the counters only) or
 *                     "reset" (every setting as the mount started, counters
 *                     zeroed)
 *
 * Settings and counters are atomics: a READ never takes a lock to be
 * accounted. Only the stall switch and held READs have a mutex, for their
 * condition variable.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmfaultfs.h"

struct vff_inject vff_inject = { .eio_after = -1 };
struct vff_op_stats vff_stats[VFF_OP_NR];
atomic_uint_fast64_t vff_read_spliced;
enum vff_cache vff_cache_mode = VFF_CACHE_PAGECACHE;
struct fuse_session *vff_session;
/* The FUSE protocol the kernel spoke at INIT (vff_init()). */
unsigned int vff_proto_major, vff_proto_minor;

static pthread_mutex_t vff_stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vff_stall_cond = PTHREAD_COND_INITIALIZER;
/* Written under vff_stall_lock; read without it by vff_stall_wait()'s fast path. */
static atomic_bool vff_stalled;
/* READs held now (vff_read_hold()), and releases so far (under vff_stall_lock). */
static atomic_uint vff_reads_held;
static uint64_t vff_releases;

static const char *const vff_op_names[VFF_OP_NR] = {
	[VFF_OP_READ] = "read",
	[VFF_OP_WRITE] = "write",
	[VFF_OP_FSYNC] = "fsync",
	[VFF_OP_FLUSH] = "flush",
	[VFF_OP_OPEN] = "open",
	[VFF_OP_LOOKUP] = "lookup",
	[VFF_OP_GETATTR] = "getattr",
	[VFF_OP_SETATTR] = "setattr",
};

static const char *const vff_cache_names[] = {
	[VFF_CACHE_PAGECACHE] = "pagecache",
	[VFF_CACHE_DIRECT] = "direct",
	[VFF_CACHE_WRITEBACK] = "writeback",
};

const char *vff_cache_name(enum vff_cache mode)
{
	return vff_cache_names[mode];
}

int vff_cache_parse(const char *name, enum vff_cache *mode)
{
	for (size_t i = 0; i < sizeof(vff_cache_names) / sizeof(vff_cache_names[0]); i++) {
		if (!strcmp(name, vff_cache_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t vff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Count one request; returns its time in ns, for the caller's USDT probe. */
uint64_t vff_account(enum vff_op op, uint64_t start_ns, uint64_t bytes, int err)
{
	struct vff_op_stats *s = &vff_stats[op];
	uint64_t ns = vff_now_ns() - start_ns;

	atomic_fetch_add(&s->count, 1);
	if (err)
		atomic_fetch_add(&s->errors, 1);
	atomic_fetch_add(&s->bytes, bytes);
	atomic_fetch_add(&s->ns, ns);
	return ns;
}

static void vff_stats_reset(void)
{
	for (int i = 0; i < VFF_OP_NR; i++) {
		atomic_store(&vff_stats[i].count, 0);
		atomic_store(&vff_stats[i].errors, 0);
		atomic_store(&vff_stats[i].bytes, 0);
		atomic_store(&vff_stats[i].ns, 0);
	}
	atomic_store(&vff_read_spliced, 0);
	atomic_store(&vff_inject.data_requests, 0);
}

void vff_stall(bool on)
{
	pthread_mutex_lock(&vff_stall_lock);
	atomic_store(&vff_stalled, on);
	pthread_cond_broadcast(&vff_stall_cond);
	pthread_mutex_unlock(&vff_stall_lock);
}

/*
 * One slice of a held request's wait, under vff_stall_lock: at most 100 ms,
 * then 0 to go on waiting, -EINTR (FUSE_INTERRUPT came) or -ENOTCONN (the
 * mount is gone).
 */
static int vff_hold_slice(fuse_req_t req)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&vff_stall_cond, &vff_stall_lock, &ts);
	if (fuse_req_interrupted(req))
		return -EINTR;
	if (vff_session && fuse_session_exited(vff_session))
		return -ENOTCONN;	/* unmounted or aborted: let go */
	return 0;
}

/*
 * Hold a request while the daemon is stalled. A stalled daemon still honours
 * FUSE_INTERRUPT, as a real file system waiting on a dead disk should: the
 * kernel sends it when the waiting task gets a signal, so a stalled fault
 * stays killable. (To model a daemon that answers nothing, SIGSTOP it.)
 * Not stalled, the common case, it takes no lock: a request that reads
 * the flag just before a stall begins is served, as one that arrived
 * just before it.
 */
static int vff_stall_wait(fuse_req_t req)
{
	int err = 0;

	if (!atomic_load(&vff_stalled))
		return 0;
	pthread_mutex_lock(&vff_stall_lock);
	while (atomic_load(&vff_stalled) && !err)
		err = vff_hold_slice(req);
	pthread_mutex_unlock(&vff_stall_lock);
	return err;
}

/**
 * vff_read_hold_claim() - is this READ one of the hold_reads to hold?
 *
 * Takes one from the count "hold_reads N" set. A READ that gets true
 * copies its data (no splice: a spliced page is the source file's own,
 * and a later write to the file would show through it), then calls
 * vff_read_hold() before it replies.
 *
 * Return: true to hold this READ.
 */
bool vff_read_hold_claim(void)
{
	unsigned int left = atomic_load(&vff_inject.hold_reads);

	while (left)
		if (atomic_compare_exchange_weak(&vff_inject.hold_reads, &left, left - 1))
			return true;
	return false;
}

/**
 * vff_read_hold() - hold a READ that has its data until "release_reads"
 * @req: the READ
 *
 * The race a test needs: the READ has taken the file's data as it was, and
 * its reply waits while other requests (a WRITE over the same bytes) are
 * served. Counted in "reads_held" while it waits; honours FUSE_INTERRUPT
 * as a stall does; "reset" and an unmount let it go.
 *
 * Return: 0 to reply with the data, or the negative errno to answer with.
 */
int vff_read_hold(fuse_req_t req)
{
	uint64_t gen;
	int err = 0;

	pthread_mutex_lock(&vff_stall_lock);
	gen = vff_releases;
	atomic_fetch_add(&vff_reads_held, 1);
	while (gen == vff_releases && !err)
		err = vff_hold_slice(req);
	atomic_fetch_sub(&vff_reads_held, 1);
	pthread_mutex_unlock(&vff_stall_lock);
	return err;
}

/* "release_reads": every held READ replies. */
static void vff_release_reads(void)
{
	pthread_mutex_lock(&vff_stall_lock);
	vff_releases++;
	pthread_cond_broadcast(&vff_stall_cond);
	pthread_mutex_unlock(&vff_stall_lock);
}

/* Sleep for the injected latency, in slices, honouring interrupts. */
static int vff_delay(fuse_req_t req, unsigned int delay_us)
{
	unsigned int jitter = atomic_load(&vff_inject.jitter_us);
	uint64_t left;

	if (jitter) {
		static _Thread_local unsigned int seed;

		if (!seed)
			seed = (unsigned int)vff_now_ns() ^ (unsigned int)pthread_self();
		delay_us += rand_r(&seed) % (jitter + 1);
	}
	left = (uint64_t)delay_us * 1000;
	while (left) {
		uint64_t slice = left < 100000000 ? left : 100000000;
		struct timespec ts = { .tv_sec = slice / 1000000000,
				       .tv_nsec = slice % 1000000000 };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		left -= slice;
		if (left && fuse_req_interrupted(req))
			return -EINTR;
	}
	return 0;
}

/**
 * vff_data_begin() - apply the injection to one READ or WRITE request
 * @req: the request
 * @write: WRITE rather than READ
 * @off: file offset of the request
 * @size: its length in bytes; a READ that reaches into the error range
 *	from before it is cut short there when eio_partial is set, as a disk
 *	returns what it read before a bad sector
 *
 * Waits while stalled, sleeps for the injected latency, then decides on an
 * injected error. Called once per data request, before any I/O.
 *
 * Return: 0 to go on (for *@size bytes), or the negative errno to answer
 * with.
 */
int vff_data_begin(fuse_req_t req, bool write, uint64_t off, size_t *size)
{
	int64_t after = atomic_load(&vff_inject.eio_after);
	uint64_t nth = atomic_fetch_add(&vff_inject.data_requests, 1) + 1;
	int err;

	err = vff_stall_wait(req);
	if (err)
		return err;
	err = vff_delay(req, atomic_load(write ? &vff_inject.write_delay_us :
					   &vff_inject.read_delay_us));
	if (err)
		return err;
	if (after >= 0 && nth > (uint64_t)after)
		return -EIO;
	if (!write) {
		uint64_t eoff = atomic_load(&vff_inject.eio_offset);
		uint64_t elen = atomic_load(&vff_inject.eio_len);

		if (elen && off < eoff + elen && eoff < off + *size) {
			if (off >= eoff || !atomic_load(&vff_inject.eio_partial))
				return -EIO;
			*size = eoff - off;
		}
	}
	return 0;
}

/* ---- the settings of the ctl file ---- */

enum vff_setting_type {
	VFF_SET_U32,	/* an atomic_uint, 0..UINT32_MAX */
	VFF_SET_U64,	/* an atomic_uint_fast64_t */
	VFF_SET_BOOL,	/* an atomic_uint, 0 or 1 */
	VFF_SET_AFTER,	/* eio_after: a count, or "off" (-1) */
	VFF_SET_STALL,	/* the stall switch (a mutex and condition variable) */
};

struct vff_setting {
	const char *name;
	enum vff_setting_type type;
	void *var;
};

/* In the order the ctl file lists them. */
static const struct vff_setting vff_settings[] = {
	{ "read_delay_us",	VFF_SET_U32,	&vff_inject.read_delay_us },
	{ "write_delay_us",	VFF_SET_U32,	&vff_inject.write_delay_us },
	{ "jitter_us",		VFF_SET_U32,	&vff_inject.jitter_us },
	{ "eio_offset",		VFF_SET_U64,	&vff_inject.eio_offset },
	{ "eio_len",		VFF_SET_U64,	&vff_inject.eio_len },
	{ "eio_partial",	VFF_SET_BOOL,	&vff_inject.eio_partial },
	{ "eio_after",		VFF_SET_AFTER,	&vff_inject.eio_after },
	{ "stall",		VFF_SET_STALL,	NULL },
	{ "hold_reads",		VFF_SET_U32,	&vff_inject.hold_reads },
};

#define VFF_NR_SETTINGS (sizeof(vff_settings) / sizeof(vff_settings[0]))

/* The settings as the mount started (its options), for "reset". */
static int64_t vff_at_mount[VFF_NR_SETTINGS];

static const struct vff_setting *vff_setting(const char *name)
{
	for (size_t i = 0; i < VFF_NR_SETTINGS; i++)
		if (!strcmp(vff_settings[i].name, name))
			return &vff_settings[i];
	return NULL;
}

/* A setting's value; eio_after's "off" is -1. */
static int64_t vff_setting_get(const struct vff_setting *set)
{
	switch (set->type) {
	case VFF_SET_U32:
	case VFF_SET_BOOL:
		return atomic_load((atomic_uint *)set->var);
	case VFF_SET_U64:
		return (int64_t)atomic_load((atomic_uint_fast64_t *)set->var);
	case VFF_SET_AFTER:
		return atomic_load((atomic_int_fast64_t *)set->var);
	case VFF_SET_STALL:
		return atomic_load(&vff_stalled);
	}
	return 0;
}

static void vff_setting_put(const struct vff_setting *set, int64_t v)
{
	switch (set->type) {
	case VFF_SET_U32:
	case VFF_SET_BOOL:
		atomic_store((atomic_uint *)set->var, (unsigned int)v);
		break;
	case VFF_SET_U64:
		atomic_store((atomic_uint_fast64_t *)set->var, (uint64_t)v);
		break;
	case VFF_SET_AFTER:
		/* A new count starts from the next data request. */
		atomic_store(&vff_inject.data_requests, 0);
		atomic_store((atomic_int_fast64_t *)set->var, v);
		break;
	case VFF_SET_STALL:
		vff_stall(v);
		break;
	}
}

/* Parse @value for @set into *@v: 0 or -EINVAL. */
static int vff_setting_parse(const struct vff_setting *set, const char *value, int64_t *v)
{
	unsigned long long n;
	char *end;

	if (set->type == VFF_SET_AFTER && value && !strcmp(value, "off")) {
		*v = -1;
		return 0;
	}
	if (!value || !*value || *value == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(value, &end, 0);
	if (errno || *end)
		return -EINVAL;
	switch (set->type) {
	case VFF_SET_U32:
		if (n > UINT32_MAX)
			return -EINVAL;
		break;
	case VFF_SET_BOOL:
	case VFF_SET_STALL:
		if (n > 1)
			return -EINVAL;
		break;
	case VFF_SET_AFTER:
		if (n > INT64_MAX)
			return -EINVAL;
		break;
	case VFF_SET_U64:
		break;
	}
	*v = (int64_t)n;
	return 0;
}

/**
 * vff_ctl_mounted() - remember the settings as the mount starts them
 *
 * Called once the mount options are applied: "reset" in the ctl file goes
 * back to these.
 */
void vff_ctl_mounted(void)
{
	for (size_t i = 0; i < VFF_NR_SETTINGS; i++)
		vff_at_mount[i] = vff_setting_get(&vff_settings[i]);
}

static void vff_ctl_reset(void)
{
	for (size_t i = 0; i < VFF_NR_SETTINGS; i++)
		vff_setting_put(&vff_settings[i], vff_at_mount[i]);
	vff_release_reads();
	vff_stats_reset();
}

/* The words a ctl file takes without a value. */
static const struct {
	const char *name;
	void (*run)(void);
} vff_commands[] = {
	{ "zero_stats",	vff_stats_reset },	/* the counters only */
	{ "reset",	vff_ctl_reset },	/* the settings too */
	{ "release_reads", vff_release_reads },	/* held READs reply */
};

/*
 * Check one line of the ctl file and, if @apply, act on it. Checking
 * every line first lets a multi-line write be all or nothing.
 */
static int vff_ctl_apply(const char *key, const char *value, bool apply)
{
	const struct vff_setting *set;
	int64_t v;

	for (size_t i = 0; i < sizeof(vff_commands) / sizeof(vff_commands[0]); i++) {
		if (strcmp(key, vff_commands[i].name))
			continue;
		if (value && *value)
			return -EINVAL;
		if (apply)
			vff_commands[i].run();
		return 0;
	}
	set = vff_setting(key);
	if (!set || vff_setting_parse(set, value, &v))
		return -EINVAL;
	if (apply)
		vff_setting_put(set, v);
	return 0;
}

/**
 * vff_ctl_set() - change one setting, from the command line or the ctl file
 * @key: setting name (see vff_settings[]), "zero_stats" or "reset"
 * @value: its new value as text; NULL for "zero_stats" and "reset"
 *
 * Return: 0, or -EINVAL for an unknown key or a bad value.
 */
int vff_ctl_set(const char *key, const char *value)
{
	return vff_ctl_apply(key, value, true);
}

/* ---- the control directory's nodes and operations ---- */

/*
 * The control directory and its two files: fixed nodes whose node ids are
 * their addresses, never forgotten. The lookup count the kernel keeps on
 * them needs no bookkeeping.
 */
struct vff_ctl_node {
	const char *name;
	mode_t mode;
	ino_t st_ino;		/* what stat() shows: outside any real range */
	/* The text of an open file, as of its open. */
	void (*render)(FILE *f);
	/* Act on what was written: 0 or -EINVAL (then nothing was done). */
	int (*write)(const char *key, const char *value, bool apply);
};

/* An open control file: a snapshot of its text, taken at open. */
struct vff_ctl_file {
	char *text;
	size_t len;
};

static void vff_stats_render(FILE *f)
{
	for (int i = 0; i < VFF_OP_NR; i++) {
		const struct vff_op_stats *s = &vff_stats[i];
		const char *n = vff_op_names[i];

		fprintf(f, "%s_requests %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->count));
		fprintf(f, "%s_errors %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->errors));
		if (i == VFF_OP_READ || i == VFF_OP_WRITE)
			fprintf(f, "%s_bytes %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->bytes));
		if (i == VFF_OP_READ) {
			fprintf(f, "read_spliced %" PRIu64 "\n",
				(uint64_t)atomic_load(&vff_read_spliced));
			fprintf(f, "reads_held %u\n", atomic_load(&vff_reads_held));
		}
		fprintf(f, "%s_ns %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->ns));
	}
}

/* The stats file takes one word, "reset": the counters only. */
static int vff_stats_write(const char *key, const char *value, bool apply)
{
	if (strcmp(key, "reset") || (value && *value))
		return -EINVAL;
	if (apply)
		vff_stats_reset();
	return 0;
}

static void vff_settings_render(FILE *f)
{
	fprintf(f, "cache %s\n", vff_cache_name(vff_cache_mode));
	/*
	 * Read-only: what a test can gate on when the kernel's behaviour
	 * changed without a capability flag (7.39 came with 6.6).
	 */
	fprintf(f, "kernel_protocol %u.%u\n", vff_proto_major, vff_proto_minor);
	for (size_t i = 0; i < VFF_NR_SETTINGS; i++) {
		const struct vff_setting *set = &vff_settings[i];
		int64_t v = vff_setting_get(set);

		if (set->type == VFF_SET_AFTER && v < 0)
			fprintf(f, "%s off\n", set->name);
		else
			fprintf(f, "%s %" PRId64 "\n", set->name, v);
	}
}

enum { VFF_CTL_DIR, VFF_CTL_STATS, VFF_CTL_CTL, VFF_CTL_NR };

static const struct vff_ctl_node vff_ctl_nodes[VFF_CTL_NR] = {
	[VFF_CTL_DIR] = { VFF_CTL_DIR_NAME, S_IFDIR | 0555, 0xffffff01 },
	[VFF_CTL_STATS] = { "stats", S_IFREG | 0644, 0xffffff02,
			    vff_stats_render, vff_stats_write },
	[VFF_CTL_CTL] = { "ctl", S_IFREG | 0644, 0xffffff03,
			  vff_settings_render, vff_ctl_apply },
};

static fuse_ino_t vff_ctl_nodeid(const struct vff_ctl_node *node)
{
	return (uintptr_t)node;
}

static const struct vff_ctl_node *vff_ctl_node(fuse_ino_t ino)
{
	return (const struct vff_ctl_node *)(uintptr_t)ino;
}

/**
 * vff_ctl_ino() - whether a node id is one of the control directory's
 * @ino: a node id from the kernel
 *
 * Return: true for .vmfaultfs and its files: their requests go to
 * vff_ctl_ops.
 */
bool vff_ctl_ino(fuse_ino_t ino)
{
	for (int i = 0; i < VFF_CTL_NR; i++)
		if (ino == vff_ctl_nodeid(&vff_ctl_nodes[i]))
			return true;
	return false;
}

static void vff_ctl_stat(const struct vff_ctl_node *node, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = node->st_ino;
	st->st_mode = node->mode;
	st->st_nlink = S_ISDIR(node->mode) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
}

/* LOOKUP of .vmfaultfs in the root, or of a file in .vmfaultfs. */
static void vff_ctl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct vff_ctl_node *node = NULL;
	struct fuse_entry_param e = {
		.attr_timeout = vff_timeout,
		.entry_timeout = vff_timeout,
	};
	uint64_t start = vff_now_ns();

	if (parent == FUSE_ROOT_ID && !strcmp(name, VFF_CTL_DIR_NAME)) {
		node = &vff_ctl_nodes[VFF_CTL_DIR];
	} else if (vff_ctl_node(parent) == &vff_ctl_nodes[VFF_CTL_DIR]) {
		for (int i = VFF_CTL_DIR + 1; i < VFF_CTL_NR; i++)
			if (!strcmp(name, vff_ctl_nodes[i].name))
				node = &vff_ctl_nodes[i];
	}
	vff_account(VFF_OP_LOOKUP, start, 0, node ? 0 : -ENOENT);
	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = vff_ctl_nodeid(node);
	vff_ctl_stat(node, &e.attr);
	fuse_reply_entry(req, &e);
}

static void vff_ctl_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void vff_ctl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct stat st;

	vff_ctl_stat(vff_ctl_node(ino), &st);
	vff_account(VFF_OP_GETATTR, start, 0, 0);
	fuse_reply_attr(req, &st, vff_timeout);
}

/* Only O_TRUNC's size change reaches a control file: nothing to do. */
static void vff_ctl_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
			    struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct stat st;
	int err = valid & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
			    FUSE_SET_ATTR_CTIME) ? -EPERM : 0;

	vff_ctl_stat(vff_ctl_node(ino), &st);
	vff_account(VFF_OP_SETATTR, start, 0, err);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, vff_timeout);
}

static void vff_ctl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct vff_ctl_node *node = vff_ctl_node(ino);
	uint64_t start = vff_now_ns();
	struct vff_ctl_file *cf = NULL;
	FILE *f = NULL;
	int err = 0;

	if (S_ISDIR(node->mode))
		err = -EISDIR;
	else if (!(cf = calloc(1, sizeof(*cf))) || !(f = open_memstream(&cf->text, &cf->len)))
		err = -ENOMEM;
	if (f) {
		node->render(f);
		if (fclose(f))
			err = -ENOMEM;
	}
	vff_account(VFF_OP_OPEN, start, 0, err);
	if (err) {
		if (cf)
			free(cf->text);
		free(cf);
		fuse_reply_err(req, -err);
		return;
	}
	fi->fh = (uintptr_t)cf;
	fi->direct_io = 1;	/* always fresh, never cached */
	if (fuse_reply_open(req, fi)) {
		free(cf->text);
		free(cf);
	}
}

static void vff_ctl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	const struct vff_ctl_file *cf = (struct vff_ctl_file *)(uintptr_t)fi->fh;

	if (off < 0)
		fuse_reply_err(req, EINVAL);
	else if ((size_t)off >= cf->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, cf->text + off, cf->len - off < size ? cf->len - off : size);
}

/*
 * A write is lines of "key value" or "key=value". Every line is checked
 * before any is acted on, so a bad write changes nothing and gets EINVAL.
 */
static void vff_ctl_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	const struct vff_ctl_node *node = vff_ctl_node(ino);
	int pass, err = 0;

	for (pass = 0; pass < 2 && !err; pass++) {
		char *text = strndup(buf, size), *line, *save = NULL;

		if (!text) {
			err = -ENOMEM;
			break;
		}
		for (line = strtok_r(text, "\n", &save); line && !err;
		     line = strtok_r(NULL, "\n", &save)) {
			char *key = line + strspn(line, " \t"), *value;

			if (!*key)
				continue;
			value = strpbrk(key, " \t=");
			if (value) {
				*value++ = '\0';
				value += strspn(value, " \t=");
				value[strcspn(value, " \t")] = '\0';
			}
			err = node->write(key, value, pass == 1);
		}
		free(text);
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void vff_ctl_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();

	vff_account(VFF_OP_FLUSH, start, 0, 0);
	fuse_reply_err(req, 0);
}

static void vff_ctl_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vff_ctl_file *cf = (struct vff_ctl_file *)(uintptr_t)fi->fh;

	free(cf->text);
	free(cf);
	fuse_reply_err(req, 0);
}

static void vff_ctl_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			  struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();

	vff_account(VFF_OP_FSYNC, start, 0, 0);
	fuse_reply_err(req, 0);
}

/* .vmfaultfs opens as a directory of nothing to free. */
static void vff_ctl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (!S_ISDIR(vff_ctl_node(ino)->mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

/* .vmfaultfs lists ".", ".." and its files; offsets are entry numbers. */
static void vff_ctl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	char buf[256];
	size_t used = 0;

	if (size > sizeof(buf))
		size = sizeof(buf);
	for (; off >= 0 && off < VFF_CTL_NR + 1; off++) {
		struct stat st = { 0 };
		const char *name;
		size_t n;

		if (off == 0) {
			vff_ctl_stat(&vff_ctl_nodes[VFF_CTL_DIR], &st);
			name = ".";
		} else if (off == 1) {
			st.st_ino = FUSE_ROOT_ID;
			st.st_mode = S_IFDIR;
			name = "..";
		} else {
			vff_ctl_stat(&vff_ctl_nodes[off - 1], &st);
			name = vff_ctl_nodes[off - 1].name;
		}
		n = fuse_add_direntry(req, buf + used, size - used, name, &st, off + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void vff_ctl_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/*
 * The control directory's operations. Those that would change its names
 * (create, mkdir, unlink, rename, ...) never get here: vmfaultfs.c answers
 * them with EPERM.
 */
const struct fuse_lowlevel_ops vff_ctl_ops = {
	.lookup		= vff_ctl_lookup,
	.forget		= vff_ctl_forget,
	.getattr	= vff_ctl_getattr,
	.setattr	= vff_ctl_setattr,
	.open		= vff_ctl_open,
	.read		= vff_ctl_read,
	.write		= vff_ctl_write,
	.flush		= vff_ctl_flush,
	.release	= vff_ctl_release,
	.fsync		= vff_ctl_fsync,
	.opendir	= vff_ctl_opendir,
	.readdir	= vff_ctl_readdir,
	.releasedir	= vff_ctl_releasedir,
};
