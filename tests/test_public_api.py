"""Every public name of every public scijax package has a docstring, and `__all__` is literal and complete."""

import importlib
import inspect

import pytest

import scijax

PACKAGES = [
    "scijax",
    "scijax.solvers",
    "scijax.solvers.integrate",
    "scijax.solvers.optimize",
    "scijax.solvers.linalg",
    "scijax.physics",
    "scijax.ml",
    "scijax.parallel",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_has_docstring_and_documented_exports(name):
    mod = importlib.import_module(name)
    assert mod.__doc__ and mod.__doc__.strip()
    for export in getattr(mod, "__all__", []):
        obj = getattr(mod, export)
        if export == "__version__":
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name}.{export} has no docstring"


def test_version_comes_from_metadata():
    assert isinstance(scijax.__version__, str) and scijax.__version__
