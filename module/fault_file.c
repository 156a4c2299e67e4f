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
 *   (a minor fault). A missing page whose data a tmpfs backing file
 *   holds, up to date, is copied from it under the lock, as
 *   filemap_fault() maps a cached page without dropping mmap_lock: a major
 *   fault with no I/O and no retry (a user-mode fault only; with a frame
 *   budget, only when a clean victim can be had without waiting). A
 *   missing one must be read from the file (file_io.c
 *   says by which route), which ->fault does as filemap_fault() does: it
 *   pins the file, drops mmap_lock (or the per-VMA lock), reads the page
 *   and the rest of its prefetch window, and returns VM_FAULT_RETRY |
 *   VM_FAULT_MAJOR. Core mm then takes the lock again and retries the
 *   fault (FAULT_FLAG_TRIED), which finds the page resident: ->map_pages
 *   maps it and the window's other pages in one go. ru_majflt and
 *   pgmajfault count the fault once, as major; the module's counters count
 *   it once too, in the pass that read. A fault that cannot drop the lock
 *   (no FAULT_FLAG_ALLOW_RETRY: GUP from ptrace or /proc/PID/mem, a
 *   long-term pin; or the retry itself) reads through the backing file's
 *   page cache under it, which is what filemap_fault() does then too. For
 *   a MAP_PRIVATE write (vmf->cow_page set) the page is returned for
 *   do_cow_fault() to copy: private writes never reach the region or the
 *   file.
 *
 * - ->page_mkwrite, before a MAP_SHARED write makes the page writable
 *   (after ->fault, or on its own for a read-only pte): marks it dirty.
 *
 * - ->close, when a mapping goes away: a MAP_SHARED one writes its dirty
 *   pages back, after mmap_lock is released.
 *
 * Pages wholly past the data's end, or past the region's size, get
 * SIGBUS; so does a page whose read fails (-EIO, a dead FUSE daemon), a
 * page refused at the module's limit, and a hardware-poisoned page
 * (VM_FAULT_HWPOISON: SIGBUS with BUS_MCEERR_AR).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/*
 * VMFAULT_FLAG_ASYNC_PREFETCH. One stream per region, as the page cache
 * keeps one per open file: ra_mark is the page whose access starts the
 * next background read, ra_next that read's first page. A read fault
 * arms it (vmfault_file_ra_arm()); ->fault and ->map_pages look at the
 * mark with one load and, when their pages cover it, start the read
 * (vmfault_file_ra_kick()), which moves the mark to the first page of
 * the window it reads: reaching that window starts the one after it, so
 * that two windows are in flight while a scan waits. The read runs on
 * a high-priority workqueue (vmfault_ra_wq), so that its READ goes out
 * at once, as the page cache's does from the faulting task, and charges
 * its pages to the faulting task's memory cgroup. It holds no reference
 * to the region's file: the region's release waits for its reads
 * (ra_jobs), so that once the last close() and munmap() return, the
 * backing file is closed too and its file system can be unmounted, as
 * after the page cache's readahead.
 */
struct vmfault_ra_job {
	struct work_struct work;
	struct vmfault_region *region;
	struct mem_cgroup *memcg;
	pgoff_t index;
};

static void vmfault_file_ra_workfn(struct work_struct *work)
{
	struct vmfault_ra_job *job = container_of(work, struct vmfault_ra_job, work);
	struct vmfault_region *region = job->region;
	struct mem_cgroup *old = set_active_memcg(job->memcg);

	vmfault_file_prefetch(region, job->index);
	set_active_memcg(old);
	mem_cgroup_put(job->memcg);
	kfree(job);
	/*
	 * Last: the region may be freed as soon as the count is 0.
	 * wake_up_var() only hashes the address; module unload drains
	 * vmfault_ra_wq before the code goes.
	 */
	if (atomic_dec_and_test(&region->ra_jobs))
		wake_up_var(&region->ra_jobs);
}

/**
 * vmfault_file_ra_wait() - wait for a region's background reads to end
 * @region: a region that no mapping or fd refers to any more
 * @killable: give up if the task is killed
 *
 * Return: true when none is under way; false if @killable and killed.
 */
bool vmfault_file_ra_wait(struct vmfault_region *region, bool killable)
{
	if (killable)
		return !wait_var_event_killable(&region->ra_jobs, !atomic_read(&region->ra_jobs));
	wait_var_event(&region->ra_jobs, !atomic_read(&region->ra_jobs));
	return true;
}

/* The stream starts after a fault read the window at @pgoff. */
static void vmfault_file_ra_arm(struct vmfault_region *region, pgoff_t pgoff)
{
	spin_lock(&region->ra_lock);
	region->ra_next = pgoff + region->window;
	WRITE_ONCE(region->ra_mark, pgoff + region->window / 2);
	spin_unlock(&region->ra_lock);
}

/*
 * An access reached the mark: move it to the next window and read that
 * window in the background. Context: mmap_lock or the per-VMA lock held;
 * on 6.12 ->map_pages runs under rcu_read_lock(), so nothing here sleeps.
 */
static noinline void vmfault_file_ra_kick(struct vm_fault *vmf, struct vmfault_region *region,
					  pgoff_t first, pgoff_t last)
{
	struct vmfault_ra_job *job;
	pgoff_t mark, next;

	spin_lock(&region->ra_lock);
	mark = region->ra_mark;
	if (mark < first || mark > last) {
		spin_unlock(&region->ra_lock);	/* another task moved it first */
		return;
	}
	next = region->ra_next;
	if (next >= vmfault_file_end(region) || (vmf->vma->vm_flags & VM_RAND_READ)) {
		WRITE_ONCE(region->ra_mark, ULONG_MAX);
		spin_unlock(&region->ra_lock);
		return;
	}
	region->ra_next = next + region->window;
	WRITE_ONCE(region->ra_mark, next);
	spin_unlock(&region->ra_lock);

	/* Without memory the stream stops here; the next miss starts it again. */
	job = kmalloc(sizeof(*job), GFP_NOWAIT | __GFP_NOWARN);
	if (!job)
		return;
	INIT_WORK(&job->work, vmfault_file_ra_workfn);
	job->region = region;
	job->memcg = get_mem_cgroup_from_mm(vmf->vma->vm_mm);
	job->index = next;
	atomic_inc(&region->ra_jobs);	/* the mapping holds the region until here */
	queue_work(vmfault_ra_wq, &job->work);
}

/* Does the access to pages @first..@last reach the mark? One load when not. */
static inline void vmfault_file_ra_check(struct vm_fault *vmf, struct vmfault_region *region,
					 pgoff_t first, pgoff_t last)
{
	pgoff_t mark = READ_ONCE(region->ra_mark);

	if (unlikely(mark >= first && mark <= last))
		vmfault_file_ra_kick(vmf, region, first, last);
}

/* apply_to_page_range() callback: the page table is all we wanted. */
static int vmfault_file_pte_noop(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/*
 * The first pass of a fault that needs backing I/O, allowed to drop the
 * lock: pin the file, drop the lock, read (or wait for another task's
 * read), and have core mm retry. A user-mode fault holds no other lock and
 * may read with ->read_iter; a kernel-mode one may hold the backing file's
 * inode lock and reads through its page cache. Counts the fault here,
 * once: its retry is not counted again. The retry's ->map_pages maps the
 * window just read if the page table exists: filemap_map_pages() installs
 * a new one itself, which a module cannot (pmd_install() is not
 * exported), so the page table is made here, while the lock is held.
 */
static vm_fault_t vmfault_file_fault_unlocked(struct vm_fault *vmf, struct vmfault_region *region,
					      u64 start)
{
	enum vmfault_get how = vmf->flags & FAULT_FLAG_USER ? VMFAULT_GET_WAIT : VMFAULT_GET_SAFE;
	bool write = vmf->flags & FAULT_FLAG_WRITE, major = false;
	bool shared = vmf->vma->vm_flags & VM_SHARED;
	bool ra = (region->flags & VMFAULT_FLAG_ASYNC_PREFETCH) &&
		  !(vmf->vma->vm_flags & VM_RAND_READ);
	struct file *file = get_file(vmf->vma->vm_file);
	unsigned int cause = vmf->flags;
	unsigned long address = vmf->address;
	pgoff_t pgoff = vmf->pgoff;
	struct page *page;

	if (pmd_none(READ_ONCE(*vmf->pmd)))
		apply_to_page_range(vmf->vma->vm_mm, address & PAGE_MASK, PAGE_SIZE,
				    vmfault_file_pte_noop, NULL);
	/* From here on vmf->vma may be gone; the file holds the region. */
	vmfault_release_fault_lock(vmf);
	page = vmfault_file_get_page(region, pgoff, how, false, &major);
	if (!IS_ERR(page)) {
		if (region->budget)
			vmfault_frame_reference(region, pgoff, page, major);
		put_page(page);
	}
	vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
	if (major) {
		vmfault_count(region, VMFAULT_CNT_MAJOR_FAULTS);
		count_vm_event(PGMAJFAULT);
		if (ra)
			vmfault_file_ra_arm(region, pgoff);
	}
	vmfault_fault_done_at(region, address, pgoff, write, shared, cause,
			      VMFAULT_OUT_READ, start);
	fput(file);
	/* MAJOR: a 6.12 fault retried after the per-VMA lock counts as major too. */
	return VM_FAULT_RETRY | VM_FAULT_MAJOR;
}

/*
 * The up-to-date page at the fault's offset, with a reference, or NULL.
 * With a frame budget the page may be evicted at any time, so it is found
 * with a reference, and a first pass's find is a reference the policy
 * sees (a retry's was seen by the pass that read).
 */
static struct page *vmfault_file_resident(struct vmfault_region *region, struct vm_fault *vmf)
{
	struct page *page;

	if (likely(!region->budget)) {
		page = vmfault_region_uptodate_page(region, vmf->pgoff);
		if (page)
			get_page(page);
		return page;
	}
	page = vmfault_region_find_get(region, vmf->pgoff);
	if (page && !PageUptodate(page)) {
		put_page(page);
		return NULL;
	}
	if (page && !(vmf->flags & FAULT_FLAG_TRIED))
		vmfault_frame_reference(region, vmf->pgoff, page, false);
	return page;
}

/* A fault on a resident page: a use of it the working-set sampler counts. */
static void vmfault_file_touch(struct vmfault_region *region, struct vm_fault *vmf, bool write)
{
	/* Pairs with vmfault_wset_sample()'s release: a sampler seen is whole. */
	if (unlikely(smp_load_acquire(&region->wset)))
		vmfault_wset_touch(region, vmf->pgoff, write);
}

/**
 * vmfault_file_fault() - ->fault of a file-mode mapping
 * @vmf: the fault; the pte at vmf->address is empty
 *
 * Context: mmap_lock (or 6.12's per-VMA lock) held for read, no page
 * table lock. Returns with it held, unless it returns VM_FAULT_RETRY
 * after dropping it to read (FAULT_FLAG_ALLOW_RETRY on the first attempt:
 * vmfault_file_fault_unlocked()). Might sleep: for the read, killably,
 * when the lock can be dropped; when it cannot, for a read through the
 * page cache under it, as filemap_fault() does.
 *
 * Maps: returns the region page in vmf->page with a reference for core
 * mm: finish_fault() maps it, or do_cow_fault() copies it. In a region
 * with a frame budget the page is returned locked (VM_FAULT_LOCKED), its
 * slot checked under the lock, so that eviction cannot free it before it
 * is mapped (evict.c); core mm unlocks it.
 *
 * Return: 0 or VM_FAULT_MAJOR with vmf->page set; VM_FAULT_RETRY (the
 * lock dropped, or with FAULT_FLAG_RETRY_NOWAIT kept); VM_FAULT_SIGBUS
 * past the region or the data, when the read failed or at the module's
 * page limit; VM_FAULT_HWPOISON; VM_FAULT_OOM.
 */
static vm_fault_t vmfault_file_fault(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	pgoff_t end = vmfault_file_end(region);
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome;
	bool major = false, locked = false;
	struct page *page;
	vm_fault_t ret = 0;

	if (vmf->pgoff >= end) {
		ret = vmfault_fault_sigbus(vmf, region, end);
		outcome = VMFAULT_OUT_SIGBUS;
		goto out;
	}
	vmfault_file_ra_check(vmf, region, vmf->pgoff, vmf->pgoff);
again:
	page = vmfault_file_resident(region, vmf);
	if (page) {
		vmfault_file_touch(region, vmf, write);
		goto got_page;
	}
	if ((vmf->flags & FAULT_FLAG_TRIED) && vmfault_file_take_error(region, vmf->pgoff)) {
		/* This fault's first pass read and failed: report it. */
		ret = vmfault_fault_error(vmf, region, -EIO, end);
		outcome = vmfault_fault_error_outcome(ret);
		goto out;
	}
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		/* The caller asked not to wait: it comes back without NOWAIT. */
		vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
		return VM_FAULT_RETRY;
	}
	if (fault_flag_allow_retry_first(vmf->flags)) {
		/* Data the backing page cache holds is copied under the lock. */
		if (!(vmf->flags & FAULT_FLAG_USER) || !vmfault_file_cached(region, vmf->pgoff))
			return vmfault_file_fault_unlocked(vmf, region, start);
		page = vmfault_file_get_page(region, vmf->pgoff, VMFAULT_GET_CACHED, false,
					     &major);
		if (page == ERR_PTR(-EAGAIN))
			return vmfault_file_fault_unlocked(vmf, region, start);
		/* With a budget it comes locked in its slot. */
		locked = !IS_ERR(page) && region->budget;
	} else {
		page = vmfault_file_get_page(region, vmf->pgoff, VMFAULT_GET_SAFE, false,
					     &major);
	}
	if (IS_ERR(page)) {
		ret = vmfault_fault_error(vmf, region, PTR_ERR(page), end);
		outcome = vmfault_fault_error_outcome(ret);
		goto count_major;
	}
	if (region->budget)
		vmfault_frame_reference(region, vmf->pgoff, page, major);
got_page:
	if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
		if (locked)
			unlock_page(page);
		put_page(page);
		vmfault_fault_sigbus(vmf, region, end);
		ret = VM_FAULT_HWPOISON;
		outcome = VMFAULT_OUT_SIGBUS;
		goto count_major;
	}
	if (region->budget) {
		if (!locked && !vmfault_page_lock_in_slot(region, vmf->pgoff, page)) {
			put_page(page);
			goto again;
		}
		ret |= VM_FAULT_LOCKED;
	}
	vmf->page = page;
	outcome = major || (vmf->flags & FAULT_FLAG_TRIED) ? VMFAULT_OUT_READ : VMFAULT_OUT_PAGE;
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
 * vmfault_file_map_pages() - ->map_pages: map resident pages around a fault
 * @vmf: the read fault; the pte at vmf->address is empty
 * @start_pgoff: first page offset of the fault-around window
 * @end_pgoff: last page offset of the window, inside the vma
 *
 * Context and return: as vmfault_region_map_resident(), which maps the
 * up-to-date region pages of the window, up to the data's end.
 */
static vm_fault_t vmfault_file_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
					 pgoff_t end_pgoff)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	pgoff_t end = vmfault_file_end(region);

	if (start_pgoff >= end)
		return 0;
	vmfault_file_ra_check(vmf, region, start_pgoff, end_pgoff);
	return vmfault_region_map_resident(vmf, start_pgoff, min(end_pgoff, end - 1));
}

/**
 * vmfault_file_page_mkwrite() - a MAP_SHARED write to a region page
 * @vmf: the fault; vmf->page is the region page, up to date
 *
 * Context: mmap_lock (or the per-VMA lock) held for read, page unlocked;
 * returns with the page locked unless it returns an error. Does not wait
 * for a writeback of the page: the write may land in the page while it is
 * written, which leaves it dirty for the next writeback (waiting could
 * deadlock: that writeback may need the inode lock this task holds).
 *
 * Return: VM_FAULT_LOCKED after marking the page dirty: core mm makes the
 * pte writable; VM_FAULT_SIGBUS if the data shrank below the page;
 * VM_FAULT_HWPOISON.
 */
static vm_fault_t vmfault_file_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	pgoff_t end = vmfault_file_end(region);
	u64 start = vmfault_fault_start();

	if (!region->budget)
		lock_page(vmf->page);
	else if (!vmfault_page_lock_in_slot(region, vmf->pgoff, vmf->page))
		return VM_FAULT_NOPAGE;	/* evicted since it was mapped: fault again */
	if (vmf->pgoff >= end) {
		unlock_page(vmf->page);
		return vmfault_fault_sigbus(vmf, region, end);
	}
	if (vmfault_page_poisoned(region, vmf->pgoff, vmf->page)) {
		unlock_page(vmf->page);
		vmfault_fault_sigbus(vmf, region, end);
		return VM_FAULT_HWPOISON;
	}
	vmfault_file_touch(region, vmf, true);
	vmfault_file_mark_dirty(region, vmf->pgoff, vmf->page);
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
	/* The module's own queue: unloading drains it (dev.c). */
	queue_work(vmfault_wq, &wb->work);
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
	.map_pages	= VMFAULT_NOFA_MAP_PAGES,
	.page_mkwrite	= vmfault_file_page_mkwrite,
	.close		= vmfault_file_vm_close,
};
