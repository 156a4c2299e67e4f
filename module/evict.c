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
 * VMFAULT_IOC_SET_FRAMES gives a file-mode region a budget of frames: at
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
 * inode), taken out of its slot, unlocked, freed. A dirty victim is
 * written back first (file_io.c's writeback, with no lock held, as a
 * munmap writeback is), and counted in evictions_dirty; a clean one costs
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
 * Lock order: the region page lock -> i_mmap_rwsem -> page table locks,
 * as truncation. The budget's spinlock is a leaf; eviction drops it before
 * it locks the victim.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pagemap.h>
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
 * @index: the page offset of the page that holds it
 * @next_use: OPT: the position of the page's next use in the reference
 *	string, U64_MAX for never
 * @pass: the last reservation that tried to evict the page
 * @referenced: CLOCK's reference bit
 * @busy: being evicted (no other reservation picks it)
 * @listed: the page is up to date and on the list
 */
struct vmfault_frame {
	struct list_head node;
	pgoff_t index;
	u64 next_use;
	u32 pass;
	bool referenced;
	bool busy;
	bool listed;
};

/**
 * struct vmfault_budget - a region's frame budget and replacement state
 * @lock: protects every field below and the frames' fields
 * @frames: the budget
 * @policy: enum vmfault_policy
 * @trace_pages: reference tracing: pages kept mapped (0: off)
 * @seed: VMFAULT_POLICY_RANDOM's seed, as given
 * @used: frames held by pages in the region's slots
 * @list: listed frames, in the policy's order
 * @hand: CLOCK: the next list node the hand looks at (&@list: the head)
 * @pass: reservations so far, for vmfault_frame.pass
 * @rng: RANDOM: the generator's state
 * @refs: OPT: the reference string, repetitions in a row removed
 * @ref_next: OPT: for each position, the next position of the same page,
 *	or U64_MAX
 * @nr_refs: the length of @refs
 * @ref_pos: OPT: the position of the next reference
 * @traced: reference tracing: a ring of the pages mapped last
 * @nr_traced: how many of @traced are in use
 * @traced_head: the oldest entry of @traced
 */
struct vmfault_budget {
	spinlock_t lock;	/* protects the fields below and every frame */
	u32 frames;
	u32 policy;
	u32 trace_pages;
	u64 seed;
	unsigned long used;
	struct list_head list;
	struct list_head *hand;
	u32 pass;
	u64 rng;
	u64 *refs;
	u64 *ref_next;
	u64 nr_refs;
	u64 ref_pos;
	pgoff_t *traced;
	u32 nr_traced;
	u32 traced_head;
};

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

static void vmfault_budget_free(struct vmfault_budget *b)
{
	if (!b)
		return;
	kvfree(b->refs);
	kvfree(b->ref_next);
	kfree(b->traced);
	kfree(b);
}

/**
 * vmfault_budget_set() - VMFAULT_IOC_SET_FRAMES
 * @region: the region
 * @fr: the budget, copied from user space
 *
 * Return: 0; -EINVAL for a region that is not in file mode, a budget
 * larger than the region, a policy out of range, OPT without tracing of
 * one page, a seed for a policy other than RANDOM, or a flag or reserved
 * field not 0; -EBUSY once the region is in use; -ENOMEM.
 */
int vmfault_budget_set(struct vmfault_region *region, const struct vmfault_frames *fr)
{
	struct vmfault_budget *b = NULL, *old;
	int err = -EINVAL;

	if (fr->flags || fr->reserved[0] || fr->reserved[1]) {
		vmfault_budget_err("flags and reserved must be 0");
		return -EINVAL;
	}
	if (fr->policy >= VMFAULT_NR_POLICIES) {
		vmfault_budget_err("policy %u is not one of 0 to %u", fr->policy,
				   VMFAULT_NR_POLICIES - 1);
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
	if (fr->frames) {
		b = kzalloc(sizeof(*b), GFP_KERNEL);
		if (!b)
			return -ENOMEM;
		if (fr->trace_pages) {
			b->traced = kcalloc(fr->trace_pages, sizeof(*b->traced), GFP_KERNEL);
			if (!b->traced) {
				err = -ENOMEM;
				goto err_free_budget;
			}
		}
		spin_lock_init(&b->lock);
		INIT_LIST_HEAD(&b->list);
		b->hand = &b->list;
		b->frames = fr->frames;
		b->policy = fr->policy;
		b->trace_pages = fr->trace_pages;
		b->seed = fr->seed;
		b->rng = fr->seed ?: 0x9e3779b97f4a7c15ULL;
	}

	mutex_lock(&region->lock);
	if (region->frozen) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("region %lu is already in use (mapped, or file I/O)",
				   vmfault_region_id(region));
		err = -EBUSY;
		goto err_free_budget;
	}
	if (region->mode != VMFAULT_MODE_FILE) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("a frame budget is for file mode: configure the region first");
		goto err_free_budget;
	}
	if (fr->frames > region->size >> PAGE_SHIFT ||
	    fr->trace_pages > region->size >> PAGE_SHIFT) {
		mutex_unlock(&region->lock);
		vmfault_budget_err("frames %u and trace_pages %u must be at most the region's %llu pages",
				   fr->frames, fr->trace_pages, region->size >> PAGE_SHIFT);
		goto err_free_budget;
	}
	old = region->budget;
	region->budget = b;
	mutex_unlock(&region->lock);
	vmfault_budget_free(old);
	return 0;

err_free_budget:
	vmfault_budget_free(b);
	return err;
}

/**
 * vmfault_budget_get() - VMFAULT_IOC_GET_FRAMES
 * @region: the region
 * @fr: zeroed by the caller; filled with the budget (all 0 if none)
 */
void vmfault_budget_get(struct vmfault_region *region, struct vmfault_frames *fr)
{
	struct vmfault_budget *b;

	mutex_lock(&region->lock);
	b = region->budget;
	if (b) {
		fr->frames = b->frames;
		fr->policy = b->policy;
		fr->trace_pages = b->trace_pages;
		fr->seed = b->seed;
	}
	mutex_unlock(&region->lock);
}

/*
 * OPT's string without repetitions in a row, and each position's next
 * use. Returns 0 or a negative errno.
 */
static int vmfault_budget_load_refs(struct vmfault_budget *b, const u64 __user *urefs,
				    u64 nr, u64 pages)
{
	struct xarray last;
	u64 i, n = 0;
	int err = 0;

	b->refs = kvmalloc_array(nr, sizeof(*b->refs), GFP_KERNEL);
	b->ref_next = kvmalloc_array(nr, sizeof(*b->ref_next), GFP_KERNEL);
	if (!b->refs || !b->ref_next)
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
		if (!n || b->refs[n - 1] != r)
			b->refs[n++] = r;
	}
	b->nr_refs = n;
	/* Backwards: the next use of each position's page. */
	xa_init(&last);
	for (i = n; i-- > 0;) {
		void *next = xa_load(&last, b->refs[i]);

		b->ref_next[i] = next ? xa_to_value(next) : U64_MAX;
		err = xa_err(xa_store(&last, b->refs[i], xa_mk_value(i), GFP_KERNEL));
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
	struct vmfault_budget *b, tmp = {};
	u64 pages;
	int err;

	if (!r->nr || r->nr > VMFAULT_MAX_REFS) {
		vmfault_budget_err("%llu references: from 1 to %u", r->nr, VMFAULT_MAX_REFS);
		return -EINVAL;
	}
	mutex_lock(&region->lock);
	b = region->budget;
	pages = region->size >> PAGE_SHIFT;
	err = -EBUSY;
	if (region->frozen)
		goto out_unlock;
	err = -EINVAL;
	if (!b || b->policy != VMFAULT_POLICY_OPT)
		goto out_unlock;
	err = vmfault_budget_load_refs(&tmp, u64_to_user_ptr(r->refs), r->nr, pages);
	if (err)
		goto out_unlock;
	swap(b->refs, tmp.refs);
	swap(b->ref_next, tmp.ref_next);
	b->nr_refs = tmp.nr_refs;
	b->ref_pos = 0;
out_unlock:
	mutex_unlock(&region->lock);
	kvfree(tmp.refs);
	kvfree(tmp.ref_next);
	if (err == -EBUSY)
		vmfault_budget_err("region %lu is already in use", vmfault_region_id(region));
	else if (err == -EINVAL && (!b || b->policy != VMFAULT_POLICY_OPT))
		vmfault_budget_err("a reference string is for a region with the OPT policy");
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
	struct vmfault_budget *b = region->budget;

	if (b && b->policy == VMFAULT_POLICY_OPT && !b->nr_refs) {
		vmfault_budget_err("region %lu: OPT needs the reference string (VMFAULT_IOC_SET_REFS) before mmap()",
				   vmfault_region_id(region));
		return -EINVAL;
	}
	return 0;
}

/**
 * vmfault_budget_destroy() - free a region's budget and its frames
 * @region: a region being freed; its pages are still in their slots
 */
void vmfault_budget_destroy(struct vmfault_region *region)
{
	struct page *page;
	unsigned long index;

	if (!region->budget)
		return;
	xa_for_each(&region->pages, index, page) {
		kfree(vmfault_page_frame(page));
		set_page_private(page, 0);
	}
	vmfault_budget_free(region->budget);
	region->budget = NULL;
}

/* The budget's resident frames: held by pages in slots. */
unsigned long vmfault_budget_used(struct vmfault_region *region)
{
	struct vmfault_budget *b = region->budget;
	unsigned long used;

	if (!b)
		return 0;
	spin_lock(&b->lock);
	used = b->used;
	spin_unlock(&b->lock);
	return used;
}

static u64 vmfault_budget_random(struct vmfault_budget *b)
{
	u64 x = b->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static bool vmfault_frame_candidate(const struct vmfault_frame *f, u32 pass)
{
	return !f->busy && f->pass != pass;
}

/*
 * CLOCK: move the hand to the first candidate whose bit is clear,
 * clearing set bits on the way and noting those pages in @unmap (at most
 * VMFAULT_CLOCK_BATCH; *@nr_unmap of them). Returns the victim, or NULL if
 * there is none or the batch filled first (*@nr_unmap says which).
 */
static struct vmfault_frame *vmfault_clock_pick(struct vmfault_budget *b, u32 pass,
						pgoff_t *unmap, unsigned int *nr_unmap)
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
		if (!vmfault_frame_candidate(f, pass)) {
			b->hand = b->hand->next;
			continue;
		}
		if (!f->referenced)
			return f;
		if (*nr_unmap == VMFAULT_CLOCK_BATCH)
			return NULL;
		f->referenced = false;
		unmap[(*nr_unmap)++] = f->index;
		b->hand = b->hand->next;
	}
	/* No candidate at all (every frame busy or tried). */
	list_for_each_entry(f, &b->list, node)
		if (vmfault_frame_candidate(f, pass))
			return f;
	return NULL;
}

/* The policy's victim among the candidates, or NULL. Lock held. */
static struct vmfault_frame *vmfault_budget_pick(struct vmfault_budget *b, u32 pass,
						 pgoff_t *unmap, unsigned int *nr_unmap)
{
	struct vmfault_frame *f, *best = NULL;
	unsigned long n = 0, r;

	switch (b->policy) {
	case VMFAULT_POLICY_CLOCK:
		return vmfault_clock_pick(b, pass, unmap, nr_unmap);
	case VMFAULT_POLICY_OPT:
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass) &&
			    (!best || f->next_use > best->next_use))
				best = f;
		return best;
	case VMFAULT_POLICY_RANDOM:
		list_for_each_entry(f, &b->list, node)
			n += vmfault_frame_candidate(f, pass);
		if (!n)
			return NULL;
		r = (vmfault_budget_random(b) >> 32) % n;
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass) && !r--)
				return f;
		return NULL;
	default:	/* FIFO and LRU: the head */
		list_for_each_entry(f, &b->list, node)
			if (vmfault_frame_candidate(f, pass))
				return f;
		return NULL;
	}
}

/*
 * Unmap the pages at @idx[0..@nr) from every mapping of the region, so
 * that their next use is a reference fault; not mlock()ed ones (an unmap
 * would munlock them).
 */
static void vmfault_budget_unmap(struct vmfault_region *region, const pgoff_t *idx,
				 unsigned int nr)
{
	struct page *page;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		page = vmfault_region_find_get(region, idx[i]);
		if (!page)
			continue;
		if (!PageMlocked(page))
			unmap_mapping_range(region->inode->i_mapping,
					    (loff_t)idx[i] << PAGE_SHIFT, PAGE_SIZE, 0);
		put_page(page);
	}
}

/* Take @f off the list and give its frame back. Lock held. */
static void vmfault_frame_unlist(struct vmfault_budget *b, struct vmfault_frame *f)
{
	if (f->listed) {
		if (b->hand == &f->node)
			b->hand = f->node.next;
		list_del(&f->node);
		f->listed = false;
	}
	b->used--;
}

/*
 * Evict the listed page at @f->index, which @f marks busy: write it back
 * if dirty (@flags allowing), lock, unmap, take it out of its slot, free
 * it. Returns 0 (the frame is freed and the budget's use is one less),
 * -EAGAIN to pass it over, -EPERM for a page that is mlock()ed, -EINTR.
 */
static int vmfault_evict_one(struct vmfault_region *region, struct vmfault_frame *f,
			     pgoff_t for_index, unsigned int flags)
{
	struct vmfault_budget *b = region->budget;
	pgoff_t index = f->index;
	bool dirty = false;
	struct page *page;
	int tries = 0;

again:
	page = vmfault_region_find_get(region, index);
	if (WARN_ON_ONCE(!page || vmfault_page_frame(page) != f)) {
		if (page)
			put_page(page);
		return -EAGAIN;
	}
	if (PageDirty(page) || xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY)) {
		if (!(flags & VMFAULT_EVICT_MAY_WRITE) || tries++ > 2)
			goto pass_over;
		/*
		 * Without our reference: writeback keeps the mark of a page
		 * that someone else holds. Busy, the frame stays in its slot.
		 */
		put_page(page);
		if (vmfault_file_writeback(region, index, index))
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
	if (PageMlocked(page)) {
		unlock_page(page);
		put_page(page);
		return -EPERM;
	}
	if (PageWriteback(page))
		goto unlock;
	/* Every pte goes; a dirty one leaves PG_dirty set (write it back). */
	unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT, PAGE_SIZE, 0);
	if (PageDirty(page) || xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY)) {
		unlock_page(page);
		put_page(page);
		goto again;
	}
	/* A GUP user may still write into it: keep it. */
	if (page_count(page) > 2 + vmfault_page_mapcount(page))
		goto unlock;
	xa_lock(&region->pages);
	if (xa_load(&region->pages, index) != page ||
	    xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY)) {
		xa_unlock(&region->pages);
		goto unlock;
	}
	__xa_erase(&region->pages, index);
	xa_unlock(&region->pages);
	unlock_page(page);

	spin_lock(&b->lock);
	vmfault_frame_unlist(b, f);
	spin_unlock(&b->lock);
	trace_vmfault_evict(region, index, page, b->policy, dirty, for_index);
	set_page_private(page, 0);
	kfree(f);
	vmfault_count(region, VMFAULT_CNT_EVICTIONS);
	if (dirty)
		vmfault_count(region, VMFAULT_CNT_EVICTIONS_DIRTY);
	vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
	put_page(page);
	vmfault_page_drop(page);	/* the slot's reference */
	return 0;

unlock:
	unlock_page(page);
pass_over:
	put_page(page);
	return -EAGAIN;
}

/**
 * vmfault_frame_reserve() - a frame for a page about to be read
 * @region: a region with a budget
 * @for_index: the page offset the frame is for (for the trace)
 * @flags: VMFAULT_EVICT_*: what the caller's locks allow
 *
 * When the budget is full, evicts the policy's victims until one frame is
 * free. Without VMFAULT_EVICT_MAY_EXCEED (a prefetched page) it gives up
 * instead of going over the budget.
 *
 * Context: might sleep; no region page lock held, unless only trylocks
 * are allowed (no VMFAULT_EVICT_MAY_WAIT).
 * Return: the frame, for vmfault_frame_attach(); ERR_PTR(-ENOSPC) when
 * the budget is full and cannot be made room in (every page mlock()ed, or
 * a prefetch); -ENOMEM; -EINTR.
 */
struct vmfault_frame *vmfault_frame_reserve(struct vmfault_region *region, pgoff_t for_index,
					    unsigned int flags)
{
	struct vmfault_budget *b = region->budget;
	pgoff_t unmap[VMFAULT_CLOCK_BATCH];
	unsigned int nr_unmap, locked = 0, other = 0;
	struct vmfault_frame *f, *victim;
	int err;
	u32 pass;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->index = for_index;
	f->next_use = U64_MAX;

	spin_lock(&b->lock);
	pass = ++b->pass;
	while (b->used >= b->frames) {
		nr_unmap = 0;
		victim = vmfault_budget_pick(b, pass, unmap, &nr_unmap);
		if (victim) {
			victim->busy = true;
			victim->pass = pass;
		}
		spin_unlock(&b->lock);
		vmfault_budget_unmap(region, unmap, nr_unmap);
		if (!victim) {
			spin_lock(&b->lock);
			if (nr_unmap)
				continue;
			break;
		}
		err = vmfault_evict_one(region, victim, for_index, flags);
		spin_lock(&b->lock);
		if (!err)
			continue;
		victim->busy = false;
		if (err == -EINTR) {
			spin_unlock(&b->lock);
			kfree(f);
			return ERR_PTR(-EINTR);
		}
		if (err == -EPERM)
			locked++;
		else
			other++;
	}
	if (b->used >= b->frames &&
	    (!(flags & VMFAULT_EVICT_MAY_EXCEED) || (locked && !other))) {
		spin_unlock(&b->lock);
		kfree(f);
		return ERR_PTR(-ENOSPC);
	}
	b->used++;
	spin_unlock(&b->lock);
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
	b->used--;
	spin_unlock(&b->lock);
	kfree(f);
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
static u64 vmfault_opt_next_use(struct vmfault_budget *b, pgoff_t index)
{
	u64 pos;

	for (pos = b->ref_pos; pos < b->nr_refs; pos++)
		if (b->refs[pos] == index)
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
	struct vmfault_budget *b = region->budget;
	struct vmfault_frame *f = vmfault_page_frame(page);

	if (WARN_ON_ONCE(!f))
		return;
	spin_lock(&b->lock);
	if (!f->listed) {
		f->listed = true;
		f->referenced = true;
		/* A prefetched page: when will it be used? (The faulting one: now.) */
		if (b->policy == VMFAULT_POLICY_OPT && region->window > 1)
			f->next_use = vmfault_opt_next_use(b, f->index);
		list_add_tail(&f->node, b->policy == VMFAULT_POLICY_CLOCK ? b->hand : &b->list);
	}
	spin_unlock(&b->lock);
}

/* OPT: the reference at the string's position of @index; lock held. */
static void vmfault_opt_reference(struct vmfault_budget *b, struct vmfault_frame *f)
{
	u64 pos;

	for (pos = b->ref_pos; pos < b->nr_refs; pos++) {
		if (b->refs[pos] == f->index) {
			f->next_use = b->ref_next[pos];
			b->ref_pos = pos + 1;
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
	struct vmfault_budget *b = region->budget;
	struct vmfault_frame *f = vmfault_page_frame(page);
	bool unmap = false;
	pgoff_t old = 0;
	u32 i;

	if (!major)
		vmfault_count(region, VMFAULT_CNT_REF_FAULTS);
	spin_lock(&b->lock);
	if (f && f->listed) {
		f->referenced = true;
		if (b->policy == VMFAULT_POLICY_LRU)
			list_move_tail(&f->node, &b->list);
		else if (b->policy == VMFAULT_POLICY_OPT)
			vmfault_opt_reference(b, f);
	}
	if (b->trace_pages) {
		for (i = 0; i < b->nr_traced; i++)
			if (b->traced[(b->traced_head + i) % b->trace_pages] == index)
				goto out_unlock;
		if (b->nr_traced < b->trace_pages) {
			b->traced[(b->traced_head + b->nr_traced++) % b->trace_pages] = index;
		} else {
			old = b->traced[b->traced_head];
			b->traced[b->traced_head] = index;
			b->traced_head = (b->traced_head + 1) % b->trace_pages;
			unmap = true;
		}
	}
out_unlock:
	spin_unlock(&b->lock);
	if (unmap)
		vmfault_budget_unmap(region, &old, 1);
}
