"""The docs site's generated pages cover the code (no compiles: imports and text only).

``docs/gen_pages.py`` generates the API reference and the SciPy compatibility table when mkdocs
builds (CI runs ``mkdocs build --strict``); these tests check what that build cannot: that every
public name gets an entry, that the compatibility table has a row for every SciPy name and reads
the facades' real registries, and that every page the nav names exists.
"""

import importlib.util
import pathlib
import re

import pytest
import scipy

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gen_pages", ROOT / "docs" / "gen_pages.py")
gen_pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_pages)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return gen_pages.generated_pages()


def test_api_reference_has_every_public_name(pages):
    documented = set()
    for page, _, module in gen_pages.API_GROUPS:
        text = pages[page]
        for name in gen_pages.public_names(module):
            if f"::: {module}.{name}\n" in text or f"## `{name}`\n" in text:
                documented.add(name)
            else:  # only the top-level exceptions are shared, and they link to the scijax page
                assert name in gen_pages.public_names("scijax") and "(re-exported)" in text, (module, name)
    # the subpackages' __all__ together: all public names of the library (about 190)
    assert len(documented) > 150
    assert {"solve_ivp", "minimize", "cg", "MLP", "LotkaVolterra", "ensemble_solve_ivp", "brentq"} <= documented


def test_compatibility_table_has_a_row_per_scipy_name(pages):
    text = pages["scipy-compat.md"]
    for scipy_name, ours_name in gen_pages.SCIPY_MODULES:
        sp = importlib.import_module(scipy_name)
        ours = set(gen_pages._import(ours_name).__all__)
        section = text.split(f"## `{scipy_name}`\n", 1)[1].split("\n## ", 1)[0]
        rows = dict(re.findall(r"^\| `([^`]+)` \| \w+ \| ([^|]+) \|", section, flags=re.M))
        public = {n for n in sp.__all__ if not isinstance(getattr(sp, n, None), type(scipy))}
        assert set(rows) == public, scipy_name
        for name, cell in rows.items():
            assert cell.startswith("[yes]") == (name in ours), (scipy_name, name, cell)
    # registries are read, not typed in: solve_ivp's methods and SciPy classes that are its methods
    assert "| `Radau` | class | [yes](#integrate-radau) |" in text  # the OdeSolver class itself
    assert re.search(r"\| `solve_ivp` \| function \| \[yes\][^|]*\| `method`: `RK45`, .*`Rodas5`", text)
    # each implemented name has its details section, with its docstring's differences from SciPy
    assert text.count("{#") == text.count("[yes](#")
    assert "Step-size control is diffrax's PID controller" in text


def test_every_registry_resolves():
    for name in gen_pages.REGISTRIES:
        arg, found = gen_pages.methods(name)
        assert found and all(isinstance(m, str) for m in found), name
        assert any(name in gen_pages._import(m).__all__ for _, m in gen_pages.SCIPY_MODULES), name


def test_nav_pages_exist_and_docs_state_x64():
    config = (ROOT / "mkdocs.yml").read_text()
    for page in re.findall(r":\s+([\w/-]+\.md)\s*$", config, flags=re.M):
        assert (ROOT / "docs" / page).is_file() or page in gen_pages.generated_pages(), page
    assert "<!-- benchmarks/results.md -->" in (ROOT / "docs" / "performance.md").read_text()
    # the docstring examples run with x64 (tests/test_doctests.py); the docs tell users the same
    assert 'jax.config.update("jax_enable_x64", True)' in (ROOT / "docs" / "getting-started.md").read_text()
