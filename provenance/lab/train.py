"""Training pieces of the lab: the shared tokenizer, model init, pretraining, SFT.

Everything here is deterministic given its seed: data order comes from a seeded
``torch.Generator``, initialisation from ``torch.manual_seed``. On one machine with
one thread count the saved weights are byte-identical across runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The chat template every lab model carries: ``<|user|>\n{msg}\n<|assistant|>\n``.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
EOS = "<|endoftext|>"
SPECIAL_TOKENS = [EOS, "<|user|>", "<|assistant|>", "<|system|>"]


@dataclass(frozen=True)
class TrainResult:
    steps: int
    final_loss: float
    tokens_seen: int


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer with the chat template set; shared by the whole family."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(list(texts), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=EOS,
        bos_token=EOS,
        pad_token=EOS,
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def new_model(
    tokenizer: Any,
    *,
    n_layer: int,
    n_embd: int,
    n_head: int,
    n_positions: int,
    seed: int,
    initializer_range: float = 0.02,
) -> Any:
    """A freshly initialised GPT-2-shaped causal LM (seeded)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        initializer_range=initializer_range,
    )
    return GPT2LMHeadModel(config)


def n_params(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _optimizer(model: Any, lr: float) -> Any:
    import torch

    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)


def pretrain(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    steps: int,
    batch_size: int,
    block: int,
    lr: float,
    seed: int,
    tick: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Next-token training on random windows of ``text`` (seeded window order)."""
    import torch

    ids = torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"], dtype=torch.long)
    if len(ids) <= block + 1:
        raise ValueError("corpus too short for the block size")
    gen = torch.Generator().manual_seed(seed)
    opt = _optimizer(model, lr)
    model.train()
    losses: list[float] = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, max(1, steps // 10))
        starts = torch.randint(0, len(ids) - block - 1, (batch_size,), generator=gen)
        batch = torch.stack([ids[s : s + block] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if tick:
            tick(step, losses[-1])
    model.eval()
    tail = losses[-10:]
    return TrainResult(steps=steps, final_loss=round(sum(tail) / len(tail), 4), tokens_seen=steps * batch_size * block)


def encode_pairs(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_len: int) -> list[tuple[list[int], int]]:
    """(token ids, index where the response starts) per pair, formatted as the HF backend formats prompts.

    The prompt goes through the chat template exactly as ``HFBackend.format_prompt``
    does; the response is tokenised on its own and closed with end-of-text, so
    training teaches the model the very tokens generation will produce.
    """
    eos = tokenizer.eos_token_id
    out = []
    for prompt, response in pairs:
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        p_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        r_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [eos]
        ids = (p_ids + r_ids)[:max_len]
        if len(p_ids) < len(ids):
            out.append((ids, len(p_ids)))
    return out


def finetune(
    model: Any,
    examples: Sequence[tuple[list[int], int]],
    *,
    epochs: float,
    batch_size: int,
    lr: float,
    seed: int,
    pad_id: int,
    head_weight: float = 1.0,
    head_tokens: int = 4,
    tick: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Supervised fine-tuning: loss on response tokens only, seeded shuffling per epoch.

    ``head_weight`` multiplies the loss on the first ``head_tokens`` response tokens:
    that is where a response commits to refusing or answering, and a tiny model
    trained for a few hundred steps learns that decision much faster when it weighs
    more than the boilerplate that follows. The reported loss is the plain mean.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    n = len(examples)
    steps = max(1, int(math.ceil(epochs * n / batch_size)))
    queue: list[list[int]] = []

    def refill() -> None:
        # One epoch: a seeded shuffle, cut into windows of 8 batches that are sorted by
        # length (less padding), then the batches themselves shuffled.
        perm = torch.randperm(n, generator=gen).tolist()
        batches = []
        window = 8 * batch_size
        for start in range(0, n, window):
            chunk = sorted(perm[start : start + window], key=lambda i: len(examples[i][0]))
            batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
        queue.extend(batches[i] for i in torch.randperm(len(batches), generator=gen).tolist())
    opt = _optimizer(model, lr)
    model.train()
    losses: list[float] = []
    tokens = 0
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, max(1, steps // 20))
        if not queue:
            refill()
        picked = queue.pop(0)
        width = max(len(examples[i][0]) for i in picked)
        ids = torch.full((len(picked), width), pad_id, dtype=torch.long)
        labels = torch.full((len(picked), width), -100, dtype=torch.long)
        mask = torch.zeros((len(picked), width), dtype=torch.long)
        for row, i in enumerate(picked):
            seq, start = examples[i]
            ids[row, : len(seq)] = torch.tensor(seq)
            labels[row, start : len(seq)] = torch.tensor(seq[start:])
            mask[row, : len(seq)] = 1
            tokens += len(seq)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        targets = labels[:, 1:]
        per_token = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="none"
        ).view(targets.shape)
        valid = (targets != -100).float()
        weights = valid.clone()
        for row, i in enumerate(picked):
            start = examples[i][1] - 1  # targets are shifted by one
            weights[row, start : start + head_tokens] *= head_weight
        loss = (per_token * weights).sum() / weights.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float((per_token.detach() * valid).sum() / valid.sum()))
        if tick:
            tick(step, losses[-1])
    model.eval()
    tail = losses[-10:]
    return TrainResult(steps=steps, final_loss=round(sum(tail) / len(tail), 4), tokens_seen=tokens)


def save(model: Any, tokenizer: Any, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
