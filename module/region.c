// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault regions: the memory object behind each open() of /dev/vmfault.
 *
 * A region is a sparse array of pages indexed by page offset, a size and a
 * mode. It lives exactly as long as its struct file: every mapping holds
 * the file (vma->vm_file), so the region outlives all of its mappings and
 * is freed by ->release after the last munmap() and close().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "vmfault.h"
#include "vmfault_trace.h"

static LIST_HEAD(vmfault_regions);
static DEFINE_MUTEX(vmfault_regions_lock);	/* protects vmfault_regions */

/**
 * vmfault_region_create() - allocate an empty, unsized zero-mode region
 * @inode: the private inode whose mapping the region's file uses
 *
 * Return: the region, or NULL when out of memory.
 */
struct vmfault_region *vmfault_region_create(struct inode *inode)
{
	struct vmfault_region *region;

	region = kzalloc(sizeof(*region), GFP_KERNEL);
	if (!region)
		return NULL;
	region->stats = alloc_percpu(struct vmfault_counters);
	if (!region->stats) {
		kfree(region);
		return NULL;
	}
	mutex_init(&region->lock);
	xa_init(&region->pages);
	region->mode = VMFAULT_MODE_ZERO;
	region->inode = inode;
	region->owner = task_tgid_nr(current);
	mutex_lock(&vmfault_regions_lock);
	list_add_tail(&region->node, &vmfault_regions);
	mutex_unlock(&vmfault_regions_lock);
	return region;
}

/**
 * vmfault_region_destroy() - release a region and all of its pages
 * @region: a region with no mappings left
 *
 * Pages still pinned elsewhere (a pipe that a vmsplice() filled, an
 * in-flight O_DIRECT request) are freed when their last reference goes.
 */
void vmfault_region_destroy(struct vmfault_region *region)
{
	struct page *page;
	unsigned long index;

	mutex_lock(&vmfault_regions_lock);
	list_del(&region->node);
	mutex_unlock(&vmfault_regions_lock);
	xa_for_each(&region->pages, index, page) {
		put_page(page);
		vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
	}
	xa_destroy(&region->pages);
	free_percpu(region->stats);
	mutex_destroy(&region->lock);
	kfree(region);
}

/**
 * vmfault_regions_count() - how many regions are open
 *
 * Return: the number of regions.
 */
unsigned int vmfault_regions_count(void)
{
	struct vmfault_region *region;
	unsigned int n = 0;

	mutex_lock(&vmfault_regions_lock);
	list_for_each_entry(region, &vmfault_regions, node)
		n++;
	mutex_unlock(&vmfault_regions_lock);
	return n;
}

/**
 * vmfault_region_configure() - set mode and size before the first mmap()
 * @region: the region
 * @cfg: the configuration, copied from user space
 *
 * Return: 0; -EINVAL for a bad mode, flags, reserved field or size;
 * -EBUSY once the region has been mapped.
 */
int vmfault_region_configure(struct vmfault_region *region,
			     const struct vmfault_config *cfg)
{
	int i;

	if (cfg->mode != VMFAULT_MODE_ZERO) {
		pr_info_ratelimited("configure (%s[%d]): unknown mode %u\n",
				    current->comm, task_pid_nr(current), cfg->mode);
		return -EINVAL;
	}
	if (cfg->flags) {
		pr_info_ratelimited("configure (%s[%d]): unknown flags %#x\n",
				    current->comm, task_pid_nr(current), cfg->flags);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(cfg->reserved); i++) {
		if (cfg->reserved[i]) {
			pr_info_ratelimited("configure (%s[%d]): reserved[%d] is not zero\n",
					    current->comm, task_pid_nr(current), i);
			return -EINVAL;
		}
	}
	if (!cfg->size || !PAGE_ALIGNED(cfg->size) || cfg->size > VMFAULT_MAX_SIZE) {
		pr_info_ratelimited("configure (%s[%d]): size %llu is not a multiple of %lu from %lu to %llu\n",
				    current->comm, task_pid_nr(current), cfg->size,
				    PAGE_SIZE, PAGE_SIZE, VMFAULT_MAX_SIZE);
		return -EINVAL;
	}

	mutex_lock(&region->lock);
	if (region->mapped) {
		mutex_unlock(&region->lock);
		pr_info_ratelimited("configure (%s[%d]): region is already mapped\n",
				    current->comm, task_pid_nr(current));
		return -EBUSY;
	}
	region->mode = cfg->mode;
	region->size = cfg->size;
	mutex_unlock(&region->lock);
	return 0;
}

/**
 * vmfault_region_map() - account a new mapping of the region
 * @region: the region
 * @vma: the new mapping, not yet visible to user space
 *
 * An unsized region takes the size of its first mapping (offset plus
 * length). A mapping may extend past the size, as with a file; faults
 * there get SIGBUS.
 *
 * Return: 0, or -EINVAL if an unsized region would exceed VMFAULT_MAX_SIZE.
 */
int vmfault_region_map(struct vmfault_region *region, struct vm_area_struct *vma)
{
	u64 end = ((u64)vma->vm_pgoff + vma_pages(vma)) << PAGE_SHIFT;
	int ret = 0;

	mutex_lock(&region->lock);
	if (!region->size) {
		if (end > VMFAULT_MAX_SIZE) {
			pr_info_ratelimited("mmap (%s[%d]): %llu bytes exceeds the limit of %llu\n",
					    current->comm, task_pid_nr(current),
					    end, VMFAULT_MAX_SIZE);
			ret = -EINVAL;
			goto out_unlock;
		}
		WRITE_ONCE(region->size, end);
	}
	region->mapped = true;
	vma->vm_ops = &vmfault_zero_vm_ops;
out_unlock:
	mutex_unlock(&region->lock);
	return ret;
}

/**
 * vmfault_region_get_info() - fill the VMFAULT_IOC_GET_INFO answer
 * @region: the region
 * @info: zeroed by the caller
 */
void vmfault_region_get_info(struct vmfault_region *region,
			     struct vmfault_region_info *info)
{
	u64 *c = info->counters;

	mutex_lock(&region->lock);
	info->mode = region->mode;
	info->size = region->size;
	info->mapped = region->mapped;
	mutex_unlock(&region->lock);
	info->id = vmfault_region_id(region);

	BUILD_BUG_ON(VMFAULT_NR_COUNTERS > VMFAULT_MAX_COUNTERS);
	vmfault_counters_sum(region->stats, c);
	info->nr_counters = VMFAULT_NR_COUNTERS;
	/* Region pages are only freed with the region itself. */
	info->resident = c[VMFAULT_CNT_PAGES_ALLOCATED] - c[VMFAULT_CNT_PAGES_FREED];
}

/**
 * vmfault_regions_show() - /proc/vmfault_regions: one line per open region
 * @m: the seq_file
 * @v: unused
 *
 * A header line names the columns: id, owner (tgid of the opener), mode,
 * size (bytes), resident (pages), then every counter of /proc/vmfault.
 *
 * Return: 0.
 */
int vmfault_regions_show(struct seq_file *m, void *v)
{
	struct vmfault_region_info info;
	struct vmfault_region *region;
	int i;

	seq_puts(m, "id owner mode size resident");
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, " %s", vmfault_counter_names[i]);
	seq_putc(m, '\n');

	mutex_lock(&vmfault_regions_lock);
	list_for_each_entry(region, &vmfault_regions, node) {
		memset(&info, 0, sizeof(info));
		vmfault_region_get_info(region, &info);
		seq_printf(m, "%u %d %s %llu %llu", info.id, region->owner,
			   info.mode == VMFAULT_MODE_ZERO ? "zero" : "?", info.size,
			   info.resident);
		for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
			seq_printf(m, " %llu", info.counters[i]);
		seq_putc(m, '\n');
	}
	mutex_unlock(&vmfault_regions_lock);
	return 0;
}

/**
 * vmfault_region_unmap_zero() - remove zero-page ptes of one page offset
 * @region: the region
 * @index: page offset in the region
 *
 * Zaps the pte at @index in every mapping of the region, shared or private.
 * Private copies (anonymous pages) are kept; zero-page and region-page
 * ptes go, and the next access faults in the region's current page. This
 * is how a page that one process read as zero shows another's write.
 */
void vmfault_region_unmap_zero(struct vmfault_region *region, pgoff_t index)
{
	unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT,
			    PAGE_SIZE, 0);
}

/**
 * vmfault_region_get_page() - look up, and optionally allocate, a page
 * @region: the region
 * @index: page offset, below the region's size
 * @alloc: allocate a zeroed page if there is none
 * @address: the faulting address, for the trace; 0 for write()
 *
 * Concurrent callers for the same @index get the same page: the first to
 * install it in the xarray wins, the others free theirs. A new page is
 * then unmapped as zero page from every mapping (see
 * vmfault_region_zero_mapped()).
 *
 * Return: the page, without a reference of the caller's (the region holds
 * one until it is destroyed); NULL if absent and !@alloc; ERR_PTR(-ENOMEM).
 */
struct page *vmfault_region_get_page(struct vmfault_region *region, pgoff_t index,
				     bool alloc, unsigned long address)
{
	struct page *page, *old;

	page = xa_load(&region->pages, index);
	if (page || !alloc)
		return page;

	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
	if (!page)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&region->pages, index, NULL, page, GFP_KERNEL);
	if (old) {
		__free_page(page);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
	}
	vmfault_count(region, VMFAULT_CNT_PAGES_ALLOCATED);
	trace_vmfault_page_alloc(vmfault_region_id(region), address, index, page_to_pfn(page));

	/*
	 * Pairs with the barrier in vmfault_region_zero_mapped(): either that
	 * reader sees our page and zaps its own zero-page pte, or we see its
	 * flag and zap here.
	 */
	smp_mb();
	if (READ_ONCE(region->zero_mapped))
		vmfault_region_unmap_zero(region, index);
	return page;
}

/**
 * vmfault_region_zero_mapped() - note that a zero-page pte is about to exist
 * @region: the region
 *
 * Regions that never mapped the zero page skip the unmap on allocation,
 * which keeps first-write faults as cheap as they can be.
 */
void vmfault_region_zero_mapped(struct vmfault_region *region)
{
	if (!READ_ONCE(region->zero_mapped))
		WRITE_ONCE(region->zero_mapped, true);
	/* Flag before pte; pairs with vmfault_region_get_page()'s barrier. */
	smp_mb();
}
