"""Load a labelled set's ``build.py`` (``benchmarks/data/<name>/build.py``) as its own module.

Several labelled sets have a ``build.py``; importing them by ``sys.path`` makes the second ``import build`` return
the first one's module (``sys.modules`` caches by name), so each is loaded from its path under a unique name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def load_build(name: str) -> ModuleType:
    """The module ``benchmarks/data/<name>/build.py``, registered as ``bench_data_<name>_build``."""
    mod_name = f"bench_data_{name}_build"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, DATA / name / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module
