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
 *   do_anonymous_page() and DAX holes do): nothing is allocated. Only in
 *   mappings that are private or can never be written, as core mm allows
 *   since 6.10 (vmfault_zero_page_allowed()); in a writable MAP_SHARED
 *   mapping a read allocates the region page. A shared write allocates
 *   the region page. A private write hands core mm the
 *   source page (the region's page, or for a hole a zeroed page of the
 *   CPU's own, not the global zero page, whose lock every CPU would share)
 *   and do_cow_fault() copies it into a new anonymous page of its own.
 *
 * - ->pfn_mkwrite, when a MAP_SHARED mapping writes to a zero-page pte:
 *   never, since such a mapping never maps the zero page. Were one there,
 *   core mm without the hook would make the zero page writable; the hook
 *   replaces it as fs/dax.c replaces its holes: it allocates the region
 *   page, zaps the zero page from every mapping of the region and returns
 *   VM_FAULT_NOPAGE, so that the access faults again on the new page.
 *
 * - ->page_mkwrite, when a MAP_SHARED mapping writes to a region page that
 *   is mapped read-only. Because the vm_ops have mkwrite hooks, core mm
 *   maps shared pages read-only until written (vma_wants_writenotify()),
 *   which is also what keeps the zero page read-only in shared mappings.
 *
 * - ->map_pages, with VMFAULT_FLAG_FAULT_AROUND, before ->fault for a
 *   read of an empty pte: it maps the resident region pages of core mm's
 *   fault-around window. Without the flag, on kernels with the per-VMA
 *   lock, one that maps nothing (compat.h's VMFAULT_NOFA_MAP_PAGES): its
 *   presence is what lets core mm call ->fault under that lock. With the
 *   flag, ->fault then maps the zero page at the faulting hole and at every
 *   other hole of its aligned 64 KiB window, in one pass under the page
 *   table lock on core mm's pmd (the pte do_anonymous_page() makes), so
 *   that a sequential read of a hole takes one fault per 16 pages. The
 *   holes are ->fault's and not ->map_pages's because a page that appears
 *   meanwhile needs the zero page unmapped, which sleeps (->map_pages may
 *   not; where the window has no page table yet it installs the one core
 *   mm allocated for it, which allocates nothing).
 *
 * A MAP_PRIVATE write to a page that is already mapped read-only (the zero
 * page, or a region page) never reaches the module: do_wp_page() ->
 * wp_page_copy() copies it. getrusage() counts that fault, the module
 * cannot; /proc/self/pagemap shows its result.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pagemap.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/*
 * The zero-page protocol. A read of a hole may map the zero page while
 * another task allocates the region page for that offset: afterwards no
 * mapping may still show the zero page, or a write through one mapping
 * would not show in another. The reader sets region->zero_mapped
 * (vmfault_region_zero_mapped()), installs its zero-page pte, then, after
 * a full barrier, looks again for a page (below); the allocator publishes
 * its page, then, after a full barrier, reads the flag and zaps the
 * zero-page ptes (vmfault_region_alloc_page()). The flag and the pte (and
 * a page table the reader installed for it) are stored before the
 * reader's barrier, the page before the allocator's: so either the
 * reader's second look finds the page, or the allocator finds the flag
 * and then the pte, and zaps it. One barrier on each side.
 *
 * The reader's second look. After its pte and a full barrier, the reader
 * looks for a page that appeared since its first lookup; if there is one,
 * it zaps its own pte. That look need not walk the xarray: every page put
 * in an empty slot counts region->published after it is there
 * (vmfault_region_publish(): the xarray store, a barrier, the increment),
 * and the reader read that count (with acquire) before its first lookup.
 * If the count is unchanged after the pte, no page appeared between the
 * two points; a page published before the first read of the count was
 * found by the first lookup (the acquire); one whose count the second
 * read misses was published after that read, and its publisher's barrier
 * then makes it see the reader's flag and pte, and zap it. Only when the
 * count moved does the reader walk the xarray again (any page of the
 * region moves it: a write elsewhere costs a lookup, never a stale pte).
 */

/**
 * vmfault_region_zero_mapped() - note that a zero-page pte is about to exist
 * @region: the region
 *
 * Regions that never mapped the zero page skip the unmap on allocation,
 * which keeps first-write faults as cheap as they can be. No barrier here:
 * the caller's, after its pte and before its second look, orders this
 * store too (see "The zero-page protocol").
 */
void vmfault_region_zero_mapped(struct vmfault_region *region)
{
	if (!READ_ONCE(region->zero_mapped))
		WRITE_ONCE(region->zero_mapped, true);
}

/**
 * vmfault_region_unmap_zero() - remove zero-page ptes of one page offset
 * @region: the region
 * @index: page offset in the region
 *
 * Zaps the pte at @index in every mapping of the region, shared or private.
 * Private copies (anonymous pages) are kept; zero-page and region-page
 * ptes go, and the next access faults in the region's current page. This
 * is how a page that one process read as zero shows another's write.
 */
void vmfault_region_unmap_zero(struct vmfault_region *region, pgoff_t index)
{
	unmap_mapping_range(region->inode->i_mapping, (loff_t)index << PAGE_SHIFT,
			    PAGE_SIZE, 0);
}

/**
 * vmfault_region_alloc_page() - allocate a zero-mode page the lookup did not find
 * @region: a zero-mode region
 * @index: page offset, below the region's size, where xa_load() found no page
 * @address: the faulting address, for the trace; 0 for write()
 *
 * Concurrent callers for the same @index get the same page: the first to
 * install it in the xarray wins, the others free theirs. A new page is
 * then unmapped as zero page from every mapping (see
 * vmfault_region_zero_mapped()). Zero-mode pages are up to date from the
 * start and stay until the region is freed.
 *
 * Return: the page, without a reference of the caller's (the region holds
 * one until it is destroyed); ERR_PTR(-ENOMEM) or ERR_PTR(-ENOSPC)
 * (vmfault_page_alloc()).
 */
struct page *vmfault_region_alloc_page(struct vmfault_region *region, pgoff_t index,
				       unsigned long address)
{
	struct page *page, *old;

	page = vmfault_page_alloc(region, true);
	if (IS_ERR(page))
		return page;
	SetPageUptodate(page);
	old = vmfault_region_publish(region, index, page, address);
	if (old) {
		vmfault_page_drop(page);
		return old;
	}

	/*
	 * Pairs with a reader's barrier before its second look: either that
	 * reader sees our page and zaps its own zero-page pte, or we see its
	 * flag and pte and zap here.
	 */
	smp_mb();
	if (READ_ONCE(region->zero_mapped))
		vmfault_region_unmap_zero(region, index);
	return page;
}

/*
 * The page at @index, or NULL: xa_load(), but an offset whose bit in the
 * region's resident map is clear (struct vmfault_resident) has no page and
 * needs no walk. A region that never had a page has no map: every region
 * written only through private mappings, whose writes go to anonymous
 * copies. The walk costs 106 instructions at 4096 pages and 165 at 64 GiB
 * (x86 6.1, under icount); xa_load() on an empty tree is still three calls
 * and an RCU read section, 76 instructions on riscv64 6.12. The bit is set
 * before the page is stored and the store before region->published moves
 * (vmfault_region_publish()), so a page published before the caller read
 * that count is found; one published concurrently is missed as xa_load()
 * would miss it a moment earlier, and the read path's second look
 * (vmfault_zero_published_since()) covers both.
 */
static __always_inline struct page *vmfault_region_lookup(struct vmfault_region *region,
							  pgoff_t index)
{
	struct vmfault_resident *r = READ_ONCE(region->resident);
	unsigned long *chunk;

	if (!r)
		return NULL;
	if (likely(index < r->pages)) {
		chunk = READ_ONCE(r->chunk[index >> VMFAULT_RESIDENT_SHIFT]);
		if (!chunk || !test_bit(index & (VMFAULT_RESIDENT_BITS - 1), chunk))
			return NULL;
	}
	return xa_load(&region->pages, index);
}

/**
 * vmfault_region_get_page() - look up, and optionally allocate, a zero-mode page
 * @region: a zero-mode region
 * @index: page offset, below the region's size
 * @alloc: allocate a zeroed page if there is none (vmfault_region_alloc_page())
 * @address: the faulting address, for the trace; 0 for write()
 *
 * Return: the page, without a reference of the caller's; NULL if absent
 * and !@alloc; ERR_PTR(-ENOMEM) or ERR_PTR(-ENOSPC).
 */
struct page *vmfault_region_get_page(struct vmfault_region *region, pgoff_t index,
				     bool alloc, unsigned long address)
{
	struct page *page = vmfault_region_lookup(region, index);

	if (page || !alloc)
		return page;
	return vmfault_region_alloc_page(region, index, address);
}

/*
 * The source page of a private write to a hole. do_cow_fault() locks the
 * page ->fault returns (__do_fault()), copies it into its own new page and
 * unlocks it. Were that the kernel's one zero page, every private first
 * write to a hole on every CPU would take the same page lock (and bounce
 * its struct page's cache line), and writers on two CPUs would wait for
 * each other. Each CPU has a zeroed page of its own instead, never mapped
 * and never written: a writer may be preempted or migrate between taking
 * its CPU's page and the copy, so two writers can still meet on one, but
 * only then.
 */
static DEFINE_PER_CPU(struct page *, vmfault_cow_zero);

/**
 * vmfault_cow_zero_init() - allocate each possible CPU's zeroed source page
 *
 * Return: 0, or -ENOMEM (with none left allocated).
 */
int vmfault_cow_zero_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct page *page = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);

		if (!page) {
			vmfault_cow_zero_exit();
			return -ENOMEM;
		}
		per_cpu(vmfault_cow_zero, cpu) = page;
	}
	return 0;
}

/**
 * vmfault_cow_zero_exit() - free the CPUs' zeroed source pages
 */
void vmfault_cow_zero_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(vmfault_cow_zero, cpu))
			__free_page(per_cpu(vmfault_cow_zero, cpu));
		per_cpu(vmfault_cow_zero, cpu) = NULL;
	}
}

/**
 * vmfault_cow_zero_page() - this CPU's zeroed page, for do_cow_fault() to copy
 *
 * Context: any; the caller takes its own reference for vmf->page.
 * Return: a page of zeros that nothing maps or writes.
 */
struct page *vmfault_cow_zero_page(void)
{
	/* Any CPU's page is correct: this one's is only likely uncontended. */
	return raw_cpu_read(vmfault_cow_zero);
}

/**
 * vmfault_zero_page_allowed() - may a read of a hole map the shared zero page?
 * @vma: the mapping being faulted
 *
 * Not in a mapping that is shared and may be written (VM_WRITE or
 * VM_MAYWRITE), the rule of 6.10's vm_mixed_zeropage_allowed() ("mm/memory:
 * cleanly support zeropage in vm_insert_page*(), vm_map_pages*() and
 * vmf_insert_mixed()"): GUP may pin the zero page there, and a later write
 * would replace it under the pin, which then never sees the data. vmfault
 * keeps the rule on 6.1 too, where core mm would allow the zero page:
 * under icount a MAP_SHARED read-then-write costs 8591 instructions per
 * page and 2 faults this way, against 12947 and 3 with the zero page and
 * its replacement; a read that is never followed by a write costs 6922
 * against 2144, and a page (Documentation/vmfault.rst, "The zero page").
 *
 * Return: true when the zero page may be mapped in @vma.
 */
bool vmfault_zero_page_allowed(const struct vm_area_struct *vma)
{
	return is_cow_mapping(vma->vm_flags) || !(vma->vm_flags & (VM_WRITE | VM_MAYWRITE));
}

/*
 * Map the zero page at @addr: the pte do_anonymous_page() makes for a
 * read, special and read-only. Under the page table lock; @ptep is empty.
 */
static __always_inline void vmfault_zero_pte_install(struct vm_area_struct *vma, unsigned long addr,
						     pte_t *ptep)
{
	/* my_zero_pfn(): the exported zero_pfn, as do_anonymous_page() reads it. */
	vmfault_set_zero_pte(vma, addr, ptep,
			     pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot)));
	update_mmu_cache(vma, addr, ptep);
}

/*
 * The reader's second look, after its pte and a full barrier: may a page
 * have been published since @seq was read? (See "The reader's second look".)
 */
static inline bool vmfault_zero_published_since(struct vmfault_region *region, long seq)
{
	return atomic_long_read(&region->published) != seq;
}

/* The holes of one window of a read fault, for vmfault_zero_map_holes(). */
struct vmfault_holes {
	struct vm_area_struct *vma;
	unsigned long start;	/* first address of the window */
	unsigned long present;	/* bit i: page i of the window is a region page */
	unsigned long mapped;	/* bit i: the zero page was mapped at page i */
};

/*
 * One pte of a read fault's window, under the page table lock: called for
 * each pte of the window on core mm's pmd, or as apply_to_page_range()'s
 * callback.
 */
static int vmfault_zero_hole_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct vmfault_holes *h = data;
	unsigned long i = (addr - h->start) >> PAGE_SHIFT;

	/* Mapped already (a region page, a private copy), or a page to map. */
	if (!pte_none(ptep_get(pte)) || (h->present & BIT(i)))
		return 0;
	vmfault_zero_pte_install(h->vma, addr, pte);
	h->mapped |= BIT(i);
	return 0;
}

/**
 * vmfault_zero_map_holes() - map the zero page at the holes around a fault
 * @vmf: a read fault of a hole
 * @region: its region
 * @size_pages: the region's size in pages
 * @nr: the window, 1 or VMFAULT_AROUND_PAGES
 * @seq: region->published as read (with acquire) before the caller's
 *	lookup of the faulting page, or VMFAULT_NO_SEQ
 * @count_fault: count the fault too, as a read (zero mode's; the callers
 *	that count their fault with vmfault_fault_done() pass false)
 *
 * Map the zero page, read-only, at the holes of the aligned window of
 * @nr pages (1 or VMFAULT_AROUND_PAGES) around vmf->address, inside the
 * vma and the region, under one page table lock. Runs in ->fault, and
 * the caller has just found the faulting page absent from the region.
 * Where vmf->pmd has no page table yet, the one __do_fault() preallocated
 * goes in first (vmfault_fault_pmd_install()). The ptes are then reached
 * through core mm's vmf->pmd (vmfault_fault_pte_lock()); only where that
 * fails (no preallocated table to install, or the pmd changed meanwhile)
 * does apply_to_page_range() walk from the pgd, and allocate. The ptes
 * are the ones do_anonymous_page() makes, set directly rather than
 * through vmf_insert_mixed(), which would look up the zero page's memory
 * type (x86 PAT) on every call.
 *
 * Counts the zero pages it maps, and with @count_fault the fault: the
 * fault with its own zero page is one count (VMFAULT_SLOT_HOLE_READS),
 * the zero pages around it another (VMFAULT_SLOT_AROUND_ZERO).
 *
 * Return: VM_FAULT_NOPAGE (the faulting pte is in place, or another
 * thread's is, or a region page appeared and the access faults again), or
 * VM_FAULT_OOM.
 */
vm_fault_t vmfault_zero_map_holes(struct vm_fault *vmf, struct vmfault_region *region,
				  unsigned long size_pages, unsigned long nr, long seq,
				  bool count_fault)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long base = ALIGN_DOWN(vmf->address, nr << PAGE_SHIFT);
	unsigned long end = min(base + (nr << PAGE_SHIFT), vma->vm_end);
	struct vmfault_holes h = { .vma = vma, .start = max(base, vma->vm_start) };
	pgoff_t first = vmf->pgoff - ((vmf->address - h.start) >> PAGE_SHIFT), index;
	unsigned long i = (vmf->address - h.start) >> PAGE_SHIFT, n, a;
	struct page *page;
	spinlock_t *ptl;	/* the page table lock of ptep */
	pte_t *ptep;

	end = min(end, h.start + ((size_pages - first) << PAGE_SHIFT));
	vmfault_region_zero_mapped(region);
	/*
	 * One page: the caller has just found it absent; the re-check below
	 * covers the rest. An empty region has nothing to find in the window
	 * either (vmfault_region_lookup()).
	 */
	if (nr > 1 && !xa_empty(&region->pages))
		xa_for_each_range(&region->pages, index, page, first,
				  first + ((end - h.start) >> PAGE_SHIFT) - 1)
			h.present |= BIT(index - first);
	/*
	 * The window is aligned and inside one page table: core mm's, or
	 * where vmf->pmd has none yet, the one __do_fault() preallocated.
	 */
	vmfault_fault_pmd_install(vmf);
	ptep = vmfault_fault_pte_lock(vmf, h.start, &ptl);
	if (ptep) {
		for (a = h.start; a < end; a += PAGE_SIZE)
			vmfault_zero_hole_pte(ptep + ((a - h.start) >> PAGE_SHIFT), a, &h);
		pte_unmap_unlock(ptep, ptl);
	} else if (apply_to_page_range(vma->vm_mm, h.start, end - h.start,
				       vmfault_zero_hole_pte, &h)) {
		if (count_fault)
			vmfault_count(region, VMFAULT_CNT_READ_FAULTS);
		return VM_FAULT_OOM;
	}
	/*
	 * The fault with its zero page (or, without one, as a read), and the
	 * zero pages around it (none without fault-around, no bit count):
	 * both with one look at this CPU's share.
	 */
	n = nr > 1 ? hweight_long(h.mapped & ~BIT(i)) : 0;
	if (count_fault)
		vmfault_count_add2(region, h.mapped & BIT(i) ? VMFAULT_SLOT_HOLE_READS :
							       VMFAULT_CNT_READ_FAULTS, 1,
				   VMFAULT_SLOT_AROUND_ZERO, n);
	else if (h.mapped & BIT(i))
		vmfault_count_add2(region, VMFAULT_CNT_ZERO_PAGE_MAPS, 1,
				   VMFAULT_SLOT_AROUND_ZERO, n);
	else if (n)
		vmfault_count_add(region, VMFAULT_SLOT_AROUND_ZERO, n);

	/*
	 * A writer may have installed a page between our lookup and the pte.
	 * Either it sees our pte when it zaps, or we see its page here (it
	 * stores the page, then barriers, then zaps; we store the pte, then
	 * barrier, then look).
	 */
	smp_mb();
	if (!h.mapped || !vmfault_zero_published_since(region, seq)) {
		/* Nothing mapped, or no page appeared since the lookup. */
	} else if (nr == 1) {
		if (xa_load(&region->pages, first))
			vmfault_region_unmap_zero(region, first);
	} else {
		xa_for_each_range(&region->pages, index, page, first,
				  first + ((end - h.start) >> PAGE_SHIFT) - 1)
			if (h.mapped & BIT(index - first))
				vmfault_region_unmap_zero(region, index);
	}
	if (trace_vmfault_zero_page_map_enabled()) {
		for_each_set_bit(i, &h.mapped, nr) {
			unsigned long addr = h.start + (i << PAGE_SHIFT);

			trace_vmfault_zero_page_map(region, addr, first + i, ZERO_PAGE(addr));
		}
	}
	return VM_FAULT_NOPAGE;
}

/*
 * vmfault_zero_map_holes() for the one page of a read fault without
 * fault-around, the common case, where core mm's pmd has a page table: the
 * same steps without the window's arithmetic and bitmaps. Counts the
 * fault: as one event with its zero page (VMFAULT_SLOT_HOLE_READS), or
 * where it maps none as a read.
 */
static vm_fault_t vmfault_zero_map_one(struct vm_fault *vmf, struct vmfault_region *region,
				       unsigned long size_pages, long seq)
{
	unsigned long addr = vmf->address & PAGE_MASK;
	spinlock_t *ptl;	/* the page table lock of ptep */
	pte_t *ptep;

	vmfault_region_zero_mapped(region);
	ptep = vmfault_fault_pte_lock(vmf, addr, &ptl);
	if (!ptep)
		return vmfault_zero_map_holes(vmf, region, size_pages, 1, seq, true);
	if (!pte_none(ptep_get(ptep))) {
		/* Another thread's fault was first. */
		pte_unmap_unlock(ptep, ptl);
		vmfault_count(region, VMFAULT_CNT_READ_FAULTS);
		return VM_FAULT_NOPAGE;
	}
	vmfault_zero_pte_install(vmf->vma, addr, ptep);
	pte_unmap_unlock(ptep, ptl);
	/* The second look, as vmfault_zero_map_holes(). */
	smp_mb();
	if (vmfault_zero_published_since(region, seq) && xa_load(&region->pages, vmf->pgoff))
		vmfault_region_unmap_zero(region, vmf->pgoff);
	if (trace_vmfault_zero_page_map_enabled())
		trace_vmfault_zero_page_map(region, addr, vmf->pgoff, ZERO_PAGE(addr));
	/* The fault and its zero page: one count. */
	vmfault_count(region, VMFAULT_SLOT_HOLE_READS);
	return VM_FAULT_NOPAGE;
}

/*
 * A fault in a grows-down region (VMFAULT_FLAG_GROWSDOWN): on the stack, or
 * on the page just below it, which joins it; anywhere lower is SIGSEGV.
 * The stack's lowest page only goes down, by one page per fault, never
 * into the guard gap; racing faults on the same page agree through the
 * cmpxchg.
 *
 * Return: true to serve the fault, false for SIGSEGV.
 */
static bool vmfault_stack_fault(struct vmfault_region *region, pgoff_t pgoff)
{
	long low = atomic_long_read(&region->stack_low);

	while ((long)pgoff < low) {
		if ((long)pgoff != low - 1 || pgoff < region->guard_pages) {
			vmfault_count(region, VMFAULT_CNT_STACK_SEGV);
			return false;
		}
		if (atomic_long_try_cmpxchg(&region->stack_low, &low, pgoff)) {
			vmfault_count(region, VMFAULT_CNT_STACK_GROWTHS);
			break;
		}
	}
	return true;
}

/**
 * __vmfault_zero_fault() - ->fault of a zero-mode mapping
 * @vmf: the fault; the pte at vmf->address is empty
 * @fault_around: the mapping faults around (VMFAULT_FLAG_FAULT_AROUND):
 *	a constant, decided once at mmap() by the choice of vm_ops
 *
 * Context: mmap_lock held for read, no page table lock; the same on return.
 * Might sleep (allocation).
 *
 * Maps: for a read of a hole, the zero page (VM_FAULT_NOPAGE). Otherwise
 * returns the region page, or for a private write to a hole this CPU's
 * zeroed page (vmfault_cow_zero_page()), in vmf->page with a reference for
 * core mm: finish_fault() maps it (shared) or do_cow_fault() copies it
 * (private, vmf->cow_page set).
 *
 * Return: 0 with vmf->page set, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS past the
 * region's size or at the module's page limit, VM_FAULT_HWPOISON for a
 * poisoned page, VM_FAULT_OOM when no page can be allocated (or charged).
 */
static __always_inline vm_fault_t __vmfault_zero_fault(struct vm_fault *vmf, bool fault_around)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	u64 start = vmfault_fault_start();
	unsigned long size_pages = READ_ONCE(region->size) >> PAGE_SHIFT;
	enum vmfault_outcome outcome;
	struct page *page;
	vm_fault_t ret = 0;
	long seq;

	if (vmf->pgoff >= size_pages) {
		outcome = VMFAULT_OUT_SIGBUS;
		ret = vmfault_fault_sigbus(vmf, region, size_pages);
		goto out;
	}
	if ((region->flags & VMFAULT_FLAG_GROWSDOWN) && !vmfault_stack_fault(region, vmf->pgoff)) {
		outcome = VMFAULT_OUT_SEGV;
		ret = VM_FAULT_SIGSEGV;
		goto out;
	}
	if (vmf->cow_page) {
		/*
		 * Private write: do_cow_fault() copies what we return. The
		 * lookup inline: a call of vmfault_region_get_page(), which
		 * GCC no longer inlines here, cost 26 instructions a write.
		 */
		page = vmfault_region_lookup(region, vmf->pgoff);
		if (!page) {
			page = vmfault_cow_zero_page();
		} else if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
			outcome = VMFAULT_OUT_SIGBUS;
			vmfault_fault_sigbus(vmf, region, size_pages);
			ret = VM_FAULT_HWPOISON;
			goto out;
		}
		/*
		 * A write fault and a copy-on-write fault: one count, with no
		 * FAULT_FLAG_TRIED test, as a read of a hole below. Counted
		 * before the reference's atomic, so that it reuses this CPU's
		 * offset from vmfault_cow_zero_page(). Both kinds of source
		 * page are order 0 (vmfault_page_alloc(),
		 * vmfault_cow_zero_init()): the reference is page_ref_inc(),
		 * get_page() without page_folio()'s test for a compound page.
		 */
		vmfault_count(region, VMFAULT_SLOT_COW_WRITES);
		page_ref_inc(page);
		vmf->page = page;
		trace_vmfault_cow(region, vmf->address, vmf->pgoff, page);
		if (trace_vmfault_fault_enabled())
			vmfault_fault_trace(region, vmf->address, vmf->pgoff, true, false,
					    vmf->flags, VMFAULT_OUT_COW, start);
		return 0;
	}

	/* Before the lookup: see "The reader's second look". */
	seq = atomic_long_read_acquire(&region->published);
	page = vmfault_region_lookup(region, vmf->pgoff);
	/* A read allocates too where the zero page is refused. */
	if (!page && (write || !vmfault_zero_page_allowed(vmf->vma)))
		page = vmfault_region_alloc_page(region, vmf->pgoff, vmf->address);
	if (!page) {
		/*
		 * A read (a write has a page or an error): the common case has
		 * its own exit, where the mapping counted the fault. No pass of
		 * a zero-mode fault asks core mm for a retry: none was counted
		 * before (FAULT_FLAG_TRIED, vmfault_fault_done()).
		 */
		if (fault_around)
			ret = vmfault_zero_map_holes(vmf, region, size_pages,
						     VMFAULT_AROUND_PAGES, seq, true);
		else
			ret = vmfault_zero_map_one(vmf, region, size_pages, seq);
		if (trace_vmfault_fault_enabled())
			vmfault_fault_trace(region, vmf->address, vmf->pgoff, false,
					    vmf->vma->vm_flags & VM_SHARED, vmf->flags,
					    VMFAULT_OUT_ZERO_PAGE, start);
		return ret;
	}
	if (IS_ERR(page)) {
		ret = vmfault_fault_error(vmf, region, PTR_ERR(page), size_pages);
		outcome = vmfault_fault_error_outcome(ret);
	} else if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
		outcome = VMFAULT_OUT_SIGBUS;
		vmfault_fault_sigbus(vmf, region, size_pages);
		ret = VM_FAULT_HWPOISON;
	} else {
		get_page(page);
		vmf->page = page;
		outcome = VMFAULT_OUT_PAGE;
	}
out:
	vmfault_fault_done(vmf, region, write, outcome, start);
	return ret;
}

/* ->fault without fault-around: __vmfault_zero_fault(). */
static vm_fault_t vmfault_zero_fault(struct vm_fault *vmf)
{
	return __vmfault_zero_fault(vmf, false);
}

/* ->fault with VMFAULT_FLAG_FAULT_AROUND: __vmfault_zero_fault(). */
static vm_fault_t vmfault_zero_fa_fault(struct vm_fault *vmf)
{
	return __vmfault_zero_fault(vmf, true);
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
 * Return: VM_FAULT_NOPAGE, VM_FAULT_OOM, or VM_FAULT_SIGBUS at the
 * module's page limit.
 */
vm_fault_t vmfault_zero_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome = VMFAULT_OUT_UPGRADE;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct page *page;

	vmfault_count(region, VMFAULT_CNT_ZERO_PAGE_UPGRADES);
	/* With a frame budget (swap.c) the page is ->fault's to allocate. */
	page = region->budget ? NULL :
	       vmfault_region_get_page(region, vmf->pgoff, true, vmf->address);
	if (IS_ERR(page)) {
		ret = vmfault_fault_error(vmf, region, PTR_ERR(page),
					  READ_ONCE(region->size) >> PAGE_SHIFT);
		outcome = vmfault_fault_error_outcome(ret);
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
 * Return: VM_FAULT_LOCKED: core mm makes the pte writable and dirty;
 * VM_FAULT_HWPOISON for a poisoned page.
 */
static vm_fault_t vmfault_zero_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	u64 start = vmfault_fault_start();

	if (vmfault_page_poisoned(region, vmf->pgoff, vmf->page)) {
		vmfault_fault_sigbus(vmf, region, READ_ONCE(region->size) >> PAGE_SHIFT);
		return VM_FAULT_HWPOISON;
	}
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
 * Context and return: as vmfault_region_map_resident(), which maps the
 * region pages of the window. Holes are left to ->fault, which maps the
 * zero page at all of them at once (vmfault_zero_map_holes()): replacing a
 * zero page needs an unmap that sleeps, which ->map_pages may not do.
 */
static vm_fault_t vmfault_zero_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
					 pgoff_t end_pgoff)
{
	return vmfault_region_map_resident(vmf, start_pgoff, end_pgoff);
}

/* No fault-around: a ->map_pages only where the per-VMA lock needs one. */
const struct vm_operations_struct vmfault_zero_vm_ops = {
	.fault		= vmfault_zero_fault,
	.map_pages	= VMFAULT_NOFA_MAP_PAGES,
	.page_mkwrite	= vmfault_zero_page_mkwrite,
	.pfn_mkwrite	= vmfault_zero_pfn_mkwrite,
};

/* VMFAULT_FLAG_FAULT_AROUND */
const struct vm_operations_struct vmfault_zero_fa_vm_ops = {
	.fault		= vmfault_zero_fa_fault,
	.map_pages	= vmfault_zero_map_pages,
	.page_mkwrite	= vmfault_zero_page_mkwrite,
	.pfn_mkwrite	= vmfault_zero_pfn_mkwrite,
};
