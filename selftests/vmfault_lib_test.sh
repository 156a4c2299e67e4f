#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmfault_lib_test.sh: the parsers of vmfault_lib.sh against known output
# (bpftrace's maps and histograms, "name value" files, a stats line), so
# that dashboards.sh's checks read what they think they read. Needs
# nothing but bash and awk.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vmfault_lib.sh
. "$here/vmfault_lib.sh"

tmp=$(mktemp -d /tmp/vmfault-lib-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/bt.txt" <<'EOF'
Attaching 3 probes...
Tracing core mm COW copies in vmfault mappings... Hit Ctrl-C to end.
@copies[core, 406, vmfault_demo]: 2
@copies[core, 405, vmfault_demo]: 3
@copies[module, 405, vmfault_demo]: 8
@copies[core, 407, other]: 9
@events[vmfault_fault]: 139
@events[vmfault_fault_around]: 5
@faults[fault_workload, 1234]: 520
@kernel_faults[fault_workload, 1234]: 3
@faults[fault_workload, 12345]: 11
@faults[bash, 99]: 7
@vmfault_ns[zero_page]:
[0]                    1 |@                                                   |
[1]                    0 |                                                    |
[512, 1K)              4 |@@@@                                                |
[1K, 2K)              10 |@@@@@@@@@@                                          |

@vmfault_ns[cow]:
[2K, 4K)               5 |@@@@@                                               |

@kernel_ns[minor]:
[1K, 2K)             100 |@@@@@@@@@@                                          |
@total: 42
EOF
cat >"$tmp/kv.txt" <<'EOF'
faults 1200
major_faults 88
faults_per_page 3
EOF

# eq NAME WANT GOT: one case.
eq() {
	if [ "$2" = "$3" ]; then
		ktap_result OK "$1 = $2"
	else
		ktap_result FAIL "$1" "want '$2', got '$3'"
	fi
}

ktap_begin
eq "bt_value of a keyed map" 139 "$(bt_value "$tmp/bt.txt" events vmfault_fault)"
eq "bt_value takes the whole key, not a prefix" 5 "$(bt_value "$tmp/bt.txt" events vmfault_fault_around)"
eq "bt_value of a map without a key" 42 "$(bt_value "$tmp/bt.txt" total)"
eq "bt_value of a missing key" 0 "$(bt_value "$tmp/bt.txt" events vmfault_cow)"
eq "bt_sum over matching keys" 5 "$(bt_sum "$tmp/bt.txt" copies 'core, [0-9]+, vmfault_demo')"
eq "bt_sum over two maps, one pid (not 12345)" 523 \
	"$(bt_sum "$tmp/bt.txt" '(faults|kernel_faults)' 'fault_workload, 1234')"
eq "bt_hist_count over every key, [0] and [1] buckets too" 20 \
	"$(bt_hist_count "$tmp/bt.txt" vmfault_ns)"
eq "bt_hist_count of another map" 100 "$(bt_hist_count "$tmp/bt.txt" kernel_ns)"
eq "kv_value takes the whole name" 1200 "$(kv_value "$tmp/kv.txt" faults)"
eq "kv_value of a missing name" "" "$(kv_value "$tmp/kv.txt" sigbus)"
eq "word_after in a stats line" 64 \
	"$(word_after "pages 64 read_requests 64 read_bytes 262144" read_requests)"
# The dashboards' and vmfaultfs's paths: a build tree (HERE/../scripts,
# HERE/../fusefs) first, else what make install put on $PATH (a link in
# BINDIR to PREFIX/share/vmfault/scripts).
mkdir -p "$tmp/tree/selftests" "$tmp/tree/scripts" "$tmp/tree/fusefs" \
	"$tmp/usr/bin" "$tmp/usr/share/vmfault/scripts"
touch "$tmp/tree/scripts/vmfault-top" "$tmp/tree/fusefs/vmfaultfs" \
	"$tmp/usr/share/vmfault/scripts/vmfault-top" "$tmp/usr/bin/vmfaultfs"
chmod +x "$tmp/tree/scripts/vmfault-top" "$tmp/tree/fusefs/vmfaultfs" \
	"$tmp/usr/share/vmfault/scripts/vmfault-top" "$tmp/usr/bin/vmfaultfs"
ln -s ../share/vmfault/scripts/vmfault-top "$tmp/usr/bin/vmfault-top"
eq "vmfault_scripts_dir in a build tree" "$tmp/tree/scripts" \
	"$(PATH=$tmp/usr/bin:$PATH vmfault_scripts_dir "$tmp/tree/selftests")"
eq "vmfault_scripts_dir when installed: through the link on \$PATH" \
	"$tmp/usr/share/vmfault/scripts" "$(PATH=$tmp/usr/bin:$PATH vmfault_scripts_dir "$tmp/usr/bin")"
eq "vmfault_vmfaultfs in a build tree" "$tmp/tree/fusefs/vmfaultfs" \
	"$(PATH=$tmp/usr/bin:$PATH vmfault_vmfaultfs "$tmp/tree/selftests")"
eq "vmfault_vmfaultfs when installed" "$tmp/usr/bin/vmfaultfs" \
	"$(PATH=$tmp/usr/bin:$PATH vmfault_vmfaultfs "$tmp/usr/bin")"
ktap_end
