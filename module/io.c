// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault region contents through the file: read(), write(), pread(),
 * pwrite() and lseek() on a /dev/vmfault fd.
 *
 * These copy straight to and from the region's pages, the same pages that
 * MAP_SHARED mappings map, so data written either way is seen the other way
 * at once. A hole reads as zeros without allocating; a write allocates the
 * page (which unmaps the zero page from every mapping, see fault_zero.c).
 *
 * A file-mode region reads missing pages from its backing file first
 * (file_io.c); a write marks the page dirty for writeback, and past the
 * file's end adds data that writeback extends the file with. A page whose
 * memory failed (hardware poison) is never copied: -EIO.
 *
 * No lock is held across the user copy: the buffer may itself be a mapping
 * of this region, and the copy may fault into this region's handlers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/uio.h>

#include "vmfault.h"

/*
 * The page to copy to or from at @index, with a reference: for a read of
 * a zero-mode hole NULL (zeros). A file page is up to date; a zero-mode
 * page always is.
 */
static struct page *vmfault_io_page(struct vmfault_region *region, bool file, pgoff_t index,
				    bool write)
{
	struct page *page;
	bool major;

	if (file)
		return vmfault_file_get_page(region, index, VMFAULT_GET_WAIT, write, &major);
	if (region->budget)
		return vmfault_swap_get_page(region, index, VMFAULT_GET_WAIT, write, &major);
	/* A pager's answers may take a page away (pager.c): with a reference. */
	if (region->mode == VMFAULT_MODE_PAGER)
		return vmfault_region_find_get(region, index);
	page = vmfault_region_get_page(region, index, write, 0);
	if (!IS_ERR_OR_NULL(page))
		get_page(page);
	return page;
}

/*
 * Copy between the region and @iter from iocb->ki_pos, up to the region's
 * size. A read of a hole gives zeros; a write allocates the page. Returns
 * bytes copied, or the error that stopped the first page.
 */
static ssize_t vmfault_io(struct kiocb *iocb, struct iov_iter *iter, bool write)
{
	struct vmfault_region *region = iocb->ki_filp->private_data;
	bool file = vmfault_region_freeze(region) == VMFAULT_MODE_FILE;
	u64 size = READ_ONCE(region->size);
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0, err = 0;

	if (region->mode == VMFAULT_MODE_PAGER && write) {
		pr_info_ratelimited("write (%s[%d]): region %lu: a pager region takes data from its handler (VMFAULT_PAGER_IOC_SUPPLY)\n",
				    current->comm, task_pid_nr(current), vmfault_region_id(region));
		return -EINVAL;
	}
	if (file && write && !region->writable) {
		pr_info_ratelimited("write (%s[%d]): region %lu: the backing file is not writable\n",
				    current->comm, task_pid_nr(current), vmfault_region_id(region));
		return -EACCES;
	}
	while (iov_iter_count(iter) && pos < size) {
		size_t off = offset_in_page(pos);
		size_t n = min3(PAGE_SIZE - off, iov_iter_count(iter), (size_t)(size - pos));
		pgoff_t index = pos >> PAGE_SHIFT;
		struct page *page;
		size_t copied;

		page = vmfault_io_page(region, file, index, write);
		if (IS_ERR(page)) {
			err = PTR_ERR(page);
			/* Wholly past the data's end: the end of the data. */
			if (err == -ENXIO)
				err = 0;
			break;
		}
		if (page && vmfault_page_poisoned(region, index, page)) {
			put_page(page);
			err = -EIO;
			break;
		}
		/* A use of the page, for the working-set sampler (wset.c). */
		if (file && unlikely(smp_load_acquire(&region->wset)))
			vmfault_wset_touch(region, index, write);
		if (write) {
			copied = copy_page_from_iter(page, off, n, iter);
			flush_dcache_page(page);
			if (file && copied)	/* past the file's end, write() adds data */
				vmfault_file_extend(region, region->offset + pos + copied);
			/* Dirty after the copy: writeback then sees all of it. */
			if (copied && (file || region->budget)) {
				if (!region->budget) {
					lock_page(page);
				} else if (!vmfault_page_lock_in_slot(region, index, page)) {
					/* Evicted (clean) during the copy: again. */
					put_page(page);
					iov_iter_revert(iter, copied);
					continue;
				}
				if (file)
					vmfault_file_mark_dirty(region, index, page);
				else
					SetPageDirty(page);	/* swapped out when evicted */
				unlock_page(page);
			}
		} else if (page) {
			copied = copy_page_to_iter(page, off, n, iter);
		} else {
			copied = iov_iter_zero(n, iter);
		}
		if (page)
			put_page(page);
		done += copied;
		pos += copied;
		if (copied < n) {
			err = -EFAULT;
			break;
		}
	}
	iocb->ki_pos = pos;
	return done ? done : err;
}

/**
 * vmfault_read_iter() - read region contents
 * @iocb: the file and position
 * @to: the user buffer
 *
 * Return: bytes read, 0 at or past the region's size (file mode: the
 * data's end), -EFAULT if nothing could be copied, -EIO for a failed read
 * or a poisoned page, -EINTR if killed while waiting for a read.
 */
ssize_t vmfault_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	if (iocb->ki_pos < 0)
		return -EINVAL;
	return vmfault_io(iocb, to, false);
}

/**
 * vmfault_write_iter() - write region contents
 * @iocb: the file and position
 * @from: the user buffer
 *
 * The region has a fixed size (configured, or taken from its first
 * mapping); writing at or past it is -ENOSPC, like a full device.
 *
 * Return: bytes written; -ENOSPC at or past the size, or at the module's
 * page limit; -ENOMEM (or the memory cgroup's limit); -EIO; -EFAULT if
 * nothing could be copied.
 */
ssize_t vmfault_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vmfault_region *region = iocb->ki_filp->private_data;

	if (!iov_iter_count(from))
		return 0;
	if (iocb->ki_pos < 0 || iocb->ki_pos >= READ_ONCE(region->size))
		return -ENOSPC;
	return vmfault_io(iocb, from, true);
}

/**
 * vmfault_llseek() - lseek() within the region's size
 * @file: the region's file
 * @offset: as for lseek()
 * @whence: SEEK_SET, SEEK_CUR or SEEK_END
 *
 * Return: the new position, or -EINVAL outside 0..size.
 */
loff_t vmfault_llseek(struct file *file, loff_t offset, int whence)
{
	struct vmfault_region *region = file->private_data;

	return fixed_size_llseek(file, offset, whence, READ_ONCE(region->size));
}
