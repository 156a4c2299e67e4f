/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfault tracepoints: /sys/kernel/tracing/events/vmfault/. Field names are
 * stable; Documentation/vmfault.rst lists them. "region" is the region's
 * id, the inode number of its private inode (also in /proc/vmfault_regions).
 * Events take the objects (the region, the page, the fault), as mm's own
 * do, and work out ids, pfns and file offsets only when enabled.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vmfault

/*
 * Each event is defined once, below. The benchmarks' comparison build
 * (module/Kbuild, VMFAULT_NO_STATS=1: no counters, no tracepoints, never
 * shipped) makes every one of them an empty inline with the kernel's
 * *_NOP variants; trace.c, which would create them, is not built there.
 */
#undef VMFAULT_EVENT
#undef VMFAULT_EVENT_CLASS
#undef VMFAULT_DEFINE_EVENT
#ifdef VMFAULT_NO_STATS
#define VMFAULT_EVENT		TRACE_EVENT_NOP
#define VMFAULT_EVENT_CLASS	DECLARE_EVENT_CLASS_NOP
#define VMFAULT_DEFINE_EVENT	DEFINE_EVENT_NOP
#else
#define VMFAULT_EVENT		TRACE_EVENT
#define VMFAULT_EVENT_CLASS	DECLARE_EVENT_CLASS
#define VMFAULT_DEFINE_EVENT	DEFINE_EVENT
#endif

#if !defined(_VMFAULT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VMFAULT_TRACE_H

#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/tracepoint.h>

#include "vmfault.h"

/*
 * The cause field of vmfault_fault: what the hardware reported, as core mm
 * passes it on in vmf->flags (x86's error code bits U/S, W/R and I/D;
 * RISC-V's scause 12, 13 or 15), and whether the fault came from another
 * task's access (GUP of a remote mm). In ->page_mkwrite core mm passes
 * FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE only: "user" is unknown there.
 */
#ifdef VMFAULT_HAVE_VMA_LOCK
/* ... and whether ->fault ran under the per-VMA lock ("vma_lock", 6.4 on). */
#define VMFAULT_TRACE_VMA_LOCK	FAULT_FLAG_VMA_LOCK
TRACE_DEFINE_ENUM(FAULT_FLAG_VMA_LOCK);
#define vmfault_print_cause(cause)						\
	__print_flags(cause, "|", { FAULT_FLAG_USER, "user" },			\
		      { FAULT_FLAG_WRITE, "write" },				\
		      { FAULT_FLAG_INSTRUCTION, "instruction" },		\
		      { FAULT_FLAG_REMOTE, "remote" },				\
		      { FAULT_FLAG_MKWRITE, "mkwrite" },			\
		      { FAULT_FLAG_VMA_LOCK, "vma_lock" })
#else
#define VMFAULT_TRACE_VMA_LOCK	0
#define vmfault_print_cause(cause)						\
	__print_flags(cause, "|", { FAULT_FLAG_USER, "user" },			\
		      { FAULT_FLAG_WRITE, "write" },				\
		      { FAULT_FLAG_INSTRUCTION, "instruction" },		\
		      { FAULT_FLAG_REMOTE, "remote" },				\
		      { FAULT_FLAG_MKWRITE, "mkwrite" })
#endif
#define VMFAULT_TRACE_CAUSE	(FAULT_FLAG_WRITE | FAULT_FLAG_USER | \
				 FAULT_FLAG_INSTRUCTION | FAULT_FLAG_REMOTE | \
				 FAULT_FLAG_MKWRITE | VMFAULT_TRACE_VMA_LOCK)
TRACE_DEFINE_ENUM(FAULT_FLAG_WRITE);
TRACE_DEFINE_ENUM(FAULT_FLAG_MKWRITE);
TRACE_DEFINE_ENUM(FAULT_FLAG_USER);
TRACE_DEFINE_ENUM(FAULT_FLAG_INSTRUCTION);
TRACE_DEFINE_ENUM(FAULT_FLAG_REMOTE);

/*
 * The user instruction pointer of the task that faults: the faulting
 * instruction for a fault in user mode, where the task entered the kernel
 * for one in the kernel on its behalf (copy_to_user(), GUP); 0 in a kernel
 * thread.
 */
#ifndef _VMFAULT_TRACE_USER_IP
#define _VMFAULT_TRACE_USER_IP
static inline unsigned long vmfault_trace_user_ip(void)
{
	if (current->flags & PF_KTHREAD)
		return 0;
	return instruction_pointer(task_pt_regs(current));
}
#endif

/* The outcome field of vmfault_fault is an enum vmfault_outcome. */
TRACE_DEFINE_ENUM(VMFAULT_OUT_ZERO_PAGE);
TRACE_DEFINE_ENUM(VMFAULT_OUT_PAGE);
TRACE_DEFINE_ENUM(VMFAULT_OUT_COW);
TRACE_DEFINE_ENUM(VMFAULT_OUT_UPGRADE);
TRACE_DEFINE_ENUM(VMFAULT_OUT_MKWRITE);
TRACE_DEFINE_ENUM(VMFAULT_OUT_SIGBUS);
TRACE_DEFINE_ENUM(VMFAULT_OUT_OOM);
TRACE_DEFINE_ENUM(VMFAULT_OUT_READ);
TRACE_DEFINE_ENUM(VMFAULT_OUT_AROUND);
TRACE_DEFINE_ENUM(VMFAULT_OUT_SEGV);
TRACE_DEFINE_ENUM(VMFAULT_OUT_PAGER);

/* The op field of vmfault_pager_answer is an enum vmfault_pager_op. */
TRACE_DEFINE_ENUM(VMFAULT_PAGER_SUPPLY);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_ZEROPAGE);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_PROTECT);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_UNPROTECT);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_INVALIDATE);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_WAKE);
TRACE_DEFINE_ENUM(VMFAULT_PAGER_MAP);

VMFAULT_EVENT(vmfault_fault,
	      TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
		       bool write, bool shared, unsigned int cause, int outcome,
		       u64 latency_ns),
	      TP_ARGS(region, address, pgoff, write, shared, cause, outcome, latency_ns),
	      TP_STRUCT__entry(__field(unsigned long, region)
			       __field(unsigned long, address)
			       __field(unsigned long, pgoff)
			       __field(bool, write)
			       __field(bool, shared)
			       __field(int, outcome)
			       __field(u64, latency_ns)
			       __field(unsigned long, ip)
			       __field(unsigned int, cause)),
	      TP_fast_assign(__entry->region = vmfault_region_id(region);
			     __entry->address = address;
			     __entry->pgoff = pgoff;
			     __entry->write = write;
			     __entry->shared = shared;
			     __entry->outcome = outcome;
			     __entry->latency_ns = latency_ns;
			     __entry->ip = vmfault_trace_user_ip();
			     __entry->cause = cause & VMFAULT_TRACE_CAUSE;),
	      TP_printk("region=%lu address=0x%lx pgoff=%lu %s %s outcome=%s latency_ns=%llu ip=0x%lx cause=%s",
			__entry->region, __entry->address, __entry->pgoff,
			__entry->write ? "write" : "read",
			__entry->shared ? "shared" : "private",
			__print_symbolic(__entry->outcome,
					 { VMFAULT_OUT_ZERO_PAGE, "zero_page" },
					 { VMFAULT_OUT_PAGE, "page" },
					 { VMFAULT_OUT_COW, "cow" },
					 { VMFAULT_OUT_UPGRADE, "zero_page_upgrade" },
					 { VMFAULT_OUT_MKWRITE, "mkwrite" },
					 { VMFAULT_OUT_SIGBUS, "sigbus" },
					 { VMFAULT_OUT_OOM, "oom" },
					 { VMFAULT_OUT_READ, "read" },
					 { VMFAULT_OUT_AROUND, "fault_around" },
					 { VMFAULT_OUT_SEGV, "sigsegv" },
					 { VMFAULT_OUT_PAGER, "pager" }),
			__entry->latency_ns, __entry->ip,
			vmfault_print_cause(__entry->cause))
);

VMFAULT_EVENT_CLASS(vmfault_page_event,
		    TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
			     struct page *page),
		    TP_ARGS(region, address, pgoff, page),
		    TP_STRUCT__entry(__field(unsigned long, region)
				     __field(unsigned long, address)
				     __field(unsigned long, pgoff)
				     __field(unsigned long, pfn)),
		    TP_fast_assign(__entry->region = vmfault_region_id(region);
				   __entry->address = address;
				   __entry->pgoff = pgoff;
				   __entry->pfn = page_to_pfn(page);),
		    TP_printk("region=%lu address=0x%lx pgoff=%lu pfn=0x%lx",
			      __entry->region, __entry->address, __entry->pgoff,
			      __entry->pfn)
);

/* A read of a hole mapped the zero page (pfn) at address. */
VMFAULT_DEFINE_EVENT(vmfault_page_event, vmfault_zero_page_map,
		     TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
			      struct page *page),
		     TP_ARGS(region, address, pgoff, page));

/* A region page (pfn) was allocated: by a fault at address, or by write() (0). */
VMFAULT_DEFINE_EVENT(vmfault_page_event, vmfault_page_alloc,
		     TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
			      struct page *page),
		     TP_ARGS(region, address, pgoff, page));

/* A MAP_PRIVATE write: do_cow_fault() copies the page pfn (region or zero). */
VMFAULT_DEFINE_EVENT(vmfault_page_event, vmfault_cow,
		     TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
			      struct page *page),
		     TP_ARGS(region, address, pgoff, page));

/*
 * A frame budget was full: the policy evicted the page at pgoff (pfn) of
 * region to make room for the page at for_pgoff of for_region (another
 * region under global replacement on the pool); dirty: it was written
 * back first; pid: the task whose miss it was. for_region 0 (and
 * for_pgoff 0): the kernel's reclaim took it (the shrinker; counted in
 * reclaimed, not evictions).
 */
VMFAULT_EVENT(vmfault_evict,
	      TP_PROTO(struct vmfault_region *region, pgoff_t pgoff, struct page *page,
		       u32 policy, bool dirty, struct vmfault_region *for_region,
		       pgoff_t for_pgoff),
	      TP_ARGS(region, pgoff, page, policy, dirty, for_region, for_pgoff),
	      TP_STRUCT__entry(__field(unsigned long, region)
			       __field(unsigned long, pgoff)
			       __field(unsigned long, pfn)
			       __field(unsigned long, for_region)
			       __field(unsigned long, for_pgoff)
			       __field(u32, policy)
			       __field(bool, dirty)
			       __field(pid_t, pid)),
	      TP_fast_assign(__entry->region = vmfault_region_id(region);
			     __entry->pgoff = pgoff;
			     __entry->pfn = page_to_pfn(page);
			     __entry->for_region = for_region ? vmfault_region_id(for_region) : 0;
			     __entry->for_pgoff = for_pgoff;
			     __entry->policy = policy;
			     __entry->dirty = dirty;
			     __entry->pid = current->pid;),
	      TP_printk("region=%lu pgoff=%lu pfn=0x%lx policy=%s dirty=%d for_region=%lu for_pgoff=%lu pid=%d",
			__entry->region, __entry->pgoff, __entry->pfn,
			__print_symbolic(__entry->policy,
					 { VMFAULT_POLICY_FIFO, "fifo" },
					 { VMFAULT_POLICY_CLOCK, "clock" },
					 { VMFAULT_POLICY_LRU, "lru" },
					 { VMFAULT_POLICY_OPT, "opt" },
					 { VMFAULT_POLICY_RANDOM, "random" }),
			__entry->dirty, __entry->for_region, __entry->for_pgoff, __entry->pid)
);

/*
 * An access at pgoff got SIGBUS: past the region's data, size_pages pages
 * (its size; in file mode the backing file's end if that comes first), or
 * (file mode, pgoff below size_pages) its read failed.
 */
VMFAULT_EVENT(vmfault_sigbus,
	      TP_PROTO(struct vm_fault *vmf, struct vmfault_region *region,
		       unsigned long size_pages),
	      TP_ARGS(vmf, region, size_pages),
	      TP_STRUCT__entry(__field(unsigned long, region)
			       __field(unsigned long, address)
			       __field(unsigned long, pgoff)
			       __field(unsigned long, size_pages)),
	      TP_fast_assign(__entry->region = vmfault_region_id(region);
			     __entry->address = vmf->address;
			     __entry->pgoff = vmf->pgoff;
			     __entry->size_pages = size_pages;),
	      TP_printk("region=%lu address=0x%lx pgoff=%lu size_pages=%lu",
			__entry->region, __entry->address, __entry->pgoff,
			__entry->size_pages)
);

VMFAULT_EVENT_CLASS(vmfault_io_event,
		    TP_PROTO(struct vmfault_region *region, pgoff_t pgoff, unsigned int nr_pages,
			     long bytes, u64 latency_ns, int err),
		    TP_ARGS(region, pgoff, nr_pages, bytes, latency_ns, err),
		    TP_STRUCT__entry(__field(unsigned long, region)
				     __field(unsigned long, pgoff)
				     __field(unsigned int, nr_pages)
				     __field(long long, pos)
				     __field(long, bytes)
				     __field(u64, latency_ns)
				     __field(int, err)),
		    TP_fast_assign(__entry->region = vmfault_region_id(region);
				   __entry->pgoff = pgoff;
				   __entry->nr_pages = nr_pages;
				   __entry->pos = vmfault_file_pos(region, pgoff);
				   __entry->bytes = bytes;
				   __entry->latency_ns = latency_ns;
				   __entry->err = err;),
		    TP_printk("region=%lu pgoff=%lu nr_pages=%u pos=%lld bytes=%ld latency_ns=%llu err=%d",
			      __entry->region, __entry->pgoff, __entry->nr_pages,
			      __entry->pos, __entry->bytes, __entry->latency_ns,
			      __entry->err)
);

/*
 * File mode: one read of the backing file filled nr_pages region pages
 * from pgoff (file offset pos): bytes read (past them, zeros), its
 * latency, and err (0, or the negative errno that failed it).
 */
VMFAULT_DEFINE_EVENT(vmfault_io_event, vmfault_demand_read,
		     TP_PROTO(struct vmfault_region *region, pgoff_t pgoff, unsigned int nr_pages,
			      long bytes, u64 latency_ns, int err),
		     TP_ARGS(region, pgoff, nr_pages, bytes, latency_ns, err));

/* File mode: nr_pages dirty pages from pgoff were written back to pos. */
VMFAULT_DEFINE_EVENT(vmfault_io_event, vmfault_writeback,
		     TP_PROTO(struct vmfault_region *region, pgoff_t pgoff, unsigned int nr_pages,
			      long bytes, u64 latency_ns, int err),
		     TP_ARGS(region, pgoff, nr_pages, bytes, latency_ns, err));

/*
 * Pager mode: the fault at address (page pgoff of region) of thread tid
 * posted an event for the handler and waits: flags are the event's
 * (VMFAULT_PAGER_EVENT_WRITE 1, VMFAULT_PAGER_EVENT_WP 2).
 */
VMFAULT_EVENT(vmfault_pager_event,
	      TP_PROTO(struct vmfault_region *region, unsigned long address, pgoff_t pgoff,
		       u32 flags),
	      TP_ARGS(region, address, pgoff, flags),
	      TP_STRUCT__entry(__field(unsigned long, region)
			       __field(unsigned long, address)
			       __field(unsigned long, pgoff)
			       __field(u32, flags)
			       __field(pid_t, tid)),
	      TP_fast_assign(__entry->region = vmfault_region_id(region);
			     __entry->address = address;
			     __entry->pgoff = pgoff;
			     __entry->flags = flags;
			     __entry->tid = current->pid;),
	      TP_printk("region=%lu address=0x%lx pgoff=%lu %s%s tid=%d",
			__entry->region, __entry->address, __entry->pgoff,
			__entry->flags & VMFAULT_PAGER_EVENT_WRITE ? "write" : "read",
			__entry->flags & VMFAULT_PAGER_EVENT_WP ? "|wp" : "|missing",
			__entry->tid)
);

/*
 * Pager mode: the handler (pid) answered nr_pages pages from pgoff with op
 * (supply, zeropage, protect, unprotect, invalidate, wake, map): done of them,
 * err (0 or a negative errno), woken waiting faults.
 */
VMFAULT_EVENT(vmfault_pager_answer,
	      TP_PROTO(struct vmfault_region *region, int op, pgoff_t pgoff,
		       unsigned long nr_pages, unsigned long done, int err, unsigned long woken),
	      TP_ARGS(region, op, pgoff, nr_pages, done, err, woken),
	      TP_STRUCT__entry(__field(unsigned long, region)
			       __field(int, op)
			       __field(unsigned long, pgoff)
			       __field(unsigned long, nr_pages)
			       __field(unsigned long, done)
			       __field(unsigned long, woken)
			       __field(int, err)
			       __field(pid_t, pid)),
	      TP_fast_assign(__entry->region = vmfault_region_id(region);
			     __entry->op = op;
			     __entry->pgoff = pgoff;
			     __entry->nr_pages = nr_pages;
			     __entry->done = done;
			     __entry->woken = woken;
			     __entry->err = err;
			     __entry->pid = current->pid;),
	      TP_printk("region=%lu op=%s pgoff=%lu nr_pages=%lu done=%lu err=%d woken=%lu pid=%d",
			__entry->region,
			__print_symbolic(__entry->op,
					 { VMFAULT_PAGER_SUPPLY, "supply" },
					 { VMFAULT_PAGER_ZEROPAGE, "zeropage" },
					 { VMFAULT_PAGER_PROTECT, "protect" },
					 { VMFAULT_PAGER_UNPROTECT, "unprotect" },
					 { VMFAULT_PAGER_INVALIDATE, "invalidate" },
					 { VMFAULT_PAGER_WAKE, "wake" },
					 { VMFAULT_PAGER_MAP, "map" }),
			__entry->pgoff, __entry->nr_pages,
			__entry->done, __entry->err, __entry->woken, __entry->pid)
);

#endif /* _VMFAULT_TRACE_H */

/*
 * The accounting every served fault ends with, inline: a read of a hole
 * costs about 1700 instructions, and a call with eight arguments to count
 * two events was 2% of it. Outside the guard above, which define_trace.h
 * reads again; guarded once on its own.
 */
#ifndef _VMFAULT_TRACE_FAULT_DONE
#define _VMFAULT_TRACE_FAULT_DONE

/**
 * vmfault_fault_start() - the start of a fault, for its latency
 *
 * Reads the clock only while the vmfault_fault event is enabled.
 *
 * Return: nanoseconds, or 0 when not traced.
 */
static inline u64 vmfault_fault_start(void)
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
 * A fault is counted once, as a read or a write: the "faults" counter is
 * their sum (counters.c).
 */
static inline void vmfault_fault_done_at(struct vmfault_region *region, unsigned long address,
					 pgoff_t pgoff, bool write, bool shared,
					 unsigned int cause, enum vmfault_outcome outcome,
					 u64 start)
{
	vmfault_count(region, write ? VMFAULT_CNT_WRITE_FAULTS : VMFAULT_CNT_READ_FAULTS);
	if (trace_vmfault_fault_enabled())
		vmfault_fault_trace(region, address, pgoff, write, shared, cause, outcome, start);
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
static inline void vmfault_fault_done(struct vm_fault *vmf, struct vmfault_region *region,
				      bool write, enum vmfault_outcome outcome, u64 start)
{
	if (vmf->flags & FAULT_FLAG_TRIED)
		return;
	/*
	 * Not a call of vmfault_fault_done_at(): GCC then loads the trace's
	 * four arguments before the static branch, on every fault.
	 */
	vmfault_count(region, write ? VMFAULT_CNT_WRITE_FAULTS : VMFAULT_CNT_READ_FAULTS);
	if (trace_vmfault_fault_enabled())
		vmfault_fault_trace(region, vmf->address, vmf->pgoff, write,
				    vmf->vma->vm_flags & VM_SHARED, vmf->flags, outcome, start);
}

#endif /* _VMFAULT_TRACE_FAULT_DONE */

#ifndef VMFAULT_NO_STATS
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmfault_trace
#include <trace/define_trace.h>
#endif
