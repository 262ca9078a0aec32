#!/usr/bin/env python3
"""A tree of mixed files for the cache benchmarks: compressible source-like files and
incompressible blobs, SIZE_MIB in all (names, sizes and sources seeded; blobs random).
Usage: bench/mixed_tree.py ROOT SIZE_MIB"""
import os, sys, random
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(42)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 12))) for _ in range(5000)]
written, n = 0, 0
while written < total:
    d = os.path.join(root, f"pkg{n % 64:02d}", f"mod{(n // 64) % 16:02d}")
    os.makedirs(d, exist_ok=True)
    if n % 4 == 0:   # an incompressible blob, 1 to 8 MiB
        data = os.urandom(rng.randint(1, 8) << 20)
        name = f"blob{n}.bin"
    else:            # a compressible source-like file, 4 to 256 KiB
        want = rng.randint(4, 256) << 10
        parts, size = [], 0
        while size < want:
            line = b" ".join(rng.choice(words) for _ in range(rng.randint(3, 10))) + b";\n"
            parts.append(line); size += len(line)
        data = b"".join(parts)
        name = f"src{n}.c"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    written += len(data); n += 1
print(f"{n} files, {written >> 20} MiB", file=sys.stderr)
