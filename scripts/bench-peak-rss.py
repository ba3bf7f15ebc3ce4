#!/usr/bin/env python3
"""Peak resident memory of a server during one benchmark run.

usage: bench-peak-rss.py PID OUTPUT [self|children]
Samples every 5 ms the VmHWM of PID itself (qrscpd) or of its children (dcmqrscp serves
each association in a forked child, whose own high-water mark is what counts; the idle
parent's is not) until SIGTERM, then writes the largest value seen, in kB, to OUTPUT. OUTPUT.ready appears once sampling has begun, so the
caller can start the run knowing no early peak is missed. Reading a few /proc files per sample costs well under 1% of a core.
"""
import os
import signal
import sys
import time

pid = int(sys.argv[1])
output = sys.argv[2]
which = sys.argv[3] if len(sys.argv) > 3 else "self"
peak = 0
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def hwm_kb(p):
    try:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def watched():
    return [pid] if which == "self" else children(pid)


def children(p):
    try:
        with open(f"/proc/{p}/task/{p}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


for p in watched():
    peak = max(peak, hwm_kb(p))
open(output + ".ready", "w").close()
deadline = time.monotonic() + 600  # bounded even if nobody stops us
while not stop and time.monotonic() < deadline:
    for p in watched():
        peak = max(peak, hwm_kb(p))
    time.sleep(0.005)
for p in watched():
    peak = max(peak, hwm_kb(p))
with open(output, "w") as f:
    f.write(f"{peak}\n")
