/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmfault tracepoints: /sys/kernel/tracing/events/vmfault/. Field names are
 * stable; Documentation/vmfault.rst lists them. "region" is the region's
 * id, the inode number of its private inode (also in /proc/vmfault_regions).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vmfault

#ifdef VMFAULT_NO_STATS
/*
 * The comparison build of the benchmarks (module/Kbuild, VMFAULT_NO_STATS=1):
 * no tracepoints at all, and no counters (vmfault.h). Never shipped.
 */
#ifndef _VMFAULT_TRACE_STUBS_H
#define _VMFAULT_TRACE_STUBS_H
#include "vmfault.h"

static inline bool trace_vmfault_fault_enabled(void) { return false; }
static inline bool trace_vmfault_zero_page_map_enabled(void) { return false; }
static inline void trace_vmfault_fault(unsigned long region, unsigned long address,
				       unsigned long pgoff, bool write, bool shared,
				       int outcome, u64 latency_ns) {}
static inline void trace_vmfault_zero_page_map(unsigned long region, unsigned long address,
					       unsigned long pgoff, unsigned long pfn) {}
static inline void trace_vmfault_page_alloc(unsigned long region, unsigned long address,
					    unsigned long pgoff, unsigned long pfn) {}
static inline void trace_vmfault_cow(unsigned long region, unsigned long address,
				     unsigned long pgoff, unsigned long pfn) {}
static inline void trace_vmfault_sigbus(unsigned long region, unsigned long address,
					unsigned long pgoff, unsigned long size_pages) {}
static inline void trace_vmfault_demand_read(unsigned long region, unsigned long pgoff,
					     unsigned int nr_pages, long long pos, long bytes,
					     u64 latency_ns, int err) {}
static inline void trace_vmfault_writeback(unsigned long region, unsigned long pgoff,
					   unsigned int nr_pages, long long pos, long bytes,
					   u64 latency_ns, int err) {}
#endif /* _VMFAULT_TRACE_STUBS_H */
#else /* !VMFAULT_NO_STATS */

#if !defined(_VMFAULT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VMFAULT_TRACE_H

#include <linux/mm.h>
#include <linux/tracepoint.h>

#include "vmfault.h"

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

TRACE_EVENT(vmfault_fault,
	    TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
		     bool write, bool shared, int outcome, u64 latency_ns),
	    TP_ARGS(region, address, pgoff, write, shared, outcome, latency_ns),
	    TP_STRUCT__entry(__field(unsigned long, region)
			     __field(unsigned long, address)
			     __field(unsigned long, pgoff)
			     __field(bool, write)
			     __field(bool, shared)
			     __field(int, outcome)
			     __field(u64, latency_ns)),
	    TP_fast_assign(__entry->region = region;
			   __entry->address = address;
			   __entry->pgoff = pgoff;
			   __entry->write = write;
			   __entry->shared = shared;
			   __entry->outcome = outcome;
			   __entry->latency_ns = latency_ns;),
	    TP_printk("region=%lu address=0x%lx pgoff=%lu %s %s outcome=%s latency_ns=%llu",
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
				       { VMFAULT_OUT_AROUND, "fault_around" }),
		      __entry->latency_ns)
);

DECLARE_EVENT_CLASS(vmfault_page_event,
		    TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
			     unsigned long pfn),
		    TP_ARGS(region, address, pgoff, pfn),
		    TP_STRUCT__entry(__field(unsigned long, region)
				     __field(unsigned long, address)
				     __field(unsigned long, pgoff)
				     __field(unsigned long, pfn)),
		    TP_fast_assign(__entry->region = region;
				   __entry->address = address;
				   __entry->pgoff = pgoff;
				   __entry->pfn = pfn;),
		    TP_printk("region=%lu address=0x%lx pgoff=%lu pfn=0x%lx",
			      __entry->region, __entry->address, __entry->pgoff,
			      __entry->pfn)
);

/* A read of a hole mapped the zero page (pfn) at address. */
DEFINE_EVENT(vmfault_page_event, vmfault_zero_page_map,
	     TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
		      unsigned long pfn),
	     TP_ARGS(region, address, pgoff, pfn));

/* A region page (pfn) was allocated: by a fault at address, or by write() (0). */
DEFINE_EVENT(vmfault_page_event, vmfault_page_alloc,
	     TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
		      unsigned long pfn),
	     TP_ARGS(region, address, pgoff, pfn));

/* A MAP_PRIVATE write: do_cow_fault() copies the page pfn (region or zero). */
DEFINE_EVENT(vmfault_page_event, vmfault_cow,
	     TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
		      unsigned long pfn),
	     TP_ARGS(region, address, pgoff, pfn));

/*
 * An access at pgoff got SIGBUS: past the region's data, size_pages pages
 * (its size; in file mode the backing file's end if that comes first), or
 * (file mode, pgoff below size_pages) its read failed.
 */
TRACE_EVENT(vmfault_sigbus,
	    TP_PROTO(unsigned long region, unsigned long address, unsigned long pgoff,
		     unsigned long size_pages),
	    TP_ARGS(region, address, pgoff, size_pages),
	    TP_STRUCT__entry(__field(unsigned long, region)
			     __field(unsigned long, address)
			     __field(unsigned long, pgoff)
			     __field(unsigned long, size_pages)),
	    TP_fast_assign(__entry->region = region;
			   __entry->address = address;
			   __entry->pgoff = pgoff;
			   __entry->size_pages = size_pages;),
	    TP_printk("region=%lu address=0x%lx pgoff=%lu size_pages=%lu",
		      __entry->region, __entry->address, __entry->pgoff,
		      __entry->size_pages)
);

DECLARE_EVENT_CLASS(vmfault_io_event,
		    TP_PROTO(unsigned long region, unsigned long pgoff, unsigned int nr_pages,
			     long long pos, long bytes, u64 latency_ns, int err),
		    TP_ARGS(region, pgoff, nr_pages, pos, bytes, latency_ns, err),
		    TP_STRUCT__entry(__field(unsigned long, region)
				     __field(unsigned long, pgoff)
				     __field(unsigned int, nr_pages)
				     __field(long long, pos)
				     __field(long, bytes)
				     __field(u64, latency_ns)
				     __field(int, err)),
		    TP_fast_assign(__entry->region = region;
				   __entry->pgoff = pgoff;
				   __entry->nr_pages = nr_pages;
				   __entry->pos = pos;
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
DEFINE_EVENT(vmfault_io_event, vmfault_demand_read,
	     TP_PROTO(unsigned long region, unsigned long pgoff, unsigned int nr_pages,
		      long long pos, long bytes, u64 latency_ns, int err),
	     TP_ARGS(region, pgoff, nr_pages, pos, bytes, latency_ns, err));

/* File mode: nr_pages dirty pages from pgoff were written back to pos. */
DEFINE_EVENT(vmfault_io_event, vmfault_writeback,
	     TP_PROTO(unsigned long region, unsigned long pgoff, unsigned int nr_pages,
		      long long pos, long bytes, u64 latency_ns, int err),
	     TP_ARGS(region, pgoff, nr_pages, pos, bytes, latency_ns, err));

#endif /* _VMFAULT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmfault_trace
#include <trace/define_trace.h>
#endif /* VMFAULT_NO_STATS */
