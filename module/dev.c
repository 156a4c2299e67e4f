// SPDX-License-Identifier: GPL-2.0
/*
 * vmfault device: /dev/vmfault, a misc device whose every open() is a
 * region (region.c) that mmap() exposes through the module's own fault
 * handlers (fault.c, fault_zero.c, fault_file.c) and read()/write() reach
 * directly (io.c); proc.c has its /proc files and counters.c its counters.
 *
 * The files call one way only, never in a circle: dev.c on proc.c, io.c,
 * file_io.c and region.c; io.c on fault_zero.c and file_io.c; the fault
 * handlers on fault.c; all of them on region.c (lifetime, configuration,
 * the page store), and region.c on counters.c, which calls nothing.
 *
 * Each region gets a private inode from a small pseudo filesystem, and the
 * file's f_mapping points at that inode's address_space (as DRM does).
 * All opens of /dev/vmfault share one device inode; without this, an
 * unmap_mapping_range() for one region would zap every region's mappings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/oom.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/uaccess.h>

#include "vmfault.h"

#define VMFAULT_FS_MAGIC	0x766d6674	/* "vmft" */

static ushort devmode = 0600;
module_param(devmode, ushort, 0444);
MODULE_PARM_DESC(devmode, "permissions of /dev/vmfault (default 0600)");

/*
 * All regions together hold at most this many pages, as tmpfs's size=
 * bounds a mount: a fault past it gets SIGBUS, a write() ENOSPC. Root may
 * change it at run time; 0 at load time means half of RAM, tmpfs's
 * default.
 */
unsigned long vmfault_max_pages;
module_param_named(max_pages, vmfault_max_pages, ulong, 0644);
MODULE_PARM_DESC(max_pages, "most pages all regions may hold (default: half of RAM)");

/* Pages that regions hold; a per-CPU counter, as tmpfs's used_blocks. */
struct percpu_counter vmfault_pages_used;

/* The munmap writebacks that a kernel thread queues (fault_file.c). */
struct workqueue_struct *vmfault_wq;

/*
 * The background reads of VMFAULT_FLAG_ASYNC_PREFETCH (fault_file.c). High
 * priority: the page cache sends its readahead from the faulting task at
 * once, and a read queued behind that task would go out only when the
 * task next sleeps, a window late. Its workers mostly wait for the READ.
 */
struct workqueue_struct *vmfault_ra_wq;

/* The pseudo filesystem is mounted while any region exists. */
static struct vfsmount *vmfault_mnt;
static int vmfault_mnt_count;

static int vmfault_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VMFAULT_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type vmfault_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "vmfault",
	.init_fs_context	= vmfault_fs_init_fs_context,
	.kill_sb		= kill_anon_super,
};

static int vmfault_open(struct inode *inode, struct file *file)
{
	struct vmfault_region *region;
	struct inode *anon;
	int ret;

	ret = simple_pin_fs(&vmfault_fs_type, &vmfault_mnt, &vmfault_mnt_count);
	if (ret)
		return ret;
	anon = alloc_anon_inode(vmfault_mnt->mnt_sb);
	if (IS_ERR(anon)) {
		ret = PTR_ERR(anon);
		goto err_release_fs;
	}
	region = vmfault_region_create(anon);
	if (!region) {
		ret = -ENOMEM;
		goto err_iput;
	}
	file->private_data = region;
	file->f_mapping = anon->i_mapping;
	/* Writeback errors are the region's inode's to report (errseq). */
	file->f_wb_err = filemap_sample_wb_err(file->f_mapping);
	return 0;

err_iput:
	iput(anon);
err_release_fs:
	simple_release_fs(&vmfault_mnt, &vmfault_mnt_count);
	return ret;
}

/* The last writeback of a region, then the region, its inode and the mount go. */
static void vmfault_region_release(struct vmfault_region *region)
{
	struct inode *anon = region->inode;
	int err;

	/* Background reads use the region: let them end (they start no more). */
	vmfault_file_ra_wait(region, false);
	/* The last chance to write dirty pages back: no mapping or fd is left. */
	err = vmfault_file_flush(region, false);
	if (err)
		pr_warn_ratelimited("region %lu released with dirty pages that could not be written back: %d\n",
				    vmfault_region_id(region), err);
	vmfault_region_destroy(region);
	iput(anon);
	simple_release_fs(&vmfault_mnt, &vmfault_mnt_count);
}

static void vmfault_release_workfn(struct work_struct *work)
{
	vmfault_region_release(container_of(work, struct vmfault_region, release_work));
}

/*
 * The last fput() of a region. A thread of a SIGKILLed process (any but
 * the one that took the signal) has SIGKILL pending while it exits, and a
 * killable I/O, such as a FUSE or NFS request, fails in it at once: its
 * last writeback would lose the dirty pages. Such a release runs on the
 * module's workqueue, which no signal reaches; module unload waits for it.
 * So does the release of a task killed while it waits for the region's
 * background reads (VMFAULT_FLAG_ASYNC_PREFETCH) to end.
 */
static int vmfault_release(struct inode *inode, struct file *file)
{
	struct vmfault_region *region = file->private_data;

	if ((fatal_signal_pending(current) && xa_marked(&region->pages, VMFAULT_PAGE_DIRTY)) ||
	    !vmfault_file_ra_wait(region, true)) {
		INIT_WORK(&region->release_work, vmfault_release_workfn);
		queue_work(vmfault_wq, &region->release_work);
		return 0;
	}
	vmfault_region_release(region);
	return 0;
}

/* Every close() of a region fd (and exit) writes its dirty pages back. */
static int vmfault_flush(struct file *file, fl_owner_t id)
{
	return vmfault_file_flush(file->private_data, false);
}

/*
 * fsync(), fdatasync(), msync(MS_SYNC) and VMFAULT_IOC_FLUSH: write back,
 * fsync the backing file, and report a loss of data since this fd's last
 * look (a dirty page that was hardware-poisoned), once per fd.
 */
static int vmfault_sync(struct file *file)
{
	int err = vmfault_file_flush(file->private_data, true);
	int lost = file_check_and_advance_wb_err(file);

	return err ?: lost;
}

static int vmfault_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	return vmfault_sync(file);
}

static int vmfault_mmap(struct file *file, struct vm_area_struct *vma)
{
	return vmfault_region_map(file->private_data, vma);
}

static long vmfault_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmfault_region *region = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VMFAULT_IOC_CONFIGURE: {
		struct vmfault_config cfg;

		if (copy_from_user(&cfg, uarg, sizeof(cfg)))
			return -EFAULT;
		return vmfault_region_configure(region, &cfg);
	}
	case VMFAULT_IOC_GET_INFO: {
		struct vmfault_region_info info = {};

		vmfault_region_get_info(region, &info);
		if (copy_to_user(uarg, &info, sizeof(info)))
			return -EFAULT;
		return 0;
	}
	case VMFAULT_IOC_FLUSH:
		return vmfault_sync(file);
	case VMFAULT_IOC_SET_FRAMES: {
		struct vmfault_frames fr;

		if (copy_from_user(&fr, uarg, sizeof(fr)))
			return -EFAULT;
		return vmfault_budget_set(region, &fr);
	}
	case VMFAULT_IOC_GET_FRAMES: {
		struct vmfault_frames fr = {};

		vmfault_budget_get(region, &fr);
		if (copy_to_user(uarg, &fr, sizeof(fr)))
			return -EFAULT;
		return 0;
	}
	case VMFAULT_IOC_WS_SAMPLE: {
		struct vmfault_ws_sample ws;
		int err;

		if (copy_from_user(&ws, uarg, sizeof(ws)))
			return -EFAULT;
		err = vmfault_wset_sample(region, &ws);
		if (!err && copy_to_user(uarg, &ws, sizeof(ws)))
			err = -EFAULT;
		return err;
	}
	case VMFAULT_IOC_PAGER_OPEN:
		return vmfault_pager_open(file, arg);
	case VMFAULT_IOC_SET_REFS: {
		struct vmfault_refs r;

		if (copy_from_user(&r, uarg, sizeof(r)))
			return -EFAULT;
		return vmfault_budget_set_refs(region, &r);
	}
	default:
		return -ENOTTY;
	}
}

const struct file_operations vmfault_fops = {
	.owner		= THIS_MODULE,
	.open		= vmfault_open,
	.release	= vmfault_release,
	.flush		= vmfault_flush,
	.fsync		= vmfault_fsync,
	.mmap		= vmfault_mmap,
	.read_iter	= vmfault_read_iter,
	.write_iter	= vmfault_write_iter,
	.unlocked_ioctl	= vmfault_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= vmfault_llseek,
};

/*
 * Before the OOM killer picks a victim by RSS, say what the regions hold:
 * it cannot see region pages that no process maps.
 */
static int vmfault_oom_notify(struct notifier_block *nb, unsigned long unused, void *freed)
{
	vmfault_regions_report();
	return NOTIFY_OK;
}

static struct notifier_block vmfault_oom_nb = {
	.notifier_call = vmfault_oom_notify,
};

static struct miscdevice vmfault_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vmfault",
	.fops	= &vmfault_fops,
};

static int __init vmfault_init(void)
{
	int ret;

	if (devmode & ~0777) {
		pr_err("devmode %#o is not a permission mode (0 to 0777)\n", devmode);
		return -EINVAL;
	}
	vmfault_misc.mode = devmode;
	if (!vmfault_max_pages)
		vmfault_max_pages = totalram_pages() / 2;

	ret = percpu_counter_init(&vmfault_pages_used, 0, GFP_KERNEL);
	if (ret)
		return ret;
	ret = vmfault_cow_zero_init();
	if (ret)
		goto err_counter_destroy;
	vmfault_wq = alloc_workqueue("vmfault", WQ_UNBOUND, 0);
	if (!vmfault_wq) {
		ret = -ENOMEM;
		goto err_cow_zero_exit;
	}
	vmfault_ra_wq = alloc_workqueue("vmfault_ra", WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!vmfault_ra_wq) {
		ret = -ENOMEM;
		goto err_destroy_wq;
	}
	ret = vmfault_evict_init();
	if (ret)
		goto err_destroy_ra_wq;
	ret = vmfault_proc_init();
	if (ret)
		goto err_evict_exit;
	ret = register_oom_notifier(&vmfault_oom_nb);
	if (ret)
		goto err_proc_exit;
	ret = misc_register(&vmfault_misc);
	if (ret)
		goto err_unregister_oom;
	return 0;

err_unregister_oom:
	unregister_oom_notifier(&vmfault_oom_nb);
err_proc_exit:
	vmfault_proc_exit();
err_evict_exit:
	vmfault_evict_exit();
err_destroy_ra_wq:
	destroy_workqueue(vmfault_ra_wq);
err_destroy_wq:
	destroy_workqueue(vmfault_wq);
err_cow_zero_exit:
	vmfault_cow_zero_exit();
err_counter_destroy:
	percpu_counter_destroy(&vmfault_pages_used);
	return ret;
}

static void __exit vmfault_exit(void)
{
	misc_deregister(&vmfault_misc);
	unregister_oom_notifier(&vmfault_oom_nb);
	vmfault_proc_exit();
	/*
	 * A munmap writeback on the queue may still be returning from its
	 * fput() of a region (whose release dropped the module reference
	 * that kept us loaded): wait for it before the text goes. So too
	 * for a background read's job, which still runs after it has
	 * dropped its region's count (vmfault_file_ra_workfn()).
	 */
	destroy_workqueue(vmfault_ra_wq);
	destroy_workqueue(vmfault_wq);
	/* After the queue: a region's release on it frees its frames. */
	vmfault_evict_exit();
	vmfault_cow_zero_exit();
	percpu_counter_destroy(&vmfault_pages_used);
}

module_init(vmfault_init);
module_exit(vmfault_exit);

MODULE_DESCRIPTION("vmfault: page faults made observable (zero fill, COW, demand paging)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VMFAULT_VERSION);
