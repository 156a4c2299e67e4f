// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault file mode, the fault half: the vm_operations of a region that
 * pages in from a backing file. Reading and writing the file is
 * file_io.c's.
 */

/**
 * DOC: file-mode faults
 *
 * Core mm calls a file-mode mapping in four places:
 *
 * - ->map_pages, for a read fault on an empty pte when fault-around is on
 *   (the default; VMFAULT_FLAG_NO_FAULT_AROUND leaves it out). It maps the
 *   resident, up-to-date pages in core mm's fault-around window (64 KiB,
 *   /sys/kernel/debug/fault_around_bytes) read-only, without reading
 *   anything. If that mapped the faulting address, the fault ends there:
 *   a minor fault that never calls ->fault. This is filemap_map_pages()
 *   for the region's own pages.
 *
 * - ->fault, when the pte is empty. A resident page is returned at once
 *   (a minor fault). A missing one is read from the file together with
 *   the rest of its prefetch window (file_io.c) and the fault returns
 *   VM_FAULT_MAJOR, so ru_majflt and pgmajfault count it, as
 *   filemap_fault() does for the page cache. For a MAP_PRIVATE write
 *   (vmf->cow_page set) the page is returned for do_cow_fault() to copy:
 *   private writes never reach the region or the file.
 *
 * - ->page_mkwrite, before a MAP_SHARED write makes the page writable
 *   (after ->fault, or on its own for a read-only pte): marks it dirty.
 *
 * - ->close, when a mapping goes away: a MAP_SHARED one writes its dirty
 *   pages back.
 *
 * Pages wholly past the file's end, or past the region's size, get
 * SIGBUS; so does a page whose read fails (-EIO, a dead FUSE daemon).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>

#include "vmfault.h"
#include "vmfault_trace.h"

/**
 * vmfault_file_fault() - ->fault of a file-mode mapping
 * @vmf: the fault; the pte at vmf->address is empty
 *
 * Context: mmap_lock (or 6.12's per-VMA lock) held for read, no page
 * table lock; the same on return. Might sleep for the read, killably:
 * the lock is held across it, as filemap_fault() holds it when it cannot
 * drop it for a retry.
 *
 * Maps: returns the region page in vmf->page with a reference for core
 * mm: finish_fault() maps it, or do_cow_fault() copies it.
 *
 * Return: 0 or VM_FAULT_MAJOR with vmf->page set; VM_FAULT_SIGBUS past
 * the region or the file, or when the read failed; VM_FAULT_OOM.
 */
static vm_fault_t vmfault_file_fault(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	pgoff_t end = vmfault_file_end(region);
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome;
	bool major = false;
	struct page *page;
	vm_fault_t ret = 0;

	if (vmf->pgoff >= end) {
		ret = vmfault_fault_sigbus(vmf, region, end);
		outcome = VMFAULT_OUT_SIGBUS;
		goto out;
	}
	page = vmfault_file_get_page(region, vmf->pgoff, &major);
	if (page == ERR_PTR(-ENOMEM)) {
		vmfault_count(region, VMFAULT_CNT_OOM);
		outcome = VMFAULT_OUT_OOM;
		ret = VM_FAULT_OOM;
	} else if (IS_ERR(page)) {
		outcome = VMFAULT_OUT_SIGBUS;
		ret = vmfault_fault_sigbus(vmf, region, end);
	} else {
		get_page(page);
		vmf->page = page;
		outcome = major ? VMFAULT_OUT_READ : VMFAULT_OUT_PAGE;
		if (vmf->cow_page) {
			vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
			trace_vmfault_cow(vmfault_region_id(region), vmf->address, vmf->pgoff,
					  page_to_pfn(page));
			if (!major)
				outcome = VMFAULT_OUT_COW;
		}
	}
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
 * vmfault_file_map_pages() - ->map_pages: map resident pages around a fault
 * @vmf: the read fault; the pte at vmf->address is empty
 * @start_pgoff: first page offset of the fault-around window
 * @end_pgoff: last page offset of the window, inside the vma
 *
 * Context and return: as vmfault_region_map_resident(), which maps the
 * up-to-date region pages of the window, up to the file's end.
 */
static vm_fault_t vmfault_file_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
					 pgoff_t end_pgoff)
{
	pgoff_t end = vmfault_file_end(vmfault_vmf_region(vmf));

	if (start_pgoff >= end)
		return 0;
	return vmfault_region_map_resident(vmf, start_pgoff, min(end_pgoff, end - 1), true);
}

/**
 * vmfault_file_page_mkwrite() - a MAP_SHARED write to a region page
 * @vmf: the fault; vmf->page is the region page
 *
 * Context: mmap_lock held for read, page unlocked; returns with the page
 * locked unless it returns an error. Waits for a writeback of the page
 * (which holds its lock) to finish, so the page is stable while written.
 *
 * Return: VM_FAULT_LOCKED after marking the page dirty: core mm makes the
 * pte writable; VM_FAULT_SIGBUS if the file shrank below the page.
 */
static vm_fault_t vmfault_file_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();

	pgoff_t end = vmfault_file_end(region);

	lock_page(vmf->page);
	if (vmf->pgoff >= end) {
		unlock_page(vmf->page);
		return vmfault_fault_sigbus(vmf, region, end);
	}
	vmfault_file_mark_dirty(region, vmf->pgoff);
	vmfault_mkwrite_done(vmf, region, start);
	return VM_FAULT_LOCKED;
}

/*
 * The writeback of an unmapped range, run after mmap_lock is dropped. It
 * holds the region's file, so the region outlives it.
 */
struct vmfault_unmap_wb {
	struct callback_head twork;
	struct work_struct work;
	struct file *file;
	pgoff_t first, last;
};

static void vmfault_unmap_wb_run(struct vmfault_unmap_wb *wb)
{
	struct file *file = wb->file;

	vmfault_file_writeback(file->private_data, wb->first, wb->last);
	kfree(wb);
	/* The region's last reference may go here: its release is deferred. */
	fput(file);
}

static void vmfault_unmap_wb_twork(struct callback_head *head)
{
	vmfault_unmap_wb_run(container_of(head, struct vmfault_unmap_wb, twork));
}

static void vmfault_unmap_wb_workfn(struct work_struct *work)
{
	vmfault_unmap_wb_run(container_of(work, struct vmfault_unmap_wb, work));
}

/**
 * vmfault_file_vm_close() - a mapping goes away: write back its pages
 * @vma: the mapping, already unmapped (pte dirty bits are in the pages)
 *
 * Context: mmap_lock held (munmap(), exit). The write cannot be made here:
 * ->write_iter of the backing file takes sb_writers and the inode lock,
 * and a write() to that file holds the inode lock while it pins its user
 * buffer, which takes mmap_lock: an ABBA deadlock (lockdep reports it on
 * the debug kernel). So the writeback runs as task work, as fput() runs
 * ->release: before munmap() returns to user space, or in do_exit() after
 * the mm is gone; from a kernel thread, on a workqueue. A failed
 * writeback, or no memory to queue it, leaves the pages dirty for the next
 * flush, close() or the region's release.
 */
static void vmfault_file_vm_close(struct vm_area_struct *vma)
{
	struct vmfault_region *region = vma->vm_file->private_data;
	struct vmfault_unmap_wb *wb;

	if (!(vma->vm_flags & VM_SHARED) || !xa_marked(&region->pages, VMFAULT_PAGE_DIRTY))
		return;
	wb = kmalloc(sizeof(*wb), GFP_KERNEL);
	if (!wb)
		return;
	wb->file = get_file(vma->vm_file);
	wb->first = vma->vm_pgoff;
	wb->last = vma->vm_pgoff + vma_pages(vma) - 1;
	if (!(current->flags & PF_KTHREAD)) {
		init_task_work(&wb->twork, vmfault_unmap_wb_twork);
		if (!task_work_add(current, &wb->twork, TWA_RESUME))
			return;
	}
	INIT_WORK(&wb->work, vmfault_unmap_wb_workfn);
	queue_work(system_unbound_wq, &wb->work);
}

const struct vm_operations_struct vmfault_file_vm_ops = {
	.fault		= vmfault_file_fault,
	.map_pages	= vmfault_file_map_pages,
	.page_mkwrite	= vmfault_file_page_mkwrite,
	.close		= vmfault_file_vm_close,
};

/* VMFAULT_FLAG_NO_FAULT_AROUND: without ->map_pages, core mm does none. */
const struct vm_operations_struct vmfault_file_nofa_vm_ops = {
	.fault		= vmfault_file_fault,
	.page_mkwrite	= vmfault_file_page_mkwrite,
	.close		= vmfault_file_vm_close,
};
