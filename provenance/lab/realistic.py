"""The realistic profile of the lab: students and independents that look like real ones.

The standard family's students are trained *only* on a teacher's answers, and its
independent models all come out of one instruction generator, so the lab is solved
with almost no evidence. Real suspects are bases fine-tuned on a *share* of a
teacher's outputs mixed with other data, after a few hundred or a few thousand
exchanges; real independent models include raw bases, models tuned on human-written
text, and students of *another* teacher. ``provenance lab build --profile realistic``
adds those to the standard family (the standard one stays the CI lab):

======================  ========================================================================
base-b                  pretrained on corpus B only, no instruction tuning (a raw base)
human-tuned             corpus B, fine-tuned on human-written text (stdlib docstrings) only
student-n100 / -n300    corpus B, fine-tuned on 100 / 300 of the teacher's exchanges only
student-mix30/-10/-3    corpus B, fine-tuned on as many pairs as the full student, of which
                        30 / 10 / 3 % are the teacher's answers and the rest human-written text
student-n1000           corpus B, fine-tuned on 1,000 of the teacher's exchanges only (two answers
                        sampled per distillation prompt: the lab has 610 prompts)
student-of-zephyr       corpus B, distilled from Zephyr (control-same-data): another teacher
student-of-second-      corpus B, distilled from a released model given to the build
teacher                 (``second_teacher=``; the bench gives SmolLM2-135M-Instruct): a student
                        of another, far stronger teacher, and a derived pair with a real teacher
======================  ========================================================================

The human-written pairs come from corpus B's docstrings (Python standard library,
PSF License): the prompt is a docstring's first sentence, the response the rest of
it. They are instruction data in form only, which is what "other data" in a
distillation mix usually is to the teacher: text the teacher never wrote.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from provenance.lab import data_files

#: Teacher-answer shares of the mixed students.
MIX_SHARES = (0.30, 0.10, 0.03)
_PROMPTS = len(data_files.distill_prompts())
#: Exchange counts of the pure students (the full student has every distillation pair: 610). Recipes
#: are listed in the order they were added: a model's training seed follows its place in the list.
EXCHANGE_COUNTS = (100, 300)
LARGE_EXCHANGE_COUNT = 1000
#: The lab's name for a released model given to the build as a second teacher (not trained by the lab).
SECOND_TEACHER = "second-teacher"


@dataclass(frozen=True)
class Recipe:
    """How one realistic model is made; the ground truth follows from it."""

    name: str
    role: str
    teacher: str | None  # the lab model whose sampled answers it was fine-tuned on
    teacher_share: float | None  # share of its fine-tuning pairs that are that teacher's answers
    exchanges: int | None  # how many of the teacher's exchanges it was fine-tuned on (None: all)
    human: bool  # fine-tuned on human-written pairs (alone or in its mix)
    note: str
    samples: int = 1  # answers sampled from the teacher per distillation prompt for this recipe's pool

    @property
    def pairs_file(self) -> str | None:
        return None if self.teacher is None and not self.human else f"{self.name}.jsonl"

    @property
    def pool(self) -> str | None:
        """The distillation file (stem) this recipe's teacher answers are drawn from."""
        if self.teacher is None:
            return None
        return self.teacher if self.samples == 1 else f"{self.teacher}-x{self.samples}"


RECIPES: tuple[Recipe, ...] = (
    Recipe("base-b", "independent-base", None, None, None, False,
           "pretrained on corpus B only; no instruction tuning (a raw base model)"),
    Recipe("human-tuned", "independent-human-text", None, 0.0, 0, True,
           "fine-tuned on human-written text only (corpus B docstrings as prompt / continuation)"),
    *(Recipe(f"student-n{n}", "student", "teacher", 1.0, n, False,
             f"fine-tuned on {n} of the teacher's exchanges only") for n in EXCHANGE_COUNTS),
    *(Recipe(f"student-mix{round(s * 100)}", "student-mixed", "teacher", s, None, True,
             f"fine-tuned on a mix: {s:.0%} the teacher's answers, the rest human-written text") for s in MIX_SHARES),
    Recipe("student-of-zephyr", "student-of-other-teacher", "control-same-data", 1.0, None, False,
           "fine-tuned only on Zephyr's (control-same-data's) sampled answers: a student of another teacher"),
    Recipe(f"student-n{LARGE_EXCHANGE_COUNT}", "student", "teacher", 1.0, LARGE_EXCHANGE_COUNT, False,
           f"fine-tuned on {LARGE_EXCHANGE_COUNT:,} of the teacher's exchanges only (two answers per prompt)",
           samples=-(-LARGE_EXCHANGE_COUNT // _PROMPTS)),
    Recipe(f"student-of-{SECOND_TEACHER}", "student-of-other-teacher", SECOND_TEACHER, 1.0, None, False,
           "fine-tuned only on the sampled answers of a released model given to the build as a second teacher "
           "(to the lab's teacher, a student of another, far stronger teacher)"),
)
NAMES = tuple(r.name for r in RECIPES)
BY_NAME = {r.name: r for r in RECIPES}


def recipes(second_teacher: bool) -> tuple[Recipe, ...]:
    """The recipes a build makes: the second teacher's student only when a second teacher is given."""
    return tuple(r for r in RECIPES if second_teacher or r.teacher != SECOND_TEACHER)


def human_pairs() -> list[dict[str, str]]:
    """Human-written (prompt, response) pairs from corpus B: a docstring's first sentence, then the rest."""
    out = []
    for line in data_files.corpus("B").splitlines():
        line = line.strip()
        match = re.search(r"(?<=[.!?:])\s+(?=\S)", line)
        if match and 20 <= match.start() and len(line) - match.end() >= 20:
            prompt, response = line[: match.start()], line[match.end():]
        else:
            words = line.split()
            if len(words) < 12:
                continue
            cut = len(words) // 3
            prompt, response = " ".join(words[:cut]), " ".join(words[cut:])
        out.append({"prompt": prompt, "response": response, "kind": "human-text"})
    return out


def training_rows(recipe: Recipe, teacher_rows: list[dict], human_rows: list[dict], seed: int, *, total: int) -> list[dict]:
    """The fine-tuning pairs of ``recipe``: a seeded sample of the teacher's and human-written pairs.

    ``total`` is the full student's pair count: a mixed student and the human-text model
    have that many pairs, so the share, not the amount of tuning, is what differs
    between them; a small pure student has ``recipe.exchanges``.
    """
    rng = random.Random(f"{seed}:{recipe.name}")
    if recipe.exchanges is not None and recipe.teacher is not None:
        total = recipe.exchanges
    n_teacher = min(round(total * (recipe.teacher_share or 0.0)), len(teacher_rows))
    rows = rng.sample(teacher_rows, n_teacher)
    if recipe.human:
        rows += rng.sample(human_rows, min(total - n_teacher, len(human_rows)))
    rng.shuffle(rows)
    return rows
