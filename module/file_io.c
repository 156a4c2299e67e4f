// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault file mode, the I/O half: filling region pages from the backing
 * file on a miss and writing dirty pages back. The fault handlers that
 * call it are in fault_file.c.
 */

/**
 * DOC: demand paging from a backing file
 *
 * A file-mode region is a cache of a window of its backing file, kept in
 * the region's own pages (the same xarray as zero mode). The module holds
 * its own reference to the file, taken from the fd given to
 * VMFAULT_IOC_CONFIGURE; it never opens anything by path.
 *
 * The read route. A miss at page i allocates region pages for i and the
 * up to window - 1 absent pages after it (stopping at a resident page, the
 * region's end and the file's end), locks them, publishes them in the
 * xarray and reads them with one ->read_iter call into a bio_vec over
 * exactly those pages. When the backing file takes O_DIRECT
 * (FMODE_CAN_ODIRECT: FUSE, ext4, xfs; not tmpfs on 6.1) the read is
 * IOCB_DIRECT: the data goes from the "disk" straight into the region's
 * page, the backing file's page cache holds no second copy, and its
 * readahead does not add requests of its own, so a window of w pages is
 * one FUSE READ of w * 4096 bytes. Otherwise the read is buffered and goes
 * through the backing file's page cache (and its readahead).
 * kernel_read() would always be buffered; read_cache_page() on the backing
 * mapping would map or copy page-cache pages, whose readahead and reclaim
 * the module does not control. Either would hide what the window does.
 *
 * The pages of a read stay locked and not up to date until it completes.
 * A concurrent fault on one of them finds it in the xarray and waits on
 * the page lock (killably), so many threads faulting a page read it once.
 * Bytes past the end of the file in the last page are zeroed. A page that
 * failed to read stays in the region, not up to date; it is never mapped
 * or copied, and the next access reads it again.
 *
 * Writeback. A MAP_SHARED write fault (->page_mkwrite) or a write() marks
 * the page dirty in the xarray (VMFAULT_PAGE_DIRTY). Writeback collects
 * runs of contiguous dirty pages, locks them, unmaps them from every
 * mapping of the region (core mm cannot write-protect a page that has no
 * ->mapping, and unmapping moves pte dirty bits into the page; the next
 * access is a minor fault), clears the marks and writes each run with one
 * ->write_iter call, never past the file's end. A write fault during
 * writeback waits on the page lock, then marks the page dirty again. A
 * failed write leaves its pages dirty and returns the error.
 * Writeback runs on fsync() and msync(MS_SYNC) of the region (both then
 * fsync the backing file), on VMFAULT_IOC_FLUSH (the same), on munmap() of
 * a MAP_SHARED mapping (its range), on every close() of a region fd and
 * on the region's release.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmstat.h>

#include "vmfault.h"
#include "vmfault_trace.h"

static loff_t vmfault_file_pos(const struct vmfault_region *region, pgoff_t index)
{
	return region->offset + ((loff_t)index << PAGE_SHIFT);
}

static loff_t vmfault_file_isize(const struct vmfault_region *region)
{
	return i_size_read(file_inode(region->backing));
}

/**
 * vmfault_file_end() - where a file-mode region's data ends
 * @region: a file-mode region
 *
 * Return: the first page offset with no data: the region's size or the
 * backing file's end now (a partial last page counts), whichever is less.
 * Accesses at or past it get SIGBUS.
 */
pgoff_t vmfault_file_end(struct vmfault_region *region)
{
	pgoff_t end = READ_ONCE(region->size) >> PAGE_SHIFT;
	loff_t isize = vmfault_file_isize(region);

	if (isize <= region->offset)
		return 0;
	return min_t(u64, end, DIV_ROUND_UP(isize - region->offset, PAGE_SIZE));
}

/*
 * One ->read_iter or ->write_iter of the backing file at @pos over @iter.
 * O_DIRECT where the file takes it and @len is whole pages (filesystems
 * want aligned direct I/O; a tail at the file's end goes buffered). A file
 * that claims O_DIRECT but refuses it with EINVAL before any I/O (an
 * overlayfs file over tmpfs) is read buffered from then on.
 */
static ssize_t vmfault_file_rw(struct vmfault_region *region, loff_t pos,
			       struct iov_iter *iter, bool write)
{
	struct file *file = region->backing;
	bool direct = READ_ONCE(region->direct) && PAGE_ALIGNED(iov_iter_count(iter));
	struct kiocb kiocb;
	ssize_t ret;

again:
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	/* Not the opener's flags: no O_APPEND, O_SYNC or O_NONBLOCK here. */
	kiocb.ki_flags = direct ? IOCB_DIRECT : 0;
	if (write) {
		file_start_write(file);
		ret = vfs_iocb_iter_write(file, &kiocb, iter);
		file_end_write(file);
	} else {
		ret = vfs_iocb_iter_read(file, &kiocb, iter);
	}
	if (ret == -EINVAL && direct) {
		pr_info_ratelimited("region %lu: the backing file refuses O_DIRECT; using buffered I/O\n",
				    vmfault_region_id(region));
		WRITE_ONCE(region->direct, false);
		direct = false;
		goto again;
	}
	return ret;
}

/*
 * Fill the @nr locked, not-up-to-date pages of @bv (whole pages, from page
 * offset @first) with one read (more if the file returns less, never past
 * its end). Marks the pages it filled up to date, the last partly read one
 * with a zeroed tail. Returns 0 if the first page is now up to date, else
 * a negative errno: the read's error, or -ENXIO if the file ended before
 * the page. A failure is counted and traced, not logged: this is the fault
 * path.
 */
static int vmfault_file_fill(struct vmfault_region *region, pgoff_t first,
			     struct bio_vec *bv, unsigned int nr)
{
	loff_t pos = vmfault_file_pos(region, first);
	size_t len = (size_t)nr << PAGE_SHIFT, done = 0;
	struct iov_iter iter;
	unsigned int i, full;
	ssize_t ret = 0;
	u64 start;

	iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
	start = ktime_get_ns();
	while (done < len && pos + done < vmfault_file_isize(region)) {
		ret = vmfault_file_rw(region, pos + done, &iter, false);
		vmfault_count(region, VMFAULT_CNT_FILE_READS);
		if (ret <= 0)
			break;
		done += ret;
	}
	start = ktime_get_ns() - start;

	full = done >> PAGE_SHIFT;
	if (offset_in_page(done)) {
		zero_user_segment(bv[full].bv_page, offset_in_page(done), PAGE_SIZE);
		full++;
	}
	for (i = 0; i < full; i++)
		SetPageUptodate(bv[i].bv_page);

	vmfault_count_add(region, VMFAULT_CNT_PAGES_READ, full);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_READ, done);
	vmfault_count_add(region, VMFAULT_CNT_READ_NS, start);
	if (ret < 0)
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
	trace_vmfault_demand_read(vmfault_region_id(region), first, nr, pos, done, start,
				  ret < 0 ? ret : 0);
	if (full)
		return 0;
	return ret < 0 ? ret : -ENXIO;
}

/*
 * A miss at @index: allocate, lock and publish the absent pages of the
 * window from @index, then read them. Returns the page at @index, up to
 * date, or an error; if another task published @index first, its page.
 */
static struct page *vmfault_file_read_window(struct vmfault_region *region, pgoff_t index,
					     bool *major)
{
	pgoff_t end = vmfault_file_end(region);
	struct page *page, *old = NULL;
	struct bio_vec one, *bv;
	unsigned int nr, max;
	int err;

	if (index >= end)
		return ERR_PTR(-ENXIO);
	max = min_t(unsigned long, region->window, end - index);
	bv = max == 1 ? &one : kmalloc_array(max, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return ERR_PTR(-ENOMEM);

	for (nr = 0; nr < max; nr++) {
		/*
		 * Not zeroed: the read fills it, vmfault_file_fill() zeroes
		 * the tail past the file's end, and a page that is not up to
		 * date is never mapped, copied or written back.
		 */
		page = alloc_page(GFP_HIGHUSER);
		if (!page)
			break;
		/* Nobody else can see the new page: this always succeeds. */
		if (WARN_ON_ONCE(!trylock_page(page))) {
			__free_page(page);
			break;
		}
		old = xa_cmpxchg(&region->pages, index + nr, NULL, page, GFP_KERNEL);
		if (old) {
			unlock_page(page);
			__free_page(page);
			break;
		}
		vmfault_count(region, VMFAULT_CNT_PAGES_ALLOCATED);
		trace_vmfault_page_alloc(vmfault_region_id(region), 0, index + nr,
					 page_to_pfn(page));
		bvec_set_page(&bv[nr], page, PAGE_SIZE, 0);
	}
	if (!nr) {
		if (bv != &one)
			kfree(bv);
		if (!old || xa_is_err(old))
			return ERR_PTR(-ENOMEM);
		/* Another task published this page first: use it. */
		return vmfault_file_get_page(region, index, major);
	}

	*major = true;
	err = vmfault_file_fill(region, index, bv, nr);
	page = bv[0].bv_page;
	while (nr--)
		unlock_page(bv[nr].bv_page);
	if (bv != &one)
		kfree(bv);
	return err ? ERR_PTR(err) : page;
}

/**
 * vmfault_file_get_page() - the up-to-date region page at an offset
 * @region: a file-mode region
 * @index: page offset, below the region's size
 * @major: set when this call read from the backing file
 *
 * Context: might sleep; takes no lock across the call that a caller could
 * hold. Waits (killably) for a read of the page by another task.
 *
 * Return: the page, without a reference of the caller's (the region keeps
 * one until it is destroyed); ERR_PTR(-ENXIO) if the page lies wholly past
 * the file's end; -EINTR if killed while waiting; -ENOMEM; the error of a
 * failed read (-EIO, or -ENOTCONN when the FUSE connection is gone).
 */
struct page *vmfault_file_get_page(struct vmfault_region *region, pgoff_t index,
				   bool *major)
{
	struct page *page;
	int err;

	page = xa_load(&region->pages, index);
	if (!page)
		return vmfault_file_read_window(region, index, major);
	if (PageUptodate(page))
		return page;

	/* Being read by another task, or a read of it failed: wait, retry. */
	err = folio_lock_killable(page_folio(page));
	if (err)
		return ERR_PTR(err);
	if (!PageUptodate(page)) {
		struct bio_vec bv;

		bvec_set_page(&bv, page, PAGE_SIZE, 0);
		*major = true;
		err = vmfault_file_fill(region, index, &bv, 1);
	}
	unlock_page(page);
	return err ? ERR_PTR(err) : page;
}

/**
 * vmfault_file_mark_dirty() - note that a page needs writing back
 * @region: a file-mode region
 * @index: page offset of a region page that the caller has locked
 */
void vmfault_file_mark_dirty(struct vmfault_region *region, pgoff_t index)
{
	if (xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY))
		return;
	xa_set_mark(&region->pages, index, VMFAULT_PAGE_DIRTY);
	vmfault_count(region, VMFAULT_CNT_PAGES_DIRTIED);
}

/*
 * Write the @nr locked dirty pages of @bv (from page offset @first) back
 * with one write (more if the file takes less), up to the file's end.
 * Unmaps them first so that a write through a mapping faults and dirties
 * them again. Returns 0 or a negative errno; on error the pages are dirty
 * again.
 */
static int vmfault_file_write_run(struct vmfault_region *region, pgoff_t first,
				  struct bio_vec *bv, unsigned int nr)
{
	loff_t pos = vmfault_file_pos(region, first), isize = vmfault_file_isize(region);
	size_t len = (size_t)nr << PAGE_SHIFT, done = 0;
	struct iov_iter iter;
	unsigned int i;
	ssize_t ret = 0;
	u64 start;

	unmap_mapping_range(region->inode->i_mapping, (loff_t)first << PAGE_SHIFT, len, 0);
	for (i = 0; i < nr; i++)
		xa_clear_mark(&region->pages, first + i, VMFAULT_PAGE_DIRTY);
	/* Data past the file's end has nowhere to go, as in the page cache. */
	len = pos < isize ? min_t(loff_t, len, isize - pos) : 0;
	iov_iter_bvec(&iter, ITER_SOURCE, bv, nr, len);

	start = ktime_get_ns();
	while (done < len) {
		ret = vmfault_file_rw(region, pos + done, &iter, true);
		vmfault_count(region, VMFAULT_CNT_WRITEBACKS);
		if (ret <= 0) {
			if (!ret)
				ret = -EIO;
			break;
		}
		done += ret;
	}
	start = ktime_get_ns() - start;
	trace_vmfault_writeback(vmfault_region_id(region), first, nr, pos, done, start,
				ret < 0 ? ret : 0);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_WRITTEN, done);
	if (ret < 0) {
		for (i = 0; i < nr; i++)
			xa_set_mark(&region->pages, first + i, VMFAULT_PAGE_DIRTY);
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
		pr_info_ratelimited("region %lu: writing %zu bytes at %lld failed: %zd\n",
				    vmfault_region_id(region), len, pos, ret);
		return ret;
	}
	vmfault_count_add(region, VMFAULT_CNT_PAGES_WRITTEN, nr);
	return 0;
}

/**
 * vmfault_file_writeback() - write dirty pages of a range back
 * @region: a file-mode region
 * @first: first page offset
 * @last: last page offset, inclusive
 *
 * Context: might sleep; no locks held (not mmap_lock either: the backing
 * file's ->write_iter takes sb_writers and its inode lock).
 * Locks the pages of each run in ascending order, as every multi-page
 * locker here does.
 *
 * Return: 0, or the first error; later runs are then left dirty too.
 * -EINTR if killed while waiting for a page.
 */
int vmfault_file_writeback(struct vmfault_region *region, pgoff_t first, pgoff_t last)
{
	unsigned long index = first;
	struct bio_vec *bv;
	struct page *page;
	unsigned int nr;
	int err = 0;

	if (!xa_marked(&region->pages, VMFAULT_PAGE_DIRTY))
		return 0;
	bv = kmalloc_array(VMFAULT_MAX_WINDOW, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;

	while (!err && (page = xa_find(&region->pages, &index, last, VMFAULT_PAGE_DIRTY))) {
		first = index;
		for (nr = 0; page && nr < VMFAULT_MAX_WINDOW; nr++) {
			err = folio_lock_killable(page_folio(page));
			if (err)
				break;
			/* Written back by another task meanwhile: end the run. */
			if (!xa_get_mark(&region->pages, first + nr, VMFAULT_PAGE_DIRTY)) {
				unlock_page(page);
				break;
			}
			bvec_set_page(&bv[nr], page, PAGE_SIZE, 0);
			if (first + nr == last)
				page = NULL;
			else if (xa_get_mark(&region->pages, first + nr + 1, VMFAULT_PAGE_DIRTY))
				page = xa_load(&region->pages, first + nr + 1);
			else
				page = NULL;
		}
		if (nr && !err)
			err = vmfault_file_write_run(region, first, bv, nr);
		index = first + max(nr, 1U);
		while (nr--)
			unlock_page(bv[nr].bv_page);
		if (index == 0 || first == last)
			break;
	}
	kfree(bv);
	return err;
}

/**
 * vmfault_file_flush() - write back every dirty page, optionally fsync
 * @region: the region, any mode (zero mode has nothing to do)
 * @sync: fsync the backing file's range afterwards
 *
 * Return: 0 or the first error.
 */
int vmfault_file_flush(struct vmfault_region *region, bool sync)
{
	int err;

	if (!xa_marked(&region->pages, VMFAULT_PAGE_DIRTY) && !sync)
		return 0;
	if (READ_ONCE(region->mode) != VMFAULT_MODE_FILE || !READ_ONCE(region->frozen))
		return 0;
	err = vmfault_file_writeback(region, 0, ULONG_MAX);
	if (!err && sync && region->writable)
		err = vfs_fsync_range(region->backing, region->offset,
				      region->offset + region->size - 1, 0);
	return err;
}
