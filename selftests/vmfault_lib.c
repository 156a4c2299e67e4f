// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vmfault selftests, demo and benchmark programs
 * (declared and described in vmfault_lib.h). Compiled once and linked
 * into each program, as the kernel's selftests/mm do with vm_util.c.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "vmfault_lib.h"

long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}


int vmf_open(void)
{
	return open(VMFAULT_DEV, O_RDWR | O_CLOEXEC);
}


int vmf_configure(int fd, uint32_t mode, uint64_t size)
{
	struct vmfault_config cfg = { .mode = mode, .size = size };

	return ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg);
}


int vmf_info(int fd, struct vmfault_region_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, VMFAULT_IOC_GET_INFO, info);
}


uint64_t vmf_counter(int fd, enum vmfault_counter idx)
{
	struct vmfault_region_info info;

	if (vmf_info(fd, &info))
		return ~0ULL;
	return info.counters[idx];
}


uint64_t kv_read(const char *path, const char *name)
{
	char key[64];
	unsigned long long val;
	uint64_t ret = ~0ULL;
	FILE *f = fopen(path, "r");

	if (!f)
		return ret;
	while (fscanf(f, "%63s %llu", key, &val) == 2) {
		if (!strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}


uint64_t vmf_proc(const char *name)
{
	return kv_read("/proc/vmfault", name);
}


long rusage_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}


uint64_t pagemap_entry(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  ((uintptr_t)addr / page_size()) * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}


uint64_t pfn_of(const void *addr)
{
	uint64_t ent = pagemap_entry(addr);

	if (!(ent & PM_PRESENT))
		return 0;
	return ent & PM_PFN_MASK;
}


uint64_t kpage_read(const char *file, uint64_t pfn)
{
	uint64_t v = ~0ULL;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return v;
	if (pread(fd, &v, sizeof(v), pfn * sizeof(v)) != sizeof(v))
		v = ~0ULL;
	close(fd);
	return v;
}


uint64_t kpageflags(uint64_t pfn)
{
	return kpage_read("/proc/kpageflags", pfn);
}


uint64_t kpagecount(uint64_t pfn)
{
	return kpage_read("/proc/kpagecount", pfn);
}


bool kpf(uint64_t pfn, int bit)
{
	return (kpageflags(pfn) >> bit) & 1;
}


uint64_t zero_pfn(void)
{
	volatile char *p;
	uint64_t pfn;

	p = mmap(NULL, page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)p[0];
	pfn = pfn_of((const void *)p);
	munmap((void *)p, page_size());
	return pfn;
}


void __attribute__((noinline)) warm_stack(void)
{
	volatile char pad[64 << 10];
	struct rusage ru;

	memset((char *)pad, 0, sizeof(pad));
	getrusage(RUSAGE_SELF, &ru);
}


void *mmap_aligned(size_t len, size_t align, int prot, int flags, int fd,
		   off_t off)
{
	char *r = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (r == MAP_FAILED)
		return r;
	a = ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)r)
		munmap(r, a - (uintptr_t)r);
	munmap((char *)a + len, (uintptr_t)r + align - a);
	return mmap((void *)a, len, prot, flags | MAP_FIXED, fd, off);
}

void shuffle(uint32_t *a, size_t n, unsigned int seed)
{
	if (n < 2)
		return;
	srandom(seed);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = random() % (i + 1);
		uint32_t tmp = a[i];

		a[i] = a[j];
		a[j] = tmp;
	}
}

unsigned long fault_around_bytes(void)
{
	unsigned long bytes = 0;
	FILE *f;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	f = fopen("/sys/kernel/debug/fault_around_bytes", "r");
	if (f) {
		if (fscanf(f, "%lu", &bytes) != 1)
			bytes = 0;
		fclose(f);
	}
	return bytes;
}

int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

void pin_to_this_cpu(void)
{
	int cpu = sched_getcpu();

	if (cpu >= 0)
		pin_to_cpu(cpu);
}



bool zero_page_mapped_in(int flags)
{
	return !(flags & MAP_SHARED);
}



char *beside_self(const char *rel, char *buf)
{
	ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX - strlen(rel) - 1);
	char *slash;

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	strcpy(slash ? slash + 1 : buf, rel);
	return buf;
}


int pagemap_row(const void *addr, char *row, size_t len)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 64], line[128];
	const char *env = getenv("VMFAULT_PAGEMAP");
	int ok = -1;
	FILE *f;

	if (env)
		snprintf(tool, sizeof(tool), "%s", env);
	else if (!beside_self("../tools/vmfault-pagemap", tool) || access(tool, X_OK))
		strcpy(tool, "vmfault-pagemap");	/* installed: on $PATH */
	snprintf(cmd, sizeof(cmd), "%s -1 %d %lx", tool, getpid(), (unsigned long)addr);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (ok && !strncmp(line, "     0 ", 7)) {
			snprintf(row, len, "%s", line + 7);
			row[strcspn(row, "\n")] = '\0';
			ok = 0;
		}
	}
	return pclose(f) == 0 ? ok : -1;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t now_us(void)
{
	return now_ns() / 1000;
}

uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

int reap_child(pid_t pid, int *status, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return r == pid ? 0 : -1;
		usleep(10000);
	} while (now_ms() < end);
	return -1;
}

int child_signal(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	if (reap_child(pid, &status, 20000)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

bool all_bytes(const char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}


long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}


long smaps_kb(const void *addr, const char *field)
{
	unsigned long start, end;
	char line[256], fmt[64];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && sscanf(line, fmt, &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

long smaps_rss_kb(const void *addr)
{
	return smaps_kb(addr, "Rss");
}

int vmf_budget_file(const char *path, int oflags, const struct vmfault_frames *fr)
{
	struct vmfault_config cfg = { .mode = VMFAULT_MODE_FILE, .window = 1 };
	int bfd = open(path, oflags), fd, err = 0;

	if (bfd < 0)
		return -errno;
	cfg.fd = bfd;
	fd = vmf_open();
	if (fd < 0)
		err = -errno;
	else if (ioctl(fd, VMFAULT_IOC_CONFIGURE, &cfg) || ioctl(fd, VMFAULT_IOC_SET_FRAMES, fr))
		err = -errno;
	close(bfd);
	if (err && fd >= 0)
		close(fd);
	return err ?: fd;
}

char *read_text(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	ssize_t n;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}
