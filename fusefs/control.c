// SPDX-License-Identifier: GPL-2.0
/*
 * vmfaultfs: what makes it a controllable "disk". Latency and error
 * injection and the stall switch, applied to every READ and WRITE of a data
 * file (vff_data_begin), the request accounting (vff_account), and the two
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

struct vff_inject vff_inject = { .eio_after = -1 };
struct vff_op_stats vff_stats[VFF_OP_NR];
enum vff_cache vff_cache_mode = VFF_CACHE_PAGECACHE;
struct fuse_session *vff_session;

static pthread_mutex_t vff_stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vff_stall_cond = PTHREAD_COND_INITIALIZER;
static bool vff_stalled;		/* protected by vff_stall_lock */

/* The settings as the mount started (its options), for "reset". */
static struct {
	unsigned int read_delay_us, write_delay_us, jitter_us, eio_partial;
	uint64_t eio_offset, eio_len;
	int64_t eio_after;
	bool stalled;
} vff_at_mount;

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

void vff_account(enum vff_op op, uint64_t start_ns, uint64_t bytes, int err)
{
	struct vff_op_stats *s = &vff_stats[op];

	atomic_fetch_add(&s->count, 1);
	if (err)
		atomic_fetch_add(&s->errors, 1);
	atomic_fetch_add(&s->bytes, bytes);
	atomic_fetch_add(&s->ns, vff_now_ns() - start_ns);
}

static void vff_stats_reset(void)
{
	for (int i = 0; i < VFF_OP_NR; i++) {
		atomic_store(&vff_stats[i].count, 0);
		atomic_store(&vff_stats[i].errors, 0);
		atomic_store(&vff_stats[i].bytes, 0);
		atomic_store(&vff_stats[i].ns, 0);
	}
	atomic_store(&vff_inject.data_requests, 0);
}

/**
 * vff_ctl_mounted() - remember the settings as the mount starts them
 *
 * Called once the mount options are applied: "reset" in the ctl file goes
 * back to these.
 */
void vff_ctl_mounted(void)
{
	vff_at_mount.read_delay_us = atomic_load(&vff_inject.read_delay_us);
	vff_at_mount.write_delay_us = atomic_load(&vff_inject.write_delay_us);
	vff_at_mount.jitter_us = atomic_load(&vff_inject.jitter_us);
	vff_at_mount.eio_partial = atomic_load(&vff_inject.eio_partial);
	vff_at_mount.eio_offset = atomic_load(&vff_inject.eio_offset);
	vff_at_mount.eio_len = atomic_load(&vff_inject.eio_len);
	vff_at_mount.eio_after = atomic_load(&vff_inject.eio_after);
	pthread_mutex_lock(&vff_stall_lock);
	vff_at_mount.stalled = vff_stalled;
	pthread_mutex_unlock(&vff_stall_lock);
}

static void vff_ctl_reset(void)
{
	atomic_store(&vff_inject.read_delay_us, vff_at_mount.read_delay_us);
	atomic_store(&vff_inject.write_delay_us, vff_at_mount.write_delay_us);
	atomic_store(&vff_inject.jitter_us, vff_at_mount.jitter_us);
	atomic_store(&vff_inject.eio_partial, vff_at_mount.eio_partial);
	atomic_store(&vff_inject.eio_offset, vff_at_mount.eio_offset);
	atomic_store(&vff_inject.eio_len, vff_at_mount.eio_len);
	atomic_store(&vff_inject.eio_after, vff_at_mount.eio_after);
	vff_stats_reset();
	vff_stall(vff_at_mount.stalled);
}

void vff_stall(bool on)
{
	pthread_mutex_lock(&vff_stall_lock);
	vff_stalled = on;
	pthread_cond_broadcast(&vff_stall_cond);
	pthread_mutex_unlock(&vff_stall_lock);
}

/*
 * Hold a request while the daemon is stalled. A stalled daemon still honours
 * FUSE_INTERRUPT, as a real file system waiting on a dead disk should: the
 * kernel sends it when the waiting task gets a signal, so a stalled fault
 * stays killable. (To model a daemon that answers nothing, SIGSTOP it.)
 */
static int vff_stall_wait(fuse_req_t req)
{
	int err = 0;

	pthread_mutex_lock(&vff_stall_lock);
	while (vff_stalled && !err) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vff_stall_cond, &vff_stall_lock, &ts);
		if (fuse_req_interrupted(req))
			err = -EINTR;
		else if (vff_session && fuse_session_exited(vff_session))
			err = -ENOTCONN;	/* unmounted or aborted: let go */
	}
	pthread_mutex_unlock(&vff_stall_lock);
	return err;
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

static int vff_parse_u64(const char *value, uint64_t max, uint64_t *out)
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
static int vff_ctl_apply(const char *key, const char *value, bool apply)
{
	uint64_t v;

	if (!strcmp(key, "zero_stats") || !strcmp(key, "reset")) {
		if (value && *value)
			return -EINVAL;
		if (apply && key[0] == 'z')
			vff_stats_reset();
		else if (apply)
			vff_ctl_reset();
		return 0;
	}
	if (!strcmp(key, "eio_after") && value && !strcmp(value, "off")) {
		if (apply)
			atomic_store(&vff_inject.eio_after, -1);
		return 0;
	}
	if (vff_parse_u64(value, UINT64_MAX, &v))
		return -EINVAL;
	if (!strcmp(key, "eio_after")) {
		if (v > INT64_MAX)
			return -EINVAL;
		if (apply) {
			atomic_store(&vff_inject.data_requests, 0);
			atomic_store(&vff_inject.eio_after, (int64_t)v);
		}
	} else if (!strcmp(key, "eio_offset") || !strcmp(key, "eio_len")) {
		if (apply)
			atomic_store(key[4] == 'o' ? &vff_inject.eio_offset :
				     &vff_inject.eio_len, v);
	} else if (!strcmp(key, "stall")) {
		if (v > 1)
			return -EINVAL;
		if (apply)
			vff_stall(v);
	} else if (!strcmp(key, "eio_partial")) {
		if (v > 1)
			return -EINVAL;
		if (apply)
			atomic_store(&vff_inject.eio_partial, v);
	} else {
		atomic_uint *u;

		if (!strcmp(key, "read_delay_us"))
			u = &vff_inject.read_delay_us;
		else if (!strcmp(key, "write_delay_us"))
			u = &vff_inject.write_delay_us;
		else if (!strcmp(key, "jitter_us"))
			u = &vff_inject.jitter_us;
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
 * vff_ctl_set() - change one setting, from the command line or the ctl file
 * @key: setting name (see vff_ctl_render()), "zero_stats" or "reset"
 * @value: its new value as text; NULL for "zero_stats" and "reset"
 *
 * Return: 0, or -EINVAL for an unknown key or a bad value.
 */
int vff_ctl_set(const char *key, const char *value)
{
	return vff_ctl_apply(key, value, true);
}

int vff_ctl_stat(enum vff_kind kind, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_nlink = 1;
	switch (kind) {
	case VFF_CTL_DIR:
		st->st_ino = 0xffffff01;
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case VFF_CTL_STATS:
		st->st_ino = 0xffffff02;
		st->st_mode = S_IFREG | 0644;
		break;
	case VFF_CTL_CTL:
		st->st_ino = 0xffffff03;
		st->st_mode = S_IFREG | 0644;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

/**
 * vff_ctl_render() - the text of a control file, as of now
 * @kind: VFF_CTL_STATS or VFF_CTL_CTL
 * @len: (out) its length
 *
 * Return: a malloc()ed buffer, or NULL when out of memory.
 */
char *vff_ctl_render(enum vff_kind kind, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if (kind == VFF_CTL_STATS) {
		for (int i = 0; i < VFF_OP_NR; i++) {
			const struct vff_op_stats *s = &vff_stats[i];
			const char *n = vff_op_names[i];

			fprintf(f, "%s_requests %" PRIu64 "\n", n,
				(uint64_t)atomic_load(&s->count));
			fprintf(f, "%s_errors %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->errors));
			if (i == VFF_OP_READ || i == VFF_OP_WRITE)
				fprintf(f, "%s_bytes %" PRIu64 "\n", n,
					(uint64_t)atomic_load(&s->bytes));
			fprintf(f, "%s_ns %" PRIu64 "\n", n, (uint64_t)atomic_load(&s->ns));
		}
	} else {
		int64_t after = atomic_load(&vff_inject.eio_after);
		bool stalled;

		pthread_mutex_lock(&vff_stall_lock);
		stalled = vff_stalled;
		pthread_mutex_unlock(&vff_stall_lock);
		fprintf(f, "cache %s\n", vff_cache_name(vff_cache_mode));
		fprintf(f, "read_delay_us %u\n", atomic_load(&vff_inject.read_delay_us));
		fprintf(f, "write_delay_us %u\n", atomic_load(&vff_inject.write_delay_us));
		fprintf(f, "jitter_us %u\n", atomic_load(&vff_inject.jitter_us));
		fprintf(f, "eio_offset %" PRIu64 "\n", (uint64_t)atomic_load(&vff_inject.eio_offset));
		fprintf(f, "eio_len %" PRIu64 "\n", (uint64_t)atomic_load(&vff_inject.eio_len));
		fprintf(f, "eio_partial %u\n", atomic_load(&vff_inject.eio_partial));
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
 * vff_ctl_write() - apply what was written to a control file
 * @kind: VFF_CTL_STATS (accepts "reset") or VFF_CTL_CTL
 * @buf: the written bytes: lines of "key value" or "key=value"
 * @size: their number
 *
 * Every line is checked before any is applied, so a bad write changes
 * nothing.
 *
 * Return: 0, or -EINVAL (nothing applied).
 */
int vff_ctl_write(enum vff_kind kind, const char *buf, size_t size)
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
			if (kind == VFF_CTL_STATS && strcmp(key, "reset"))
				err = -EINVAL;
			else
				err = vff_ctl_apply(key, value, pass == 1);
		}
		free(text);
	}
	return err;
}
