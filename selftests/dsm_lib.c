// SPDX-License-Identifier: GPL-2.0
/*
 * A two-node IVY-style distributed shared memory on pager regions: see
 * dsm_lib.h.
 *
 * Node 0 is the fixed manager: it knows each page's owner and copy set and
 * runs one transaction per page at a time (a request of node 1's that
 * comes while one is under way waits for it). Node 1 never defers: it
 * answers the manager at once, so the two never wait for each other.
 * Each node's handler thread waits on its pager fd (local faults) and the
 * socket (the other node) and never blocks on a reply: a fault whose page
 * is on its way stays waiting until the answer that installs the page
 * wakes it.
 *
 * Before a node reads a page it gives away or downgrades, it
 * write-protects it (VMFAULT_PAGER_IOC_PROTECT, which waits for the
 * faults in flight and unmaps the page): no write can land after the read
 * and be lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsm_lib.h"
#include "pager_lib.h"
#include "vmfault_lib.h"

enum dsm_type {
	DSM_REQ_READ = 1,	/* 1 -> 0: a read-only copy, please */
	DSM_REQ_WRITE,		/* 1 -> 0: ownership, please */
	DSM_DATA_RO,		/* 0 -> 1: a read-only copy (data) */
	DSM_DATA_OWN,		/* 0 -> 1: ownership and the data */
	DSM_GRANT,		/* 0 -> 1: write access; your copy is current */
	DSM_INV,		/* 0 -> 1: drop your copy */
	DSM_INV_ACK,		/* 1 -> 0: dropped */
	DSM_FETCH_RO,		/* 0 -> 1: keep a read-only copy, send me one */
	DSM_REPLY_RO,		/* 1 -> 0: the copy (data) */
	DSM_FETCH_OWN,		/* 0 -> 1: give me ownership and the data */
	DSM_REPLY_OWN,		/* 1 -> 0: ownership and the data */
};

/* DSM_GRANT: ownership moves with it (else node 1 owned the page already) */
#define DSM_F_TRANSFER	0x1

struct dsm_msg {
	uint32_t type;
	uint32_t page;
	uint32_t flags;
	uint32_t len;
	char data[];
};

struct dsm_node {
	int id;
	int region;
	int pager;
	int sock;
	bool stream;		/* a byte stream (TCP): messages framed by their header */
	unsigned int delay_us;
	long ps;
	unsigned long pages;
	char *base;
	pthread_t th;
	char *access;		/* DSM_NONE, DSM_READ, DSM_WRITE; read by dsm_map() too */
	uint8_t *owner;		/* node 0: the owner's id; node 1: 1 where it owns */
	uint8_t *copyset;	/* node 0: bit i: node i holds a copy */
	uint8_t *busy;		/* a request of this node's is under way */
	uint8_t *deferred;	/* node 0: node 1's request that waits (its type) */
	struct dsm_stats st;	/* updated atomically */
	struct dsm_msg *out;
	struct dsm_msg *in;
	char *buf;
};

static void dsm_count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_SEQ_CST);
}

static void dsm_set(struct dsm_node *n, unsigned long p, char a)
{
	__atomic_store_n(&n->access[p], a, __ATOMIC_SEQ_CST);
}

static int dsm_send(struct dsm_node *n, uint32_t type, unsigned long p, uint32_t flags,
		    const char *data)
{
	size_t len = sizeof(*n->out) + (data ? n->ps : 0);

	n->out->type = type;
	n->out->page = p;
	n->out->flags = flags;
	n->out->len = data ? n->ps : 0;
	if (data)
		memcpy(n->out->data, data, n->ps);
	if (n->delay_us)
		usleep(n->delay_us);
	dsm_count(&n->st.messages);
	if (!n->stream)
		return send(n->sock, n->out, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
	for (size_t sent = 0; sent < len;) {
		ssize_t r = send(n->sock, (char *)n->out + sent, len - sent, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		sent += r;
	}
	return 0;
}

/*
 * The next message into n->in: 1, or 0 once the other node is gone, or -1.
 * A SOCK_SEQPACKET record is one message; a stream's is its header, then
 * its data.
 */
static int dsm_recv(struct dsm_node *n)
{
	ssize_t r;

	if (!n->stream) {
		r = recv(n->sock, n->in, sizeof(*n->in) + n->ps, 0);
		return r < 0 ? -1 : r >= (ssize_t)sizeof(*n->in);
	}
	r = recv(n->sock, n->in, sizeof(*n->in), MSG_WAITALL);
	if (r != (ssize_t)sizeof(*n->in))
		return r == 0 ? 0 : -1;
	if (n->in->len != 0 && n->in->len != n->ps)
		return -1;
	if (n->in->len && recv(n->sock, n->in->data, n->ps, MSG_WAITALL) != n->ps)
		return -1;
	return 1;
}

static int dsm_answer(struct dsm_node *n, unsigned long cmd, unsigned long p, const void *src,
		      uint32_t flags)
{
	return pager_answer(n->pager, cmd, (uint64_t)p * n->ps, n->ps, src, flags, NULL);
}

/* Install @data at @p, read-only or writable, in place of any copy. */
static int dsm_install(struct dsm_node *n, unsigned long p, const char *data, char a)
{
	if (n->access[p] != DSM_NONE && dsm_answer(n, VMFAULT_PAGER_IOC_INVALIDATE, p, NULL, 0))
		return -1;
	/* The state first: the answer wakes the fault, whose thread may look. */
	dsm_set(n, p, a);
	return dsm_answer(n, VMFAULT_PAGER_IOC_SUPPLY, p, data,
			  a == DSM_READ ? VMFAULT_PAGER_WP : 0);
}

/* Stop writes to @p, then read it into n->buf. */
static int dsm_read_page(struct dsm_node *n, unsigned long p)
{
	if (n->access[p] == DSM_WRITE) {
		if (dsm_answer(n, VMFAULT_PAGER_IOC_PROTECT, p, NULL, VMFAULT_PAGER_WP))
			return -1;
		dsm_set(n, p, DSM_READ);
	}
	return pread(n->region, n->buf, n->ps, p * n->ps) == n->ps ? 0 : -1;
}

/* Drop this node's copy of @p. */
static int dsm_drop(struct dsm_node *n, unsigned long p)
{
	if (dsm_answer(n, VMFAULT_PAGER_IOC_INVALIDATE, p, NULL, 0))
		return -1;
	dsm_set(n, p, DSM_NONE);
	return 0;
}

/* Write access at @p for a copy that is current: clear its protection. */
static int dsm_unprotect(struct dsm_node *n, unsigned long p)
{
	dsm_set(n, p, DSM_WRITE);
	return dsm_answer(n, VMFAULT_PAGER_IOC_PROTECT, p, NULL, 0);
}

/* The manager serves node 1's request for @p (no transaction of its own under way). */
static int dsm_serve(struct dsm_node *n, uint32_t type, unsigned long p)
{
	if (type == DSM_REQ_READ) {
		if (dsm_read_page(n, p))
			return -1;
		n->copyset[p] |= 2;
		return dsm_send(n, DSM_DATA_RO, p, 0, n->buf);
	}
	if (n->copyset[p] & 2) {
		/* Node 1's copy is current: drop ours, grant it write access. */
		uint32_t flags = n->owner[p] == 0 ? DSM_F_TRANSFER : 0;

		if (n->access[p] != DSM_NONE) {
			if (dsm_drop(n, p))
				return -1;
			dsm_count(&n->st.invalidations);
		}
		n->owner[p] = 1;
		n->copyset[p] = 2;
		return dsm_send(n, DSM_GRANT, p, flags, NULL);
	}
	if (dsm_read_page(n, p) || dsm_drop(n, p))
		return -1;
	n->owner[p] = 1;
	n->copyset[p] = 2;
	return dsm_send(n, DSM_DATA_OWN, p, 0, n->buf);
}

/* The manager's transaction on @p is over: serve what waited for it. */
static int dsm_done(struct dsm_node *n, unsigned long p)
{
	uint32_t type = n->deferred[p];

	n->busy[p] = 0;
	n->deferred[p] = 0;
	return type ? dsm_serve(n, type, p) : 0;
}

/* A fault of this node's on @p. */
static int dsm_local(struct dsm_node *n, const struct vmfault_pager_event *ev)
{
	unsigned long p = ev->offset / n->ps;
	bool write = ev->flags & VMFAULT_PAGER_EVENT_WRITE;
	char a = n->access[p];

	if (a == DSM_WRITE || (a == DSM_READ && !write)) {
		/* Answered since: let it retry. */
		return dsm_answer(n, VMFAULT_PAGER_IOC_WAKE, p, NULL, 0);
	}
	if (n->busy[p])
		return 0;	/* the answer under way wakes it */
	n->busy[p] = 1;
	if (n->id == 1)
		return dsm_send(n, write ? DSM_REQ_WRITE : DSM_REQ_READ, p, 0, NULL);
	if (!write)
		return dsm_send(n, DSM_FETCH_RO, p, 0, NULL);
	if (n->owner[p] == 0) {
		if (n->copyset[p] & 2)
			return dsm_send(n, DSM_INV, p, 0, NULL);
		n->busy[p] = 0;
		return dsm_unprotect(n, p);
	}
	return dsm_send(n, DSM_FETCH_OWN, p, 0, NULL);
}

/* A message from the other node. */
static int dsm_remote(struct dsm_node *n, const struct dsm_msg *m)
{
	unsigned long p = m->page;

	if (p >= n->pages)
		return -1;
	switch (m->type) {
	/* At the manager. */
	case DSM_REQ_READ:
	case DSM_REQ_WRITE:
		if (n->busy[p]) {
			n->deferred[p] = m->type;
			return 0;
		}
		return dsm_serve(n, m->type, p);
	case DSM_INV_ACK:
		n->copyset[p] = 1;
		if (dsm_unprotect(n, p))
			return -1;
		return dsm_done(n, p);
	/* Each count before the answer that wakes the fault, which may look. */
	case DSM_REPLY_RO:
		dsm_count(&n->st.fetches);
		if (dsm_install(n, p, m->data, DSM_READ))
			return -1;
		n->copyset[p] |= 1;
		return dsm_done(n, p);
	case DSM_REPLY_OWN:
		dsm_count(&n->st.transfers);
		if (dsm_install(n, p, m->data, DSM_WRITE))
			return -1;
		n->owner[p] = 0;
		n->copyset[p] = 1;
		return dsm_done(n, p);
	/* At node 1. */
	case DSM_DATA_RO:
		n->busy[p] = 0;
		dsm_count(&n->st.fetches);
		return dsm_install(n, p, m->data, DSM_READ);
	case DSM_DATA_OWN:
		n->busy[p] = 0;
		n->owner[p] = 1;
		dsm_count(&n->st.transfers);
		return dsm_install(n, p, m->data, DSM_WRITE);
	case DSM_GRANT:
		n->busy[p] = 0;
		n->owner[p] = 1;
		if (m->flags & DSM_F_TRANSFER)
			dsm_count(&n->st.transfers);
		return dsm_unprotect(n, p);
	case DSM_INV:
		if (dsm_drop(n, p))
			return -1;
		dsm_count(&n->st.invalidations);
		return dsm_send(n, DSM_INV_ACK, p, 0, NULL);
	case DSM_FETCH_RO:
		if (dsm_read_page(n, p))
			return -1;
		return dsm_send(n, DSM_REPLY_RO, p, 0, n->buf);
	case DSM_FETCH_OWN:
		if (dsm_read_page(n, p) || dsm_drop(n, p))
			return -1;
		n->owner[p] = 0;
		return dsm_send(n, DSM_REPLY_OWN, p, 0, n->buf);
	}
	return -1;
}

static void *dsm_handler(void *arg)
{
	struct dsm_node *n = arg;
	struct pollfd pfd[2] = {
		{ .fd = n->pager, .events = POLLIN }, { .fd = n->sock, .events = POLLIN },
	};
	struct vmfault_pager_event ev;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			if (dsm_recv(n) <= 0 || dsm_remote(n, n->in))
				break;	/* the other node is gone, or broke the protocol */
		} else if (pfd[1].revents & (POLLHUP | POLLERR)) {
			break;	/* the other node is gone */
		}
		if ((pfd[0].revents & POLLIN) && read(n->pager, &ev, sizeof(ev)) == sizeof(ev) &&
		    dsm_local(n, &ev))
			break;
	}
	/* The handler's end: the pager fd's close makes waiting faults SIGBUS. */
	close(n->pager);
	return NULL;
}

struct dsm_node *dsm_start(int id, unsigned long pages, int sock, unsigned int delay_us)
{
	struct dsm_node *n = calloc(1, sizeof(*n));
	socklen_t len = sizeof(int);
	int err, type;

	if (!n)
		return NULL;
	n->id = id;
	n->sock = sock;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len))
		goto err;
	n->stream = type == SOCK_STREAM;
	n->delay_us = delay_us;
	n->ps = page_size();
	n->pages = pages;
	n->access = malloc(pages);
	n->owner = calloc(pages, 1);
	n->copyset = calloc(pages, 1);
	n->busy = calloc(pages, 1);
	n->deferred = calloc(pages, 1);
	n->out = malloc(sizeof(*n->out) + n->ps);
	n->in = malloc(sizeof(*n->in) + n->ps);
	n->buf = malloc(n->ps);
	if (!n->access || !n->owner || !n->copyset || !n->busy || !n->deferred || !n->out ||
	    !n->in || !n->buf)
		goto err;
	err = pager_region(pages, O_CLOEXEC, &n->region, &n->pager);
	if (err) {
		errno = -err;
		goto err;
	}
	memset(n->access, DSM_NONE, pages);
	if (id == 0) {
		/* The manager owns every page at first: pages of zeros, writable. */
		if (pager_answer(n->pager, VMFAULT_PAGER_IOC_SUPPLY, 0, pages * n->ps, NULL, 0,
				 NULL))
			goto err;
		memset(n->access, DSM_WRITE, pages);
		memset(n->copyset, 1, pages);
	}
	/* owner[] starts 0 everywhere: node 0, the manager, owns every page. */
	n->base = mmap(NULL, pages * n->ps, PROT_READ | PROT_WRITE, MAP_SHARED, n->region, 0);
	if (n->base == MAP_FAILED || pthread_create(&n->th, NULL, dsm_handler, n))
		goto err;
	return n;
err:
	free(n);	/* a test's failure: the process ends soon */
	return NULL;
}

char *dsm_base(struct dsm_node *n)
{
	return n->base;
}

struct dsm_stats dsm_stats(struct dsm_node *n)
{
	struct dsm_stats s;

	s.fetches = __atomic_load_n(&n->st.fetches, __ATOMIC_SEQ_CST);
	s.transfers = __atomic_load_n(&n->st.transfers, __ATOMIC_SEQ_CST);
	s.invalidations = __atomic_load_n(&n->st.invalidations, __ATOMIC_SEQ_CST);
	s.messages = __atomic_load_n(&n->st.messages, __ATOMIC_SEQ_CST);
	return s;
}

void dsm_map(struct dsm_node *n, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < n->pages && i + 1 < len; i++)
		buf[i] = __atomic_load_n(&n->access[i], __ATOMIC_SEQ_CST);
	buf[i] = 0;
}
