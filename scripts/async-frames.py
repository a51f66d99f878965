#!/usr/bin/env python3
"""Prints the async frame (context) size of every async function in a Swift binary, largest first.

Why: an async function's frame is allocated on its task (swift_task_alloc) and stays there while
the function is suspended, so for a job that waits on a stream for a minute, every frame on its
call chain is memory per open stream (BENCHMARKS.md, issue 11). The sizes come from the binary's
"async function pointer" records (symbols ending in `Tu`: a relative function offset, then the
context size), so no build flag or debugger is needed.

Usage: scripts/async-frames.py .build/release/llmq [REGEX] [MIN_BYTES]
  e.g. scripts/async-frames.py .build/release/llmq 'JobRunner|HTTPCall|Worker\\.' 300
"""
import re
import struct
import subprocess
import sys

binary = sys.argv[1]
pattern = re.compile(sys.argv[2] if len(sys.argv) > 2 else "LLMQ")
minimum = int(sys.argv[3]) if len(sys.argv) > 3 else 256

symbols = []
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[2].endswith("Tu"):
        symbols.append((int(parts[0], 16), parts[2]))

sections = []
for line in subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m and int(m.group(1), 16) > 0:
        sections.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)))

data = open(binary, "rb").read()
sizes = []
for address, name in symbols:
    for start, offset, size in sections:
        if start <= address < start + size:
            at = offset + address - start
            _, context_size = struct.unpack("<iI", data[at:at + 8])
            if context_size >= minimum:
                sizes.append((context_size, name))
            break

sizes.sort(reverse=True)
names = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(n for _, n in sizes),
                       capture_output=True, text=True, check=True).stdout.splitlines()
for (size, _), name in zip(sizes, names):
    name = name.replace("async function pointer to ", "")
    if pattern.search(name):
        print(f"{size:6d}  {name}")
