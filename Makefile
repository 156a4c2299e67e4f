# SPDX-License-Identifier: GPL-2.0
#
# vmfault: the human interface. Kbuild (beside this file) holds the kbuild
# lines; module/Kbuild lists the objects.
#
#   make deps     install the Debian packages that are missing (idempotent)
#   make          build the module (W=1) and the selftests
#   make demo     boot the dev VM, load the module, run the demonstrations
#   make check    boot the dev VM, run the kselftest suite, 'N passed, N failed'
#   make vm       an interactive shell in the dev VM
#   make doc-tables  rewrite Documentation's generated tables and plots from that run
#   make install  install the module for $(KVER) (on a host running it)
#   make clean
#
# The module is built against a Debian kernel that the dev VM boots
# (scripts/kver: the newest with headers), never against `uname -r`.

SHELL := /bin/bash
KVER ?= $(shell scripts/kver 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build

.PHONY: all module fusefs tools selftests deps check demo vm install clean checkpatch doc-tables

all: module fusefs tools selftests

deps:
	@scripts/deps

module:
	@test -n "$(KVER)" || { echo "no Debian kernel with headers: run 'make deps'"; exit 1; }
	@mkdir -p $(BUILD)
	set -o pipefail; $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules 2>&1 | tee $(BUILD)/module-build.log

fusefs:
	$(MAKE) -C fusefs

tools:
	$(MAKE) -C tools

selftests:
	$(MAKE) -C selftests

check: deps
	@rm -f module/*.o	# rebuild, so that the W=1 log is complete
	@$(MAKE) --no-print-directory all
	@scripts/check $(BUILD)/module-build.log

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/vm -- scripts/demo-guest

vm: deps
	@$(MAKE) --no-print-directory all
	@scripts/vm

# Rewrite Documentation's generated tables and plots from the last
# 'make check' run.
doc-tables:
	@for t in matrix majflt latency; do \
		scripts/fusefs-tables $$t $(BUILD)/check/selftests.tap \
			>Documentation/vmfaultfs-$$t.inc || exit 1; \
	done
	@mkdir -p Documentation/images
	@for p in rates latency; do \
		cp $(BUILD)/check/plot/$$p.png Documentation/images/vmfault-$$p.png || exit 1; \
	done; git diff --stat -- Documentation/

checkpatch:
	@$$(scripts/ksft --checkpatch) --no-tree --strict -f $$(ls module/*.[ch] | grep -v '\.mod\.c$$')

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C fusefs clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C selftests clean
	rm -rf $(BUILD)
