"""``python -m scijax demo``: run the flagship demo (see :mod:`scijax._demo`)."""

import sys


def _cli(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m scijax demo [--steps N] [--lbfgs-steps N] [--seed S] [--out DIR] [--no-plots]\n\n"
              "commands:\n  demo    fit a hybrid Lotka-Volterra model through solve_ivp and plot the result")
        return 0 if argv else 2
    if argv[0] != "demo":
        print(f"scijax: unknown command {argv[0]!r}; the only command is 'demo'", file=sys.stderr)
        return 2
    from scijax._demo import main

    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
