"""Local Hugging Face ``transformers`` models: open weights, log-probs available.

Why the sampling looks the way it does: a finding must not change when an analyst
re-runs collection with another batch size, so every prompt gets its own random
stream, seeded from (seed, prompt), and sampling is done by the Gumbel-max trick
inside a LogitsProcessor. ``model.generate`` then runs greedy decoding over the
perturbed logits: batched, left-padded, with the KV cache, and each row's sample
depends only on its own stream.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from provenance.backends.base import (
    Backend,
    Capability,
    Generation,
    GenerationParams,
    ModelIdentity,
    Scored,
    SubsetMass,
    TopToken,
)
from provenance.backends.gguf import gguf_identity, is_gguf, load_gguf_model
from provenance.backends.tokenizer_check import require_faithful_tokenizer
from provenance.errors import ContextWindowError, ModelLoadError, UnsafeCheckpointError
from provenance.framing import apply as apply_framing
from provenance.hashing import sha256_file, sha256_text

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_SAFE_SUFFIX = ".safetensors"


def row_seed(seed: int, prompt: str) -> int:
    """The random stream of one prompt: independent of batch and position."""
    return int(sha256_text(f"{seed}\x00{prompt}")[:15], 16)


def check_model_dir(path: Path, *, allow_pickle: bool, trust_remote_code: bool) -> None:
    """Refuse what cannot or should not be loaded, before transformers sees it."""
    if not path.exists():
        raise ModelLoadError(
            f"model directory {path} does not exist",
            hint="check the model's path in the case file (relative paths are relative to the case file)",
        )
    if not path.is_dir():
        raise ModelLoadError(f"model path {path} is not a directory", hint="give the directory that holds config.json")
    config_file = path / "config.json"
    if not config_file.is_file():
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        raise ModelLoadError(
            f"model directory {path} has no config.json",
            hint=f"it holds GGUF files: give the file itself as the path, e.g. {path / ggufs[0]}"
            if ggufs
            else "point at a directory written by save_pretrained, or finish copying the model",
        )
    files = [p.name for p in path.iterdir() if p.is_file()]
    has_safe = any(name.endswith(_SAFE_SUFFIX) for name in files)
    pickles = sorted(name for name in files if name.endswith(_PICKLE_SUFFIXES))
    if not has_safe and pickles and not allow_pickle:
        raise UnsafeCheckpointError(
            f"model directory {path} holds only pickle checkpoints ({', '.join(pickles)}), which can run code when loaded",
            hint="convert it to safetensors, or set allow_pickle = true for this model in the case file if you trust it",
        )
    if not has_safe and not pickles:
        raise ModelLoadError(f"model directory {path} holds no weights (*.safetensors)", hint="finish copying the model")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {config_file}: {exc}", hint="the model directory looks damaged") from exc
    if config.get("auto_map") and not trust_remote_code:
        raise UnsafeCheckpointError(
            f"model {path} needs its own Python code (auto_map in config.json)",
            hint="set trust_remote_code = true for this model in the case file only if you have read that code",
        )


def _revision_of(path: Path) -> str | None:
    """The hub commit of a model in a Hugging Face cache snapshot, if it is one."""
    resolved = path.resolve()
    if resolved.parent.name == "snapshots":
        return resolved.name
    return None


def local_model_identity(path: Path, name: str) -> ModelIdentity:
    """SHA-256 of every file in the model directory: weights, tokenizer, config."""
    files = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and ".cache" not in file.relative_to(path).parts:
            files[file.relative_to(path).as_posix()] = sha256_file(file)
    return ModelIdentity(name=name, backend="hf", source=str(path.resolve()), revision=_revision_of(path), files=files)


class HFBackend(Backend):
    """A causal LM loaded from a local directory with ``transformers``."""

    capabilities = frozenset(
        {Capability.GENERATE, Capability.SCORE, Capability.TOP_LOGPROBS, Capability.NEXT_TOKEN_DISTRIBUTION}
    )

    def __init__(self, model: Any, tokenizer: Any, identity: ModelIdentity, *, batch_size: int = 16,
                 system_prompt: str | None = None, framing: str | None = None) -> None:
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        self._identity = identity
        self.batch_size = batch_size
        #: The system prompt every request is made behind (None: the chat template's own default).
        self.system_prompt = system_prompt
        #: A completion framing (template with ``{prompt}``) used instead of the chat template (base models).
        self.framing = framing
        self.device = next(model.parameters()).device
        self._torch = torch
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.max_length = int(
            getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 2048)
        )
        #: Extra LogitsProcessors run before sampling (the watermark hook).
        self.logits_processors: list[Any] = []

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        allow_pickle: bool = False,
        trust_remote_code: bool = False,
        device: str = "auto",
        batch_size: int = 16,
        identity: ModelIdentity | None = None,
        system_prompt: str | None = None,
        framing: str | None = None,
    ) -> HFBackend:
        """Load a model directory; safetensors only unless ``allow_pickle``.

        ``identity`` may be passed when the caller has just hashed the directory,
        to avoid hashing multi-GB weights twice. A ``.gguf`` file is de-quantised by
        ``provenance.backends.gguf`` (no pickle, so ``allow_pickle`` does not apply).
        """
        path = Path(path)
        if is_gguf(path):
            model, tokenizer, meta = load_gguf_model(path, device=device)
            identity = identity or gguf_identity(path, name or path.stem, meta)
            return cls(model, tokenizer, identity, batch_size=batch_size, system_prompt=system_prompt, framing=framing).checked()
        check_model_dir(path, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                path, local_files_only=True, trust_remote_code=trust_remote_code
            )
            require_faithful_tokenizer(tokenizer, str(path))
            model = AutoModelForCausalLM.from_pretrained(
                path,
                local_files_only=True,
                trust_remote_code=trust_remote_code,
                use_safetensors=None if allow_pickle else True,
                dtype=torch.float32,
            )
        except (OSError, ValueError, KeyError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load model {path}: {first_line}", hint="check that the directory is complete") from exc
        except (AttributeError, ImportError, NameError, SyntaxError, TypeError) as exc:
            if not trust_remote_code:
                raise  # our own bug, or transformers': keep the traceback
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(
                f"cannot load model {path}: its own code (auto_map in config.json) failed: {type(exc).__name__}: {first_line}",
                hint="the model's code does not match its files; get a complete copy from its publisher",
            ) from exc
        model.to(device)
        identity = identity or local_model_identity(path, name or path.name)
        return cls(model, tokenizer, identity, batch_size=batch_size, system_prompt=system_prompt, framing=framing).checked()

    def checked(self) -> HFBackend:
        """Refuse a deployment that cannot work, before any request: a system prompt without a chat
        template to put it in, a system prompt and a framing at once, or either one leaving no room in
        the context for the question and answer."""
        if self.system_prompt is None and self.framing is None:
            return self
        name = self.identity.name
        if self.system_prompt is not None and self.framing is not None:
            raise ModelLoadError(f"model {name}: system_prompt and framing exclude each other",
                                 hint="a completion framing has no system turn; put any preamble into the framing")
        if self.system_prompt is not None and not getattr(self.tokenizer, "chat_template", None):
            raise ModelLoadError(f"model {name}: system_prompt is set but the model has no chat template to put it in",
                                 hint='leave system_prompt out for a base model, and give it a framing (e.g. framing = "qa")')
        setting = "system_prompt" if self.framing is None else "framing"
        used = len(self.encode_prompt(""))
        if used >= self.max_length // 2:
            raise ModelLoadError(
                f"model {name}: its {setting} takes {used} of the {self.max_length} tokens of its context",
                hint=f"shorten {setting}: the probes and the answers need the rest")
        return self

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    # -- prompt handling -------------------------------------------------------------

    def format_prompt(self, prompt: str) -> str:
        """The text the model sees: the framing around the prompt, else the chat template around the
        system prompt (if set) and the prompt, else the bare prompt."""
        if self.framing is not None:
            return apply_framing(self.framing, prompt)
        if self._templated:
            system = [] if self.system_prompt is None else [{"role": "system", "content": self.system_prompt}]
            return self.tokenizer.apply_chat_template(
                [*system, {"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        return prompt

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids of the formatted prompt (a chat template brings its own special tokens)."""
        return list(self.tokenizer(self.format_prompt(prompt), add_special_tokens=not self._templated)["input_ids"])

    @property
    def _templated(self) -> bool:
        """True when prompts go through the chat template (which brings its own special tokens)."""
        return self.framing is None and bool(getattr(self.tokenizer, "chat_template", None))

    def _batches(self, lengths: Sequence[int]) -> Iterator[list[int]]:
        """Indices grouped by similar length, so little compute goes to padding."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        for start in range(0, len(order), self.batch_size):
            yield order[start : start + self.batch_size]

    def _left_pad(self, sequences: Sequence[Sequence[int]]) -> tuple[Any, Any, Any]:
        torch = self._torch
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            if seq:
                ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
                mask[row, width - len(seq) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), positions.to(self.device)

    def _check_fits(self, n_tokens: int, what: str) -> None:
        if n_tokens > self.max_length:
            raise ContextWindowError(
                f"{self._identity.name}: {what} needs {n_tokens} tokens; the model takes at most {self.max_length}",
                hint="lower max_new_tokens for the suite in the case file (every model scores the teacher's answers, "
                "so they must fit the smallest context), or use a model with a longer context",
            )

    # -- the three capabilities ------------------------------------------------------

    def generate(self, prompts: Sequence[str], params: GenerationParams, seed: int) -> list[Generation]:
        torch = self._torch
        from transformers import GenerationConfig, LogitsProcessorList

        encoded = [self.encode_prompt(p) for p in prompts]
        for ids in encoded:
            self._check_fits(len(ids) + params.max_new_tokens, "a prompt plus max_new_tokens")
        results: list[Generation | None] = [None] * len(prompts)
        eos = self.tokenizer.eos_token_id
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=eos,
            bos_token_id=self.model.generation_config.bos_token_id,
        )
        for batch in self._batches([len(e) for e in encoded]):
            ids, mask, _ = self._left_pad([encoded[i] for i in batch])
            processors = LogitsProcessorList(list(self.logits_processors))
            if params.temperature > 0:
                generators = [torch.Generator().manual_seed(row_seed(seed, prompts[i])) for i in batch]
                processors.append(_GumbelSampler(params.temperature, params.top_p, generators))
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    generation_config=config,
                    logits_processor=processors,
                    output_logits=True,
                    return_dict_in_generate=True,
                )
            new_tokens = out.sequences[:, ids.shape[1] :].cpu()
            logprobs = torch.stack([torch.log_softmax(step.float(), dim=-1) for step in out.logits], dim=1).cpu()
            chosen = logprobs.gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
            for row, index in enumerate(batch):
                tokens = new_tokens[row].tolist()
                finish = "length"
                if eos is not None and eos in tokens:
                    tokens = tokens[: tokens.index(eos)]
                    finish = "stop"
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                if params.stop:
                    text, tokens, stopped = self._cut_at_stop(text, tokens, params.stop)
                    finish = "stop" if stopped else finish
                results[index] = Generation(
                    text=text,
                    token_ids=tuple(tokens),
                    logprobs=tuple(float(x) for x in chosen[row, : len(tokens)].tolist()),
                    finish_reason=finish,
                )
        return [r for r in results if r is not None]

    def _cut_at_stop(self, text: str, tokens: list[int], stops: Sequence[str]) -> tuple[str, list[int], bool]:
        """The answer up to the first stop sequence, and the tokens through the one that completed it.

        Generation runs to its length limit and is cut afterwards (transformers' own stop
        strings depend on the tokenizer's merges); the text is exactly what an API that
        honours ``stop`` returns.
        """
        hits = [i for i in (text.find(s) for s in stops) if i >= 0]
        if not hits:
            return text, tokens, False
        cut = min(hits)
        for k in range(1, len(tokens) + 1):
            if len(self.tokenizer.decode(tokens[:k], skip_special_tokens=True)) > cut:
                return text[:cut], tokens[:k], True
        return text[:cut], tokens, True

    def _continuation_logits(
        self, prompts: Sequence[str], continuations: Sequence[str], method: str
    ) -> Iterator[tuple[int, list[int], list[int], Any]]:
        """One forward pass per batch over prompt + continuation; per row the logits before each continuation token.

        Shared by ``score``, ``next_token_probs`` and (through it) ``subset_mass``:
        yields (index, prompt token ids, continuation token ids, float logits of shape
        [len(continuation), vocab]) on the CPU.
        """
        if len(prompts) != len(continuations):
            raise ValueError(f"{method}() needs one continuation per prompt")
        torch = self._torch
        contexts = [self.encode_prompt(p) for p in prompts]
        conts = [list(self.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in continuations]
        for ctx, cont in zip(contexts, conts):
            self._check_fits(len(ctx) + len(cont), "a prompt plus its continuation")
        for batch in self._batches([len(contexts[i]) + len(conts[i]) for i in range(len(prompts))]):
            ids, mask, positions = self._left_pad([contexts[i] + conts[i] for i in batch])
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits.float().cpu()
            for row, index in enumerate(batch):
                cont = conts[index]
                # logits at position t predict token t+1; the continuation fills the last len(cont) slots.
                steps = logits[row, -len(cont) - 1 : -1] if cont else logits[row, :0]
                yield index, contexts[index], cont, steps

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Scored]:
        torch = self._torch
        results: list[Scored | None] = [None] * len(prompts)
        for index, _, cont, steps in self._continuation_logits(prompts, continuations, "score"):
            if not cont:
                results[index] = Scored((), ())
                continue
            picked = torch.log_softmax(steps, dim=-1).gather(-1, torch.tensor(cont).unsqueeze(-1)).squeeze(-1)
            results[index] = Scored(tuple(cont), tuple(float(x) for x in picked.tolist()))
        return [r for r in results if r is not None]

    def next_token_probs(
        self, prompts: Sequence[str], continuations: Sequence[str]
    ) -> Iterator[tuple[int, list[int], list[int], Any]]:
        """Per continuation: (index, prompt token ids, continuation token ids, probabilities).

        ``probabilities[t]`` (a float tensor over the vocabulary) is the model's
        next-token distribution just before continuation token t, from one forward
        pass per batch. Yielded batch by batch, so the full distributions of a large
        sample are never held at once.
        """
        for index, ctx, cont, steps in self._continuation_logits(prompts, continuations, "next_token_probs"):
            yield index, ctx, cont, self._torch.softmax(steps, dim=-1)

    def subset_mass(
        self, prompts: Sequence[str], continuations: Sequence[str], subset: Callable[[Sequence[int], int], Any]
    ) -> list[SubsetMass]:
        import numpy as np

        torch = self._torch
        results: list[SubsetMass | None] = [None] * len(prompts)
        for index, ctx, cont, logits in self._continuation_logits(prompts, continuations, "subset_mass"):
            steps = torch.softmax(logits, dim=-1)
            if not cont:
                results[index] = SubsetMass((), (), ())
                continue
            prefix = ctx + cont
            width = steps.shape[1]
            sets = np.stack([np.asarray(subset(prefix[: len(ctx) + t], width), dtype=bool) for t in range(len(cont))])
            mass = (steps * torch.from_numpy(sets)).sum(-1)
            collision = (steps * steps).sum(-1)
            results[index] = SubsetMass(
                tuple(cont), tuple(float(x) for x in mass.tolist()), tuple(float(x) for x in collision.tolist())
            )
        return [r for r in results if r is not None]

    def top_logprobs(self, prompts: Sequence[str], k: int) -> list[list[TopToken]]:
        torch = self._torch
        contexts = [self.encode_prompt(p) for p in prompts]
        results: list[list[TopToken] | None] = [None] * len(prompts)
        for batch in self._batches([len(c) for c in contexts]):
            ids, mask, positions = self._left_pad([contexts[i] for i in batch])
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
            values, indices = torch.log_softmax(logits.float(), dim=-1).topk(k, dim=-1)
            for row, index in enumerate(batch):
                results[index] = [
                    TopToken(token=self.tokenizer.decode([tok]), token_id=int(tok), logprob=float(val))
                    for val, tok in zip(values[row].tolist(), indices[row].tolist())
                ]
        return [r for r in results if r is not None]


class _GumbelSampler:
    """Turns greedy decoding into seeded sampling, one random stream per row.

    argmax(logits / T + Gumbel noise) is an exact sample from softmax(logits / T);
    top-p is applied first by masking the tail. Each row draws its noise from its
    own ``torch.Generator``, so a row's sample does not depend on its batch.
    """

    def __init__(self, temperature: float, top_p: float, generators: list[Any]) -> None:
        self.temperature = temperature
        self.top_p = top_p
        self.generators = generators

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        scores = scores.float() / self.temperature
        if self.top_p < 1.0:
            sorted_scores, order = scores.sort(dim=-1, descending=True)
            cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
            drop_sorted = cumulative - sorted_scores.softmax(dim=-1) >= self.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        noise = torch.stack(
            [
                -torch.log(-torch.log(torch.rand(scores.shape[-1], generator=g).clamp_(1e-20, 1.0)))
                for g in self.generators
            ]
        ).to(scores.device)
        return scores + noise
