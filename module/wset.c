// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault working-set sampling: the lecture's "accounting by sampling".
 * Mark a sample of a file-mode region's resident pages not present, and
 * count how many of them are touched before the next sample.
 */

/**
 * DOC: working-set sampling
 *
 * VMFAULT_IOC_WS_SAMPLE ends one interval and starts the next. It reports
 * how many of the pages sampled at the previous call were touched since,
 * then draws a new sample of the resident pages: every stride-th in page
 * order, or (VMFAULT_WS_RANDOM) each with probability 1/stride from a
 * seeded xorshift64* generator. Each sampled page gets the xarray mark
 * VMFAULT_PAGE_SAMPLED and is unmapped from every mapping of the region,
 * so that its next use is a minor fault: that fault clears the mark and
 * counts the page as touched. With VMFAULT_WS_WRITE only a write counts:
 * a read maps the page read-only (a MAP_SHARED mapping of a writable file
 * write-protects its ptes until ->page_mkwrite), and ->page_mkwrite
 * counts it. Pages stay unmapped only until their next use; fault-around
 * (->map_pages) passes marked pages over, so that they reach ->fault.
 *
 * The estimate of the pages touched in the interval is touched * N /
 * sampled, N being the resident pages when the sample was drawn. A
 * sampled page that is evicted before it is touched (a frame budget)
 * counts as untouched. MAP_PRIVATE writes go to private copies and are not
 * seen by write sampling.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "vmfault.h"

/**
 * struct vmfault_wset - a region's working-set sampler
 * @mutex: serializes samples
 * @lock: protects the fields below
 * @rng: VMFAULT_WS_RANDOM's generator
 * @flags: the last sample's VMFAULT_WS_* flags
 * @population: resident pages when the last sample was drawn
 * @sampled: pages in the last sample
 * @touched: of them, touched since (updated by the fault paths)
 */
struct vmfault_wset {
	struct mutex mutex;	/* serializes samples */
	spinlock_t lock;	/* protects the fields below */
	u64 rng;
	u32 flags;
	u64 population;
	u64 sampled;
	u64 touched;
};

/**
 * vmfault_wset_touch() - a fault used a page that may be sampled
 * @region: a region that has sampled (region->wset set)
 * @index: the page's offset
 * @write: a write (->page_mkwrite, or a write fault)
 *
 * Counts the page once per sample: a read only under read sampling.
 */
void vmfault_wset_touch(struct vmfault_region *region, pgoff_t index, bool write)
{
	struct vmfault_wset *ws = region->wset;

	if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_SAMPLED))
		return;
	if ((READ_ONCE(ws->flags) & VMFAULT_WS_WRITE) && !write)
		return;
	xa_lock(&region->pages);
	if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_SAMPLED)) {
		xa_unlock(&region->pages);
		return;
	}
	__xa_clear_mark(&region->pages, index, VMFAULT_PAGE_SAMPLED);
	xa_unlock(&region->pages);
	spin_lock(&ws->lock);
	ws->touched++;
	spin_unlock(&ws->lock);
}

/* Clear the marks the last sample left: pages not touched. */
static void vmfault_wset_clear(struct vmfault_region *region)
{
	XA_STATE(xas, &region->pages, 0);
	struct page *page;
	unsigned int n = 0;

	xas_lock(&xas);
	xas_for_each_marked(&xas, page, ULONG_MAX, VMFAULT_PAGE_SAMPLED) {
		xas_clear_mark(&xas, VMFAULT_PAGE_SAMPLED);
		if (++n % XA_CHECK_SCHED)
			continue;
		xas_pause(&xas);
		xas_unlock(&xas);
		cond_resched();
		xas_lock(&xas);
	}
	xas_unlock(&xas);
}

/*
 * Draw a sample of the up-to-date resident pages, mark and unmap them.
 * Returns how many, and in *@population how many resident pages there
 * were.
 */
static u64 vmfault_wset_draw(struct vmfault_region *region, struct vmfault_wset *ws,
			     const struct vmfault_ws_sample *req, u64 *population)
{
	unsigned long index;
	struct page *page;
	u64 n = 0, i = 0;
	bool take;

	xa_for_each(&region->pages, index, page) {
		if (!PageUptodate(page))
			continue;
		if (req->flags & VMFAULT_WS_RANDOM) {
			spin_lock(&ws->lock);
			take = !((vmfault_random(&ws->rng) >> 32) % req->stride);
			spin_unlock(&ws->lock);
		} else {
			take = !(i % req->stride);
		}
		i++;
		if (take) {
			xa_set_mark(&region->pages, index, VMFAULT_PAGE_SAMPLED);
			/* The next use faults; mlock()ed pages are left mapped. */
			unmap_mapping_range(region->inode->i_mapping,
					    (loff_t)index << PAGE_SHIFT, PAGE_SIZE, 0);
			n++;
		}
		if (!(i % 1024))
			cond_resched();
	}
	*population = i;
	return n;
}

/**
 * vmfault_wset_sample() - VMFAULT_IOC_WS_SAMPLE
 * @region: the region
 * @req: the request, copied in; the answer is written into it
 *
 * Context: might sleep; holds only the sampler's mutex across the unmaps
 * (region->lock stays a leaf).
 * Return: 0; -EINVAL for a region not in file mode or not yet used, a
 * stride of 0, or unknown flags; -ENOMEM.
 */
int vmfault_wset_sample(struct vmfault_region *region, struct vmfault_ws_sample *req)
{
	struct vmfault_wset *ws;
	u64 population;

	if (req->flags & ~VMFAULT_WS_FLAGS_ALL || !req->stride ||
	    (req->seed && !(req->flags & VMFAULT_WS_RANDOM))) {
		pr_info_ratelimited("ws_sample (%s[%d]): flags %#x, stride %u, seed %llu: stride must be 1 or more, a seed is for VMFAULT_WS_RANDOM\n",
				    current->comm, task_pid_nr(current), req->flags, req->stride,
				    req->seed);
		return -EINVAL;
	}
	if (READ_ONCE(region->mode) != VMFAULT_MODE_FILE || !READ_ONCE(region->frozen)) {
		pr_info_ratelimited("ws_sample (%s[%d]): region %lu: sampling is for a file-mode region in use\n",
				    current->comm, task_pid_nr(current), vmfault_region_id(region));
		return -EINVAL;
	}
	mutex_lock(&region->lock);
	ws = region->wset;
	if (!ws) {
		ws = kzalloc(sizeof(*ws), GFP_KERNEL);
		if (!ws) {
			mutex_unlock(&region->lock);
			return -ENOMEM;
		}
		mutex_init(&ws->mutex);
		spin_lock_init(&ws->lock);
		ws->rng = req->seed ?: 0x9e3779b97f4a7c15ULL;
		/* Faults read it without the lock: publish it whole. */
		smp_store_release(&region->wset, ws);
	}
	mutex_unlock(&region->lock);

	mutex_lock(&ws->mutex);
	vmfault_wset_clear(region);
	spin_lock(&ws->lock);
	req->sampled = ws->sampled;
	req->touched = ws->touched;
	req->estimate = ws->sampled ? div64_u64(ws->touched * ws->population, ws->sampled) : 0;
	ws->touched = 0;
	WRITE_ONCE(ws->flags, req->flags);
	spin_unlock(&ws->lock);

	req->next_sampled = vmfault_wset_draw(region, ws, req, &population);
	req->resident = population;
	spin_lock(&ws->lock);
	ws->sampled = req->next_sampled;
	ws->population = population;
	spin_unlock(&ws->lock);
	mutex_unlock(&ws->mutex);
	return 0;
}

/**
 * vmfault_wset_free() - free a region's sampler
 * @region: a region being freed
 */
void vmfault_wset_free(struct vmfault_region *region)
{
	if (region->wset)
		mutex_destroy(&region->wset->mutex);
	kfree(region->wset);
	region->wset = NULL;
}
