// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault counters: per-CPU event counts per region, and their sums (which
 * /proc/vmfault and GET_INFO show: proc.c, region.c).
 *
 * The fault path only adds to this CPU's share of its region's set (no
 * lock; vmfault_count()): one increment per event. A fault is counted as a
 * read or a write, and "faults" is their sum; an event that two counters
 * count is one slot (VMFAULT_SLOT_*, vmfault.h) that the sums add to
 * both. Readers sum over all possible CPUs, so a reader racing with a
 * fault may see the fault's counters partly updated but never a torn
 * value.
 *
 * The global counters are not counted a second time: they are the sum of
 * every live region's set and of the sets of regions gone, which a
 * region adds to vmfault_retired as it goes (vmfault_counters_retire()),
 * under the same mutex as the walk that sums them, so that a reader counts
 * each event once and a global counter never goes back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/percpu.h>

#include "vmfault.h"

/* Every region's counter set, from vmfault_counters_init() to vmfault_counters_retire(). */
static LIST_HEAD(vmfault_counter_sets);
/* The sums of the sets of regions gone. */
static u64 vmfault_retired[VMFAULT_NR_SLOTS];
static DEFINE_MUTEX(vmfault_counters_lock);	/* protects both */

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
	[VMFAULT_CNT_STACK_GROWTHS]	 = "stack_growths",
	[VMFAULT_CNT_STACK_SEGV]	 = "stack_segv",
	[VMFAULT_CNT_EVICTIONS]		 = "evictions",
	[VMFAULT_CNT_EVICTIONS_DIRTY]	 = "evictions_dirty",
	[VMFAULT_CNT_REF_FAULTS]	 = "ref_faults",
	[VMFAULT_CNT_RECLAIMED]		 = "reclaimed",
};

/* Add each CPU's share of @stats to @slots (VMFAULT_NR_SLOTS sums). */
static void vmfault_counters_sum_add(struct vmfault_counters __percpu *stats, u64 *slots)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct vmfault_counters *c = per_cpu_ptr(stats, cpu);

		for (i = 0; i < VMFAULT_NR_SLOTS; i++)
			slots[i] += atomic64_read(&c->v[i]);
	}
}

/*
 * Which counters each of the module's own slots adds to: a read of a hole
 * is a read fault and a zero page mapped, a hole mapped around it a zero
 * page mapped by fault-around, a zero-mode private write a write fault and
 * a copy-on-write fault. ("faults" is reads and writes: below.)
 */
static const struct {
	u8 counter, slot;
} vmfault_slot_adds[] = {
	{ VMFAULT_CNT_READ_FAULTS,	VMFAULT_SLOT_HOLE_READS },
	{ VMFAULT_CNT_ZERO_PAGE_MAPS,	VMFAULT_SLOT_HOLE_READS },
	{ VMFAULT_CNT_ZERO_PAGE_MAPS,	VMFAULT_SLOT_AROUND_ZERO },
	{ VMFAULT_CNT_FAULT_AROUND,	VMFAULT_SLOT_AROUND_ZERO },
	{ VMFAULT_CNT_WRITE_FAULTS,	VMFAULT_SLOT_COW_WRITES },
	{ VMFAULT_CNT_COW_FAULTS,	VMFAULT_SLOT_COW_WRITES },
};

/* The counters from the slots. */
static void vmfault_counters_from_slots(const u64 *slots, u64 *out)
{
	unsigned int i;

	memcpy(out, slots, sizeof(u64) * VMFAULT_NR_COUNTERS);
	for (i = 0; i < ARRAY_SIZE(vmfault_slot_adds); i++)
		out[vmfault_slot_adds[i].counter] += slots[vmfault_slot_adds[i].slot];
	out[VMFAULT_CNT_FAULTS] = out[VMFAULT_CNT_READ_FAULTS] + out[VMFAULT_CNT_WRITE_FAULTS];
}

/**
 * vmfault_counters_sum() - add up a per-CPU counter set
 * @stats: the per-CPU set
 * @out: VMFAULT_NR_COUNTERS sums
 */
void vmfault_counters_sum(struct vmfault_counters __percpu *stats, u64 *out)
{
	u64 slots[VMFAULT_NR_SLOTS] = {};

	vmfault_counters_sum_add(stats, slots);
	vmfault_counters_from_slots(slots, out);
}

/**
 * vmfault_global_counters_sum() - the global counters (/proc/vmfault)
 * @out: VMFAULT_NR_COUNTERS sums
 *
 * Every live region's set, plus those of the regions gone.
 */
void vmfault_global_counters_sum(u64 *out)
{
	struct vmfault_counter_set *set;
	u64 slots[VMFAULT_NR_SLOTS];

	mutex_lock(&vmfault_counters_lock);
	memcpy(slots, vmfault_retired, sizeof(vmfault_retired));
	list_for_each_entry(set, &vmfault_counter_sets, node)
		vmfault_counters_sum_add(set->pcpu, slots);
	mutex_unlock(&vmfault_counters_lock);
	vmfault_counters_from_slots(slots, out);
}

/**
 * vmfault_counters_init() - a new region's counter set, all zero
 * @set: its set
 *
 * From now on the global counters include the set.
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_counters_init(struct vmfault_counter_set *set)
{
	set->pcpu = alloc_percpu(struct vmfault_counters);
	if (!set->pcpu)
		return -ENOMEM;
	mutex_lock(&vmfault_counters_lock);
	list_add_tail(&set->node, &vmfault_counter_sets);
	mutex_unlock(&vmfault_counters_lock);
	return 0;
}

/**
 * vmfault_counters_retire() - a region's counts go into the global sums
 * @set: its set, counted in for the last time (its region is being freed)
 *
 * Frees the set's per-CPU shares.
 */
void vmfault_counters_retire(struct vmfault_counter_set *set)
{
	mutex_lock(&vmfault_counters_lock);
	vmfault_counters_sum_add(set->pcpu, vmfault_retired);
	list_del(&set->node);
	mutex_unlock(&vmfault_counters_lock);
	free_percpu(set->pcpu);
	set->pcpu = NULL;
}

/* One slot of a per-CPU set, over all possible CPUs. */
static u64 vmfault_slot_sum(struct vmfault_counters __percpu *stats, unsigned int slot)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += atomic64_read(&per_cpu_ptr(stats, cpu)->v[slot]);
	return sum;
}

/**
 * vmfault_counter_sum() - add up one counter of a per-CPU set
 * @stats: the per-CPU set
 * @idx: which counter
 *
 * Return: the sum over all possible CPUs, as vmfault_counters_sum() has it.
 */
u64 vmfault_counter_sum(struct vmfault_counters __percpu *stats, enum vmfault_counter idx)
{
	unsigned int i;
	u64 sum;

	if (idx == VMFAULT_CNT_FAULTS)
		return vmfault_counter_sum(stats, VMFAULT_CNT_READ_FAULTS) +
		       vmfault_counter_sum(stats, VMFAULT_CNT_WRITE_FAULTS);
	sum = vmfault_slot_sum(stats, idx);
	for (i = 0; i < ARRAY_SIZE(vmfault_slot_adds); i++)
		if (vmfault_slot_adds[i].counter == idx)
			sum += vmfault_slot_sum(stats, vmfault_slot_adds[i].slot);
	return sum;
}
