"""What a real TRL trainer sampled: a spy on ``GRPOTrainer._generate`` shared by the TRL tests."""

from __future__ import annotations


def spy_on_generate(trainer) -> list:
    """The prompts the policy is sampled on, in order, collected from ``trainer._generate`` as training runs."""
    generated = []
    original_generate = trainer._generate

    def spy(prompts):
        generated.extend(prompts)
        return original_generate(prompts)

    trainer._generate = spy
    return generated
