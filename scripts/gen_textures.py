#!/usr/bin/env python3
"""Generates the tileable ground, road and facade textures in assets/textures (PNG, 128x128).

Standard library only and seeded, so the files are reproducible byte for byte:
    python3 scripts/gen_textures.py [OUT_DIR]
Each texture wraps at its edges (value noise on a periodic lattice), so the renderer can
repeat it every `texture_scale` metres without seams. Colours are the material's own; the
scene's `color` tints them (white keeps them as drawn).
"""
import math
import os
import random
import struct
import sys
import zlib

SIZE = 128


def write_png(path, pixels):
    """pixels: SIZE rows of SIZE (r, g, b) byte tuples."""
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def value_noise(rng, cells):
    """Smooth periodic noise in [0, 1] with `cells` lattice cells across the tile."""
    lattice = [[rng.random() for _ in range(cells)] for _ in range(cells)]

    def at(x, y):
        fx, fy = x * cells / SIZE, y * cells / SIZE
        x0, y0 = int(fx), int(fy)
        tx, ty = fx - x0, fy - y0
        sx, sy = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
        x1, y1 = (x0 + 1) % cells, (y0 + 1) % cells
        a = lattice[y0 % cells][x0 % cells] * (1 - sx) + lattice[y0 % cells][x1] * sx
        b = lattice[y1][x0 % cells] * (1 - sx) + lattice[y1][x1] * sx
        return a * (1 - sy) + b * sy

    return at


def fbm(rng, octaves):
    layers = [(value_noise(rng, 4 * 2**o), 0.5**o) for o in range(octaves)]
    total = sum(w for _, w in layers)
    return lambda x, y: sum(n(x, y) * w for n, w in layers) / total


def clamp(v):
    return max(0, min(255, int(round(v))))


def textured(seed, base, spread, octaves=5, speckle=0.0):
    rng = random.Random(seed)
    noise = fbm(rng, octaves)
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            n = noise(x, y) - 0.5
            s = (rng.random() - 0.5) * speckle
            row.append(tuple(clamp(255 * (c + spread[i] * n + s)) for i, c in enumerate(base)))
        rows.append(row)
    return rows


def grass():
    rows = textured(1, (0.30, 0.47, 0.18), (0.25, 0.30, 0.15), speckle=0.10)
    rng = random.Random(11)
    # Short darker and lighter blades.
    for _ in range(900):
        x, y = rng.randrange(SIZE), rng.randrange(SIZE)
        shade = rng.choice((0.75, 1.2))
        for k in range(rng.randrange(2, 5)):
            r, g, b = rows[(y - k) % SIZE][x]
            rows[(y - k) % SIZE][x] = (clamp(r * shade), clamp(g * shade), clamp(b * shade))
    return rows


def asphalt():
    return textured(2, (0.27, 0.27, 0.29), (0.10, 0.10, 0.10), speckle=0.12)


def concrete():
    return textured(3, (0.62, 0.61, 0.58), (0.12, 0.12, 0.12), speckle=0.05)


def dirt():
    return textured(4, (0.50, 0.40, 0.27), (0.22, 0.18, 0.12), speckle=0.08)


def facade():
    """Light wall with a 4 x 4 grid of dark windows (one storey per row), tinted by the scene."""
    wall = textured(5, (0.85, 0.84, 0.82), (0.08, 0.08, 0.08), octaves=3, speckle=0.03)
    cell = SIZE // 4
    for y in range(SIZE):
        for x in range(SIZE):
            u, v = x % cell, y % cell
            if 8 <= u < cell - 8 and 6 <= v < cell - 10:
                glass = 0.18 + 0.10 * (v / cell)
                wall[y][x] = (clamp(255 * glass), clamp(255 * (glass + 0.03)), clamp(255 * (glass + 0.08)))
            elif 6 <= u < cell - 6 and cell - 10 <= v < cell - 8:
                wall[y][x] = (clamp(255 * 0.95),) * 3  # sill
    return wall


def checker():
    """MuJoCo's grid floor: 2 x 2 squares of two blue-greys with thin lighter lines, lightly
    noised so far squares do not alias; with texture_scale 2 each square is a metre."""
    tone = textured(6, (0.0, 0.0, 0.0), (0.04, 0.04, 0.04), octaves=3, speckle=0.02)
    half = SIZE // 2
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            dark = (x < half) == (y < half)
            base = (0.20, 0.30, 0.40) if dark else (0.30, 0.40, 0.50)
            if x % half in (0, half - 1) or y % half in (0, half - 1):
                base = (0.42, 0.52, 0.62)
            row.append(tuple(clamp(255 * b + tone[y][x][0] - 2) for b in base))
        rows.append(row)
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "assets", "textures")
    os.makedirs(out, exist_ok=True)
    for name, make in [("grass", grass), ("asphalt", asphalt), ("concrete", concrete), ("dirt", dirt), ("facade", facade), ("checker", checker)]:
        path = os.path.join(out, f"{name}.png")
        write_png(path, make())
        print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
