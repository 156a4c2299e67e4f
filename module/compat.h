/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfault compat: every difference between the kernels vmfault builds for
 * (6.1, Debian 12; 6.12, Debian 13) lives here, never in the other files.
 */
#ifndef _VMFAULT_COMPAT_H
#define _VMFAULT_COMPAT_H

#include <linux/mm.h>

/**
 * vmfault_mkwrite_is_own_fault() - is this ->page_mkwrite a fault of its own?
 * @vmf: the fault passed to ->page_mkwrite
 *
 * do_shared_fault() calls ->page_mkwrite right after ->fault, in the same
 * fault, with an empty orig_pte; do_wp_page() calls it for a write to a
 * present read-only pte. True in 6.1 and 6.12 alike: handle_pte_fault()
 * records the pte in orig_pte, and __handle_mm_fault() zeroes it otherwise.
 *
 * Return: true when the pte was present, i.e. this is a separate fault.
 */
static inline bool vmfault_mkwrite_is_own_fault(const struct vm_fault *vmf)
{
	return !pte_none(vmf->orig_pte);
}

/**
 * vmfault_vma_set_flags() - set and clear vm_flags of a vma being mmap()ed
 * @vma: the new vma, in ->mmap
 * @set: flags to set
 * @clear: flags to clear
 *
 * 6.3 made vm_flags read-only and added vm_flags_mod();
 * module/Kbuild defines VMFAULT_HAVE_VM_FLAGS_MOD when the headers have it.
 */
static inline void vmfault_vma_set_flags(struct vm_area_struct *vma, vm_flags_t set,
					 vm_flags_t clear)
{
#ifdef VMFAULT_HAVE_VM_FLAGS_MOD
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/**
 * vmfault_set_zero_pte() - set a zero-page pte under the page table lock
 * @vma: the mapping
 * @addr: the address of the pte
 * @ptep: the pte, empty
 * @pte: the special, read-only pte of the zero page
 *
 * riscv's set_pte_at() flushes the instruction cache for an executable pte
 * with flush_icache_pte(), which is not exported to modules. The zero page's
 * contents never change, so there is nothing to flush: store the pte.
 * set_pte_at() also feeds page_table_check, which core mm's later clear of
 * the pte would then find unbalanced: Debian's kernels have no
 * CONFIG_PAGE_TABLE_CHECK, and a riscv kernel that has it is refused at
 * build time rather than at the first unmap.
 */
#if defined(CONFIG_RISCV) && defined(CONFIG_PAGE_TABLE_CHECK)
#error "vmfault: riscv with CONFIG_PAGE_TABLE_CHECK: set_pte() would bypass the check"
#endif
static inline void vmfault_set_zero_pte(struct vm_area_struct *vma, unsigned long addr,
					pte_t *ptep, pte_t pte)
{
#ifdef CONFIG_RISCV
	set_pte(ptep, pte);
#else
	set_pte_at(vma->vm_mm, addr, ptep, pte);
#endif
}

/**
 * vmfault_release_fault_lock() - drop the lock a fault was called with
 * @vmf: the fault
 *
 * 6.4 added per-VMA locks: a fault then holds the vma's lock
 * (FAULT_FLAG_VMA_LOCK) instead of mmap_lock, and release_fault_lock()
 * drops whichever it holds. 6.1 has only mmap_lock. module/Kbuild defines
 * VMFAULT_HAVE_RELEASE_FAULT_LOCK when the headers have it. After this,
 * vmf->vma may be gone.
 */
static inline void vmfault_release_fault_lock(struct vm_fault *vmf)
{
#ifdef VMFAULT_HAVE_RELEASE_FAULT_LOCK
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

/**
 * vmfault_page_mapcount() - how many ptes map an order-0 page
 * @page: a region page
 *
 * 6.1's folio_mapcount() is not exported, its page_mapcount() is inline;
 * 6.12 has no page_mapcount() and an inline folio_mapcount().
 * module/Kbuild defines VMFAULT_HAVE_INLINE_FOLIO_MAPCOUNT for the latter.
 *
 * Return: the number of mappings of @page.
 */
static inline int vmfault_page_mapcount(struct page *page)
{
#ifdef VMFAULT_HAVE_INLINE_FOLIO_MAPCOUNT
	return folio_mapcount(page_folio(page));
#else
	return page_mapcount(page);
#endif
}

#endif /* _VMFAULT_COMPAT_H */
