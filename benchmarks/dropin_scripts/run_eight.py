"""The eight-script drop-in experiment of issue 16: each SciPy script here is run as written and
with only its ``from scipy.<x> import`` line swapped for scijax's; the answers are compared.

Run: ``python benchmarks/dropin_scripts/run_eight.py <path to the scijax checkout>``.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
root = sys.argv[1]
env = dict(os.environ, PYTHONPATH=root, JAX_ENABLE_X64="1", PYTHONWARNINGS="ignore")
ok = 0
for path in sorted(glob.glob(os.path.join(HERE, "s*.py"))):
    src = open(path).read()
    swapped = src.replace("from scipy.integrate import", "from scijax.solvers.integrate import").replace(
        "from scipy.optimize import", "from scijax.solvers.optimize import")
    swapped_path = os.path.join(tempfile.mkdtemp(), "swapped.py")
    with open(swapped_path, "w") as fh:
        fh.write(swapped)
    ref = subprocess.run([sys.executable, path], capture_output=True, text=True, env=env, timeout=600)
    out = subprocess.run([sys.executable, swapped_path], capture_output=True, text=True, env=env, timeout=600)
    def nums(text):  # noqa: E306
        line = [ln for ln in text.splitlines() if ln.startswith("RESULT")]
        return [float(v) for v in line[-1].split()[1:]] if line else None
    a, b = nums(ref.stdout), nums(out.stdout)
    good = (out.returncode == 0 and b is not None and len(a) == len(b)
            and all(abs(x - y) <= 1e-4 * max(1, abs(x)) for x, y in zip(a, b, strict=True)))
    name = os.path.basename(path)
    if good and "disp" in name:
        good = "Optimization terminated successfully" in out.stdout
    if good and "print" in name:
        def names(t):
            return [ln.split(":")[0].strip() for ln in t.splitlines() if re.match(r"^\s*[a-z_]+: ", ln)]
        good = (set(names(ref.stdout)) <= set(names(out.stdout))
                and len(out.stdout.splitlines()) <= len(ref.stdout.splitlines()) + 3)
    ok += good
    err = (out.stderr.strip().splitlines() or [""])[-1][:150]
    print(f"{name}: {'OK ' if good else 'FAIL'} rc={out.returncode} {'' if good else err}")
print(f"{ok}/8 ran with only the import swapped and gave SciPy's answer")
