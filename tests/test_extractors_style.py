"""Style features and n-gram profiles of responses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from provenance.features.style import FEATURE_NAMES, feature_matrix, ngram_profile, style_features

MARKDOWN = """Sure! Here's a plan:

## Steps
1. Preheat the oven \u2014 to 200 degrees.
2. Mix the **flour** and sugar.
- Add two eggs \U0001F95A

```python
print("done")
```
Any questions?"""


def test_feature_names_are_unique_and_fixed_in_order() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert FEATURE_NAMES[:3] == ("log_chars", "log_words", "log_lines")
    assert list(style_features("Hello there.")) == list(FEATURE_NAMES)


def test_markdown_answer_shows_its_formatting_habits() -> None:
    f = style_features(MARKDOWN)
    assert f["numbered_line_frac"] > 0 and f["bullet_line_frac"] > 0 and f["header_line_frac"] > 0
    assert f["code_char_frac"] > 0
    assert f["bold_per_100_words"] > 0
    assert f["emoji_per_100_words"] > 0
    assert f["em_dash_per_100_words"] > 0
    assert f["opens_with_affirmation"] == 1.0
    assert f["ends_with_question"] == 1.0
    assert f["log_chars"] == pytest.approx(math.log1p(len(MARKDOWN)))


def test_plain_prose_has_no_formatting_features() -> None:
    f = style_features("The capital of France is Paris. It lies on the Seine.")
    for name in ("bullet_line_frac", "numbered_line_frac", "header_line_frac", "code_char_frac", "emoji_per_100_words"):
        assert f[name] == 0.0
    assert f["log_mean_sentence_words"] == pytest.approx(math.log1p(5.5))
    assert f["opens_with_affirmation"] == 0.0


def test_punctuation_and_capitalisation_rates() -> None:
    f = style_features("WOW! This is GREAT! Really? Yes...")
    assert f["exclamation_per_sentence"] == pytest.approx(2 / 4)
    assert f["question_per_sentence"] == pytest.approx(1 / 4)
    assert f["all_caps_word_frac"] == pytest.approx(2 / 6)
    assert f["ellipsis_per_100_words"] > 0


def test_cjk_characters_count_as_words() -> None:
    f = style_features("我是通义千问。")
    assert f["log_words"] == pytest.approx(math.log1p(6))
    assert f["non_ascii_char_frac"] == 1.0


def test_empty_response_gives_zeros_not_errors() -> None:
    assert all(v == 0.0 for v in style_features("").values())


def test_feature_matrix_stacks_rows_in_column_order() -> None:
    texts = ["Hello there.", MARKDOWN, ""]
    m = feature_matrix(texts)
    assert m.shape == (3, len(FEATURE_NAMES))
    assert m.dtype == np.float64
    assert np.all(np.isfinite(m))
    assert m[1, FEATURE_NAMES.index("code_char_frac")] > 0
    assert feature_matrix([]).shape == (0, len(FEATURE_NAMES))


def test_features_separate_two_models_with_different_habits() -> None:
    terse = [f"The answer is {i}." for i in range(20)]
    chatty = [f"Sure! Great question \U0001F60A\n\n- Point one: {i}\n- Point two\n\nHope this helps!" for i in range(20)]
    a, b = feature_matrix(terse), feature_matrix(chatty)
    gap = np.abs(a.mean(axis=0) - b.mean(axis=0))
    assert gap[FEATURE_NAMES.index("bullet_line_frac")] > 0.3
    assert gap[FEATURE_NAMES.index("opens_with_affirmation")] == 1.0


def test_ngram_profile_counts_bigrams_and_trigrams_within_each_text() -> None:
    profile = ngram_profile(["Hope this helps!", "Hope this helps you."])
    assert profile["hope this"] == 2
    assert profile["hope this helps"] == 2
    assert profile["helps hope"] == 0  # never across texts
    assert ngram_profile("Stay curious! Stay curious!", n=2)["stay curious"] == 2
    assert ngram_profile(["a b c"], n=1) == {"a": 1, "b": 1, "c": 1}
    with pytest.raises(ValueError):
        ngram_profile(["x"], n=0)
