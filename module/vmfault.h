/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfault internals shared by the device, region, fault and counter files.
 */
#ifndef _VMFAULT_H
#define _VMFAULT_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/percpu_counter.h>
#include <linux/sizes.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "vmfault_uapi.h"

/**
 * enum vmfault_outcome - what a fault handler did (tracepoint vmfault_fault)
 * @VMFAULT_OUT_ZERO_PAGE: mapped the zero page
 * @VMFAULT_OUT_PAGE: handed core mm the region page to map
 * @VMFAULT_OUT_COW: handed do_cow_fault() the page to copy
 * @VMFAULT_OUT_UPGRADE: replaced the zero page everywhere (pfn_mkwrite)
 * @VMFAULT_OUT_MKWRITE: made a read-only region page writable
 * @VMFAULT_OUT_SIGBUS: past the region's size or the file's end, a failed
 *	read, a page at the module's limit, or a hardware-poisoned page
 * @VMFAULT_OUT_OOM: no page could be allocated
 * @VMFAULT_OUT_READ: read the page from the backing file (a major fault)
 * @VMFAULT_OUT_AROUND: ->map_pages mapped the faulting page, already resident
 * @VMFAULT_OUT_SEGV: a grows-down region's fault below its stack: SIGSEGV
 * @VMFAULT_OUT_PAGER: pager mode: waited for the user-space handler (or, in
 *	->page_mkwrite, unmapped a write-protected page to wait in ->fault)
 */
enum vmfault_outcome {
	VMFAULT_OUT_ZERO_PAGE,
	VMFAULT_OUT_PAGE,
	VMFAULT_OUT_COW,
	VMFAULT_OUT_UPGRADE,
	VMFAULT_OUT_MKWRITE,
	VMFAULT_OUT_SIGBUS,
	VMFAULT_OUT_OOM,
	VMFAULT_OUT_READ,
	VMFAULT_OUT_AROUND,
	VMFAULT_OUT_SEGV,
	VMFAULT_OUT_PAGER,
};

/* Pages in a zero-mode fault-around window: core mm's default 64 KiB. */
#define VMFAULT_AROUND_PAGES	(SZ_64K / PAGE_SIZE)

/*
 * xarray mark of a file-mode page that may need writing back: its PG_dirty
 * is set, or was set while someone outside the region held the page (a
 * GUP or pin user, who may set PG_dirty again when done). Writeback looks
 * only at marked pages; PG_dirty says whether one is dirty.
 */
#define VMFAULT_PAGE_DIRTY	XA_MARK_0
/*
 * xarray mark of a file-mode page, not up to date, whose last read failed
 * in a fault that had dropped mmap_lock: the retried fault reports the
 * error (SIGBUS) instead of reading again.
 */
#define VMFAULT_PAGE_EIO	XA_MARK_1
/*
 * xarray mark of a file-mode page in the current working-set sample
 * (wset.c): unmapped, and not yet touched since it was drawn.
 */
#define VMFAULT_PAGE_SAMPLED	XA_MARK_2

/*
 * A counter set's slots: enum vmfault_counter's, then the module's own,
 * each an event that counters.c adds to two counters, so that the fault
 * path counts it once. VMFAULT_SLOT_HOLE_READS: a read fault that mapped
 * the zero page at its own page, the commonest fault ("read_faults" and
 * "zero_page_maps"). VMFAULT_SLOT_AROUND_ZERO: the zero page mapped by
 * fault-around at a hole next to a fault's ("zero_page_maps" and
 * "fault_around"). VMFAULT_SLOT_COW_WRITES: a zero-mode private write
 * fault ("write_faults" and "cow_faults").
 */
enum {
	VMFAULT_SLOT_HOLE_READS = VMFAULT_NR_COUNTERS,
	VMFAULT_SLOT_AROUND_ZERO,
	VMFAULT_SLOT_COW_WRITES,
	VMFAULT_NR_SLOTS,
};

/**
 * struct vmfault_counters - one CPU's share of a set of event counters
 * @v: indexed by enum vmfault_counter or a VMFAULT_SLOT_*; added to only
 *	by vmfault_count() and vmfault_count_add()
 */
struct vmfault_counters {
	atomic64_t v[VMFAULT_NR_SLOTS];
};

/**
 * struct vmfault_counter_set - a region's counters
 * @pcpu: each CPU's share
 * @node: in counters.c's list of the sets that the global counters add up
 */
struct vmfault_counter_set {
	struct vmfault_counters __percpu *pcpu;
	struct list_head node;
};

/* A chunk of a resident map: 2^15 bits (4 KiB), 128 MiB of region. */
#define VMFAULT_RESIDENT_SHIFT	15
#define VMFAULT_RESIDENT_BITS	BIT(VMFAULT_RESIDENT_SHIFT)

/**
 * struct vmfault_resident - which offsets of a region may hold a page
 * @pages: the offsets it covers: the region's size in pages when the map
 *	was made (the first page published, after the region was frozen)
 * @chunk: a bitmap of VMFAULT_RESIDENT_BITS offsets each (a region of
 *	fewer pages has one chunk of its own size), or NULL where no page was
 *	ever published
 *
 * Zero mode only, whose lookups read it. A bit is set before its page is
 * published (vmfault_region_publish()) and never cleared: a page that
 * leaves its slot (evicted to swap) leaves its bit, and a lookup
 * there walks the xarray as before. A clear bit, a missing chunk, or no
 * map at all answer "no page" without that walk, which is what a read of
 * a hole asks (fault_zero.c, vmfault_region_lookup()); offsets past
 * @pages walk the xarray.
 */
struct vmfault_resident {
	unsigned long pages;
	unsigned long *chunk[];
};

/**
 * struct vmfault_region - the memory object behind one open() of the device
 * @lock: protects the configuration (@mode to @writable), @mapped and @frozen
 * @mode: enum vmfault_mode
 * @size: size in bytes; 0 until configured or first mapped
 * @flags: VMFAULT_FLAG_*
 * @backing: file mode: the backing file, our own reference
 * @offset: file mode: byte offset of the region in @backing
 * @window: file mode: pages read per miss
 * @direct: file mode: @backing takes O_DIRECT I/O (reads go straight into
 *	region pages, bypassing its page cache)
 * @writable: file mode: @backing is open for writing
 * @mapped: set by the first mmap(); the configuration is frozen from then on
 * @frozen: set by the first mmap(), read(), write() or file-mode flush:
 *	from then on the configuration (and @backing) never changes, and
 *	paths that saw it set read it without @lock; no I/O starts before
 * @data_end: file mode: the end of the data in bytes, as a position in
 *	@backing, that write() has made beyond the file's end (0 if none);
 *	writeback extends the file to it
 * @zero_mapped: set before the zero page is first mapped for this region;
 *	while clear, allocating a page needs no unmap of zero-page ptes
 * @published: pages put in empty slots so far (vmfault_region_publish()):
 *	a read of a hole that sees it unchanged from before its lookup to
 *	after its zero-page pte needs no second lookup (fault_zero.c)
 * @resident: the offsets that may hold a page, a bit each, from the first
 *	page published on (struct vmfault_resident)
 * @stack_low: VMFAULT_FLAG_GROWSDOWN: the page offset of the stack's
 *	lowest page; only ever lowered, by one page per fault just below it
 * @guard_pages: VMFAULT_FLAG_GROWSDOWN: the pages at the region's start
 *	that the stack never grows into (a touch there is SIGSEGV)
 * @pages: the region's pages, indexed by page offset, each holding one
 *	reference. Without a frame budget an up-to-date page stays until the
 *	region is freed, so a fault (whose vma pins the file and so the
 *	region) may use an up-to-date entry without a reference of its own;
 *	with one, eviction (evict.c) may free it, and users take a reference
 *	(vmfault_region_find_get()) and check the slot under the page lock. A page that is not
 *	up to date (file mode, being read or failed) may be replaced by
 *	another filled elsewhere (file_io.c); users of such an entry hold a
 *	reference and check the slot again.
 * @inode: a private inode whose i_mapping is the file's f_mapping, so that
 *	unmap_mapping_range() reaches exactly this region's mappings
 * @stats: this region's counters, which the global ones include
 * @owner: tgid of the process that opened the region
 * @node: in the list of all regions, for /proc/vmfault_regions
 * @release_work: its release, when the task that drops the last reference
 *	cannot do the last writeback (dev.c)
 * @budget: file mode: the frame budget and replacement state (evict.c):
 *	the region's own or the module's pool; NULL for none. Set before the
 *	region is frozen
 * @evict: the region's side of @budget (evict.c)
 * @wset: the working-set sampler (wset.c), from the first sample on
 * @swap: zero mode with a budget: the swap file, our own reference (swap.c)
 * @swap_direct: @swap takes O_DIRECT
 * @swapped: zero mode with a budget: the swap map, a value entry at each
 *	page offset whose data is in @swap
 * @pager: pager mode: the handler's side (pager.c), from the first
 *	configuration as a pager region on
 * @ra_lock: VMFAULT_FLAG_ASYNC_PREFETCH: protects @ra_next and the
 *	moves of @ra_mark (fault_file.c)
 * @ra_mark: the page whose access starts the next background read;
 *	ULONG_MAX for none; read without @ra_lock
 * @ra_next: the first page of that read
 * @ra_jobs: background reads queued or under way; the region's release
 *	waits for 0
 */
struct vmfault_region {
	struct mutex lock;	/* protects mode .. writable, mapped */
	u32 mode;
	u64 size;
	u32 flags;
	struct file *backing;
	u64 offset;
	u32 window;
	bool direct;
	bool writable;
	bool mapped;
	bool frozen;
	bool zero_mapped;
	atomic_long_t published;
	struct vmfault_resident *resident;
	atomic64_t data_end;
	atomic_long_t stack_low;
	u32 guard_pages;
	struct xarray pages;
	struct inode *inode;
	struct vmfault_counter_set stats;
	pid_t owner;
	struct list_head node;
	struct work_struct release_work;
	struct vmfault_budget *budget;
	struct vmfault_evict *evict;
	struct vmfault_wset *wset;
	struct file *swap;
	bool swap_direct;
	struct xarray swapped;
	struct vmfault_pager *pager;
	spinlock_t ra_lock;	/* protects ra_next and the moves of ra_mark */
	pgoff_t ra_mark;
	pgoff_t ra_next;
	atomic_t ra_jobs;
};

static inline unsigned long vmfault_region_id(const struct vmfault_region *region)
{
	return region->inode->i_ino;
}

/* The region of a fault: the file of every vmfault mapping is a region's. */
static inline struct vmfault_region *vmfault_vmf_region(const struct vm_fault *vmf)
{
	return vmf->vma->vm_file->private_data;
}

/* File mode: where page offset @index of @region is in its backing file. */
static inline loff_t vmfault_file_pos(const struct vmfault_region *region, pgoff_t index)
{
	return region->offset + ((loff_t)index << PAGE_SHIFT);
}

/* counters.c */
extern const char * const vmfault_counter_names[VMFAULT_NR_COUNTERS];

/* dev.c */
extern unsigned long vmfault_max_pages;
extern struct percpu_counter vmfault_pages_used;
extern struct workqueue_struct *vmfault_wq;
extern struct workqueue_struct *vmfault_ra_wq;

#ifdef VMFAULT_NO_STATS
/* The benchmarks' comparison build: counters compiled out. */
static inline void vmfault_count(struct vmfault_region *region, unsigned int idx) {}
static inline void vmfault_count_add(struct vmfault_region *region, unsigned int idx, u64 n) {}
static inline void vmfault_count_add2(struct vmfault_region *region, unsigned int a, u64 na,
				      unsigned int b, u64 nb) {}
#else

/**
 * vmfault_count_add() - add to a counter of a region (and so a global one)
 * @region: the region
 * @idx: which counter: an enum vmfault_counter or a VMFAULT_SLOT_*
 * @n: how much
 *
 * Safe in any context that may be preempted. On x86 this_cpu_add() is one
 * instruction that no interrupt splits. Elsewhere it disables interrupts
 * around a load and a store (riscv64) or preemption around an atomic
 * (arm64); an atomic add to the share of the CPU the task runs on is
 * cheaper and as exact: a task that moves meanwhile adds, atomically, to
 * the share of the CPU it left, and the sum is the same. One count per
 * event: the global counters add up the regions' (counters.c). Inline:
 * the fault paths count on every fault.
 */
static inline void vmfault_count_add(struct vmfault_region *region, unsigned int idx, u64 n)
{
#ifdef CONFIG_X86
	this_cpu_add(region->stats.pcpu->v[idx].counter, n);
#else
	atomic64_add(n, raw_cpu_ptr(&region->stats.pcpu->v[idx]));
#endif
}

/**
 * vmfault_count_add2() - two counts of one event of a region
 * @region: the region
 * @a: the first counter
 * @na: how much to add to it
 * @b: the second counter
 * @nb: how much to add to it; nothing when 0
 *
 * As vmfault_count_add() of each, but outside x86 this CPU's share is
 * looked up once for both: on riscv64 that look-up (the CPU number, its
 * offset, the set's address) is most of a count, and an atomic between
 * the two would make the compiler repeat it.
 */
static inline void vmfault_count_add2(struct vmfault_region *region, unsigned int a, u64 na,
				      unsigned int b, u64 nb)
{
#ifdef CONFIG_X86
	this_cpu_add(region->stats.pcpu->v[a].counter, na);
	if (nb)
		this_cpu_add(region->stats.pcpu->v[b].counter, nb);
#else
	struct vmfault_counters *c = raw_cpu_ptr(region->stats.pcpu);

	atomic64_add(na, &c->v[a]);
	if (nb)
		atomic64_add(nb, &c->v[b]);
#endif
}

/**
 * vmfault_count() - count one event of a region (and so a global one)
 * @region: the region the event happened in
 * @idx: which counter: an enum vmfault_counter or a VMFAULT_SLOT_*
 *
 * As vmfault_count_add() of 1.
 */
static inline void vmfault_count(struct vmfault_region *region, unsigned int idx)
{
	vmfault_count_add(region, idx, 1);	/* x86: one incq */
}
#endif

void vmfault_counters_sum(struct vmfault_counters __percpu *stats, u64 *out);
void vmfault_global_counters_sum(u64 *out);
int vmfault_counters_init(struct vmfault_counter_set *set);
void vmfault_counters_retire(struct vmfault_counter_set *set);
u64 vmfault_counter_sum(struct vmfault_counters __percpu *stats, enum vmfault_counter idx);

/* fault.c (vmfault_fault_start() and vmfault_fault_done(): vmfault_trace.h) */
void __cold vmfault_fault_trace(struct vmfault_region *region, unsigned long address,
				pgoff_t pgoff, bool write, bool shared, unsigned int cause,
				enum vmfault_outcome outcome, u64 start);
vm_fault_t vmfault_fault_sigbus(struct vm_fault *vmf, struct vmfault_region *region,
				unsigned long size_pages);
vm_fault_t vmfault_fault_error(struct vm_fault *vmf, struct vmfault_region *region, long err,
			       unsigned long size_pages);

/* The outcome of a fault that vmfault_fault_error() answered with @ret. */
static inline enum vmfault_outcome vmfault_fault_error_outcome(vm_fault_t ret)
{
	return ret & VM_FAULT_OOM ? VMFAULT_OUT_OOM : VMFAULT_OUT_SIGBUS;
}

void vmfault_mkwrite_done(struct vm_fault *vmf, struct vmfault_region *region, u64 start);
vm_fault_t vmfault_region_map_resident(struct vm_fault *vmf, pgoff_t first, pgoff_t last);

/* proc.c */
int vmfault_proc_init(void);
void vmfault_proc_exit(void);

/* region.c: lifetime, configuration, the page store */
struct vmfault_region *vmfault_region_create(struct inode *inode);
void vmfault_region_destroy(struct vmfault_region *region);
int vmfault_region_configure(struct vmfault_region *region,
			     const struct vmfault_config *cfg);
u32 vmfault_region_freeze(struct vmfault_region *region);
int vmfault_region_map(struct vmfault_region *region, struct vm_area_struct *vma);
void vmfault_region_get_info(struct vmfault_region *region,
			     struct vmfault_region_info *info);
unsigned int vmfault_regions_count(void);
void vmfault_regions_for_each(void (*fn)(struct vmfault_region *region, void *arg), void *arg);
void vmfault_regions_report(void);
u64 vmfault_region_count_dirty(struct vmfault_region *region);
struct page *vmfault_page_alloc(struct vmfault_region *region, bool zero);
void vmfault_page_drop(struct page *page);
struct page *vmfault_region_publish(struct vmfault_region *region, pgoff_t index,
				    struct page *page, unsigned long address);
struct bio_vec;
unsigned int vmfault_region_publish_run(struct vmfault_region *region, pgoff_t index,
					const struct bio_vec *bv, unsigned int nr);
struct page *vmfault_region_find_get(struct vmfault_region *region, pgoff_t index);
void vmfault_region_replaced(struct vmfault_region *region, pgoff_t index,
			     struct page *old, struct page *page);
bool vmfault_page_poisoned(struct vmfault_region *region, pgoff_t index, struct page *page);
bool vmfault_page_lock_in_slot(struct vmfault_region *region, pgoff_t index, struct page *page);

/**
 * vmfault_region_uptodate_page() - the up-to-date page at an offset, if any
 * @region: the region
 * @index: page offset
 *
 * No reference is taken: an up-to-date page stays in the region until the
 * region is freed. A page that is not up to date may be replaced and
 * freed, and its struct page reused, between the lookup and the flag test:
 * reading the slot again after the test tells.
 *
 * Return: the page, or NULL when the slot is empty or not up to date.
 */
static inline struct page *vmfault_region_uptodate_page(struct vmfault_region *region,
							pgoff_t index)
{
	struct page *page = xa_load(&region->pages, index);

	if (!page || !PageUptodate(page))
		return NULL;
	/* Only for regions without a budget (evict.c): see @pages. */
	/* Zero-mode pages are up to date from birth and never replaced. */
	if (region->mode != VMFAULT_MODE_FILE)
		return page;
	return likely(xa_load(&region->pages, index) == page) ? page : NULL;
}

/* file_io.c */

/**
 * enum vmfault_get - what a caller of vmfault_file_get_page() may do
 * @VMFAULT_GET_WAIT: the caller holds no lock (a read() or write() of the
 *	region, or a user-mode fault that dropped mmap_lock): it may read
 *	with the backing file's ->read_iter, which can take the file's inode
 *	lock, and wait for another task's read
 * @VMFAULT_GET_SAFE: the caller may hold the backing file's inode lock or
 *	mmap_lock (a kernel-mode fault: a system call copying to or from a
 *	region mapping, GUP; a fault that cannot drop mmap_lock): it reads
 *	only through the backing file's page cache, as filemap_fault() does,
 *	and never waits for another task's read
 * @VMFAULT_GET_CACHED: a user-mode fault that still holds mmap_lock (or
 *	the per-VMA lock) and could drop it: copy the pages whose data a
 *	tmpfs backing file already holds, up to date, with no I/O and
 *	no wait, as filemap_fault() maps a cached page without dropping the
 *	lock; with a frame budget, only if a clean victim can be had without
 *	waiting. Anything else is ERR_PTR(-EAGAIN): drop the lock and read
 *	with VMFAULT_GET_WAIT
 * @VMFAULT_GET_PREFETCH: a background read (VMFAULT_FLAG_ASYNC_PREFETCH),
 *	in a worker that holds no lock: reads as VMFAULT_GET_WAIT does, but
 *	never waits for a victim, writes one back or goes over a budget
 */
enum vmfault_get {
	VMFAULT_GET_WAIT,
	VMFAULT_GET_SAFE,
	VMFAULT_GET_CACHED,
	VMFAULT_GET_PREFETCH,
};

struct page *vmfault_file_get_page(struct vmfault_region *region, pgoff_t index,
				   enum vmfault_get how, bool write, bool *major);
bool vmfault_file_cached(struct vmfault_region *region, pgoff_t index);
void vmfault_file_mark_dirty(struct vmfault_region *region, pgoff_t index,
			     struct page *page);
void vmfault_file_extend(struct vmfault_region *region, loff_t end);
bool vmfault_file_take_error(struct vmfault_region *region, pgoff_t index);
int vmfault_file_writeback(struct vmfault_region *region, pgoff_t first, pgoff_t last);
ssize_t vmfault_backing_rw(struct vmfault_region *region, struct file *file, bool *direct,
			   loff_t pos, struct iov_iter *iter, bool write);
int vmfault_file_flush(struct vmfault_region *region, bool sync);
pgoff_t vmfault_file_end(struct vmfault_region *region);
void vmfault_file_prefetch(struct vmfault_region *region, pgoff_t index);
bool vmfault_file_ra_wait(struct vmfault_region *region, bool killable);

/* dev.c */
extern const struct file_operations vmfault_fops;

/**
 * vmfault_is_region_file() - is this an open /dev/vmfault?
 * @file: any file
 *
 * Return: true if @file is a region's file.
 */
static inline bool vmfault_is_region_file(const struct file *file)
{
	return file->f_op == &vmfault_fops;
}

/* io.c */
ssize_t vmfault_read_iter(struct kiocb *iocb, struct iov_iter *to);
ssize_t vmfault_write_iter(struct kiocb *iocb, struct iov_iter *from);
loff_t vmfault_llseek(struct file *file, loff_t offset, int whence);

/* fault_zero.c */
int vmfault_cow_zero_init(void);
void vmfault_cow_zero_exit(void);
struct page *vmfault_cow_zero_page(void);
bool vmfault_zero_page_allowed(const struct vm_area_struct *vma);
/* For vmfault_zero_map_holes(): no earlier count of published pages to compare. */
#define VMFAULT_NO_SEQ	(-1L)
vm_fault_t vmfault_zero_map_holes(struct vm_fault *vmf, struct vmfault_region *region,
				  unsigned long size_pages, unsigned long nr, long seq,
				  bool count_fault);
vm_fault_t vmfault_zero_pfn_mkwrite(struct vm_fault *vmf);
struct page *vmfault_region_get_page(struct vmfault_region *region, pgoff_t index,
				     bool alloc, unsigned long address);
struct page *vmfault_region_alloc_page(struct vmfault_region *region, pgoff_t index,
				       unsigned long address);
void vmfault_region_unmap_zero(struct vmfault_region *region, pgoff_t index);
void vmfault_region_zero_mapped(struct vmfault_region *region);
extern const struct vm_operations_struct vmfault_zero_vm_ops;
extern const struct vm_operations_struct vmfault_zero_fa_vm_ops;

/**
 * vmfault_random() - the next number of a seeded xorshift64* generator
 * @state: its state, never 0; updated
 *
 * The replacement policy RANDOM (evict.c) and random working-set samples
 * (wset.c): reproducible from the seed, and the selftests' simulator
 * computes the same sequence.
 *
 * Return: 64 random bits (the high ones are the better).
 */
static inline u64 vmfault_random(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* pager.c */

/**
 * enum vmfault_pager_op - a handler's answer (tracepoint vmfault_pager_answer)
 * @VMFAULT_PAGER_SUPPLY: VMFAULT_PAGER_IOC_SUPPLY
 * @VMFAULT_PAGER_ZEROPAGE: VMFAULT_PAGER_IOC_ZEROPAGE
 * @VMFAULT_PAGER_PROTECT: VMFAULT_PAGER_IOC_PROTECT with VMFAULT_PAGER_WP
 * @VMFAULT_PAGER_UNPROTECT: VMFAULT_PAGER_IOC_PROTECT without it
 * @VMFAULT_PAGER_INVALIDATE: VMFAULT_PAGER_IOC_INVALIDATE
 * @VMFAULT_PAGER_WAKE: VMFAULT_PAGER_IOC_WAKE
 * @VMFAULT_PAGER_MAP: VMFAULT_PAGER_IOC_MAP
 */
enum vmfault_pager_op {
	VMFAULT_PAGER_SUPPLY,
	VMFAULT_PAGER_ZEROPAGE,
	VMFAULT_PAGER_PROTECT,
	VMFAULT_PAGER_UNPROTECT,
	VMFAULT_PAGER_INVALIDATE,
	VMFAULT_PAGER_WAKE,
	VMFAULT_PAGER_MAP,
};

struct seq_file;
struct vmfault_pager;
int vmfault_pager_configure(struct vmfault_region *region);
void vmfault_pager_free(struct vmfault_region *region);
int vmfault_pager_open(struct file *file, unsigned long flags);
void vmfault_pager_show(struct seq_file *m);
extern const struct vm_operations_struct vmfault_pager_vm_ops;

/* evict.c */
struct seq_file;
struct vmfault_budget;
struct vmfault_evict;
struct vmfault_frame;

/* What a caller of vmfault_frame_reserve() may do to make room. */
#define VMFAULT_EVICT_MAY_WAIT		0x1	/* wait for a victim's page lock */
#define VMFAULT_EVICT_MAY_WRITE		0x2	/* write a dirty victim back */
#define VMFAULT_EVICT_MAY_EXCEED	0x4	/* go over the budget rather than fail */
#define VMFAULT_EVICT_RECLAIM		0x8	/* the shrinker's, not the policy's */
#define VMFAULT_EVICT_KEEP		0x10	/* keep the page with its frame, free */

const char *vmfault_policy_name(u32 policy);
int vmfault_budget_set(struct vmfault_region *region, const struct vmfault_frames *fr);
void vmfault_budget_get(struct vmfault_region *region, struct vmfault_frames *fr);
int vmfault_budget_set_refs(struct vmfault_region *region, const struct vmfault_refs *r);
int vmfault_budget_check_map(struct vmfault_region *region);
void vmfault_budget_destroy(struct vmfault_region *region);
void vmfault_pool_show(struct seq_file *m);
int vmfault_evict_init(void);
void vmfault_evict_exit(void);
struct vmfault_frame *vmfault_frame_reserve(struct vmfault_region *region, pgoff_t for_index,
					    unsigned int flags);
struct page *vmfault_frame_page(struct vmfault_region *region, struct vmfault_frame *f,
				bool zero);
void vmfault_frame_unreserve(struct vmfault_region *region, struct vmfault_frame *f);
void vmfault_frame_attach(struct page *page, struct vmfault_frame *f);
void vmfault_frame_detach(struct vmfault_region *region, struct page *page);
void vmfault_frame_move(struct page *old, struct page *page);
void vmfault_frame_uptodate(struct vmfault_region *region, struct page *page);
void vmfault_frame_reference(struct vmfault_region *region, pgoff_t index, struct page *page,
			     bool major);

/* wset.c */
struct vmfault_wset;
void vmfault_wset_touch(struct vmfault_region *region, pgoff_t index, bool write);
int vmfault_wset_sample(struct vmfault_region *region, struct vmfault_ws_sample *req);
void vmfault_wset_free(struct vmfault_region *region);

/* swap.c */
int vmfault_swap_file(int fd, struct file **filep);
int vmfault_swap_writeout(struct vmfault_region *region, pgoff_t index);
bool vmfault_swap_read_failed(struct vmfault_region *region, pgoff_t index);
struct page *vmfault_swap_get_page(struct vmfault_region *region, pgoff_t index,
				   enum vmfault_get how, bool alloc, bool *major);
extern const struct vm_operations_struct vmfault_swap_vm_ops;

/* fault_file.c */
extern const struct vm_operations_struct vmfault_file_vm_ops;
extern const struct vm_operations_struct vmfault_file_nofa_vm_ops;

#endif /* _VMFAULT_H */
