"""Run every ``benchmarks/bench_*.py``, collect their tables into ``benchmarks/results.md``, plot one chart per family.

    python benchmarks/run_all.py                 # quick sizes (19 minutes on a loaded 2-core CPU, mostly compiling)
    python benchmarks/run_all.py --full          # each benchmark's full sizes (much longer)
    python benchmarks/run_all.py --only ivp,stiff
    python benchmarks/run_all.py --render DIR    # re-render results.md and the plots from saved outputs

Each benchmark runs in its own process (peer and scijax in that one process, as every benchmark
does), with ``OPENBLAS_NUM_THREADS=1`` unless set, ``PYTHONPATH`` at the repository root, and, for
quick runs, ``SCIJAX_BENCH_QUICK=1`` plus the benchmark's own small-size flag from ``QUICK_ARGS``
(a benchmark not listed there gets ``--small`` if its source defines that flag; a benchmark may
also read the environment variable through ``_timing.is_quick()``). The raw output of each run is
kept in ``--keep DIR`` (default ``benchmarks/.raw``, ignored by git) so the report can be re-rendered.

The report: each benchmark's printed tables, verbatim, under its family's heading, then the
speed-ups this script extracts from them (peer time / scijax time; above 1 means scijax is faster)
as one horizontal bar chart per family in ``docs/assets/bench/<family>.png``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLOTS = ROOT / "docs" / "assets" / "bench"

# benchmark -> family (heading in the report and one plot per family)
FAMILY = {
    "ivp": "integrate",
    "stiff": "integrate",
    "bvp": "integrate",
    "dropin": "integrate",
    "optimize": "optimize",
    "global": "optimize",
    "linprog": "optimize",
    "linalg": "linalg",
    "linalg_dense": "linalg",
    "lineax_krylov": "linalg",
    "ensemble": "parallel",
    "ml": "ml",
    "physics": "physics",
}
FAMILY_ORDER = ["integrate", "optimize", "linalg", "parallel", "ml", "physics", "other"]

QUICK_ARGS = {
    "stiff": ["--repeat", "1", "--rtols", "1e-4"],
    "ensemble": ["--small", "--repeats", "3"],
    "ml": ["--small"],
}
TIMEOUT_S = {"quick": 240, "full": 3600}


def bench_names() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def bench_args(name: str, quick: bool) -> list[str]:
    if not quick:
        return []
    if name in QUICK_ARGS:
        return QUICK_ARGS[name]
    source = (HERE / f"bench_{name}.py").read_text()
    for flag in ("--small", "--quick"):
        if f'"{flag}"' in source:
            return [flag]
    return []


def run_one(name: str, quick: bool, keep: Path) -> tuple[str, float, int]:
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if quick:
        env["SCIJAX_BENCH_QUICK"] = "1"
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *bench_args(name, quick)]
    print(f"[run_all] {name}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S["quick" if quick else "full"])
        out, rc = proc.stdout, proc.returncode
        if rc != 0:
            out += "\n" + "\n".join(proc.stderr.strip().splitlines()[-5:])
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        out += "\n(timed out)"
        rc = -1
    wall = time.perf_counter() - start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    (keep / f"{name}.txt").write_text(f"# args: {' '.join(cmd[2:])}\n# rc: {rc}\n# wall_s: {wall:.1f}\n"
                                      f"# load: {load:.1f}\n{out}")
    print(f"[run_all] {name}: rc={rc}, {wall:.0f} s", flush=True)
    return out, wall, rc


# ---------------------------------------------------------------------------------------------
# Extracting speed-ups from the printed tables
# ---------------------------------------------------------------------------------------------

_NUM = re.compile(r"[-+]?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?")


def _num(cell: str) -> float | None:
    m = _NUM.search(cell.replace(",", ""))
    return float(m.group()) if m else None


def _cells(line: str, width: int | None = None) -> list[str]:
    """A pipe-table row's cells; cells beyond ``width`` (a ``|x|`` inside a note) join the last one."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if width is not None and len(cells) > width:
        cells = cells[: width - 1] + [" \\| ".join(cells[width - 1:])]
    return cells


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table in ``text`` as (header, rows)."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            block.append(line)
        else:
            if len(block) >= 3 and set(block[1]) <= set("|-: "):
                header = _cells(block[0])
                tables.append((header, [_cells(row, len(header)) for row in block[2:]]))
            block = []
    return tables


def _ratio_column(header: list[str]) -> tuple[int, bool] | None:
    """(column, inverted) of a ratio column: inverted when it holds scijax time / peer time."""
    for i, h in enumerate(header):
        hl = h.lower()
        if "speed-up" in hl or hl in ("ratio", "lineax/scijax") or (hl.startswith("best scijax vs ")):
            return i, False
        if hl.startswith("time / "):
            return i, True
    return None


def _time_columns(header: list[str]) -> tuple[int, list[int]] | None:
    """(peer, [scijax, ...]) millisecond columns, when the table has no ratio column."""
    ours = [i for i, h in enumerate(header) if "scijax" in h.lower() and "(ms)" in h]
    peer = [i for i, h in enumerate(header) if "scijax" not in h.lower() and "(ms)" in h]
    return (peer[0], ours) if ours and peer else None


def _label(header: list[str], row: list[str]) -> str:
    """The row's leading descriptive cells (up to the first measurement column), e.g. 'laplacian n=256 cg'."""
    parts = []
    for h, cell in zip(header, row, strict=False):
        if any(k in h.lower() for k in ("(", "success", "speed", "ratio", "/", "time", "nfev")):
            break
        parts.append(f"{h}={cell}" if re.fullmatch(r"[\d.,eE+-]+", cell) else cell)
    return " ".join(parts)[:72]


def speedups(name: str, text: str) -> list[tuple[str, float]]:
    """(label, peer time / scijax time) pairs from one benchmark's output."""
    found: list[tuple[str, float]] = []
    for header, rows in markdown_tables(text):
        if "fixed function (ms)" in [h.lower() for h in header]:
            continue  # dropin's lambda table compares scijax with itself
        rc = _ratio_column(header)
        tc = None if rc else _time_columns(header)
        time_col = next((i for i, h in enumerate(header) if h.lower() == "time (ms)"), None)
        reference = header[rc[0]].split("/", 1)[1].strip().lower() if rc and rc[1] else None
        ref_time = None
        for row in rows:
            label = _label(header, row)
            if reference is not None and time_col is not None and reference in label.lower():
                ref_time = _num(row[time_col])  # the peer this table is relative to (e.g. SciPy Radau)
            if rc is not None:
                if rc[1] and "scijax" not in label.lower():
                    continue  # a peer's row in a table relative to one peer
                if rc[1] and ref_time and time_col is not None and _num(row[time_col]):
                    # the times themselves: the printed ratio has only two decimals
                    found.append((label, ref_time / _num(row[time_col])))
                    continue
                value = _num(row[rc[0]])
                if value is not None and value > 0:
                    found.append((label, 1.0 / value if rc[1] else value))
            elif tc is not None:
                peer = _num(row[tc[0]])
                for col in tc[1]:
                    ours = _num(row[col])
                    suffix = f" ({header[col].replace(' (ms)', '')})" if len(tc[1]) > 1 else ""
                    if peer and ours:
                        found.append((label + suffix, peer / ours))
    if not found:
        found = _fixed_width_speedups(text)
    return [(f"{name}: {label}", value) for label, value in found]


def _fixed_width_speedups(text: str) -> list[tuple[str, float]]:
    """bench_linalg's column table (case, who, median s, speed-up vs peer) and bench_ensemble's indented lines."""
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "speed-up vs peer" in line:
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                parts = re.split(r"\s{2,}", row.strip())
                if len(parts) >= 4 and "scijax" in parts[1].lower():
                    value = _num(parts[3])
                    if value and value > 0:
                        found.append((f"{parts[0]} ({parts[1]})", value))
    section = ""
    for line in lines:
        if line.startswith("=="):
            section = line.strip("= ").split(",")[1].strip() if "," in line else line.strip("= ")
        elif line.startswith("N = "):
            size = line.strip()
        elif line.startswith("  ") and " ms " in line and "x" in line.rsplit(" ms ", 1)[1]:
            label, rest = line.strip().split("  ", 1) if "  " in line.strip() else (line.strip(), "")
            ratio = re.search(r"([\d.]+)x", line.rsplit(" ms ", 1)[1])
            if ratio and "scijax" not in label.lower():
                found.append((f"{section} {size}: {label}", float(ratio.group(1))))
    return found


def plot_family(family: str, pairs: list[tuple[str, float]], quick: bool) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[run_all] matplotlib not installed: no plots (pip install '.[examples]')")
        return None
    if not pairs:
        return None
    PLOTS.mkdir(parents=True, exist_ok=True)
    labels = [label for label, _ in pairs][::-1]
    values = [value for _, value in pairs][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(pairs) + 1.2))
    colors = ["#2a7ab9" if v >= 1 else "#d9822b" for v in values]
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    for i, v in enumerate(values):
        ax.annotate(f"{v:.3g}x", (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=6)
    ax.set_xlabel("speed-up: peer time / scijax time (log; right of 1 = scijax faster)")
    ax.set_title(f"{family} ({'quick' if quick else 'full'} sizes, CPU)", fontsize=10)
    ax.margins(x=0.15)
    path = PLOTS / f"{family}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def render(keep: Path, names: list[str], quick: bool, walls: dict[str, float], note: str = "") -> str:
    by_family: dict[str, list[str]] = {}
    for name in names:
        by_family.setdefault(FAMILY.get(name, "other"), []).append(name)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmark results",
        "",
        f"Generated by `python benchmarks/run_all.py{'' if quick else ' --full'}` on {stamp}: "
        f"{'quick' if quick else 'full'} sizes, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, `OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', '1')}`.",
        "",
        "Each benchmark times its peer (SciPy, raw diffrax, lineax, ...) and scijax in one process: medians of",
        "warm runs, compilation excluded unless a column says otherwise. Speed-up = peer time / scijax time",
        "(above 1: scijax is faster). The plots in `docs/assets/bench/` show every speed-up this report extracts.",
        "",
        *([f"**Note:** {note}", ""] if note else []),
    ]
    for family in FAMILY_ORDER:
        if family not in by_family:
            continue
        pairs: list[tuple[str, float]] = []
        out += [f"## {family}", ""]
        for name in by_family[family]:
            raw = (keep / f"{name}.txt").read_text() if (keep / f"{name}.txt").exists() else "# rc: missing\n"
            meta = dict(re.findall(r"^# (\w+): (.*)$", raw, flags=re.M))
            body = "\n".join(line for line in raw.splitlines() if not re.match(r"^# (args|rc|wall_s|load): ", line))
            args = meta.get("args", "")
            out += [f"### bench_{name}.py" + (f" `{args}`" if args else ""), ""]
            if meta.get("rc") not in ("0", None):
                out += [f"**Did not finish cleanly** (exit status {meta.get('rc')}); its output so far:", ""]
            out += _as_markdown(body.strip())
            pairs += speedups(name, body)
            wall = walls.get(name) or (float(meta["wall_s"]) if "wall_s" in meta else None)
            if wall is not None:
                load = f"; 1-minute load average when it ended: {meta['load']}" if "load" in meta else ""
                out += [f"_Wall time of this benchmark, compiles included: {wall:.0f} s{load}._", ""]
        path = plot_family(family, pairs, quick)
        if path is not None:
            out += [f"![{family} speed-ups](../docs/assets/bench/{path.name})", ""]
    return "\n".join(out).rstrip() + "\n"


def _as_markdown(body: str) -> list[str]:
    """Pipe tables and headings pass through; other lines go into code blocks."""
    out: list[str] = []
    plain: list[str] = []

    def flush() -> None:
        while plain and not plain[-1].strip():
            plain.pop()
        if plain:
            out.extend(["```text", *plain, "```", ""])
        plain.clear()

    for line in body.splitlines():
        if line.startswith("|") or line.startswith("#"):
            flush()
            if line.startswith("|"):
                width = len(_cells(header)) if (header := _last_header(out)) else None
                out.append("| " + " | ".join(_cells(line, width)) + " |")
            else:
                out += ["##" + line, ""]  # a benchmark's own headings sit below its section
        elif out and out[-1].startswith("|") and not line.strip():
            out.append("")
        elif line.strip() or plain:
            plain.append(line)
    flush()
    if out and out[-1] != "":
        out.append("")
    return out


def _last_header(out: list[str]) -> str | None:
    """The header row of the pipe table that ``out`` ends in, if any."""
    i = len(out)
    while i > 0 and out[i - 1].startswith("|"):
        i -= 1
    return out[i] if i < len(out) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="each benchmark's full sizes")
    ap.add_argument("--only", default="", help="comma-separated names (ivp, stiff, ...); default: all")
    ap.add_argument("--keep", type=Path, default=HERE / ".raw", help="where raw outputs go")
    ap.add_argument("--render", type=Path, default=None, help="re-render from saved outputs in DIR; run nothing")
    ap.add_argument("--out", type=Path, default=HERE / "results.md")
    ap.add_argument("--note", default="", help="a sentence for the report's header (e.g. the machine's load)")
    args = ap.parse_args()
    quick = not args.full
    names = bench_names()
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted]
    walls: dict[str, float] = {}
    if args.render is None:
        args.keep.mkdir(parents=True, exist_ok=True)
        (args.keep / ".gitignore").write_text("*\n")  # raw outputs are not committed
        for name in names:
            _, walls[name], _ = run_one(name, quick, args.keep)
        keep = args.keep
    else:
        keep = args.render
        names = [n for n in names if (keep / f"{n}.txt").exists()]
    args.out.write_text(render(keep, names, quick, walls, args.note))
    print(f"[run_all] wrote {args.out} ({sum(walls.values()):.0f} s of benchmarks)")


if __name__ == "__main__":
    main()
