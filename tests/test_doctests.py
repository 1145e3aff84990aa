"""Every docstring example in the package runs, as a doctest, with ``jax_enable_x64`` on (tests/conftest.py).

One test per module, so a failure names the module. Examples that need an optional package (optax, for
``scijax.ml``'s training loop) are skipped only when that package is missing.
"""

import doctest
import importlib
import importlib.util
import pkgutil

import jax
import pytest

import scijax

OPTIONAL = ("optax",)  # the `ml` extra; the test extra installs it, so CI runs these examples
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _all_modules() -> list[str]:
    names = [scijax.__name__]
    names += [m.name for m in pkgutil.walk_packages(scijax.__path__, prefix=scijax.__name__ + ".")]
    return sorted(names)


def _examples(module) -> list[doctest.DocTest]:
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__) if t.examples]


def _modules() -> list[str]:
    """Modules with at least one docstring example (and any that need a missing optional package)."""
    out = []
    for name in _all_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name in OPTIONAL:
                out.append(name)  # skipped, with the reason, when it runs
                continue
            raise
        if _examples(module):
            out.append(name)
    return out


def _missing(source: str) -> list[str]:
    return [p for p in OPTIONAL if f"import {p}" in source and importlib.util.find_spec(p) is None]


def test_every_module_is_collected():
    names = _all_modules()
    assert "scijax.solvers.integrate._odeint" in names and "scijax.ml._train" in names
    assert len(names) > 70
    with_examples = _modules()
    assert {"scijax.solvers.integrate._odeint", "scijax.solvers.linalg._cg"} <= set(with_examples)
    assert len(with_examples) > 30


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    assert jax.config.jax_enable_x64
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:  # a module that imports an optional package at the top
        if err.name in OPTIONAL:
            pytest.skip(f"{name} needs {err.name}")
        raise
    tests = _examples(module)
    assert tests, f"{name} lost its docstring examples"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    skipped, report = [], []
    for test in tests:
        missing = _missing("".join(ex.source for ex in test.examples))
        if missing:
            skipped.append(f"{test.name} (needs {', '.join(missing)})")
            continue
        runner.run(test, out=report.append)  # doctest swaps sys.stdout while it runs, so keep the report
    result = doctest.TestResults(runner.failures, runner.tries)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}:\n" + "".join(report)
    if skipped and not result.attempted:
        pytest.skip("; ".join(skipped))
