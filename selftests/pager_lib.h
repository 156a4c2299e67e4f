/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for pager-mode regions (VMFAULT_MODE_PAGER): the handler's side,
 * shared by pager_test and the demos.
 */
#ifndef PAGER_LIB_H
#define PAGER_LIB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmfault_uapi.h"

/*
 * A pager region of @pages pages: *@region is its fd, *@pager its pager
 * fd (VMFAULT_IOC_PAGER_OPEN with @flags). Returns 0 or -errno.
 */
int pager_region(unsigned long pages, int flags, int *region, int *pager);

/*
 * The next event of @pager, waiting at most @ms milliseconds. Returns 0,
 * -ETIMEDOUT, or -errno of poll() or read().
 */
int pager_next(int pager, struct vmfault_pager_event *ev, int ms);

/*
 * One answer (VMFAULT_PAGER_IOC_SUPPLY, ...) for @len bytes at @offset.
 * Returns 0 or -errno; *@done (if not NULL) gets the answer's done field.
 */
int pager_answer(int pager, unsigned long cmd, uint64_t offset, uint64_t len,
		 const void *src, uint32_t flags, uint64_t *done);

/* The pager's counters; 0 or -errno. */
int pager_info(int pager, struct vmfault_pager_info *info);

/**
 * struct umem - memory whose faults this process answers itself
 * @region: a pager region's fd
 * @pager: its pager fd
 * @base: where the region is mapped (MAP_SHARED), the same in every ufork()ed
 *	process
 * @len: its length in bytes
 * @handler: the thread that answers its faults: a miss with a page of
 *	zeros, a write to a write-protected page with a copy (JOS's pgfault())
 * @copies: pages this process's handler has copied
 */
struct umem {
	int region;
	int pager;
	char *base;
	size_t len;
	pthread_t handler;
	uint64_t copies;
};

/* Make @m: @pages pages, mapped, its handler running. 0 or -errno. */
int umem_create(struct umem *m, unsigned long pages);

/* The pages @m's handler has copied so far. */
uint64_t umem_copies(struct umem *m);

/*
 * JOS's user-level copy-on-write fork(), on a pager region: the child gets
 * a region of its own that maps the parent's very pages (VMFAULT_PAGER_IOC_MAP),
 * write-protected in both, and at the same address; a write by either side
 * then posts a write-protect event that its own handler answers with a
 * copy. Returns as fork() does; in the child, @m is the child's (its
 * handler running, its copies 0).
 */
pid_t ufork(struct umem *m);

#endif /* PAGER_LIB_H */
