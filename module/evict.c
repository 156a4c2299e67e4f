// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault frame budgets: more virtual memory than frames. A file-mode
 * region given a budget keeps at most that many of its pages resident;
 * a miss when the budget is full evicts a victim that the region's
 * replacement policy chooses, and the victim's next access is a major
 * fault that reads it back.
 */

/**
 * DOC: frame budgets, eviction and replacement
 *
 * VMFAULT_IOC_SET_FRAMES gives a region a budget of frames (a zero-mode
 * region with a swap file, swap.c): at
 * most that many region pages in its page store at once, up to date or
 * being read. Each resident page holds a struct vmfault_frame (in
 * page->private: region pages are on no LRU and in no page cache, so the
 * field is the module's), and the up-to-date ones are on the region's
 * list in the policy's order.
 *
 * A miss (file_io.c reads a window of pages) first reserves a frame per
 * page. When the budget is full the policy names a victim, which is
 * evicted as truncation evicts a page-cache page: locked, unmapped from
 * every mapping of the region (unmap_mapping_range() on the region's
 * inode), taken out of its slot, unlocked, freed (or kept free, below).
 * A dirty victim is written back first (file_io.c's writeback, with no
 * lock held, as a munmap writeback is), and counted in evictions_dirty;
 * a clean one costs
 * no I/O. A victim that is locked, under writeback, mlock()ed or held by
 * someone besides its mappings (a GUP pin, an O_DIRECT request) is passed
 * over for the policy's next choice.
 *
 * A fault that may hold the backing file's inode lock (a kernel-mode
 * fault, file_io.c's VMFAULT_GET_SAFE) evicts only clean pages, and only
 * pages it can lock without waiting; if none is left it takes a frame
 * over the budget, which the next miss that may write gives back.
 * When every resident page is mlock()ed, a miss gets SIGBUS (counted in
 * sigbus): a budget exhausted by locked pages is full for good.
 *
 * Faults and eviction agree through the page lock, as filemap_fault() and
 * truncation do: a fault on a region with a budget returns its page
 * locked (VM_FAULT_LOCKED) after checking that the slot still holds it,
 * and core mm maps it before unlocking; eviction holds the lock from the
 * unmap to the slot's erasure. A page is either mapped before the unmap
 * (which removes the pte) or found gone by the fault (which looks again).
 * ->page_mkwrite and write() make the same check. Regions with a budget
 * have no ->map_pages: fault-around would map pages that were never
 * referenced.
 *
 * What the policies see. Region pages are not on the kernel's LRU, so the
 * kernel's accessed-bit scan never looks at them; the module observes
 * references through faults, with software reference bits as VAX/VMS
 * did: a page that is resident but not mapped takes a minor fault when it
 * is used (a reference fault, counted in ref_faults), and that fault is
 * the reference. CLOCK's hand, clearing a page's reference bit, unmaps
 * the page, so that the page is mapped exactly while its bit is set, and
 * the next use sets it again. Reference tracing (trace_pages K) keeps at
 * most K pages mapped: each fault on another page unmaps the page
 * mapped longest, so every use of a page other than the last K faults.
 * With K = 1 the policy sees the whole reference string (less
 * repetitions of one page in a row, which change no policy's choices),
 * which exact LRU and OPT need.
 *
 * - FIFO: the list is in arrival order; the victim is its head.
 * - LRU: every fault moves its page to the tail; the victim is the head.
 * - CLOCK: the list is the clock, in arrival order, with a hand; a page
 *   arrives with its bit set, just behind the hand. The hand clears set
 *   bits (unmapping those pages) until it meets a clear one: the victim.
 *   The hand stops just past it.
 * - OPT: each page carries the position of its next use in the reference
 *   string (VMFAULT_IOC_SET_REFS), updated at each of its faults; the
 *   victim is the page used farthest ahead, or never again (the first in
 *   arrival order among those). A fault on a page other than the string's
 *   next is looked up further on.
 * - RANDOM: xorshift64* from the seed; the victim is the (r mod n)-th of
 *   the n candidates in arrival order.
 *
 * The free-frame list. On a region's own budget a victim's frame is not
 * freed: it goes on the budget's free list with its page, and the next
 * miss takes it and reads into that very page (vmfault_frame_page()), as
 * an operating system keeps a pool of free frames: no page allocation, no
 * clearing by init_on_alloc, no memcg charge and uncharge, no slab free
 * and allocation, and the frame stays on the list_lru. Only a page nothing
 * else holds is kept (no GUP reference, not poisoned). A free frame's page
 * stays charged to the memory cgroup that allocated it, so a miss takes
 * only a free frame charged where its own new page would be; when the
 * budget is full and none is, it frees one and allocates. Free frames
 * count as used in the budget (budget_used; budget_free of them free), so
 * resident and free pages together stay within it. The pool keeps none:
 * its batch is 1 and its regions' groups differ.
 *
 * Memory pressure: frames of up-to-date pages are also on a list_lru
 * (per node and memory cgroup: the frame is a slab object charged with its
 * page), and the module's shrinker evicts their pages through
 * vmfault_evict_one() for global reclaim, a cgroup at its limit and
 * drop_caches: clean, unlocked pages only (counted in reclaimed), never
 * waiting; the dirty ones it meets go to a work item that writes them
 * back, off the reclaim path. Free frames are on it too, and it frees
 * them with their pages (not counted in reclaimed: they hold no data).
 *
 * Lock order: the region page lock -> i_mmap_rwsem -> page table locks,
 * as truncation. The budget's spinlock is a leaf but for the list_lru's
 * lock, which nests inside it; the shrinker, holding the list's lock,
 * only tries the budget's. Eviction drops the budget's lock before it
 * locks the victim.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/*
 * CLOCK unmaps the pages its hand passes in batches of this many: the
 * unmaps sleep, so they are made with the budget's lock dropped.
 */
#define VMFAULT_CLOCK_BATCH	16

/**
 * struct vmfault_frame - one frame of a budget, held by a resident page
 * @node: in the budget's list (listed pages only), in the policy's order
 * @lru: in the shrinker's list_lru (listed pages that are not busy), or
 *	in the shrinker's private lists while it holds the frame busy
 * @region: the region of the page that holds it
 * @index: the page offset of that page
 * @next_use: OPT: the position of the page's next use in the reference
 *	string, U64_MAX for never
 * @pass: the last reservation that tried to evict the page
 * @referenced: CLOCK's reference bit
 * @busy: being evicted (no other reservation picks it, and the region
 *	is not freed meanwhile)
 * @listed: the page is up to date and on the list
 * @page: a free frame's page, kept from an eviction for the next miss
 *	(until vmfault_frame_page() takes it); NULL otherwise
 * @free: on the budget's free list (@node), and on the shrinker's (@lru)
 */
struct vmfault_frame {
	struct list_head node;
	struct list_head lru;
	struct vmfault_region *region;
	pgoff_t index;
	u64 next_use;
	struct page *page;
	u32 pass;
	bool referenced;
	bool busy;
	bool listed;
	bool free;
};

/**
 * struct vmfault_budget - frames and the replacement state over them: a
 *	region's own, or the module's pool, which regions share
 * @lock: protects every field below, the frames' fields and the
 *	per-region state (struct vmfault_evict) of the regions using it
 * @frames: the budget
 * @policy: enum vmfault_policy
 * @used: frames in use: held by pages in the regions' slots, or free
 *	frames on @free
 * @regions: regions using it (the pool's policy is fixed while any do)
 * @list: listed frames, in the policy's order
 * @hand: CLOCK: the next list node the hand looks at (&@list: the head)
 * @pass: reservations so far, for vmfault_frame.pass
 * @rng: RANDOM: the generator's state
 * @batch: victims evicted at once when the budget is full (1 or more)
 * @free: free frames, each with the page an eviction left it (a region's
 *	own budget only): the next misses take them rather than allocate,
 *	clear and charge a page, and free one
 * @nr_free: frames on @free
 */
struct vmfault_budget {
	spinlock_t lock;	/* protects the fields below, frames, vmfault_evict */
	u32 frames;
	u32 policy;
	u32 batch;
	unsigned long used;
	unsigned long regions;
	struct list_head list;
	struct list_head *hand;
	u32 pass;
	u64 rng;
	struct list_head free;
	unsigned long nr_free;
};

/**
 * struct vmfault_evict - a region's side of its budget
 * @own: the region's own budget, unless it uses the pool
 * @budget: &@own or the pool (also in vmfault_region.budget)
 * @flags: VMFAULT_FRAMES_*
 * @trace_pages: reference tracing: pages kept mapped (0: off)
 * @seed: VMFAULT_POLICY_RANDOM's seed, as given
 * @used: frames held by this region's pages
 * @refs: OPT: the reference string, repetitions in a row removed
 * @ref_next: OPT: for each position, the next position of the same page,
 *	or U64_MAX
 * @nr_refs: the length of @refs
 * @ref_pos: OPT: the position of the next reference
 * @traced: reference tracing: a ring of the pages mapped last
 * @nr_traced: how many of @traced are in use
 * @traced_head: the oldest entry of @traced
 */
struct vmfault_evict {
	struct vmfault_budget own;
	struct vmfault_budget *budget;
	u32 flags;
	u32 trace_pages;
	u64 seed;
	unsigned long used;
	u64 *refs;
	u64 *ref_next;
	u64 nr_refs;
	u64 ref_pos;
	pgoff_t *traced;
	u32 nr_traced;
	u32 traced_head;
};

/*
 * The module's pool: regions that ask for it (VMFAULT_FRAMES_POOL) share
 * its frames, so that one region's misses may evict another's pages
 * (global replacement), or, with VMFAULT_FRAMES_LOCAL, only its own.
 */
static struct vmfault_budget vmfault_pool = {
	.lock = __SPIN_LOCK_UNLOCKED(vmfault_pool.lock),
	.list = LIST_HEAD_INIT(vmfault_pool.list),
	.free = LIST_HEAD_INIT(vmfault_pool.free),
	.hand = &vmfault_pool.list,
	.policy = VMFAULT_POLICY_FIFO,
	.batch = 1,
	.rng = 0x9e3779b97f4a7c15ULL,
};

/*
 * Memory pressure. Frames of pages that are up to date are also on the
 * shrinker's list_lru, one list per node and memory cgroup (the cgroup of
 * the task whose miss allocated the frame and its page), so that the
 * kernel's reclaim, global or of one cgroup at its limit, and drop_caches
 * can take region pages back.
 */
static struct kmem_cache *vmfault_frame_cache;
static struct list_lru vmfault_lru;
static struct shrinker *vmfault_shrinker;
/* Set once vmfault_lru is ready (on 6.1, after the shrinker is registered). */
static bool vmfault_lru_ready;

static const char * const vmfault_policy_names[VMFAULT_NR_POLICIES] = {
	[VMFAULT_POLICY_FIFO]	= "fifo",
	[VMFAULT_POLICY_CLOCK]	= "clock",
	[VMFAULT_POLICY_LRU]	= "lru",
	[VMFAULT_POLICY_OPT]	= "opt",
	[VMFAULT_POLICY_RANDOM]	= "random",
};

/**
 * vmfault_policy_name() - the name of a replacement policy
 * @policy: enum vmfault_policy
 *
 * Return: "fifo", "clock", "lru", "opt", "random", or "?".
 */
const char *vmfault_policy_name(u32 policy)
{
	return policy < VMFAULT_NR_POLICIES ? vmfault_policy_names[policy] : "?";
}

#define vmfault_budget_err(fmt, ...)						\
	pr_info_ratelimited("frames (%s[%d]): " fmt "\n", current->comm,	\
			    task_pid_nr(current), ##__VA_ARGS__)

static struct vmfault_frame *vmfault_page_frame(struct page *page)
{
	return (struct vmfault_frame *)page_private(page);
}

static void vmfault_evict_free(struct vmfault_evict *ev)
{
	if (!ev)
		return;
	kvfree(ev->refs);
	kvfree(ev->ref_next);
	kfree(ev->traced);
	kfree(ev);
}

/* Attach a region to the pool: the pool's lock taken, its policy fixed. */
static void vmfault_pool_get(void)
{
	spin_lock(&vmfault_pool.lock);
	vmfault_pool.regions++;
	spin_unlock(&vmfault_pool.lock);
}

/**
 * vmfault_budget_set() - VMFAULT_IOC_SET_FRAMES
 * @region: the region
 * @fr: the budget, copied from user space
 *
 * Return: 0; -EINVAL for a zero-mode region with GROWSDOWN or FAULT_AROUND
 * or a swap fd that is not a regular file, a swap fd in file mode, a
 * budget larger than the region, a policy out of range, a batch over
 * VMFAULT_MAX_EVICT_BATCH or over 1 on the pool, OPT without tracing of
 * one page or on the pool, a pool region with frames or a policy other
 * than the pool's or while the pool has no frames, a seed for a policy
 * other than RANDOM, or an unknown flag or an (out) field not 0; -EBADF
 * for a swap fd not open for reading and writing; -EBUSY once the region
 * is in use; -ENOMEM.
 */
int vmfault_budget_set(struct vmfault_region *region, const struct vmfault_frames *fr)
{
	bool pool = fr->flags & VMFAULT_FRAMES_POOL;
	struct vmfault_evict *ev = NULL;
	struct file *swap = NULL;
	u32 pool_policy = READ_ONCE(vmfault_pool.policy);
	int err = -EINVAL;

	if (fr->flags & ~VMFAULT_FRAMES_FLAGS_ALL || fr->used || fr->budget_used ||
	    fr->budget_frames || fr->budget_free) {
		vmfault_budget_err("unknown flags %#x, or (out) fields not 0",
				   fr->flags);
		return -EINVAL;
	}
	if ((fr->flags & VMFAULT_FRAMES_LOCAL) && !pool) {
		vmfault_budget_err("LOCAL is for a region on the pool (a budget of its own is always local)");
		return -EINVAL;
	}
	if (fr->policy >= VMFAULT_NR_POLICIES) {
		vmfault_budget_err("policy %u is not one of 0 to %u", fr->policy,
				   VMFAULT_NR_POLICIES - 1);
		return -EINVAL;
	}
	if (pool && (fr->frames || fr->policy != pool_policy || fr->seed)) {
		vmfault_budget_err("a pool region takes the pool's frames and policy (%s, module parameters pool_frames and pool_policy): frames and seed 0, policy %u",
				   vmfault_policy_name(pool_policy), pool_policy);
		return -EINVAL;
	}
	if (pool && !READ_ONCE(vmfault_pool.frames)) {
		vmfault_budget_err("the pool has 0 frames: set the module parameter pool_frames first");
		return -EINVAL;
	}
	if (fr->batch > VMFAULT_MAX_EVICT_BATCH || (pool && fr->batch > 1)) {
		vmfault_budget_err("batch %u: from 0 to %u, and 0 or 1 on the pool", fr->batch,
				   VMFAULT_MAX_EVICT_BATCH);
		return -EINVAL;
	}
	if (fr->seed && fr->policy != VMFAULT_POLICY_RANDOM) {
		vmfault_budget_err("a seed is for the random policy only");
		return -EINVAL;
	}
	if (fr->policy == VMFAULT_POLICY_OPT && fr->trace_pages != 1) {
		vmfault_budget_err("OPT must see every reference: it needs trace_pages 1 (got %u)",
				   fr->trace_pages);
		return -EINVAL;
	}
	if (!pool && !fr->frames && fr->trace_pages) {
		vmfault_budget_err("trace_pages needs a budget (frames, or the pool)");
		return -EINVAL;
	}
	if (READ_ONCE(region->mode) == VMFAULT_MODE_PAGER) {
		vmfault_budget_err("a pager region's pages are its handler's: no frame budget");
		return -EINVAL;
	}
	if (READ_ONCE(region->mode) == VMFAULT_MODE_ZERO && (fr->frames || pool)) {
		err = vmfault_swap_file(fr->swap_fd, &swap);
		if (err)
			return err;
		err = -EINVAL;
	} else if (fr->swap_fd) {
		vmfault_budget_err("swap_fd is for a zero-mode budget; 0 otherwise");
		return -EINVAL;
	}
	if (fr->frames || pool) {
		ev = kzalloc(sizeof(*ev), GFP_KERNEL);
		if (!ev) {
			err = -ENOMEM;
			goto err_free_evict;
		}
		if (fr->trace_pages) {
			ev->traced = kcalloc(fr->trace_pages, sizeof(*ev->traced), GFP_KERNEL);
			if (!ev->traced) {
				err = -ENOMEM;
				goto err_free_evict;
			}
		}
		spin_lock_init(&ev->own.lock);
		INIT_LIST_HEAD(&ev->own.list);
		INIT_LIST_HEAD(&ev->own.free);
		ev->own.hand = &ev->own.list;
		ev->own.frames = fr->frames;
		ev->own.policy = fr->policy;
		ev->own.regions = 1;
		ev->own.rng = fr->seed ?: 0x9e3779b97f4a7c15ULL;
		ev->own.batch = fr->batch ?: 1;
		ev->budget = pool ? &vmfault_pool : &ev->own;
		ev->flags = fr->flags;
		ev->trace_pages = fr->trace_pages;
		ev->seed = fr->seed;
	}

	mutex_lock(&region->lock);
	if (region->frozen) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("region %lu is already in use (mapped, or file I/O)",
				   vmfault_region_id(region));
		err = -EBUSY;
		goto err_free_evict;
	}
	if (region->mode == VMFAULT_MODE_ZERO && ev && !swap) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("the region changed mode meanwhile");
		goto err_free_evict;
	}
	if (region->mode == VMFAULT_MODE_ZERO &&
	    region->flags & (VMFAULT_FLAG_GROWSDOWN | VMFAULT_FLAG_FAULT_AROUND)) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("a zero-mode budget takes neither GROWSDOWN nor FAULT_AROUND");
		goto err_free_evict;
	}
	if (fr->frames > region->size >> PAGE_SHIFT ||
	    fr->trace_pages > region->size >> PAGE_SHIFT) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("frames %u and trace_pages %u must be at most the region's %llu pages",
				   fr->frames, fr->trace_pages, region->size >> PAGE_SHIFT);
		goto err_free_evict;
	}
	/* Unfrozen: no page is resident, nothing uses the old budget. */
	vmfault_budget_destroy(region);
	if (ev && pool)
		vmfault_pool_get();
	region->evict = ev;
	region->budget = ev ? ev->budget : NULL;
	region->swap = swap;
	region->swap_direct = swap && (swap->f_mode & FMODE_CAN_ODIRECT);
	mutex_unlock(&region->lock);
	return 0;

err_free_evict:
	vmfault_evict_free(ev);
	if (swap)
		fput(swap);
	return err;
}

/**
 * vmfault_budget_get() - VMFAULT_IOC_GET_FRAMES
 * @region: the region
 * @fr: zeroed by the caller; filled with the budget (all 0 if none) and
 *	what is in use
 */
void vmfault_budget_get(struct vmfault_region *region, struct vmfault_frames *fr)
{
	struct vmfault_evict *ev;
	struct vmfault_budget *b;

	mutex_lock(&region->lock);
	ev = region->evict;
	if (ev) {
		b = ev->budget;
		spin_lock(&b->lock);
		fr->frames = ev->own.frames;
		fr->policy = b->policy;
		fr->trace_pages = ev->trace_pages;
		fr->flags = ev->flags;
		fr->seed = ev->seed;
		fr->used = ev->used;
		fr->budget_used = b->used;
		fr->budget_frames = b->frames;
		fr->batch = b->batch;
		fr->budget_free = b->nr_free;
		spin_unlock(&b->lock);
	}
	mutex_unlock(&region->lock);
}

/*
 * OPT's string without repetitions in a row, and each position's next
 * use, into @ev. Returns 0 or a negative errno.
 */
static int vmfault_budget_load_refs(struct vmfault_evict *ev, const u64 __user *urefs,
				    u64 nr, u64 pages)
{
	struct xarray last;
	u64 i, n = 0;
	int err = 0;

	ev->refs = kvmalloc_array(nr, sizeof(*ev->refs), GFP_KERNEL);
	ev->ref_next = kvmalloc_array(nr, sizeof(*ev->ref_next), GFP_KERNEL);
	if (!ev->refs || !ev->ref_next)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		u64 r;

		if (get_user(r, urefs + i))
			return -EFAULT;
		if (r >= pages) {
			vmfault_budget_err("reference %llu is page %llu, past the region's %llu pages",
					   i, r, pages);
			return -EINVAL;
		}
		if (!n || ev->refs[n - 1] != r)
			ev->refs[n++] = r;
	}
	ev->nr_refs = n;
	/* Backwards: the next use of each position's page. */
	xa_init(&last);
	for (i = n; i-- > 0;) {
		void *next = xa_load(&last, ev->refs[i]);

		ev->ref_next[i] = next ? xa_to_value(next) : U64_MAX;
		err = xa_err(xa_store(&last, ev->refs[i], xa_mk_value(i), GFP_KERNEL));
		if (err)
			break;
	}
	xa_destroy(&last);
	return err;
}

/**
 * vmfault_budget_set_refs() - VMFAULT_IOC_SET_REFS: OPT's reference string
 * @region: a region with an OPT budget, not yet in use
 * @r: the string's length and address, copied from user space
 *
 * Return: 0; -EINVAL without an OPT budget, for a length of 0 or more
 * than VMFAULT_MAX_REFS, or a page past the region's end; -EBUSY once the
 * region is in use; -EFAULT; -ENOMEM.
 */
int vmfault_budget_set_refs(struct vmfault_region *region, const struct vmfault_refs *r)
{
	struct vmfault_evict *ev, tmp = {};
	u64 pages;
	int err;

	if (!r->nr || r->nr > VMFAULT_MAX_REFS) {
		vmfault_budget_err("%llu references: from 1 to %u", r->nr, VMFAULT_MAX_REFS);
		return -EINVAL;
	}
	/*
	 * The string is copied in without region->lock: mmap() takes that
	 * lock under mmap_lock, and a copy from user space may fault.
	 */
	mutex_lock(&region->lock);
	pages = region->size >> PAGE_SHIFT;
	mutex_unlock(&region->lock);
	err = vmfault_budget_load_refs(&tmp, u64_to_user_ptr(r->refs), r->nr, pages);
	if (err)
		goto out_free;

	mutex_lock(&region->lock);
	ev = region->evict;
	if (region->frozen) {
		vmfault_budget_err("region %lu is already in use", vmfault_region_id(region));
		err = -EBUSY;
	} else if (!ev || ev->budget != &ev->own || ev->own.policy != VMFAULT_POLICY_OPT ||
		   region->size >> PAGE_SHIFT != pages) {
		vmfault_budget_err("a reference string is for a region with the OPT policy");
		err = -EINVAL;
	} else {
		swap(ev->refs, tmp.refs);
		swap(ev->ref_next, tmp.ref_next);
		ev->nr_refs = tmp.nr_refs;
		ev->ref_pos = 0;
	}
	mutex_unlock(&region->lock);
out_free:
	kvfree(tmp.refs);
	kvfree(tmp.ref_next);
	return err;
}

/**
 * vmfault_budget_check_map() - may a region with a budget be mapped?
 * @region: the region, its lock held
 *
 * Return: 0, or -EINVAL (with a message) for OPT without a reference string.
 */
int vmfault_budget_check_map(struct vmfault_region *region)
{
	struct vmfault_evict *ev = region->evict;

	if (ev && ev->budget->policy == VMFAULT_POLICY_OPT && !ev->nr_refs) {
		vmfault_budget_err("region %lu: OPT needs the reference string (VMFAULT_IOC_SET_REFS) before mmap()",
				   vmfault_region_id(region));
		return -EINVAL;
	}
	return 0;
}

/* Free a free frame, off every list, and its page. */
static void vmfault_free_frame(struct vmfault_frame *f)
{
	set_page_private(f->page, 0);
	vmfault_page_drop(f->page);
	kmem_cache_free(vmfault_frame_cache, f);
}

/*
 * Put @f, which keeps its page in @f->page, on @b's free list (at its
 * tail: the oldest go first when a miss must free one). It stays in use,
 * and on the shrinker's list. Lock held.
 */
static void vmfault_budget_put_free(struct vmfault_budget *b, struct vmfault_frame *f)
{
	f->free = true;
	list_add_tail(&f->node, &b->free);
	b->nr_free++;
}

/*
 * Take free frame @f off @b's free list, for a miss: it stays in use, and
 * on the shrinker's list. Lock held.
 */
static void vmfault_budget_take_free(struct vmfault_budget *b, struct vmfault_frame *f)
{
	list_del(&f->node);
	f->free = false;
	b->nr_free--;
}

/*
 * Take free frame @f off @b's free list and the shrinker's, to be freed:
 * it stops counting against the budget. Lock held.
 */
static void vmfault_budget_unfree(struct vmfault_budget *b, struct vmfault_frame *f)
{
	vmfault_budget_take_free(b, f);
	vmfault_lru_del(&vmfault_lru, &f->lru);
	b->used--;
}

/**
 * vmfault_budget_destroy() - take a region off its budget, free its frames
 * @region: a region being freed or reconfigured, with no mappings and no
 *	I/O; its pages are still in their slots
 *
 * On the pool, another region's miss may be evicting one of this region's
 * pages: wait for it to finish before the pages go.
 */
void vmfault_budget_destroy(struct vmfault_region *region)
{
	struct vmfault_evict *ev = region->evict;
	struct vmfault_frame *f, *n;
	struct vmfault_budget *b;
	unsigned long index;
	struct page *page;
	LIST_HEAD(free);
	bool busy;

	if (!ev)
		return;
	b = ev->budget;
	do {
		busy = false;
		spin_lock(&b->lock);
		/* A budget of its own: its free frames go, but the shrinker's. */
		list_for_each_entry_safe(f, n, &b->free, node) {
			if (f->busy) {
				busy = true;
				continue;
			}
			vmfault_budget_unfree(b, f);
			list_add(&f->node, &free);
		}
		list_for_each_entry_safe(f, n, &b->list, node) {
			if (f->region != region)
				continue;
			if (f->busy) {
				busy = true;
				continue;
			}
			if (b->hand == &f->node)
				b->hand = f->node.next;
			list_del(&f->node);
			vmfault_lru_del(&vmfault_lru, &f->lru);
			f->listed = false;
		}
		spin_unlock(&b->lock);
		if (busy)
			schedule_timeout_uninterruptible(1);
	} while (busy);

	list_for_each_entry_safe(f, n, &free, node)
		vmfault_free_frame(f);

	xa_for_each(&region->pages, index, page) {
		f = (struct vmfault_frame *)page_private(page);
		if (!f)
			continue;
		spin_lock(&b->lock);
		b->used--;
		/* A free frame reused for a page whose read failed: still on it. */
		vmfault_lru_del(&vmfault_lru, &f->lru);
		spin_unlock(&b->lock);
		kmem_cache_free(vmfault_frame_cache, f);
		set_page_private(page, 0);
	}
	if (b == &vmfault_pool) {
		spin_lock(&b->lock);
		b->regions--;
		spin_unlock(&b->lock);
	}
	region->budget = NULL;
	region->evict = NULL;
	vmfault_evict_free(ev);
	if (region->swap) {
		xa_destroy(&region->swapped);
		fput(region->swap);
		region->swap = NULL;
	}
}

/* May this reservation (@pass, for @local's pages only if set) take @f? */
static bool vmfault_frame_candidate(const struct vmfault_frame *f, u32 pass,
				    const struct vmfault_region *local)
{
	return !f->busy && f->pass != pass && (!local || f->region == local);
}

/*
 * CLOCK: move the hand to the first candidate whose bit is clear,
 * clearing set bits on the way and noting those pages in @unmap (at most
 * VMFAULT_CLOCK_BATCH; *@nr_unmap of them). Returns the victim, or NULL if
 * there is none or the batch filled first (*@nr_unmap says which).
 */
static struct vmfault_frame *vmfault_clock_pick(struct vmfault_budget *b, u32 pass,
						const struct vmfault_region *local,
						struct vmfault_frame **unmap,
						unsigned int *nr_unmap)
{
	unsigned long steps = 0, limit;
	struct vmfault_frame *f;

	if (list_empty(&b->list))
		return NULL;
	/* Two turns see every bit cleared, then clear. */
	limit = 2 * (b->used + 1);
	while (steps++ <= limit) {
		if (b->hand == &b->list)
			b->hand = b->list.next;
		f = list_entry(b->hand, struct vmfault_frame, node);
		if (!vmfault_frame_candidate(f, pass, local)) {
			b->hand = b->hand->next;
			continue;
		}
		if (!f->referenced)
			return f;
		if (*nr_unmap == VMFAULT_CLOCK_BATCH)
			return NULL;
		f->referenced = false;
		unmap[(*nr_unmap)++] = f;
		b->hand = b->hand->next;
	}
	/* No candidate at all (every frame busy or tried). */
	list_for_each_entry(f, &b->list, node)
		if (vmfault_frame_candidate(f, pass, local))
			return f;
	return NULL;
}

/* The policy's victim among the candidates, or NULL. Lock held. */
static struct vmfault_frame *vmfault_budget_pick(struct vmfault_budget *b, u32 pass,
						 const struct vmfault_region *local,
						 struct vmfault_frame **unmap,
						 unsigned int *nr_unmap)
{
	struct vmfault_frame *f, *best = NULL;
	unsigned long n = 0, r;

	switch (b->policy) {
	case VMFAULT_POLICY_CLOCK:
		return vmfault_clock_pick(b, pass, local, unmap, nr_unmap);
	case VMFAULT_POLICY_OPT:
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass, local) &&
			    (!best || f->next_use > best->next_use))
				best = f;
		return best;
	case VMFAULT_POLICY_RANDOM:
		list_for_each_entry(f, &b->list, node)
			n += vmfault_frame_candidate(f, pass, local);
		if (!n)
			return NULL;
		r = (vmfault_random(&b->rng) >> 32) % n;
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass, local) && !r--)
				return f;
		return NULL;
	default:	/* FIFO and LRU: the head */
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass, local))
				return f;
		return NULL;
	}
}

/*
 * Unmap the page at @index of @region from every mapping of the region,
 * so that its next use is a reference fault; not an mlock()ed one (an
 * unmap would munlock it).
 */
static void vmfault_budget_unmap(struct vmfault_region *region, pgoff_t index)
{
	struct page *page = vmfault_region_find_get(region, index);

	if (!page)
		return;
	if (!folio_test_mlocked(page_folio(page)))
		unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT,
				    PAGE_SIZE, 0);
	put_page(page);
}

/*
 * Take @f off the policy's list, and off the shrinker's unless it stays
 * there as a free frame (@keep): its region holds one frame less. Lock
 * held.
 */
static void vmfault_frame_unlist(struct vmfault_budget *b, struct vmfault_frame *f, bool keep)
{
	if (f->listed) {
		if (b->hand == &f->node)
			b->hand = f->node.next;
		list_del(&f->node);
		if (!keep)
			vmfault_lru_del(&vmfault_lru, &f->lru);
		f->listed = false;
	}
	f->region->evict->used--;
}

/* Does the page at @index of @region need writing back before it goes? */
static bool vmfault_slot_dirty(struct vmfault_region *region, pgoff_t index, struct page *page)
{
	/* xa_marked() is the root's bit: no walk while nothing is marked. */
	return PageDirty(page) || (xa_marked(&region->pages, VMFAULT_PAGE_DIRTY) &&
				   xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY));
}

/* Write the page at @index back: to the backing file, or to the swap file. */
static int vmfault_slot_write(struct vmfault_region *region, pgoff_t index)
{
	if (region->mode == VMFAULT_MODE_FILE)
		return vmfault_file_writeback(region, index, index);
	return vmfault_swap_writeout(region, index);	/* swap.c */
}

/*
 * Evict the listed page of @f, which @f marks busy, for a miss at
 * @for_index of @for_region: write it back if dirty (@flags allowing),
 * lock, unmap, take it out of its slot, free it (or keep it with the
 * frame, free, with VMFAULT_EVICT_KEEP). @held is that page with a
 * reference, which the call takes, if the caller looked it up; else NULL.
 * Returns 0 (the frame is free and the region's use one less), -EAGAIN to
 * pass it over, -EBUSY for a dirty page @flags do not let it write back,
 * -EPERM for a page that is mlock()ed, -EINTR.
 */
static int vmfault_evict_one(struct vmfault_frame *f, struct page *held,
			     struct vmfault_region *for_region, pgoff_t for_index,
			     unsigned int flags)
{
	struct vmfault_region *region = f->region;
	XA_STATE(xas, &region->pages, f->index);
	struct vmfault_budget *b = region->budget;
	pgoff_t index = f->index;
	bool dirty = false, keep;
	struct page *page;
	int tries = 0, err;

again:
	page = held ?: vmfault_region_find_get(region, index);
	held = NULL;
	if (WARN_ON_ONCE(!page || vmfault_page_frame(page) != f)) {
		if (page)
			put_page(page);
		return -EAGAIN;
	}
	if (vmfault_slot_dirty(region, index, page)) {
		if (!(flags & VMFAULT_EVICT_MAY_WRITE)) {
			put_page(page);
			return -EBUSY;
		}
		if (tries++ > 2)
			goto pass_over;
		/*
		 * Without our reference: writeback keeps the mark of a page
		 * that someone else holds. Busy, the frame stays in its slot.
		 */
		put_page(page);
		err = vmfault_slot_write(region, index);
		if (err)
			return -EAGAIN;
		dirty = true;
		goto again;
	}
	if (flags & VMFAULT_EVICT_MAY_WAIT) {
		if (folio_lock_killable(page_folio(page))) {
			put_page(page);
			return -EINTR;
		}
	} else if (!trylock_page(page)) {
		goto pass_over;
	}
	if (folio_test_mlocked(page_folio(page))) {
		unlock_page(page);
		put_page(page);
		return -EPERM;
	}
	if (PageWriteback(page))
		goto unlock;
	/*
	 * Every pte goes; a dirty one leaves PG_dirty set (write it back).
	 * Locked, the page gets no new pte (faults map it under its lock):
	 * unmapped already (a batch's merged unmap), it needs no walk.
	 */
	if (page_mapped(page))
		unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT,
				    PAGE_SIZE, 0);
	/* A dirty pte left PG_dirty; the slot's mark is looked at below. */
	if (PageDirty(page)) {
		unlock_page(page);
		put_page(page);
		goto again;
	}
	/* A GUP user may still write into it: keep it. */
	if (page_count(page) > 2 + vmfault_page_mapcount(page))
		goto unlock;
	/* One walk: still this page, not marked dirty since; then empty it. */
	xas_lock(&xas);
	if (xas_load(&xas) != page || xas_get_mark(&xas, VMFAULT_PAGE_DIRTY)) {
		xas_unlock(&xas);
		goto unlock;
	}
	xas_store(&xas, NULL);
	xas_unlock(&xas);
	unlock_page(page);

	trace_vmfault_evict(region, index, page, b->policy, dirty, for_region, for_index);
	/* Counted while the frame, busy, still keeps the region. */
	vmfault_count(region, flags & VMFAULT_EVICT_RECLAIM ? VMFAULT_CNT_RECLAIMED :
		      VMFAULT_CNT_EVICTIONS);
	if (dirty)
		vmfault_count(region, VMFAULT_CNT_EVICTIONS_DIRTY);
	vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
	/*
	 * A free frame for the next miss keeps its page, if nothing else
	 * holds it: unmapped and out of its slot, the page gets no new
	 * user (GUP finds no pte); a speculative reference is put unused.
	 */
	keep = (flags & VMFAULT_EVICT_KEEP) && page_count(page) == 2 && !PageHWPoison(page);
	spin_lock(&b->lock);
	vmfault_frame_unlist(b, f, keep);
	if (keep) {
		/* Free, on the shrinker's list still: any miss may take it. */
		f->page = page;
		f->busy = false;
		vmfault_budget_put_free(b, f);
	} else {
		b->used--;
	}
	spin_unlock(&b->lock);
	put_page(page);
	if (keep)
		return 0;
	/* From here on the region may be freed (vmfault_budget_destroy()). */
	set_page_private(page, 0);
	kmem_cache_free(vmfault_frame_cache, f);
	vmfault_page_drop(page);	/* the slot's reference */
	return 0;

unlock:
	unlock_page(page);
pass_over:
	put_page(page);
	return -EAGAIN;
}

static bool vmfault_frame_in(struct vmfault_frame **frames, unsigned int n,
			     const struct vmfault_frame *f)
{
	while (n--)
		if (frames[n] == f)
			return true;
	return false;
}

static bool vmfault_frame_before(const struct vmfault_frame *a, const struct vmfault_frame *b)
{
	return a->region != b->region ? (unsigned long)a->region < (unsigned long)b->region :
					a->index < b->index;
}

/*
 * Unmap a batch of victims (busy, so their fields hold) with one
 * unmap_mapping_range() per run of adjacent pages of one region, so one
 * TLB flush per run rather than per page; vmfault_evict_one() then finds
 * them unmapped. The victims are sorted by region and offset, and their
 * pages, looked up, returned in @pages with a reference each (NULL for
 * none), for vmfault_evict_one(). An mlock()ed page stays mapped (an
 * unmap would munlock it) and breaks its run; the eviction passes it over.
 */
static void vmfault_batch_unmap(struct vmfault_frame **victims, struct page **pages,
				unsigned int n)
{
	struct vmfault_frame *t;
	u32 mapped = 0, mlocked = 0;
	unsigned int i, j;
	struct page *page;
	bool any;

	BUILD_BUG_ON(VMFAULT_MAX_EVICT_BATCH > 32);
	for (i = 1; i < n; i++) {
		t = victims[i];
		for (j = i; j > 0 && vmfault_frame_before(t, victims[j - 1]); j--)
			victims[j] = victims[j - 1];
		victims[j] = t;
	}
	for (i = 0; i < n; i++) {
		page = vmfault_region_find_get(victims[i]->region, victims[i]->index);
		pages[i] = page;
		if (!page)
			continue;
		if (page_mapped(page))
			mapped |= BIT(i);
		if (folio_test_mlocked(page_folio(page)))
			mlocked |= BIT(i);
	}
	for (i = 0; i < n; i = j) {
		any = false;
		for (j = i; j < n && !(mlocked & BIT(j)) &&
		     (j == i || (victims[j]->region == victims[i]->region &&
				 victims[j]->index == victims[j - 1]->index + 1)); j++)
			any |= !!(mapped & BIT(j));
		if (j == i) {		/* an mlock()ed page */
			j++;
			continue;
		}
		if (any)
			unmap_mapping_range(victims[i]->region->inode->i_mapping,
					    (loff_t)victims[i]->index << PAGE_SHIFT,
					    (loff_t)(j - i) << PAGE_SHIFT, 0);
	}
}

/*
 * A frame, new or free, for the page at @index of @region. A free one
 * stays where it is on the shrinker's list (@lru).
 */
static void vmfault_frame_init(struct vmfault_frame *f, struct vmfault_region *region,
			       pgoff_t index)
{
	f->region = region;
	f->index = index;
	f->next_use = U64_MAX;
	f->pass = 0;
	f->referenced = false;
	f->busy = false;
	f->listed = false;
	f->free = false;
}

/*
 * A free frame of @b for the current task: with @charged_here, one whose
 * page is charged where a page the task allocates would be (a free
 * frame's page is reused only in the same memory cgroup; __GFP_ACCOUNT
 * charges nothing at the root), else any. Busy ones are the shrinker's.
 * NULL if none. Lock held.
 */
static struct vmfault_frame *vmfault_budget_free_frame(struct vmfault_budget *b,
						       bool charged_here)
{
	struct mem_cgroup *memcg;
	struct vmfault_frame *f;

	if (!b->nr_free)
		return NULL;
	rcu_read_lock();
	memcg = mem_cgroup_from_task(current);
	if (memcg && !parent_mem_cgroup(memcg))
		memcg = NULL;
	list_for_each_entry(f, &b->free, node) {
		if (!f->busy &&
		    (!charged_here || folio_memcg(page_folio(f->page)) == memcg)) {
			rcu_read_unlock();
			return f;
		}
	}
	rcu_read_unlock();
	return NULL;
}

/**
 * vmfault_frame_page() - the page for a reserved frame
 * @region: the region
 * @f: from vmfault_frame_reserve()
 * @zero: zero mode: the page starts as zeros (file mode fills it)
 *
 * The page a free frame kept from its eviction, if @f is one (no
 * allocation, no clearing by init_on_alloc, no charge: it is charged to
 * this task's memory cgroup already), else a new one.
 *
 * Return: as vmfault_page_alloc(): the page, not up to date, with one
 * reference, or an ERR_PTR.
 */
struct page *vmfault_frame_page(struct vmfault_region *region, struct vmfault_frame *f,
				bool zero)
{
	struct page *page = f->page;

	if (!page)
		return vmfault_page_alloc(region, zero);
	f->page = NULL;
	set_page_private(page, 0);
	ClearPageUptodate(page);
	if (zero)
		clear_highpage(page);
	return page;
}

/**
 * vmfault_frame_reserve() - a frame for a page about to be read
 * @region: a region with a budget
 * @for_index: the page offset the frame is for
 * @flags: VMFAULT_EVICT_*: what the caller's locks allow
 *
 * When the budget is full, evicts the policy's victims until one frame is
 * free (the budget's batch of them at once): any region's on the pool
 * (global replacement), only this region's with VMFAULT_FRAMES_LOCAL or a
 * budget of its own. Without
 * VMFAULT_EVICT_MAY_EXCEED (a prefetched page) it gives up instead of
 * going over the budget.
 *
 * Context: might sleep; no region page lock held, unless only trylocks
 * are allowed (no VMFAULT_EVICT_MAY_WAIT).
 * Return: the frame, for vmfault_frame_attach(); ERR_PTR(-ENOSPC) when
 * the budget is full and cannot be made room in (every candidate
 * mlock()ed, or a prefetch); -ENOMEM; -EINTR.
 */
struct vmfault_frame *vmfault_frame_reserve(struct vmfault_region *region, pgoff_t for_index,
					    unsigned int flags)
{
	struct vmfault_evict *ev = region->evict;
	struct vmfault_budget *b = ev->budget;
	const struct vmfault_region *local = NULL;
	struct vmfault_frame *victims[VMFAULT_MAX_EVICT_BATCH];
	struct page *pages[VMFAULT_MAX_EVICT_BATCH];
	struct vmfault_frame *unmap[VMFAULT_CLOCK_BATCH];
	unsigned int i, j, want, nr_victims, nr_unmap, locked = 0, other = 0;
	pgoff_t unmap_index[VMFAULT_CLOCK_BATCH];
	struct vmfault_region *unmap_region[VMFAULT_CLOCK_BATCH];
	struct vmfault_frame *f, *victim, *spare;
	int err;
	u32 pass;

	if (b != &ev->own && (ev->flags & VMFAULT_FRAMES_LOCAL))
		local = region;
	/* A budget of its own keeps its victims' frames for the next misses. */
	if (b == &ev->own)
		flags |= VMFAULT_EVICT_KEEP;

	spin_lock(&b->lock);
	pass = ++b->pass;
	for (;;) {
		f = vmfault_budget_free_frame(b, true);
		if (f) {
			vmfault_budget_take_free(b, f);
			break;
		}
		if (b->used < b->frames)
			break;
		/*
		 * Free frames charged elsewhere only: one goes, and a frame
		 * for this task's group takes its place.
		 */
		spare = vmfault_budget_free_frame(b, false);
		if (spare) {
			vmfault_budget_unfree(b, spare);
			spin_unlock(&b->lock);
			vmfault_free_frame(spare);
			spin_lock(&b->lock);
			continue;
		}
		/* The batch, and what an earlier miss took over the budget. */
		want = min_t(unsigned long, b->batch + (b->used - b->frames),
			     VMFAULT_MAX_EVICT_BATCH);
		nr_unmap = 0;
		nr_victims = 0;
		while (nr_victims < want) {
			victim = vmfault_budget_pick(b, pass, local, unmap, &nr_unmap);
			if (!victim)
				break;
			victim->busy = true;
			victim->pass = pass;
			victims[nr_victims++] = victim;
		}
		/* Busy, the frames (and their regions) stay while unlocked. */
		for (i = 0; i < nr_unmap; i++) {
			unmap[i]->busy = true;
			unmap_region[i] = unmap[i]->region;
			unmap_index[i] = unmap[i]->index;
		}
		spin_unlock(&b->lock);
		for (i = 0; i < nr_unmap; i++)
			vmfault_budget_unmap(unmap_region[i], unmap_index[i]);
		if (nr_unmap) {
			spin_lock(&b->lock);
			/* The hand may have come round to a page it cleared: a victim. */
			for (i = 0; i < nr_unmap; i++)
				if (!vmfault_frame_in(victims, nr_victims, unmap[i]))
					unmap[i]->busy = false;
			spin_unlock(&b->lock);
		}
		if (!nr_victims) {
			spin_lock(&b->lock);
			if (nr_unmap)
				continue;
			break;
		}
		pages[0] = NULL;
		if (nr_victims > 1)
			vmfault_batch_unmap(victims, pages, nr_victims);
		for (i = 0; i < nr_victims; i++) {
			victim = victims[i];
			err = vmfault_evict_one(victim, pages[i], region, for_index, flags);
			if (!err)
				continue;
			spin_lock(&b->lock);
			victim->busy = false;
			if (err == -EINTR) {
				for (j = i + 1; j < nr_victims; j++)
					victims[j]->busy = false;
				spin_unlock(&b->lock);
				for (j = i + 1; j < nr_victims; j++)
					if (pages[j])
						put_page(pages[j]);
				return ERR_PTR(-EINTR);
			}
			spin_unlock(&b->lock);
			if (err == -EPERM)
				locked++;
			else
				other++;
		}
		spin_lock(&b->lock);
	}
	if (f) {
		/* A free frame, its page charged here: it goes to this miss. */
		ev->used++;
		spin_unlock(&b->lock);
		vmfault_frame_init(f, region, for_index);
		return f;
	}
	if (b->used >= b->frames &&
	    (!(flags & VMFAULT_EVICT_MAY_EXCEED) || (locked && !other))) {
		spin_unlock(&b->lock);
		return ERR_PTR(-ENOSPC);
	}
	b->used++;
	ev->used++;
	spin_unlock(&b->lock);
	/*
	 * Charged with the page it will go with, to the faulting task's
	 * memcg, whose list of the shrinker's list_lru it will join.
	 */
	f = kmem_cache_alloc_lru(vmfault_frame_cache, &vmfault_lru,
				 GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!f) {
		spin_lock(&b->lock);
		b->used--;
		ev->used--;
		spin_unlock(&b->lock);
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&f->lru);
	vmfault_frame_init(f, region, for_index);
	return f;
}

/**
 * vmfault_frame_unreserve() - give back a frame that no page took
 * @region: the region
 * @f: from vmfault_frame_reserve(), never attached
 */
void vmfault_frame_unreserve(struct vmfault_region *region, struct vmfault_frame *f)
{
	struct vmfault_budget *b = region->budget;

	spin_lock(&b->lock);
	region->evict->used--;
	if (f->page) {
		/* Its page untaken: a free frame again. */
		vmfault_budget_put_free(b, f);
		f = NULL;
	} else {
		/* A free frame reused: it is on the shrinker's list still. */
		vmfault_lru_del(&vmfault_lru, &f->lru);
		b->used--;
	}
	spin_unlock(&b->lock);
	if (f)
		kmem_cache_free(vmfault_frame_cache, f);
}

/**
 * vmfault_frame_attach() - a reserved frame goes with its page
 * @page: a new region page, not yet published
 * @f: from vmfault_frame_reserve()
 */
void vmfault_frame_attach(struct page *page, struct vmfault_frame *f)
{
	set_page_private(page, (unsigned long)f);
}

/**
 * vmfault_frame_detach() - give back the frame of a page that never went in
 * @region: the page's region
 * @page: a page that vmfault_frame_attach() gave a reserved frame and that
 *	never went into its slot; a page with no frame (a region without a
 *	budget) is left as it is
 */
void vmfault_frame_detach(struct vmfault_region *region, struct page *page)
{
	struct vmfault_frame *f = vmfault_page_frame(page);

	if (!f)
		return;
	set_page_private(page, 0);
	vmfault_frame_unreserve(region, f);
}

/**
 * vmfault_frame_move() - a page took another's place in its slot
 * @old: the page that left the slot (not up to date)
 * @page: the page now there
 */
void vmfault_frame_move(struct page *old, struct page *page)
{
	set_page_private(page, page_private(old));
	set_page_private(old, 0);
}

/* OPT: the next use of @index from the string's position on; lock held. */
static u64 vmfault_opt_next_use(struct vmfault_evict *ev, pgoff_t index)
{
	u64 pos;

	for (pos = ev->ref_pos; pos < ev->nr_refs; pos++)
		if (ev->refs[pos] == index)
			return pos;
	return U64_MAX;
}

/**
 * vmfault_frame_uptodate() - a page became up to date in its slot
 * @region: a region with a budget
 * @page: the page; now a candidate for eviction
 *
 * It joins the policy's list: at the tail (FIFO, LRU, RANDOM, OPT) or
 * just behind CLOCK's hand, its reference bit set.
 */
void vmfault_frame_uptodate(struct vmfault_region *region, struct page *page)
{
	struct vmfault_evict *ev = region->evict;
	struct vmfault_budget *b = ev->budget;
	struct vmfault_frame *f = vmfault_page_frame(page);

	if (WARN_ON_ONCE(!f))
		return;
	spin_lock(&b->lock);
	if (!f->listed) {
		f->listed = true;
		f->referenced = true;
		/* A prefetched page: when will it be used? (The faulting one: now.) */
		if (b->policy == VMFAULT_POLICY_OPT && region->window > 1)
			f->next_use = vmfault_opt_next_use(ev, f->index);
		list_add_tail(&f->node, b->policy == VMFAULT_POLICY_CLOCK ? b->hand : &b->list);
		vmfault_lru_add(&vmfault_lru, &f->lru);
	}
	spin_unlock(&b->lock);
}

/* OPT: the reference at the string's position of @f's page; lock held. */
static void vmfault_opt_reference(struct vmfault_evict *ev, struct vmfault_frame *f)
{
	u64 pos;

	for (pos = ev->ref_pos; pos < ev->nr_refs; pos++) {
		if (ev->refs[pos] == f->index) {
			f->next_use = ev->ref_next[pos];
			ev->ref_pos = pos + 1;
			return;
		}
	}
	f->next_use = U64_MAX;
}

/**
 * vmfault_frame_reference() - a fault used a resident page
 * @region: a region with a budget
 * @index: the page's offset
 * @page: the page, up to date, with the caller's reference
 * @major: the fault read it (else a reference fault)
 *
 * The reference the policy sees: LRU moves the page to the tail, CLOCK
 * sets its bit, OPT looks up its next use. With reference tracing, the
 * page joins the mapped few and the one mapped longest is unmapped.
 *
 * Context: might sleep (the unmap); no region page lock held.
 */
void vmfault_frame_reference(struct vmfault_region *region, pgoff_t index, struct page *page,
			     bool major)
{
	struct vmfault_evict *ev = region->evict;
	struct vmfault_budget *b = ev->budget;
	struct vmfault_frame *f = vmfault_page_frame(page);
	bool unmap = false;
	pgoff_t old = 0;
	u32 i;

	if (!major)
		vmfault_count(region, VMFAULT_CNT_REF_FAULTS);
	/*
	 * A page this fault read alone went on the list as referenced, at
	 * its tail (vmfault_frame_uptodate()): only OPT's position in the
	 * string and reference tracing have more to do.
	 */
	else if (region->window <= 1 && !ev->trace_pages && b->policy != VMFAULT_POLICY_OPT)
		return;
	spin_lock(&b->lock);
	if (f && f->listed) {
		f->referenced = true;
		if (b->policy == VMFAULT_POLICY_LRU)
			list_move_tail(&f->node, &b->list);
		else if (b->policy == VMFAULT_POLICY_OPT)
			vmfault_opt_reference(ev, f);
	}
	if (ev->trace_pages) {
		for (i = 0; i < ev->nr_traced; i++)
			if (ev->traced[(ev->traced_head + i) % ev->trace_pages] == index)
				goto out_unlock;
		if (ev->nr_traced < ev->trace_pages) {
			ev->traced[(ev->traced_head + ev->nr_traced++) % ev->trace_pages] = index;
		} else {
			old = ev->traced[ev->traced_head];
			ev->traced[ev->traced_head] = index;
			ev->traced_head = (ev->traced_head + 1) % ev->trace_pages;
			unmap = true;
		}
	}
out_unlock:
	spin_unlock(&b->lock);
	if (unmap)
		vmfault_budget_unmap(region, old);
}

/*
 * Memory pressure: the shrinker over vmfault_lru (see its declaration).
 */

/* Frames whose dirty pages reclaim passed over, busy, for the writer. */
static LIST_HEAD(vmfault_reclaim_dirty);
static DEFINE_SPINLOCK(vmfault_reclaim_lock);

/* A frame the shrinker held busy goes back to its lists. */
static void vmfault_frame_release(struct vmfault_frame *f)
{
	struct vmfault_budget *b = f->region->budget;

	spin_lock(&b->lock);
	f->busy = false;
	if (f->listed)
		vmfault_lru_add(&vmfault_lru, &f->lru);
	spin_unlock(&b->lock);
	/* From here on the region may be freed. */
}

/*
 * The writer: reclaim never writes (a vmfaultfs daemon that needs memory
 * to answer would wait for itself, which is why the kernel refuses swap
 * files on FUSE), so the dirty pages it met are written here, off the
 * reclaim path, as the flusher threads write the dirty page cache that
 * reclaim skips. Clean, the pages are the next scan's to take.
 */
static void vmfault_reclaim_write(struct work_struct *work)
{
	struct vmfault_frame *f;

	for (;;) {
		spin_lock(&vmfault_reclaim_lock);
		f = list_first_entry_or_null(&vmfault_reclaim_dirty, struct vmfault_frame, lru);
		if (f)
			list_del_init(&f->lru);
		spin_unlock(&vmfault_reclaim_lock);
		if (!f)
			return;
		/* Busy, the frame keeps the region (vmfault_budget_destroy()). */
		vmfault_slot_write(f->region, f->index);
		vmfault_frame_release(f);
	}
}

static DECLARE_WORK(vmfault_reclaim_work, vmfault_reclaim_write);

/* A free frame the shrinker holds busy: it goes, with its page. */
static void vmfault_frame_reclaim_free(struct vmfault_frame *f)
{
	/* Busy, it keeps its region (vmfault_budget_destroy() waits). */
	struct vmfault_budget *b = f->region->budget;

	spin_lock(&b->lock);
	vmfault_budget_unfree(b, f);
	spin_unlock(&b->lock);
	vmfault_free_frame(f);
}

/* Under the list's lock: take a frame that no one else holds, busy. */
static enum lru_status vmfault_shrink_isolate(struct list_head *item, struct list_lru_one *list,
					      spinlock_t *lock, void *arg)
{
	struct vmfault_frame *f = container_of(item, struct vmfault_frame, lru);
	/* On the list, the frame and its region are alive. */
	struct vmfault_budget *b = f->region->budget;

	/* The budget's lock nests outside the list's: only try it here. */
	if (!spin_trylock(&b->lock))
		return LRU_SKIP;
	/* Neither resident nor free: a miss is filling its page. */
	if (f->busy || (!f->listed && !f->free)) {
		spin_unlock(&b->lock);
		return LRU_SKIP;
	}
	f->busy = true;
	list_lru_isolate_move(list, item, arg);
	spin_unlock(&b->lock);
	return LRU_REMOVED;
}

static unsigned long vmfault_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
	/* Pairs with vmfault_evict_init()'s release: the list is initialised. */
	if (!smp_load_acquire(&vmfault_lru_ready))
		return 0;
	return list_lru_shrink_count(&vmfault_lru, sc);
}

/*
 * Free the free frames, and evict the frames' pages through the policy's
 * own path, clean ones only and only those whose locks it gets without
 * waiting; mlock()ed pages, pages held by GUP and pages under I/O stay. The oldest frames go first
 * (the list_lru is in the order pages came in), whatever the region's
 * policy: the policy chooses among a region's pages when its budget is
 * full, the kernel among everything when memory is short.
 */
static unsigned long vmfault_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
	struct vmfault_frame *f, *n;
	unsigned long freed = 0;
	LIST_HEAD(dispose);
	LIST_HEAD(dirty);
	int err;

	/* As in vmfault_shrink_count(). */
	if (!smp_load_acquire(&vmfault_lru_ready))
		return SHRINK_STOP;
	list_lru_shrink_walk(&vmfault_lru, sc, vmfault_shrink_isolate, &dispose);
	list_for_each_entry_safe(f, n, &dispose, lru) {
		list_del_init(&f->lru);
		if (f->free) {
			vmfault_frame_reclaim_free(f);
			freed++;
			continue;
		}
		err = vmfault_evict_one(f, NULL, NULL, 0, VMFAULT_EVICT_RECLAIM);
		if (!err)
			freed++;	/* @f is freed */
		else if (err == -EBUSY)
			list_add_tail(&f->lru, &dirty);
		else
			vmfault_frame_release(f);
	}
	if (!list_empty(&dirty)) {
		spin_lock(&vmfault_reclaim_lock);
		list_splice_tail(&dirty, &vmfault_reclaim_dirty);
		spin_unlock(&vmfault_reclaim_lock);
		queue_work(vmfault_wq, &vmfault_reclaim_work);
	}
	vmfault_account_reclaimed(freed);
	return freed;
}

/**
 * vmfault_evict_init() - the frames' cache, list_lru and shrinker
 *
 * Return: 0 or a negative errno.
 */
int vmfault_evict_init(void)
{
	int err;

	vmfault_frame_cache = KMEM_CACHE(vmfault_frame, SLAB_ACCOUNT);
	if (!vmfault_frame_cache)
		return -ENOMEM;
	vmfault_shrinker = vmfault_shrinker_alloc("vmfault-frames", vmfault_shrink_count,
						  vmfault_shrink_scan);
	if (IS_ERR(vmfault_shrinker)) {
		err = PTR_ERR(vmfault_shrinker);
		goto err_destroy_cache;
	}
	/* Memcg-aware: one list per memory cgroup, under the shrinker's id. */
	err = list_lru_init_memcg(&vmfault_lru, vmfault_shrinker);
	if (err)
		goto err_free_shrinker;
	vmfault_shrinker_register(vmfault_shrinker);
	/* The shrinker may already run (6.1): publish the initialised list. */
	smp_store_release(&vmfault_lru_ready, true);
	return 0;

err_free_shrinker:
	vmfault_shrinker_free(vmfault_shrinker);
err_destroy_cache:
	kmem_cache_destroy(vmfault_frame_cache);
	return err;
}

/**
 * vmfault_evict_exit() - undo vmfault_evict_init(), every region gone
 *
 * Context: vmfault_wq drained (its writer, vmfault_reclaim_work, finishes
 * before the last region's release can).
 */
void vmfault_evict_exit(void)
{
	vmfault_shrinker_free(vmfault_shrinker);
	list_lru_destroy(&vmfault_lru);
	kmem_cache_destroy(vmfault_frame_cache);
}

/* The pool's module parameters: pool_frames and pool_policy. */
static int vmfault_pool_frames_set(const char *val, const struct kernel_param *kp)
{
	unsigned int frames;
	int err = kstrtouint(val, 0, &frames);

	if (err)
		return err;
	spin_lock(&vmfault_pool.lock);
	/* Fewer frames than in use: the next misses evict down to it. */
	vmfault_pool.frames = frames;
	spin_unlock(&vmfault_pool.lock);
	return 0;
}

static int vmfault_pool_frames_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(vmfault_pool.frames));
}

static const struct kernel_param_ops vmfault_pool_frames_ops = {
	.set = vmfault_pool_frames_set,
	.get = vmfault_pool_frames_get,
};
module_param_cb(pool_frames, &vmfault_pool_frames_ops, NULL, 0644);
MODULE_PARM_DESC(pool_frames, "frames of the pool that regions may share (VMFAULT_FRAMES_POOL); 0 (the default): no pool");

static int vmfault_pool_policy_set(const char *val, const struct kernel_param *kp)
{
	int policy = sysfs_match_string(vmfault_policy_names, val);
	int err = 0;

	if (policy < 0)
		return -EINVAL;
	if (policy == VMFAULT_POLICY_OPT) {
		pr_info("pool_policy: OPT needs one region's reference string; not for the pool\n");
		return -EINVAL;
	}
	spin_lock(&vmfault_pool.lock);
	if (vmfault_pool.regions)
		err = -EBUSY;
	else
		vmfault_pool.policy = policy;
	spin_unlock(&vmfault_pool.lock);
	if (err)
		pr_info("pool_policy: regions use the pool; close them first\n");
	return err;
}

static int vmfault_pool_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", vmfault_policy_name(READ_ONCE(vmfault_pool.policy)));
}

static const struct kernel_param_ops vmfault_pool_policy_ops = {
	.set = vmfault_pool_policy_set,
	.get = vmfault_pool_policy_get,
};
module_param_cb(pool_policy, &vmfault_pool_policy_ops, NULL, 0644);
MODULE_PARM_DESC(pool_policy, "the pool's replacement policy: fifo (default), clock, lru or random; fixed while regions use the pool");

/**
 * vmfault_pool_show() - the pool's lines of /proc/vmfault
 * @m: the seq_file
 */
void vmfault_pool_show(struct seq_file *m)
{
	unsigned long used, regions;
	u32 frames;

	spin_lock(&vmfault_pool.lock);
	frames = vmfault_pool.frames;
	used = vmfault_pool.used;
	regions = vmfault_pool.regions;
	spin_unlock(&vmfault_pool.lock);
	seq_printf(m, "pool_frames %u\npool_used %lu\npool_regions %lu\n", frames, used, regions);
}
