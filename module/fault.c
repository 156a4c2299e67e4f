// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault's fault plumbing, shared by both modes: the accounting and
 * tracing of every fault the module serves (each counted once, as
 * getrusage() counts faults), and ->map_pages, which maps the resident
 * pages of core mm's fault-around window in either mode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/**
 * vmfault_fault_trace() - trace a fault served by the module
 * @region: its region
 * @address: the faulting address
 * @pgoff: its page offset in the region
 * @write: a write fault
 * @shared: in a MAP_SHARED mapping
 * @cause: the fault's vmf->flags (the tracepoint's cause field)
 * @outcome: what the handler did
 * @start: vmfault_fault_start() at the handler's entry
 *
 * Called by vmfault_fault_done() and vmfault_fault_done_at()
 * (vmfault_trace.h) only while the vmfault_fault event is enabled: out of
 * line, so that the fault paths carry no argument set-up for it.
 */
void vmfault_fault_trace(struct vmfault_region *region, unsigned long address,
			 pgoff_t pgoff, bool write, bool shared, unsigned int cause,
			 enum vmfault_outcome outcome, u64 start)
{
	trace_vmfault_fault(region, address, pgoff, write, shared, cause,
			    outcome, ktime_get_ns() - start);
}

/**
 * vmfault_fault_sigbus() - count and trace a fault answered with SIGBUS
 * @vmf: the fault
 * @region: its region
 * @size_pages: the pages the region has data for (its size, or the file's end)
 *
 * Return: VM_FAULT_SIGBUS.
 */
vm_fault_t vmfault_fault_sigbus(struct vm_fault *vmf, struct vmfault_region *region,
				unsigned long size_pages)
{
	vmfault_count(region, VMFAULT_CNT_SIGBUS);
	trace_vmfault_sigbus(vmf, region, size_pages);
	return VM_FAULT_SIGBUS;
}

/**
 * vmfault_fault_error() - count a fault whose page could not be had
 * @vmf: the fault
 * @region: its region
 * @err: -ENOMEM (no memory, or the memory cgroup's charge failed), or any
 *	other errno: -ENOSPC (the module's page limit, as a full tmpfs), -EIO
 * @size_pages: as vmfault_fault_sigbus()
 *
 * The fault's outcome, for vmfault_fault_done(), is
 * vmfault_fault_error_outcome() of what it returns: returned rather than
 * stored through a pointer, so that no fault handler has a local whose
 * address is taken (which costs each of them a stack canary).
 *
 * Return: VM_FAULT_OOM for -ENOMEM (counted as oom), else VM_FAULT_SIGBUS.
 */
vm_fault_t vmfault_fault_error(struct vm_fault *vmf, struct vmfault_region *region, long err,
			       unsigned long size_pages)
{
	if (err == -ENOMEM) {
		vmfault_count(region, VMFAULT_CNT_OOM);
		return VM_FAULT_OOM;
	}
	return vmfault_fault_sigbus(vmf, region, size_pages);
}

/**
 * vmfault_mkwrite_done() - count a ->page_mkwrite that was a fault of its own
 * @vmf: the fault passed to ->page_mkwrite
 * @region: its region
 * @start: vmfault_fault_start() at the handler's entry
 *
 * After ->fault in the same fault (an empty pte) it was counted there.
 */
void vmfault_mkwrite_done(struct vm_fault *vmf, struct vmfault_region *region, u64 start)
{
	if (!vmfault_mkwrite_is_own_fault(vmf))
		return;
	vmfault_count(region, VMFAULT_CNT_MKWRITES);
	vmfault_fault_done(vmf, region, true, VMFAULT_OUT_MKWRITE, start);
}

/* Region pages looked up under RCU, then mapped outside it. */
#define VMFAULT_AROUND_BATCH	16

/*
 * Map @n region pages at consecutive addresses from @addr: as
 * vm_insert_page() each, with one walk to the pmd and one page table lock
 * per 8 (vm_insert_pages()). A pte mapped already (-EBUSY) is skipped.
 * Sets *@hit if @pages[@fault] was mapped (@fault may be past the run).
 * Returns the pages mapped.
 */
static unsigned long vmfault_map_run(struct vm_area_struct *vma, unsigned long addr,
				     struct page **pages, unsigned long n, unsigned long fault,
				     bool *hit)
{
	unsigned long done = 0, mapped = 0;

	while (done < n) {
		unsigned long left = n - done, ins;
		int err = vm_insert_pages(vma, addr + (done << PAGE_SHIFT), pages + done, &left);

		ins = n - done - left;
		if (fault >= done && fault < done + ins)
			*hit = true;
		mapped += ins;
		done += ins;
		if (!err)
			break;
		done++;		/* the page it stopped at: mapped already */
	}
	return mapped;
}

/**
 * vmfault_region_map_resident() - ->map_pages of both modes
 * @vmf: the read fault; the pte at vmf->address is empty
 * @first: first page offset of the fault-around window
 * @last: last page offset, inside the vma and the region's data
 *
 * Context: mmap_lock (or 6.12's per-VMA lock) held for read, and on 6.12
 * rcu_read_lock() as well: nothing here may sleep. The pages are looked up
 * in batches, in one xarray walk under RCU, and mapped after it, each run
 * of consecutive pages with one vm_insert_pages() (which takes the page
 * table lock itself). A window whose page table does not exist yet gets
 * the one core mm allocated for it (vmfault_fault_pmd_install()).
 *
 * Maps: every up-to-date region page of the window whose pte is empty,
 * read-only (vm_page_prot; MAP_SHARED writes still go through
 * ->page_mkwrite), except hardware-poisoned ones (->fault refuses those).
 * Reads and allocates nothing. The pages mapped besides the faulting one
 * count as fault_around_pages. A page that is not up to date (a file page
 * being read) may be replaced and freed meanwhile: it is mapped only if
 * the slot still holds it after the flag test.
 *
 * Return: VM_FAULT_NOPAGE if the faulting address is now mapped (a fault
 * with outcome VMFAULT_OUT_AROUND), else 0 and core mm calls ->fault.
 */
vm_fault_t vmfault_region_map_resident(struct vm_fault *vmf, pgoff_t first, pgoff_t last)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	struct vm_area_struct *vma = vmf->vma;
	bool file = region->mode == VMFAULT_MODE_FILE, hit = false;
	struct page *pages[VMFAULT_AROUND_BATCH];
	pgoff_t idx[VMFAULT_AROUND_BATCH];
	XA_STATE(xas, &region->pages, first);
	u64 start = vmfault_fault_start();
	unsigned long mapped = 0;
	unsigned int n, i, j;
	struct page *page;

	/* A region with no page at all (zero mode's first reads) has none to map. */
	if (!vmfault_fault_pmd_install(vmf) || xa_empty(&region->pages))
		return 0;
	do {
		n = 0;
		rcu_read_lock();
		xas_for_each(&xas, page, last) {
			if (xas_retry(&xas, page))
				continue;
			if (!PageUptodate(page) || PageHWPoison(page))
				continue;
			/* A sampled page's next use is the sampler's fault (wset.c). */
			if (unlikely(region->wset) && xas_get_mark(&xas, VMFAULT_PAGE_SAMPLED))
				continue;
			if (file && xas_reload(&xas) != page)
				continue;
			pages[n] = page;
			idx[n] = xas.xa_index;
			if (++n == VMFAULT_AROUND_BATCH) {
				xas_pause(&xas);
				break;
			}
		}
		rcu_read_unlock();
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && idx[j] == idx[j - 1] + 1; j++)
				;
			mapped += vmfault_map_run(vma, vma->vm_start +
						  ((idx[i] - vma->vm_pgoff) << PAGE_SHIFT),
						  pages + i, j - i, vmf->pgoff - idx[i], &hit);
		}
	} while (n == VMFAULT_AROUND_BATCH);
	if (mapped > hit)
		vmfault_count_add(region, VMFAULT_CNT_FAULT_AROUND, mapped - hit);
	if (!hit)
		return 0;
	vmfault_fault_done(vmf, region, false, VMFAULT_OUT_AROUND, start);
	return VM_FAULT_NOPAGE;
}

#ifdef VMFAULT_HAVE_VMA_LOCK
/**
 * vmfault_map_nothing() - ->map_pages that maps nothing (compat.h's
 *	VMFAULT_NOFA_MAP_PAGES)
 * @vmf: the read fault
 * @start_pgoff: first page offset of core mm's fault-around window
 * @end_pgoff: last page offset of the window
 *
 * Its presence lets core mm call ->fault under the per-VMA lock; mapping
 * nothing, it leaves every page to ->fault, as a mapping without
 * fault-around must (a budget's references are its faults).
 *
 * Return: 0: nothing mapped.
 */
vm_fault_t vmfault_map_nothing(struct vm_fault *vmf, pgoff_t start_pgoff, pgoff_t end_pgoff)
{
	return 0;
}
#endif
