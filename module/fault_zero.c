// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault zero mode: zero-fill-on-demand, served by the module's own
 * vm_operations.
 */

/**
 * DOC: zero-fill-on-demand
 *
 * Core mm (handle_mm_fault() -> handle_pte_fault()) calls into a zero-mode
 * mapping in three places:
 *
 * - ->fault, when the pte is empty. do_read_fault() for reads,
 *   do_shared_fault() for writes to MAP_SHARED, do_cow_fault() for writes
 *   to MAP_PRIVATE. A read of a page the region does not have maps the
 *   kernel's shared zero page, read-only, with a special pte (as
 *   do_anonymous_page() and DAX holes do): nothing is allocated. Since
 *   6.10, core mm allows that only in mappings that are private or can
 *   never be written (vmfault_zero_page_allowed()); in a writable
 *   MAP_SHARED mapping a read then allocates the region page. A shared
 *   write allocates the region page. A private write hands core mm the
 *   source page (the region's page, or the zero page for a hole) and
 *   do_cow_fault() copies it into a new anonymous page of its own.
 *
 * - ->pfn_mkwrite, when a MAP_SHARED mapping writes to the zero page. Core
 *   mm cannot turn a special pte into a refcounted one, so the module
 *   allocates the region page, zaps the zero page from every mapping of
 *   the region and returns VM_FAULT_NOPAGE: the access faults again and
 *   ->fault maps the new page. fs/dax.c replaces its holes the same way.
 *
 * - ->page_mkwrite, when a MAP_SHARED mapping writes to a region page that
 *   is mapped read-only. Because the vm_ops have mkwrite hooks, core mm
 *   maps shared pages read-only until written (vma_wants_writenotify()),
 *   which is also what keeps the zero page read-only in shared mappings.
 *
 * - ->map_pages, only with VMFAULT_FLAG_FAULT_AROUND, before ->fault for
 *   a read of an empty pte: it maps the resident region pages of core
 *   mm's fault-around window. ->fault then maps the zero page at the
 *   faulting hole and at every other hole of its aligned 64 KiB window, in
 *   one pass under the page table lock (apply_to_page_range(), with the
 *   pte do_anonymous_page() makes), so that a sequential read of a hole
 *   takes one fault per 16 pages. The holes are ->fault's and not
 *   ->map_pages's because the page table may not exist yet (->map_pages
 *   cannot allocate it) and because a page that appears meanwhile needs
 *   the zero page unmapped, which sleeps.
 *
 * A MAP_PRIVATE write to a page that is already mapped read-only (the zero
 * page, or a region page) never reaches the module: do_wp_page() ->
 * wp_page_copy() copies it. getrusage() counts that fault, the module
 * cannot; /proc/self/pagemap shows its result.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/*
 * Map the zero page read-only at vmf->address. Runs in ->fault with
 * mmap_lock held for read; returns VM_FAULT_NOPAGE (the pte is in place,
 * or another thread's is) or VM_FAULT_OOM.
 */
static vm_fault_t vmfault_zero_map_hole(struct vm_fault *vmf,
					struct vmfault_region *region)
{
	unsigned long pfn = page_to_pfn(ZERO_PAGE(vmf->address));
	vm_fault_t ret;

	vmfault_region_zero_mapped(region);
	/*
	 * vm_page_prot is read-only here: private mappings never have write
	 * permission in it, shared ones lose it to write-notify.
	 */
	ret = vmf_insert_mixed(vmf->vma, vmf->address, pfn_to_pfn_t(pfn));
	if (ret != VM_FAULT_NOPAGE)
		return ret;
	vmfault_count(region, VMFAULT_CNT_ZERO_PAGE_MAPS);
	trace_vmfault_zero_page_map(vmfault_region_id(region), vmf->address, vmf->pgoff, pfn);

	/*
	 * A writer may have installed the page between our lookup and the
	 * pte. Either it sees our pte when it zaps, or we see its page here
	 * (it stores the page, then barriers, then zaps; we store the pte,
	 * then barrier, then look).
	 */
	smp_mb();
	if (vmfault_region_get_page(region, vmf->pgoff, false, 0))
		vmfault_region_unmap_zero(region, vmf->pgoff);
	return VM_FAULT_NOPAGE;
}

/* Fault-around data: one window of a read fault on a hole. */
struct vmfault_around {
	struct vmfault_region *region;
	struct vm_area_struct *vma;
	unsigned long start;	/* first address of the window */
	pgoff_t index;		/* its page offset */
	unsigned long mapped;	/* bit i: the zero page was mapped at page i */
};

/* apply_to_page_range() callback; runs under the page table lock. */
static int vmfault_zero_around_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct vmfault_around *fa = data;
	unsigned long i = (addr - fa->start) >> PAGE_SHIFT;
	unsigned long pfn = page_to_pfn(ZERO_PAGE(addr));

	/* Mapped already (a region page, a COW copy), or a page to map. */
	if (!pte_none(ptep_get(pte)) || xa_load(&fa->region->pages, fa->index + i))
		return 0;
	/* The pte do_anonymous_page() makes for a read: special, read-only. */
	set_pte_at(fa->vma->vm_mm, addr, pte,
		   pte_mkspecial(pfn_pte(pfn, fa->vma->vm_page_prot)));
	update_mmu_cache(fa->vma, addr, pte);
	fa->mapped |= BIT(i);
	return 0;
}

/*
 * Fault-around for a read of a hole: map the zero page at every hole of
 * the aligned VMFAULT_AROUND_PAGES window around vmf->address (inside the
 * vma and the region), the faulting page included, under one page table
 * lock. Resident region pages of the window are ->map_pages's. Returns as
 * vmfault_zero_map_hole().
 */
static vm_fault_t vmfault_zero_map_around(struct vm_fault *vmf,
					  struct vmfault_region *region,
					  unsigned long size_pages)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long base = ALIGN_DOWN(vmf->address, VMFAULT_AROUND_PAGES * PAGE_SIZE);
	unsigned long end = min(base + VMFAULT_AROUND_PAGES * PAGE_SIZE, vma->vm_end);
	struct vmfault_around fa = { .region = region, .vma = vma };
	unsigned long i, n;

	fa.start = max(base, vma->vm_start);
	fa.index = vmf->pgoff - ((vmf->address - fa.start) >> PAGE_SHIFT);
	end = min(end, fa.start + ((size_pages - fa.index) << PAGE_SHIFT));

	vmfault_region_zero_mapped(region);
	if (apply_to_page_range(vma->vm_mm, fa.start, end - fa.start,
				vmfault_zero_around_pte, &fa))
		return VM_FAULT_OOM;
	n = hweight_long(fa.mapped);
	vmfault_count_add(region, VMFAULT_CNT_ZERO_PAGE_MAPS, n);
	n -= !!(fa.mapped & BIT((vmf->address - fa.start) >> PAGE_SHIFT));
	vmfault_count_add(region, VMFAULT_CNT_FAULT_AROUND, n);

	/* As in vmfault_zero_map_hole(), for every pte we made. */
	smp_mb();
	for_each_set_bit(i, &fa.mapped, VMFAULT_AROUND_PAGES) {
		trace_vmfault_zero_page_map(vmfault_region_id(region), fa.start + i * PAGE_SIZE,
					    fa.index + i,
					    page_to_pfn(ZERO_PAGE(fa.start + i * PAGE_SIZE)));
		if (xa_load(&region->pages, fa.index + i))
			vmfault_region_unmap_zero(region, fa.index + i);
	}
	/* Not mapped by us: another thread's pte, or a page to refault on. */
	return VM_FAULT_NOPAGE;
}

/**
 * vmfault_zero_fault() - ->fault of a zero-mode mapping
 * @vmf: the fault; the pte at vmf->address is empty
 *
 * Context: mmap_lock held for read, no page table lock; the same on return.
 * Might sleep (allocation).
 *
 * Maps: for a read of a hole, the zero page (VM_FAULT_NOPAGE). Otherwise
 * returns the region page, or for a private write to a hole the zero
 * page, in vmf->page with a reference for core mm: finish_fault() maps it
 * (shared) or do_cow_fault() copies it (private, vmf->cow_page set).
 *
 * Return: 0 with vmf->page set, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS past the
 * region's size, VM_FAULT_OOM when no page can be allocated.
 */
static vm_fault_t vmfault_zero_fault(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	u64 start = vmfault_fault_start();
	unsigned long size_pages = READ_ONCE(region->size) >> PAGE_SHIFT;
	enum vmfault_outcome outcome;
	struct page *page;
	vm_fault_t ret = 0;

	if (vmf->pgoff >= size_pages) {
		outcome = VMFAULT_OUT_SIGBUS;
		ret = vmfault_fault_sigbus(vmf, region, size_pages);
	} else if (vmf->cow_page) {
		/* Private write: do_cow_fault() copies what we return. */
		page = vmfault_region_get_page(region, vmf->pgoff, false, 0);
		if (!page)
			page = ZERO_PAGE(vmf->address);
		get_page(page);
		vmf->page = page;
		vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
		trace_vmfault_cow(vmfault_region_id(region), vmf->address, vmf->pgoff,
				  page_to_pfn(page));
		outcome = VMFAULT_OUT_COW;
	} else {
		/* A read allocates too where the zero page is refused (6.10+). */
		page = vmfault_region_get_page(region, vmf->pgoff,
					       write || !vmfault_zero_page_allowed(vmf->vma),
					       vmf->address);
		if (IS_ERR(page)) {
			vmfault_count(region, VMFAULT_CNT_OOM);
			outcome = VMFAULT_OUT_OOM;
			ret = VM_FAULT_OOM;
		} else if (!page) {
			outcome = VMFAULT_OUT_ZERO_PAGE;
			if (region->flags & VMFAULT_FLAG_FAULT_AROUND)
				ret = vmfault_zero_map_around(vmf, region, size_pages);
			else
				ret = vmfault_zero_map_hole(vmf, region);
		} else {
			get_page(page);
			vmf->page = page;
			outcome = VMFAULT_OUT_PAGE;
		}
	}
	vmfault_fault_done(vmf, region, write, outcome, start);
	return ret;
}

/**
 * vmfault_zero_pfn_mkwrite() - a MAP_SHARED write hit the zero page
 * @vmf: the fault; the pte maps the zero page read-only
 *
 * Context: mmap_lock held for read, page table unlocked (wp_pfn_shared()
 * dropped it); the same on return. Might sleep.
 *
 * Allocates the region page and zaps the zero page from every mapping of
 * the region, this one included. The faulting access is retried and meets
 * an empty pte, which ->fault fills with the new page.
 *
 * Return: VM_FAULT_NOPAGE, or VM_FAULT_OOM.
 */
static vm_fault_t vmfault_zero_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome = VMFAULT_OUT_UPGRADE;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct page *page;

	vmfault_count(region, VMFAULT_CNT_ZERO_PAGE_UPGRADES);
	page = vmfault_region_get_page(region, vmf->pgoff, true, vmf->address);
	if (IS_ERR(page)) {
		vmfault_count(region, VMFAULT_CNT_OOM);
		outcome = VMFAULT_OUT_OOM;
		ret = VM_FAULT_OOM;
	} else {
		/* A new page was unmapped everywhere already; an old one may not be. */
		vmfault_region_unmap_zero(region, vmf->pgoff);
	}
	vmfault_fault_done(vmf, region, true, outcome, start);
	return ret;
}

/**
 * vmfault_zero_page_mkwrite() - a MAP_SHARED write to a region page
 * @vmf: the fault; vmf->page is the region page
 *
 * Context: mmap_lock held for read, page unlocked; returns with the page
 * locked. Called after ->fault for a write to an empty pte (the same fault,
 * counted there) and on its own for a write to a read-only pte.
 *
 * Return: VM_FAULT_LOCKED: core mm makes the pte writable and dirty.
 */
static vm_fault_t vmfault_zero_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();

	lock_page(vmf->page);
	vmfault_mkwrite_done(vmf, region, start);
	return VM_FAULT_LOCKED;
}

/**
 * vmfault_zero_map_pages() - ->map_pages: map resident pages around a fault
 * @vmf: the read fault; the pte at vmf->address is empty
 * @start_pgoff: first page offset of the fault-around window
 * @end_pgoff: last page offset of the window, inside the vma
 *
 * Context: as vmfault_file_map_pages(): nothing here may sleep, and a
 * window whose page table does not exist yet is left to ->fault.
 *
 * Maps: every region page of the window whose pte is empty, read-only.
 * Holes are left to ->fault, which maps the zero page at all of them at
 * once (vmfault_zero_map_around()): replacing a zero page needs an unmap
 * that sleeps, which ->map_pages may not do.
 *
 * Return: VM_FAULT_NOPAGE if the faulting address is now mapped, else 0.
 */
static vm_fault_t vmfault_zero_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
					 pgoff_t end_pgoff)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	struct vm_area_struct *vma = vmf->vma;
	unsigned long around = 0;
	u64 start = vmfault_fault_start();
	vm_fault_t ret = 0;
	struct page *page;
	pgoff_t index = start_pgoff;

	if (pmd_none(READ_ONCE(*vmf->pmd)))
		return 0;
	xa_for_each_range(&region->pages, index, page, start_pgoff, end_pgoff) {
		unsigned long addr = vma->vm_start + ((index - vma->vm_pgoff) << PAGE_SHIFT);

		if (vm_insert_page(vma, addr, page))
			continue;	/* -EBUSY: mapped already */
		if (index == vmf->pgoff)
			ret = VM_FAULT_NOPAGE;
		else
			around++;
	}
	vmfault_count_add(region, VMFAULT_CNT_FAULT_AROUND, around);
	if (ret)
		vmfault_fault_done(vmf, region, false, VMFAULT_OUT_AROUND, start);
	return ret;
}

const struct vm_operations_struct vmfault_zero_vm_ops = {
	.fault		= vmfault_zero_fault,
	.page_mkwrite	= vmfault_zero_page_mkwrite,
	.pfn_mkwrite	= vmfault_zero_pfn_mkwrite,
};

/* VMFAULT_FLAG_FAULT_AROUND */
const struct vm_operations_struct vmfault_zero_fa_vm_ops = {
	.fault		= vmfault_zero_fault,
	.map_pages	= vmfault_zero_map_pages,
	.page_mkwrite	= vmfault_zero_page_mkwrite,
	.pfn_mkwrite	= vmfault_zero_pfn_mkwrite,
};
