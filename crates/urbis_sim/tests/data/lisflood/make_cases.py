#!/usr/bin/env python3
"""Writes the LISFLOOD-FP format test cases in this folder (inputs only).

Each case is an analytic or published benchmark written as LISFLOOD-FP 8.1
input files (.par, ESRI ASCII DEM, .bci, .bdy, .stage, start and Manning
grids). `reference/` in each case holds what LISFLOOD-FP 8.1 itself wrote for
it (see README.md). Run: python3 make_cases.py
"""
import gzip
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write_grid(path, values, xll, yll, cell, nodata=-9999, gz=False):
    """values: rows from the north, each a list of floats (None = NODATA)."""
    nrows, ncols = len(values), len(values[0])
    lines = [f"ncols {ncols}", f"nrows {nrows}", f"xllcorner {xll}", f"yllcorner {yll}", f"cellsize {cell}",
             f"NODATA_value {nodata}"]
    for row in values:
        lines.append(" ".join(f"{nodata}" if v is None else f"{v:.5f}" for v in row))
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def case_dir(name):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    return d


def ea1():
    """EA Test 1 (flooding a disconnected water body), 10 m cells, level on the whole west edge."""
    d = case_dir("ea1")

    def z(x):
        if x <= 263.5:
            return 9.64872 + 0.00212961 * x
        if x <= 600.0:
            return 10.0 + 0.25 * math.cos(math.pi * (x - 300.0) / 200.0)
        return 10.0 + math.pi / 800.0 * (x - 600.0)

    nx, ny, dx = 70, 10, 10.0
    dem = [[z((i + 0.5) * dx) for i in range(nx)] for _ in range(ny)]
    write_grid(os.path.join(d, "ea1.asc"), dem, 0, 0, dx)
    write_grid(os.path.join(d, "ea1.start"), [[max(9.7 - v, 0.0) for v in row] for row in dem], 0, 0, dx)
    write(os.path.join(d, "ea1.bci"), "W 0 100 HVAR upstream\n")
    write(os.path.join(d, "ea1.bdy"), "EA test 1 boundary level (specification table, minutes)\nupstream\n6 minutes\n"
          "9.7 0\n9.7 5\n10.35 60\n10.35 660\n9.7 720\n9.7 1200\n")
    write(os.path.join(d, "ea1.stage"), "2\n400 50\n600 50\n")
    write(os.path.join(d, "ea1.par"), "# EA 2D benchmark Test 1, from the May 2010 specification\nDEMfile ea1.asc\n"
          "startfile ea1.start\nbcifile ea1.bci\nbdyfile ea1.bdy\nstagefile ea1.stage\nresroot ea1\n"
          "sim_time 72000\ninitial_tstep 10\nmassint 600\nsaveint 72000\nfpfric 0.03\nacceleration\nelevoff\n")


def ea3():
    """EA Test 3 (momentum over a small obstruction), 5 m cells, inflow across the west edge."""
    d = case_dir("ea3")

    def z(x):
        if x <= 144.9:
            return 10.4876 - 0.005 * x
        if x < 150.0:
            return 9.75 + 0.25 * (1.0 - math.cos(math.pi * (150.0 - x) / 50.0))
        if x <= 250.0:
            return 9.875 - 0.125 * math.cos(math.pi * (x - 150.0) / 50.0)
        if x <= 275.0:
            return 10.0 - 0.25 * math.cos(math.pi * (x - 250.0) / 50.0)
        return 10.0 + math.pi / 200.0 * (x - 275.0)

    nx, ny, dx = 60, 20, 5.0
    write_grid(os.path.join(d, "ea3.asc"), [[z((i + 0.5) * dx) for i in range(nx)] for _ in range(ny)], 0, 0, dx)
    write(os.path.join(d, "ea3.bci"), "W 0 100 QVAR inflow\n")
    # 65.5 m3/s over the 100 m edge: 0.655 m2/s per unit width.
    write(os.path.join(d, "ea3.bdy"), "EA test 3 inflow per unit width (m2/s)\ninflow\n6 seconds\n"
          "0 0\n0 5\n0.655 15\n0.655 25\n0 35\n0 900\n")
    write(os.path.join(d, "ea3.stage"), "2\n150 50\n250 50\n")
    write(os.path.join(d, "ea3.par"), "# EA 2D benchmark Test 3, from the May 2010 specification\nDEMfile ea3.asc\n"
          "bcifile ea3.bci\nbdyfile ea3.bdy\nstagefile ea3.stage\nresroot ea3\nsim_time 900\ninitial_tstep 1\n"
          "massint 10\nsaveint 900\nfpfric 0.01\nacceleration\nelevoff\ndepthoff\n")


def ea2():
    """EA Test 2 from its description (4 x 4 depressions), 20 m cells, gzipped DEM, inflow on the NW edge."""
    d = case_dir("ea2")
    n, dx = 100, 20.0
    rows = []
    for r in range(n):
        y = (n - 1 - r + 0.5) * dx
        row = []
        for i in range(n):
            x = (i + 0.5) * dx
            dip = math.sin(math.pi * x / 500.0) ** 2 * math.sin(math.pi * y / 500.0) ** 2
            row.append(10.0 + y / 1500.0 - x / 3000.0 - 0.5 * dip)
        rows.append(row)
    write_grid(os.path.join(d, "ea2.asc.gz"), rows, 0, 0, dx, gz=True)
    write(os.path.join(d, "ea2.bci"), "W 1900 2000 QVAR inflow\n")
    # 20 m3/s over 100 m of edge: 0.2 m2/s.
    write(os.path.join(d, "ea2.bdy"), "EA test 2 inflow per unit width (m2/s)\ninflow\n6 minutes\n"
          "0 0\n0 5\n0.2 10\n0.2 86\n0 91\n0 2880\n")
    centres = [(x, y) for x in (250, 750, 1250, 1750) for y in (250, 750, 1250, 1750)]
    write(os.path.join(d, "ea2.stage"), f"{len(centres)}\n" + "".join(f"{x} {y}\n" for x, y in centres))
    write(os.path.join(d, "ea2.par"), "# EA 2D benchmark Test 2, built from its description\nDEMfile ea2.asc.gz\n"
          "bcifile ea2.bci\nbdyfile ea2.bdy\nstagefile ea2.stage\nresroot ea2\nsim_time 172800\ninitial_tstep 10\n"
          "massint 3600\nsaveint 172800\nfpfric 0.03\nacceleration\nelevoff\ndepthoff\n")


def valley():
    """A tilted valley: a point inflow hydrograph, rougher banks (Manning grid), free outflow at the east
    edge, a fixed stage at a pond cell, 1D friction and LISFLOOD-FP's gravity given by keyword."""
    d = case_dir("valley")
    nx, ny, dx = 120, 40, 10.0
    rows, rough = [], []
    for r in range(ny):
        y = (ny - 1 - r + 0.5) * dx
        row, nrow = [], []
        for i in range(nx):
            x = (i + 0.5) * dx
            across = (y - 200.0) / 100.0
            row.append(20.0 - 0.01 * x + 1.5 * across * across + 0.3 * math.sin(x / 37.0))
            nrow.append(0.08 if abs(y - 200.0) > 60.0 else 0.035)
        rows.append(row)
        rough.append(nrow)
    rows[5][10] = None  # a NODATA cell on the bank: a wall
    write_grid(os.path.join(d, "valley.asc"), rows, 500000, 3300000, dx)
    write_grid(os.path.join(d, "valley.n"), rough, 500000, 3300000, dx)
    write(os.path.join(d, "valley.bci"), "P 500055 3300205 QVAR hydrograph\nE 3300000 3300400 FREE\n"
          "P 500905 3300205 HFIX 12.2\n")
    write(os.path.join(d, "valley.bdy"), "inflow at the head of the valley (m2/s per unit width)\nhydrograph\n"
          "5 hours\n0 0\n1.5 0.25\n4 1\n1 2\n0 3\n")
    write(os.path.join(d, "valley.stage"), "4\n500205 3300205\n500505 3300205\n500805 3300205\n500505 3300265\n")
    for variant, extra in [("valley", ""), ("valley_1d", "1Dfriction\n")]:
        write(os.path.join(d, f"{variant}.par"), "# a valley flood with every boundary kind\nDEMfile valley.asc\n"
              "manningfile valley.n\nbcifile valley.bci\nbdyfile valley.bdy\nstagefile valley.stage\n"
              f"resroot {variant}\nsim_time 14400\ninitial_tstep 5\nmassint 300\nsaveint 14400\ngravity 9.81\n"
              f"acceleration\nelevoff\ndepthoff\n{extra}")


def ritter():
    """Ritter's dry-bed dam break: 1 m of water behind the dam, frictionless, 0.5 m cells, a start file."""
    d = case_dir("ritter")
    nx, ny, dx = 400, 3, 0.5
    write_grid(os.path.join(d, "ritter.asc"), [[0.0] * nx for _ in range(ny)], 0, 0, dx)
    write_grid(os.path.join(d, "ritter.start"), [[1.0 if i < 200 else 0.0 for i in range(nx)] for _ in range(ny)],
               0, 0, dx)
    write(os.path.join(d, "ritter.stage"), "3\n90 0.75\n100 0.75\n115 0.75\n")
    write(os.path.join(d, "ritter.par"), "# Ritter's dry-bed dam break, frictionless\nDEMfile ritter.asc\n"
          "startfile ritter.start\nstagefile ritter.stage\nresroot ritter\nsim_time 10\ninitial_tstep 1\n"
          "massint 0.5\nsaveint 10\nfpfric 0\ndepththresh 0.0001\nacceleration\nelevoff\ndepthoff\n")


if __name__ == "__main__":
    for f in (ea1, ea2, ea3, valley, ritter):
        f()
