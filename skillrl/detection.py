"""Deprecated: category detection moved to :mod:`skillrl.profiles` (the engine in :mod:`skillrl.profiles.base`,
the environments in :mod:`skillrl.profiles.alfworld`, :mod:`~skillrl.profiles.webshop` and
:mod:`~skillrl.profiles.search`). This module re-exports the names of :mod:`skillrl.profiles` (every old name is
among them) and warns once, on first import."""

from __future__ import annotations

import warnings

from skillrl.profiles import *  # noqa: F403 - the shim's whole job
from skillrl.profiles import __all__  # noqa: F401

warnings.warn("skillrl.detection is deprecated: import from skillrl.profiles", DeprecationWarning, stacklevel=2)
