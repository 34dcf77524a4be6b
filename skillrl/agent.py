"""Deprecated: the inference agent moved to :mod:`skillrl.adapters.agent` (memory, sessions, policies) and the
admissible-command parsing to :mod:`skillrl.actions`. This module re-exports the names of
:mod:`skillrl.adapters.agent` (every old name is among them) and warns once, on first import."""

from __future__ import annotations

import warnings

from skillrl.adapters.agent import *  # noqa: F403 - the shim's whole job
from skillrl.adapters.agent import __all__  # noqa: F401

warnings.warn("skillrl.agent is deprecated: import from skillrl.adapters.agent (and skillrl.actions)",
              DeprecationWarning, stacklevel=2)
