// SPDX-License-Identifier: GPL-2.0
/*
 * evict_demo: the demo's step on more virtual memory than frames, on a
 * vmfaultfs mount (make demo). Belady's anomaly with the frames shown at
 * every step, the free-frame list, 3 MiB on 2 MiB, the thrashing knee on
 * a slow disk, and a working set estimated by sampling beside the truth.
 * Every fault it talks about is a real one, counted by the module; exits
 * 1 if the module's counts differ from what the policy says.
 *
 * USAGE: evict_demo [-k KNEE_DATA] MOUNT   (a vmfaultfs mount: MOUNT/.vmfaultfs/ctl)
 *   -k KNEE_DATA  only the thrashing knee, its figures ("frames major_faults
 *                 ms" lines) also into KNEE_DATA, for vmfault-plot -K
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmfault_lib.h"

static const char *mnt;
static long ps;
static int failed;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failed = 1;
	va_start(ap, fmt);
	printf("   MISMATCH: ");
	vprintf(fmt, ap);
	va_end(ap);
}

static char *path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", mnt, name);
	return buf;
}

static int ctl(const char *cmd)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/.vmfaultfs/ctl", mnt);
	return write_file(p, cmd);
}

/* @name: @pages pages, page i filled with 'A' + i % 26. */
static void make_file(const char *name, unsigned long pages)
{
	char *buf = malloc(ps);
	int fd = open(path(name), O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (!buf || fd < 0) {
		perror(name);
		exit(1);
	}
	for (unsigned long i = 0; i < pages; i++) {
		memset(buf, 'A' + i % 26, ps);
		if (write(fd, buf, ps) != ps) {
			perror("write");
			exit(1);
		}
	}
	close(fd);
	free(buf);
}

static char *map_budget(const char *name, unsigned long pages, struct vmfault_frames *fr,
			int *fdp)
{
	int fd = vmf_budget_file(path(name), O_RDONLY, fr);
	char *p;

	if (fd < 0) {
		printf("   region: %s\n", strerror(-fd));
		exit(1);
	}
	p = mmap(NULL, pages * ps, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	*fdp = fd;
	return p;
}

/* Belady: FIFO on 1,2,3,4,1,2,5,1,2,3,4,5 with 3 and 4 frames, step by step. */
static void belady(void)
{
	static const int refs[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

	printf("Belady's anomaly: FIFO, pages 1,2,3,4,1,2,5,1,2,3,4,5, one page mapped at a\n");
	printf("time (reference tracing), so that every reference is a fault. Each row: the\n");
	printf("reference, the frames after it (oldest first, FIFO's model), and what the\n");
	printf("module did: a major fault that read the page (miss) or a reference fault.\n");
	for (unsigned int frames = 3; frames <= 4; frames++) {
		struct vmfault_frames fr = {
			.frames = frames, .policy = VMFAULT_POLICY_FIFO, .trace_pages = 1,
		};
		int model[4], n = 0, misses = 0, fd;
		char *p = map_budget("belady", 12, &fr, &fd);

		printf("   %u frames:\n", frames);
		for (unsigned int i = 0; i < 12; i++) {
			uint64_t maj = vmf_counter(fd, VMFAULT_CNT_MAJOR_FAULTS);
			bool hit = false, miss;
			char row[64] = "";

			touch_read(p + refs[i] * ps);
			miss = vmf_counter(fd, VMFAULT_CNT_MAJOR_FAULTS) - maj == 1;
			for (int j = 0; j < n; j++)
				hit |= model[j] == refs[i];
			if (!hit) {
				if (n == (int)frames)
					memmove(model, model + 1, --n * sizeof(model[0]));
				model[n++] = refs[i];
			}
			for (int j = 0; j < n; j++)
				snprintf(row + strlen(row), sizeof(row) - strlen(row), " %d", model[j]);
			misses += miss;
			printf("      %2d  [%-8s ]  %s\n", refs[i], row,
			       miss ? "miss: major fault, READ" : "hit: reference fault");
			check(miss == !hit, "FIFO says %s\n", hit ? "hit" : "miss");
		}
		printf("      -> %d major faults (ru_majflt and vmfaultfs READs say the same)\n",
		       misses);
		munmap(p, 12 * ps);
		close(fd);
	}
	printf("   -> one more frame, one more fault: FIFO is not a stack algorithm\n");
}

/* The free-frame list: pages 4-7 are read into the frames pages 0-3 left. */
static void free_frames(void)
{
	struct vmfault_frames fr = { .frames = 4, .policy = VMFAULT_POLICY_FIFO, .batch = 4 };
	struct vmfault_frames got = { 0 };
	uint64_t pfn[8];
	int fd = vmf_budget_file(path("belady"), O_RDONLY, &fr), same = 0;
	char *p;

	printf("The free-frame list: 4 frames, 4 victims at once, FIFO over 8 pages.\n");
	if (fd < 0) {
		printf("   region: %s\n", strerror(-fd));
		exit(1);
	}
	p = mmap(NULL, 8 * ps, PROT_READ, MAP_SHARED, fd, 0);
	for (unsigned int i = 0; i < 8; i++) {
		touch_read(p + i * ps);
		pfn[i] = pfn_of(p + i * ps);
		if (i == 4)
			ioctl(fd, VMFAULT_IOC_GET_FRAMES, &got);
	}
	for (unsigned int i = 4; i < 8; i++)
		for (unsigned int j = 0; j < 4; j++)
			same += pfn[i] && pfn[i] == pfn[j];
	printf("   pages 0-3 in frames (pfn) %#llx %#llx %#llx %#llx\n",
	       (unsigned long long)pfn[0], (unsigned long long)pfn[1],
	       (unsigned long long)pfn[2], (unsigned long long)pfn[3]);
	printf("   page 4's miss evicts pages 0-3; free frames after it: %llu\n",
	       (unsigned long long)got.budget_free);
	printf("   pages 4-7 in frames (pfn) %#llx %#llx %#llx %#llx\n",
	       (unsigned long long)pfn[4], (unsigned long long)pfn[5],
	       (unsigned long long)pfn[6], (unsigned long long)pfn[7]);
	printf("   -> %d of 4 new pages went into freed frames: no allocation, no clearing\n",
	       same);
	check(got.budget_free == 3, "free frames\n");
	check(!pfn[0] || same == 4, "frames reused\n");
	munmap(p, 8 * ps);
	close(fd);
}

/* WeensyOS's 3 MiB on 2 MiB: 768 pages, 512 frames, two passes. */
static void three_on_two(void)
{
	static const unsigned int policies[] = {
		VMFAULT_POLICY_FIFO, VMFAULT_POLICY_LRU, VMFAULT_POLICY_CLOCK, VMFAULT_POLICY_OPT,
	};
	static const char * const names[] = { "FIFO", "LRU", "CLOCK", "OPT" };
	uint64_t *refs = calloc(1536, sizeof(*refs));

	printf("3 MiB of virtual memory on 2 MiB of frames: 768 pages, 512 frames, two\n");
	printf("sequential passes:\n");
	for (unsigned int i = 0; i < 1536; i++)
		refs[i] = i % 768;
	for (unsigned int k = 0; k < 4; k++) {
		struct vmfault_frames fr = {
			.frames = 512, .policy = policies[k],
			.trace_pages = policies[k] == VMFAULT_POLICY_OPT,
		};
		struct vmfault_refs r = { .nr = 1536, .refs = (uintptr_t)refs };
		struct vmfault_region_info info;
		int fd = vmf_budget_file(path("big"), O_RDONLY, &fr);
		char *p;

		if (fd < 0 || (policies[k] == VMFAULT_POLICY_OPT &&
			       ioctl(fd, VMFAULT_IOC_SET_REFS, &r))) {
			printf("   %s: region: %s\n", names[k], strerror(fd < 0 ? -fd : errno));
			exit(1);
		}
		p = mmap(NULL, 768 * ps, PROT_READ, MAP_SHARED, fd, 0);
		for (unsigned int i = 0; i < 1536; i++)
			touch_read(p + (i % 768) * ps);
		vmf_info(fd, &info);
		printf("   %-5s %4llu major faults, %4llu evictions, %llu pages resident\n", names[k],
		       (unsigned long long)info.counters[VMFAULT_CNT_MAJOR_FAULTS],
		       (unsigned long long)info.counters[VMFAULT_CNT_EVICTIONS],
		       (unsigned long long)info.resident);
		check(info.counters[VMFAULT_CNT_MAJOR_FAULTS] ==
		      (policies[k] == VMFAULT_POLICY_OPT ? 1024 : 1536), "major faults\n");
		munmap(p, 768 * ps);
		close(fd);
	}
	printf("   -> a loop larger than memory defeats FIFO, LRU and CLOCK alike; OPT,\n");
	printf("      knowing the future, keeps 256 pages for the second pass\n");
	free(refs);
}

/*
 * The thrashing knee: 256 pages, 5 passes, 1 ms per READ. With @data,
 * also "frames major_faults ms" per line there, for vmfault-plot -K.
 */
static void thrash(FILE *data)
{
	static const unsigned int frames[] = { 128, 192, 240, 255, 256, 288, 320 };

	printf("Thrashing: a loop over 256 pages, 5 passes, on a disk of 1 ms per READ\n");
	printf("(vmfaultfs read_delay_us 1000), LRU:\n");
	printf("   frames  major faults   time\n");
	ctl("read_delay_us 1000");
	for (unsigned int k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
		struct vmfault_frames fr = { .frames = frames[k], .policy = VMFAULT_POLICY_LRU };
		uint64_t t0, maj;
		int fd;
		char *p = map_budget("big", 768, &fr, &fd);

		t0 = now_ns();
		for (int pass = 0; pass < 5; pass++)
			for (unsigned int i = 0; i < 256; i++)
				touch_read(p + i * ps);
		t0 = now_ns() - t0;
		maj = vmf_counter(fd, VMFAULT_CNT_MAJOR_FAULTS);
		printf("   %6u  %12llu  %6.0f ms  %.*s\n", frames[k], (unsigned long long)maj,
		       t0 / 1e6, (int)(maj / 40), "################################");
		if (data)
			fprintf(data, "%u %llu %.1f\n", frames[k], (unsigned long long)maj, t0 / 1e6);
		check(maj == (frames[k] < 256 ? 1280 : 256), "major faults\n");
		munmap(p, 768 * ps);
		close(fd);
	}
	ctl("read_delay_us 0");
	printf("   -> one frame short of the working set, every access misses\n");
}

/* Accounting by sampling: an estimate from 1 page in 8, beside the truth. */
static void sampling(void)
{
	struct vmfault_frames none = { 0 };
	struct vmfault_ws_sample ws = { .flags = VMFAULT_WS_RANDOM, .stride = 8, .seed = 77 };
	int fd;
	char *p = map_budget("big", 256, &none, &fd);

	printf("The working set, by sampling: each interval, a random 1 in 8 of the 256\n");
	printf("resident pages is unmapped; the faults on them say how many were touched:\n");
	for (unsigned int i = 0; i < 256; i++)
		touch_read(p + i * ps);
	ioctl(fd, VMFAULT_IOC_WS_SAMPLE, &ws);
	printf("   interval  touched  sampled  of them touched  estimate\n");
	srandom(1);
	for (unsigned int k = 0; k < 5; k++) {
		unsigned int truth = 0, want = 64 + 32 * k;

		for (unsigned int i = 0; i < 256; i++) {
			if ((unsigned int)(random() % 256) < want) {
				touch_read(p + i * ps);
				truth++;
			}
		}
		ws = (struct vmfault_ws_sample){ .flags = VMFAULT_WS_RANDOM, .stride = 8 };
		ioctl(fd, VMFAULT_IOC_WS_SAMPLE, &ws);
		printf("   %8u  %7u  %7llu  %15llu  %8llu\n", k, truth,
		       (unsigned long long)ws.sampled, (unsigned long long)ws.touched,
		       (unsigned long long)ws.estimate);
	}
	printf("   -> the estimate follows the truth, from 1/8 of the pages' faults\n");
	munmap(p, 256 * ps);
	close(fd);
}

int main(int argc, char **argv)
{
	FILE *data = NULL;

	if (argc == 4 && !strcmp(argv[1], "-k")) {
		/* Only the knee, its figures into a file (selftests/dashboards.sh). */
		data = fopen(argv[2], "w");
		if (!data) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
			return 2;
		}
		fprintf(data, "# frames major_faults ms: 256 pages, 5 passes, LRU, 1 ms per READ\n");
		mnt = argv[3];
		ps = page_size();
		make_file("big", 768);
		thrash(data);
		fclose(data);
		unlink(path("big"));
		return failed;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [-k KNEE_DATA] VMFAULTFS_MOUNT\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mnt = argv[1];
	ps = page_size();
	make_file("belady", 12);
	make_file("big", 768);
	belady();
	printf("\n");
	free_frames();
	printf("\n");
	three_on_two();
	printf("\n");
	thrash(NULL);
	printf("\n");
	sampling();
	unlink(path("belady"));
	unlink(path("big"));
	return failed;
}
