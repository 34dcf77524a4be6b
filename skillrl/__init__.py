"""skillrl: SkillRL (arXiv 2602.08234) for the RL frameworks you already use.

Importing this package is light: it loads pydantic and pluggy only. FAISS, torch,
sentence-transformers and the trainer frameworks are imported when a feature needs them.
"""

from skillrl.bank import SkillBank
from skillrl.episode import Episode, Step
from skillrl.errors import BankConflictError, BankFormatError, MissingDependencyError, SkillRLError, TeacherError
from skillrl.hookspecs import hookimpl
from skillrl.runtime import SkillRuntime
from skillrl.skill import Mistake, Provenance, Skill

__version__ = "0.1.0"

__all__ = [
    "BankConflictError",
    "BankFormatError",
    "Episode",
    "MissingDependencyError",
    "Mistake",
    "Provenance",
    "Skill",
    "SkillBank",
    "SkillRuntime",
    "Step",
    "hookimpl",
    "SkillRLError",
    "TeacherError",
    "__version__",
]
