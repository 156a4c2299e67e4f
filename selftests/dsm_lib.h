/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A distributed shared memory on pager regions, in the style of Li and
 * Hudak's IVY (single writer, multiple readers, a fixed manager): two
 * nodes, each a process with a pager region standing for the same shared
 * memory, exchanging pages over a socket. Node 0 is the manager of every
 * page and its first owner.
 *
 * A read miss fetches a read-only copy from the owner (which keeps a
 * read-only copy); a write takes ownership: the other node's copy is
 * invalidated (and its data sent along when the writer has none). The
 * faults are real: a node's handler thread reads its region's pager
 * events and answers them once the protocol has the page.
 */
#ifndef DSM_LIB_H
#define DSM_LIB_H

#include <pthread.h>
#include <stdint.h>

/* A page's state at a node, as dsm_map() draws it. */
#define DSM_NONE	'.'	/* no copy: the next access faults */
#define DSM_READ	'r'	/* a read-only copy: a write faults */
#define DSM_WRITE	'W'	/* the owner's writable, only copy */

/**
 * struct dsm_stats - what a node's handler did
 * @fetches: read-only copies this node received (one message each)
 * @transfers: ownerships this node received
 * @invalidations: copies this node dropped because the other node wrote
 * @messages: protocol messages this node sent
 */
struct dsm_stats {
	uint64_t fetches;
	uint64_t transfers;
	uint64_t invalidations;
	uint64_t messages;
};

struct dsm_node;

/*
 * Node @id (0 or 1) of a DSM of @pages pages over the connected socket
 * @sock (a SOCK_SEQPACKET socketpair's end, one per node, or a TCP
 * connection between two machines: dsm_node.c), with a network
 * delay of @delay_us microseconds added before each message is sent.
 * Makes the node's pager region, maps it, starts its handler. NULL on
 * failure (errno set).
 */
struct dsm_node *dsm_start(int id, unsigned long pages, int sock, unsigned int delay_us);

/* The node's view of the shared memory. */
char *dsm_base(struct dsm_node *n);

/* A copy of the node's counters. */
struct dsm_stats dsm_stats(struct dsm_node *n);

/* The node's page states, one character per page (DSM_*), NUL-terminated in @buf. */
void dsm_map(struct dsm_node *n, char *buf, size_t len);

#endif /* DSM_LIB_H */
