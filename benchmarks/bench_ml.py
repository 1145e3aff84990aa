"""One training step of a neural ODE: scijax's NeuralODE against raw diffrax (vmap) and torchdiffeq.

Run:  python benchmarks/bench_ml.py [--small] [--batches 64 65536] [--repeat 5]

Workload (the same for every peer, float32):
- an MLP 2 -> 64 -> 64 -> 2 with tanh;
- fixed-step Tsit5 with dt = 0.05 over [0, 1] (torchdiffeq has no fixed-step Tsit5: it runs rk4,
  which costs 4 evaluations per step instead of 6);
- 20 save times (t = 0.05, 0.10, ..., 1.0), an MSE loss against fixed targets, one Adam update.

scijax runs ``NeuralODE(MLP(2, 2, 64, 2), method='Tsit5', dt=0.05, adjoint=...)``: the solve_ivp
model with its fixed-step option, where the batch is one matrix state and the steps run in a
``lax.scan``; ``adjoint='checkpoint'`` wraps each step in ``jax.checkpoint``, ``'direct'`` stores every
stage. Raw diffrax is ``jax.vmap`` of ``diffeqsolve(Tsit5, ConstantStepSize, SaveAt(ts))`` with its
default RecursiveCheckpointAdjoint. Each cell is the median of ``--repeat`` warm steps.
"""

import argparse
import statistics
import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from scijax.ml import MLP, NeuralODE, trajectory_mse

DT = 0.05
T = np.linspace(0.0, 1.0, 21)  # the initial time and 20 save times
NET = MLP(2, 2, width=64, depth=2, activation="tanh")


def _median(fn, repeat):
    fn()  # warm-up (compilation)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _problem(batch):
    params = NET.init(jax.random.key(0), dtype=jnp.float32)
    y0 = jax.random.normal(jax.random.key(1), (batch, 2), jnp.float32)
    target = 0.5 * jax.random.normal(jax.random.key(2), (batch, 2, len(T)), jnp.float32)
    target = target.at[..., 0].set(y0)
    return params, y0, target


def _jax_step(loss):
    opt = optax.adam(1e-3)

    @jax.jit
    def step(params, state, y0, target):
        value, grads = jax.value_and_grad(loss)(params, y0, target)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    return step, opt


def scijax_loss(adjoint):
    model = NeuralODE(NET, method="Tsit5", dt=DT, adjoint=adjoint)
    return lambda p, y0, target: trajectory_mse(model, p, T, target, y0=y0), model


def diffrax_solve(params, y0):
    term = diffrax.ODETerm(lambda t, y, p: NET(p, y))
    ts = jnp.asarray(T, jnp.float32)

    def one(y):
        sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), ts[0], ts[-1], DT, y, args=params,
                                  saveat=diffrax.SaveAt(ts=ts), stepsize_controller=diffrax.ConstantStepSize())
        return sol.ys.T

    return jax.vmap(one)(y0)


def diffrax_loss(params, y0, target):
    return jnp.mean((diffrax_solve(params, y0) - target) ** 2)


def time_jax(loss, batch, repeat):
    params, y0, target = _problem(batch)
    step, opt = _jax_step(loss)
    state = opt.init(params)
    return _median(lambda: jax.block_until_ready(step(params, state, y0, target)), repeat)


def time_torchdiffeq(batch, repeat):
    try:
        import torch
        import torchdiffeq
    except ImportError:
        return None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    params, y0, target = _problem(batch)
    layers = []
    for i, layer in enumerate(params):
        lin = torch.nn.Linear(*np.shape(layer["W"]))
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(layer["W"]).T.copy()))
            lin.bias.copy_(torch.from_numpy(np.asarray(layer["b"]).copy()))
        layers += [lin] + ([torch.nn.Tanh()] if i < len(params) - 1 else [])
    net = torch.nn.Sequential(*layers).to(device)
    func = lambda t, y: net(y)
    t = torch.tensor(T, dtype=torch.float32, device=device)
    y0_t = torch.from_numpy(np.array(y0)).to(device)
    target_t = torch.from_numpy(np.array(target)).permute(2, 0, 1).contiguous().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        ys = torchdiffeq.odeint(func, y0_t, t, method="rk4", options={"step_size": DT})
        loss = torch.mean((ys - target_t) ** 2)
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return _median(step, repeat)


def check_accuracy():
    params, y0, _ = _problem(64)
    _, model = scijax_loss("checkpoint")
    ours, ref = model(params, y0, T), diffrax_solve(params, y0)
    return float(jnp.max(jnp.abs(ours - ref)))


def main(batches, repeat):
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}); float32")
    print(f"max |scijax NeuralODE - diffrax Tsit5| over the batch-64 trajectories: {check_accuracy():.1e}\n")
    print("| batch | raw diffrax vmap (ms) | torchdiffeq rk4 (ms) | scijax checkpoint (ms) | scijax direct (ms) "
          "| best scijax vs diffrax | vs torchdiffeq |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for batch in batches:
        t_dfx = _guarded(lambda: time_jax(diffrax_loss, batch, repeat))
        t_torch = _guarded(lambda: time_torchdiffeq(batch, repeat))
        t_ckpt = _guarded(lambda: time_jax(scijax_loss("checkpoint")[0], batch, repeat))
        t_direct = _guarded(lambda: time_jax(scijax_loss("direct")[0], batch, repeat))
        best = min((t for t in (t_ckpt, t_direct) if t is not None), default=None)
        ratio = lambda peer: "-" if peer is None or best is None else f"{peer / best:.1f}x"
        cell = lambda t, missing="failed": missing if t is None else f"{t * 1e3:.2f}"
        print(f"| {batch:,} | {cell(t_dfx)} | {cell(t_torch, 'not installed')} | {cell(t_ckpt)} | {cell(t_direct)} "
              f"| {ratio(t_dfx)} | {ratio(t_torch)} |", flush=True)


def _guarded(fn):
    """Run one timing; a peer that fails (out of memory, missing package) is reported, not fatal."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and goes on
        print(f"  ({type(err).__name__}: {str(err)[:200]})", flush=True)
        return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="batches 64 and 1,024, 3 repeats")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 65536])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    main([64, 1024] if args.small else args.batches, 3 if args.small else args.repeat)
