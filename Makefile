# SPDX-License-Identifier: GPL-2.0
#
# vmfault: the human interface. Kbuild (beside this file) holds the kbuild
# lines; module/Kbuild lists the objects.
#
#   make deps     install the Debian packages that are missing (idempotent)
#   make          build the module (W=1) and the selftests
#   make demo     boot the dev VM, load the module, run the demonstrations
#   make check    on every target: build, boot its dev VM, run the kselftest
#                 suite; then 'N passed, N failed'
#   make vm       an interactive shell in the dev VM
#   make bench    in the dev VM (one vCPU, -icount shift=0): vmfault's fault
#                 paths against anon, shmem, userfaultfd, MADV_POPULATE and
#                 FUSE, in instructions per page; a table, the targets,
#                 build/bench/{results.tsv,results.json,chart.png}
#                 (BENCH_TRIALS=N, default 7; KERNEL=6.12 or ARCH=riscv64:
#                 that target, into build/bench-TARGET)
#   make anatomy  where each kind of fault spends its instructions, by
#                 function: one fault of each kind single-stepped in the
#                 bench's dev VM through QEMU's gdb stub, totals against
#                 make bench's (KERNEL=6.12 or ARCH=riscv64); build/anatomy/TARGET
#   make stress   in the dev VM: the stress program with its data oracle
#                 (VMFAULT_STRESS_SECS=N per run, default 60), counters,
#                 rmmod, and kmemleak on the debug kernel
#   make litmus   in the dev VM: dsm_test with 10^5 message-passing runs
#                 (DSM_RUNS=N; make check runs 2000), about 15 minutes
#   make dsm-2vm  the distributed shared memory between two dev VMs on a
#                 virtual Ethernet (devtools/dsm-2vm; KERNEL=6.1 or 6.12)
#
# Targets: x86_64-6.1 (the host's Debian 12 kernel), x86_64-6.12 and
# riscv64-6.12 (Debian 13's kernels; devtools/sysroot makes their build
# chroot and riscv64 root once, in ~/.cache/vmfault), and x86_64-6.1-debug.
# 'make check' runs all four; ARCH=riscv64 picks riscv64-6.12, KERNEL=6.12 or KERNEL=6.1 an x86
# one, for check, demo, vm and the build. KERNEL=debug picks x86_64-6.1-debug,
# Debian 12's 6.1 built with KASAN, kmemleak, lockdep and more
# (devtools/debug-kernel builds it once, in about 17 minutes here):
#   make check ARCH=riscv64      make demo KERNEL=6.12      make check KERNEL=debug
#   make doc-tables  rewrite Documentation's generated tables and plots from that run
#   make install  install the module for $(KVER), vmfaultfs, the tools, the
#                 dashboards, man pages, the udev rule and the kselftests
#                 (DESTDIR, PREFIX=/usr/local; install-module, install-user)
#   make uninstall   remove what make install installed
#   make install-dkms  the module's source for DKMS in /usr/src/vmfault-VERSION
#   make docs     Documentation in HTML: build/docs/html/index.html
#   make deb      the Debian packages vmfault-dkms and vmfault (build/deb), and lintian
#   make clean
#
# The module is built against a Debian kernel that the dev VM boots
# (devtools/kver: the newest with headers), never against `uname -r`.

SHELL := /bin/bash
KVER ?= $(shell devtools/kver 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build

ALL_TARGETS := x86_64-6.1 x86_64-6.12 riscv64-6.12 x86_64-6.1-debug
ifeq ($(ARCH),riscv64)
TARGETS := riscv64-6.12
else ifneq ($(filter-out x86_64 x86,$(ARCH)),)
$(error ARCH=$(ARCH): vmfault's targets are x86_64 and riscv64)
else ifeq ($(KERNEL),6.12)
TARGETS := x86_64-6.12
else ifeq ($(KERNEL),6.1)
TARGETS := x86_64-6.1
else ifeq ($(KERNEL),debug)
TARGETS := x86_64-6.1-debug
else ifneq ($(KERNEL),)
$(error KERNEL=$(KERNEL): vmfault's kernels are 6.1, 6.12 and debug)
else ifneq ($(ARCH),)
TARGETS := x86_64-6.1
endif
# demo and vm take one target; the host's by default.
TARGET := $(firstword $(or $(TARGETS),x86_64-6.1))

.PHONY: all module fusefs tools selftests deps check demo vm stress bench anatomy litmus dsm-2vm install install-module install-user install-dkms uninstall deb docs htmldocs clean checkpatch doc-tables

ifeq ($(TARGET),x86_64-6.1)
all: module fusefs tools selftests
else
all:
	@devtools/target-build $(TARGET)
endif

deps:
	@devtools/deps

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
	@devtools/check $(or $(TARGETS),$(ALL_TARGETS))

demo: deps
	@devtools/target-vm $(TARGET) demo

vm: deps
	@devtools/target-vm $(TARGET)

bench: deps
	@devtools/bench -t $${BENCH_TRIALS:-7} $(TARGET)

anatomy: deps
	@devtools/anatomy $(TARGET)

litmus: deps
	@DSM_RUNS=$${DSM_RUNS:-100000} devtools/target-vm $(TARGET) litmus

dsm-2vm: deps
	@devtools/dsm-2vm $(TARGET)

stress: deps
	@rm -rf $(BUILD)/stress/$(TARGET)
	@VMFAULT_STRESS_SECS=$${VMFAULT_STRESS_SECS:-60} \
		devtools/target-vm --out $(BUILD)/stress/$(TARGET)/vm $(TARGET) stress $(BUILD)/stress/$(TARGET)

# Rewrite Documentation's generated tables and plots from the last
# 'make check' run (of all three targets).
doc-tables:
	@for t in matrix majflt latency; do \
		devtools/fusefs-tables $$t $(BUILD)/check/x86_64-6.1/selftests.tap \
			>Documentation/generated/vmfaultfs-$$t.inc || exit 1; \
	done
	@devtools/fusefs-tables matrix $(BUILD)/check/x86_64-6.12/selftests.tap \
		>Documentation/generated/vmfaultfs-matrix-6.12.inc
	@devtools/fault-rate-table "x86_64, 6.1=$(BUILD)/check/x86_64-6.1/fault-rate.txt" \
		"x86_64, 6.12=$(BUILD)/check/x86_64-6.12/fault-rate.txt" \
		"riscv64, 6.12=$(BUILD)/check/riscv64-6.12/fault-rate.txt" \
		>Documentation/generated/vmfault-fault-rates.inc
	@mkdir -p Documentation/images
	@for p in rates latency knee; do \
		cp $(BUILD)/check/x86_64-6.1/plot/$$p.png Documentation/generated/images/vmfault-$$p.png || exit 1; \
	done; git diff --stat -- Documentation/

checkpatch:
	@$$(devtools/ksft --checkpatch) --no-tree --strict -f $$(ls module/*.[ch] | grep -v '\.mod\.c$$')

# Installation, for a host or a package. DESTDIR is a staging root (nothing
# outside it is written, and depmod and groupadd run only without it);
# PREFIX the user-space prefix. The module goes to
# /lib/modules/$(KVER)/updates, as DKMS's does (dkms.conf; the Debian
# package vmfault-dkms builds it for every installed kernel).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/vmfault
MANDIR ?= $(PREFIX)/share/man
KSFTDIR ?= $(PREFIX)/lib/vmfault/kselftest
UDEVRULESDIR ?= $(shell pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)/rules.d
MODDIR ?= /lib/modules/$(KVER)/updates
DASHBOARDS := pagefaults faultdecode vmfault-cowcopies vmfault-plot vmfault-top
MAN_PAGES := $(wildcard man/*.[1-8])
# man_dest PAGE: where man/NAME.S goes (manS/NAME.S, gzipped after)
man_dest = $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(1)))/$(notdir $(1))
INSTALLED := $(DESTDIR)$(MODDIR)/vmfault.ko $(DESTDIR)$(BINDIR)/vmfaultfs \
	$(DESTDIR)$(BINDIR)/vmfault-pagemap $(DESTDIR)$(BINDIR)/vmfault-demo \
	$(addprefix $(DESTDIR)$(BINDIR)/,$(DASHBOARDS)) $(DESTDIR)$(DATADIR) \
	$(DESTDIR)$(UDEVRULESDIR)/60-vmfault.rules $(DESTDIR)$(KSFTDIR) \
	$(foreach m,$(MAN_PAGES),$(call man_dest,$(m)).gz)

install: install-module install-user

install-module: module
	install -D -m 0644 module/vmfault.ko $(DESTDIR)$(MODDIR)/vmfault.ko
	$(if $(DESTDIR),,depmod -a $(KVER))

# The module's source as DKMS wants it, in /usr/src/vmfault-VERSION (what
# the Debian package vmfault-dkms holds): dkms add/build/install then.
VERSION := $(shell cat VERSION)
DKMS_SRC := /usr/src/vmfault-$(VERSION)
install-dkms:
	install -d $(DESTDIR)$(DKMS_SRC)/module
	install -m 0644 dkms.conf Kbuild VERSION $(DESTDIR)$(DKMS_SRC)/
	install -m 0644 module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.[ch])) $(DESTDIR)$(DKMS_SRC)/module/

# Everything but the module: what the Debian package 'vmfault' holds.
install-user: fusefs tools selftests
	install -D -m 0755 fusefs/vmfaultfs $(DESTDIR)$(BINDIR)/vmfaultfs
	install -D -m 0755 tools/vmfault-pagemap $(DESTDIR)$(BINDIR)/vmfault-pagemap
	install -d $(DESTDIR)$(DATADIR)/scripts
	install -m 0755 $(addprefix scripts/,$(DASHBOARDS)) $(DESTDIR)$(DATADIR)/scripts/
	install -m 0755 scripts/*.bt $(DESTDIR)$(DATADIR)/scripts/
	install -m 0644 packaging/modules-load.conf $(DESTDIR)$(DATADIR)/modules-load.conf
	$(foreach d,$(DASHBOARDS),ln -sfr $(DESTDIR)$(DATADIR)/scripts/$(d) $(DESTDIR)$(BINDIR)/$(d);)
	install -D -m 0644 packaging/60-vmfault.rules $(DESTDIR)$(UDEVRULESDIR)/60-vmfault.rules
	$(foreach m,$(MAN_PAGES),install -D -m 0644 $(m) $(call man_dest,$(m)) && gzip -n -9 -f $(call man_dest,$(m));)
	$(MAKE) -C selftests install INSTALL_PATH=$(DESTDIR)$(KSFTDIR)
	ln -sfr $(DESTDIR)$(KSFTDIR)/vmfault/vmfault_demo $(DESTDIR)$(BINDIR)/vmfault-demo
	$(if $(DESTDIR),,getent group vmfault >/dev/null || groupadd --system vmfault)
	$(if $(DESTDIR),,udevadm control --reload 2>/dev/null || true)

uninstall:
	rm -rf $(INSTALLED)
	-rmdir $(DESTDIR)$(dir $(KSFTDIR)) 2>/dev/null
	$(if $(DESTDIR),find $(DESTDIR) -mindepth 1 -depth -type d -empty -delete,depmod -a $(KVER))

# The Debian packages vmfault-dkms and vmfault, built with dpkg-buildpackage
# in a copy of the tree (build/deb/vmfault-VERSION; the .debs land in
# build/deb), then checked by lintian (errors fail).
deb:
	@devtools/deb

# Documentation/ in HTML (Sphinx, the kernel's kernel-doc extension,
# warnings as errors): build/docs/html/index.html. htmldocs, as in the kernel.
docs htmldocs:
	@devtools/docs

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C fusefs clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C selftests clean
	rm -rf $(BUILD)
