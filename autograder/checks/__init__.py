"""The checks, one module per group of exercises.

Importing this package imports every module in it, which registers their
checks; ``ALL`` maps each test-cell function name (``check_<name>``) to the
function, and :mod:`autograder` exports them all.
"""

import importlib
import pkgutil

ALL = {}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    _loaded = importlib.import_module(f"{__name__}.{_module}")
    ALL.update({name: getattr(_loaded, name) for name in dir(_loaded) if name.startswith("check_")})

globals().update(ALL)
__all__ = sorted(ALL)
