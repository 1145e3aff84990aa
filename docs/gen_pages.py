"""Pages generated from the code at build time: the API reference, the SciPy compatibility table, the notebooks.

``mkdocs.yml`` loads this file as a hook (``hooks: [docs/gen_pages.py]``), so nothing generated is
committed and nothing can go stale:

- ``api/<group>.md``: one page per public module, one mkdocstrings ``:::`` entry per name in its
  ``__all__`` (``API_GROUPS``);
- ``scipy-compat.md``: every public name in the installed SciPy's ``scipy.integrate``,
  ``scipy.optimize``, ``scipy.linalg`` and ``scipy.sparse.linalg`` ``__all__``, whether scijax has
  it, its methods (read from the solvers' registries, ``REGISTRIES``), its signature, and the
  "Differences from SciPy" section of its docstring;
- the notebooks in ``notebooks/`` as pages (rendered by mkdocs-jupyter; executed only when
  ``SCIJAX_DOCS_EXECUTE=1``, since the test suite already executes them);
- the performance page's tables and plots, read from ``benchmarks/results.md``.

Run it as a script to write the generated Markdown to a folder for inspection:
``python docs/gen_pages.py OUTDIR``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (page, title, module); each page documents its module's __all__.
API_GROUPS = [
    ("api/scijax.md", "scijax", "scijax"),
    ("api/integrate.md", "scijax.solvers.integrate", "scijax.solvers.integrate"),
    ("api/optimize.md", "scijax.solvers.optimize", "scijax.solvers.optimize"),
    ("api/linalg.md", "scijax.solvers.linalg", "scijax.solvers.linalg"),
    ("api/physics.md", "scijax.physics", "scijax.physics"),
    ("api/ml.md", "scijax.ml", "scijax.ml"),
    ("api/parallel.md", "scijax.parallel", "scijax.parallel"),
]

# SciPy module -> the scijax module that mirrors it
SCIPY_MODULES = [
    ("scipy.integrate", "scijax.solvers.integrate"),
    ("scipy.optimize", "scijax.solvers.optimize"),
    ("scipy.linalg", "scijax.solvers.linalg"),
    ("scipy.sparse.linalg", "scijax.solvers.linalg"),
]

# public name -> (module, attribute) of the registry its ``method`` (or similar) argument looks up;
# these are the registries the facades dispatch on, so the table lists exactly what runs.
REGISTRIES = {
    "solve_ivp": ("method", "scijax.solvers.integrate.internal", "METHODS"),
    "minimize": ("method", "scijax.solvers.optimize._minimize_methods", "MINIMIZE_METHODS"),
    "root": ("method", "scijax.solvers.optimize._root", "ROOT_METHODS"),
    "root_scalar": ("method", "scijax.solvers.optimize._root_scalar", "_BRACKETING"),
    "minimize_scalar": ("method", "scijax.solvers.optimize._minimize_scalar", "SCALAR_METHODS"),
    "least_squares": ("method", "scijax.solvers.optimize._least_squares", "LSQ_METHODS"),
    "lsq_linear": ("method", "scijax.solvers.optimize._lsq_linear", "LSQ_LINEAR_METHODS"),
    "linprog": ("method", "scijax.solvers.optimize._linprog", "LINPROG_METHODS"),
    "fixed_point": ("method", "scijax.solvers.optimize._fixed_point", "_METHODS"),
    "solve_discrete_lyapunov": ("method", "scijax.solvers.linalg._matrix_eq", "_DISCRETE_METHODS"),
    "solve": ("assume_a", "scijax.solvers.linalg._dense", "STRUCTURES"),
}
# methods a facade handles outside its registry dict
EXTRA_METHODS = {"root_scalar": ["newton", "secant", "halley"]}

NOTEBOOK_TITLES = {
    "01_scipy_dropin": "SciPy drop-in",
    "02_parameter_estimation": "Parameter estimation",
    "03_hybrid_ude": "Hybrid physics and ML (UDE)",
    "04_pinn": "Physics-informed networks",
    "05_ensembles_uq": "Ensembles and uncertainty",
    "06_stiff_chemistry": "Stiff chemistry",
    "07_design_optimisation": "Design optimisation",
}


def _import(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def public_names(module: str) -> list[str]:
    """The names of ``module.__all__`` that get an API entry (dunders such as ``__version__`` excepted)."""
    return [n for n in _import(module).__all__ if not n.startswith("__")]


# ---------------------------------------------------------------------------------------------
# API reference
# ---------------------------------------------------------------------------------------------


def api_page(title: str, module: str) -> str:
    mod = _import(module)
    lines = [f"# `{title}`", ""]
    doc = inspect.getdoc(mod) or ""
    if doc:
        lines += [_rst_to_md(doc.split("\n\n")[0]), ""]
    top = set(public_names("scijax")) if module != "scijax" else set()
    shared = [n for n in public_names(module) if n in top]
    if shared:
        lines += [", ".join(f"`{n}`" for n in shared) + " (re-exported): see [scijax](scijax.md).", ""]
    if module == "scijax":
        lines += ["`scijax.__version__`: the installed package's version string.", ""]
    lines += ["Every public name of this module (its `__all__`), in that order. The examples assume float64:",
              '`jax.config.update("jax_enable_x64", True)` at start-up (see [Getting started](../getting-started.md));',
              "the test suite runs each of them as a doctest with that setting.", ""]
    for name in public_names(module):
        if name in top:
            continue
        obj = getattr(mod, name)
        if _external(obj):
            lines += _external_entry(module, name, obj)
            continue
        if _dynamic(obj):
            lines += _dynamic_entry(name, obj)
            continue
        options = ["heading_level: 2", "show_root_heading: true", "show_root_full_path: false"]
        lines += [f"::: {module}.{name}", "    options:", *[f"      {o}" for o in options], ""]
    return "\n".join(lines)


def _external(obj) -> bool:
    """Re-exported from JAX or SciPy unchanged (documented there; griffe cannot follow the alias)."""
    origin = getattr(obj, "__module__", None) or ""
    return (inspect.isfunction(obj) or inspect.isclass(obj) or callable(obj)) and not origin.startswith("scijax")


def _public_origin(obj) -> str:
    origin = obj.__module__
    for public in ("jax.scipy.linalg", "jax.scipy.integrate", "scipy.optimize"):
        if origin.startswith(public.replace("jax.", "jax._src.")) or origin.startswith(public):
            origin = public
    return f"{origin}.{obj.__name__}"


def _external_entry(module: str, name: str, obj) -> list[str]:
    doc = (inspect.getdoc(obj) or "").split("\n\n")[0].strip()
    lines = [f"## `{name}`", "", f"`{module}.{name}` is `{_public_origin(obj)}`, re-exported unchanged: it already has "
             "SciPy's signature and meaning (and is tested against SciPy like the rest).", ""]
    sig = _signature(obj)
    if sig:
        lines += ["```python", f"{name}{sig}", "```", ""]
    if doc:
        lines += ["> " + " ".join(_rst_to_md(doc).split()), ""]
    return lines


def _dynamic_entry(name: str, obj) -> list[str]:
    """A function made at import time (griffe's static analysis sees only the assignment): its docstring,
    with the NumPy-style section headings as bold lines and the doctest examples as code blocks."""
    lines = [f"## `{name}`", "", "```python", f"{name}{_signature(obj)}", "```", ""]
    doc = (inspect.getdoc(obj) or "").splitlines()
    i, section = 0, ""
    while i < len(doc):
        line = doc[i]
        if i + 1 < len(doc) and doc[i + 1].strip() and set(doc[i + 1].strip()) == {"-"} and line.strip():
            section = line.strip()
            lines += ["", f"**{section}**", ""]
            i += 2
            continue
        if section in ("Parameters", "Other Parameters") and line.strip():
            # "name : type" lines become list items, their indented descriptions continue them
            lines.append(f"  {_rst_to_md(line.strip())}" if line.startswith(" ") else f"- `{line.strip()}`:")
            i += 1
            continue
        if line.startswith(">>>"):
            block = []
            while i < len(doc) and doc[i].strip():
                block.append(doc[i])
                i += 1
            lines += ["```python", *block, "```", ""]
            continue
        lines.append(_rst_to_md(line))
        i += 1
    return [*lines, ""]


def _dynamic(obj) -> bool:
    """Functions built at import time (their code object is shared, e.g. root_scalar's brentq/bisect)."""
    obj = inspect.unwrap(obj)  # the eager-result wrapper (scijax._eager) is not "built at import time"
    code = getattr(obj, "__code__", None)
    return code is not None and code.co_name != obj.__name__


# ---------------------------------------------------------------------------------------------
# SciPy compatibility
# ---------------------------------------------------------------------------------------------


def _rst_to_md(text: str) -> str:
    text = re.sub(r":(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def differences(obj) -> str:
    """The "Differences from SciPy" section of ``obj``'s docstring, as Markdown (empty if none)."""
    doc = inspect.getdoc(obj) or ""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Differences from SciPy" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            body = []
            for j in range(i + 2, len(lines)):
                nxt = lines[j + 1].strip() if j + 1 < len(lines) else ""
                if lines[j].strip() and nxt and set(nxt) == {"-"} and not lines[j].startswith(" "):
                    break
                body.append(lines[j])
            return _rst_to_md("\n".join(body).strip())
    return ""


def methods(name: str) -> tuple[str, list[str]] | None:
    if name not in REGISTRIES:
        return None
    arg, module, attr = REGISTRIES[name]
    registry = getattr(_import(module), attr)
    return arg, [*registry, *EXTRA_METHODS.get(name, [])]


def _kind(obj) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function" if callable(obj) else "data"


def _signature(obj) -> str:
    """The call signature without annotations (the API reference has the types)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    sig = sig.replace(parameters=params, return_annotation=inspect.Signature.empty)
    return re.sub(r"\s+", " ", str(sig))


def compat_page() -> str:
    import scipy

    method_of = {}  # SciPy class name (RK45, ...) -> the facade whose method it is
    for facade in REGISTRIES:
        found = methods(facade)
        for m in found[1] if found else []:
            method_of.setdefault(m, facade)
    out = [
        "# SciPy compatibility",
        "",
        f"Generated from the code when the docs are built (`docs/gen_pages.py`), against SciPy {scipy.__version__}:",
        "every public name of `scipy.integrate`, `scipy.optimize`, `scipy.linalg` and `scipy.sparse.linalg`",
        "(their `__all__`, submodules left out), whether scijax has it, the methods its registry dispatches on,",
        "and, below the tables, each function's signature and its documented differences from SciPy.",
        "SciPy's `OdeSolver` classes (`RK45`, `Radau`, ...) exist as classes and as `solve_ivp` methods.",
        "",
    ]
    details: list[str] = []
    for scipy_name, ours_name in SCIPY_MODULES:
        sp, ours = _import(scipy_name), _import(ours_name)
        ours_all = set(ours.__all__)
        names = sorted((n for n in sp.__all__ if not inspect.ismodule(getattr(sp, n, None))), key=str.lower)
        have = sum(n in ours_all for n in names)
        out += [f"## `{scipy_name}`", "", f"{have} of {len(names)} public names are in `{ours_name}`.", "",
                "| SciPy name | kind | scijax | methods |", "| --- | --- | --- | --- |"]
        for n in names:
            kind = _kind(getattr(sp, n))
            if n in ours_all:
                found = methods(n)
                meth = f"`{found[0]}`: " + ", ".join(f"`{m}`" for m in found[1]) if found else ""
                anchor = f"{ours_name.rsplit('.', 1)[1]}-{n}".lower()
                out.append(f"| `{n}` | {kind} | [yes](#{anchor}) | {meth} |")
                details.append(_detail(ours_name, n, getattr(ours, n), anchor))
            elif n in method_of and scipy_name == "scipy.integrate":
                out.append(f"| `{n}` | {kind} | as `{method_of[n]}(method='{n}')` | |")
            else:
                out.append(f"| `{n}` | {kind} | no | |")
        out.append("")
    extra = []
    for ours_name in dict.fromkeys(m for _, m in SCIPY_MODULES):
        scipy_all = set()
        for scipy_name, o in SCIPY_MODULES:
            if o == ours_name:
                scipy_all |= set(_import(scipy_name).__all__)
        extra += [f"`{ours_name}.{n}`" for n in _import(ours_name).__all__
                  if n not in scipy_all and not n.startswith("NotTraceable")]
    out += ["## Not in SciPy", "", "scijax's solver families also export: " + ", ".join(extra) + ".", "",
            "## Signatures and differences", "", *details]
    return "\n".join(out).rstrip() + "\n"


def _detail(module: str, name: str, obj, anchor: str) -> str:
    lines = [f"### `{module}.{name}` {{#{anchor}}}", ""]
    sig = _signature(obj)
    if sig:
        lines += ["```python", f"{name}{sig}", "```", ""]
    found = methods(name)
    if found:
        lines += [f"Methods (`{found[0]}`): " + ", ".join(f"`{m}`" for m in found[1]) + ".", ""]
    diff = differences(obj)
    if _external(obj):
        diff = f"Re-exported unchanged from `{_public_origin(obj)}`."
    lines += [diff if diff else "_No differences from SciPy documented._", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Notebooks and the performance page
# ---------------------------------------------------------------------------------------------


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_title(path: Path) -> str:
    return NOTEBOOK_TITLES.get(path.stem, path.stem.replace("_", " ").capitalize())


def results_markdown() -> str:
    """benchmarks/results.md with its headings one level down and its image paths relative to docs/."""
    path = ROOT / "benchmarks" / "results.md"
    if not path.exists():
        return "_No benchmark results yet: run `python benchmarks/run_all.py`._\n"
    text = path.read_text()
    text = text.replace("../docs/assets/bench/", "assets/bench/")
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    return re.sub(r"^(#+) ", r"#\1 ", body, flags=re.M)


def generated_pages() -> dict[str, str]:
    pages = {page: api_page(title, module) for page, title, module in API_GROUPS}
    pages["scipy-compat.md"] = compat_page()
    return pages


# ---------------------------------------------------------------------------------------------
# mkdocs hook
# ---------------------------------------------------------------------------------------------


def on_config(config):
    execute = os.environ.get("SCIJAX_DOCS_EXECUTE", "").lower() in ("1", "true", "yes")
    plugin = config["plugins"].get("mkdocs-jupyter")
    if plugin is not None:
        plugin.config["execute"] = execute
    nav = config["nav"]
    for entry in nav:
        if isinstance(entry, dict) and "Notebooks" in entry:
            entry["Notebooks"] = [{notebook_title(p): f"notebooks/{p.name}"} for p in notebooks()]
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = [{title: page} for page, title, _ in API_GROUPS]
    return config


def _on_files(files, config):
    from mkdocs.structure.files import File

    for path, content in generated_pages().items():
        files.append(File.generated(config, path, content=content))
    for nb in notebooks():
        files.append(File(f"notebooks/{nb.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def _on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "performance.md":
        return markdown.replace("<!-- benchmarks/results.md -->", results_markdown())
    return markdown


try:  # the hook runs before mkdocs-jupyter's on_files, so the notebooks become notebook pages
    from mkdocs.plugins import event_priority

    on_files = event_priority(100)(_on_files)
    on_page_markdown = _on_page_markdown
except ImportError:  # run as a script without mkdocs
    pass


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "gen-pages")
    for rel, content in generated_pages().items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(content)
        print(out / rel)
