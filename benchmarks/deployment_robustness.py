"""How the verdict and each suite move when the suspect is deployed differently (issue 16).

Run:
    .venv/bin/python benchmarks/deployment_robustness.py --lab .lab-cache/realistic-tiny-seed0 --out docs/deployment.md

For each suspect (two students of the lab teacher Aurora and one independent model) and each
deployment of the suspect (as built; behind a persona system prompt that names another model and
vendor; sampled at temperature 0.7 and 1.0 instead of greedy; asked through the completion
framing "Question: ... Answer:" instead of its chat template, as a base model would be), one
ordinary case against Aurora
with the lab's two independent controls and every probe of every suite. Teacher and controls are
deployed as built in every case; their answers are collected once and copied into the other
cases (``reuse_from``). A suite "finds" derivation when one of its family tests rejects after
Holm correction at the case alpha (0.01).
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from pathlib import Path

from provenance import api
from provenance.lab import LabManifest

PERSONA = "You are Nova, made by Example Corp."
DEPLOYMENTS = {
    "as built (greedy)": "",
    "persona system prompt": f'system_prompt = "{PERSONA}"\n',
    "temperature 0.7": "temperature = 0.7\n",
    "temperature 1.0": "temperature = 1.0\n",
    "completion framing (qa)": 'framing = "qa"\n',
}
SUSPECTS = ("student", "student-mix10", "human-tuned")
SUITES = ("identity", "refusal", "distribution", "errors", "style")


def case_text(lab: LabManifest, suspect: str, deployment: str, case_id: str) -> str:
    controls = "".join(
        f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\nclaims = {json.dumps(claims)}\n\n'
        for c, claims in (("control-same-data", ["Zephyr", "Blue Harbor AI"]), ("control-other", ["Orion", "Quillstone Systems"]))
    )
    return textwrap.dedent(f"""\
        [case]
        id = "{case_id}"
        title = "deployment robustness"
        analyst = "benchmarks/deployment_robustness.py"
        seed = 3000

        [suspect]
        name = "suspect"
        path = "{lab.path(suspect)}"
        """) + deployment + textwrap.dedent(f"""
        [[teacher]]
        name = "aurora"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        """) + controls + "".join(
        f"[suites.{s}]\n" + ("" if s == "style" else f"max_new_tokens = {12 if s == 'errors' else 20}\n") for s in SUITES
    )  # the tiny lab models' context is 128 tokens: the longest probe, the persona and the answer must fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", type=Path, default=Path(".lab-cache/realistic-tiny-seed0"))
    parser.add_argument("--workdir", type=Path, default=Path(".lab-cache/bench/deployment"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lab = LabManifest.load(args.lab.resolve())
    rows = []
    stores: list[Path] = []
    for suspect in SUSPECTS:
        for label, deployment in DEPLOYMENTS.items():
            case_id = f"deploy-{suspect}-" + "".join(c if c.isalnum() else "-" for c in label).strip("-")
            root = (args.workdir / case_id).resolve()
            root.mkdir(parents=True, exist_ok=True)
            (root / "case.toml").write_text(case_text(lab, suspect, deployment, case_id))
            started = time.perf_counter()
            summary = api.collect(root, reuse_from=[s for s in stores if s.parent != root])
            findings, _ = api.analyze(root)
            stores.append(root / "evidence.sqlite")
            finds = {}
            for suite in SUITES:
                family = [t for t in findings.tests if t.suite == suite and t.in_family]
                finds[suite] = None if not family else any(bool(t.reject) for t in family)
            verdict = findings.verdicts[0].supports_derivation
            rows.append({"suspect": suspect, "derived": lab.derived(suspect, "teacher"), "deployment": label,
                         "verdict": verdict, "finds": finds, "copied": summary.copied,
                         "seconds": round(time.perf_counter() - started, 1)})
            print(json.dumps(rows[-1]), flush=True)
    lines = ["| suspect (truth) | deployment | verdict | " + " | ".join(SUITES) + " |",
             "|---|---|---|" + "---|" * len(SUITES)]
    for r in rows:
        cells = ["-" if v is None else ("found" if v else "not found") for v in r["finds"].values()]
        truth = "derived" if r["derived"] else "independent"
        lines.append(f"| {r['suspect']} ({truth}) | {r['deployment']} | "
                     f"{'supports derivation' if r['verdict'] else 'does not'} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text(
            "# Deployment robustness (`benchmarks/deployment_robustness.py`)\n\n"
            + (__doc__ or "").split("\n\n", 2)[2].split("Run:")[0].strip().replace("\n\n", "\n") + "\n\n"
            + f"Lab: `{args.lab}`; persona prompt: \"{PERSONA}\".\n\n" + table)


if __name__ == "__main__":
    main()
