"""Category detection profiles for template-mode retrieval: the engine and the built-in environments.

* :mod:`skillrl.profiles.base`: :class:`CategoryDetector`, :class:`RuleDetector`, :func:`keyword_pattern`, the one
  goal extractor :func:`extract_goal`, and :func:`get_profile` / :func:`resolve_profile`.
* :mod:`skillrl.profiles.alfworld`, :mod:`~skillrl.profiles.webshop`, :mod:`~skillrl.profiles.search`: each
  environment's data (task types, bank keys, rules) and its ``@hookimpl skillrl_register_profiles``.

Adding a profile is one module and a registration (see ``docs/plugins.md``)::

    from skillrl import hookimpl
    from skillrl.profiles import RuleDetector

    @hookimpl
    def skillrl_register_profiles(register):
        register("kitchen", lambda: RuleDetector([("cooking", ["cook", "bake"])], name="kitchen"), "my kitchen")

    skillrl.plugins.register_plugin(sys.modules[__name__])   # or an entry point in the "skillrl" group
    SkillRuntime(bank, profile="kitchen", mode="template")
"""

from skillrl.profiles.alfworld import ALFWORLD_TASK_TYPES, alfworld_profile, official_alfworld_category
from skillrl.profiles.base import (
    DEFAULT_GOAL_MARKERS,
    TASK_MARKER,
    CategoryDetector,
    DetectionError,
    Rule,
    RuleDetector,
    extract_goal,
    get_profile,
    keyword_pattern,
    resolve_profile,
)
from skillrl.profiles.search import SEARCH_QUERY_TYPES, search_profile
from skillrl.profiles.webshop import WEBSHOP_CATEGORIES, WebShopDetector, official_webshop_category

#: The built-in profiles' factories by name (what their modules register; :func:`get_profile` resolves names
#: through :func:`skillrl.plugins.profile_registry`, which also holds plugins' profiles).
PROFILES = {"alfworld": alfworld_profile, "webshop": WebShopDetector, "search": search_profile}

__all__ = [
    "ALFWORLD_TASK_TYPES",
    "DEFAULT_GOAL_MARKERS",
    "PROFILES",
    "SEARCH_QUERY_TYPES",
    "TASK_MARKER",
    "WEBSHOP_CATEGORIES",
    "CategoryDetector",
    "DetectionError",
    "Rule",
    "RuleDetector",
    "WebShopDetector",
    "extract_goal",
    "get_profile",
    "keyword_pattern",
    "official_alfworld_category",
    "official_webshop_category",
    "resolve_profile",
]
