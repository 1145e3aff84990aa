"""SciPy's way of printing results: one field per line, names right-aligned, arrays summarised.

Used by ``OptimizeResult.__repr__`` and ``OdeResult.__repr__``: ``print(res)`` shows what SciPy shows
(documented fields only, ``message``/``success``/``status`` first, arrays as ``[ 1.000e+00 ...]``),
never internal buffers.
"""

from typing import Any

import numpy as np

__all__ = ["format_fields"]


def _value(v: Any, indent: int) -> str:
    if isinstance(v, list | tuple) and v and all(hasattr(x, "shape") for x in v):
        return "[" + (",\n" + " " * (indent + 1)).join(_value(x, indent + 1) for x in v) + "]"
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        a = np.asarray(v)
        if a.ndim == 0:
            return repr(a.item())
        with np.printoptions(threshold=20, edgeitems=3):
            return np.array2string(a, separator=" ", prefix=" " * indent,
                                   formatter={"float": "{: .3e}".format, "complexfloat": "{: .3e}".format})
    text = v if isinstance(v, str) else repr(v)
    return text.replace("\n", "\n" + " " * indent)


def format_fields(pairs: list[tuple[str, Any]]) -> str:
    """``name: value`` lines in SciPy's layout for concrete (eager) results."""
    if not pairs:
        return "{}"
    width = max(len(k) for k, _ in pairs) + 1
    return "\n".join(f"{k.rjust(width)}: {_value(v, width + 2)}" for k, v in pairs)
