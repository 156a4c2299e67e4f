# SPDX-License-Identifier: GPL-2.0
#
# anatomy-step.py: run by gdb for devtools/anatomy. Waits for
# anatomy_target to write where it is loaded (a position-independent
# executable, as vmfault_bench is), connects to the dev VM's gdb stub,
# puts a hardware breakpoint on the program's anatomy_begin(), creates the
# ready file the program waits for, and for each kind of fault
# single-steps the guest from anatomy_begin() to anatomy_end(), writing
# every program counter. QEMU's stub masks interrupts and timers while it
# steps, so the steps are the fault's own.
#
# Environment: ANATOMY_ARCH (x86_64 or riscv64), ANATOMY_PORT,
# ANATOMY_ADDRS (the file the program writes: "BEGIN END TEXT_START
# TEXT_END", hex), ANATOMY_READY (the file to create), ANATOMY_OUT (where
# the PCs go: "text START END" first, then for each kind "kind K", one hex
# PC per line, "end K N").
import os
import time

import gdb  # pylint: disable=import-error

MAX_STEPS = 3000000
DONE = 255

# gdb's name of the architecture, the stub's register number of the PC
# (x86-64: rip after 16 general registers; riscv64: pc after x0 to x31),
# and the register of anatomy_begin()'s argument.
ARCHS = {
    "x86_64": ("i386:x86-64", 0x10, "$rdi"),
    "riscv64": ("riscv:rv64", 0x20, "$a0"),
}
gdb_arch, pc_regno, arg_reg = ARCHS[os.environ.get("ANATOMY_ARCH", "x86_64")]
port = int(os.environ["ANATOMY_PORT"])
addrs = os.environ["ANATOMY_ADDRS"]


def pc():
    return int(gdb.parse_and_eval("$pc")) & (2**64 - 1)


def raw(packet):
    """Send one remote packet, return the reply (gdb's own state is bypassed)."""
    r = gdb.execute("maint packet %s" % packet, to_string=True)
    return r[r.rindex("received: \"") + 11:].rstrip().rstrip('"')


def step():
    """One instruction, then the new PC (read as one register).

    Straight remote packets: gdb's stepi works out a frame and a symbol at
    every stop, about ten times the cost."""
    reply = raw("s")
    if not reply.startswith("T05") and not reply.startswith("S05"):
        raise gdb.GdbError("anatomy: step: %s" % reply)
    return int.from_bytes(bytes.fromhex(raw("p%x" % pc_regno)), "little")


# The program writes its addresses once the guest has booted and started
# it (the file appears whole: written aside and renamed).
for _ in range(2400):
    if os.path.exists(addrs):
        break
    if os.path.exists(addrs + ".failed"):
        with open(addrs + ".failed", encoding="utf-8") as f:
            raise gdb.GdbError("anatomy: the guest: %s" % f.read().strip())
    time.sleep(0.25)
else:
    raise gdb.GdbError("anatomy: %s did not appear in 600 s" % addrs)
with open(addrs, encoding="ascii") as f:
    begin, end, text_start, text_end = (int(x, 16) for x in f.read().split())
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set architecture %s" % gdb_arch, to_string=True)
for _ in range(1200):
    try:
        gdb.execute("target remote 127.0.0.1:%d" % port, to_string=True)
        break
    except gdb.error:
        time.sleep(0.25)
else:
    raise gdb.GdbError("anatomy: no gdb stub on port %d" % port)
gdb.execute("hbreak *%#x" % begin, to_string=True)
with open(os.environ["ANATOMY_READY"], "w", encoding="ascii"):
    pass
with open(os.environ["ANATOMY_OUT"], "w", encoding="ascii") as out:
    out.write("text %x %x\n" % (text_start, text_end))
    while True:
        gdb.execute("continue", to_string=True)
        if pc() != begin:
            raise gdb.GdbError("anatomy: stopped at %#x, not at anatomy_begin" % pc())
        kind = int(gdb.parse_and_eval(arg_reg))
        if kind == DONE:
            break
        out.write("kind %d\n" % kind)
        n = 0
        while True:
            p = step()
            if p == end:
                break
            out.write("%x\n" % p)
            n += 1
            if n > MAX_STEPS:
                raise gdb.GdbError("anatomy: kind %d: over %d steps" % (kind, MAX_STEPS))
        out.write("end %d %d\n" % (kind, n))
        out.flush()
        gdb.execute("maint flush register-cache", to_string=True)
gdb.execute("delete")
gdb.execute("detach", to_string=True)
