// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault counters: per-CPU event counts, global and per region, and the
 * /proc/vmfault file that sums them.
 *
 * The fault path only increments this CPU's slots (no lock, no atomic);
 * readers sum over all possible CPUs, so a reader racing with a fault may
 * see the fault's counters partly updated but never a torn value.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "vmfault.h"

static DEFINE_PER_CPU(struct vmfault_counters, vmfault_global_counters);

/* Regions currently open; changes on open/release only, not on faults. */
static atomic_t vmfault_nr_regions = ATOMIC_INIT(0);

/* /proc/vmfault names, in enum vmfault_counter order. */
static const char * const vmfault_counter_names[VMFAULT_NR_COUNTERS] = {
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
};

/**
 * vmfault_count() - count one event, globally and for a region
 * @region: the region the event happened in
 * @idx: which counter
 *
 * Safe in any context that may be preempted: this_cpu_inc() is one
 * preemption-safe instruction on x86 and an irq-safe sequence elsewhere.
 */
void vmfault_count(struct vmfault_region *region, enum vmfault_counter idx)
{
	this_cpu_inc(vmfault_global_counters.v[idx]);
	this_cpu_inc(region->stats->v[idx]);
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

/** vmfault_regions_inc() - a region was created */
void vmfault_regions_inc(void)
{
	atomic_inc(&vmfault_nr_regions);
}

/** vmfault_regions_dec() - a region was destroyed */
void vmfault_regions_dec(void)
{
	atomic_dec(&vmfault_nr_regions);
}

static int vmfault_proc_show(struct seq_file *m, void *v)
{
	u64 sum[VMFAULT_NR_COUNTERS];
	int i;

	vmfault_counters_sum(&vmfault_global_counters, sum);
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, "%s %llu\n", vmfault_counter_names[i], sum[i]);
	seq_printf(m, "regions %d\n", atomic_read(&vmfault_nr_regions));
	return 0;
}

/**
 * vmfault_counters_init() - create /proc/vmfault
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_counters_init(void)
{
	if (!proc_create_single("vmfault", 0444, NULL, vmfault_proc_show))
		return -ENOMEM;
	return 0;
}

/** vmfault_counters_exit() - remove /proc/vmfault */
void vmfault_counters_exit(void)
{
	remove_proc_entry("vmfault", NULL);
}
