"""The launcher: ``python -m skillrl.adapters.openrlhf [--skillrl.* options] <train_ppo_ray arguments>`` runs
``openrlhf.cli.train_ppo_ray`` as ``__main__`` (``runpy``) after creating the bank actor and swapping in the
SkillRL trainer classes (:func:`skillrl.adapters.openrlhf.trainer.install`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import ray

from skillrl.adapters.openrlhf.config import ENV_PREFIX, OpenRLHFConfigError, SkillRLConfig
from skillrl.adapters.openrlhf.service import get_bank_actor
from skillrl.adapters.openrlhf.trainer import install

__all__ = ["main", "split_skillrl_args"]


def _package_doc() -> str:
    import skillrl.adapters.openrlhf as package

    return package.__doc__ or ""


# the runtime_env train_ppo_ray.train() gives ray.init (it skips its own ray.init when Ray is already up)
_OPENRLHF_ENV_DEFAULTS = {"TOKENIZERS_PARALLELISM": "true", "NCCL_DEBUG": "WARN",
                          "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1"}


def split_skillrl_args(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate ``--skillrl.<field> VALUE`` / ``--skillrl.<field>=VALUE`` options from OpenRLHF's arguments.

    Raises:
        OpenRLHFConfigError: an unknown field or a missing value.
    """
    fields = set(SkillRLConfig.model_fields) | {"config"}
    ours: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--skillrl."):
            key, eq, value = arg[len("--skillrl."):].partition("=")
            key = key.replace("-", "_")
            if key not in fields:
                raise OpenRLHFConfigError(f"unknown option --skillrl.{key}; known: "
                                          + ", ".join(f"--skillrl.{f}" for f in sorted(fields)))
            if not eq:
                if key == "detached" and (i + 1 >= len(argv) or argv[i + 1].startswith("--")):
                    value = "true"
                else:
                    if i + 1 >= len(argv):
                        raise OpenRLHFConfigError(f"--skillrl.{key} needs a value")
                    i += 1
                    value = argv[i]
            ours[key] = value
        else:
            rest.append(arg)
        i += 1
    return ours, rest


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m skillrl.adapters.openrlhf [--skillrl.<field> VALUE ...] <openrlhf.cli.train_ppo_ray arguments>``.

    ``--skillrl.*`` options (``bank``, ``profile``, ``mode``, ``teacher``, ``config``, ... see
    :class:`SkillRLConfig`) become ``SKILLRL_*`` variables; everything else goes to OpenRLHF unchanged. The launcher
    initialises Ray with OpenRLHF's own ``runtime_env`` plus the ``SKILLRL_*`` variables (so every worker sees the
    same configuration), creates the bank actor, installs the trainer classes (:func:`install`) and runs
    ``openrlhf.cli.train_ppo_ray`` as ``__main__``.
    """
    import runpy

    argv = list(sys.argv[1:] if argv is None else argv)
    ours, rest = split_skillrl_args(argv)
    for key, value in ours.items():
        os.environ[ENV_PREFIX + key.upper()] = value
    if any(a in ("-h", "--help") for a in rest):
        print(_package_doc().split("\n\n")[0] + "\n\nSkillRL options: " + ", ".join(
            f"--skillrl.{f}" for f in ["config", *SkillRLConfig.model_fields]) + "\n\nOpenRLHF's options follow.\n")
    else:
        config = SkillRLConfig.from_env()
        if not config.bank:
            raise OpenRLHFConfigError("no skill bank: pass --skillrl.bank PATH (or set SKILLRL_BANK / SKILLRL_CONFIG)")
        if not ray.is_initialized():
            env = {k: os.environ.get(k, v) for k, v in _OPENRLHF_ENV_DEFAULTS.items()}
            env.update({k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)})
            ray.init(runtime_env={"env_vars": env})
        get_bank_actor(config)
        install()
    sys.argv = ["openrlhf.cli.train_ppo_ray", *rest]
    runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # pragma: no cover - exercised by users on GPU machines
    # The classes Ray pickles live in skillrl.adapters.openrlhf.trainer / .service (pickled by reference); nothing
    # defined in this __main__ module is sent to a worker.
    main()
