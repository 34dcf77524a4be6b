"""skillrl: SkillRL (arXiv 2602.08234) for the RL frameworks you already use.

Importing this package is light: it loads pydantic and pluggy only. FAISS, torch,
sentence-transformers and the trainer frameworks are imported when a feature needs them.
"""

from skillrl.errors import BankConflictError, BankFormatError, MissingDependencyError, SkillRLError, TeacherError
from skillrl.hookspecs import hookimpl
from skillrl.skill import Mistake, Provenance, Skill

__version__ = "0.1.0"

__all__ = [
    "BankConflictError",
    "BankFormatError",
    "MissingDependencyError",
    "Mistake",
    "Provenance",
    "Skill",
    "hookimpl",
    "SkillRLError",
    "TeacherError",
    "__version__",
]
