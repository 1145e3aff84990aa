"""Benchmarks for scijax.solvers.linalg and quad against SciPy / NumPy / jax.numpy, in one process.

    python benchmarks/bench_linalg.py            # full sizes (CPU: slow at 1024^2)
    python benchmarks/bench_linalg.py --small    # quick run
    python benchmarks/bench_linalg.py --gpu      # (d): CG at 4096^2 and the device's copy bandwidth

(a) CG on the 2-D Poisson matrix (5-point), fixed iteration count (rtol=0), matrix-free and BCOO
    against scipy.sparse.linalg.cg on CSR: time per iteration and achieved memory bandwidth from a
    byte model (vectors touched per iteration plus the matrix for the sparse formats).
(b) 10,000 batched 32x32 solves, forward and backward (gradient of sum(x) w.r.t. A and b).
(c) quad on 1,000 parameterised integrands in one vmapped call against a SciPy loop.
(e) every Krylov method (cg ... gcrotmk, lsqr, lsmr) against scipy.sparse.linalg on a 2-D
    convection-diffusion matrix (CSR for SciPy, BCOO for scijax), rtol 1e-8: jitted solve and a
    repeated eager call (after the first, which compiles), with ``info`` and the true residual.
    ``--krylov`` runs only (e).
Each timing is the median of several runs after one warm-up (compilation excluded).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.integrate as si  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spl  # noqa: E402
from jax.experimental import sparse as jsparse  # noqa: E402

from scijax.solvers import linalg as sla  # noqa: E402
from scijax.solvers.integrate._quad import quad  # noqa: E402
from scijax.solvers.linalg import cg, solve  # noqa: E402

ROWS: list[tuple[str, str, float, float, str]] = []


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up / compile
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def block(x):
    return jax.block_until_ready(x)


def report(case: str, who: str, seconds: float, peer_seconds: float, extra: str = "") -> None:
    ROWS.append((case, who, seconds, peer_seconds / seconds if peer_seconds else float("nan"), extra))


def poisson_csr(m: int) -> sp.csr_matrix:
    t = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    eye = sp.eye(m)
    return (sp.kron(t, eye) + sp.kron(eye, t)).tocsr()


def poisson_matvec(m: int):
    def matvec(x):
        u = x.reshape(m, m)
        up = jnp.pad(u, 1)
        return (4 * u - up[:-2, 1:-1] - up[2:, 1:-1] - up[1:-1, :-2] - up[1:-1, 2:]).reshape(-1)

    return matvec


VECTOR_PASSES = 14  # doubles moved per unknown per CG iteration besides the matrix (see module doc)


def bench_cg(m: int, iters: int, repeat: int, with_scipy: bool = True, with_bcoo: bool = True) -> dict:
    n = m * m
    b = np.random.default_rng(0).standard_normal(n)
    vec_bytes = VECTOR_PASSES * 8 * n
    out = {}
    peer = 0.0
    if with_scipy:
        A = poisson_csr(m)
        peer = median_time(lambda: spl.cg(A, b, rtol=0.0, maxiter=iters), repeat)
        csr_bytes = vec_bytes + A.nnz * 12 + (n + 1) * 4
        report(f"(a) CG {m}x{m}", "scipy cg (CSR)", peer / iters, peer / iters,
               f"{csr_bytes * iters / peer / 1e9:.1f} GB/s")
    mv = poisson_matvec(m)
    bj = jnp.asarray(b)
    free = jax.jit(lambda b: cg(mv, b, rtol=0.0, maxiter=iters))
    t = median_time(lambda: block(free(bj)), repeat)
    out["matrix_free"] = (t / iters, vec_bytes * iters / t / 1e9)
    report(f"(a) CG {m}x{m}", "scijax matrix-free", t / iters, peer / iters if peer else 0,
           f"{vec_bytes * iters / t / 1e9:.1f} GB/s")
    if with_bcoo:
        Ab = jsparse.BCOO.from_scipy_sparse(poisson_csr(m))
        sparse = jax.jit(lambda A, b: cg(A, b, rtol=0.0, maxiter=iters))
        t = median_time(lambda: block(sparse(Ab, bj)), repeat)
        coo_bytes = vec_bytes + Ab.nse * (8 + 2 * Ab.indices.dtype.itemsize)
        report(f"(a) CG {m}x{m}", "scijax BCOO", t / iters, peer / iters if peer else 0,
               f"{coo_bytes * iters / t / 1e9:.1f} GB/s")
    return out


def bench_batched_solve(batch: int, n: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    A = rng.standard_normal((batch, n, n)) + n * np.eye(n)
    b = rng.standard_normal((batch, n))
    Aj, bj = jnp.asarray(A), jnp.asarray(b)

    def np_loop():
        return [np.linalg.solve(A[i], b[i]) for i in range(batch)]

    def np_loop_grad():
        out = []
        for i in range(batch):
            x = np.linalg.solve(A[i], b[i])
            lam = np.linalg.solve(A[i].T, np.ones(n))
            out.append((-np.outer(lam, x), lam))
        return out

    ours = jax.jit(lambda A, b: solve(A, b[..., None])[..., 0])
    ref = jax.jit(lambda A, b: jnp.linalg.solve(A, b[..., None])[..., 0])
    ours_g = jax.jit(jax.grad(lambda A, b: ours(A, b).sum(), argnums=(0, 1)))
    ref_g = jax.jit(jax.grad(lambda A, b: ref(A, b).sum(), argnums=(0, 1)))
    t_np = median_time(np_loop, max(1, repeat // 2))
    t_np_g = median_time(np_loop_grad, max(1, repeat // 2))
    t_ref = median_time(lambda: block(ref(Aj, bj)), repeat)
    t_ref_g = median_time(lambda: block(ref_g(Aj, bj)), repeat)
    t_ours = median_time(lambda: block(ours(Aj, bj)), repeat)
    t_ours_g = median_time(lambda: block(ours_g(Aj, bj)), repeat)
    case = f"(b) {batch} x {n}x{n} solve"
    report(case + " fwd", "numpy loop", t_np, t_np)
    report(case + " fwd", "jnp.linalg.solve", t_ref, t_np)
    report(case + " fwd", "scijax solve", t_ours, t_np, f"vs jnp: {t_ref / t_ours:.2f}x")
    report(case + " fwd+bwd", "numpy loop (adjoint)", t_np_g, t_np_g)
    report(case + " fwd+bwd", "jnp.linalg.solve grad", t_ref_g, t_np_g)
    report(case + " fwd+bwd", "scijax solve grad", t_ours_g, t_np_g, f"vs jnp: {t_ref_g / t_ours_g:.2f}x")


def bench_quad(batch: int, repeat: int) -> None:
    ps = np.linspace(0.5, 5.0, batch)

    def scipy_loop():
        return [si.quad(lambda x, p: np.exp(-p * x) * np.cos(3 * x), 0.0, np.pi, (p,))[0] for p in ps]

    f = jax.jit(jax.vmap(lambda p: quad(lambda x, p: jnp.exp(-p * x) * jnp.cos(3 * x), 0.0, jnp.pi, (p,))[0]))
    psj = jnp.asarray(ps)
    t_sc = median_time(scipy_loop, max(1, repeat // 2))
    t_ours = median_time(lambda: block(f(psj)), repeat)
    err = np.max(np.abs(np.asarray(f(psj)) - np.asarray(scipy_loop())))
    report(f"(c) quad x {batch}", "scipy quad loop", t_sc, t_sc)
    report(f"(c) quad x {batch}", "scijax vmap(quad)", t_ours, t_sc, f"max |diff| {err:.1e}")


def convection_diffusion_csr(m: int, peclet: float = 20.0) -> sp.csr_matrix:
    h = 1.0 / (m + 1)
    c = sp.diags([-1.0, 1.0], [-1, 1], shape=(m, m))
    eye = sp.eye(m)
    return (poisson_csr(m) + peclet * h / 2 * (sp.kron(c, eye) + sp.kron(eye, c))).tocsr()


KRYLOV_CASES = [  # (name, keyword arguments shared by SciPy and scijax)
    ("gmres", {"restart": 20}), ("bicgstab", {}), ("cgs", {}), ("bicg", {}), ("qmr", {}), ("tfqmr", {}),
    ("lgmres", {}), ("gcrotmk", {}),
]


def bench_krylov(m: int, repeat: int) -> None:
    A = convection_diffusion_csr(m)
    n = m * m
    b = np.random.default_rng(2).standard_normal(n)
    bj = jnp.asarray(b)
    spd = poisson_csr(m)
    for name, kw in [("cg", {}), ("minres", {})] + KRYLOV_CASES:
        mat = spd if name in ("cg", "minres") else A
        matb = jsparse.BCOO.from_scipy_sparse(mat)
        ref, ours = getattr(spl, name), getattr(sla, name)
        t_sc = median_time(lambda: ref(mat, b, rtol=1e-8, maxiter=5000, **kw), repeat)  # noqa: B023
        jitted = jax.jit(lambda A, b: ours(A, b, rtol=1e-8, maxiter=5000, **kw))  # noqa: B023
        t_jit = median_time(lambda: block(jitted(matb, bj)), repeat)  # noqa: B023
        t_eager = median_time(lambda: block(ours(matb, bj, rtol=1e-8, maxiter=5000, **kw)), repeat)  # noqa: B023
        x, info = jitted(matb, bj)
        res = np.linalg.norm(mat @ np.asarray(x) - b) / np.linalg.norm(b)
        info_ref = ref(mat, b, rtol=1e-8, maxiter=5000, **kw)[1]
        case = f"(e) {name} n={n}"
        report(case, "scipy", t_sc, t_sc, f"info {info_ref}")
        report(case, "scijax jit (BCOO)", t_jit, t_sc, f"info {int(info)}, rel. residual {res:.1e}")
        report(case, "scijax eager (repeat)", t_eager, t_sc, f"eager - jit: {1e3 * (t_eager - t_jit):.2f} ms")
    rect = sp.random(4 * n, n, density=5.0 / n, random_state=3, format="csr") + sp.eye(4 * n, n)
    rb = np.random.default_rng(4).standard_normal(4 * n)
    rectb, rbj = jsparse.BCOO.from_scipy_sparse(rect), jnp.asarray(rb)
    for name in ("lsqr", "lsmr"):
        ref, ours = getattr(spl, name), getattr(sla, name)
        t_sc = median_time(lambda: ref(rect, rb, atol=1e-10, btol=1e-10), repeat)  # noqa: B023
        jitted = jax.jit(lambda A, b: ours(A, b, atol=1e-10, btol=1e-10))  # noqa: B023
        t_jit = median_time(lambda: block(jitted(rectb, rbj)), repeat)  # noqa: B023
        out, out_ref = jitted(rectb, rbj), ref(rect, rb, atol=1e-10, btol=1e-10)
        case = f"(e) {name} {4 * n}x{n}"
        report(case, "scipy", t_sc, t_sc, f"istop {out_ref[1]}, itn {out_ref[2]}")
        report(case, "scijax jit (BCOO)", t_jit, t_sc, f"istop {int(out[1])}, itn {int(out[2])}")


def copy_bandwidth(n: int, repeat: int) -> float:
    x = jnp.ones(n)
    f = jax.jit(lambda x: x * 1.0000001)
    t = median_time(lambda: block(f(x)), repeat)
    return 2 * 8 * n / t / 1e9


def print_table() -> None:
    print(f"\ndevice: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    print(f"{'case':34s} {'who':26s} {'median s':>12s} {'speed-up vs peer':>17s}  note")
    for case, who, secs, ratio, extra in ROWS:
        print(f"{case:34s} {who:26s} {secs:12.3e} {ratio:17.2f}  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--gpu", action="store_true", help="(d): CG at 4096x4096 and copy bandwidth")
    parser.add_argument("--krylov", action="store_true", help="only (e): every Krylov method against SciPy")
    opts = parser.parse_args()
    if opts.krylov:
        bench_krylov(16 if opts.small else 32, 3 if opts.small else 5)
    elif opts.gpu:
        repeat = 5
        bench_cg(256, 200, repeat)
        bench_cg(1024, 200, repeat, with_scipy=False)
        res = bench_cg(4096, 100, 3, with_scipy=False)
        bw = copy_bandwidth(4096 * 4096, repeat)
        t_it, achieved = res["matrix_free"]
        ROWS.append(("(d) copy bandwidth", "x * c (read + write)", 2 * 8 * 4096**2 / bw / 1e9, float("nan"),
                     f"{bw:.0f} GB/s"))
        ROWS.append(("(d) CG 4096x4096 matrix-free", "fraction of copy bw", t_it, float("nan"),
                     f"{achieved:.0f} GB/s = {100 * achieved / bw:.0f}% of copy"))
    elif opts.small:
        bench_cg(64, 100, 3)
        bench_cg(128, 100, 3)
        bench_batched_solve(1000, 32, 3)
        bench_quad(100, 3)
        bench_krylov(16, 3)
    else:
        bench_cg(256, 200, 5)
        bench_cg(1024, 50, 3)
        bench_batched_solve(10_000, 32, 5)
        bench_quad(1000, 3)
        bench_krylov(32, 5)
    print_table()


if __name__ == "__main__":
    main()
