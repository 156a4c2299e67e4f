// SPDX-License-Identifier: GPL-2.0
/*
 * Print the constants of dev_vmfault.txt as module/vmfault_uapi.h defines
 * them, in syzkaller's .const format (without the comment lines). 'make
 * check' here compares the output with dev_vmfault.txt.const.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

#include "vmfault_uapi.h"

#define C(name, val) printf("%s = %llu\n", name, (unsigned long long)(val))

int main(void)
{
	printf("arches = amd64, riscv64\n");
	C("AT_FDCWD", (uint64_t)(int64_t)AT_FDCWD);
	C("VMFAULT_IOC_CONFIGURE", VMFAULT_IOC_CONFIGURE);
	C("VMFAULT_IOC_GET_INFO", VMFAULT_IOC_GET_INFO);
	C("VMFAULT_IOC_FLUSH", VMFAULT_IOC_FLUSH);
	C("VMFAULT_MODE_INVALID", VMFAULT_MODE_INVALID);
	C("VMFAULT_MODE_ZERO", VMFAULT_MODE_ZERO);
	C("VMFAULT_MODE_FILE", VMFAULT_MODE_FILE);
	C("VMFAULT_FLAG_NO_FAULT_AROUND", VMFAULT_FLAG_NO_FAULT_AROUND);
	C("VMFAULT_FLAG_FAULT_AROUND", VMFAULT_FLAG_FAULT_AROUND);
	C("VMFAULT_FLAG_GROWSDOWN", VMFAULT_FLAG_GROWSDOWN);
	C("VMFAULT_MAX_SIZE", VMFAULT_MAX_SIZE);
	C("VMFAULT_MAX_WINDOW_PLUS_ONE", VMFAULT_MAX_WINDOW + 1);
	C("VMFAULT_MAX_COUNTERS", VMFAULT_MAX_COUNTERS);
	return 0;
}
