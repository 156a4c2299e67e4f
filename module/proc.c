// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault's /proc files: /proc/vmfault, the global counters and the page
 * totals, for everyone; /proc/vmfault_regions, one line per open region
 * with its owner and counters, for root.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "vmfault.h"

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
	vmfault_pool_show(m);
	return 0;
}

/* One line of /proc/vmfault_regions; under the region list's mutex. */
static void vmfault_regions_show_one(struct vmfault_region *region, void *arg)
{
	struct vmfault_region_info info;
	struct vmfault_frames fr = {};
	struct seq_file *m = arg;
	int i;

	memset(&info, 0, sizeof(info));
	vmfault_region_get_info(region, &info);
	seq_printf(m, "%u %d %s %llu %llu", info.id, region->owner,
		   info.mode == VMFAULT_MODE_ZERO ? "zero" :
		   info.mode == VMFAULT_MODE_FILE ? "file" : "?", info.size,
		   info.resident);
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, " %llu", info.counters[i]);
	vmfault_budget_get(region, &fr);
	if (!fr.budget_frames && !(fr.flags & VMFAULT_FRAMES_POOL))
		seq_puts(m, " 0 -\n");
	else
		seq_printf(m, " %llu %s%s\n", fr.budget_frames,
			   !(fr.flags & VMFAULT_FRAMES_POOL) ? "" :
			   fr.flags & VMFAULT_FRAMES_LOCAL ? "pool-local:" : "pool:",
			   vmfault_policy_name(fr.policy));
}

/**
 * vmfault_regions_show() - /proc/vmfault_regions: one line per open region
 * @m: the seq_file
 * @v: unused
 *
 * A header line names the columns: id, owner (tgid of the opener), mode,
 * size (bytes), resident (pages), then every counter of /proc/vmfault,
 * then the frame budget (frames, 0 for none; the pool's for a pool region)
 * and its policy ("-" for none; "pool:" or "pool-local:" before a pool
 * region's).
 *
 * Return: 0.
 */
static int vmfault_regions_show(struct seq_file *m, void *v)
{
	int i;

	seq_puts(m, "id owner mode size resident");
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, " %s", vmfault_counter_names[i]);
	seq_puts(m, " frames policy\n");

	vmfault_regions_for_each(vmfault_regions_show_one, m);
	return 0;
}

/**
 * vmfault_proc_init() - create /proc/vmfault and /proc/vmfault_regions
 *
 * /proc/vmfault (global counts) is for everyone; /proc/vmfault_regions
 * names every region's owner, size and counters, so only root reads it.
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_proc_init(void)
{
	if (!proc_create_single("vmfault", 0444, NULL, vmfault_proc_show))
		return -ENOMEM;
	if (!proc_create_single("vmfault_regions", 0400, NULL, vmfault_regions_show)) {
		remove_proc_entry("vmfault", NULL);
		return -ENOMEM;
	}
	return 0;
}

/** vmfault_proc_exit() - remove the /proc files */
void vmfault_proc_exit(void)
{
	remove_proc_entry("vmfault_regions", NULL);
	remove_proc_entry("vmfault", NULL);
}
