// SPDX-License-Identifier: GPL-2.0
/* Helpers for pager-mode regions: see pager_lib.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pager_lib.h"
#include "vmfault_lib.h"

int pager_region(unsigned long pages, int flags, int *region, int *pager)
{
	int fd = vmf_open(), err;

	if (fd < 0)
		return -errno;
	if (vmf_configure(fd, VMFAULT_MODE_PAGER, pages * page_size())) {
		err = -errno;
		close(fd);
		return err;
	}
	*pager = ioctl(fd, VMFAULT_IOC_PAGER_OPEN, flags);
	if (*pager < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*region = fd;
	return 0;
}

int pager_next(int pager, struct vmfault_pager_event *ev, int ms)
{
	struct pollfd pfd = { .fd = pager, .events = POLLIN };
	ssize_t n;
	int r;

	do {
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (!r)
		return -ETIMEDOUT;
	n = read(pager, ev, sizeof(*ev));
	if (n < 0)
		return -errno;
	return n == sizeof(*ev) ? 0 : -EIO;
}

int pager_answer(int pager, unsigned long cmd, uint64_t offset, uint64_t len,
		 const void *src, uint32_t flags, uint64_t *done)
{
	struct vmfault_pager_range r = {
		.offset = offset, .len = len, .src = (uintptr_t)src, .flags = flags,
	};
	int err = ioctl(pager, cmd, &r) ? -errno : 0;

	if (done)
		*done = r.done;
	return err;
}

int pager_info(int pager, struct vmfault_pager_info *info)
{
	return ioctl(pager, VMFAULT_PAGER_IOC_INFO, info) ? -errno : 0;
}

/*
 * The handler of a umem: a miss gets a page of zeros; a write to a
 * write-protected page, shared with a ufork()ed relative, gets a copy
 * (JOS's pgfault(): read the page, drop this region's hold on the frame,
 * supply the copy writable). An answer that finds the page already there
 * (a second event for it) wakes its fault instead. Ends when the pager fd
 * fails (closed).
 */
static void *umem_handler(void *arg)
{
	struct umem *m = arg;
	struct vmfault_pager_event ev;
	long ps = page_size();
	char *buf = malloc(ps);
	int err;

	while (buf && !pager_next(m->pager, &ev, -1)) {
		if (ev.flags & VMFAULT_PAGER_EVENT_WP) {
			if (pread(m->region, buf, ps, ev.offset) != ps)
				break;
			pager_answer(m->pager, VMFAULT_PAGER_IOC_INVALIDATE, ev.offset, ps, NULL, 0,
				     NULL);
			/* Counted before the answer wakes the writer, which may look. */
			__atomic_add_fetch(&m->copies, 1, __ATOMIC_SEQ_CST);
			err = pager_answer(m->pager, VMFAULT_PAGER_IOC_SUPPLY, ev.offset, ps, buf,
					   0, NULL);
			if (err)
				__atomic_sub_fetch(&m->copies, 1, __ATOMIC_SEQ_CST);
		} else {
			err = pager_answer(m->pager, VMFAULT_PAGER_IOC_SUPPLY, ev.offset, ps, NULL,
					   0, NULL);
		}
		if (err == -EEXIST)
			err = pager_answer(m->pager, VMFAULT_PAGER_IOC_WAKE, ev.offset, ps, NULL, 0,
					   NULL);
		if (err)
			break;
	}
	free(buf);
	return NULL;
}

int umem_create(struct umem *m, unsigned long pages)
{
	int err = pager_region(pages, O_CLOEXEC, &m->region, &m->pager);

	if (err)
		return err;
	m->len = pages * page_size();
	m->copies = 0;
	m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, m->region, 0);
	if (m->base == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	err = -pthread_create(&m->handler, NULL, umem_handler, m);
	if (err)
		goto err_unmap;
	return 0;

err_unmap:
	munmap(m->base, m->len);
err_close:
	close(m->pager);
	close(m->region);
	return err;
}

uint64_t umem_copies(struct umem *m)
{
	return __atomic_load_n(&m->copies, __ATOMIC_SEQ_CST);
}

pid_t ufork(struct umem *m)
{
	struct vmfault_pager_map map = {
		.flags = VMFAULT_PAGER_WP, .len = m->len,
	};
	int region, pager, err;
	pid_t pid;

	err = pager_region(m->len / page_size(), O_CLOEXEC, &region, &pager);
	if (err) {
		errno = -err;
		return -1;
	}
	/* JOS: map the pages copy-on-write in the child first, then in the parent. */
	map.src_fd = m->region;
	if (ioctl(pager, VMFAULT_PAGER_IOC_MAP, &map) ||
	    pager_answer(m->pager, VMFAULT_PAGER_IOC_PROTECT, 0, m->len, NULL, VMFAULT_PAGER_WP,
			 NULL))
		goto err_close;
	pid = fork();
	if (pid < 0)
		goto err_close;
	if (pid) {
		close(pager);
		close(region);
		return pid;
	}
	/* The child: its region at the same address, its own handler. */
	if (mmap(m->base, m->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, region, 0) ==
	    MAP_FAILED)
		_exit(127);
	close(m->pager);
	close(m->region);
	m->region = region;
	m->pager = pager;
	m->copies = 0;
	if (pthread_create(&m->handler, NULL, umem_handler, m))
		_exit(127);
	return 0;

err_close:
	err = errno;
	close(pager);
	close(region);
	errno = err;
	return -1;
}
