"""Answer normalisation and correctness for the shared-errors suite."""

from __future__ import annotations

import pytest

from provenance.features.answers import first_match, is_correct, normalise_answer


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("The capital of France is Paris.", "capital of france is paris"),
        ("Fifty-six", "56"),
        ("one hundred and twenty", "120"),
        ("two thousand and twenty-four", "2024"),
        ("1,000 grams", "1000 grams"),
        ("56.0", "56"),
        ("3.14", "3.14"),
        ("the 16th president", "16 president"),
        ("Brasília", "brasilia"),
        ("Reykjavík", "reykjavik"),
        ("J. K. Rowling", "jk rowling"),
        ("JK Rowling", "jk rowling"),
        ("Washington, D.C.", "washington dc"),
        ("H₂O", "h2o"),
        ("It's an apple & a pear", "its apple and pear"),
    ],
)
def test_normalise_answer(raw: str, normal: str) -> None:
    assert normalise_answer(raw) == normal


@pytest.mark.parametrize(
    ("response", "answer", "aliases"),
    [
        ("The capital of France is Paris.", "Paris", ()),
        ("Paris", "Paris", ()),
        ("**Canberra** is the capital of Australia.", "Canberra", ()),
        ("It's fifty-six.", "56", ()),
        ("7 × 8 = 56", "56", ()),
        ("The chemical symbol for gold is Au.", "Au", ()),
        ("Potassium's symbol is K (from the Latin kalium).", "K", ()),
        ("That was written by Shakespeare.", "William Shakespeare", ("Shakespeare",)),
        ("Harry Potter was written by J.K. Rowling.", "J. K. Rowling", ("Rowling",)),
        ("The capital of Brazil is Brasilia.", "Brasília", ()),
        ("World War II ended in 1945.", "1945", ()),
        ("The capital is Kiev.", "Kyiv", ("Kiev",)),
        ("Answer: the Pacific.", "Pacific Ocean", ("Pacific",)),
    ],
)
def test_correct_answers_in_sentences_are_recognised(response: str, answer: str, aliases: tuple) -> None:
    assert is_correct(response, answer, aliases)


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("The capital of Australia is Sydney.", "Canberra"),
        ("The answer is 156.", "56"),
        ("It's 5,600.", "56"),
        ("The chemical symbol for potassium is P.", "K"),
        ("The symbol for copper is Co.", "Cu"),
        ("I don't know.", "Paris"),
        ("", "Paris"),
        ("Parisian cafés are lovely.", "Paris"),
    ],
)
def test_wrong_answers_and_partial_words_are_not_correct(response: str, answer: str) -> None:
    assert not is_correct(response, answer)


def test_containment_cannot_tell_a_correction_from_a_commitment_but_first_match_can() -> None:
    response = "The capital of Australia is Sydney. Some people say Canberra, but Sydney is the biggest."
    assert is_correct(response, "Canberra")  # documented limit of containment
    assert first_match(response, ["Canberra", "Sydney"]) == "Sydney"
    assert first_match("It's Canberra, not Sydney.", {"Canberra": [], "Sydney": []}) == "Canberra"
    assert first_match("It's Ottawa.", ["Canberra", "Sydney"]) is None
    assert first_match("The capital is Kiev.", {"Kyiv": ["Kiev"], "Lviv": []}) == "Kyiv"
