// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for tests that need a vmfaultfs mount (declared and described
 * in vmfaultfs_lib.h). Compiled once and linked into each program.
 */
#define _GNU_SOURCE
#include "vmfaultfs_lib.h"

const char *vff_daemon(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("VMFAULTFS");

	if (env)
		return env;
	if (beside_self("../fusefs/vmfaultfs", path) && !access(path, X_OK))
		return path;
	return "vmfaultfs";	/* installed: on $PATH */
}




int vff_wait_stopped(pid_t pid, unsigned int ms)
{
	uint64_t end = now_ms() + ms;
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
	} while (now_ms() < end);
	return -1;
}


bool vff_is_fs(const char *path, long magic)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == magic;
}


bool vff_mounted(const char *mnt)
{
	return vff_is_fs(mnt, FUSE_SUPER_MAGIC);
}


dev_t vff_dev(struct vff_mount *m)
{
	struct stat st;

	return stat(m->mnt, &st) ? 0 : st.st_dev;
}


/* Unmount (lazily if busy), reap the daemon and remove the mount point. */
static int unmount_daemon(struct vff_mount *m)
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
		if (reap_child(m->pid, &m->status, 10000)) {
			fprintf(stderr, "vmfaultfs did not exit after umount; killing it\n");
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &m->status, 0);
			ret = -1;
		}
		m->pid = 0;
	}
	/*
	 * A daemon that was killed (as some tests do) leaves its mount behind,
	 * dead: statfs() fails with ENOTCONN, so vff_mounted() said no.
	 */
	if (rmdir(m->mnt) && errno == EBUSY && !umount2(m->mnt, MNT_DETACH))
		rmdir(m->mnt);
	return ret;
}


int vff_mount_src(struct vff_mount *m, const char *opts)
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
	if (m->pid < 0) {
		perror("fork");
		m->pid = 0;
		rmdir(m->mnt);
		return -1;
	}
	if (m->pid == 0) {
		if (m->one_thread)
			execlp(vff_daemon(), "vmfaultfs", "-f", "-s", "-o", o, m->mnt, (char *)NULL);
		else
			execlp(vff_daemon(), "vmfaultfs", "-f", "-o", o, m->mnt, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", vff_daemon(), strerror(errno));
		_exit(127);
	}
	end = now_ms() + 20000;
	while (!vff_mounted(m->mnt)) {
		if (waitpid(m->pid, &m->status, WNOHANG) == m->pid) {
			fprintf(stderr, "vmfaultfs exited before mounting (status %#x)\n",
				m->status);
			m->pid = 0;
			rmdir(m->mnt);
			return -1;
		}
		if (now_ms() > end) {
			fprintf(stderr, "vmfaultfs did not mount within 20 s\n");
			kill(m->pid, SIGKILL);
			unmount_daemon(m);
			return -1;
		}
		usleep(10000);
	}
	m->dev = vff_dev(m);
	return 0;
}


int vff_mount(struct vff_mount *m, const char *opts)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->src, "/tmp/vmfaultfs-src.XXXXXX");
	if (!mkdtemp(m->src)) {
		perror("mkdtemp");
		return -1;
	}
	if (vff_mount_src(m, opts)) {
		rmdir(m->src);
		return -1;
	}
	return 0;
}


int vff_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}


int vff_umount(struct vff_mount *m)
{
	int ret = unmount_daemon(m);

	nftw(m->src, vff_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return ret;
}


int vff_remount(struct vff_mount *m, const char *opts, bool one_thread)
{
	if (unmount_daemon(m))
		return -1;
	m->one_thread = one_thread;
	return vff_mount_src(m, opts);
}


uint64_t vff_stat(struct vff_mount *m, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/.vmfaultfs/stats", m->mnt);
	return kv_read(path, name);
}

uint64_t vff_wait_stat(struct vff_mount *m, const char *name, uint64_t want)
{
	uint64_t v = vff_stat(m, name);

	for (int i = 0; i < 1000 && v != want; i++) {
		usleep(10000);
		v = vff_stat(m, name);
	}
	return v;
}

bool vff_kernel_protocol_at_least(struct vff_mount *m, unsigned int minor)
{
	unsigned int major = 0, got = 0;
	char path[128], key[32];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.vmfaultfs/ctl", m->mnt);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fscanf(f, "%31s", key) == 1) {
		if (!strcmp(key, "kernel_protocol") && fscanf(f, "%u.%u", &major, &got) == 2) {
			ok = major == 7 && got >= minor;
			break;
		}
	}
	fclose(f);
	return ok;
}

int vff_ctl(struct vff_mount *m, const char *cmd)
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



int vff_set_readahead_kb(struct vff_mount *m, unsigned int kb)
{
	dev_t dev = m->dev;
	char path[96], val[16];

	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(dev), minor(dev));
	snprintf(val, sizeof(val), "%u", kb);
	return write_file(path, val);
}


int vff_abort(struct vff_mount *m)
{
	dev_t dev = m->dev;
	char path[96];

	if (!vff_is_fs("/sys/fs/fuse/connections", FUSECTL_SUPER_MAGIC) &&
	    mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL))
		return -1;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 (major(dev) << 20) | minor(dev));
	return write_file(path, "1");
}


int vff_make_file(struct vff_mount *m, const char *name, size_t size, int fill)
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


char *vff_path(struct vff_mount *m, bool source, const char *name)
{
	static _Thread_local char path[2][160];
	char *p = path[source];

	snprintf(p, sizeof(path[0]), "%s/%s", source ? m->src : m->mnt, name);
	return p;
}


long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}




ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, 0);
	close(fd);
	return n;
}


off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}


void touch_it(void *arg)
{
	struct access_arg *a = arg;

	if (a->write)
		*(volatile char *)a->p = 'w';
	else
		(void)*(volatile char *)a->p;
}


pid_t fork_toucher(struct access_arg *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		touch_it(a);
		_exit(0);
	}
	return pid;
}


pid_t vff_stalled_toucher(struct vff_mount *m, struct access_arg *a)
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
