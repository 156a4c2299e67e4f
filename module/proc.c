// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault's /proc files: /proc/vmfault, the global counters and the page
 * totals, for everyone; /proc/vmfault_regions, one line per open region
 * with its owner and counters, and /proc/vmfault_pages, what the module
 * holds for each page of a mapping, for root.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vmfault.h"

static int vmfault_proc_show(struct seq_file *m, void *v)
{
	u64 sum[VMFAULT_NR_COUNTERS];
	int i;

	vmfault_global_counters_sum(sum);
	for (i = 0; i < VMFAULT_NR_COUNTERS; i++)
		seq_printf(m, "%s %llu\n", vmfault_counter_names[i], sum[i]);
	seq_printf(m, "regions %u\n", vmfault_regions_count());
	seq_printf(m, "pages_resident %lld\n", percpu_counter_sum(&vmfault_pages_used));
	seq_printf(m, "max_pages %lu\n", READ_ONCE(vmfault_max_pages));
	vmfault_pool_show(m);
	vmfault_pager_show(m);
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
		   info.mode == VMFAULT_MODE_FILE ? "file" :
		   info.mode == VMFAULT_MODE_PAGER ? "pager" : "?", info.size,
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
 * DOC: /proc/vmfault_pages
 *
 * What the module holds for each page of one mapping, for the page-state
 * map (tools/vmfault-pagemap), which sees only the page tables otherwise:
 * a page that is resident in its region but not mapped in this process
 * (unmapped by the clock hand, by reference tracing or a working-set
 * sample, or never touched here) and a page swapped out to the region's
 * swap file look alike there, not present. Root writes "PID ADDRESS"
 * (ADDRESS in hex) and reads one character per page of that process's
 * vmfault mapping containing ADDRESS, from the mapping's start (the file
 * position is the page's index in the mapping):
 *
 * - ``r``: resident in the region (in its page store, up to date)
 * - ``s``: swapped out: its data is in the region's swap file
 * - ``e``: swapped out, and the read of it by a fault's first pass failed:
 *   that fault's retry answers SIGBUS (and makes it ``s`` again); a read
 *   that succeeds, a swap-out, and a task killed before its retry leave
 *   none (swap.c)
 * - ``-``: neither: a hole, or (file mode) only in the backing file
 *
 * Errors: EINVAL for a write that is not "PID ADDRESS" or a read before
 * one; ESRCH for no such process (or one with no memory); ENXIO when no
 * vmfault mapping contains ADDRESS.
 */
struct vmfault_pages_req {
	pid_t pid;
	unsigned long addr;
};

static int vmfault_pages_open(struct inode *inode, struct file *file)
{
	struct vmfault_pages_req *req = kzalloc(sizeof(*req), GFP_KERNEL);

	file->private_data = req;
	return req ? 0 : -ENOMEM;
}

static int vmfault_pages_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t vmfault_pages_write(struct file *file, const char __user *ubuf, size_t len,
				   loff_t *ppos)
{
	struct vmfault_pages_req *req = file->private_data;
	unsigned long addr;
	char buf[48];
	int pid;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%d %lx", &pid, &addr) != 2 || pid <= 0)
		return -EINVAL;
	req->pid = pid;
	req->addr = addr;
	return len;
}

/*
 * The region file of the vmfault mapping at @req, with a reference, and
 * the mapping's first page offset and length in pages.
 */
static struct file *vmfault_pages_lookup(const struct vmfault_pages_req *req, pgoff_t *first,
					 unsigned long *nr)
{
	struct file *file = ERR_PTR(-ENXIO);
	struct vm_area_struct *vma;
	struct task_struct *task;
	struct mm_struct *mm;

	rcu_read_lock();
	task = pid_task(find_vpid(req->pid), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task)
		return ERR_PTR(-ESRCH);
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		return ERR_PTR(-ESRCH);
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return ERR_PTR(-EINTR);
	}
	vma = vma_lookup(mm, req->addr);
	if (vma && vma->vm_file && vmfault_is_region_file(vma->vm_file)) {
		file = get_file(vma->vm_file);
		*first = vma->vm_pgoff;
		*nr = vma_pages(vma);
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return file;
}

static ssize_t vmfault_pages_read(struct file *file, char __user *ubuf, size_t len,
				  loff_t *ppos)
{
	struct vmfault_pages_req *req = file->private_data;
	struct vmfault_region *region;
	unsigned long nr, i;
	struct file *rfile;
	struct page *page;
	pgoff_t first;
	ssize_t ret;
	char *buf;

	if (!req->pid)
		return -EINVAL;
	rfile = vmfault_pages_lookup(req, &first, &nr);
	if (IS_ERR(rfile))
		return PTR_ERR(rfile);
	region = rfile->private_data;
	ret = 0;
	if (*ppos < 0 || *ppos >= nr)
		goto out_fput;
	len = min3(len, (size_t)(nr - *ppos), (size_t)PAGE_SIZE);
	buf = kmalloc(len, GFP_KERNEL);
	ret = -ENOMEM;
	if (!buf)
		goto out_fput;
	for (i = 0; i < len; i++) {
		pgoff_t index = first + *ppos + i;

		rcu_read_lock();
		page = xa_load(&region->pages, index);
		if (page && !xa_is_value(page) && PageUptodate(page))
			buf[i] = 'r';
		else if (xa_load(&region->swapped, index))
			buf[i] = vmfault_swap_read_failed(region, index) ? 'e' : 's';
		else
			buf[i] = '-';
		rcu_read_unlock();
	}
	ret = copy_to_user(ubuf, buf, len) ? -EFAULT : len;
	if (ret > 0)
		*ppos += ret;
	kfree(buf);
out_fput:
	fput(rfile);
	return ret;
}

static const struct proc_ops vmfault_pages_ops = {
	.proc_open	= vmfault_pages_open,
	.proc_read	= vmfault_pages_read,
	.proc_write	= vmfault_pages_write,
	.proc_lseek	= default_llseek,
	.proc_release	= vmfault_pages_release,
};

/**
 * vmfault_proc_init() - create /proc/vmfault, vmfault_regions, vmfault_pages
 *
 * /proc/vmfault (global counts) is for everyone; /proc/vmfault_regions
 * names every region's owner, size and counters, and /proc/vmfault_pages
 * looks into any process's mappings, so only root reads them.
 *
 * Return: 0, or -ENOMEM.
 */
int vmfault_proc_init(void)
{
	if (!proc_create_single("vmfault", 0444, NULL, vmfault_proc_show))
		return -ENOMEM;
	if (!proc_create_single("vmfault_regions", 0400, NULL, vmfault_regions_show))
		goto err_remove_vmfault;
	if (!proc_create("vmfault_pages", 0600, NULL, &vmfault_pages_ops))
		goto err_remove_regions;
	return 0;

err_remove_regions:
	remove_proc_entry("vmfault_regions", NULL);
err_remove_vmfault:
	remove_proc_entry("vmfault", NULL);
	return -ENOMEM;
}

/** vmfault_proc_exit() - remove the /proc files */
void vmfault_proc_exit(void)
{
	remove_proc_entry("vmfault_pages", NULL);
	remove_proc_entry("vmfault_regions", NULL);
	remove_proc_entry("vmfault", NULL);
}
