// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault swapping: a zero-mode region with a frame budget evicts its
 * written pages to a swap file, and a later access reads them back.
 */

/**
 * DOC: swapping a zero-mode region
 *
 * A zero-mode region given a frame budget (VMFAULT_IOC_SET_FRAMES) needs a
 * swap file, given by fd (@swap_fd): a regular file open for reading and
 * writing, typically on vmfaultfs, so that the "disk" is slow, counted and
 * can fail. Page offset i of the region lives at byte i * PAGE_SIZE of the
 * file: swapping is literally mmap with a default file.
 *
 * Eviction (evict.c) unmaps the victim from every mapping; the kernel
 * moves the ptes' dirty bits into PG_dirty as it zaps them. A dirty
 * victim is written to the swap file (a swap-out: evictions_dirty,
 * pages_written, and a WRITE on vmfaultfs) and remembered in the region's
 * swap map; a clean one is dropped with no I/O: a page read back from swap
 * and not written since still has its copy there, and a page that was
 * never written (a zero-filled page of a shared read) becomes a hole
 * again, whose next read maps the zero page.
 *
 * The swap map keeps each swapped page's CRC32, taken as it is written
 * (after its dirty bit is cleared, so a page that stays clean to its
 * eviction was not stored into since), and a swap-in checks it: a swap
 * file truncated behind the region's back, or written by someone else,
 * reads back as an error, never as zeros or foreign data passed off as
 * the page's.
 *
 * A fault on an offset in the swap map reads the page back (a swap-in: a
 * major fault, counted in major_faults, pages_read, ru_majflt and
 * pgmajfault), with mmap_lock dropped as file mode reads (FAULT_FLAG_USER
 * reads the file with ->read_iter; a kernel-mode fault through its page
 * cache). A swap-in fills a page nobody can see yet, and publishes it only
 * when it is whole: there is no page "being read" to wait for, and two
 * racing swap-ins of one page read it twice, the second copy dropped. A
 * read that overlapped a rewrite of the copy (the other swap-in's page
 * written and swapped out again meanwhile) fails its CRC against the new
 * entry: it is read again, not reported. A
 * read that fails (a dead daemon, an injected error, a truncated swap
 * file, data that fails its CRC) is SIGBUS, counted in sigbus and io_errors; the page stays
 * swapped, and the next access tries again.
 *
 * A fault that needs a new frame when the budget is full and every clean
 * victim is gone drops mmap_lock to swap a dirty one out (the swap file's
 * ->write_iter takes its inode lock, which comes before mmap_lock), and
 * has core mm retry. Regions with a budget never fault around, and are
 * not VM_MIXEDMAP, so that mlock() works on them (evict.c). Faults and
 * write() lock the page and check its slot as in file mode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/uio.h>
#include <linux/vmstat.h>
#include <uapi/linux/magic.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/*
 * xarray mark of a swap map entry whose read, in the first pass of a
 * fault, failed: taken by that fault's retry (FAULT_FLAG_TRIED), which
 * then answers SIGBUS rather than read again. Set only for a read that
 * failed in a task that will retry (vmfault_swap_retry_fails()); cleared
 * by any read that succeeds, by a new copy (a swap-out), and by a retry
 * that finds the page resident after all. A mark that
 * outlived its fault would fail the retry of another task that read the
 * page well and lost it to an eviction before its retry: SIGBUS on data
 * that is there. A task killed in its first pass (its read, or its wait
 * for a victim's page lock, -EINTR) used to leave one so.
 */
#define VMFAULT_SWAP_EIO	XA_MARK_1

/**
 * vmfault_swap_read_failed() - is a fault's retry to answer SIGBUS here?
 * @region: a region that swaps
 * @index: a page offset in its swap map
 *
 * For /proc/vmfault_pages. Context: any; a snapshot.
 * Return: true while the entry carries a failed first pass's mark.
 */
bool vmfault_swap_read_failed(struct vmfault_region *region, pgoff_t index)
{
	return xa_get_mark(&region->swapped, index, VMFAULT_SWAP_EIO);
}

/* Clear the mark; a lookup first, so that the common case takes no lock. */
static void vmfault_swap_clear_eio(struct vmfault_region *region, pgoff_t index)
{
	if (vmfault_swap_read_failed(region, index))
		xa_clear_mark(&region->swapped, index, VMFAULT_SWAP_EIO);
}

/*
 * Should the retry of a fault whose first pass got @err answer SIGBUS
 * without reading again? Only if the read itself failed (@read: one was
 * made) and the retry will come: not for a task being killed (no retry; an
 * -EINTR from its read, or from waiting for a victim's lock), nor for
 * no memory or a signal, which the retry meets again and answers as its
 * own (VM_FAULT_OOM, a read that is tried again).
 */
static bool vmfault_swap_retry_fails(long err, bool read)
{
	return read && err != -ENOMEM && err != -EINTR && err != -ERESTARTSYS &&
	       !fatal_signal_pending(current);
}

/* The CRC32 of a page's data, as the swap map keeps it. */
static u32 vmfault_page_crc(struct page *page)
{
	void *addr = kmap_local_page(page);
	u32 crc = crc32_le(~0, addr, PAGE_SIZE);

	kunmap_local(addr);
	return crc;
}

/**
 * vmfault_swap_file() - check a swap fd and take a reference to its file
 * @fd: the fd given to VMFAULT_IOC_SET_FRAMES
 * @filep: the file, on success
 *
 * Return: 0; -EBADF for an fd that is not open, or not for reading and
 * writing; -EINVAL for a file that is not a regular file, a region, or on
 * a file system a fault cannot read through the page cache of.
 */
int vmfault_swap_file(int fd, struct file **filep)
{
	struct file *file = fd >= 0 ? fget(fd) : NULL;
	struct inode *inode;

	if (!file) {
		pr_info_ratelimited("frames (%s[%d]): swap fd %d is not an open file\n",
				    current->comm, task_pid_nr(current), fd);
		return -EBADF;
	}
	inode = file_inode(file);
	if (vmfault_is_region_file(file) || !S_ISREG(inode->i_mode) ||
	    (!file->f_mapping->a_ops->read_folio && inode->i_sb->s_magic != TMPFS_MAGIC)) {
		pr_info_ratelimited("frames (%s[%d]): swap fd %d is not a regular file of a file system with a page cache\n",
				    current->comm, task_pid_nr(current), fd);
		fput(file);
		return -EINVAL;
	}
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) != (FMODE_READ | FMODE_WRITE) ||
	    !file->f_op->read_iter || !file->f_op->write_iter || IS_APPEND(inode) ||
	    IS_IMMUTABLE(inode)) {
		pr_info_ratelimited("frames (%s[%d]): swap fd %d is not open for reading and writing (O_RDWR, not O_APPEND)\n",
				    current->comm, task_pid_nr(current), fd);
		fput(file);
		return -EBADF;
	}
	*filep = file;
	return 0;
}

/*
 * One page of the swap file, at page offset @index, read into or written
 * from @page (vmfault_backing_rw(): one READ or WRITE on vmfaultfs).
 * Returns 0 or a negative errno; a short transfer (the file truncated) is
 * -EIO.
 */
static int vmfault_swap_rw(struct vmfault_region *region, pgoff_t index, struct page *page,
			   bool write)
{
	struct iov_iter iter;
	struct bio_vec bv;
	ssize_t ret;

	bvec_set_page(&bv, page, PAGE_SIZE, 0);
	iov_iter_bvec(&iter, write ? ITER_SOURCE : ITER_DEST, &bv, 1, PAGE_SIZE);
	ret = vmfault_backing_rw(region, region->swap, &region->swap_direct,
				 (loff_t)index << PAGE_SHIFT, &iter, write);
	if (ret < 0)
		return ret;
	return ret == PAGE_SIZE ? 0 : -EIO;
}

/*
 * The cached route, for a task that may hold the swap file's inode lock:
 * read through its page cache (what filemap_fault() does), never past its
 * end.
 */
static int vmfault_swap_read_cached(struct vmfault_region *region, pgoff_t index,
				    struct page *page)
{
	struct file *file = region->swap;
	struct inode *inode = file_inode(file);
	struct folio *folio;
	struct page *src;

	if (((loff_t)index + 1) << PAGE_SHIFT > i_size_read(inode))
		return -EIO;
	if (inode->i_sb->s_magic == TMPFS_MAGIC) {
		src = shmem_read_mapping_page_gfp(file->f_mapping, index,
						  mapping_gfp_mask(file->f_mapping));
	} else {
		folio = read_cache_folio(file->f_mapping, index, NULL, file);
		src = IS_ERR(folio) ? ERR_CAST(folio) : folio_file_page(folio, index);
	}
	if (IS_ERR(src))
		return PTR_ERR(src);
	copy_highpage(page, src);
	put_page(src);
	vmfault_count(region, VMFAULT_CNT_CACHED_READS);
	return 0;
}

/*
 * Was a swap-in's read of @index stale rather than corrupt? A swap-in
 * that began while the slot was empty can overlap another task's swap-in
 * of the same page, a store to it and its eviction, whose swap-out
 * rewrites the copy being read: the read gets the old data or a torn mix,
 * and the swap map the new CRC. Then either the slot holds a page (the
 * other task's, still there), or that page was evicted since and the swap
 * map's entry is no longer @before, the one seen before the read. The
 * slot is looked at first: a swap-out stores its entry before its page
 * leaves the slot (vmfault_swap_writeout(), then eviction).
 */
static bool vmfault_swap_read_stale(struct vmfault_region *region, pgoff_t index, void *before)
{
	if (xa_load(&region->pages, index))
		return true;
	smp_rmb();	/* the slot, then the swap map: the reverse of the writer's order */
	return xa_load(&region->swapped, index) != before;
}

/*
 * Read the swapped page at @index into @page by the route @how allows.
 * Returns 0, VMFAULT_SWAP_STALE when the copy changed while it was read
 * (read it again), or an error.
 */
#define VMFAULT_SWAP_STALE	1
static int vmfault_swap_read(struct vmfault_region *region, pgoff_t index, struct page *page,
			     enum vmfault_get how)
{
	void *before = xa_load(&region->swapped, index);
	u64 start = ktime_get_ns();
	int err;

	if (how == VMFAULT_GET_WAIT)
		err = vmfault_swap_rw(region, index, page, false);
	else
		err = vmfault_swap_read_cached(region, index, page);
	start = ktime_get_ns() - start;
	vmfault_count(region, VMFAULT_CNT_FILE_READS);
	vmfault_count_add(region, VMFAULT_CNT_READ_NS, start);
	trace_vmfault_demand_read(region, index, 1, err ? 0 : PAGE_SIZE, start, err);
	if (!err) {
		void *entry = xa_load(&region->swapped, index);

		if (xa_is_value(entry) && xa_to_value(entry) != vmfault_page_crc(page)) {
			if (vmfault_swap_read_stale(region, index, before))
				return VMFAULT_SWAP_STALE;
			pr_info_ratelimited("region %lu: swap-in of page %lu: the swap file's data is not what was written (truncated, or written by another?)\n",
					    vmfault_region_id(region), index);
			err = -EIO;
		}
	}
	if (err) {
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
		pr_info_ratelimited("region %lu: swap-in of page %lu failed: %d\n",
				    vmfault_region_id(region), index, err);
		return err;
	}
	vmfault_swap_clear_eio(region, index);
	vmfault_count(region, VMFAULT_CNT_PAGES_READ);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_READ, PAGE_SIZE);
	return 0;
}

/**
 * vmfault_swap_writeout() - write a dirty page to the swap file
 * @region: a zero-mode region with a swap file
 * @index: the page's offset; the page is being evicted (its frame busy)
 *
 * Locks the page, unmaps it (moving pte dirty bits into PG_dirty), and if
 * it is dirty, clears PG_dirty, sets PG_writeback and unlocks it, then
 * writes it (no page lock across ->write_iter, as file mode's writeback)
 * and notes it in the swap map. A store during the write dirties it again
 * (the eviction then tries again or passes it over).
 *
 * Context: might sleep; no lock held (the swap file's ->write_iter takes
 * its inode lock).
 * Return: 0, or the write's error (the page stays dirty).
 */
int vmfault_swap_writeout(struct vmfault_region *region, pgoff_t index)
{
	struct page *page = vmfault_region_find_get(region, index);
	u64 start;
	u32 crc;
	int err;

	if (!page)
		return 0;
	if (folio_lock_killable(page_folio(page))) {
		put_page(page);
		return -EINTR;
	}
	unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT, PAGE_SIZE, 0);
	if (!PageDirty(page) || PageWriteback(page)) {
		unlock_page(page);
		put_page(page);
		return 0;
	}
	ClearPageDirty(page);
	folio_start_writeback(page_folio(page));
	unlock_page(page);
	/* Unmapped and clean: a store from here on dirties it again. */
	crc = vmfault_page_crc(page);

	start = ktime_get_ns();
	err = vmfault_swap_rw(region, index, page, true);
	start = ktime_get_ns() - start;
	vmfault_count(region, VMFAULT_CNT_WRITEBACKS);
	trace_vmfault_writeback(region, index, 1, err ? 0 : PAGE_SIZE, start, err);
	if (!err)
		err = xa_err(xa_store(&region->swapped, index, xa_mk_value(crc), GFP_KERNEL));
	/* A new copy: no read of it has failed (xa_store() keeps marks). */
	if (!err)
		vmfault_swap_clear_eio(region, index);

	lock_page(page);
	if (err)
		SetPageDirty(page);
	folio_end_writeback(page_folio(page));
	unlock_page(page);
	put_page(page);
	if (err) {
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
		pr_info_ratelimited("region %lu: swap-out of page %lu failed: %d\n",
				    vmfault_region_id(region), index, err);
		return err;
	}
	vmfault_count(region, VMFAULT_CNT_PAGES_WRITTEN);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_WRITTEN, PAGE_SIZE);
	return 0;
}

/* A new page is in its slot: no mapping may still show the zero page there. */
static void vmfault_swap_published(struct vmfault_region *region, pgoff_t index)
{
	/* Pairs with a reader's second look, as vmfault_region_alloc_page(). */
	smp_mb();
	if (READ_ONCE(region->zero_mapped))
		vmfault_region_unmap_zero(region, index);
}

/**
 * vmfault_swap_get_page() - the page at an offset of a region that swaps
 * @region: a zero-mode region with a budget
 * @index: page offset, below the region's size
 * @how: the route the caller's locks allow, as vmfault_file_get_page()
 * @alloc: make a zeroed page for a hole (a write; a shared read)
 * @major: set when this call read the page from the swap file
 *
 * Reserves a frame (which may evict) before it allocates. A swapped page
 * is read into a page nobody sees, then published.
 *
 * Context: might sleep.
 * Return: the page with a reference of the caller's; NULL for a hole when
 * !@alloc; ERR_PTR(-ENOSPC) (the budget full of mlock()ed pages, or the
 * module's limit), -ENOMEM, -EINTR, or the swap read's error.
 */
struct page *vmfault_swap_get_page(struct vmfault_region *region, pgoff_t index,
				   enum vmfault_get how, bool alloc, bool *major)
{
	struct vmfault_frame *frame;
	struct page *page, *old;
	bool swapped;
	int err;

again:
	page = vmfault_region_find_get(region, index);
	if (page)
		return page;
	swapped = xa_load(&region->swapped, index);
	if (!swapped && !alloc)
		return NULL;
	frame = vmfault_frame_reserve(region, index, how == VMFAULT_GET_WAIT ?
				      VMFAULT_EVICT_MAY_WAIT | VMFAULT_EVICT_MAY_WRITE |
				      VMFAULT_EVICT_MAY_EXCEED : VMFAULT_EVICT_MAY_EXCEED);
	if (IS_ERR(frame))
		return ERR_CAST(frame);
	page = vmfault_frame_page(region, frame, !swapped);
	if (IS_ERR(page)) {
		vmfault_frame_unreserve(region, frame);
		return page;
	}
	if (swapped) {
		*major = true;
		err = vmfault_swap_read(region, index, page, how);
		if (err) {
			vmfault_frame_unreserve(region, frame);
			vmfault_page_drop(page);
			if (err != VMFAULT_SWAP_STALE)
				return ERR_PTR(err);
			/* Another task's page, or a newer copy: look again. */
			if (fatal_signal_pending(current))
				return ERR_PTR(-EINTR);
			goto again;
		}
	}
	SetPageUptodate(page);
	vmfault_frame_attach(page, frame);
	get_page(page);		/* the caller's; the slot takes the other */
	old = vmfault_region_publish(region, index, page, 0);
	if (old) {
		/* Another task was first (or no memory for the slot). */
		vmfault_frame_detach(region, page);
		put_page(page);
		vmfault_page_drop(page);
		if (IS_ERR(old))
			return old;
		goto again;
	}
	vmfault_frame_uptodate(region, page);
	vmfault_swap_published(region, index);
	return page;
}

/*
 * The first pass of a fault that must read a swapped page, or make room
 * by swapping a page out: drop the lock, do it, have core mm retry. A
 * failed swap-in is noted in the swap map for the retry to answer SIGBUS.
 */
static vm_fault_t vmfault_swap_fault_unlocked(struct vm_fault *vmf, struct vmfault_region *region,
					      bool swapped, u64 start)
{
	enum vmfault_get how = vmf->flags & FAULT_FLAG_USER ? VMFAULT_GET_WAIT : VMFAULT_GET_SAFE;
	bool write = vmf->flags & FAULT_FLAG_WRITE, major = false;
	bool shared = vmf->vma->vm_flags & VM_SHARED;
	struct file *file = get_file(vmf->vma->vm_file);
	unsigned int cause = vmf->flags;
	unsigned long address = vmf->address;
	pgoff_t pgoff = vmf->pgoff;
	struct vmfault_frame *frame;
	struct page *page;

	vmfault_release_fault_lock(vmf);
	if (swapped) {
		page = vmfault_swap_get_page(region, pgoff, how, false, &major);
		if (IS_ERR(page) && vmfault_swap_retry_fails(PTR_ERR(page), major)) {
			xa_set_mark(&region->swapped, pgoff, VMFAULT_SWAP_EIO);
		} else if (!IS_ERR_OR_NULL(page)) {
			vmfault_frame_reference(region, pgoff, page, major);
			put_page(page);
		}
	} else {
		/* Room for the retry's page: evict (and swap out) one victim. */
		frame = vmfault_frame_reserve(region, pgoff, how == VMFAULT_GET_WAIT ?
					      VMFAULT_EVICT_MAY_WAIT | VMFAULT_EVICT_MAY_WRITE : 0);
		if (!IS_ERR(frame))
			vmfault_frame_unreserve(region, frame);
	}
	vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
	if (major) {
		vmfault_count(region, VMFAULT_CNT_MAJOR_FAULTS);
		count_vm_event(PGMAJFAULT);
	}
	vmfault_fault_done_at(region, address, pgoff, write, shared, cause,
			      major ? VMFAULT_OUT_READ : VMFAULT_OUT_PAGE, start);
	fput(file);
	return VM_FAULT_RETRY | (major ? VM_FAULT_MAJOR : 0);
}

/*
 * Map the zero page at a hole of a read fault; if the page appeared in the
 * swap map meanwhile (allocated, written and swapped out between the
 * lookups), take the zero page away again: the access faults once more.
 */
static vm_fault_t vmfault_swap_map_hole(struct vm_fault *vmf, struct vmfault_region *region)
{
	vm_fault_t ret = vmfault_zero_map_holes(vmf, region,
						READ_ONCE(region->size) >> PAGE_SHIFT, 1,
						VMFAULT_NO_SEQ, false);

	/* vmfault_zero_map_holes() ended with a full barrier after the pte. */
	if (xa_load(&region->swapped, vmf->pgoff))
		vmfault_region_unmap_zero(region, vmf->pgoff);
	return ret;
}

/**
 * vmfault_swap_fault() - ->fault of a zero-mode mapping with a frame budget
 * @vmf: the fault; the pte at vmf->address is empty
 *
 * Context: mmap_lock (or the per-VMA lock) held for read; returns with it
 * held, unless it returns VM_FAULT_RETRY after dropping it to swap a page
 * in or out (vmfault_swap_fault_unlocked()). Might sleep.
 *
 * Maps: a read of a hole in a mapping that may show the zero page, the
 * zero page (VM_FAULT_NOPAGE); else returns the region page (read back
 * from swap if need be, or new and zeroed) locked in vmf->page with a
 * reference (VM_FAULT_LOCKED), for finish_fault() to map or, with
 * vmf->cow_page, do_cow_fault() to copy (a CPU's zeroed page for a hole).
 *
 * Return: as above; VM_FAULT_SIGBUS past the region, for a failed
 * swap-in, or a budget full of mlock()ed pages; VM_FAULT_HWPOISON;
 * VM_FAULT_OOM.
 */
static vm_fault_t vmfault_swap_fault(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	unsigned long size_pages = READ_ONCE(region->size) >> PAGE_SHIFT;
	bool write = vmf->flags & FAULT_FLAG_WRITE, major = false, swapped;
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome = VMFAULT_OUT_PAGE;
	struct vmfault_frame *frame;
	struct page *page;
	vm_fault_t ret = 0;
	bool alloc;

	if (vmf->pgoff >= size_pages) {
		ret = vmfault_fault_sigbus(vmf, region, size_pages);
		outcome = VMFAULT_OUT_SIGBUS;
		goto out;
	}
again:
	page = vmfault_region_find_get(region, vmf->pgoff);
	if (page) {
		/* A retry: no mark of its first pass (set after another read won) stays. */
		if (!(vmf->flags & FAULT_FLAG_TRIED))
			vmfault_frame_reference(region, vmf->pgoff, page, false);
		else
			vmfault_swap_clear_eio(region, vmf->pgoff);
		goto got_page;
	}
	swapped = xa_load(&region->swapped, vmf->pgoff);
	if (swapped && (vmf->flags & FAULT_FLAG_TRIED) &&
	    xa_get_mark(&region->swapped, vmf->pgoff, VMFAULT_SWAP_EIO)) {
		/* This fault's first pass read and failed: report it. */
		xa_clear_mark(&region->swapped, vmf->pgoff, VMFAULT_SWAP_EIO);
		ret = vmfault_fault_error(vmf, region, -EIO, READ_ONCE(region->size) >> PAGE_SHIFT);
		outcome = vmfault_fault_error_outcome(ret);
		goto out;
	}
	alloc = !vmf->cow_page && (write || !vmfault_zero_page_allowed(vmf->vma));
	if (!swapped && !alloc) {
		if (vmf->cow_page) {
			/* A private write to a hole: do_cow_fault() copies zeros. */
			page = vmfault_cow_zero_page();
			get_page(page);
			vmf->page = page;
			vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
			trace_vmfault_cow(region, vmf->address, vmf->pgoff, page);
			outcome = VMFAULT_OUT_COW;
			goto out;
		}
		outcome = VMFAULT_OUT_ZERO_PAGE;
		ret = vmfault_swap_map_hole(vmf, region);
		goto out;
	}
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
		return VM_FAULT_RETRY;
	}
	if (fault_flag_allow_retry_first(vmf->flags)) {
		if (swapped)
			return vmfault_swap_fault_unlocked(vmf, region, true, start);
		/* A new page: swap out under the lock only if nothing clean can go. */
		frame = vmfault_frame_reserve(region, vmf->pgoff, 0);
		if (IS_ERR(frame))
			return vmfault_swap_fault_unlocked(vmf, region, false, start);
		vmfault_frame_unreserve(region, frame);
	}
	page = vmfault_swap_get_page(region, vmf->pgoff, VMFAULT_GET_SAFE, true, &major);
	if (IS_ERR(page)) {
		ret = vmfault_fault_error(vmf, region, PTR_ERR(page),
					  READ_ONCE(region->size) >> PAGE_SHIFT);
		outcome = vmfault_fault_error_outcome(ret);
		goto count_major;
	}
	if (major)
		outcome = VMFAULT_OUT_READ;
	vmfault_frame_reference(region, vmf->pgoff, page, true);
got_page:
	if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
		put_page(page);
		vmfault_fault_sigbus(vmf, region, size_pages);
		ret = VM_FAULT_HWPOISON;
		outcome = VMFAULT_OUT_SIGBUS;
		goto count_major;
	}
	if (!vmfault_page_lock_in_slot(region, vmf->pgoff, page)) {
		put_page(page);
		goto again;
	}
	ret |= VM_FAULT_LOCKED;
	vmf->page = page;
	if (vmf->flags & FAULT_FLAG_TRIED)
		outcome = VMFAULT_OUT_READ;
	if (vmf->cow_page) {
		vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
		trace_vmfault_cow(region, vmf->address, vmf->pgoff, page);
		if (outcome == VMFAULT_OUT_PAGE)
			outcome = VMFAULT_OUT_COW;
	}
count_major:
	if (major) {
		vmfault_count(region, VMFAULT_CNT_MAJOR_FAULTS);
		count_vm_event(PGMAJFAULT);
		ret |= VM_FAULT_MAJOR;
	}
out:
	vmfault_fault_done(vmf, region, write, outcome, start);
	return ret;
}

/**
 * vmfault_swap_page_mkwrite() - a MAP_SHARED write to a region page
 * @vmf: the fault; vmf->page is the region page
 *
 * Context: mmap_lock held for read, page unlocked; returns with the page
 * locked unless the page was evicted meanwhile (the access faults again).
 *
 * Return: VM_FAULT_LOCKED (core mm makes the pte writable and the page
 * dirty: it will be swapped out when evicted); VM_FAULT_NOPAGE;
 * VM_FAULT_HWPOISON.
 */
static vm_fault_t vmfault_swap_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();

	if (!vmfault_page_lock_in_slot(region, vmf->pgoff, vmf->page))
		return VM_FAULT_NOPAGE;	/* evicted: the access faults again */
	if (vmfault_page_poisoned(region, vmf->pgoff, vmf->page)) {
		unlock_page(vmf->page);
		vmfault_fault_sigbus(vmf, region, READ_ONCE(region->size) >> PAGE_SHIFT);
		return VM_FAULT_HWPOISON;
	}
	vmfault_mkwrite_done(vmf, region, start);
	return VM_FAULT_LOCKED;
}

/* Zero mode with a frame budget (region.c): no fault-around, no VM_MIXEDMAP. */
const struct vm_operations_struct vmfault_swap_vm_ops = {
	.fault		= vmfault_swap_fault,
	.map_pages	= VMFAULT_NOFA_MAP_PAGES,
	.page_mkwrite	= vmfault_swap_page_mkwrite,
	.pfn_mkwrite	= vmfault_zero_pfn_mkwrite,
};
