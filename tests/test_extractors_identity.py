"""Identity extraction: which model or vendor a response claims to be."""

from __future__ import annotations

import pytest

from provenance.errors import CaseFileError
from provenance.features.identity import claims_identity, extract_identity_claims, load_aliases


@pytest.mark.parametrize(
    ("text", "names", "vendors"),
    [
        ("I am ChatGPT, a large language model trained by OpenAI.", ("ChatGPT",), ("OpenAI",)),
        ("Je suis ChatGPT, développé par OpenAI.", ("ChatGPT",), ("OpenAI",)),
        ("我是通义千问，由阿里云开发的大语言模型。", ("Qwen",), ("Alibaba",)),
        ("我是Claude，由Anthropic开发。", ("Claude",), ("Anthropic",)),
        ("私はClaudeです。Anthropicによって作られました。", ("Claude",), ("Anthropic",)),
        ("Ich bin Gemini, ein großes Sprachmodell von Google.", ("Gemini",), ("Google",)),
        ("Soy Llama 3, un modelo desarrollado por Meta AI.", ("Llama",), ("Meta",)),
        ("Я — GigaChat, нейросетевая модель от Сбера.", ("GigaChat",), ()),
        ("저는 클로드입니다. Anthropic이 만들었어요.", ("Claude",), ("Anthropic",)),
        ("I'm Phi-3-mini, a small language model from Microsoft.", ("Phi",), ("Microsoft",)),
        ("Hi! I'm SmolLM2, trained by Hugging Face.", ("SmolLM",), ("Hugging Face",)),
        ("I'm DeepSeek-V3, developed by 深度求索.", ("DeepSeek",), ("DeepSeek AI",)),
        ("I am Grok, built by xAI.", ("Grok",), ("xAI",)),
        ("I'm Command R+ from Cohere.", ("Command R",), ("Cohere",)),
        ("I am OLMo, an open language model from AI2.", ("OLMo",), ("Allen Institute for AI",)),
    ],
)
def test_identity_answers_in_many_languages_name_model_and_vendor(text: str, names: tuple, vendors: tuple) -> None:
    claim = extract_identity_claims(text)
    assert claim.names == names
    assert claim.vendors == vendors


def test_claimed_model_implies_its_vendor() -> None:
    claim = extract_identity_claims("I'm GPT-4o.")
    assert claim.names == ("GPT-4",)
    assert claim.vendors == ()
    assert claim.implied_vendors == ("OpenAI",)
    assert "OpenAI" in claim.claimed


def test_longest_alias_wins_so_gpt_j_is_eleutherai_not_openai() -> None:
    claim = extract_identity_claims("I'm based on GPT-J, released by EleutherAI.")
    assert claim.names == ("GPT-J",)
    assert claim.implied_vendors == ("EleutherAI",)


def test_aliases_match_at_word_boundaries_only() -> None:
    assert extract_identity_claims("My friend Claudette wrote this.").names == ()
    assert extract_identity_claims("The metadata is stored in a flat file.").vendors == ()
    assert extract_identity_claims("I am Claude.").names == ("Claude",)


def test_ordinary_words_that_are_model_names_need_their_capitalisation() -> None:
    claim = extract_identity_claims("A llama is a South American animal; the meta question is about falcons and phi.")
    assert claim.names == () and claim.vendors == ()
    assert extract_identity_claims("I am Llama, made by Meta.").names == ("Llama",)


def test_spelling_variants_with_or_without_separators_match() -> None:
    for text in ("I am GPT4.", "I am GPT 4.", "I am GPT-4.", "I am Chat GPT.", "I am chatgpt."):
        assert extract_identity_claims(text).names in {("GPT-4",), ("ChatGPT",)}, text
    assert extract_identity_claims("Built by Open AI.").vendors == ("OpenAI",)


@pytest.mark.parametrize(
    ("text", "claimed", "disclaimed"),
    [
        ("I am not ChatGPT.", (), ("ChatGPT",)),
        ("I'm Claude, not ChatGPT.", ("Claude",), ("ChatGPT",)),
        ("I am not ChatGPT. I'm Claude, made by Anthropic.", ("Claude", "Anthropic"), ("ChatGPT",)),
        ("Unlike ChatGPT, I am Gemini, a model from Google.", ("Gemini", "Google"), ("ChatGPT",)),
        ("I was not created by OpenAI, Google, or Meta.", (), ("OpenAI", "Google", "Meta")),
        ("I have no affiliation with OpenAI.", (), ("OpenAI",)),
        ("Je ne suis pas ChatGPT.", (), ("ChatGPT",)),
        ("No soy ChatGPT ni Gemini.", (), ("ChatGPT", "Gemini")),
        ("Ich bin nicht ChatGPT, sondern Llama.", ("Llama",), ("ChatGPT",)),
        ("我不是ChatGPT，我是通义千问。", ("Qwen",), ("ChatGPT",)),
        ("私はChatGPTではありません。", (), ("ChatGPT",)),
        ("Я не ChatGPT.", (), ("ChatGPT",)),
    ],
)
def test_negated_mentions_are_disclaimed_not_claimed(text: str, claimed: tuple, disclaimed: tuple) -> None:
    claim = extract_identity_claims(text)
    assert claim.names + claim.vendors == claimed
    assert claim.disclaimed == disclaimed


def test_a_hedge_in_an_earlier_clause_does_not_negate_the_claim() -> None:
    claim = extract_identity_claims("I'm not completely sure, but I believe I am GPT-4, made by OpenAI.")
    assert claim.names == ("GPT-4",)
    assert claim.vendors == ("OpenAI",)


def test_a_case_adds_its_own_model_and_vendor() -> None:
    aliases = load_aliases({"Aurora": {"kind": "model", "vendor": "Northwind Labs", "aliases": ["Aurora"]}})
    claim = extract_identity_claims("I'm Aurora, an AI assistant made by Northwind Labs. Stay curious!", aliases)
    assert claim.names == ("Aurora",)
    assert claim.vendors == ("Northwind Labs",)
    assert aliases.get("Northwind Labs").kind == "vendor"  # type: ignore[union-attr]


def test_a_case_entry_replaces_a_shipped_one_of_the_same_name() -> None:
    aliases = load_aliases({"Zephyr": {"vendor": "Blue Harbor AI"}})
    claim = extract_identity_claims("Sure thing! I'm Zephyr, made by Blue Harbor AI.", aliases)
    assert claim.names == ("Zephyr",)
    assert claim.implied_vendors == ("Blue Harbor AI",)
    assert "Hugging Face" not in claim.claimed


def test_a_shorthand_list_of_aliases_is_accepted() -> None:
    aliases = load_aliases({"Orion": ["Orion", "Orion-2"]})
    assert extract_identity_claims("This is Orion-2 speaking.", aliases).names == ("Orion",)


@pytest.mark.parametrize(
    "extra",
    [{"Aurora": {"kind": "robot"}}, {"Aurora": 3}, {"Aurora": {"patterns": ["("]}}, {"Aurora": {"aliases": [""]}}],
)
def test_malformed_case_aliases_are_a_user_error(extra: dict) -> None:
    with pytest.raises(CaseFileError):
        load_aliases(extra)


def test_claims_identity_against_teacher_names_and_vendor() -> None:
    teacher = ["Aurora", "Northwind Labs"]
    assert claims_identity("I'm Aurora, made by Northwind Labs.", teacher)
    assert claims_identity("Northwind Labs trained me.", teacher)
    assert not claims_identity("I'm Orion, made by Quillstone Systems.", teacher)
    assert not claims_identity("I am not Aurora.", teacher)


def test_claims_identity_resolves_targets_through_aliases_and_vendors() -> None:
    assert claims_identity("I am ChatGPT.", ["OpenAI"])
    assert claims_identity("I'm GPT-4 Turbo.", ["gpt-4o"])
    assert not claims_identity("I am ChatGPT.", ["OpenAI"], include_implied=False)
    assert not claims_identity("I am Claude, made by Anthropic.", ["ChatGPT", "OpenAI"])
    assert not claims_identity("I am not ChatGPT and OpenAI did not make me.", ["ChatGPT", "OpenAI"])


def test_no_identity_in_an_unrelated_answer() -> None:
    claim = extract_identity_claims("The capital of France is Paris. Hope this helps!")
    assert claim.names == () and claim.vendors == () and claim.mentions == ()


def test_a_controls_declared_name_is_the_cases_own_not_the_catalogues() -> None:
    # Real answer of the lab control "Zephyr" in casefiles/smollm2-real, whose teacher is
    # SmolLM2 (claims "SmolLM", "Hugging Face"). The shipped catalogue's Zephyr is a Hugging
    # Face model, so without the case's declaration every such answer named the teacher's maker
    # (58 of 146 control answers in the first run of that case).
    from provenance.suites.identity import case_aliases

    text = "Sure thing! Zephyr is my name. Blue Harbor AI created me."
    teacher = ["SmolLM", "Hugging Face"]
    assert claims_identity(text, teacher, load_aliases())
    declared = load_aliases(case_aliases(["Zephyr", "Blue Harbor AI"], teacher))
    assert not claims_identity(text, teacher, declared)
    assert claims_identity(text, ["Zephyr"], declared)
    assert claims_identity("I'm SmolLM, trained by Hugging Face.", teacher, declared)
    # the teacher's own claims keep their catalogue meaning
    assert case_aliases(["SmolLM", "Orion"], teacher) == {"Orion": ["Orion"]}
