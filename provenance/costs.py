"""What an examination spent: API answers priced at the case file's per-token prices.

A suspect behind a paid API costs money per query; ``[budget] max_cost`` stops collection
there, and the report states what each model's answers cost. Prices are the case file's
(``input_price_per_million``, ``output_price_per_million`` of an API model); tokens are what
the API reported for each answer (``usage``). A copied answer (``reuse_from``, a panel) was
paid for by the case that asked it and costs this case nothing.
"""

from __future__ import annotations

from typing import Any


def prices_of(spec: Any) -> dict[str, tuple[float, float]]:  # noqa: ANN401 - CaseFile
    """Model name -> (price per million prompt tokens, per million completion tokens), for the priced models."""
    return {m.name: (m.input_price_per_million, m.output_price_per_million) for m in spec.models()
            if m.input_price_per_million is not None and m.output_price_per_million is not None}


def cost_of(extra: dict[str, Any] | None, prices: dict[str, tuple[float, float]]) -> float:
    """What one stored answer cost at its model's prices and the tokens its API reported (0 for a copy, a local
    model or an unpriced one: a copy was paid for by the case that asked it)."""
    extra = extra or {}
    price = prices.get(str(extra.get("model_name")))
    if price is None or "copied_from" in extra:
        return 0.0
    usage = (extra.get("response_meta") or {}).get("usage") or {}
    return (int(usage.get("prompt_tokens") or 0) * price[0] + int(usage.get("completion_tokens") or 0) * price[1]) / 1e6
