// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault file mode, the I/O half: filling region pages from the backing
 * file and writing dirty pages back. The fault handlers that call it are
 * in fault_file.c.
 */

/**
 * DOC: demand paging from a backing file
 *
 * A file-mode region is a cache of a window of its backing file, kept in
 * the region's own pages (the same xarray as zero mode). The module holds
 * its own reference to the file, taken from the fd given to
 * VMFAULT_IOC_CONFIGURE; it never opens anything by path.
 *
 * The states of a region page:
 *
 * - absent: no entry in the xarray.
 * - being read: an entry, locked and not up to date. Whoever allocated it
 *   (the "filler") publishes it before the read and holds a reference and
 *   the page lock until the read ends; a task that needs the page either
 *   waits for that lock or, if it may not wait, replaces the entry with a
 *   page of its own (below). Such a page is never mapped, copied or
 *   written back: nothing outside this file ever sees it.
 * - failed: not up to date, unlocked: its last read failed (or ended past
 *   the file's end before it). The next access reads it again.
 * - up to date (PG_uptodate), clean or dirty (PG_dirty). It stays in the
 *   region until the region is freed, or, in a region with a frame budget,
 *   until it is evicted (evict.c).
 *
 * Two routes read a page. The direct route: one ->read_iter call fills
 * the missing pages of a window (the faulting page and up to window - 1
 * after it, stopping at a resident page, the region's end and the data's
 * end) through a bio_vec over exactly those pages, as IOCB_DIRECT when the
 * file takes it (FMODE_CAN_ODIRECT: FUSE, ext4, xfs, btrfs; not tmpfs on
 * 6.1): the data goes from the "disk" straight into the region's pages,
 * the backing file's page cache holds no second copy, and a window of w
 * pages is one FUSE READ of w * 4096 bytes. The cached route: the pages
 * are read into the backing file's page cache (one readahead of the
 * window, then ->read_folio, or shmem's own reader for tmpfs) and copied.
 *
 * Which route a read takes is a question of locks, not speed: ->read_iter
 * may take the backing file's inode lock (ext4 and xfs O_DIRECT reads,
 * xfs buffered reads, NFS), and a task may fault on a region mapping while
 * it holds that very lock: a write() to the backing file whose source
 * buffer is a region mapping faults inside the file system's ->write_iter.
 * The page cache's ->read_folio is what filemap_fault() calls under
 * mmap_lock and under such writers, so no file system takes the inode
 * lock there. Hence:
 *
 * - a user-mode fault (FAULT_FLAG_USER: the task was running user code
 *   and holds no lock) drops mmap_lock, as filemap_fault() does for I/O,
 *   and reads with the direct route, waiting (killably) for another
 *   task's read of the same page if need be; then core mm retries the
 *   fault (VM_FAULT_RETRY) and maps the page, now resident;
 * - a kernel-mode fault (a system call copying to or from a region
 *   mapping, GUP), the retried pass, and a fault that may not drop
 *   mmap_lock take the cached route and never wait for another task's
 *   read, which might need the inode lock they hold: a page being read
 *   by someone else is read again into a new page that replaces it;
 * - read() and write() of the region hold no lock and take the direct
 *   route.
 *
 * Bytes past the end of the file in the last page are zeroed. If a read
 * fails, the pages read in full before the error are up to date; the rest,
 * a partly read page included, stay not up to date (a zeroed tail would
 * later be written back over real data). A fault whose read failed after
 * it dropped mmap_lock marks the page (VMFAULT_PAGE_EIO), and its retry
 * answers SIGBUS instead of reading again.
 *
 * write() past the file's end, within the region, extends the data: the
 * region remembers the end (data_end), reads and faults see the new
 * bytes, and writeback extends the file. Stores through a mapping past
 * the data's end are dropped at writeback, as the page cache drops them.
 *
 * Writeback. A MAP_SHARED write fault (->page_mkwrite) or a write() sets
 * PG_dirty and marks the page in the xarray (VMFAULT_PAGE_DIRTY); so does
 * the kernel when it unmaps a dirty pte, and so does whoever wrote into
 * the page through a GUP reference (an O_DIRECT read into a region
 * mapping, io_uring, vmsplice, RDMA) when it lets go of it
 * (set_page_dirty_lock(), unpin_user_pages_dirty_lock()): PG_dirty is the
 * one answer to "is it dirty". Writeback collects runs of contiguous
 * marked pages, locks them, unmaps them from every mapping of the region
 * (core mm cannot write-protect a page that has no ->mapping; unmapping
 * moves pte dirty bits into PG_dirty; the next access is a minor fault),
 * clears PG_dirty, sets PG_writeback and unlocks them, then writes each
 * run with one ->write_iter call, never past the data's end. No region
 * page lock is held across ->write_iter. Afterwards a page keeps its mark
 * if it is dirty again, or if someone outside the region still holds it
 * (a GUP user may yet write into it and set PG_dirty), so that the next
 * flush looks at it again. A failed write leaves its pages dirty and
 * returns the error. A store during the write lands in the page and
 * dirties it again: faults never wait for writeback (they may hold the
 * inode lock the write needs).
 *
 * Writeback runs on fsync() and msync(MS_SYNC) of the region (both then
 * fsync the backing file), on VMFAULT_IOC_FLUSH (the same), on munmap() of
 * a MAP_SHARED mapping (its range), on every close() of a region fd and
 * on the region's release.
 */

/**
 * DOC: file mode's lock order
 *
 * The kernel's order (mm/filemap.c): i_rwsem (the inode lock) ->
 * mmap_lock -> invalidate_lock -> page lock. In file mode:
 *
 * - No ->read_iter or ->write_iter of the backing file under mmap_lock or
 *   the per-VMA lock: faults that read with ->read_iter drop the lock
 *   first; the munmap writeback runs as task work after mmap_lock is
 *   released.
 * - No ->read_iter in a task that may hold the backing file's inode lock
 *   (a kernel-mode fault): it reads through the page cache, which takes
 *   invalidate_lock and the backing page's lock, both after i_rwsem.
 * - No region page lock across ->write_iter: writeback unlocks its pages
 *   (PG_writeback marks them instead) before it writes.
 * - The one region page lock held across ->read_iter is a page being
 *   read, by its filler: such a page is never mapped, so neither core mm
 *   nor a GUP user ever locks it, and the only tasks that wait for it are
 *   those that hold no lock (user-mode faults after dropping mmap_lock,
 *   read() and write() of the region).
 * - Writeback locks a run of pages in ascending order and waits for
 *   nothing while it holds them (a page under another writeback ends the
 *   run; it waits for that writeback with no page locked).
 * - region->lock (a mutex) is a leaf: nothing is taken under it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmstat.h>
#include <uapi/linux/magic.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

static loff_t vmfault_file_isize(const struct vmfault_region *region)
{
	return i_size_read(file_inode(region->backing));
}

/* The end of the data: the file's end, or what write() made past it. */
static loff_t vmfault_file_data_end(struct vmfault_region *region)
{
	return max_t(loff_t, vmfault_file_isize(region), atomic64_read(&region->data_end));
}

/**
 * vmfault_file_end() - where a file-mode region's data ends
 * @region: a file-mode region
 *
 * Return: the first page offset with no data: the region's size or the
 * data's end now (the file's end, or past it what write() added; a
 * partial last page counts), whichever is less. Accesses at or past it
 * get SIGBUS.
 */
pgoff_t vmfault_file_end(struct vmfault_region *region)
{
	pgoff_t end = READ_ONCE(region->size) >> PAGE_SHIFT;
	loff_t dend = vmfault_file_data_end(region);

	if (dend <= region->offset)
		return 0;
	return min_t(u64, end, DIV_ROUND_UP(dend - region->offset, PAGE_SIZE));
}

/**
 * vmfault_file_extend() - write() put data up to a position in the file
 * @region: a file-mode region
 * @end: the position after the last byte written, in the backing file
 *
 * Past the file's end this moves the region's data end, which writeback
 * extends the file to.
 */
void vmfault_file_extend(struct vmfault_region *region, loff_t end)
{
	s64 old = atomic64_read(&region->data_end);

	if (end <= vmfault_file_isize(region))
		return;
	while (end > old && !atomic64_try_cmpxchg(&region->data_end, &old, end))
		;
}

/**
 * vmfault_backing_rw() - one ->read_iter or ->write_iter of a region's file
 * @region: the region, for the message
 * @file: its backing file or its swap file
 * @direct: whether @file takes O_DIRECT (the region's flag for that file)
 * @pos: the file position
 * @iter: the pages
 * @write: write rather than read
 *
 * O_DIRECT where the file takes it and @iter is whole pages (filesystems
 * want aligned direct I/O; a tail at the file's end goes buffered). A file
 * that claims O_DIRECT but refuses it with EINVAL before any I/O (an
 * overlayfs file over tmpfs) is used buffered from then on (*@direct is
 * cleared).
 *
 * Context: might sleep; no region page lock, no mmap_lock (file_io.c's
 * lock order).
 * Return: the bytes transferred, or a negative errno.
 */
ssize_t vmfault_backing_rw(struct vmfault_region *region, struct file *file, bool *direct,
			   loff_t pos, struct iov_iter *iter, bool write)
{
	bool odirect = READ_ONCE(*direct) && PAGE_ALIGNED(iov_iter_count(iter));
	struct kiocb kiocb;
	ssize_t ret;

again:
	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = pos;
	/* Not the opener's flags: no O_APPEND, O_SYNC or O_NONBLOCK here. */
	kiocb.ki_flags = odirect ? IOCB_DIRECT : 0;
	if (write) {
		file_start_write(file);
		ret = vfs_iocb_iter_write(file, &kiocb, iter);
		file_end_write(file);
	} else {
		ret = vfs_iocb_iter_read(file, &kiocb, iter);
	}
	if (ret == -EINVAL && odirect) {
		pr_info_ratelimited("region %lu: %pD refuses O_DIRECT; using buffered I/O\n",
				    vmfault_region_id(region), file);
		WRITE_ONCE(*direct, false);
		odirect = false;
		goto again;
	}
	return ret;
}

/* The backing file at @pos (vmfault_backing_rw()). */
static ssize_t vmfault_file_rw(struct vmfault_region *region, loff_t pos,
			       struct iov_iter *iter, bool write)
{
	return vmfault_backing_rw(region, region->backing, &region->direct, pos, iter, write);
}

/* Zero @bv's pages from byte @done of the run on: the data ended there. */
static void vmfault_file_zero_from(struct bio_vec *bv, unsigned int nr, size_t done)
{
	unsigned int i;

	for (i = done >> PAGE_SHIFT; i < nr; i++)
		zero_user_segment(bv[i].bv_page, i == done >> PAGE_SHIFT ? offset_in_page(done) : 0,
				  PAGE_SIZE);
}

/*
 * The direct route: fill the @nr pages of @bv (from page offset @first)
 * with one ->read_iter (more if the file returns less, never past its
 * end). Returns how many pages, from the first, are now filled; on an
 * error *@err is set and a partly read page does not count.
 */
static unsigned int vmfault_file_fill_direct(struct vmfault_region *region, pgoff_t first,
					     struct bio_vec *bv, unsigned int nr, int *err,
					     size_t *bytes)
{
	loff_t pos = vmfault_file_pos(region, first);
	size_t len = (size_t)nr << PAGE_SHIFT, done = 0;
	struct iov_iter iter;
	ssize_t ret = 0;

	iov_iter_bvec(&iter, ITER_DEST, bv, nr, len);
	while (done < len && pos + done < vmfault_file_isize(region)) {
		ret = vmfault_file_rw(region, pos + done, &iter, false);
		vmfault_count(region, VMFAULT_CNT_FILE_READS);
		if (ret <= 0)
			break;
		done += ret;
	}
	*bytes = done;
	if (ret < 0) {
		*err = ret;
		return done >> PAGE_SHIFT;
	}
	/* The file ended (or returned no more): the rest is zeros. */
	vmfault_file_zero_from(bv, nr, done);
	return nr;
}

/*
 * read_cache_folio() with a killable wait for a folio that is locked: one
 * being read, or held by a writer of the backing file that faults on a
 * region page (FUSE's multi-page write keeps the folios it filled locked
 * while it faults on the next source page; were that source a region page
 * over the same range, this task would wait for itself, as filemap_fault()
 * would, and SIGKILL must end it). read_cache_folio() itself waits for a
 * locked folio uninterruptibly.
 */
static struct folio *vmfault_file_cache_folio(struct file *file, pgoff_t index)
{
	struct folio *folio;
	int err;

	for (;;) {
		/* NULL on 6.1, ERR_PTR(-ENOENT) on 6.12 when absent. */
		folio = filemap_get_folio(file->f_mapping, index);
		if (IS_ERR_OR_NULL(folio))
			break;
		if (folio_test_uptodate(folio))
			return folio;
		if (!folio_test_locked(folio)) {
			folio_put(folio);
			break;
		}
		err = folio_wait_locked_killable(folio);
		folio_put(folio);
		if (err)
			return ERR_PTR(err);
	}
	return read_cache_folio(file->f_mapping, index, NULL, file);
}

/*
 * The tmpfs page at @index, with a reference: an up-to-date one as it is
 * (copied without its lock, as filemap_read() does), else read (from
 * swap) or made, as a hole's zeros, by shmem_read_mapping_page_gfp().
 */
static struct page *vmfault_shmem_page(struct address_space *mapping, pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);
	struct page *page;

	/* NULL on 6.1, ERR_PTR(-ENOENT) on 6.12 when absent. */
	if (!IS_ERR_OR_NULL(folio)) {
		page = folio_file_page(folio, index);
		/* A poisoned page: shmem's own path refuses it (-EIO). */
		if (folio_test_uptodate(folio) && !PageHWPoison(page))
			return page;
		folio_put(folio);
	}
	return shmem_read_mapping_page_gfp(mapping, index, mapping_gfp_mask(mapping));
}

/*
 * The cached route: fill the @nr pages of @bv (from page offset @first)
 * from the backing file's page cache, after one readahead of their range.
 * This is what filemap_fault() does and may be done under mmap_lock and
 * the backing file's inode lock. Returns as vmfault_file_fill_direct().
 */
static unsigned int vmfault_file_fill_cached(struct vmfault_region *region, pgoff_t first,
					     struct bio_vec *bv, unsigned int nr, int *err,
					     size_t *bytes)
{
	struct file *file = region->backing;
	struct address_space *mapping = file->f_mapping;
	bool shmem = file_inode(file)->i_sb->s_magic == TMPFS_MAGIC;
	loff_t pos = vmfault_file_pos(region, first), isize = vmfault_file_isize(region);
	pgoff_t fidx = pos >> PAGE_SHIFT;
	size_t done = 0;
	unsigned int i;

	vmfault_count(region, VMFAULT_CNT_FILE_READS);
	if (!shmem && pos < isize) {
		DEFINE_READAHEAD(ractl, file, &file->f_ra, mapping, fidx);
		loff_t left = DIV_ROUND_UP(isize - pos, PAGE_SIZE);

		page_cache_ra_unbounded(&ractl, min_t(loff_t, nr, left), 0);
	}
	for (i = 0; i < nr && pos + done < isize; i++) {
		size_t n = min_t(loff_t, PAGE_SIZE, isize - pos - done);
		struct folio *folio;
		struct page *src;

		if (shmem) {
			src = vmfault_shmem_page(mapping, fidx + i);
		} else {
			folio = vmfault_file_cache_folio(file, fidx + i);
			src = IS_ERR(folio) ? ERR_CAST(folio) : folio_file_page(folio, fidx + i);
		}
		if (IS_ERR(src)) {
			*err = PTR_ERR(src);
			*bytes = done;
			return i;
		}
		copy_highpage(bv[i].bv_page, src);
		put_page(src);
		vmfault_count(region, VMFAULT_CNT_CACHED_READS);
		done += n;
	}
	*bytes = done;
	vmfault_file_zero_from(bv, nr, done);
	return nr;
}

/*
 * Fill the @nr pages of @bv from page offset @first by the route @how
 * allows, count and trace it. Returns the pages filled, from the first.
 */
static unsigned int vmfault_file_fill(struct vmfault_region *region, pgoff_t first,
				      struct bio_vec *bv, unsigned int nr, enum vmfault_get how,
				      int *err)
{
	unsigned int full;
	size_t bytes = 0;
	u64 start;

	*err = 0;
	start = ktime_get_ns();
	if (how == VMFAULT_GET_WAIT || how == VMFAULT_GET_PREFETCH)
		full = vmfault_file_fill_direct(region, first, bv, nr, err, &bytes);
	else
		full = vmfault_file_fill_cached(region, first, bv, nr, err, &bytes);
	start = ktime_get_ns() - start;

	vmfault_count_add(region, VMFAULT_CNT_PAGES_READ, full);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_READ, bytes);
	vmfault_count_add(region, VMFAULT_CNT_READ_NS, start);
	if (*err)
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
	trace_vmfault_demand_read(region, first, nr, bytes, start, *err);
	return full;
}

/*
 * The end of a fill of the @nr locked pages of @bv from page offset
 * @first, of which @full were filled: those of them the region still holds
 * become up to date; the others, if the fill failed, are marked as failed.
 * Then it unlocks every page and puts the filler's references, except the
 * first page's, which the caller keeps, and with @keep_locked the first
 * page's lock if it became up to date in its slot.
 *
 * Every page is marked before any is unlocked: a task waiting for one
 * page's lock (vmfault_file_not_uptodate()) retries its fault and maps
 * the up-to-date pages around it at once, so the rest of the window must
 * be up to date by then, or the next page's fault waits for this same
 * read a second time.
 */
static void vmfault_file_fill_done(struct vmfault_region *region, pgoff_t first,
				   struct bio_vec *bv, unsigned int nr, unsigned int full, int err,
				   bool keep_locked)
{
	XA_STATE(xas, &region->pages, first);
	unsigned int i;

	/*
	 * A page not in its slot any more was replaced: it goes with its last
	 * reference. The test and the flag go together under the xarray's
	 * lock, as the replacement does (vmfault_file_replace()): a page
	 * that is up to date in its slot is never replaced. One walk and one
	 * hold of the lock for the window, not one each page (a lock and a
	 * walk from the root: about 100 instructions a page on riscv64).
	 */
	xas_lock(&xas);
	for (i = 0; i < nr; i++) {
		struct page *cur = i ? xas_next(&xas) : xas_load(&xas);

		if (cur != bv[i].bv_page)
			continue;
		if (i < full) {
			SetPageUptodate(cur);
			xas_clear_mark(&xas, VMFAULT_PAGE_EIO);
		} else if (err) {
			xas_set_mark(&xas, VMFAULT_PAGE_EIO);
		}
	}
	xas_unlock(&xas);
	/*
	 * Each page is still locked, so only this fill made it up to date.
	 * Locked still: no eviction can look at it before it is listed.
	 */
	if (region->budget)
		for (i = 0; i < full; i++)
			if (PageUptodate(bv[i].bv_page))
				vmfault_frame_uptodate(region, bv[i].bv_page);
	for (i = 0; i < nr; i++) {
		if (i || !keep_locked || !PageUptodate(bv[0].bv_page))
			unlock_page(bv[i].bv_page);
		if (i)
			put_page(bv[i].bv_page);
	}
}

/*
 * The page the caller holds a reference to, filled: if the region holds it
 * and it is up to date, return it (the reference goes to the caller);
 * else put it and return NULL to look again, or the fill's error.
 */
static struct page *vmfault_file_filled(struct vmfault_region *region, pgoff_t index,
					struct page *page, unsigned int full, int err)
{
	if (PageUptodate(page) && xa_load(&region->pages, index) == page)
		return page;
	put_page(page);
	if (!full)
		return ERR_PTR(err ?: -EIO);
	return NULL;
}

/*
 * What eviction may do to make room for the @nr-th page of a window read
 * by the route @how: the first page of a read that holds no lock may wait
 * for a victim and write it back; a task that may hold the backing file's
 * inode lock evicts clean pages it can lock at once, and goes over the
 * budget rather than fail; prefetched pages never go over it. While it
 * holds the window's first pages locked, a task only trylocks victims.
 */
static unsigned int vmfault_file_evict_flags(enum vmfault_get how, unsigned int nr)
{
	if (nr || how == VMFAULT_GET_CACHED || how == VMFAULT_GET_PREFETCH)
		return 0;
	if (how == VMFAULT_GET_WAIT)
		return VMFAULT_EVICT_MAY_WAIT | VMFAULT_EVICT_MAY_WRITE | VMFAULT_EVICT_MAY_EXCEED;
	return VMFAULT_EVICT_MAY_EXCEED;
}

/**
 * vmfault_file_cached() - does a tmpfs backing file hold a page's data in memory?
 * @region: a file-mode region
 * @index: page offset in the region
 *
 * Only tmpfs: its page cache is the file itself, always there (a page it
 * swapped out is not up to date there, and takes the slow path). Other
 * file systems' caches come and go with readahead and reclaim; their
 * reads keep the direct route, which does not fill the cache. (A run
 * with this path taken for FUSE too measured a sequential scan of a FUSE
 * file at 1.4 times the instructions, in a benchmark run that other
 * figures show was disturbed by the guest's own work; not measured again.)
 *
 * Return: true if the backing file is on tmpfs and its folio at @index's
 * position is in its page cache and up to date (so that
 * VMFAULT_GET_CACHED reads it with no I/O); false otherwise, and for a
 * page at or past the file's end.
 */
bool vmfault_file_cached(struct vmfault_region *region, pgoff_t index)
{
	loff_t pos = vmfault_file_pos(region, index);
	void *entry;
	bool cached;

	if (file_inode(region->backing)->i_sb->s_magic != TMPFS_MAGIC ||
	    pos >= vmfault_file_isize(region))
		return false;
	/*
	 * A look, without a reference (struct folio is never freed): the
	 * fill takes one, and reads through shmem if the page went meanwhile.
	 * A value entry is a page tmpfs swapped out.
	 */
	rcu_read_lock();
	entry = xa_load(&region->backing->f_mapping->i_pages, pos >> PAGE_SHIFT);
	/* Through page_folio(): the folio may be freed and reused meanwhile. */
	cached = entry && !xa_is_value(entry) && PageUptodate(folio_page((struct folio *)entry, 0));
	rcu_read_unlock();
	return cached;
}

/*
 * Undo a window page that never went into its slot: its lock, its frame
 * (eviction) and both references, the filler's and vmfault_page_alloc()'s.
 */
static void vmfault_file_unpublished(struct vmfault_region *region, struct page *page)
{
	__folio_clear_locked(page_folio(page));
	vmfault_frame_detach(region, page);
	put_page(page);
	vmfault_page_drop(page);
}

/*
 * A miss at @index: allocate, lock and publish the absent pages of the
 * window from @index, then fill them. Returns the page at @index, up to
 * date, with a reference; NULL to look again (another task published the
 * page first, or replaced it); or an error.
 *
 * The page at @index is published as soon as it is allocated, so that a
 * task faulting on it waits for this read. The others are published
 * together once all are allocated, with one walk of the xarray and one
 * hold of its lock (vmfault_region_publish_run()); the window ends before
 * the first slot another task filled meanwhile, and the pages after it go
 * back. The end of the read marks them up to date the same way
 * (vmfault_file_fill_done()). On riscv64 6.12 one page each cost a lock
 * and a walk from the root twice, about 400 instructions a page.
 */
static struct page *vmfault_file_read_window(struct vmfault_region *region, pgoff_t index,
					     enum vmfault_get how, bool write, bool *major)
{
	pgoff_t end = vmfault_file_end(region);
	struct page *page, *old = NULL;
	struct bio_vec one, *bv;
	unsigned int nr, max, full;
	int err = 0;

	if (index >= end) {
		/* write() may add data past the end: the page starts as zeros. */
		if (!write)
			return ERR_PTR(-ENXIO);
		end = index + 1;
	}
	max = min_t(unsigned long, region->window, end - index);
	bv = max == 1 ? &one : kmalloc_array(max, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return ERR_PTR(-ENOMEM);

	for (nr = 0; nr < max; nr++) {
		struct vmfault_frame *frame = NULL;

		/* The caller checked the first page (vmfault_file_get_page()). */
		if (how == VMFAULT_GET_CACHED && nr && !vmfault_file_cached(region, index + nr))
			break;
		if (region->budget) {
			if (nr && xa_load(&region->pages, index + nr))
				break;
			frame = vmfault_frame_reserve(region, index + nr,
						      vmfault_file_evict_flags(how, nr));
			if (IS_ERR(frame)) {
				if (!nr)
					err = how == VMFAULT_GET_CACHED ? -EAGAIN : PTR_ERR(frame);
				break;
			}
		}
		/*
		 * Not zeroed: the fill writes every byte, and a page that is
		 * not up to date is never mapped, copied or written back.
		 */
		page = frame ? vmfault_frame_page(region, frame, false) :
			       vmfault_page_alloc(region, false);
		if (IS_ERR(page)) {
			if (frame)
				vmfault_frame_unreserve(region, frame);
			err = PTR_ERR(page);
			break;
		}
		if (frame)
			vmfault_frame_attach(page, frame);
		/* Nobody can see the page yet: the non-atomic lock is enough. */
		__folio_set_locked(page_folio(page));
		get_page(page);		/* the filler's; the slot has the other */
		bvec_set_page(&bv[nr], page, PAGE_SIZE, 0);
		/*
		 * The faulting page's slot at once, as before any other page
		 * is allocated: a task faulting on it meanwhile waits for this
		 * read instead of making its own. The rest of the window goes
		 * in below, with one walk of the xarray.
		 */
		if (!nr) {
			old = vmfault_region_publish(region, index, page, 0);
			if (old) {
				vmfault_file_unpublished(region, page);
				if (IS_ERR(old))
					err = PTR_ERR(old);
				break;
			}
		}
	}
	/* Another task's page (or no xarray node) in a slot ends the window there. */
	if (nr > 1) {
		unsigned int in = 1 + vmfault_region_publish_run(region, index + 1, bv + 1, nr - 1);

		while (nr > in)
			vmfault_file_unpublished(region, bv[--nr].bv_page);
	}
	if (!nr) {
		if (bv != &one)
			kfree(bv);
		/* Another task published this page first: look again. */
		return old && !IS_ERR(old) ? NULL : ERR_PTR(err);
	}

	*major = true;
	full = vmfault_file_fill(region, index, bv, nr, how, &err);
	vmfault_file_fill_done(region, index, bv, nr, full, err,
			       how == VMFAULT_GET_CACHED && region->budget);
	page = bv[0].bv_page;
	if (bv != &one)
		kfree(bv);
	return vmfault_file_filled(region, index, page, full, err);
}

/*
 * A task that may not wait met @old, being read by another: read the page
 * through the page cache into a new one and put that in @old's place.
 * Consumes the caller's reference to @old. Returns as
 * vmfault_file_read_window().
 */
static struct page *vmfault_file_replace(struct vmfault_region *region, pgoff_t index,
					 struct page *old, bool *major)
{
	struct page *page, *cur;
	struct bio_vec bv;
	unsigned int full;
	int err;

	page = vmfault_page_alloc(region, false);
	if (IS_ERR(page)) {
		put_page(old);
		return page;
	}
	bvec_set_page(&bv, page, PAGE_SIZE, 0);
	*major = true;
	full = vmfault_file_fill(region, index, &bv, 1, VMFAULT_GET_SAFE, &err);
	if (!full) {
		vmfault_page_drop(page);
		put_page(old);
		return ERR_PTR(err);
	}
	SetPageUptodate(page);
	get_page(page);		/* the caller's; the slot takes the other */
	/*
	 * Only a page that is still not up to date is replaced: its filler
	 * marks it under the same lock (vmfault_file_fill_done()), and a page
	 * that is up to date in its slot may already be mapped. The slot
	 * exists, so the exchange allocates nothing.
	 */
	xa_lock(&region->pages);
	cur = xa_load(&region->pages, index);
	if (cur == old && !PageUptodate(old)) {
		__xa_cmpxchg(&region->pages, index, old, page, GFP_NOWAIT);
		__xa_clear_mark(&region->pages, index, VMFAULT_PAGE_EIO);
		/* The slot's frame, if the region has a budget, goes with it. */
		vmfault_frame_move(old, page);
		cur = NULL;
	}
	xa_unlock(&region->pages);
	put_page(old);
	if (!cur) {
		if (region->budget)
			vmfault_frame_uptodate(region, page);
		vmfault_region_replaced(region, index, old, page);
		return page;
	}
	put_page(page);
	vmfault_page_drop(page);
	return NULL;
}

/*
 * @page, held and not up to date: wait for its filler (if @how allows)
 * or replace it, or read it again. Consumes the caller's reference.
 * Returns as vmfault_file_read_window().
 */
static struct page *vmfault_file_not_uptodate(struct vmfault_region *region, pgoff_t index,
					      struct page *page, enum vmfault_get how,
					      bool *major)
{
	unsigned int full;
	struct bio_vec bv;
	int err;

	if (!trylock_page(page)) {
		/* A filler may need the inode lock this task holds: do not wait. */
		if (how == VMFAULT_GET_SAFE)
			return vmfault_file_replace(region, index, page, major);
		err = folio_lock_killable(page_folio(page));
		if (err) {
			put_page(page);
			return ERR_PTR(err);
		}
	}
	if (PageUptodate(page) || xa_load(&region->pages, index) != page) {
		unlock_page(page);
		put_page(page);
		return NULL;
	}
	/* Its last read failed: read it again, alone. */
	bvec_set_page(&bv, page, PAGE_SIZE, 0);
	*major = true;
	full = vmfault_file_fill(region, index, &bv, 1, how, &err);
	vmfault_file_fill_done(region, index, &bv, 1, full, err, false);
	return vmfault_file_filled(region, index, page, full, err);
}

/**
 * vmfault_file_get_page() - the up-to-date region page at an offset
 * @region: a file-mode region
 * @index: page offset, below the region's size
 * @how: the route and waits the caller's locks allow (enum vmfault_get)
 * @write: for write(): a page at or past the data's end is made, as zeros
 * @major: set when this call read from the backing file
 *
 * Context: might sleep. With VMFAULT_GET_WAIT, waits (killably) for a
 * read of the page by another task.
 *
 * With VMFAULT_GET_CACHED the caller has found the slot empty and the
 * page's data in the backing file (vmfault_file_cached()): the first
 * look is a read (a page published meanwhile makes it look again). In a
 * region with a budget the page comes back locked in its slot, as
 * vmfault_page_lock_in_slot() gives it (a page this call read, still
 * locked from its fill).
 *
 * Return: the page, with a reference of the caller's; ERR_PTR(-ENXIO) if
 * the page lies wholly past the data's end (and !@write); -EAGAIN for
 * VMFAULT_GET_CACHED when it would need I/O or a wait; -EINTR if killed
 * while waiting; -ENOMEM; -ENOSPC at the module's page limit; the error of
 * a failed read (-EIO, or -ENOTCONN when the FUSE connection is gone).
 */
struct page *vmfault_file_get_page(struct vmfault_region *region, pgoff_t index,
				   enum vmfault_get how, bool write, bool *major)
{
	bool missed = how == VMFAULT_GET_CACHED;
	struct page *page;

	do {
		page = missed ? NULL : vmfault_region_find_get(region, index);
		missed = false;
		if (!page) {
			page = vmfault_file_read_window(region, index, how, write, major);
		} else if (!PageUptodate(page)) {
			if (how == VMFAULT_GET_CACHED) {
				/* Being read, or failed: the slow path waits or reads. */
				put_page(page);
				return ERR_PTR(-EAGAIN);
			}
			page = vmfault_file_not_uptodate(region, index, page, how, major);
		} else if (how == VMFAULT_GET_CACHED && region->budget &&
			   !vmfault_page_lock_in_slot(region, index, page)) {
			put_page(page);		/* evicted meanwhile: look again */
			page = NULL;
		}
		if (fatal_signal_pending(current) && !page)
			return ERR_PTR(-EINTR);
	} while (!page);
	return page;
}

/**
 * vmfault_file_prefetch() - read a window in the background
 * @region: a file-mode region
 * @index: the window's first page offset
 *
 * VMFAULT_FLAG_ASYNC_PREFETCH's read, on the module's workqueue: the
 * absent pages of the window from @index, as a fault's read would get
 * them, unless @index is resident already or past the data. A task that
 * needs one of them meanwhile waits for its lock, or, if it may not wait,
 * reads it again (vmfault_file_replace()). An error leaves the pages as a
 * failed read does: the next access reads them again.
 *
 * Context: might sleep; holds no lock, as read() of the region.
 */
void vmfault_file_prefetch(struct vmfault_region *region, pgoff_t index)
{
	struct page *page;
	bool major;

	if (index >= vmfault_file_end(region) || xa_load(&region->pages, index))
		return;
	page = vmfault_file_read_window(region, index, VMFAULT_GET_PREFETCH, false, &major);
	if (!IS_ERR_OR_NULL(page))
		put_page(page);
}

/**
 * vmfault_file_take_error() - did the page's last read, in a fault, fail?
 * @region: a file-mode region
 * @index: page offset
 *
 * For the retry of a fault that dropped mmap_lock to read: if that read
 * failed, the retry answers SIGBUS rather than reading again. Clears the
 * mark: the next access reads again.
 *
 * Return: true if the slot holds a page that is not up to date and whose
 * read failed.
 */
bool vmfault_file_take_error(struct vmfault_region *region, pgoff_t index)
{
	struct page *page;

	if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_EIO))
		return false;
	page = vmfault_region_find_get(region, index);
	if (!page)
		return false;
	if (PageUptodate(page)) {
		put_page(page);
		return false;
	}
	put_page(page);
	xa_clear_mark(&region->pages, index, VMFAULT_PAGE_EIO);
	return true;
}

/**
 * vmfault_file_mark_dirty() - a page was written: it needs writing back
 * @region: a file-mode region
 * @index: page offset of @page
 * @page: a region page, up to date, that the caller has locked
 */
void vmfault_file_mark_dirty(struct vmfault_region *region, pgoff_t index,
			     struct page *page)
{
	if (!TestSetPageDirty(page))
		vmfault_count(region, VMFAULT_CNT_PAGES_DIRTIED);
	if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY))
		xa_set_mark(&region->pages, index, VMFAULT_PAGE_DIRTY);
}

/*
 * Does someone besides the region, @ours references of the caller and the
 * page tables hold @page? A GUP or pin user (O_DIRECT, io_uring, vmsplice,
 * RDMA) may write into it and set PG_dirty later. A transient reference
 * (a mapping under way) only keeps the page marked once more.
 */
static bool vmfault_page_held(struct page *page, int ours)
{
	return page_count(page) > 1 + ours + vmfault_page_mapcount(page);
}

/*
 * Write the @nr dirty pages of @bv (locked, with a reference each, from
 * page offset @first) back with one write (more if the file takes less),
 * up to the data's end. Unmaps them, clears PG_dirty, sets PG_writeback
 * and unlocks them first; afterwards drops the mark of each page that is
 * clean and held by no one else. Returns 0 or a negative errno; on error
 * the pages are dirty again.
 */
static int vmfault_file_write_run(struct vmfault_region *region, pgoff_t first,
				  struct bio_vec *bv, unsigned int nr)
{
	loff_t pos = vmfault_file_pos(region, first), dend = vmfault_file_data_end(region);
	size_t len = (size_t)nr << PAGE_SHIFT, done = 0;
	struct iov_iter iter;
	unsigned int i;
	ssize_t ret = 0;
	u64 start;

	/* Pte dirty bits move into PG_dirty; no pte stays writable. */
	unmap_mapping_range(region->inode->i_mapping, (loff_t)first << PAGE_SHIFT, len, 0);
	for (i = 0; i < nr; i++) {
		struct page *page = bv[i].bv_page;

		ClearPageDirty(page);
		folio_start_writeback(page_folio(page));
		unlock_page(page);
	}
	/* Data past the data's end has nowhere to go, as in the page cache. */
	len = pos < dend ? min_t(loff_t, len, dend - pos) : 0;
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
	trace_vmfault_writeback(region, first, nr, done, start, ret < 0 ? ret : 0);
	vmfault_count_add(region, VMFAULT_CNT_BYTES_WRITTEN, done);

	for (i = 0; i < nr; i++) {
		struct page *page = bv[i].bv_page;

		lock_page(page);
		if (ret < 0)
			SetPageDirty(page);
		folio_end_writeback(page_folio(page));
		if (!PageDirty(page) && !vmfault_page_held(page, 1))
			xa_clear_mark(&region->pages, first + i, VMFAULT_PAGE_DIRTY);
		unlock_page(page);
		put_page(page);
	}
	if (ret < 0) {
		vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
		pr_info_ratelimited("region %lu: writing %zu bytes at %lld failed: %zd\n",
				    vmfault_region_id(region), len, pos, ret);
		return ret;
	}
	vmfault_count_add(region, VMFAULT_CNT_PAGES_WRITTEN, nr);
	return 0;
}

/*
 * Lock the run of marked, dirty pages from @first (at most @last, and
 * VMFAULT_MAX_WINDOW) into @bv, with a reference each. The run ends at a
 * page that is not marked, under writeback (*@busy: the caller waits for
 * it with nothing locked, then looks again), clean (its mark is dropped
 * unless someone else holds it) or poisoned (its data is lost: -EIO in
 * *@err). Returns the run's length; *@skip is 1 if the page after the run
 * was dealt with here and needs no second look.
 */
static unsigned int vmfault_file_collect_run(struct vmfault_region *region, pgoff_t first,
					     pgoff_t last, struct bio_vec *bv,
					     struct page **busy, unsigned int *skip, int *err)
{
	unsigned int nr;

	*skip = 0;
	for (nr = 0; nr < VMFAULT_MAX_WINDOW && first + nr <= last; nr++) {
		pgoff_t index = first + nr;
		struct page *page;

		if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY))
			break;
		/*
		 * Marked pages are up to date, and never evicted (evict.c);
		 * but the mark may go, and the page with it, before the lookup.
		 */
		page = vmfault_region_find_get(region, index);
		if (!page)
			break;
		if (folio_lock_killable(page_folio(page))) {
			put_page(page);
			*err = -EINTR;
			break;
		}
		if (PageWriteback(page)) {
			unlock_page(page);
			*busy = page;
			break;
		}
		*skip = 1;
		if (!xa_get_mark(&region->pages, index, VMFAULT_PAGE_DIRTY)) {
			/* Written back by another task meanwhile. */
		} else if (vmfault_page_poisoned(region, index, page)) {
			/*
			 * Its data is lost: say so to the next fsync() of every
			 * fd, as the page cache does (mapping_set_error()),
			 * whichever writeback met it (a munmap's, at exit).
			 */
			ClearPageDirty(page);
			xa_clear_mark(&region->pages, index, VMFAULT_PAGE_DIRTY);
			vmfault_count(region, VMFAULT_CNT_IO_ERRORS);
			mapping_set_error(region->inode->i_mapping, -EIO);
			*err = -EIO;
		} else if (!PageDirty(page)) {
			if (!vmfault_page_held(page, 1))
				xa_clear_mark(&region->pages, index, VMFAULT_PAGE_DIRTY);
		} else {
			*skip = 0;
			bvec_set_page(&bv[nr], page, PAGE_SIZE, 0);
			continue;
		}
		unlock_page(page);
		put_page(page);
		break;
	}
	return nr;
}

/**
 * vmfault_file_writeback() - write dirty pages of a range back
 * @region: a file-mode region
 * @first: first page offset
 * @last: last page offset, inclusive
 *
 * Context: might sleep; no locks held: not mmap_lock (the backing file's
 * ->write_iter takes sb_writers and its inode lock), not the backing
 * file's inode lock (a page of the run may be under a GUP user's I/O).
 * Locks the pages of each run in ascending order, as every multi-page
 * locker here does, and holds none of them across the write.
 *
 * Return: 0, or the first error (later runs are still written); -EINTR if
 * killed while waiting for a page.
 */
int vmfault_file_writeback(struct vmfault_region *region, pgoff_t first, pgoff_t last)
{
	unsigned long index = first;
	struct bio_vec *bv;
	int err = 0;

	if (!xa_marked(&region->pages, VMFAULT_PAGE_DIRTY))
		return 0;
	bv = kmalloc_array(VMFAULT_MAX_WINDOW, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;

	while (xa_find(&region->pages, &index, last, VMFAULT_PAGE_DIRTY)) {
		struct page *busy = NULL;
		unsigned int nr, skip;
		int ret = 0;

		nr = vmfault_file_collect_run(region, index, last, bv, &busy, &skip, &ret);
		if (nr) {
			int wret = vmfault_file_write_run(region, index, bv, nr);

			if (!err)
				err = wret;
		}
		if (ret && !err)
			err = ret;
		if (busy) {
			ret = folio_wait_writeback_killable(page_folio(busy));
			put_page(busy);
		}
		if (ret == -EINTR) {
			err = ret;
			break;
		}
		index += nr + skip;
		if (index > last || index < first)
			break;
		cond_resched();
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
