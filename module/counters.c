// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault counters: per-CPU event counts, global and per region, and the
 * /proc/vmfault file that sums them (/proc/vmfault_regions, one line per
 * region, is region.c's).
 *
 * The fault path only increments this CPU's slots (no lock, no atomic);
 * readers sum over all possible CPUs, so a reader racing with a fault may
 * see the fault's counters partly updated but never a torn value.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "compat.h"
#include "vmfault.h"
#include "vmfault_trace.h"

DEFINE_PER_CPU(struct vmfault_counters, vmfault_global_counters);

/* /proc/vmfault names, in enum vmfault_counter order. */
const char * const vmfault_counter_names[VMFAULT_NR_COUNTERS] = {
	[VMFAULT_CNT_FAULTS]		 = "faults",
	[VMFAULT_CNT_READ_FAULTS]	 = "read_faults",
	[VMFAULT_CNT_WRITE_FAULTS]	 = "write_faults",
	[VMFAULT_CNT_ZERO_PAGE_MAPS]	 = "zero_page_maps",
	[VMFAULT_CNT_ZERO_PAGE_UPGRADES] = "zero_page_upgrades",
	[VMFAULT_CNT_COW_FAULTS]	 = "cow_faults",
	[VMFAULT_CNT_MKWRITES]		 = "mkwrites",
	[VMFAULT_CNT_PAGES_ALLOCATED]	 = "pages_allocated",
	[VMFAULT_CNT_PAGES_FREED]	 = "pages_freed",
	[VMFAULT_CNT_SIGBUS]		 = "sigbus",
	[VMFAULT_CNT_OOM]		 = "oom",
	[VMFAULT_CNT_MAJOR_FAULTS]	 = "major_faults",
	[VMFAULT_CNT_FILE_READS]	 = "file_reads",
	[VMFAULT_CNT_PAGES_READ]	 = "pages_read",
	[VMFAULT_CNT_BYTES_READ]	 = "bytes_read",
	[VMFAULT_CNT_READ_NS]		 = "read_ns",
	[VMFAULT_CNT_FAULT_AROUND]	 = "fault_around_pages",
	[VMFAULT_CNT_PAGES_DIRTIED]	 = "pages_dirtied",
	[VMFAULT_CNT_WRITEBACKS]	 = "writebacks",
	[VMFAULT_CNT_PAGES_WRITTEN]	 = "pages_written",
	[VMFAULT_CNT_BYTES_WRITTEN]	 = "bytes_written",
	[VMFAULT_CNT_IO_ERRORS]		 = "io_errors",
	[VMFAULT_CNT_FAULT_RETRIES]	 = "fault_retries",
	[VMFAULT_CNT_CACHED_READS]	 = "cached_reads",
	[VMFAULT_CNT_HWPOISON]		 = "hwpoison",
	[VMFAULT_CNT_LIMIT_REFUSALS]	 = "limit_refusals",
};

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
 * @outcome: what the handler did
 * @start: vmfault_fault_start() at the handler's entry
 *
 * For a fault that has dropped mmap_lock and may no longer look at its vma.
 */
void vmfault_fault_done_at(struct vmfault_region *region, unsigned long address,
			   pgoff_t pgoff, bool write, bool shared,
			   enum vmfault_outcome outcome, u64 start)
{
	vmfault_count(region, VMFAULT_CNT_FAULTS);
	vmfault_count(region, write ? VMFAULT_CNT_WRITE_FAULTS : VMFAULT_CNT_READ_FAULTS);
	if (trace_vmfault_fault_enabled())
		trace_vmfault_fault(vmfault_region_id(region), address, pgoff, write, shared,
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
			      vmf->vma->vm_flags & VM_SHARED, outcome, start);
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
	trace_vmfault_sigbus(vmfault_region_id(region), vmf->address, vmf->pgoff, size_pages);
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
 * vmfault_counters_sum() - add up a per-CPU counter set
 * @stats: the per-CPU set
 * @out: VMFAULT_NR_COUNTERS sums
 */
void vmfault_counters_sum(struct vmfault_counters __percpu *stats, u64 *out)
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * VMFAULT_NR_COUNTERS);
	for_each_possible_cpu(cpu) {
		const struct vmfault_counters *c = per_cpu_ptr(stats, cpu);

		for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
			out[i] += READ_ONCE(c->v[i]);
	}
}

/**
 * vmfault_counter_sum() - add up one counter of a per-CPU set
 * @stats: the per-CPU set
 * @idx: which counter
 *
 * Return: the sum over all possible CPUs.
 */
u64 vmfault_counter_sum(struct vmfault_counters __percpu *stats, enum vmfault_counter idx)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(stats, cpu)->v[idx]);
	return sum;
}

static int vmfault_proc_show(struct seq_file *m, void *v)
{
	u64 sum[VMFAULT_NR_COUNTERS];
	int i;

	vmfault_counters_sum(&vmfault_global_counters, sum);
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, "%s %llu\n", vmfault_counter_names[i], sum[i]);
	seq_printf(m, "regions %u\n", vmfault_regions_count());
	seq_printf(m, "pages_resident %lld\n", percpu_counter_sum(&vmfault_pages_used));
	seq_printf(m, "max_pages %lu\n", READ_ONCE(vmfault_max_pages));
	return 0;
}

/**
 * vmfault_counters_init() - create /proc/vmfault and /proc/vmfault_regions
 *
 * /proc/vmfault (global counts) is for everyone; /proc/vmfault_regions
 * names every region's owner, size and counters, so only root reads it.
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_counters_init(void)
{
	if (!proc_create_single("vmfault", 0444, NULL, vmfault_proc_show))
		return -ENOMEM;
	if (!proc_create_single("vmfault_regions", 0400, NULL, vmfault_regions_show)) {
		remove_proc_entry("vmfault", NULL);
		return -ENOMEM;
	}
	return 0;
}

/** vmfault_counters_exit() - remove the /proc files */
void vmfault_counters_exit(void)
{
	remove_proc_entry("vmfault_regions", NULL);
	remove_proc_entry("vmfault", NULL);
}
