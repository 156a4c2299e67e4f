// SPDX-License-Identifier: GPL-2.0
/*
 * vmfaultfs: a FUSE file system that mirrors a source directory and lets a
 * test control it like a disk: latency per READ and WRITE, injected EIO, a
 * stall switch, and exact request accounting (control.c).
 *
 *   vmfaultfs -o source=DIR[,options] MOUNTPOINT
 *
 * It uses libfuse's low-level API. Each kernel request is one call here and
 * gets exactly one reply, so "this fault caused one READ of 4096 bytes" is a
 * fact the daemon can count. The high-level API would resolve paths, add
 * its own path locks, and hide the inode lifetime (LOOKUP/FORGET) and the
 * per-open flags (FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE) behind a compatibility
 * layer; here they are explicit.
 *
 * Each inode is an O_PATH descriptor on the source object, keyed by
 * (st_dev, st_ino); the node id is the address of that struct, and lives
 * until the kernel forgets it. Operations are a worker that returns 0 or a
 * negative errno, and a wrapper that replies exactly once. Faults must
 * reach the daemon, so there is never a passthrough mode. The control
 * directory (.vmfaultfs) has operations of its own, in control.c: vff_ops
 * at the end sends each request to one table or the other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "vmfaultfs.h"

#if defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define VFF_PROBE(name, a, b, c, d, e) DTRACE_PROBE5(vmfaultfs, name, a, b, c, d, e)
#endif
#endif
#ifndef VFF_PROBE
/* No probes: the arguments, all computed for the accounting anyway, unused. */
#define VFF_PROBE(name, a, b, c, d, e) \
	do { (void)(a); (void)(b); (void)(c); (void)(d); (void)(e); } while (0)
#endif

struct vff_inode {
	int fd;			/* O_PATH on the source object */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;	/* protected by vff_inodes_lock */
	struct vff_inode *next;	/* hash chain, protected by vff_inodes_lock */
};

struct vff_dir {
	DIR *dp;
	off_t offset;
	struct dirent *entry;
};

#define VFF_HASH_SIZE 4096

static struct vff_inode vff_root = { .nlookup = 2 };
static size_t vff_page_size;
static atomic_bool vff_splice;	/* FUSE_CAP_SPLICE_WRITE was agreed (vff_init()) */
static struct vff_inode *vff_inodes[VFF_HASH_SIZE];	/* protected by vff_inodes_lock */
static pthread_mutex_t vff_inodes_lock = PTHREAD_MUTEX_INITIALIZER;
double vff_timeout = 1.0;	/* entry and attribute cache time */

static struct vff_inode *vff_inode(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &vff_root;
	return (struct vff_inode *)(uintptr_t)ino;
}

static fuse_ino_t vff_nodeid(struct vff_inode *inode)
{
	return inode == &vff_root ? FUSE_ROOT_ID : (uintptr_t)inode;
}

static unsigned int vff_hash(dev_t dev, ino_t ino)
{
	return (unsigned int)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) % VFF_HASH_SIZE;
}

/* "/proc/self/fd/N": how to reopen or chmod an O_PATH descriptor. */
static void vff_fd_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

static int vff_errno(int ret)
{
	return ret < 0 ? -errno : ret;
}

static void vff_reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, -err);
}

/*
 * Find or create the inode of @name in @parent and take one lookup
 * reference on it (the kernel gives it back with FORGET).
 */
static int vff_do_lookup(struct vff_inode *parent, const char *name,
			 struct fuse_entry_param *e)
{
	struct vff_inode *inode, **slot;
	int fd;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = vff_timeout;
	e->entry_timeout = vff_timeout;
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}

	pthread_mutex_lock(&vff_inodes_lock);
	slot = &vff_inodes[vff_hash(e->attr.st_dev, e->attr.st_ino)];
	for (inode = *slot; inode; inode = inode->next)
		if (inode->dev == e->attr.st_dev && inode->ino == e->attr.st_ino)
			break;
	if (inode) {
		inode->nlookup++;
		close(fd);
	} else {
		inode = calloc(1, sizeof(*inode));
		if (!inode) {
			pthread_mutex_unlock(&vff_inodes_lock);
			close(fd);
			return -ENOMEM;
		}
		inode->fd = fd;
		inode->dev = e->attr.st_dev;
		inode->ino = e->attr.st_ino;
		inode->nlookup = 1;
		inode->next = *slot;
		*slot = inode;
	}
	pthread_mutex_unlock(&vff_inodes_lock);
	e->ino = vff_nodeid(inode);
	return 0;
}

static void vff_forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct vff_inode *inode = vff_inode(ino), **p;

	if (inode == &vff_root)
		return;
	pthread_mutex_lock(&vff_inodes_lock);
	inode->nlookup -= nlookup < inode->nlookup ? nlookup : inode->nlookup;
	if (!inode->nlookup) {
		for (p = &vff_inodes[vff_hash(inode->dev, inode->ino)]; *p; p = &(*p)->next) {
			if (*p == inode) {
				*p = inode->next;
				break;
			}
		}
		close(inode->fd);
		free(inode);
	}
	pthread_mutex_unlock(&vff_inodes_lock);
}

/*
 * This worker thread's pipe for vff_read_to_pipe(), or NULL. It is empty
 * between requests: one whose reply failed may have left data in it, and
 * is closed (vff_pipe_drop()).
 */
struct vff_pipe {
	int fd[2];
	size_t size;		/* its capacity in bytes */
};

static pthread_key_t vff_pipe_key;	/* made at INIT when splicing is possible */

static void vff_pipe_free(void *arg)
{
	struct vff_pipe *p = arg;

	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

static void vff_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fuse_conn_info_opts *conn_opts = userdata;
	bool pipe_key;

	vff_proto_major = conn->proto_major;
	vff_proto_minor = conn->proto_minor;

	/*
	 * No asynchronous direct I/O unless -o async_dio asks for it: with it,
	 * fuse_direct_IO() sends O_DIRECT reads and writes as background
	 * requests and waits for them uninterruptibly, so a fault that reads
	 * this disk with O_DIRECT (vmfault's file mode) could not be killed
	 * while the daemon stalls. Synchronous requests are interrupted.
	 */
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
	/*
	 * READs of two pages or more go out by splice (vff_read_to_pipe()),
	 * through a pipe of each worker thread's own; -o no_splice_write,
	 * applied next, sends every byte through memory.
	 */
	pipe_key = !pthread_key_create(&vff_pipe_key, vff_pipe_free);
	if (pipe_key && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	fuse_apply_conn_info_opts(conn_opts, conn);
	atomic_store(&vff_splice, pipe_key && (conn->want & FUSE_CAP_SPLICE_WRITE));
	if (vff_cache_mode == VFF_CACHE_WRITEBACK) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			fprintf(stderr, "vmfaultfs: this kernel has no writeback cache; using the page cache\n");
	} else {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	}
	/* Flock and POSIX locks stay local to the kernel. */
	conn->want &= ~(FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_POSIX_LOCKS);
}

static void vff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t start = vff_now_ns();
	struct fuse_entry_param e;
	int err = vff_do_lookup(vff_inode(parent), name, &e);

	vff_account(VFF_OP_LOOKUP, start, 0, err);
	if (err)
		vff_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void vff_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	vff_forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static int vff_do_getattr(struct vff_inode *inode, struct stat *st)
{
	return vff_errno(fstatat(inode->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

static void vff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct stat st;
	int err = vff_do_getattr(vff_inode(ino), &st);

	vff_account(VFF_OP_GETATTR, start, 0, err);
	if (err)
		vff_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, vff_timeout);
}

static int vff_do_setattr(struct vff_inode *inode, struct stat *attr, int valid,
			  struct fuse_file_info *fi)
{
	char path[64];
	int ret;

	vff_fd_path(path, sizeof(path), inode->fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		ret = fi ? fchmod(fi->fh, attr->st_mode) : chmod(path, attr->st_mode);
		if (ret < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(inode->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		ret = fi ? ftruncate(fi->fh, attr->st_size) : truncate(path, attr->st_size);
		if (ret < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {
			{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
		};

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		ret = fi ? futimens(fi->fh, tv) : utimensat(AT_FDCWD, path, tv, 0);
		if (ret < 0)
			return -errno;
	}
	return 0;
}

static void vff_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
			struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct vff_inode *inode = vff_inode(ino);
	struct stat st;
	int err = vff_do_setattr(inode, attr, valid, fi);

	if (!err)
		err = vff_do_getattr(inode, &st);
	vff_account(VFF_OP_SETATTR, start, 0, err);
	if (err)
		vff_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, vff_timeout);
}

static void vff_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(vff_inode(ino)->fd, "", buf, sizeof(buf));

	if (n < 0)
		fuse_reply_err(req, errno);
	else if (n == sizeof(buf))
		fuse_reply_err(req, ENAMETOOLONG);
	else {
		buf[n] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/* After a create-like call succeeded in @parent, reply with the new entry. */
static void vff_reply_new_entry(fuse_req_t req, struct vff_inode *parent, const char *name,
				int ret)
{
	struct fuse_entry_param e;
	int err = ret < 0 ? -errno : vff_do_lookup(parent, name, &e);

	if (err)
		vff_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

/*
 * Give a new entry its creator as owner, as a local file system does, and
 * pass @ret through: a daemon that runs as root (to mount with allow_other
 * for every user) would leave whatever it creates to root. The owner is the
 * caller's fsuid; the group its fsgid, or in a set-group-ID directory the
 * directory's group, which the entry already has. chown() clears the set-ID
 * bits of a file, so a mode that asked for them is applied again. If the
 * entry cannot be given away, it is removed and the error returned.
 */
static int vff_own(fuse_req_t req, struct vff_inode *dir, const char *name, mode_t mode, int ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t gid = ctx->gid;
	struct stat st;
	int err;

	if (ret < 0 || geteuid() != 0)
		return ret;
	if (fstat(dir->fd, &st))
		goto undo;
	if (st.st_mode & S_ISGID)
		gid = (gid_t)-1;
	if (fchownat(dir->fd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW))
		goto undo;
	if ((mode & (S_ISUID | S_ISGID)) && !S_ISLNK(mode) &&
	    fchmodat(dir->fd, name, mode & 07777, 0))
		goto undo;
	return ret;
undo:
	err = errno;
	unlinkat(dir->fd, name, S_ISDIR(mode) ? AT_REMOVEDIR : 0);
	errno = err;
	return -1;
}

static void vff_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      dev_t rdev)
{
	struct vff_inode *dir = vff_inode(parent);

	vff_reply_new_entry(req, dir, name,
			    vff_own(req, dir, name, mode, mknodat(dir->fd, name, mode, rdev)));
}

static void vff_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct vff_inode *dir = vff_inode(parent);

	vff_reply_new_entry(req, dir, name,
			    vff_own(req, dir, name, S_IFDIR | mode, mkdirat(dir->fd, name, mode)));
}

static void vff_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct vff_inode *dir = vff_inode(parent);

	vff_reply_new_entry(req, dir, name,
			    vff_own(req, dir, name, S_IFLNK, symlinkat(link, dir->fd, name)));
}

static void vff_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct vff_inode *inode = vff_inode(ino), *dir = vff_inode(parent);
	char path[64];

	vff_fd_path(path, sizeof(path), inode->fd);
	vff_reply_new_entry(req, dir, name,
			    linkat(AT_FDCWD, path, dir->fd, name, AT_SYMLINK_FOLLOW));
}

static void vff_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vff_inode *dir = vff_inode(parent);

	fuse_reply_err(req, -vff_errno(unlinkat(dir->fd, name, 0)));
}

static void vff_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vff_inode *dir = vff_inode(parent);

	fuse_reply_err(req, -vff_errno(unlinkat(dir->fd, name, AT_REMOVEDIR)));
}

static void vff_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct vff_inode *dir = vff_inode(parent), *newdir = vff_inode(newparent);

	fuse_reply_err(req, -vff_errno(renameat2(dir->fd, name, newdir->fd, newname, flags)));
}

/* Per-open cache behaviour: the whole point of the cache= option. */
static void vff_set_open_flags(struct fuse_file_info *fi)
{
	fi->direct_io = vff_cache_mode == VFF_CACHE_DIRECT;
	fi->keep_cache = vff_cache_mode != VFF_CACHE_DIRECT;
}

/*
 * With the writeback cache the kernel reads around writes and does appends
 * itself, so an O_WRONLY open must be readable and O_APPEND is dropped.
 */
/*
 * The flags the daemon opens a source file with. O_DIRECT on the mount
 * is the kernel's business (no FUSE page cache for that open); the
 * daemon's own reads of its source need not be direct, and a source on a
 * file system without O_DIRECT (tmpfs before 6.6, overlayfs over it)
 * would refuse the open.
 */
static int vff_open_flags(int flags)
{
	if (vff_cache_mode == VFF_CACHE_WRITEBACK) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags & ~(O_NOFOLLOW | O_DIRECT);
}

static void vff_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct vff_inode *dir = vff_inode(parent);
	struct fuse_entry_param e;
	int fd, err;

	/* Only a file this call made gets a new owner, not one made meanwhile. */
	fd = openat(dir->fd, name, vff_open_flags(fi->flags) | O_CREAT | O_EXCL, mode);
	if (fd >= 0 && vff_own(req, dir, name, S_IFREG | mode, 0) < 0) {
		err = errno;
		close(fd);
		errno = err;
		fd = -1;
	} else if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
		fd = openat(dir->fd, name, vff_open_flags(fi->flags));
	}
	err = fd < 0 ? -errno : vff_do_lookup(dir, name, &e);
	vff_account(VFF_OP_OPEN, start, 0, err);
	if (err) {
		if (fd >= 0)
			close(fd);
		vff_reply_err(req, err);
		return;
	}
	fi->fh = fd;
	vff_set_open_flags(fi);
	if (fuse_reply_create(req, &e, fi)) {
		close(fd);
		vff_forget_one(e.ino, 1);
	}
}

static void vff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct vff_inode *inode = vff_inode(ino);
	char path[64];
	int fd, err = 0;

	vff_fd_path(path, sizeof(path), inode->fd);
	fd = open(path, vff_open_flags(fi->flags));
	if (fd < 0) {
		err = -errno;
	} else {
		fi->fh = fd;
		vff_set_open_flags(fi);
	}
	vff_account(VFF_OP_OPEN, start, 0, err);
	if (err)
		vff_reply_err(req, err);
	else if (fuse_reply_open(req, fi))
		close(fi->fh);
}

static void vff_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	close(fi->fh);
	fuse_reply_err(req, 0);
}

static void vff_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	/* close() of a duplicate reports the errors a close would. */
	int err = vff_errno(close(dup(fi->fh)));

	vff_account(VFF_OP_FLUSH, start, 0, err);
	fuse_reply_err(req, -err);
}

static void vff_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	int err = vff_errno(datasync ? fdatasync(fi->fh) : fsync(fi->fh));

	vff_account(VFF_OP_FSYNC, start, 0, err);
	fuse_reply_err(req, -err);
}

static void vff_pipe_drop(struct vff_pipe *p)
{
	pthread_setspecific(vff_pipe_key, NULL);
	vff_pipe_free(p);
}

/* This thread's pipe, grown to take @size bytes; NULL if it cannot be had. */
static struct vff_pipe *vff_pipe_get(size_t size)
{
	struct vff_pipe *p;
	int ret;

	p = pthread_getspecific(vff_pipe_key);
	if (!p) {
		p = malloc(sizeof(*p));
		if (!p)
			return NULL;
		/* Non-blocking: libfuse reads it back after a short splice. */
		if (pipe2(p->fd, O_CLOEXEC | O_NONBLOCK)) {
			free(p);
			return NULL;
		}
		ret = fcntl(p->fd[0], F_GETPIPE_SZ);
		p->size = ret > 0 ? (size_t)ret : 0;
		if (pthread_setspecific(vff_pipe_key, p)) {
			vff_pipe_free(p);
			return NULL;
		}
	}
	/* An unaligned READ spans one page more than its length. */
	size += vff_page_size;
	if (p->size < size) {
		ret = fcntl(p->fd[0], F_SETPIPE_SZ, size);
		if (ret < 0)
			return NULL;
		p->size = ret;
	}
	return p;
}

/*
 * A READ of two pages or more is answered by splice: the source's pages go
 * into this thread's pipe by reference, and from there, behind the reply's
 * header, to /dev/fuse, where the kernel copies them once into the
 * request's pages (libfuse's fuse_reply_data(), vff_reply_pipe()). pread()
 * into a buffer and fuse_reply_buf() copy every byte twice. The splice into
 * our own pipe first gives the exact count and error that the accounting
 * needs, as pread() does. A shorter READ is not worth the splices' system
 * calls (it is libfuse's limit too).
 *
 * Return: false if this READ goes by pread() (too short, splicing off, no
 * pipe, a source without splice_read); else true, with *@n the bytes
 * spliced (fewer at end of file) or the source's negative errno, and
 * *@pipe the pipe that holds them.
 */
static bool vff_read_to_pipe(int fd, size_t size, off_t off, struct vff_pipe **pipe,
			     ssize_t *n)
{
	struct vff_pipe *p;
	loff_t pos = off;
	size_t done = 0;
	ssize_t ret;

	if (size < 2 * vff_page_size || !atomic_load(&vff_splice))
		return false;
	p = vff_pipe_get(size);
	if (!p)
		return false;
	while (done < size) {
		ret = splice(fd, &pos, p->fd[1], NULL, size - done, SPLICE_F_NONBLOCK);
		if (ret > 0) {
			done += ret;
			continue;
		}
		if (ret == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL || errno == EAGAIN) {
			/* No splice_read, or a full pipe: this READ goes by pread(). */
			if (done)
				vff_pipe_drop(p);
			return false;
		}
		if (!done) {
			*n = -errno;
			return true;
		}
		break;		/* what was read before the error, as pread() */
	}
	*pipe = p;
	*n = done;
	return true;
}

/* Reply with the @n bytes in @p, leaving the pipe empty or closing it. */
static void vff_reply_pipe(fuse_req_t req, struct vff_pipe *p, size_t n)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
	int left = 0;

	bv.buf[0].flags = FUSE_BUF_IS_FD;
	bv.buf[0].fd = p->fd[0];
	/*
	 * libfuse answers some failures with an error reply and returns 0,
	 * and may leave our pipe unread: never let the next READ send what
	 * is left.
	 */
	if (fuse_reply_data(req, &bv, 0) || ioctl(p->fd[0], FIONREAD, &left) || left)
		vff_pipe_drop(p);
}

static void vff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns();
	struct vff_pipe *pipe = NULL;
	char *buf = NULL;
	bool hold = false;
	uint64_t ns;
	ssize_t n;

	n = vff_data_begin(req, false, off, &size);
	if (!n)
		hold = vff_read_hold_claim();
	if (!n && (hold || !vff_read_to_pipe(fi->fh, size, off, &pipe, &n))) {
		buf = malloc(size ? size : 1);
		if (!buf) {
			n = -ENOMEM;
		} else {
			n = pread(fi->fh, buf, size, off);
			if (n < 0)
				n = -errno;
		}
	}
	/* "hold_reads": the data is taken; the reply waits for "release_reads". */
	if (hold && n >= 0) {
		int err = vff_read_hold(req);

		if (err)
			n = err;
	}
	ns = vff_account(VFF_OP_READ, start, n < 0 ? 0 : n, n < 0 ? n : 0);
	if (pipe && n > 0)
		atomic_fetch_add(&vff_read_spliced, 1);
	VFF_PROBE(read, (uint64_t)ino, (int64_t)off, (uint64_t)size, (int64_t)n, ns);
	if (n < 0)
		vff_reply_err(req, n);
	else if (pipe && n > 0)
		vff_reply_pipe(req, pipe, n);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void vff_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	uint64_t start = vff_now_ns(), ns;
	size_t len = 0;
	ssize_t n;
	int err;

	err = vff_data_begin(req, true, off, &size);
	if (!err) {
		n = pwrite(fi->fh, buf, size, off);
		if (n < 0)
			err = -errno;
		else
			len = n;
	}
	ns = vff_account(VFF_OP_WRITE, start, len, err);
	VFF_PROBE(write, (uint64_t)ino, (int64_t)off, (uint64_t)size,
		  (int64_t)(err ? err : (int64_t)len), ns);
	if (err)
		vff_reply_err(req, err);
	else
		fuse_reply_write(req, len);
}

static void vff_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vff_inode *inode = vff_inode(ino);
	struct vff_dir *d;
	int fd;

	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = openat(inode->fd, ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || !(d->dp = fdopendir(fd))) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
}

static void vff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct vff_dir *d = (struct vff_dir *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	p = buf;
	for (;;) {
		struct stat st = { 0 };
		size_t entsize;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno && rem == size) {
					int err = errno;

					free(buf);
					fuse_reply_err(req, err);
					return;
				}
				break;
			}
		}
		st.st_ino = d->entry->d_ino;
		st.st_mode = d->entry->d_type << 12;
		entsize = fuse_add_direntry(req, p, rem, d->entry->d_name, &st,
					    d->entry->d_off);
		if (entsize > rem)
			break;
		p += entsize;
		rem -= entsize;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void vff_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vff_dir *d = (struct vff_dir *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void vff_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(vff_root.fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void vff_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			  off_t length, struct fuse_file_info *fi)
{
	fuse_reply_err(req, -vff_errno(fallocate(fi->fh, mode, offset, length)));
}

/*
 * The source tree's operations: the data path. INIT, FORGET_MULTI (whose
 * batch may mix both tables' nodes) and STATFS concern the whole mount:
 * vff_ops below has them.
 */
static const struct fuse_lowlevel_ops vff_data_ops = {
	.lookup		= vff_lookup,
	.forget		= vff_forget,
	.getattr	= vff_getattr,
	.setattr	= vff_setattr,
	.readlink	= vff_readlink,
	.mknod		= vff_mknod,
	.mkdir		= vff_mkdir,
	.symlink	= vff_symlink,
	.link		= vff_link,
	.unlink		= vff_unlink,
	.rmdir		= vff_rmdir,
	.rename		= vff_rename,
	.create		= vff_create,
	.open		= vff_open,
	.read		= vff_read,
	.write		= vff_write,
	.flush		= vff_flush,
	.release	= vff_release,
	.fsync		= vff_fsync,
	.opendir	= vff_opendir,
	.readdir	= vff_readdir,
	.releasedir	= vff_releasedir,
	.fallocate	= vff_fallocate,
};

/*
 * Every request goes to one of two operation tables, here and only here:
 * the control directory's (control.c) or the source tree's. Requests that
 * would change the control directory's names get EPERM.
 */
static const struct fuse_lowlevel_ops *vff_ops_of(fuse_ino_t ino)
{
	return vff_ctl_ino(ino) ? &vff_ctl_ops : &vff_data_ops;
}

static void vff_d_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent == FUSE_ROOT_ID && !strcmp(name, VFF_CTL_DIR_NAME))
		vff_ctl_ops.lookup(req, parent, name);
	else
		vff_ops_of(parent)->lookup(req, parent, name);
}

static void vff_d_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	vff_ops_of(ino)->forget(req, ino, nlookup);
}

static void vff_d_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		if (!vff_ctl_ino(forgets[i].ino))
			vff_forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void vff_d_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->getattr(req, ino, fi);
}

static void vff_d_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
			  struct fuse_file_info *fi)
{
	vff_ops_of(ino)->setattr(req, ino, attr, valid, fi);
}

static void vff_d_readlink(fuse_req_t req, fuse_ino_t ino)
{
	if (vff_ctl_ino(ino))
		fuse_reply_err(req, EINVAL);
	else
		vff_data_ops.readlink(req, ino);
}

static void vff_d_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.mknod(req, parent, name, mode, rdev);
}

static void vff_d_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.mkdir(req, parent, name, mode);
}

static void vff_d_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.symlink(req, link, parent, name);
}

static void vff_d_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	if (vff_ctl_ino(ino) || vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.link(req, ino, parent, name);
}

static void vff_d_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.unlink(req, parent, name);
}

static void vff_d_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.rmdir(req, parent, name);
}

static void vff_d_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	if (vff_ctl_ino(parent) || vff_ctl_ino(newparent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.rename(req, parent, name, newparent, newname, flags);
}

static void vff_d_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	if (vff_ctl_ino(parent))
		fuse_reply_err(req, EPERM);
	else
		vff_data_ops.create(req, parent, name, mode, fi);
}

static void vff_d_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->open(req, ino, fi);
}

static void vff_d_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	vff_ops_of(ino)->read(req, ino, size, off, fi);
}

static void vff_d_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->write(req, ino, buf, size, off, fi);
}

static void vff_d_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->flush(req, ino, fi);
}

static void vff_d_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->release(req, ino, fi);
}

static void vff_d_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->fsync(req, ino, datasync, fi);
}

static void vff_d_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->opendir(req, ino, fi);
}

static void vff_d_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	vff_ops_of(ino)->readdir(req, ino, size, off, fi);
}

static void vff_d_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	vff_ops_of(ino)->releasedir(req, ino, fi);
}

static void vff_d_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			    off_t length, struct fuse_file_info *fi)
{
	if (vff_ctl_ino(ino))
		fuse_reply_err(req, EOPNOTSUPP);
	else
		vff_data_ops.fallocate(req, ino, mode, offset, length, fi);
}

/* What the session calls. */
static const struct fuse_lowlevel_ops vff_ops = {
	.init		= vff_init,
	.lookup		= vff_d_lookup,
	.forget		= vff_d_forget,
	.forget_multi	= vff_d_forget_multi,
	.getattr	= vff_d_getattr,
	.setattr	= vff_d_setattr,
	.readlink	= vff_d_readlink,
	.mknod		= vff_d_mknod,
	.mkdir		= vff_d_mkdir,
	.symlink	= vff_d_symlink,
	.link		= vff_d_link,
	.unlink		= vff_d_unlink,
	.rmdir		= vff_d_rmdir,
	.rename		= vff_d_rename,
	.create		= vff_d_create,
	.open		= vff_d_open,
	.read		= vff_d_read,
	.write		= vff_d_write,
	.flush		= vff_d_flush,
	.release	= vff_d_release,
	.fsync		= vff_d_fsync,
	.opendir	= vff_d_opendir,
	.readdir	= vff_d_readdir,
	.releasedir	= vff_d_releasedir,
	.statfs		= vff_statfs,
	.fallocate	= vff_d_fallocate,
};

struct vff_options {
	char *source;
	char *cache;
	char *read_delay_us;
	char *write_delay_us;
	char *jitter_us;
	char *eio_offset;
	char *eio_len;
	char *eio_after;
	char *timeout;
	int stall;
};

#define VFF_OPT(t, p) { t, offsetof(struct vff_options, p), 1 }
static const struct fuse_opt vff_opt_spec[] = {
	VFF_OPT("source=%s", source),
	VFF_OPT("cache=%s", cache),
	VFF_OPT("read_delay_us=%s", read_delay_us),
	VFF_OPT("write_delay_us=%s", write_delay_us),
	VFF_OPT("jitter_us=%s", jitter_us),
	VFF_OPT("eio_offset=%s", eio_offset),
	VFF_OPT("eio_len=%s", eio_len),
	VFF_OPT("eio_after=%s", eio_after),
	VFF_OPT("timeout=%s", timeout),
	VFF_OPT("stall", stall),
	FUSE_OPT_END
};

static void vff_usage(const char *prog)
{
	printf("usage: %s -o source=DIR[,options] MOUNTPOINT\n\n"
	       "vmfaultfs mirrors DIR at MOUNTPOINT, with injectable latency and errors\n"
	       "and request counters: the slow disk behind demand paging.\n\n"
	       "vmfaultfs options:\n"
	       "    -o source=DIR          directory to mirror (required)\n"
	       "    -o cache=MODE          pagecache (default: kernel page cache, kept\n"
	       "                           across opens), direct (direct_io, no page\n"
	       "                           cache) or writeback (writeback cache)\n"
	       "    -o read_delay_us=N     delay every READ by N microseconds\n"
	       "    -o write_delay_us=N    delay every WRITE by N microseconds\n"
	       "    -o jitter_us=N         add 0..N microseconds at random to each delay\n"
	       "    -o eio_offset=OFF,eio_len=LEN\n"
	       "                           READs overlapping [OFF, OFF+LEN) fail with EIO\n"
	       "    -o eio_after=N         after N READs and WRITEs, all fail with EIO\n"
	       "    -o stall               start stalled: READ and WRITE wait (killable)\n"
	       "    -o timeout=SEC         entry and attribute cache time (default 1.0)\n\n"
	       "While mounted, MOUNTPOINT/" VFF_CTL_DIR_NAME "/stats has the request counters\n"
	       "(write 'reset' to zero them) and MOUNTPOINT/" VFF_CTL_DIR_NAME "/ctl the settings\n"
	       "above (write 'read_delay_us 5000', 'stall 1', 'eio_after off', ...; 'zero_stats'\n"
	       "zeroes the counters, 'reset' also puts every setting back as the mount began;\n"
	       "'hold_reads N' holds the next N READs after their data until 'release_reads').\n\n",
	       prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
	printf("    -o max_readahead=N     kernel readahead per file, in bytes (0: off)\n"
	       "    -o async_dio           asynchronous O_DIRECT requests (off here: the\n"
	       "                           kernel waits for them uninterruptibly)\n"
	       "    -o no_splice_write     copy READs of two pages or more through memory\n"
	       "                           (default: splice them, one copy instead of two)\n"
	       "    (and the other libfuse connection options, see fuse_common.h)\n");
}

static int vff_apply_options(struct vff_options *o)
{
	static const struct { const char *key; size_t off; } settings[] = {
		{ "read_delay_us", offsetof(struct vff_options, read_delay_us) },
		{ "write_delay_us", offsetof(struct vff_options, write_delay_us) },
		{ "jitter_us", offsetof(struct vff_options, jitter_us) },
		{ "eio_offset", offsetof(struct vff_options, eio_offset) },
		{ "eio_len", offsetof(struct vff_options, eio_len) },
		{ "eio_after", offsetof(struct vff_options, eio_after) },
	};
	char *end;

	if (!o->source) {
		fprintf(stderr, "vmfaultfs: missing -o source=DIR (see --help)\n");
		return -1;
	}
	if (o->cache && vff_cache_parse(o->cache, &vff_cache_mode)) {
		fprintf(stderr, "vmfaultfs: cache=%s: use pagecache, direct or writeback\n",
			o->cache);
		return -1;
	}
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const char *v = *(char **)((char *)o + settings[i].off);

		if (v && vff_ctl_set(settings[i].key, v)) {
			fprintf(stderr, "vmfaultfs: %s=%s: not a valid value\n",
				settings[i].key, v);
			return -1;
		}
	}
	if (o->timeout) {
		vff_timeout = strtod(o->timeout, &end);
		if (*end || vff_timeout < 0) {
			fprintf(stderr, "vmfaultfs: timeout=%s: not a number of seconds\n",
				o->timeout);
			return -1;
		}
	}
	if (o->stall)
		vff_stall(true);
	vff_ctl_mounted();
	vff_root.fd = open(o->source, O_PATH | O_DIRECTORY);
	if (vff_root.fd < 0) {
		fprintf(stderr, "vmfaultfs: source=%s: %s\n", o->source, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_conn_info_opts *conn_opts;
	struct vff_options o = { 0 };
	struct fuse_loop_config *config;
	struct fuse_session *se;
	int ret = 1;

	if (fuse_parse_cmdline(&args, &opts))
		return 2;
	vff_page_size = sysconf(_SC_PAGESIZE);
	if (opts.show_help) {
		vff_usage(argv[0]);
		ret = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("vmfaultfs, FUSE library %s\n", fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	/* A bad command line exits 2 (a mount that fails: 1). */
	ret = 2;
	if (!opts.mountpoint) {
		fprintf(stderr, "vmfaultfs: no mountpoint (usage: %s -o source=DIR MOUNTPOINT)\n",
			argv[0]);
		goto out_args;
	}
	if (fuse_opt_parse(&args, &o, vff_opt_spec, NULL) || vff_apply_options(&o))
		goto out_args;
	ret = 1;
	/*
	 * The kernel has applied the caller's umask to every mode it sends
	 * (this file system does not ask for FUSE_CAP_DONT_MASK): the daemon's
	 * own must not mask it again (passthrough_ll.c does the same).
	 */
	umask(0);
	conn_opts = fuse_parse_conn_info_opts(&args);
	if (!conn_opts)
		goto out_root;

	se = fuse_session_new(&args, &vff_ops, sizeof(vff_ops), conn_opts);
	if (!se)
		goto out_conn;
	vff_session = se;
	if (fuse_set_signal_handlers(se))
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint))
		goto out_signals;
	fuse_daemonize(opts.foreground);
	/*
	 * Injected delays are what they say: without this, the default 50 us
	 * of timer slack stretches every short sleep (100 us measured 150 us
	 * and more). The worker threads inherit it.
	 */
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL))
		fprintf(stderr, "vmfaultfs: PR_SET_TIMERSLACK: %s (delays may run long)\n",
			strerror(errno));

	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		config = fuse_loop_cfg_create();
		if (!config)
			goto out_unmount;
		fuse_loop_cfg_set_clone_fd(config, opts.clone_fd);
		/* Unset is UINT_MAX, which libfuse 3.14 would log as invalid. */
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(config, opts.max_idle_threads);
		fuse_loop_cfg_set_max_threads(config, opts.max_threads);
		ret = fuse_session_loop_mt(se, config);
		fuse_loop_cfg_destroy(config);
	}
	ret = ret ? 1 : 0;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_conn:
	free(conn_opts);
out_root:
	close(vff_root.fd);
out_args:
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
