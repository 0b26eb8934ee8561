"""Completion framings: how a probe is put to a base model, which has no chat template.

A base model given a bare question continues it (more questions, a list, a story)
instead of answering. A framing wraps the probe in text whose natural
continuation is an answer: ``"Question: {prompt}\\nAnswer:"``, or the same after a
few solved examples. The case file names the framing per model; it is recorded
with every request, applied identically to every model that names it, and the
statistics then compare answers given under the same framing.

Presets carry the stop sequence their format implies (the next ``Question:``),
so an answer is the answer and not the model's invented follow-up questions.
"""

from __future__ import annotations

from dataclasses import dataclass

PLACEHOLDER = "{prompt}"


@dataclass(frozen=True)
class Framing:
    """A named framing: its template text (with ``{prompt}``) and the stop sequences it implies."""

    template: str
    stop: tuple[str, ...] = ()


_FEW_SHOT_EXAMPLES = (
    "Question: What is the boiling point of water at sea level in degrees Celsius?\nAnswer: 100 degrees Celsius.\n\n"
    "Question: Name a primary colour.\nAnswer: Red is a primary colour.\n\n"
)

#: Named framings a case file may use instead of writing the template out.
PRESETS: dict[str, Framing] = {
    "qa": Framing("Question: {prompt}\nAnswer:", stop=("\nQuestion:",)),
    "few-shot-qa": Framing(_FEW_SHOT_EXAMPLES + "Question: {prompt}\nAnswer:", stop=("\nQuestion:",)),
}


def resolve(value: str) -> Framing:
    """A preset by name, or a template written out (which must hold ``{prompt}`` exactly once)."""
    if value in PRESETS:
        return PRESETS[value]
    count = value.count(PLACEHOLDER)
    if count != 1:
        names = ", ".join(f'"{n}"' for n in PRESETS)
        raise ValueError(
            f"a framing must hold {PLACEHOLDER} exactly once (where the probe goes); this one holds it {count} times. "
            f"Or name a preset: {names}"
        )
    return Framing(value)


def apply(template: str, prompt: str) -> str:
    """The text the model sees: the probe put into the framing (no other placeholder is expanded)."""
    return template.replace(PLACEHOLDER, prompt, 1)
