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
 * vmfault_fault_start() - the start of a fault, for its latency
 *
 * Reads the clock only while the vmfault_fault event is enabled.
 *
 * Return: nanoseconds, or 0 when not traced.
 */
u64 vmfault_fault_start(void)
{
	return trace_vmfault_fault_enabled() ? ktime_get_ns() : 0;
}

/**
 * vmfault_fault_done_at() - count a fault served by the module and trace it
 * @region: its region
 * @address: the faulting address
 * @pgoff: its page offset in the region
 * @write: a write fault
 * @shared: in a MAP_SHARED mapping
 * @cause: the fault's vmf->flags (the tracepoint's cause field)
 * @outcome: what the handler did
 * @start: vmfault_fault_start() at the handler's entry
 *
 * For a fault that has dropped mmap_lock and may no longer look at its vma.
 */
void vmfault_fault_done_at(struct vmfault_region *region, unsigned long address,
			   pgoff_t pgoff, bool write, bool shared, unsigned int cause,
			   enum vmfault_outcome outcome, u64 start)
{
	vmfault_count(region, VMFAULT_CNT_FAULTS);
	vmfault_count(region, write ? VMFAULT_CNT_WRITE_FAULTS : VMFAULT_CNT_READ_FAULTS);
	if (trace_vmfault_fault_enabled())
		trace_vmfault_fault(region, address, pgoff, write, shared, cause,
				    outcome, ktime_get_ns() - start);
}

/**
 * vmfault_fault_done() - count a fault served by the module and trace it
 * @vmf: the fault
 * @region: its region
 * @write: a write fault
 * @outcome: what the handler did
 * @start: vmfault_fault_start() at the handler's entry
 *
 * A fault that core mm retries (FAULT_FLAG_TRIED) was counted by the pass
 * that asked for the retry (file_io.c): the retry is not counted again, so
 * that the counters count faults as getrusage() does.
 */
void vmfault_fault_done(struct vm_fault *vmf, struct vmfault_region *region,
			bool write, enum vmfault_outcome outcome, u64 start)
{
	if (vmf->flags & FAULT_FLAG_TRIED)
		return;
	vmfault_fault_done_at(region, vmf->address, vmf->pgoff, write,
			      vmf->vma->vm_flags & VM_SHARED, vmf->flags, outcome, start);
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

/**
 * vmfault_region_map_resident() - ->map_pages of both modes
 * @vmf: the read fault; the pte at vmf->address is empty
 * @first: first page offset of the fault-around window
 * @last: last page offset, inside the vma and the region's data
 *
 * Context: mmap_lock (or 6.12's per-VMA lock) held for read, and on 6.12
 * rcu_read_lock() as well: nothing here may sleep. vm_insert_page() takes
 * the page table lock itself and allocates nothing while the page table
 * exists, so a window whose page table does not exist yet is left to
 * ->fault.
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
	bool file = region->mode == VMFAULT_MODE_FILE;
	u64 start = vmfault_fault_start();
	unsigned long around = 0;
	vm_fault_t ret = 0;
	struct page *page;
	pgoff_t index;

	if (pmd_none(READ_ONCE(*vmf->pmd)))
		return 0;
	xa_for_each_range(&region->pages, index, page, first, last) {
		unsigned long addr = vma->vm_start + ((index - vma->vm_pgoff) << PAGE_SHIFT);

		if (!PageUptodate(page) || PageHWPoison(page))
			continue;
		/* A sampled page's next use is the sampler's fault (wset.c). */
		if (unlikely(region->wset) &&
		    xa_get_mark(&region->pages, index, VMFAULT_PAGE_SAMPLED))
			continue;
		if (file && xa_load(&region->pages, index) != page)
			continue;
		if (vm_insert_page(vma, addr, page))
			continue;	/* -EBUSY: mapped already */
		if (index == vmf->pgoff)
			ret = VM_FAULT_NOPAGE;
		else
			around++;
	}
	if (around)
		vmfault_count_add(region, VMFAULT_CNT_FAULT_AROUND, around);
	if (ret)
		vmfault_fault_done(vmf, region, false, VMFAULT_OUT_AROUND, start);
	return ret;
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
