#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dsm_litmus.sh: the guest half of 'make litmus', run by devtools/vm in the
# dev VM: dsm_test (selftests/dsm_test.c) with DSM_RUNS message-passing
# runs, 10^5 unless set. make check runs 2000: 10^5 take about 15 minutes
# under TCG on x86 6.1. Its exit status is dsm_test's.
#
# USAGE: selftests/dsm_litmus.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export DSM_RUNS=${DSM_RUNS:-100000}

insmod "$top/module/vmfault.ko"
trap 'rmmod vmfault 2>/dev/null || true' EXIT
echo "# dsm_test, DSM_RUNS=$DSM_RUNS: kernel $(uname -r), $(uname -m), $(nproc) CPUs"
start=$(date +%s)
rc=0
"$top/selftests/dsm_test" || rc=$?
echo "# dsm_test exited $rc after $(($(date +%s) - start)) s"
rmmod vmfault
trap - EXIT
exit "$rc"
