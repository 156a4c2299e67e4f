/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmfault user API: the ioctls of /dev/vmfault.
 *
 * Shared by the module and by user space (selftests, demos). Every open()
 * of /dev/vmfault is a region; these ioctls configure it and read its
 * counters. Fields are fixed-size and each is marked (in) or (out).
 */
#ifndef _VMFAULT_UAPI_H
#define _VMFAULT_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * enum vmfault_mode - how a region serves its faults
 * @VMFAULT_MODE_INVALID: reserved, never valid
 * @VMFAULT_MODE_ZERO: zero-fill-on-demand; reads map the shared zero page,
 *	writes allocate zeroed pages. The default when mmap() comes first.
 * @VMFAULT_MODE_FILE: demand paging from a backing file: a fault on a page
 *	that is not resident reads it (and up to window - 1 pages after it)
 *	from the file into region pages; MAP_SHARED writes are written back.
 * @VMFAULT_MODE_PAGER: faults answered in user space: a miss, or a
 *	MAP_SHARED write to a write-protected page, posts an event on the
 *	region's pager fd (VMFAULT_IOC_PAGER_OPEN), and the faulting task
 *	waits, killably and with mmap_lock dropped, until the handler answers
 *	(VMFAULT_PAGER_IOC_*). Only @size is configured; no flags.
 */
enum vmfault_mode {
	VMFAULT_MODE_INVALID = 0,
	VMFAULT_MODE_ZERO = 1,
	VMFAULT_MODE_FILE = 2,
	VMFAULT_MODE_PAGER = 3,
};

/* The largest prefetch window of a file region, in pages (1 MiB). */
#define VMFAULT_MAX_WINDOW	256

/*
 * VMFAULT_FLAG_NO_FAULT_AROUND: file mode only; leave ->map_pages out, so
 * that core mm never maps resident neighbours of a fault (fault-around)
 * and every first access to a page is a fault of its own.
 */
#define VMFAULT_FLAG_NO_FAULT_AROUND	0x1

/*
 * VMFAULT_FLAG_FAULT_AROUND: zero mode only; a read fault on a hole maps
 * the zero page at every hole of the aligned 64 KiB (16 pages of 4 KiB)
 * window around it, and ->map_pages maps the window's resident pages, so
 * that a sequential read takes one fault per window instead of one per
 * page. Off by default: zero mode then faults once per page, as anonymous
 * memory does.
 */
#define VMFAULT_FLAG_FAULT_AROUND	0x2

/*
 * VMFAULT_FLAG_GROWSDOWN: zero mode only, not with FAULT_AROUND; the region
 * is a stack that grows down on demand, as xv6's lazy lab grows a process's
 * stack. It starts as its top @stack_pages pages; a fault on the page just
 * below its lowest page extends it by that page (counted in
 * stack_growths); a fault lower down, or in the lowest @guard_pages pages
 * (the guard gap, which the stack never reaches), is SIGSEGV (counted in
 * stack_segv). Growth is the region's: every mapping of it sees the same
 * stack; read() and write() see the region's contents as always.
 */
#define VMFAULT_FLAG_GROWSDOWN		0x4

/*
 * VMFAULT_FLAG_ASYNC_PREFETCH: file mode only; keep the next window in
 * flight while the current one is used, as the page cache's asynchronous
 * readahead does. A fault that reads a window marks its middle page; an
 * access to the marked page (a fault on it, or fault-around mapping it)
 * starts the read of the next window in the background and marks that
 * window's first page, so that a sequential scan has the window after the
 * one it waits for already on its way. The background reads are counted
 * as reads (file_reads, pages_read), not as faults: the faults that find
 * their pages are minor. Off for a mapping under madvise(MADV_RANDOM).
 */
#define VMFAULT_FLAG_ASYNC_PREFETCH	0x8
#define VMFAULT_FLAGS_ALL		(VMFAULT_FLAG_NO_FAULT_AROUND | \
					 VMFAULT_FLAG_FAULT_AROUND | \
					 VMFAULT_FLAG_GROWSDOWN | \
					 VMFAULT_FLAG_ASYNC_PREFETCH)

/* The largest region size the module accepts, in bytes (1 TiB). */
#define VMFAULT_MAX_SIZE	0x10000000000ULL

/**
 * struct vmfault_config - argument of VMFAULT_IOC_CONFIGURE
 * @mode: (in) an enum vmfault_mode other than VMFAULT_MODE_INVALID
 * @flags: (in) VMFAULT_FLAG_NO_FAULT_AROUND and
 *	VMFAULT_FLAG_ASYNC_PREFETCH (file mode), VMFAULT_FLAG_FAULT_AROUND and
 *	VMFAULT_FLAG_GROWSDOWN (zero mode), or 0
 * @size: (in) region size in bytes: a multiple of the page size, from one
 *	page up to VMFAULT_MAX_SIZE. File mode: 0 means from @offset to the
 *	file's end, rounded up to a page.
 * @fd: (in) file mode: the backing file, a regular file open for reading
 *	(and for writing if MAP_SHARED mappings are to write). The module
 *	takes its own reference; the caller may close @fd afterwards.
 *	Zero mode: must be 0.
 * @window: (in) file mode: pages read per miss, 1 to VMFAULT_MAX_WINDOW;
 *	0 means 1 (pure demand paging). Zero mode: must be 0.
 * @offset: (in) file mode: where the region starts in the file, a
 *	multiple of the page size. Zero mode: must be 0.
 * @stack_pages: (in) VMFAULT_FLAG_GROWSDOWN: the stack's first size, in
 *	pages, at the top of the region (at least 1); else 0
 * @guard_pages: (in) VMFAULT_FLAG_GROWSDOWN: the guard gap at the bottom
 *	of the region, in pages (at least 1; @stack_pages + @guard_pages at
 *	most the region's pages); else 0
 * @reserved: (in) must be 0
 */
struct vmfault_config {
	__u32 mode;
	__u32 flags;
	__u64 size;
	__s32 fd;
	__u32 window;
	__u64 offset;
	__u32 stack_pages;
	__u32 guard_pages;
	__u64 reserved[1];
};

/**
 * enum vmfault_counter - index of a counter in vmfault_region_info.counters
 * @VMFAULT_CNT_FAULTS: calls into the module's fault handlers (->fault,
 *	->page_mkwrite on a present pte, ->pfn_mkwrite); each is one fault
 *	as getrusage() counts it; the sum of the next two
 * @VMFAULT_CNT_READ_FAULTS: the faults above that were reads
 * @VMFAULT_CNT_WRITE_FAULTS: the faults above that were writes
 * @VMFAULT_CNT_ZERO_PAGE_MAPS: reads of a hole answered by mapping the
 *	kernel's shared zero page read-only
 * @VMFAULT_CNT_ZERO_PAGE_UPGRADES: writes to a zero-page pte of a MAP_SHARED
 *	mapping: the zero page is unmapped from every mapping of the region
 *	and the access faults again on the region's new page
 * @VMFAULT_CNT_COW_FAULTS: MAP_PRIVATE write faults on a pte that was
 *	empty; the module hands core mm the source page (region page or zero
 *	page) and do_cow_fault() copies it into a new anonymous page
 * @VMFAULT_CNT_MKWRITES: writes to a region page mapped read-only in a
 *	MAP_SHARED mapping (->page_mkwrite on a present pte)
 * @VMFAULT_CNT_PAGES_ALLOCATED: region pages allocated
 * @VMFAULT_CNT_PAGES_FREED: region pages released by the module
 * @VMFAULT_CNT_SIGBUS: faults answered with SIGBUS (beyond the region,
 *	wholly past the backing file's end, or a failed read)
 * @VMFAULT_CNT_OOM: faults answered with VM_FAULT_OOM (allocation failed)
 * @VMFAULT_CNT_MAJOR_FAULTS: file mode: faults that read from the backing
 *	file (VM_FAULT_MAJOR; ru_majflt and pgmajfault count them too)
 * @VMFAULT_CNT_FILE_READS: file mode: read requests made to the backing
 *	file, one per miss (a window of pages) or per retried page
 * @VMFAULT_CNT_PAGES_READ: file mode: region pages filled from the file
 * @VMFAULT_CNT_BYTES_READ: file mode: bytes the backing file returned
 * @VMFAULT_CNT_READ_NS: file mode: nanoseconds spent in those reads
 * @VMFAULT_CNT_FAULT_AROUND: file mode: resident pages mapped by
 *	->map_pages next to a faulting address (no fault of their own)
 * @VMFAULT_CNT_PAGES_DIRTIED: file mode: clean pages made dirty, by a
 *	MAP_SHARED write fault or by write()
 * @VMFAULT_CNT_WRITEBACKS: file mode: write requests made to the backing
 *	file, one per run of contiguous dirty pages
 * @VMFAULT_CNT_PAGES_WRITTEN: file mode: dirty pages written back
 * @VMFAULT_CNT_BYTES_WRITTEN: file mode: bytes the backing file took
 * @VMFAULT_CNT_IO_ERRORS: file mode: reads and writes of the backing file
 *	that failed (the pages stay not up to date, or dirty)
 * @VMFAULT_CNT_FAULT_RETRIES: file mode: faults that dropped mmap_lock (or
 *	the vma's lock) to read from the backing file, or to wait for another
 *	task's read, and had core mm retry them (VM_FAULT_RETRY); the retry
 *	is the same fault, counted once in @VMFAULT_CNT_FAULTS
 * @VMFAULT_CNT_CACHED_READS: file mode: pages read through the backing
 *	file's page cache instead of with its ->read_iter, by faults that
 *	may hold the backing file's inode lock (a system call copying to or
 *	from a region mapping, GUP) or cannot drop mmap_lock
 * @VMFAULT_CNT_HWPOISON: accesses refused because the page is
 *	hardware-poisoned: SIGBUS for a fault, EIO for read(), write() and
 *	writeback
 * @VMFAULT_CNT_LIMIT_REFUSALS: pages not allocated because all regions
 *	together hold the module's max_pages: SIGBUS for a fault, ENOSPC for
 *	write()
 * @VMFAULT_CNT_STACK_GROWTHS: VMFAULT_FLAG_GROWSDOWN: faults that grew the
 *	stack by the page below its lowest page
 * @VMFAULT_CNT_STACK_SEGV: VMFAULT_FLAG_GROWSDOWN: faults answered with
 *	SIGSEGV: more than a page below the stack, or in the guard gap
 * @VMFAULT_CNT_EVICTIONS: frame budget: resident pages the replacement
 *	policy evicted to make room (each unmapped everywhere and freed; its
 *	next access is a major fault)
 * @VMFAULT_CNT_EVICTIONS_DIRTY: of @VMFAULT_CNT_EVICTIONS, those written
 *	back first (a clean page is dropped with no I/O)
 * @VMFAULT_CNT_REF_FAULTS: frame budget: minor faults on a resident page
 *	that was not mapped (unmapped by the clock hand, by reference tracing
 *	or by writeback), each a reference the policy saw
 * @VMFAULT_CNT_RECLAIMED: frame budget: resident pages the kernel took
 *	back under memory pressure (the module's shrinker: drop_caches, a
 *	memory cgroup at its limit, kswapd), clean ones only, through the
 *	same eviction; not counted in @VMFAULT_CNT_EVICTIONS
 * @VMFAULT_NR_COUNTERS: number of counters defined by this header
 *
 * The values are positions in @counters of struct vmfault_region_info and
 * part of the ABI: append only, with an explicit value; never reorder,
 * renumber or reuse one.
 */
enum vmfault_counter {
	VMFAULT_CNT_FAULTS = 0,
	VMFAULT_CNT_READ_FAULTS = 1,
	VMFAULT_CNT_WRITE_FAULTS = 2,
	VMFAULT_CNT_ZERO_PAGE_MAPS = 3,
	VMFAULT_CNT_ZERO_PAGE_UPGRADES = 4,
	VMFAULT_CNT_COW_FAULTS = 5,
	VMFAULT_CNT_MKWRITES = 6,
	VMFAULT_CNT_PAGES_ALLOCATED = 7,
	VMFAULT_CNT_PAGES_FREED = 8,
	VMFAULT_CNT_SIGBUS = 9,
	VMFAULT_CNT_OOM = 10,
	VMFAULT_CNT_MAJOR_FAULTS = 11,
	VMFAULT_CNT_FILE_READS = 12,
	VMFAULT_CNT_PAGES_READ = 13,
	VMFAULT_CNT_BYTES_READ = 14,
	VMFAULT_CNT_READ_NS = 15,
	VMFAULT_CNT_FAULT_AROUND = 16,
	VMFAULT_CNT_PAGES_DIRTIED = 17,
	VMFAULT_CNT_WRITEBACKS = 18,
	VMFAULT_CNT_PAGES_WRITTEN = 19,
	VMFAULT_CNT_BYTES_WRITTEN = 20,
	VMFAULT_CNT_IO_ERRORS = 21,
	VMFAULT_CNT_FAULT_RETRIES = 22,
	VMFAULT_CNT_CACHED_READS = 23,
	VMFAULT_CNT_HWPOISON = 24,
	VMFAULT_CNT_LIMIT_REFUSALS = 25,
	VMFAULT_CNT_STACK_GROWTHS = 26,
	VMFAULT_CNT_STACK_SEGV = 27,
	VMFAULT_CNT_EVICTIONS = 28,
	VMFAULT_CNT_EVICTIONS_DIRTY = 29,
	VMFAULT_CNT_REF_FAULTS = 30,
	VMFAULT_CNT_RECLAIMED = 31,
	VMFAULT_NR_COUNTERS = 32,
};

/* Room for counters added later without changing the ioctl's size. */
#define VMFAULT_MAX_COUNTERS	32

/**
 * struct vmfault_region_info - argument of VMFAULT_IOC_GET_INFO
 * @mode: (out) enum vmfault_mode of the region
 * @nr_counters: (out) how many entries of @counters are valid
 * @size: (out) region size in bytes, 0 while unsized
 * @resident: (out) region pages currently allocated
 * @mapped: (out) 1 once the region has been mmap()ed, else 0
 * @id: (out) the region's id, as in tracepoints and /proc/vmfault_regions
 * @dirty: (out) file mode: resident pages not yet written back (PG_dirty)
 * @window: (out) file mode: pages read per miss, else 0
 * @flags: (out) the configured VMFAULT_FLAG_* bits
 * @offset: (out) file mode: where the region starts in the backing file
 * @counters: (out) this region's counters, indexed by enum vmfault_counter
 */
struct vmfault_region_info {
	__u32 mode;
	__u32 nr_counters;
	__u64 size;
	__u64 resident;
	__u32 mapped;
	__u32 id;
	__u64 dirty;
	__u32 window;
	__u32 flags;
	__u64 offset;
	__u64 counters[VMFAULT_MAX_COUNTERS];
};

#define VMFAULT_IOC_MAGIC	0xB8

/* Set mode and size; before the first mmap() only (EBUSY after). */
#define VMFAULT_IOC_CONFIGURE	_IOW(VMFAULT_IOC_MAGIC, 0x00, struct vmfault_config)
/* Read the region's configuration and counters. */
#define VMFAULT_IOC_GET_INFO	_IOR(VMFAULT_IOC_MAGIC, 0x01, struct vmfault_region_info)
/*
 * File mode: write every dirty page back to the backing file, then fsync()
 * it. Returns 0 or the first error (the pages that failed stay dirty).
 * Zero mode: a no-op.
 */
#define VMFAULT_IOC_FLUSH	_IO(VMFAULT_IOC_MAGIC, 0x02)

/**
 * enum vmfault_policy - which resident page a full frame budget evicts
 * @VMFAULT_POLICY_FIFO: the page resident longest
 * @VMFAULT_POLICY_CLOCK: second chance: the hand passes over pages
 *	referenced since it last came by (clearing the bit, and unmapping the
 *	page so that its next use is a reference fault), evicting the first
 *	page not referenced
 * @VMFAULT_POLICY_LRU: the page whose last reference the module saw is
 *	oldest (exact with reference tracing of one page)
 * @VMFAULT_POLICY_OPT: Belady's optimal: the page whose next use in the
 *	reference string (VMFAULT_IOC_SET_REFS) is farthest away, or never;
 *	needs reference tracing of one page
 * @VMFAULT_POLICY_RANDOM: a page drawn by a seeded generator (xorshift64*)
 * @VMFAULT_NR_POLICIES: number of policies
 */
enum vmfault_policy {
	VMFAULT_POLICY_FIFO = 0,
	VMFAULT_POLICY_CLOCK = 1,
	VMFAULT_POLICY_LRU = 2,
	VMFAULT_POLICY_OPT = 3,
	VMFAULT_POLICY_RANDOM = 4,
	VMFAULT_NR_POLICIES = 5,
};

/* The most victims a full budget evicts at once (struct vmfault_frames.batch). */
#define VMFAULT_MAX_EVICT_BATCH	32

/* The longest reference string VMFAULT_IOC_SET_REFS takes. */
#define VMFAULT_MAX_REFS	0x100000

/* VMFAULT_IOC_SET_FRAMES flags: use the module's pool of frames ... */
#define VMFAULT_FRAMES_POOL		0x1
/* ... and, when it is full, evict only this region's pages (local replacement) */
#define VMFAULT_FRAMES_LOCAL		0x2
#define VMFAULT_FRAMES_FLAGS_ALL	(VMFAULT_FRAMES_POOL | VMFAULT_FRAMES_LOCAL)

/**
 * struct vmfault_frames - a region's frame budget (VMFAULT_IOC_SET_FRAMES,
 *	VMFAULT_IOC_GET_FRAMES)
 * @frames: (in) at most this many region pages resident at once; 0 (the
 *	default) for no budget, or with VMFAULT_FRAMES_POOL. At most the
 *	region's pages. Zero mode needs @swap_fd
 * @policy: (in) enum vmfault_policy: the victim when the budget is full.
 *	With VMFAULT_FRAMES_POOL, the pool's (module parameter pool_policy)
 * @trace_pages: (in) reference tracing: at most this many region pages
 *	mapped at once, so that every access to another page faults (a minor
 *	reference fault if it is resident) and the policy sees every
 *	reference; 0 for off. OPT needs 1
 * @flags: (in) VMFAULT_FRAMES_*: VMFAULT_FRAMES_POOL takes frames from the
 *	module's pool (module parameter pool_frames), shared with the other
 *	pool regions: a miss may evict their pages (global replacement), or
 *	with VMFAULT_FRAMES_LOCAL only this region's (local replacement)
 * @seed: (in) VMFAULT_POLICY_RANDOM: the generator's seed (0 picks a fixed
 *	one); 0 for the other policies
 * @used: (out) pages of this region holding frames (resident or being
 *	read); (in) 0
 * @budget_used: (out) frames in use in the budget: the region's own, or
 *	the pool's, all regions together; of a budget of its own, resident
 *	pages' and @budget_free; (in) 0
 * @budget_frames: (out) the budget's frames (the pool's for a pool
 *	region); @budget_frames - @budget_used are unallocated; (in) 0
 * @swap_fd: (in) zero mode: the swap file, a regular file open for
 *	reading and writing (O_RDWR), where evicted pages that were written
 *	go (page offset i at byte i * page size); file mode: 0
 * @batch: (in) when the budget is full, evict this many of the policy's
 *	victims at once (1 to VMFAULT_MAX_EVICT_BATCH; 0 is 1, the textbook
 *	policy), as the kernel's reclaim frees pages in batches: the victims'
 *	unmaps are merged into one per run of adjacent pages, so a sequential
 *	scan flushes the TLB once per @batch evictions. Not for a pool region
 * @budget_free: (out) a budget of its own: free frames, each keeping the
 *	page its eviction left, which the next misses take rather than
 *	allocate a page (the free-frame list; memory reclaim frees them
 *	too); the pool keeps none; (in) 0
 */
struct vmfault_frames {
	__u32 frames;
	__u32 policy;
	__u32 trace_pages;
	__u32 flags;
	__u64 seed;
	__u64 used;
	__u64 budget_used;
	__u64 budget_frames;
	__s32 swap_fd;
	__u32 batch;
	__u64 budget_free;
};

/**
 * struct vmfault_refs - the future reference string, for OPT
 * @nr: (in) how many page offsets @refs holds, 1 to VMFAULT_MAX_REFS
 * @refs: (in) user pointer to @nr __u64 page offsets, in access order
 */
struct vmfault_refs {
	__u64 nr;
	__u64 refs;
};

/* VMFAULT_IOC_WS_SAMPLE flags: count written pages only ... */
#define VMFAULT_WS_WRITE	0x1
/* ... and sample each page with probability 1/stride, not every stride-th */
#define VMFAULT_WS_RANDOM	0x2
#define VMFAULT_WS_FLAGS_ALL	(VMFAULT_WS_WRITE | VMFAULT_WS_RANDOM)

/**
 * struct vmfault_ws_sample - one working-set sample (VMFAULT_IOC_WS_SAMPLE)
 * @flags: (in) VMFAULT_WS_*
 * @stride: (in) sample every @stride-th resident page in page order, or
 *	with VMFAULT_WS_RANDOM each with probability 1/@stride; 1 or more
 * @seed: (in) VMFAULT_WS_RANDOM: the generator's seed, taken at the
 *	region's first sample (0 picks a fixed one); else 0
 * @sampled: (out) pages in the previous sample (0 at the first call)
 * @touched: (out) of them, touched since: used at all, or with
 *	VMFAULT_WS_WRITE written (a MAP_SHARED store, or write())
 * @estimate: (out) the pages touched in the interval, estimated:
 *	@touched scaled by the resident pages when the sample was drawn
 * @resident: (out) resident pages when this call drew its sample
 * @next_sampled: (out) pages in the sample this call drew
 */
struct vmfault_ws_sample {
	__u32 flags;
	__u32 stride;
	__u64 seed;
	__u64 sampled;
	__u64 touched;
	__u64 estimate;
	__u64 resident;
	__u64 next_sampled;
};

/*
 * Give a region a frame budget and a replacement policy (zero mode: and a
 * swap file); before the first mmap(), read() or write() (EBUSY after).
 */
#define VMFAULT_IOC_SET_FRAMES	_IOW(VMFAULT_IOC_MAGIC, 0x03, struct vmfault_frames)
/* Read the budget back. */
#define VMFAULT_IOC_GET_FRAMES	_IOR(VMFAULT_IOC_MAGIC, 0x04, struct vmfault_frames)
/* OPT's reference string; after SET_FRAMES, before the first mmap(). */
#define VMFAULT_IOC_SET_REFS	_IOW(VMFAULT_IOC_MAGIC, 0x05, struct vmfault_refs)
/*
 * End a working-set interval of a file-mode region in use: report the
 * last sample's touched pages and draw the next sample.
 */
#define VMFAULT_IOC_WS_SAMPLE	_IOWR(VMFAULT_IOC_MAGIC, 0x06, struct vmfault_ws_sample)

/*
 * Pager mode. VMFAULT_IOC_PAGER_OPEN, on the fd of a region configured as
 * VMFAULT_MODE_PAGER, returns the region's pager fd: the handler's end.
 * Once per region (EBUSY after); its argument is 0 or O_CLOEXEC and
 * O_NONBLOCK. It keeps the region alive. Faults before it, and after the
 * last close of the pager fd (the handler's death), are SIGBUS; faults
 * waiting at that moment are woken and get SIGBUS too.
 *
 * read() of the pager fd returns whole struct vmfault_pager_event records,
 * one per fault that waits, oldest first (at least one record's room, or
 * EINVAL); it blocks while there is none, unless O_NONBLOCK (EAGAIN).
 * poll() says EPOLLIN while one is unread. Each waiting fault has its own
 * event: two tasks missing the same page post two, and the second answer
 * for it finds the page there (EEXIST), as userfaultfd's UFFDIO_COPY does.
 *
 * The answers are ioctls of the pager fd on a struct vmfault_pager_range.
 * Each wakes the faults waiting in its range that it answers (PROTECT only
 * when it clears), which then retry: a fault that the answer did not
 * settle posts a new event. An answer given before the event is read
 * settles it too: the handler never sees it.
 */
#define VMFAULT_IOC_PAGER_OPEN	_IO(VMFAULT_IOC_MAGIC, 0x07)

/* vmfault_pager_event.flags: the access was a write ... */
#define VMFAULT_PAGER_EVENT_WRITE	0x1
/* ... to a write-protected page (else the page is missing) */
#define VMFAULT_PAGER_EVENT_WP		0x2

/**
 * struct vmfault_pager_event - one fault waiting for the handler
 * @offset: (out) byte offset of the page in the region
 * @address: (out) the faulting address in the faulting process, page
 *	aligned
 * @flags: (out) VMFAULT_PAGER_EVENT_*
 * @pid: (out) the faulting process (getpid() there)
 * @tid: (out) the faulting thread (gettid() there)
 * @reserved: (out) 0
 */
struct vmfault_pager_event {
	__u64 offset;
	__u64 address;
	__u32 flags;
	__u32 pid;
	__u32 tid;
	__u32 reserved;
};

/*
 * vmfault_pager_range.flags: SUPPLY and ZEROPAGE: the pages are
 * write-protected; PROTECT: set write protection (without it: clear it).
 * A write through a MAP_SHARED mapping to a write-protected page posts a
 * VMFAULT_PAGER_EVENT_WP event. A MAP_PRIVATE mapping never writes region
 * pages (core mm copies them), so write protection does not concern it.
 */
#define VMFAULT_PAGER_WP		0x1

/**
 * struct vmfault_pager_range - an answer (VMFAULT_PAGER_IOC_*)
 * @offset: (in) byte offset in the region, a multiple of the page size
 * @len: (in) bytes, a multiple of the page size, at least one page; the
 *	range ends within the region
 * @src: (in) SUPPLY: user address of @len bytes of data, or 0 for pages of
 *	zeros; else 0
 * @flags: (in) VMFAULT_PAGER_WP or 0 (SUPPLY, ZEROPAGE, PROTECT); else 0
 * @reserved: (in) 0
 * @done: (out) SUPPLY and ZEROPAGE: bytes answered from @offset before
 *	an error (all of @len on success); PROTECT and INVALIDATE: bytes of
 *	the pages changed; WAKE: faults woken
 */
struct vmfault_pager_range {
	__u64 offset;
	__u64 len;
	__u64 src;
	__u32 flags;
	__u32 reserved;
	__u64 done;
};

/**
 * struct vmfault_pager_info - a pager's counters (VMFAULT_PAGER_IOC_INFO)
 * @events: (out) events posted: faults that waited for the handler
 * @write_events: (out) of them, writes (VMFAULT_PAGER_EVENT_WRITE)
 * @wp_events: (out) of them, writes to write-protected pages
 * @unread: (out) events posted and not yet read, now
 * @waiting: (out) events read and not yet answered, now
 * @woken: (out) waiting faults woken by answers (each then retries)
 * @killed: (out) waiting faults ended by a fatal signal
 * @refused: (out) faults answered with SIGBUS: no handler (not yet
 *	attached, or dead), or a fault that could not drop mmap_lock
 * @supplied: (out) pages supplied (VMFAULT_PAGER_IOC_SUPPLY)
 * @zeroed: (out) holes answered with the zero page (ZEROPAGE)
 * @protected: (out) pages write-protected (PROTECT with VMFAULT_PAGER_WP)
 * @unprotected: (out) pages whose write protection was cleared
 * @invalidated: (out) pages and zero-page holes invalidated (INVALIDATE)
 * @mapped: (out) pages of another region mapped in (MAP)
 * @reserved: (out) 0
 */
struct vmfault_pager_info {
	__u64 events;
	__u64 write_events;
	__u64 wp_events;
	__u64 unread;
	__u64 waiting;
	__u64 woken;
	__u64 killed;
	__u64 refused;
	__u64 supplied;
	__u64 zeroed;
	__u64 protected;
	__u64 unprotected;
	__u64 invalidated;
	__u64 mapped;
	__u64 reserved[2];
};

/**
 * struct vmfault_pager_map - VMFAULT_PAGER_IOC_MAP: another region's pages
 * @src_fd: (in) the fd of another pager region
 * @flags: (in) VMFAULT_PAGER_WP (the pages are write-protected here) or 0
 * @src_offset: (in) byte offset of the range in the source region, a
 *	multiple of the page size; the range ends within it
 * @offset: (in) byte offset in this region, a multiple of the page size
 * @len: (in) bytes, a multiple of the page size, at least one page; the
 *	range ends within this region
 * @done: (out) bytes of the range gone through before an error (all of
 *	@len on success); pages the source does not have are left alone
 */
struct vmfault_pager_map {
	__s32 src_fd;
	__u32 flags;
	__u64 src_offset;
	__u64 offset;
	__u64 len;
	__u64 done;
};

/* Supply pages with data (or zeros); EEXIST at a page already answered. */
#define VMFAULT_PAGER_IOC_SUPPLY	_IOWR(VMFAULT_IOC_MAGIC, 0x10, struct vmfault_pager_range)
/*
 * Answer holes with the zero page: reads map the shared zero page, the
 * first write allocates a page of zeros (and a private one copies it);
 * EEXIST at a page already answered.
 */
#define VMFAULT_PAGER_IOC_ZEROPAGE	_IOWR(VMFAULT_IOC_MAGIC, 0x11, struct vmfault_pager_range)
/*
 * Set or clear the write protection of the pages (and zero-page holes) in
 * the range; setting it unmaps them from every mapping, so that the next
 * MAP_SHARED write faults.
 */
#define VMFAULT_PAGER_IOC_PROTECT	_IOWR(VMFAULT_IOC_MAGIC, 0x12, struct vmfault_pager_range)
/*
 * Unmap the range from every mapping and drop its pages and answers: the
 * next access of each page is a miss again (MAP_PRIVATE copies stay).
 */
#define VMFAULT_PAGER_IOC_INVALIDATE	_IOWR(VMFAULT_IOC_MAGIC, 0x13, struct vmfault_pager_range)
/* Wake the faults waiting in the range, which retry (after EEXIST, say). */
#define VMFAULT_PAGER_IOC_WAKE		_IOWR(VMFAULT_IOC_MAGIC, 0x14, struct vmfault_pager_range)
/* Read the pager's counters. */
#define VMFAULT_PAGER_IOC_INFO		_IOR(VMFAULT_IOC_MAGIC, 0x15, struct vmfault_pager_info)
/*
 * Answer pages with the very pages (frames) another pager region holds,
 * JOS's sys_page_map(): both regions then hold each page, and a write
 * through either shows in both until one of them replaces it (INVALIDATE,
 * then SUPPLY: a user-level copy on write). EEXIST at a page already
 * answered here.
 */
#define VMFAULT_PAGER_IOC_MAP		_IOWR(VMFAULT_IOC_MAGIC, 0x16, struct vmfault_pager_map)

#endif /* _VMFAULT_UAPI_H */
