// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault pager mode: faults answered by a handler in user space, which
 * reads them as events from the region's pager fd and answers with ioctls
 * on it. The device side of user-level fault handling: a user-level
 * copy-on-write fork, distributed shared memory, write tracking.
 */

/**
 * DOC: pager mode
 *
 * A pager region starts empty and has no data of its own: every page
 * comes from the handler. Core mm calls into a pager mapping where a zero
 * mode one is called (fault_zero.c), and the module asks the handler when
 * it has no answer:
 *
 * - ->fault, for an empty pte. A page the handler supplied is returned
 *   locked (VM_FAULT_LOCKED) after its slot is checked under the page
 *   lock: finish_fault() maps it (a read, a MAP_SHARED write) or
 *   do_cow_fault() copies it (a MAP_PRIVATE write). A hole answered with
 *   the zero page maps the zero page for a read, as zero mode does, and
 *   allocates a page of zeros for a MAP_SHARED write. Anything else (a
 *   miss, or a MAP_SHARED write to a write-protected page) posts an event
 *   and waits for the answer: the fault drops mmap_lock (or the per-VMA
 *   lock), sleeps killably, and returns VM_FAULT_RETRY, so that core mm
 *   runs it again once answered, as filemap_fault() does around I/O and
 *   handle_userfault() around its handler. A fault that may not drop the
 *   lock (no FAULT_FLAG_ALLOW_RETRY: a remote GUP without a lock to drop)
 *   gets SIGBUS, as userfaultfd gives it; one that asks not to wait
 *   (FAULT_FLAG_RETRY_NOWAIT) gets VM_FAULT_RETRY and no event.
 *
 * - ->page_mkwrite, for a MAP_SHARED write to a page mapped read-only
 *   (the vm_ops have it, so core mm maps shared pages read-only until
 *   written). Core mm calls it with FAULT_FLAG_ALLOW_RETRY cleared, so it
 *   cannot wait for the handler: for a write-protected page it unmaps the
 *   page and returns VM_FAULT_NOPAGE, and the write faults again on an
 *   empty pte, in ->fault, which can.
 *
 * A MAP_PRIVATE write never modifies a region page: core mm copies it
 * into an anonymous page of the process (do_cow_fault(), or do_wp_page()
 * without asking the module). Write protection is therefore about
 * MAP_SHARED mappings only; a private mapping's misses post events like
 * any other.
 *
 * The answers change the region under @answer_sem held for writing: a
 * fault checks that it needs the handler and posts its event under the
 * same semaphore held for reading, so that an answer either comes first
 * (and the fault sees it) or finds the event to wake. Answers that take a
 * page away from mappings (INVALIDATE, PROTECT) wait for the page lock of
 * each page before they unmap the range: a fault that returned the page
 * holds that lock until its pte is in place, so the unmap comes after the
 * pte and removes it.
 *
 * Lock order: mmap_lock (or the vma lock) -> @answer_sem -> page lock ->
 * i_mmap_rwsem -> page table lock; @lock (a spinlock) is innermost. No
 * answer touches user memory under @answer_sem (SUPPLY copies first).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

/* What a page offset has been answered besides a page (@state's values). */
#define VMFAULT_PAGER_ST_ZERO	0x1	/* a hole answered with the zero page */
#define VMFAULT_PAGER_ST_WP	0x2	/* write-protected */

/* Pages a SUPPLY allocates and copies before it takes @answer_sem. */
#define VMFAULT_PAGER_BATCH	16

/* Events one read() returns at most. */
#define VMFAULT_PAGER_READ_MAX	32

/* The counters of struct vmfault_pager_info, in its order; gauges apart. */
enum vmfault_pager_counter {
	VMFAULT_PAGER_CNT_EVENTS,
	VMFAULT_PAGER_CNT_WRITE_EVENTS,
	VMFAULT_PAGER_CNT_WP_EVENTS,
	VMFAULT_PAGER_CNT_WOKEN,
	VMFAULT_PAGER_CNT_KILLED,
	VMFAULT_PAGER_CNT_REFUSED,
	VMFAULT_PAGER_CNT_SUPPLIED,
	VMFAULT_PAGER_CNT_ZEROED,
	VMFAULT_PAGER_CNT_PROTECTED,
	VMFAULT_PAGER_CNT_UNPROTECTED,
	VMFAULT_PAGER_CNT_INVALIDATED,
	VMFAULT_PAGER_CNT_MAPPED,
	VMFAULT_PAGER_NR_COUNTERS,
};

/* /proc/vmfault's names of the module-wide totals. */
static const char * const vmfault_pager_counter_names[VMFAULT_PAGER_NR_COUNTERS] = {
	"pager_events", "pager_write_events", "pager_wp_events", "pager_woken",
	"pager_killed", "pager_refused", "pager_supplied", "pager_zeroed",
	"pager_protected", "pager_unprotected", "pager_invalidated", "pager_mapped",
};

static atomic64_t vmfault_pager_totals[VMFAULT_PAGER_NR_COUNTERS];

/**
 * struct vmfault_pager - the handler's side of a pager region
 * @answer_sem: protects @state and the region's pages against answers:
 *	answers hold it for writing, faults that need the handler for
 *	reading while they check and post (see DOC: pager mode)
 * @state: the answers beside pages: a value entry of VMFAULT_PAGER_ST_*
 *	bits at each page offset that has any
 * @lock: protects @unread, @waiting, @seq, @attached and @dead
 * @unread: the waits whose event the handler has not read, oldest first
 * @waiting: the waits whose event the handler has read
 * @seq: the sequence number of the last event posted
 * @attached: the pager fd was opened (once per region)
 * @dead: the pager fd was released: every fault is SIGBUS from then on
 * @handler_wq: readers and pollers of the pager fd
 * @fault_wq: the faults that wait for an answer
 * @read_mutex: serializes readers of the pager fd
 * @region_file: the region's file, a reference held by the pager fd
 * @v: counters, indexed by enum vmfault_pager_counter
 */
struct vmfault_pager {
	struct rw_semaphore answer_sem;	/* protects state and the pages vs answers */
	struct xarray state;
	spinlock_t lock;		/* protects unread .. dead */
	struct list_head unread;
	struct list_head waiting;
	u64 seq;
	bool attached;
	bool dead;
	wait_queue_head_t handler_wq;
	wait_queue_head_t fault_wq;
	struct mutex read_mutex;	/* serializes read() */
	struct file *region_file;
	atomic64_t v[VMFAULT_PAGER_NR_COUNTERS];
};

/**
 * struct vmfault_pager_wait - a fault waiting for the handler, on its stack
 * @node: in @unread or @waiting of its pager; empty once answered
 * @ev: its event
 * @seq: the event's sequence number
 * @answered: set when an answer covering its page woke it
 */
struct vmfault_pager_wait {
	struct list_head node;
	struct vmfault_pager_event ev;
	u64 seq;
	bool answered;
};

#define vmfault_pager_err(fmt, ...)						\
	pr_info_ratelimited("pager (%s[%d]): " fmt "\n", current->comm,	\
			    task_pid_nr(current), ##__VA_ARGS__)

static void vmfault_pager_count(struct vmfault_pager *pager, enum vmfault_pager_counter idx,
				u64 n)
{
	atomic64_add(n, &pager->v[idx]);
	atomic64_add(n, &vmfault_pager_totals[idx]);
}

static unsigned long vmfault_pager_state(struct vmfault_pager *pager, pgoff_t index)
{
	void *entry = xa_load(&pager->state, index);

	return entry ? xa_to_value(entry) : 0;
}

/**
 * vmfault_pager_configure() - make a region ready to be a pager region
 * @region: a region being configured as VMFAULT_MODE_PAGER, under its lock
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_pager_configure(struct vmfault_region *region)
{
	struct vmfault_pager *pager;
	int i;

	if (region->pager)
		return 0;
	pager = kzalloc(sizeof(*pager), GFP_KERNEL);
	if (!pager)
		return -ENOMEM;
	init_rwsem(&pager->answer_sem);
	xa_init(&pager->state);
	spin_lock_init(&pager->lock);
	INIT_LIST_HEAD(&pager->unread);
	INIT_LIST_HEAD(&pager->waiting);
	init_waitqueue_head(&pager->handler_wq);
	init_waitqueue_head(&pager->fault_wq);
	mutex_init(&pager->read_mutex);
	for (i = 0; i < VMFAULT_PAGER_NR_COUNTERS; i++)
		atomic64_set(&pager->v[i], 0);
	region->pager = pager;
	return 0;
}

/**
 * vmfault_pager_free() - free a region's pager, with the region
 * @region: a region being destroyed: no pager fd, mapping or fd is left
 */
void vmfault_pager_free(struct vmfault_region *region)
{
	struct vmfault_pager *pager = region->pager;

	if (!pager)
		return;
	xa_destroy(&pager->state);
	mutex_destroy(&pager->read_mutex);
	kfree(pager);
	region->pager = NULL;
}

/*
 * The event a fault needs, or -1 when it needs none (the page was
 * answered meanwhile). Under @answer_sem.
 */
static int vmfault_pager_event_flags(struct vmfault_region *region, pgoff_t index,
				     bool write, bool shared)
{
	unsigned long st = vmfault_pager_state(region->pager, index);

	if (write && shared && (st & VMFAULT_PAGER_ST_WP))
		return VMFAULT_PAGER_EVENT_WRITE | VMFAULT_PAGER_EVENT_WP;
	if (!(st & VMFAULT_PAGER_ST_ZERO) && !xa_load(&region->pages, index))
		return write ? VMFAULT_PAGER_EVENT_WRITE : 0;
	return -1;
}

/* A fault that no handler can answer: SIGBUS, counted as refused. */
static vm_fault_t vmfault_pager_refuse(struct vm_fault *vmf, struct vmfault_region *region,
				       enum vmfault_outcome *outcome)
{
	vmfault_pager_count(region->pager, VMFAULT_PAGER_CNT_REFUSED, 1);
	*outcome = VMFAULT_OUT_SIGBUS;
	return vmfault_fault_sigbus(vmf, region, READ_ONCE(region->size) >> PAGE_SHIFT);
}

/*
 * Post the fault's event and wait for the answer with the fault's lock
 * dropped. Returns VM_FAULT_RETRY (the fault counted and traced here, once:
 * core mm's retry, FAULT_FLAG_TRIED, is not counted again), SIGBUS with
 * *@outcome set, or 0 with *@again set when the page was answered before
 * the event was posted.
 */
static vm_fault_t vmfault_pager_wait(struct vm_fault *vmf, struct vmfault_region *region,
				     u64 start, enum vmfault_outcome *outcome, bool *again)
{
	struct vmfault_pager *pager = region->pager;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool shared = vmf->vma->vm_flags & VM_SHARED;
	struct vmfault_pager_wait w = { .answered = false };
	unsigned int cause = vmf->flags;
	unsigned long address = vmf->address & PAGE_MASK;
	pgoff_t pgoff = vmf->pgoff;
	struct file *file;
	int flags, err;

	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return vmfault_pager_refuse(vmf, region, outcome);
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
		return VM_FAULT_RETRY;
	}

	down_read(&pager->answer_sem);
	flags = vmfault_pager_event_flags(region, pgoff, write, shared);
	if (flags < 0) {
		up_read(&pager->answer_sem);
		*again = true;
		return 0;
	}
	spin_lock(&pager->lock);
	if (!pager->attached || pager->dead) {
		spin_unlock(&pager->lock);
		up_read(&pager->answer_sem);
		return vmfault_pager_refuse(vmf, region, outcome);
	}
	w.ev.offset = (u64)pgoff << PAGE_SHIFT;
	w.ev.address = address;
	w.ev.flags = flags;
	w.ev.pid = task_tgid_vnr(current);
	w.ev.tid = task_pid_vnr(current);
	w.seq = ++pager->seq;
	/* Counted before the handler can read it (and look at the counters). */
	vmfault_pager_count(pager, VMFAULT_PAGER_CNT_EVENTS, 1);
	if (flags & VMFAULT_PAGER_EVENT_WRITE)
		vmfault_pager_count(pager, VMFAULT_PAGER_CNT_WRITE_EVENTS, 1);
	if (flags & VMFAULT_PAGER_EVENT_WP)
		vmfault_pager_count(pager, VMFAULT_PAGER_CNT_WP_EVENTS, 1);
	list_add_tail(&w.node, &pager->unread);
	spin_unlock(&pager->lock);
	up_read(&pager->answer_sem);

	trace_vmfault_pager_event(region, address, pgoff, flags);
	wake_up_interruptible_poll(&pager->handler_wq, EPOLLIN | EPOLLRDNORM);

	/* From here on vmf->vma may be gone; the file holds the region. */
	file = get_file(vmf->vma->vm_file);
	vmfault_release_fault_lock(vmf);
	err = wait_event_killable(pager->fault_wq,
				  READ_ONCE(w.answered) || READ_ONCE(pager->dead));
	spin_lock(&pager->lock);
	list_del_init(&w.node);
	spin_unlock(&pager->lock);
	if (err)
		vmfault_pager_count(pager, VMFAULT_PAGER_CNT_KILLED, 1);

	vmfault_count(region, VMFAULT_CNT_FAULT_RETRIES);
	if (!(cause & FAULT_FLAG_TRIED))
		vmfault_fault_done_at(region, address, pgoff, write, shared, cause,
				      VMFAULT_OUT_PAGER, start);
	fput(file);
	/* MAJOR: a 6.12 fault retried after the per-VMA lock counts as major too. */
	return VM_FAULT_RETRY | VM_FAULT_MAJOR;
}

/*
 * A fault on a hole answered with the zero page, under @answer_sem so that
 * no answer changes it meanwhile: a read maps the zero page (where a
 * mapping may show it), a MAP_PRIVATE write copies it, a MAP_SHARED write
 * allocates the region page (*@again: the fault then maps it). *@again
 * also when the hole is no longer one.
 */
static vm_fault_t vmfault_pager_fault_zero(struct vm_fault *vmf, struct vmfault_region *region,
					   enum vmfault_outcome *outcome, bool *again)
{
	struct vmfault_pager *pager = region->pager;
	unsigned long size_pages = READ_ONCE(region->size) >> PAGE_SHIFT;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	struct page *page;
	vm_fault_t ret = 0;

	down_read(&pager->answer_sem);
	if (vmfault_pager_event_flags(region, vmf->pgoff, write,
				      vmf->vma->vm_flags & VM_SHARED) >= 0 ||
	    xa_load(&region->pages, vmf->pgoff)) {
		*again = true;
	} else if (vmf->cow_page) {
		/* do_cow_fault() copies zeros into the private page. */
		page = vmfault_cow_zero_page();
		get_page(page);
		vmf->page = page;
		vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
		trace_vmfault_cow(region, vmf->address, vmf->pgoff, page);
		*outcome = VMFAULT_OUT_COW;
	} else if (!write && vmfault_zero_page_allowed(vmf->vma)) {
		*outcome = VMFAULT_OUT_ZERO_PAGE;
		ret = vmfault_zero_map_holes(vmf, region, size_pages, 1, VMFAULT_NO_SEQ,
					     false);
	} else {
		page = vmfault_region_get_page(region, vmf->pgoff, true, vmf->address);
		if (IS_ERR(page)) {
			ret = vmfault_fault_error(vmf, region, PTR_ERR(page), size_pages);
			*outcome = vmfault_fault_error_outcome(ret);
		} else {
			*again = true;
		}
	}
	up_read(&pager->answer_sem);
	return ret;
}

/**
 * vmfault_pager_fault() - ->fault of a pager-mode mapping
 * @vmf: the fault; the pte at vmf->address is empty
 *
 * Context: mmap_lock (or 6.12's per-VMA lock) held for read, no page
 * table lock. Returns with it held, unless it returns VM_FAULT_RETRY
 * after dropping it to wait for the handler (vmfault_pager_wait()).
 * Might sleep: killably, for the handler; for an allocation.
 *
 * Maps: the supplied region page, returned locked in vmf->page with a
 * reference for core mm (finish_fault() maps it, do_cow_fault() copies
 * it); for a hole answered with the zero page, the zero page (a read),
 * the zero page to copy (a MAP_PRIVATE write) or a new page of zeros (a
 * MAP_SHARED write).
 *
 * Return: VM_FAULT_LOCKED with vmf->page set, 0 with the zero page in
 * vmf->page, VM_FAULT_NOPAGE (the zero page mapped), VM_FAULT_RETRY
 * (answered, or killed: core mm runs the fault again or ends it),
 * VM_FAULT_SIGBUS past the region, without a handler or at the module's
 * page limit, VM_FAULT_HWPOISON, VM_FAULT_OOM.
 */
static vm_fault_t vmfault_pager_fault(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	unsigned long size_pages = READ_ONCE(region->size) >> PAGE_SHIFT;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	bool shared = vmf->vma->vm_flags & VM_SHARED;
	u64 start = vmfault_fault_start();
	enum vmfault_outcome outcome = VMFAULT_OUT_PAGER;
	unsigned long st;
	struct page *page;
	vm_fault_t ret;
	bool again, wp;

	if (vmf->pgoff >= size_pages) {
		outcome = VMFAULT_OUT_SIGBUS;
		ret = vmfault_fault_sigbus(vmf, region, size_pages);
		goto out;
	}
again:
	again = false;
	st = vmfault_pager_state(region->pager, vmf->pgoff);
	/* A MAP_SHARED write to a write-protected page waits whatever is there. */
	wp = write && shared && (st & VMFAULT_PAGER_ST_WP);
	page = wp ? NULL : vmfault_region_find_get(region, vmf->pgoff);
	if (!page) {
		if ((st & VMFAULT_PAGER_ST_ZERO) && !wp)
			ret = vmfault_pager_fault_zero(vmf, region, &outcome, &again);
		else
			ret = vmfault_pager_wait(vmf, region, start, &outcome, &again);
		if (again)
			goto again;
		if (ret & VM_FAULT_RETRY)
			return ret;
		goto out;
	}
	if (!vmfault_page_lock_in_slot(region, vmf->pgoff, page)) {
		put_page(page);
		goto again;
	}
	if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
		unlock_page(page);
		put_page(page);
		vmfault_fault_sigbus(vmf, region, size_pages);
		outcome = VMFAULT_OUT_SIGBUS;
		ret = VM_FAULT_HWPOISON;
		goto out;
	}
	vmf->page = page;
	ret = VM_FAULT_LOCKED;
	outcome = VMFAULT_OUT_PAGE;
	if (vmf->cow_page) {
		vmfault_count(region, VMFAULT_CNT_COW_FAULTS);
		trace_vmfault_cow(region, vmf->address, vmf->pgoff, page);
		outcome = VMFAULT_OUT_COW;
	}
out:
	vmfault_fault_done(vmf, region, write, outcome, start);
	return ret;
}

/**
 * vmfault_pager_page_mkwrite() - a MAP_SHARED write to a region page
 * @vmf: the fault; vmf->page is the region page, mapped read-only (or
 *	just returned by ->fault in the same fault)
 *
 * Context: mmap_lock held for read, page unlocked; returns with the page
 * locked for VM_FAULT_LOCKED. Core mm calls it without
 * FAULT_FLAG_ALLOW_RETRY: it cannot wait for the handler.
 *
 * Return: VM_FAULT_LOCKED: core mm makes the pte writable. VM_FAULT_NOPAGE
 * for a write-protected page (unmapped everywhere: the write faults again
 * in ->fault, which posts the event) or one no longer in the region;
 * VM_FAULT_HWPOISON.
 */
static vm_fault_t vmfault_pager_page_mkwrite(struct vm_fault *vmf)
{
	struct vmfault_region *region = vmfault_vmf_region(vmf);
	struct page *page = vmf->page;
	u64 start = vmfault_fault_start();

	lock_page(page);
	if (xa_load(&region->pages, vmf->pgoff) != page ||
	    (vmfault_pager_state(region->pager, vmf->pgoff) & VMFAULT_PAGER_ST_WP)) {
		/* Under the page lock: PROTECT and INVALIDATE wait for it. */
		unlock_page(page);
		vmfault_region_unmap_zero(region, vmf->pgoff);
		if (vmfault_mkwrite_is_own_fault(vmf))
			vmfault_fault_done(vmf, region, true, VMFAULT_OUT_PAGER, start);
		return VM_FAULT_NOPAGE;
	}
	if (vmfault_page_poisoned(region, vmf->pgoff, page)) {
		unlock_page(page);
		vmfault_fault_sigbus(vmf, region, READ_ONCE(region->size) >> PAGE_SHIFT);
		return VM_FAULT_HWPOISON;
	}
	vmfault_mkwrite_done(vmf, region, start);
	return VM_FAULT_LOCKED;
}

/**
 * vmfault_pager_pfn_mkwrite() - a MAP_SHARED write to a zero-page pte
 * @vmf: the fault
 *
 * Context: mmap_lock held for read. Never expected: a mapping that can be
 * written never shows the zero page (vmfault_zero_page_allowed()). Were
 * one there, the pte goes and the write faults again in ->fault.
 *
 * Return: VM_FAULT_NOPAGE.
 */
static vm_fault_t vmfault_pager_pfn_mkwrite(struct vm_fault *vmf)
{
	vmfault_region_unmap_zero(vmfault_vmf_region(vmf), vmf->pgoff);
	return VM_FAULT_NOPAGE;
}

const struct vm_operations_struct vmfault_pager_vm_ops = {
	.fault		= vmfault_pager_fault,
	.map_pages	= VMFAULT_NOFA_MAP_PAGES,
	.page_mkwrite	= vmfault_pager_page_mkwrite,
	.pfn_mkwrite	= vmfault_pager_pfn_mkwrite,
};

/*
 * Wake the faults waiting on pages @first to @last: they retry. Their
 * events leave the lists (an unread one is never read). Returns how many.
 */
static unsigned long vmfault_pager_wake(struct vmfault_pager *pager, pgoff_t first, pgoff_t last)
{
	u64 lo = (u64)first << PAGE_SHIFT, hi = (u64)last << PAGE_SHIFT;
	struct list_head *lists[] = { &pager->unread, &pager->waiting };
	struct vmfault_pager_wait *w, *tmp;
	unsigned long n = 0;
	int i;

	spin_lock(&pager->lock);
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		list_for_each_entry_safe(w, tmp, lists[i], node) {
			if (w->ev.offset < lo || w->ev.offset > hi)
				continue;
			list_del_init(&w->node);
			WRITE_ONCE(w->answered, true);
			n++;
		}
	}
	spin_unlock(&pager->lock);
	if (n) {
		vmfault_pager_count(pager, VMFAULT_PAGER_CNT_WOKEN, n);
		wake_up_all(&pager->fault_wq);
	}
	return n;
}

/*
 * Wait for every fault that returned one of @pages locked to have mapped
 * it (see DOC: pager mode), then drop the references in @pages: the
 * caller's, or with @freed the region's (the pages left the region).
 */
static void vmfault_pager_settle(struct vmfault_region *region, struct page **pages,
				 unsigned int nr, bool freed)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		lock_page(pages[i]);
		unlock_page(pages[i]);
		if (!freed) {
			put_page(pages[i]);
			continue;
		}
		vmfault_count(region, VMFAULT_CNT_PAGES_FREED);
		vmfault_page_drop(pages[i]);
	}
}

/* Unmap pages @first to @last from every mapping (private copies stay). */
static void vmfault_pager_unmap(struct vmfault_region *region, pgoff_t first, pgoff_t last)
{
	unmap_mapping_range(region->inode->i_mapping, (loff_t)first << PAGE_SHIFT,
			    (loff_t)(last - first + 1) << PAGE_SHIFT, 0);
}

/* Check an answer's range; @first and @last are its pages. */
static int vmfault_pager_range_check(struct vmfault_region *region,
				     const struct vmfault_pager_range *r, u32 flags_ok,
				     bool src_ok, pgoff_t *first, pgoff_t *last)
{
	u64 size = READ_ONCE(region->size);

	if (!r->len || !PAGE_ALIGNED(r->offset) || !PAGE_ALIGNED(r->len) ||
	    r->offset >= size || r->len > size - r->offset) {
		vmfault_pager_err("range %#llx+%#llx is not whole pages inside the region's %llu bytes",
				  r->offset, r->len, size);
		return -EINVAL;
	}
	if (r->flags & ~flags_ok) {
		vmfault_pager_err("flags %#x are not this answer's (%#x)", r->flags, flags_ok);
		return -EINVAL;
	}
	if (r->src && !src_ok) {
		vmfault_pager_err("src is for SUPPLY only");
		return -EINVAL;
	}
	if (r->reserved) {
		vmfault_pager_err("reserved is not zero");
		return -EINVAL;
	}
	*first = r->offset >> PAGE_SHIFT;
	*last = *first + (r->len >> PAGE_SHIFT) - 1;
	return 0;
}

/* Allocate a page and fill it from user memory (or leave it zeroed). */
static struct page *vmfault_pager_fill(struct vmfault_region *region, const void __user *src)
{
	struct page *page = vmfault_page_alloc(region, !src);
	void *kaddr;
	unsigned long left;

	if (IS_ERR(page) || !src)
		goto out;
	kaddr = kmap_local_page(page);
	left = copy_from_user(kaddr, src, PAGE_SIZE);
	kunmap_local(kaddr);
	if (left) {
		vmfault_page_drop(page);
		return ERR_PTR(-EFAULT);
	}
	flush_dcache_page(page);
out:
	if (!IS_ERR(page))
		SetPageUptodate(page);
	return page;
}

/*
 * Is page offset @index answered already (a page, or the zero page)?
 * Under @answer_sem.
 */
static bool vmfault_pager_answered(struct vmfault_region *region, pgoff_t index)
{
	return xa_load(&region->pages, index) ||
	       (vmfault_pager_state(region->pager, index) & VMFAULT_PAGER_ST_ZERO);
}

/* Set the @state bits of @index to @bits (none: erase). Under @answer_sem. */
static int vmfault_pager_set_state(struct vmfault_pager *pager, pgoff_t index, unsigned long bits)
{
	if (!bits) {
		xa_erase(&pager->state, index);
		return 0;
	}
	return xa_err(xa_store(&pager->state, index, xa_mk_value(bits), GFP_KERNEL));
}

/*
 * VMFAULT_PAGER_IOC_SUPPLY: fill pages, VMFAULT_PAGER_BATCH at a time
 * outside @answer_sem (copy_from_user() may fault), then install them
 * under it and wake their faults. ZEROPAGE (@zero) installs no page, only
 * the zero-page answer.
 */
static int vmfault_pager_supply(struct vmfault_region *region, struct vmfault_pager_range *r,
				bool zero)
{
	struct vmfault_pager *pager = region->pager;
	struct page *pages[VMFAULT_PAGER_BATCH];
	unsigned long wp = r->flags & VMFAULT_PAGER_WP ? VMFAULT_PAGER_ST_WP : 0;
	pgoff_t first, last, index;
	unsigned long woken = 0;
	unsigned int i, n;
	int err;

	err = vmfault_pager_range_check(region, r, VMFAULT_PAGER_WP, !zero, &first, &last);
	if (err)
		return err;
	for (index = first; index <= last && !err; index += n) {
		n = min_t(unsigned long, last - index + 1, VMFAULT_PAGER_BATCH);
		for (i = 0; !zero && i < n; i++) {
			u64 off = (u64)(index + i - first) << PAGE_SHIFT;

			pages[i] = vmfault_pager_fill(region, r->src ?
						      u64_to_user_ptr(r->src + off) : NULL);
			if (IS_ERR(pages[i])) {
				err = PTR_ERR(pages[i]);
				n = i;
				break;
			}
		}
		down_write(&pager->answer_sem);
		for (i = 0; i < n; i++) {
			if (vmfault_pager_answered(region, index + i)) {
				err = -EEXIST;
				break;
			}
			if (!zero) {
				struct page *old = vmfault_region_publish(region, index + i,
									  pages[i], 0);

				if (old) {	/* -ENOMEM: no answer */
					err = PTR_ERR(old);
					break;
				}
				pages[i] = NULL;
			}
			if (vmfault_pager_set_state(pager, index + i,
						    wp | (zero ? VMFAULT_PAGER_ST_ZERO : 0))) {
				err = -ENOMEM;
				i++;	/* the page is in; its protection failed */
				break;
			}
		}
		if (i)
			woken += vmfault_pager_wake(pager, index, index + i - 1);
		up_write(&pager->answer_sem);
		vmfault_pager_count(pager, zero ? VMFAULT_PAGER_CNT_ZEROED :
				    VMFAULT_PAGER_CNT_SUPPLIED, i);
		r->done += (u64)i << PAGE_SHIFT;
		/* The pages not installed (an error stopped the batch). */
		for (; !zero && i < n; i++)
			if (pages[i])
				vmfault_page_drop(pages[i]);
		cond_resched();
	}
	trace_vmfault_pager_answer(region, zero ? VMFAULT_PAGER_ZEROPAGE : VMFAULT_PAGER_SUPPLY,
				   first, last - first + 1, r->done >> PAGE_SHIFT, err, woken);
	return err;
}

/*
 * VMFAULT_PAGER_IOC_PROTECT: set or clear write protection of the pages
 * and zero-page holes in the range. Setting it unmaps them (after their
 * in-flight faults), so that a MAP_SHARED write faults; clearing it wakes
 * the faults waiting on them.
 */
static int vmfault_pager_protect(struct vmfault_region *region, struct vmfault_pager_range *r)
{
	struct vmfault_pager *pager = region->pager;
	bool set = r->flags & VMFAULT_PAGER_WP;
	struct page *pages[VMFAULT_PAGER_BATCH];
	unsigned long changed = 0, woken = 0, st, nr = 0;
	pgoff_t first, last, index;
	struct page *page;
	void *entry;
	int err;

	err = vmfault_pager_range_check(region, r, VMFAULT_PAGER_WP, false, &first, &last);
	if (err)
		return err;
	down_write(&pager->answer_sem);
	/* Zero-page holes first, then pages. */
	xa_for_each_range(&pager->state, index, entry, first, last) {
		st = xa_to_value(entry);
		if (!(st & VMFAULT_PAGER_ST_ZERO) || !!(st & VMFAULT_PAGER_ST_WP) == set)
			continue;
		vmfault_pager_set_state(pager, index, st ^ VMFAULT_PAGER_ST_WP);
		changed++;
	}
	xa_for_each_range(&region->pages, index, page, first, last) {
		st = vmfault_pager_state(pager, index);
		if (!!(st & VMFAULT_PAGER_ST_WP) == set)
			continue;
		if (vmfault_pager_set_state(pager, index, st ^ VMFAULT_PAGER_ST_WP)) {
			err = -ENOMEM;
			break;
		}
		changed++;
		if (!set)
			continue;
		get_page(page);
		pages[nr++] = page;
		if (nr == ARRAY_SIZE(pages)) {
			vmfault_pager_settle(region, pages, nr, false);
			nr = 0;
		}
	}
	vmfault_pager_settle(region, pages, nr, false);
	if (set && changed)
		vmfault_pager_unmap(region, first, last);
	if (!set)
		woken = vmfault_pager_wake(pager, first, last);
	up_write(&pager->answer_sem);
	vmfault_pager_count(pager, set ? VMFAULT_PAGER_CNT_PROTECTED :
			    VMFAULT_PAGER_CNT_UNPROTECTED, changed);
	r->done = (u64)changed << PAGE_SHIFT;
	trace_vmfault_pager_answer(region, set ? VMFAULT_PAGER_PROTECT : VMFAULT_PAGER_UNPROTECT,
				   first, last - first + 1, changed, err, woken);
	return err;
}

/*
 * VMFAULT_PAGER_IOC_INVALIDATE: take the pages and answers of the range
 * away: out of the region, out of every mapping (after their in-flight
 * faults), then freed. Faults waiting in the range stay waiting: their
 * pages are still missing.
 */
static int vmfault_pager_invalidate(struct vmfault_region *region, struct vmfault_pager_range *r)
{
	struct vmfault_pager *pager = region->pager;
	struct page *pages[VMFAULT_PAGER_BATCH];
	unsigned long changed = 0, nr = 0;
	pgoff_t first, last, index;
	struct page *page;
	void *entry;
	int err;

	err = vmfault_pager_range_check(region, r, 0, false, &first, &last);
	if (err)
		return err;
	down_write(&pager->answer_sem);
	xa_for_each_range(&pager->state, index, entry, first, last) {
		if (xa_to_value(entry) & VMFAULT_PAGER_ST_ZERO)
			changed++;
		xa_erase(&pager->state, index);
	}
	xa_for_each_range(&region->pages, index, page, first, last) {
		xa_erase(&region->pages, index);
		pages[nr++] = page;
		changed++;
		if (nr == ARRAY_SIZE(pages)) {
			vmfault_pager_settle(region, pages, nr, true);
			nr = 0;
		}
	}
	vmfault_pager_settle(region, pages, nr, true);
	/* A mapped page lives on, with its pte's reference, until this. */
	vmfault_pager_unmap(region, first, last);
	up_write(&pager->answer_sem);
	vmfault_pager_count(pager, VMFAULT_PAGER_CNT_INVALIDATED, changed);
	r->done = (u64)changed << PAGE_SHIFT;
	trace_vmfault_pager_answer(region, VMFAULT_PAGER_INVALIDATE, first, last - first + 1,
				   changed, 0, 0);
	return 0;
}

/*
 * VMFAULT_PAGER_IOC_MAP: install the source region's pages in this one,
 * each page then held (a reference, a count in pages_resident) by both.
 * The source page is found with a reference and installed under this
 * region's @answer_sem only: the source may replace it meanwhile, and
 * then this region keeps the page it had (as a fork copies a pte).
 */
static int vmfault_pager_map(struct vmfault_region *region, struct vmfault_pager_map *m)
{
	struct vmfault_pager *pager = region->pager;
	struct vmfault_pager_range r = { .offset = m->offset, .len = m->len, .flags = m->flags };
	unsigned long wp = m->flags & VMFAULT_PAGER_WP ? VMFAULT_PAGER_ST_WP : 0;
	unsigned long mapped = 0, woken = 0;
	struct vmfault_region *src;
	struct page *page, *old;
	pgoff_t first, last, i;
	struct file *file;
	int err;

	err = vmfault_pager_range_check(region, &r, VMFAULT_PAGER_WP, false, &first, &last);
	if (err)
		return err;
	file = fget(m->src_fd);
	if (!file)
		return -EBADF;
	src = file->private_data;
	err = -EINVAL;
	if (!vmfault_is_region_file(file) || src == region ||
	    READ_ONCE(src->mode) != VMFAULT_MODE_PAGER) {
		vmfault_pager_err("src_fd %d is not another pager region's fd", m->src_fd);
		goto out_fput;
	}
	/* Its pages become writable here: only for an fd that may write them. */
	err = -EBADF;
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) != (FMODE_READ | FMODE_WRITE)) {
		vmfault_pager_err("src_fd %d is not open for reading and writing", m->src_fd);
		goto out_fput;
	}
	err = -EINVAL;
	if (!PAGE_ALIGNED(m->src_offset) || m->src_offset >= READ_ONCE(src->size) ||
	    m->len > READ_ONCE(src->size) - m->src_offset) {
		vmfault_pager_err("source range %#llx+%#llx is not whole pages inside its region",
				  m->src_offset, m->len);
		goto out_fput;
	}
	err = 0;
	for (i = first; i <= last; i++, m->done += PAGE_SIZE) {
		page = vmfault_region_find_get(src, (m->src_offset >> PAGE_SHIFT) + i - first);
		if (!page)
			continue;
		down_write(&pager->answer_sem);
		if (vmfault_pager_answered(region, i)) {
			err = -EEXIST;
		} else {
			old = vmfault_region_publish(region, i, page, 0);
			if (old) {
				err = PTR_ERR(old);	/* -ENOMEM */
			} else {
				/* Our reference is the region's now; it holds a page more. */
				percpu_counter_inc(&vmfault_pages_used);
				page = NULL;
				mapped++;
				if (vmfault_pager_set_state(pager, i, wp))
					err = -ENOMEM;
				woken += vmfault_pager_wake(pager, i, i);
			}
		}
		up_write(&pager->answer_sem);
		if (page)
			put_page(page);
		if (err)
			break;
		cond_resched();
	}
	vmfault_pager_count(pager, VMFAULT_PAGER_CNT_MAPPED, mapped);
	trace_vmfault_pager_answer(region, VMFAULT_PAGER_MAP, first, last - first + 1, mapped,
				   err, woken);
out_fput:
	fput(file);
	return err;
}

static void vmfault_pager_get_info(struct vmfault_pager *pager, struct vmfault_pager_info *info)
{
	struct vmfault_pager_wait *w;

	info->events = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_EVENTS]);
	info->write_events = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_WRITE_EVENTS]);
	info->wp_events = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_WP_EVENTS]);
	spin_lock(&pager->lock);
	list_for_each_entry(w, &pager->unread, node)
		info->unread++;
	list_for_each_entry(w, &pager->waiting, node)
		info->waiting++;
	spin_unlock(&pager->lock);
	info->woken = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_WOKEN]);
	info->killed = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_KILLED]);
	info->refused = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_REFUSED]);
	info->supplied = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_SUPPLIED]);
	info->zeroed = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_ZEROED]);
	info->protected = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_PROTECTED]);
	info->unprotected = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_UNPROTECTED]);
	info->invalidated = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_INVALIDATED]);
	info->mapped = atomic64_read(&pager->v[VMFAULT_PAGER_CNT_MAPPED]);
}

static long vmfault_pager_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmfault_region *region = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct vmfault_pager_range r;
	pgoff_t first, last;
	int err;

	if (cmd == VMFAULT_PAGER_IOC_MAP) {
		struct vmfault_pager_map m;

		if (copy_from_user(&m, uarg, sizeof(m)))
			return -EFAULT;
		m.done = 0;
		err = vmfault_pager_map(region, &m);
		if (copy_to_user(&((struct vmfault_pager_map __user *)uarg)->done, &m.done,
				 sizeof(m.done)))
			return -EFAULT;
		return err;
	}
	if (cmd == VMFAULT_PAGER_IOC_INFO) {
		struct vmfault_pager_info info = {};

		vmfault_pager_get_info(region->pager, &info);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}
	if (_IOC_TYPE(cmd) != VMFAULT_IOC_MAGIC || _IOC_SIZE(cmd) != sizeof(r))
		return -ENOTTY;
	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	r.done = 0;
	switch (cmd) {
	case VMFAULT_PAGER_IOC_SUPPLY:
		err = vmfault_pager_supply(region, &r, false);
		break;
	case VMFAULT_PAGER_IOC_ZEROPAGE:
		err = vmfault_pager_supply(region, &r, true);
		break;
	case VMFAULT_PAGER_IOC_PROTECT:
		err = vmfault_pager_protect(region, &r);
		break;
	case VMFAULT_PAGER_IOC_INVALIDATE:
		err = vmfault_pager_invalidate(region, &r);
		break;
	case VMFAULT_PAGER_IOC_WAKE:
		err = vmfault_pager_range_check(region, &r, 0, false, &first, &last);
		if (err)
			break;
		r.done = vmfault_pager_wake(region->pager, first, last);
		trace_vmfault_pager_answer(region, VMFAULT_PAGER_WAKE, first, last - first + 1,
					   0, 0, r.done);
		break;
	default:
		return -ENOTTY;
	}
	if (copy_to_user(&((struct vmfault_pager_range __user *)uarg)->done, &r.done,
			 sizeof(r.done)))
		return -EFAULT;
	return err;
}

/*
 * read() of the pager fd: the oldest unread events, as many as fit (at
 * most VMFAULT_PAGER_READ_MAX). They are copied out before they move to
 * @waiting, so that a failed copy loses none; an event whose fault ended
 * meanwhile is still returned (its answer then wakes nobody).
 *
 * A nonblocking read (O_NONBLOCK, or IOCB_NOWAIT: io_uring's first try,
 * which FMODE_NOWAIT allows) never sleeps: -EAGAIN, and io_uring then
 * waits on ->poll instead of blocking one of its worker threads.
 */
static ssize_t vmfault_pager_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct vmfault_pager *pager = ((struct vmfault_region *)file->private_data)->pager;
	bool nowait = (iocb->ki_flags & IOCB_NOWAIT) || (file->f_flags & O_NONBLOCK);
	struct vmfault_pager_event evs[VMFAULT_PAGER_READ_MAX];
	size_t max = min_t(size_t, iov_iter_count(to) / sizeof(evs[0]), ARRAY_SIZE(evs));
	struct vmfault_pager_wait *w, *tmp;
	u64 last_seq = 0;
	size_t n = 0;
	int err;

	if (!max)
		return -EINVAL;
	if (nowait) {
		if (!mutex_trylock(&pager->read_mutex))
			return -EAGAIN;
	} else {
		err = mutex_lock_interruptible(&pager->read_mutex);
		if (err)
			return err;
	}
	for (;;) {
		spin_lock(&pager->lock);
		list_for_each_entry(w, &pager->unread, node) {
			evs[n++] = w->ev;
			last_seq = w->seq;
			if (n == max)
				break;
		}
		spin_unlock(&pager->lock);
		if (n)
			break;
		err = -EAGAIN;
		if (nowait)
			goto out_unlock;
		err = wait_event_interruptible(pager->handler_wq,
					       !list_empty_careful(&pager->unread));
		if (err)
			goto out_unlock;
	}
	err = -EFAULT;
	if (copy_to_iter(evs, n * sizeof(evs[0]), to) != n * sizeof(evs[0]))
		goto out_unlock;
	spin_lock(&pager->lock);
	list_for_each_entry_safe(w, tmp, &pager->unread, node) {
		if (w->seq > last_seq)
			break;
		list_move_tail(&w->node, &pager->waiting);
	}
	spin_unlock(&pager->lock);
	err = 0;
out_unlock:
	mutex_unlock(&pager->read_mutex);
	return err ? err : n * sizeof(evs[0]);
}

static __poll_t vmfault_pager_poll(struct file *file, poll_table *wait)
{
	struct vmfault_pager *pager = ((struct vmfault_region *)file->private_data)->pager;

	poll_wait(file, &pager->handler_wq, wait);
	return list_empty_careful(&pager->unread) ? 0 : EPOLLIN | EPOLLRDNORM;
}

/*
 * The handler's death (the last close of the pager fd): every waiting
 * fault wakes and retries into SIGBUS, and so does every later one.
 */
static int vmfault_pager_release(struct inode *inode, struct file *file)
{
	struct vmfault_region *region = file->private_data;
	struct vmfault_pager *pager = region->pager;

	spin_lock(&pager->lock);
	WRITE_ONCE(pager->dead, true);
	spin_unlock(&pager->lock);
	wake_up_all(&pager->fault_wq);
	fput(pager->region_file);
	return 0;
}

static const struct file_operations vmfault_pager_fops = {
	.owner		= THIS_MODULE,
	.release	= vmfault_pager_release,
	.read_iter	= vmfault_pager_read_iter,
	.poll		= vmfault_pager_poll,
	.unlocked_ioctl	= vmfault_pager_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/**
 * vmfault_pager_open() - VMFAULT_IOC_PAGER_OPEN: the region's pager fd
 * @file: the region's file
 * @flags: 0, or O_CLOEXEC and O_NONBLOCK
 *
 * The pager fd holds a reference to the region's file. Opening it freezes
 * the configuration.
 *
 * Return: the new fd; -EINVAL for other flags or a region that is not a
 * pager region; -EBADF if @file is not open for reading and writing;
 * -EBUSY if the region had its pager fd already; or the error of
 * get_unused_fd_flags() or anon_inode_getfile().
 */
int vmfault_pager_open(struct file *file, unsigned long flags)
{
	struct vmfault_region *region = file->private_data;
	struct vmfault_pager *pager;
	struct file *pager_file;
	int fd;

	if (flags & ~(unsigned long)(O_CLOEXEC | O_NONBLOCK)) {
		vmfault_pager_err("flags %#lx: only O_CLOEXEC and O_NONBLOCK", flags);
		return -EINVAL;
	}
	/* The handler writes the region's contents: not through a read-only fd. */
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) != (FMODE_READ | FMODE_WRITE)) {
		vmfault_pager_err("the region's fd is not open for reading and writing");
		return -EBADF;
	}
	mutex_lock(&region->lock);
	pager = region->pager;
	if (region->mode != VMFAULT_MODE_PAGER || !pager) {
		mutex_unlock(&region->lock);
		vmfault_pager_err("region %lu is not a pager region (VMFAULT_MODE_PAGER)",
				  vmfault_region_id(region));
		return -EINVAL;
	}
	spin_lock(&pager->lock);
	if (pager->attached) {
		spin_unlock(&pager->lock);
		mutex_unlock(&region->lock);
		vmfault_pager_err("region %lu has its pager fd already", vmfault_region_id(region));
		return -EBUSY;
	}
	pager->attached = true;
	spin_unlock(&pager->lock);
	region->frozen = true;
	pager->region_file = get_file(file);
	mutex_unlock(&region->lock);

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		goto fail;
	pager_file = anon_inode_getfile("[vmfault-pager]", &vmfault_pager_fops, region,
					O_RDWR | (flags & O_NONBLOCK));
	if (IS_ERR(pager_file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(pager_file);
		goto fail;
	}
	/* read_iter() honours IOCB_NOWAIT: io_uring may try it inline. */
	pager_file->f_mode |= FMODE_NOWAIT;
	fd_install(fd, pager_file);
	return fd;

fail:
	/* As if its handler died at once. */
	spin_lock(&pager->lock);
	pager->dead = true;
	spin_unlock(&pager->lock);
	fput(file);
	return fd;
}

/**
 * vmfault_pager_show() - the module-wide pager counters, for /proc/vmfault
 * @m: the seq_file
 */
void vmfault_pager_show(struct seq_file *m)
{
	int i;

	for (i = 0; i < VMFAULT_PAGER_NR_COUNTERS; i++)
		seq_printf(m, "%s %lld\n", vmfault_pager_counter_names[i],
			   atomic64_read(&vmfault_pager_totals[i]));
}
