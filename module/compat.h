/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfault compat: every difference between the kernels vmfault builds for
 * (6.1, Debian 12; 6.12, Debian 13) lives here, never in the other files.
 */
#ifndef _VMFAULT_COMPAT_H
#define _VMFAULT_COMPAT_H

#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/swapops.h>	/* is_pmd_migration_entry() */
#include <asm/pgalloc.h>	/* pmd_populate() */

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
 * vmfault_fault_pte_lock() - lock the ptes of a fault on core mm's own pmd
 * @vmf: a fault, in ->fault
 * @addr: the first address of a range of ptes inside vmf->pmd's table
 * @ptlp: where the page table lock goes
 *
 * __handle_mm_fault() has walked to vmf->pmd already; this reaches the
 * ptes from there, without a second walk from the pgd, where vmf->pmd
 * points to a page table (as finish_fault() finds it). The steps are
 * those of pte_offset_map_lock():
 *
 * - 6.1's is a macro of inline functions, usable by a module. There
 *   nothing frees the page table of a vma while a fault holds mmap_lock
 *   for read on that vma (munmap() detaches it under the write lock
 *   first, khugepaged collapses under the write lock). Nor can the pmd
 *   hold anything but a page table once it is not empty: handle_pte_fault()
 *   checked it (pmd_devmap_trans_unstable()) before ->map_pages and
 *   ->fault if it was not empty then, only pmd_install() fills an empty
 *   one, and no huge or devmap pmd ever maps a vmfault vma (no
 *   ->huge_fault; khugepaged and MADV_COLLAPSE take anonymous, shmem and
 *   regular-file mappings, never one of a character device). So the one
 *   test is for an empty pmd, which falls back.
 * - 6.12's calls __pte_offset_map_lock(), which is not exported (module/Kbuild
 *   defines VMFAULT_HAVE_INLINE_PTE_LOCK only where pte_offset_map_lock()
 *   does not use it). Its steps are inline functions, taken here as it
 *   takes them: since 6.6 a page table may be freed without mmap_lock,
 *   after an RCU grace period (khugepaged's retract_page_tables(),
 *   pte_free_defer()), so the pmd is read once inside an RCU read-side
 *   section, the table is reached from the value read, and that value is
 *   checked again under the table's lock; pte_unmap() ends the section. A
 *   vmfault vma never has a huge pmd (no ->huge_fault), and khugepaged
 *   collapses anonymous, shmem and regular-file mappings, never one of a
 *   character device; the checks cost a few loads and keep the steps
 *   exactly core mm's.
 *
 * Neither kernel exports pmd_install(): where this returns NULL (no page
 * table, or the pmd changed meanwhile) the caller walks, and allocates,
 * with apply_to_page_range().
 *
 * Return: the pte of @addr, mapped and locked (pte_unmap_unlock()), or NULL.
 */
static __always_inline pte_t *vmfault_fault_pte_lock(struct vm_fault *vmf, unsigned long addr,
						     spinlock_t **ptlp)
{
#ifdef VMFAULT_HAVE_INLINE_PTE_LOCK
	pmd_t pmdval = READ_ONCE(*vmf->pmd);

	if (pmd_none(pmdval))
		return NULL;
	/* From the value checked, as 6.12's __pte_offset_map_lock() does. */
	return pte_offset_map_lock(vmf->vma->vm_mm, &pmdval, addr, ptlp);
#else
	spinlock_t *ptl;	/* the page table lock of the pte */
	pmd_t pmdval;
	pte_t *pte;

	/* __pte_offset_map(): pte_unmap() ends the RCU read-side section. */
	rcu_read_lock();
	pmdval = pmdp_get_lockless(vmf->pmd);
	if (unlikely(pmd_none(pmdval) || is_pmd_migration_entry(pmdval) ||
		     pmd_trans_huge(pmdval) || pmd_devmap(pmdval) || pmd_bad(pmdval))) {
		rcu_read_unlock();
		return NULL;
	}
	pte = __pte_map(&pmdval, addr);
	/* __pte_offset_map_lock(): under its lock, the table is still the pmd's. */
	ptl = pte_lockptr(vmf->vma->vm_mm, &pmdval);
	spin_lock(ptl);
	if (likely(pmd_same(pmdval, pmdp_get_lockless(vmf->pmd)))) {
		*ptlp = ptl;
		return pte;
	}
	pte_unmap_unlock(pte, ptl);
	return NULL;
#endif
}

/**
 * vmfault_fault_pmd_install() - make sure a fault's vmf->pmd has a page table
 * @vmf: a fault in ->map_pages or ->fault
 *
 * Where the pmd is empty, core mm allocates a page table beforehand
 * (vmf->prealloc_pte), on 6.1 and 6.12 alike: do_fault_around() for
 * ->map_pages, which may not allocate, and __do_fault() for ->fault, and
 * frees it if it is not used. filemap_map_pages() and finish_fault()
 * install it with pmd_install(), which is not exported; its steps are
 * inline functions on both kernels: under the pmd lock, if the pmd is
 * still empty, count the table and populate the pmd with it; if it is
 * not, another fault installed one meanwhile and core mm frees ours.
 * A pmd that is not empty costs one load.
 *
 * Return: true if vmf->pmd now has a page table.
 */
static inline bool vmfault_fault_pmd_install(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl;	/* the pmd's page table lock */

	if (!pmd_none(READ_ONCE(*vmf->pmd)))
		return true;
	if (!vmf->prealloc_pte)
		return false;
	ptl = pmd_lock(mm, vmf->pmd);
	if (likely(pmd_none(*vmf->pmd))) {
		mm_inc_nr_ptes(mm);
		/* The table's zeroing before the pmd publishes it (__pte_alloc()). */
		smp_wmb();
		pmd_populate(mm, vmf->pmd, vmf->prealloc_pte);
		vmf->prealloc_pte = NULL;
	}
	spin_unlock(ptl);
	return true;
}

/*
 * VMFAULT_NOFA_MAP_PAGES: the ->map_pages of mappings that do not fault
 * around (zero mode without FAULT_AROUND, file mode with a frame budget or
 * NO_FAULT_AROUND, zero mode swapping, pager mode). Since 6.4 a fault may
 * run under the per-VMA lock (FAULT_FLAG_VMA_LOCK; module/Kbuild defines
 * VMFAULT_HAVE_VMA_LOCK when the headers have it), and on 6.12 core mm
 * calls ->fault under it only for a vma with ->map_pages
 * (vmf_can_call_fault()): without one it drops the VMA lock and redoes the
 * whole fault under mmap_lock. There these mappings get
 * vmfault_map_nothing() (fault.c), which maps nothing, so that ->fault
 * runs at once; on 6.1, which has no VMA lock, none, so that core mm skips
 * its fault-around setup.
 */
#ifdef VMFAULT_HAVE_VMA_LOCK
vm_fault_t vmfault_map_nothing(struct vm_fault *vmf, pgoff_t start_pgoff, pgoff_t end_pgoff);
#define VMFAULT_NOFA_MAP_PAGES	vmfault_map_nothing
#else
#define VMFAULT_NOFA_MAP_PAGES	NULL
#endif

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

/**
 * vmfault_lru_add() - put a slab object on a memcg-aware list_lru
 * @lru: the list_lru
 * @item: the list head inside an object from kmem_cache_alloc_lru()
 *
 * The object's node and memcg choose the list. 6.8 renamed 6.1's
 * list_lru_add() (which found them from the object) list_lru_add_obj();
 * module/Kbuild defines VMFAULT_HAVE_LIST_LRU_ADD_OBJ when the headers have
 * it.
 *
 * Return: true if @item was not on the list.
 */
static inline bool vmfault_lru_add(struct list_lru *lru, struct list_head *item)
{
#ifdef VMFAULT_HAVE_LIST_LRU_ADD_OBJ
	return list_lru_add_obj(lru, item);
#else
	return list_lru_add(lru, item);
#endif
}

/**
 * vmfault_lru_del() - take a slab object off its list_lru
 * @lru: the list_lru
 * @item: as for vmfault_lru_add()
 *
 * Return: true if @item was on the list.
 */
static inline bool vmfault_lru_del(struct list_lru *lru, struct list_head *item)
{
#ifdef VMFAULT_HAVE_LIST_LRU_ADD_OBJ
	return list_lru_del_obj(lru, item);
#else
	return list_lru_del(lru, item);
#endif
}

/**
 * vmfault_account_reclaimed() - tell reclaim that a shrinker freed pages
 * @pages: pages freed that are on no LRU (region pages)
 *
 * Reclaim counts the LRU pages it frees; pages that a shrinker frees are
 * added through current->reclaim_state, or reclaim would go on to scan
 * harder than it needs to. 6.5 renamed the field and added
 * mm_account_reclaimed_pages(); module/Kbuild defines
 * VMFAULT_HAVE_MM_ACCOUNT_RECLAIMED when the headers have it.
 */
static inline void vmfault_account_reclaimed(unsigned long pages)
{
#ifdef VMFAULT_HAVE_MM_ACCOUNT_RECLAIMED
	mm_account_reclaimed_pages(pages);
#else
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
#endif
}

/**
 * vmfault_shrinker_alloc() - a memcg- and NUMA-aware shrinker
 * @name: its name (/sys/kernel/debug/shrinker with CONFIG_SHRINKER_DEBUG)
 * @count: its ->count_objects
 * @scan: its ->scan_objects
 *
 * 6.7 replaced register_shrinker() on a caller's struct shrinker with
 * shrinker_alloc(), shrinker_register() and shrinker_free(); module/Kbuild
 * defines VMFAULT_HAVE_SHRINKER_ALLOC when the headers have them. A
 * memcg-aware list_lru needs the shrinker's id (list_lru_init_memcg()
 * between this and vmfault_shrinker_register()). On 6.1, whose
 * prealloc_shrinker() is not exported, only registration gives the id, so
 * the shrinker is registered here already: its callbacks may run before
 * the caller's list_lru is ready and must check that it is.
 *
 * Return: the shrinker, or an ERR_PTR().
 */
static inline struct shrinker *
vmfault_shrinker_alloc(const char *name,
		       unsigned long (*count)(struct shrinker *, struct shrink_control *),
		       unsigned long (*scan)(struct shrinker *, struct shrink_control *))
{
	const unsigned int flags = SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE;
#ifdef VMFAULT_HAVE_SHRINKER_ALLOC
	struct shrinker *s = shrinker_alloc(flags, "%s", name);
#else
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int err;
#endif

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
#ifndef VMFAULT_HAVE_SHRINKER_ALLOC
	s->flags = flags;
	err = register_shrinker(s, "%s", name);
	if (err) {
		kfree(s);
		return ERR_PTR(err);
	}
#endif
	return s;
}

/**
 * vmfault_shrinker_register() - let vmfault_shrinker_alloc()'s shrinker run
 * @s: the shrinker (on 6.1 running already)
 */
static inline void vmfault_shrinker_register(struct shrinker *s)
{
#ifdef VMFAULT_HAVE_SHRINKER_ALLOC
	shrinker_register(s);
#endif
}

/**
 * vmfault_shrinker_free() - unregister and free vmfault_shrinker_alloc()'s
 * @s: the shrinker, registered or not
 */
static inline void vmfault_shrinker_free(struct shrinker *s)
{
#ifdef VMFAULT_HAVE_SHRINKER_ALLOC
	shrinker_free(s);
#else
	unregister_shrinker(s);
	kfree(s);
#endif
}

#endif /* _VMFAULT_COMPAT_H */
