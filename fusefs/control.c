// SPDX-License-Identifier: GPL-2.0
/*
 * vmfaultfs: what makes it a controllable "disk". Latency and error
 * injection and the stall switch, applied to every READ and WRITE of a data
 * file (vfs_data_begin), the request accounting (vfs_account), and the two
 * control files inside the mount:
 *
 *   .vmfaultfs/stats  "name value" lines (read_requests, read_bytes, ...);
 *                     writing "reset" zeroes them
 *   .vmfaultfs/ctl    the injection settings; write "key value" lines,
 *                     "zero_stats" (the counters only) or "reset" (every
 *                     setting as the mount started, counters zeroed)
 *
 * Settings and counters are atomics: a READ never takes a lock to be
 * accounted. Only the stall switch has a mutex, for its condition variable.
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

struct vfs_inject vfs_inject = { .eio_after = -1 };
struct vfs_op_stats vfs_stats[VFS_OP_NR];
enum vfs_cache vfs_cache_mode = VFS_CACHE_PAGECACHE;
struct fuse_session *vfs_session;

static pthread_mutex_t vfs_stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vfs_stall_cond = PTHREAD_COND_INITIALIZER;
static bool vfs_stalled;		/* protected by vfs_stall_lock */

/* The settings as the mount started (its options), for "reset". */
static struct {
	unsigned int read_delay_us, write_delay_us, jitter_us, eio_partial;
	uint64_t eio_offset, eio_len;
	int64_t eio_after;
	bool stalled;
} vfs_at_mount;

static const char *const vfs_op_names[VFS_OP_NR] = {
	[VFS_OP_READ] = "read",
	[VFS_OP_WRITE] = "write",
	[VFS_OP_FSYNC] = "fsync",
	[VFS_OP_FLUSH] = "flush",
	[VFS_OP_OPEN] = "open",
	[VFS_OP_LOOKUP] = "lookup",
	[VFS_OP_GETATTR] = "getattr",
	[VFS_OP_SETATTR] = "setattr",
};

static const char *const vfs_cache_names[] = {
	[VFS_CACHE_PAGECACHE] = "pagecache",
	[VFS_CACHE_DIRECT] = "direct",
	[VFS_CACHE_WRITEBACK] = "writeback",
};

const char *vfs_cache_name(enum vfs_cache mode)
{
	return vfs_cache_names[mode];
}

int vfs_cache_parse(const char *name, enum vfs_cache *mode)
{
	for (size_t i = 0; i < sizeof(vfs_cache_names) / sizeof(vfs_cache_names[0]); i++) {
		if (!strcmp(name, vfs_cache_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t vfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void vfs_account(enum vfs_op op, uint64_t start_ns, uint64_t bytes, int err)
{
	struct vfs_op_stats *s = &vfs_stats[op];

	atomic_fetch_add(&s->count, 1);
	if (err)
		atomic_fetch_add(&s->errors, 1);
	atomic_fetch_add(&s->bytes, bytes);
	atomic_fetch_add(&s->ns, vfs_now_ns() - start_ns);
}

static void vfs_stats_reset(void)
{
	for (int i = 0; i < VFS_OP_NR; i++) {
		atomic_store(&vfs_stats[i].count, 0);
		atomic_store(&vfs_stats[i].errors, 0);
		atomic_store(&vfs_stats[i].bytes, 0);
		atomic_store(&vfs_stats[i].ns, 0);
	}
	atomic_store(&vfs_inject.data_requests, 0);
}

/**
 * vfs_ctl_mounted() - remember the settings as the mount starts them
 *
 * Called once the mount options are applied: "reset" in the ctl file goes
 * back to these.
 */
void vfs_ctl_mounted(void)
{
	vfs_at_mount.read_delay_us = atomic_load(&vfs_inject.read_delay_us);
	vfs_at_mount.write_delay_us = atomic_load(&vfs_inject.write_delay_us);
	vfs_at_mount.jitter_us = atomic_load(&vfs_inject.jitter_us);
	vfs_at_mount.eio_partial = atomic_load(&vfs_inject.eio_partial);
	vfs_at_mount.eio_offset = atomic_load(&vfs_inject.eio_offset);
	vfs_at_mount.eio_len = atomic_load(&vfs_inject.eio_len);
	vfs_at_mount.eio_after = atomic_load(&vfs_inject.eio_after);
	pthread_mutex_lock(&vfs_stall_lock);
	vfs_at_mount.stalled = vfs_stalled;
	pthread_mutex_unlock(&vfs_stall_lock);
}

static void vfs_ctl_reset(void)
{
	atomic_store(&vfs_inject.read_delay_us, vfs_at_mount.read_delay_us);
	atomic_store(&vfs_inject.write_delay_us, vfs_at_mount.write_delay_us);
	atomic_store(&vfs_inject.jitter_us, vfs_at_mount.jitter_us);
	atomic_store(&vfs_inject.eio_partial, vfs_at_mount.eio_partial);
	atomic_store(&vfs_inject.eio_offset, vfs_at_mount.eio_offset);
	atomic_store(&vfs_inject.eio_len, vfs_at_mount.eio_len);
	atomic_store(&vfs_inject.eio_after, vfs_at_mount.eio_after);
	vfs_stats_reset();
	vfs_stall(vfs_at_mount.stalled);
}

void vfs_stall(bool on)
{
	pthread_mutex_lock(&vfs_stall_lock);
	vfs_stalled = on;
	pthread_cond_broadcast(&vfs_stall_cond);
	pthread_mutex_unlock(&vfs_stall_lock);
}

/*
 * Hold a request while the daemon is stalled. A stalled daemon still honours
 * FUSE_INTERRUPT, as a real file system waiting on a dead disk should: the
 * kernel sends it when the waiting task gets a signal, so a stalled fault
 * stays killable. (To model a daemon that answers nothing, SIGSTOP it.)
 */
static int vfs_stall_wait(fuse_req_t req)
{
	int err = 0;

	pthread_mutex_lock(&vfs_stall_lock);
	while (vfs_stalled && !err) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vfs_stall_cond, &vfs_stall_lock, &ts);
		if (fuse_req_interrupted(req))
			err = -EINTR;
		else if (vfs_session && fuse_session_exited(vfs_session))
			err = -ENOTCONN;	/* unmounted or aborted: let go */
	}
	pthread_mutex_unlock(&vfs_stall_lock);
	return err;
}

/* Sleep for the injected latency, in slices, honouring interrupts. */
static int vfs_delay(fuse_req_t req, unsigned int delay_us)
{
	unsigned int jitter = atomic_load(&vfs_inject.jitter_us);
	uint64_t left;

	if (jitter) {
		static _Thread_local unsigned int seed;

		if (!seed)
			seed = (unsigned int)vfs_now_ns() ^ (unsigned int)pthread_self();
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
 * vfs_data_begin() - apply the injection to one READ or WRITE request
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
int vfs_data_begin(fuse_req_t req, bool write, uint64_t off, size_t *size)
{
	int64_t after = atomic_load(&vfs_inject.eio_after);
	uint64_t nth = atomic_fetch_add(&vfs_inject.data_requests, 1) + 1;
	int err;

	err = vfs_stall_wait(req);
	if (err)
		return err;
	err = vfs_delay(req, atomic_load(write ? &vfs_inject.write_delay_us :
					   &vfs_inject.read_delay_us));
	if (err)
		return err;
	if (after >= 0 && nth > (uint64_t)after)
		return -EIO;
	if (!write) {
		uint64_t eoff = atomic_load(&vfs_inject.eio_offset);
		uint64_t elen = atomic_load(&vfs_inject.eio_len);

		if (elen && off < eoff + elen && eoff < off + *size) {
			if (off >= eoff || !atomic_load(&vfs_inject.eio_partial))
				return -EIO;
			*size = eoff - off;
		}
	}
	return 0;
}

static int vfs_parse_u64(const char *value, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!value || !*value || *value == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Check one setting and, if @apply, change it. Checking first lets a
 * multi-line write to the ctl file be all or nothing.
 */
static int vfs_ctl_apply(const char *key, const char *value, bool apply)
{
	uint64_t v;

	if (!strcmp(key, "zero_stats") || !strcmp(key, "reset")) {
		if (value && *value)
			return -EINVAL;
		if (apply && key[0] == 'z')
			vfs_stats_reset();
		else if (apply)
			vfs_ctl_reset();
		return 0;
	}
	if (!strcmp(key, "eio_after") && value && !strcmp(value, "off")) {
		if (apply)
			atomic_store(&vfs_inject.eio_after, -1);
		return 0;
	}
	if (vfs_parse_u64(value, UINT64_MAX, &v))
		return -EINVAL;
	if (!strcmp(key, "eio_after")) {
		if (v > INT64_MAX)
			return -EINVAL;
		if (apply) {
			atomic_store(&vfs_inject.data_requests, 0);
			atomic_store(&vfs_inject.eio_after, (int64_t)v);
		}
	} else if (!strcmp(key, "eio_offset") || !strcmp(key, "eio_len")) {
		if (apply)
			atomic_store(key[4] == 'o' ? &vfs_inject.eio_offset :
				     &vfs_inject.eio_len, v);
	} else if (!strcmp(key, "stall")) {
		if (v > 1)
			return -EINVAL;
		if (apply)
			vfs_stall(v);
	} else if (!strcmp(key, "eio_partial")) {
		if (v > 1)
			return -EINVAL;
		if (apply)
			atomic_store(&vfs_inject.eio_partial, v);
	} else {
		atomic_uint *u;

		if (!strcmp(key, "read_delay_us"))
			u = &vfs_inject.read_delay_us;
		else if (!strcmp(key, "write_delay_us"))
			u = &vfs_inject.write_delay_us;
		else if (!strcmp(key, "jitter_us"))
			u = &vfs_inject.jitter_us;
		else
			return -EINVAL;
		if (v > UINT32_MAX)
			return -EINVAL;
		if (apply)
			atomic_store(u, (unsigned int)v);
	}
	return 0;
}

/**
 * vfs_ctl_set() - change one setting, from the command line or the ctl file
 * @key: setting name (see vfs_ctl_render()), "zero_stats" or "reset"
 * @value: its new value as text; NULL for "zero_stats" and "reset"
 *
 * Return: 0, or -EINVAL for an unknown key or a bad value.
 */
int vfs_ctl_set(const char *key, const char *value)
{
	return vfs_ctl_apply(key, value, true);
}

int vfs_ctl_stat(enum vfs_kind kind, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_nlink = 1;
	switch (kind) {
	case VFS_CTL_DIR:
		st->st_ino = 0xffffff01;
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case VFS_CTL_STATS:
		st->st_ino = 0xffffff02;
		st->st_mode = S_IFREG | 0644;
		break;
	case VFS_CTL_CTL:
		st->st_ino = 0xffffff03;
		st->st_mode = S_IFREG | 0644;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

/**
 * vfs_ctl_render() - the text of a control file, as of now
 * @kind: VFS_CTL_STATS or VFS_CTL_CTL
 * @len: (out) its length
 *
 * Return: a malloc()ed buffer, or NULL when out of memory.
 */
char *vfs_ctl_render(enum vfs_kind kind, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if (kind == VFS_CTL_STATS) {
		for (int i = 0; i < VFS_OP_NR; i++) {
			const struct vfs_op_stats *s = &vfs_stats[i];
			const char *n = vfs_op_names[i];

			fprintf(f, "%s_requests %" PRIu64 "\n", n,
				(uint64_t)atomic_load(&s->count));
			fprintf(f, "%s_errors %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->errors));
			if (i == VFS_OP_READ || i == VFS_OP_WRITE)
				fprintf(f, "%s_bytes %" PRIu64 "\n", n,
					(uint64_t)atomic_load(&s->bytes));
			fprintf(f, "%s_ns %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->ns));
		}
	} else {
		int64_t after = atomic_load(&vfs_inject.eio_after);
		bool stalled;

		pthread_mutex_lock(&vfs_stall_lock);
		stalled = vfs_stalled;
		pthread_mutex_unlock(&vfs_stall_lock);
		fprintf(f, "cache %s\n", vfs_cache_name(vfs_cache_mode));
		fprintf(f, "read_delay_us %u\n", atomic_load(&vfs_inject.read_delay_us));
		fprintf(f, "write_delay_us %u\n", atomic_load(&vfs_inject.write_delay_us));
		fprintf(f, "jitter_us %u\n", atomic_load(&vfs_inject.jitter_us));
		fprintf(f, "eio_offset %" PRIu64 "\n", (uint64_t)atomic_load(&vfs_inject.eio_offset));
		fprintf(f, "eio_len %" PRIu64 "\n", (uint64_t)atomic_load(&vfs_inject.eio_len));
		fprintf(f, "eio_partial %u\n", atomic_load(&vfs_inject.eio_partial));
		if (after < 0)
			fprintf(f, "eio_after off\n");
		else
			fprintf(f, "eio_after %" PRId64 "\n", after);
		fprintf(f, "stall %d\n", stalled);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/**
 * vfs_ctl_write() - apply what was written to a control file
 * @kind: VFS_CTL_STATS (accepts "reset") or VFS_CTL_CTL
 * @buf: the written bytes: lines of "key value" or "key=value"
 * @size: their number
 *
 * Every line is checked before any is applied, so a bad write changes
 * nothing.
 *
 * Return: 0, or -EINVAL (nothing applied).
 */
int vfs_ctl_write(enum vfs_kind kind, const char *buf, size_t size)
{
	int pass, err = 0;

	for (pass = 0; pass < 2 && !err; pass++) {
		char *text = strndup(buf, size), *line, *save = NULL;

		if (!text)
			return -ENOMEM;
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
			if (kind == VFS_CTL_STATS && strcmp(key, "reset"))
				err = -EINVAL;
			else
				err = vfs_ctl_apply(key, value, pass == 1);
		}
		free(text);
	}
	return err;
}
