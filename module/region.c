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

#include <linux/bvec.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <uapi/linux/magic.h>

#include "compat.h"
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
	if (vmfault_counters_init(&region->stats)) {
		kfree(region);
		return NULL;
	}
	mutex_init(&region->lock);
	spin_lock_init(&region->ra_lock);
	region->ra_mark = ULONG_MAX;
	xa_init(&region->pages);
	xa_init(&region->swapped);
	region->mode = VMFAULT_MODE_ZERO;
	region->inode = inode;
	region->owner = task_tgid_nr(current);
	mutex_lock(&vmfault_regions_lock);
	list_add_tail(&region->node, &vmfault_regions);
	mutex_unlock(&vmfault_regions_lock);
	return region;
}

/* The chunks of a resident map that covers @pages offsets. */
static unsigned long vmfault_resident_chunks(unsigned long pages)
{
	return DIV_ROUND_UP(pages, VMFAULT_RESIDENT_BITS);
}

/* Free a region's resident map. */
static void vmfault_resident_free(struct vmfault_region *region)
{
	struct vmfault_resident *r = region->resident;
	unsigned long i;

	if (!r)
		return;
	for (i = 0; i < vmfault_resident_chunks(r->pages); i++)
		kfree(r->chunk[i]);
	kvfree(r);
}

/**
 * vmfault_region_destroy() - release a region and all of its pages
 * @region: a region with no mappings left
 *
 * Pages still pinned elsewhere (a pipe that a vmsplice() filled, an
 * in-flight O_DIRECT request) are freed when their last reference goes;
 * what such a holder writes into one after this is not written back (the
 * page is no longer the region's). A hardware-poisoned page is never
 * freed: memory_failure() keeps a reference.
 */
void vmfault_region_destroy(struct vmfault_region *region)
{
	struct page *page;
	unsigned long index, n = 0;

	mutex_lock(&vmfault_regions_lock);
	list_del(&region->node);
	mutex_unlock(&vmfault_regions_lock);
	vmfault_budget_destroy(region);
	vmfault_wset_free(region);
	vmfault_pager_free(region);
	xa_for_each(&region->pages, index, page) {
		vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
		vmfault_page_drop(page);
		/* Up to 2^28 pages (1 TiB): let others run. */
		if (!(++n % 1024))
			cond_resched();
	}
	xa_destroy(&region->pages);
	vmfault_resident_free(region);
	if (region->backing)
		fput(region->backing);
	/* Its last count was the pages freed above. */
	vmfault_counters_retire(&region->stats);
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

#define vmfault_cfg_err(fmt, ...)						\
	pr_info_ratelimited("configure (%s[%d]): " fmt "\n", current->comm,	\
			    task_pid_nr(current), ##__VA_ARGS__)

static const char *vmfault_file_type(umode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a pipe";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	default:
		return "not a regular file";
	}
}

/*
 * Check the grows-down fields of a configuration of @pages pages (file
 * mode has refused them already): 0, or -EINVAL with a message.
 */
static int vmfault_region_check_stack(const struct vmfault_config *cfg, u64 pages)
{
	if (!(cfg->flags & VMFAULT_FLAG_GROWSDOWN)) {
		if (cfg->stack_pages || cfg->guard_pages) {
			vmfault_cfg_err("stack_pages and guard_pages need VMFAULT_FLAG_GROWSDOWN");
			return -EINVAL;
		}
		return 0;
	}
	if (cfg->flags & VMFAULT_FLAG_FAULT_AROUND) {
		vmfault_cfg_err("GROWSDOWN cannot fault around: a neighbour below the stack is not the stack's");
		return -EINVAL;
	}
	if (!cfg->stack_pages || !cfg->guard_pages ||
	    (u64)cfg->stack_pages + cfg->guard_pages > pages) {
		vmfault_cfg_err("GROWSDOWN needs stack_pages >= 1 and guard_pages >= 1, together at most the region's %llu pages (got %u and %u)",
				pages, cfg->stack_pages, cfg->guard_pages);
		return -EINVAL;
	}
	return 0;
}

/*
 * Check a file-mode configuration and take a reference to its backing
 * file. On success *@size is the region's size (from the file's end if
 * @cfg's is 0) and *@filep the file; else a negative errno.
 */
static int vmfault_region_check_file(const struct vmfault_config *cfg, u64 *size,
				     struct file **filep)
{
	struct file *file;
	loff_t isize;
	u64 end;
	int err = -EINVAL;

	if (cfg->flags & ~VMFAULT_FLAGS_ALL) {
		vmfault_cfg_err("unknown flags %#x", cfg->flags);
		return -EINVAL;
	}
	if (cfg->flags & VMFAULT_FLAG_FAULT_AROUND) {
		vmfault_cfg_err("FAULT_AROUND is a zero-mode flag; file mode faults around unless NO_FAULT_AROUND");
		return -EINVAL;
	}
	if (cfg->window > VMFAULT_MAX_WINDOW) {
		vmfault_cfg_err("window %u is more than %u pages", cfg->window,
				VMFAULT_MAX_WINDOW);
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(cfg->offset) || cfg->offset > MAX_LFS_FILESIZE) {
		vmfault_cfg_err("offset %llu is not a multiple of %lu in the file size limit",
				cfg->offset, PAGE_SIZE);
		return -EINVAL;
	}
	file = cfg->fd >= 0 ? fget(cfg->fd) : NULL;
	if (!file) {
		vmfault_cfg_err("fd %d is not an open file", cfg->fd);
		return -EBADF;
	}
	if (vmfault_is_region_file(file)) {
		vmfault_cfg_err("fd %d is /dev/vmfault: a region cannot back a region", cfg->fd);
		goto err_fput;
	}
	if (!S_ISREG(file_inode(file)->i_mode)) {
		vmfault_cfg_err("fd %d is %s; a backing file must be a regular file",
				cfg->fd, vmfault_file_type(file_inode(file)->i_mode));
		goto err_fput;
	}
	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter) {
		vmfault_cfg_err("fd %d is not open for reading", cfg->fd);
		err = -EBADF;
		goto err_fput;
	}
	/*
	 * A fault that may hold the file's inode lock reads through its page
	 * cache (file_io.c): ->read_folio, or shmem's own for tmpfs.
	 */
	if (!file->f_mapping->a_ops->read_folio &&
	    file_inode(file)->i_sb->s_magic != TMPFS_MAGIC) {
		vmfault_cfg_err("fd %d: its file system (%s) has no page cache to read from in a fault",
				cfg->fd, file_inode(file)->i_sb->s_type->name);
		goto err_fput;
	}
	isize = i_size_read(file_inode(file));
	*size = cfg->size;
	if (!*size) {
		if (cfg->offset >= isize) {
			vmfault_cfg_err("size 0 (to the end) but offset %llu is at or past the end (%lld bytes)",
					cfg->offset, isize);
			goto err_fput;
		}
		*size = round_up(isize - cfg->offset, PAGE_SIZE);
	}
	if (check_add_overflow(cfg->offset, *size, &end) || end > MAX_LFS_FILESIZE) {
		vmfault_cfg_err("offset %llu + size %llu is past the file size limit",
				cfg->offset, *size);
		goto err_fput;
	}
	*filep = file;
	return 0;

err_fput:
	fput(file);
	return err;
}

/**
 * vmfault_region_configure() - set mode and size before the first mmap()
 * @region: the region
 * @cfg: the configuration, copied from user space
 *
 * Return: 0; -EINVAL for a bad mode, flags, field or size, or a backing fd
 * that is not a regular file; -EBADF for a backing fd that is not open
 * for reading; -EBUSY once the region has been mapped, or (file mode) has
 * pages.
 */
int vmfault_region_configure(struct vmfault_region *region,
			     const struct vmfault_config *cfg)
{
	struct file *file = NULL, *old;
	u64 size = cfg->size;
	int i, err;

	for (i = 0; i < ARRAY_SIZE(cfg->reserved); i++) {
		if (cfg->reserved[i]) {
			vmfault_cfg_err("reserved[%d] is not zero", i);
			return -EINVAL;
		}
	}
	switch (cfg->mode) {
	case VMFAULT_MODE_ZERO:
		if (cfg->flags & ~VMFAULT_FLAGS_ALL) {
			vmfault_cfg_err("unknown flags %#x", cfg->flags);
			return -EINVAL;
		}
		if (cfg->flags & VMFAULT_FLAG_NO_FAULT_AROUND) {
			vmfault_cfg_err("NO_FAULT_AROUND is a file-mode flag; zero mode faults around only with FAULT_AROUND");
			return -EINVAL;
		}
		if (cfg->flags & VMFAULT_FLAG_ASYNC_PREFETCH) {
			vmfault_cfg_err("ASYNC_PREFETCH is a file-mode flag: zero mode reads nothing");
			return -EINVAL;
		}
		if (cfg->fd || cfg->window || cfg->offset) {
			vmfault_cfg_err("fd, window and offset are for file mode; zero mode needs 0");
			return -EINVAL;
		}
		break;
	case VMFAULT_MODE_PAGER:
		if (cfg->flags || cfg->fd || cfg->window || cfg->offset || cfg->stack_pages ||
		    cfg->guard_pages) {
			vmfault_cfg_err("pager mode takes a size only: flags, fd, window, offset, stack_pages and guard_pages must be 0");
			return -EINVAL;
		}
		break;
	case VMFAULT_MODE_FILE:
		if (cfg->flags & VMFAULT_FLAG_GROWSDOWN || cfg->stack_pages || cfg->guard_pages) {
			vmfault_cfg_err("GROWSDOWN, stack_pages and guard_pages are for zero mode");
			return -EINVAL;
		}
		err = vmfault_region_check_file(cfg, &size, &file);
		if (err)
			return err;
		break;
	default:
		vmfault_cfg_err("unknown mode %u", cfg->mode);
		return -EINVAL;
	}
	if (!size || !PAGE_ALIGNED(size) || size > VMFAULT_MAX_SIZE) {
		vmfault_cfg_err("size %llu is not a multiple of %lu from %lu to %llu",
				size, PAGE_SIZE, PAGE_SIZE, VMFAULT_MAX_SIZE);
		err = -EINVAL;
		goto err_fput;
	}
	err = vmfault_region_check_stack(cfg, size >> PAGE_SHIFT);
	if (err)
		goto err_fput;

	mutex_lock(&region->lock);
	if (region->frozen || (file && !xa_empty(&region->pages))) {
		mutex_unlock(&region->lock);
		vmfault_cfg_err("region is already in use (mapped, file I/O, or pages written)");
		err = -EBUSY;
		goto err_fput;
	}
	if (cfg->mode == VMFAULT_MODE_PAGER) {
		if (!xa_empty(&region->pages)) {
			mutex_unlock(&region->lock);
			vmfault_cfg_err("a pager region starts empty: the region has pages (written)");
			return -EBUSY;
		}
		err = vmfault_pager_configure(region);
		if (err) {
			mutex_unlock(&region->lock);
			return err;
		}
	}
	old = region->backing;
	/* A new configuration starts without a budget (evict.c). */
	vmfault_budget_destroy(region);
	region->mode = cfg->mode;
	region->size = size;
	region->flags = cfg->flags;
	region->backing = file;
	region->offset = file ? cfg->offset : 0;
	region->window = file ? max(cfg->window, 1U) : 0;
	WRITE_ONCE(region->ra_mark, ULONG_MAX);
	region->direct = file && (file->f_mode & FMODE_CAN_ODIRECT);
	atomic64_set(&region->data_end, 0);
	atomic_long_set(&region->stack_low, (size >> PAGE_SHIFT) - cfg->stack_pages);
	region->guard_pages = cfg->guard_pages;
	region->writable = file && (file->f_mode & FMODE_WRITE) && file->f_op->write_iter &&
			   !IS_APPEND(file_inode(file)) && !IS_IMMUTABLE(file_inode(file));
	mutex_unlock(&region->lock);
	if (old)
		fput(old);
	return 0;

err_fput:
	if (file)
		fput(file);
	return err;
}

/**
 * vmfault_region_freeze() - start I/O on the region: no reconfiguring
 * @region: the region
 *
 * The first read(), write() or flush freezes the configuration, as the
 * first mmap() does: no I/O of one mode may be under way when the region
 * turns into the other (a read of a zero-mode hole racing a switch to file
 * mode would meet file pages being filled). Takes @region->lock once.
 *
 * Return: the region's mode, fixed from now on.
 */
u32 vmfault_region_freeze(struct vmfault_region *region)
{
	if (!READ_ONCE(region->frozen)) {
		mutex_lock(&region->lock);
		region->frozen = true;
		mutex_unlock(&region->lock);
	}
	return region->mode;
}

/*
 * A file-mode mapping: MAP_SHARED of a read-only backing file may never
 * write (not even after mprotect()); VM_MIXEDMAP lets ->map_pages insert
 * pages with vm_insert_page() under the mmap_lock held for read.
 * Returns 0, -EACCES, or -EINVAL (an OPT budget with no string).
 */
static int vmfault_region_map_file(struct vmfault_region *region,
				   struct vm_area_struct *vma)
{
	vm_flags_t clear = 0;

	if ((vma->vm_flags & VM_SHARED) && !region->writable) {
		if (vma->vm_flags & VM_WRITE) {
			pr_info_ratelimited("mmap (%s[%d]): region %lu: the backing file is not writable; MAP_SHARED with PROT_WRITE refused\n",
					    current->comm, task_pid_nr(current),
					    vmfault_region_id(region));
			return -EACCES;
		}
		clear = VM_MAYWRITE;
	}
	if (vmfault_budget_check_map(region))
		return -EINVAL;
	/*
	 * With a budget, fault-around would map pages nobody referenced: no
	 * ->map_pages, and so no VM_MIXEDMAP, which is VM_SPECIAL and would
	 * make mlock() leave the mapping unlocked (evict.c keeps mlock()ed
	 * pages).
	 */
	if (region->budget) {
		vmfault_vma_set_flags(vma, 0, clear);
		vma->vm_ops = &vmfault_file_nofa_vm_ops;
		return 0;
	}
	vmfault_vma_set_flags(vma, VM_MIXEDMAP, clear);
	vma->vm_ops = region->flags & VMFAULT_FLAG_NO_FAULT_AROUND ?
		      &vmfault_file_nofa_vm_ops : &vmfault_file_vm_ops;
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
 * Return: 0; -EINVAL if an unsized region would exceed VMFAULT_MAX_SIZE;
 * -EACCES for a writable MAP_SHARED mapping of a read-only backing file.
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
	if (region->mode == VMFAULT_MODE_FILE) {
		ret = vmfault_region_map_file(region, vma);
		if (ret)
			goto out_unlock;
	} else if (region->mode == VMFAULT_MODE_PAGER) {
		vma->vm_ops = &vmfault_pager_vm_ops;
	} else if (region->budget) {
		/* Swapping (swap.c): as file mode with a budget, no VM_MIXEDMAP. */
		ret = vmfault_budget_check_map(region);
		if (ret)
			goto out_unlock;
		vma->vm_ops = &vmfault_swap_vm_ops;
	} else {
		vma->vm_ops = &vmfault_zero_vm_ops;
		if (region->flags & VMFAULT_FLAG_FAULT_AROUND) {
			/* As in file mode: for ->map_pages's vm_insert_page(). */
			vmfault_vma_set_flags(vma, VM_MIXEDMAP, 0);
			vma->vm_ops = &vmfault_zero_fa_vm_ops;
		}
	}
	region->mapped = true;
	region->frozen = true;
out_unlock:
	mutex_unlock(&region->lock);
	return ret;
}

/**
 * vmfault_region_count_dirty() - how many file-mode pages are dirty
 * @region: the region
 *
 * One walk of the marked entries under RCU, as the page cache counts its
 * tags: xa_for_each_marked() would start a lookup from the root for every
 * entry (about 290 instructions per dirty page under icount, 19 million
 * for 64k dirty pages in one GET_INFO). A page removed meanwhile may still
 * be counted: the figure is a snapshot either way.
 *
 * Context: might sleep (every 1024 entries).
 * Return: the marked pages whose PG_dirty is set.
 */
u64 vmfault_region_count_dirty(struct vmfault_region *region)
{
	XA_STATE(xas, &region->pages, 0);
	struct page *page;
	u64 n = 0, seen = 0;

	rcu_read_lock();
	xas_for_each_marked(&xas, page, ULONG_MAX, VMFAULT_PAGE_DIRTY) {
		if (xas_retry(&xas, page))
			continue;
		if (PageDirty(page))
			n++;
		if (!(++seen % 1024)) {
			xas_pause(&xas);
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	return n;
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
	info->window = region->window;
	info->flags = region->flags;
	info->offset = region->offset;
	mutex_unlock(&region->lock);
	info->dirty = vmfault_region_count_dirty(region);
	info->id = vmfault_region_id(region);

	BUILD_BUG_ON(VMFAULT_NR_COUNTERS > VMFAULT_MAX_COUNTERS);
	vmfault_counters_sum(region->stats.pcpu, c);
	info->nr_counters = VMFAULT_NR_COUNTERS;
	/* Region pages are freed by eviction and with the region itself. */
	info->resident = c[VMFAULT_CNT_PAGES_ALLOCATED] - c[VMFAULT_CNT_PAGES_FREED];
}

/**
 * vmfault_regions_for_each() - call a function for every open region
 * @fn: called with the region list's mutex held (so it may sleep, but must
 *	not open or release a region)
 * @arg: its second argument
 */
void vmfault_regions_for_each(void (*fn)(struct vmfault_region *region, void *arg), void *arg)
{
	struct vmfault_region *region;

	mutex_lock(&vmfault_regions_lock);
	list_for_each_entry(region, &vmfault_regions, node)
		fn(region, arg);
	mutex_unlock(&vmfault_regions_lock);
}

/**
 * vmfault_regions_report() - say in the kernel log what regions hold
 *
 * For the OOM killer's report (dev.c's notifier): region pages are in no
 * process's RSS unless mapped, so the OOM killer's ranking cannot see
 * them. Names the region that holds the most.
 */
void vmfault_regions_report(void)
{
	struct vmfault_region *region, *big = NULL;
	u64 most = 0, resident;
	unsigned int n = 0;

	/* Never wait in an OOM: a holder may be allocating. */
	if (mutex_trylock(&vmfault_regions_lock)) {
		list_for_each_entry(region, &vmfault_regions, node) {
			struct vmfault_counters __percpu *stats = region->stats.pcpu;

			n++;
			resident = vmfault_counter_sum(stats, VMFAULT_CNT_PAGES_ALLOCATED) -
				   vmfault_counter_sum(stats, VMFAULT_CNT_PAGES_FREED);
			if (resident > most) {
				most = resident;
				big = region;
			}
		}
		if (big)
			pr_info("%u regions hold %lld pages (%lld MiB), in no process's RSS unless mapped; the most, %llu pages, region %lu opened by pid %d\n",
				n, percpu_counter_sum(&vmfault_pages_used),
				percpu_counter_sum(&vmfault_pages_used) >> (20 - PAGE_SHIFT),
				most, vmfault_region_id(big), big->owner);
		mutex_unlock(&vmfault_regions_lock);
		if (big)
			return;
	}
	pr_info("regions hold %lld pages (%lld MiB), in no process's RSS unless mapped\n",
		percpu_counter_sum(&vmfault_pages_used),
		percpu_counter_sum(&vmfault_pages_used) >> (20 - PAGE_SHIFT));
}

/**
 * vmfault_page_alloc() - allocate a page for a region, within the limits
 * @region: the region, for the counters
 * @zero: zero it (zero mode; file mode fills it)
 *
 * The page is charged to the memory cgroup of the calling task
 * (__GFP_ACCOUNT, as KVM charges the pages it maps into user space), so
 * memory.max bounds region memory and a cgroup at its limit reclaims or
 * OOM-kills within itself. All regions together hold at most
 * vmfault_max_pages (dev.c), as tmpfs's size= bounds a mount.
 *
 * Return: the page, with one reference; ERR_PTR(-ENOSPC) at the module's
 * limit, ERR_PTR(-ENOMEM) when the allocation (or the charge) fails.
 */
struct page *vmfault_page_alloc(struct vmfault_region *region, bool zero)
{
	struct page *page;

	if (percpu_counter_compare(&vmfault_pages_used, READ_ONCE(vmfault_max_pages)) >= 0) {
		vmfault_count(region, VMFAULT_CNT_LIMIT_REFUSALS);
		return ERR_PTR(-ENOSPC);
	}
	page = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT | (zero ? __GFP_ZERO : 0));
	if (!page)
		return ERR_PTR(-ENOMEM);
	percpu_counter_inc(&vmfault_pages_used);
	return page;
}

/**
 * vmfault_page_drop() - put a page that vmfault_page_alloc() gave
 * @page: the page; the caller's reference goes
 */
void vmfault_page_drop(struct page *page)
{
	percpu_counter_dec(&vmfault_pages_used);
	put_page(page);
}

/*
 * Set @index's bit in the region's resident map (struct vmfault_resident),
 * making the map and the chunk on first use. Racing callers agree through
 * the cmpxchg()es, whose full barriers also order a new map's or chunk's
 * contents before the pointer a lock-free lookup follows.
 *
 * Return: 0, or -ENOMEM (charged to the caller's memory cgroup, as the page).
 */
static int vmfault_resident_set(struct vmfault_region *region, pgoff_t index)
{
	struct vmfault_resident *r = READ_ONCE(region->resident), *new;
	unsigned long *chunk, *bits, i;

	if (!r) {
		unsigned long pages = READ_ONCE(region->size) >> PAGE_SHIFT;

		new = kvzalloc(struct_size(new, chunk, vmfault_resident_chunks(pages)),
			       GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->pages = pages;
		r = cmpxchg(&region->resident, NULL, new);
		if (r)
			kvfree(new);
		else
			r = new;
	}
	if (index >= r->pages)
		return 0;	/* a lookup there walks the xarray */
	i = index >> VMFAULT_RESIDENT_SHIFT;
	chunk = READ_ONCE(r->chunk[i]);
	if (!chunk) {
		bits = kcalloc(BITS_TO_LONGS(min(r->pages, VMFAULT_RESIDENT_BITS)), sizeof(long),
			       GFP_KERNEL_ACCOUNT);
		if (!bits)
			return -ENOMEM;
		chunk = cmpxchg(&r->chunk[i], NULL, bits);
		if (chunk)
			kfree(bits);
		else
			chunk = bits;
	}
	set_bit(index & (VMFAULT_RESIDENT_BITS - 1), chunk);
	return 0;
}

/* Count @n pages just put in empty slots. */
static inline void vmfault_region_published(struct vmfault_region *region, unsigned int n)
{
	/* Pages, then count: a reader that sees the count finds the pages (fault_zero.c). */
	smp_mb__before_atomic();
	atomic_long_add(n, &region->published);
	vmfault_count_add(region, VMFAULT_CNT_PAGES_ALLOCATED, n);
}

/**
 * vmfault_region_publish() - put a page in a region's empty slot
 * @region: the region
 * @index: page offset
 * @page: the page, whose reference from vmfault_page_alloc() the slot takes
 * @address: the faulting address, for the trace; 0 for I/O
 *
 * Return: NULL when @page is in the slot; else what the slot holds (another
 * task was first), or ERR_PTR(-ENOMEM).
 */
struct page *vmfault_region_publish(struct vmfault_region *region, pgoff_t index,
				    struct page *page, unsigned long address)
{
	struct page *cur;
	int err;

	/*
	 * The bit first: a lookup that finds it clear finds no page
	 * (fault_zero.c). Zero mode's lookups are the map's only readers,
	 * and a region's mode is fixed from its freeze on, which comes
	 * before its first page: other modes skip the map (a file-mode read
	 * paid 14 instructions a page for it on x86 6.1, 23 on riscv64).
	 */
	if (region->mode == VMFAULT_MODE_ZERO) {
		err = vmfault_resident_set(region, index);
		if (err)
			return ERR_PTR(err);
	}
	cur = xa_cmpxchg(&region->pages, index, NULL, page, GFP_KERNEL);
	if (xa_is_err(cur))
		return ERR_PTR(xa_err(cur));
	if (cur)
		return cur;
	vmfault_region_published(region, 1);
	trace_vmfault_page_alloc(region, address, index, page);
	return NULL;
}

/**
 * vmfault_region_publish_run() - put pages in consecutive empty slots
 * @region: a region that is not in zero mode
 * @index: page offset of the first page
 * @bv: the pages, as a window read holds them (each page's reference
 *	from vmfault_page_alloc() goes to its slot)
 * @nr: how many
 *
 * As vmfault_region_publish() for each page, in order, with one walk of
 * the xarray and one hold of its lock for all of them: a window read
 * published each page on its own, a lock and a walk from the root each
 * (riscv64 6.12: about 320 instructions a page). Stops at the first slot
 * that is not empty, or when no xarray node can be allocated. Not for zero
 * mode, whose lookups need each page's bit in the resident map first
 * (vmfault_resident_set()).
 *
 * Return: how many pages, from the first, are in their slots now.
 */
unsigned int vmfault_region_publish_run(struct vmfault_region *region, pgoff_t index,
					const struct bio_vec *bv, unsigned int nr)
{
	XA_STATE(xas, &region->pages, index);
	unsigned int done = 0;

	if (WARN_ON_ONCE(region->mode == VMFAULT_MODE_ZERO))
		return 0;
	do {
		xas_lock(&xas);
		while (done < nr && !xas_load(&xas)) {
			xas_store(&xas, bv[done].bv_page);
			if (xas_error(&xas))
				break;
			if (++done < nr)
				xas_next(&xas);
		}
		xas_unlock(&xas);
		/* No node could be made under the lock: make one, then go on at this slot. */
	} while (xas_nomem(&xas, GFP_KERNEL));
	if (!done)
		return 0;
	vmfault_region_published(region, done);
	if (trace_vmfault_page_alloc_enabled()) {
		unsigned int i;

		for (i = 0; i < done; i++)
			trace_vmfault_page_alloc(region, 0, index + i, bv[i].bv_page);
	}
	return done;
}

/**
 * vmfault_region_replaced() - account a page put in another's slot
 * @region: the region
 * @index: page offset
 * @old: the page that left the slot, whose slot reference is dropped here
 * @page: the page now in the slot, with the reference vmfault_page_alloc() gave
 *
 * For a caller that exchanged the entries itself, under the xarray's lock.
 */
void vmfault_region_replaced(struct vmfault_region *region, pgoff_t index,
			     struct page *old, struct page *page)
{
	vmfault_count(region, VMFAULT_CNT_PAGES_ALLOCATED);
	trace_vmfault_page_alloc(region, 0, index, page);
	vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
	vmfault_page_drop(old);
}

/**
 * vmfault_region_find_get() - the page at an offset, with a reference
 * @region: the region
 * @index: page offset
 *
 * As the page cache's lookup: a page that is freed and reused between the
 * lookup and the reference is no longer in the slot, and the lookup
 * starts again.
 *
 * Return: the page with a reference of the caller's, or NULL.
 */
struct page *vmfault_region_find_get(struct vmfault_region *region, pgoff_t index)
{
	XA_STATE(xas, &region->pages, index);
	struct page *page;

	rcu_read_lock();
repeat:
	xas_reset(&xas);
	page = xas_load(&xas);
	if (xas_retry(&xas, page))
		goto repeat;
	if (page) {
		if (!get_page_unless_zero(page))
			goto repeat;
		if (unlikely(page != xas_reload(&xas))) {
			put_page(page);
			goto repeat;
		}
	}
	rcu_read_unlock();
	return page;
}

/**
 * vmfault_page_poisoned() - is a region page hardware-poisoned?
 * @region: the region
 * @index: the page's offset
 * @page: the page
 *
 * memory_failure() (a machine check, or MADV_HWPOISON) marks the page but
 * does not unmap a page that is on no LRU: the first vmfault path that
 * meets the mark unmaps it from every mapping of the region, so that no
 * access reaches it again, and counts the refusal.
 *
 * Context: might sleep.
 * Return: true if @page must not be mapped or copied.
 */
bool vmfault_page_poisoned(struct vmfault_region *region, pgoff_t index, struct page *page)
{
	if (likely(!PageHWPoison(page)))
		return false;
	vmfault_count(region, VMFAULT_CNT_HWPOISON);
	unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT, PAGE_SIZE, 0);
	return true;
}

/**
 * vmfault_page_lock_in_slot() - lock a page a caller found in its slot
 * @region: a region with a frame budget
 * @index: the page's offset
 * @page: the page, with the caller's reference
 *
 * Eviction (evict.c) holds the page lock from its unmap to the slot's
 * erasure: a page locked and still in its slot stays there, and mapped,
 * dirtied or copied, until unlocked.
 *
 * Context: might sleep.
 * Return: true with @page locked; false (unlocked) if it was evicted.
 */
bool vmfault_page_lock_in_slot(struct vmfault_region *region, pgoff_t index, struct page *page)
{
	lock_page(page);
	if (likely(xa_load(&region->pages, index) == page))
		return true;
	unlock_page(page);
	return false;
}
