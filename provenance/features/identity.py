"""Which model or vendor does a response claim to be? Alias matching with cheap negation.

The alias lists ship in ``probes/aliases.toml`` (model families and vendors, with
transliterations); a case adds its own (the lab teacher "Aurora" by "Northwind Labs")
through :func:`load_aliases`.

Matching
--------
Every alias is a regular expression, run only when its longest literal piece occurs in
the (casefolded) text. Where matches overlap the longest wins, so matches never overlap
("GPT-J" is EleutherAI's model, not OpenAI's "GPT" followed by "-J"). An alias edge written in Latin
or Cyrillic letters must sit at a word boundary of that script ("Claude" does not match
inside "Claudette", but does match in "我是Claude"); an edge in CJK, kana or Hangul needs
no boundary, because those scripts are written without spaces ("我是通义千问").

Negation heuristic (and its limits)
-----------------------------------
A mention is *disclaimed*, not claimed, when its clause has a negation or contrast cue
before it ("I am not ChatGPT", "I'm Claude, not ChatGPT", "unlike ChatGPT", "I have no
affiliation with OpenAI", "Je ne suis pas ChatGPT", "No soy ChatGPT", "我不是ChatGPT",
"Я не ChatGPT") or a postposed negation right after it (Japanese "ChatGPTではありません",
Korean "ChatGPT가 아닙니다"). The clause runs back to the nearest sentence or clause
punctuation or contrast word ("but", "aber", "mais", "pero", "但是"), and a negation
carries over list commas ("not made by OpenAI, Google, or Meta" disclaims all three).
The cue must be within :data:`NEGATION_WINDOW_WORDS` words of the name.

Known limits: a mere comparison without a cue ("similar to ChatGPT") counts as a claim;
a negation in a separate clause is missed ("I'd love to say I'm ChatGPT; sadly that's not
true" counts ChatGPT); double negatives and sarcasm are not understood; a doubt ("I don't
know whether I'm ChatGPT") counts as a disclaimer. The suite compares claim *rates*
between the suspect and controls, so such errors dilute the statistic rather than bias it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from provenance.errors import CaseFileError

__all__ = [
    "NEGATION_WINDOW_WORDS",
    "AliasEntry",
    "AliasTable",
    "IdentityClaim",
    "Mention",
    "claims_identity",
    "extract_identity_claims",
    "load_aliases",
]

#: How far back (in words) a negation cue may stand and still negate a name in its clause.
NEGATION_WINDOW_WORDS = 8

_KINDS = ("model", "vendor")


@dataclass(frozen=True)
class AliasEntry:
    """One model family or vendor and the strings that name it."""

    name: str
    kind: str
    vendor: str | None = None
    aliases: tuple[str, ...] = ()
    case_sensitive: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """One place in a response where an alias matched."""

    name: str
    kind: str
    text: str
    start: int
    end: int
    negated: bool


@dataclass(frozen=True)
class IdentityClaim:
    """What a response claims to be.

    ``names``/``vendors``: canonical model and vendor names mentioned without negation, in
    order of first appearance. ``implied_vendors``: vendors of the claimed models
    ("I am ChatGPT" implies OpenAI). ``disclaimed``: canonical names only ever mentioned
    under negation. ``mentions``: every match, for exhibits.
    """

    names: tuple[str, ...]
    vendors: tuple[str, ...]
    implied_vendors: tuple[str, ...] = ()
    disclaimed: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()

    @property
    def claimed(self) -> frozenset[str]:
        """Every canonical name claimed, with the vendors the claimed models imply."""
        return frozenset(self.names) | frozenset(self.vendors) | frozenset(self.implied_vendors)


@dataclass(frozen=True)
class _Matcher:
    anchor: str  # casefolded literal that every match contains; skips the regex when absent
    regex: re.Pattern[str]
    name: str


@dataclass(frozen=True)
class AliasTable:
    """Alias entries and their compiled matchers. Build with :func:`load_aliases`."""

    entries: tuple[AliasEntry, ...]
    _matchers: tuple[_Matcher, ...] = field(repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if not self._matchers and self.entries:
            object.__setattr__(self, "_matchers", _compile(self.entries)._matchers)

    def get(self, name: str) -> AliasEntry | None:
        """The entry whose canonical name is ``name`` (case-insensitive), or None."""
        return _get(self.entries, name)

    def resolve(self, text: str) -> AliasEntry | None:
        """The entry that ``text`` names: by canonical name, else by an exact alias."""
        return _resolve(self.entries, text)

    def find(self, text: str) -> list[tuple[int, int, AliasEntry]]:
        """Non-overlapping (start, end, entry) matches in text order; longer matches win overlaps."""
        by_name = {e.name: e for e in self.entries}
        folded = text.casefold()
        found: list[tuple[int, int, str]] = []
        for matcher in self._matchers:
            if matcher.anchor and matcher.anchor not in folded:
                continue
            found.extend((m.start(), m.end(), matcher.name) for m in matcher.regex.finditer(text) if m.end() > m.start())
        found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
        taken: list[tuple[int, int, AliasEntry]] = []
        for start, end, name in found:
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, by_name[name]))
        return sorted(taken, key=lambda t: t[0])


# ---------------------------------------------------------------- loading


def _key(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    return re.sub(r"[\s\-_]+", " ", s).strip()


def _entry_from_spec(name: str, spec: Any, where: str) -> AliasEntry:
    if isinstance(spec, (list, tuple)):
        spec = {"aliases": list(spec)}
    if not isinstance(spec, Mapping):
        raise CaseFileError(
            f"{where}: alias entry {name!r} must be a table or a list of strings",
            hint='write e.g. Aurora = { kind = "model", vendor = "Northwind Labs", aliases = ["Aurora"] }',
        )
    kind = spec.get("kind", "model")
    if kind not in _KINDS:
        raise CaseFileError(f"{where}: alias entry {name!r} has kind {kind!r}", hint='kind is "model" or "vendor"')
    lists = {}
    for key in ("aliases", "case_sensitive", "patterns"):
        value = spec.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise CaseFileError(f"{where}: alias entry {name!r}: {key} must be a list of non-empty strings")
        lists[key] = tuple(value)
    for pattern in lists["patterns"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise CaseFileError(f"{where}: alias entry {name!r}: bad pattern {pattern!r}: {exc}") from exc
    vendor = spec.get("vendor")
    if vendor is not None and (not isinstance(vendor, str) or kind != "model"):
        raise CaseFileError(f"{where}: alias entry {name!r}: vendor must be a string, and only models have one")
    aliases = lists["aliases"]
    if name not in lists["case_sensitive"] and _key(name) not in {_key(a) for a in aliases}:
        aliases = (name, *aliases)
    return AliasEntry(
        name=name, kind=kind, vendor=vendor, aliases=aliases, case_sensitive=lists["case_sensitive"], patterns=lists["patterns"]
    )


def _default_path() -> Path:
    from provenance.probes import probes_dir

    return probes_dir() / "aliases.toml"


@lru_cache(maxsize=4)
def _builtin_entries(path: str) -> tuple[AliasEntry, ...]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CaseFileError(f"{p}: cannot read alias list: {exc}") from exc
    entries = []
    for item in data.get("entry", []):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise CaseFileError(f"{p}: every [[entry]] needs a name")
        entries.append(_entry_from_spec(item["name"], item, str(p)))
    return tuple(entries)


def load_aliases(extra: Mapping[str, Any] | None = None, path: str | Path | None = None) -> AliasTable:
    """The shipped alias table, with a case's own entries added.

    ``extra`` maps a canonical name to ``{kind, vendor, aliases, case_sensitive, patterns}``
    (or just to a list of aliases, for a model). A case's entry *replaces* a shipped entry
    of the same canonical name, and takes over any shipped alias it repeats, because the
    case's meaning wins: a lab teacher called "Zephyr" by "Blue Harbor AI" is not Hugging
    Face's Zephyr. A model's vendor that has no entry gets one (its name as alias).
    ``path`` reads another alias file instead of ``probes/aliases.toml``.
    """
    entries = list(_builtin_entries(str(Path(path) if path else _default_path())))
    if extra:
        if not isinstance(extra, Mapping):
            raise CaseFileError("identity aliases must be a table of name = {...}")
        added = [_entry_from_spec(str(name), spec, "case identity aliases") for name, spec in extra.items()]
        taken_names = {_key(e.name) for e in added}
        taken_aliases = {_key(a) for e in added for a in e.aliases} | {a for e in added for a in e.case_sensitive}
        kept = []
        for entry in entries:
            if _key(entry.name) in taken_names:
                continue
            kept.append(
                AliasEntry(
                    name=entry.name,
                    kind=entry.kind,
                    vendor=entry.vendor,
                    aliases=tuple(a for a in entry.aliases if _key(a) not in taken_aliases),
                    case_sensitive=tuple(a for a in entry.case_sensitive if a not in taken_aliases),
                    patterns=entry.patterns,
                )
            )
        entries = kept + added
    names = {_key(e.name) for e in entries}
    for entry in list(entries):
        if entry.vendor and _key(entry.vendor) not in names:
            entries.append(AliasEntry(name=entry.vendor, kind="vendor", aliases=(entry.vendor,)))
            names.add(_key(entry.vendor))
    return _compile(tuple(entries))


_LATIN = r"A-Za-z0-9\u00C0-\u024F"
_CYRILLIC = r"\u0400-\u04FF0-9"


def _edge_class(ch: str) -> str | None:
    if re.match(f"[{_LATIN}]", ch):
        return _LATIN
    if re.match(f"[{_CYRILLIC}]", ch):
        return _CYRILLIC
    return None


def _literal_regex(alias: str) -> str:
    alias = unicodedata.normalize("NFKC", alias)
    parts = [re.escape(p) for p in re.split(r"[\s\-_]+", alias.strip()) if p]
    body = r"[\s\-_]?".join(parts)
    left, right = _edge_class(alias.strip()[0]), _edge_class(alias.strip()[-1])
    if left:
        body = f"(?<![{left}]){body}"
    if right:
        body = f"{body}(?![{right}])"
    return body


def _anchor(alias: str) -> str:
    """The longest piece of an alias (split at separators), casefolded."""
    pieces = [p for p in re.split(r"[\s\-_]+", unicodedata.normalize("NFKC", alias).strip()) if p]
    return max(pieces, key=len).casefold() if pieces else ""


def _pattern_anchor(pattern: str) -> str:
    m = re.match(r"[A-Za-z]+", pattern)
    return m.group(0).casefold() if m else ""


@lru_cache(maxsize=256)
def _get(entries: tuple[AliasEntry, ...], name: str) -> AliasEntry | None:
    key = _key(name)
    return next((entry for entry in entries if _key(entry.name) == key), None)


@lru_cache(maxsize=256)
def _resolve(entries: tuple[AliasEntry, ...], text: str) -> AliasEntry | None:
    found = _get(entries, text)
    if found is not None:
        return found
    key = _key(text)
    return next((e for e in entries if key in {_key(a) for a in e.aliases} or text in e.case_sensitive), None)


@lru_cache(maxsize=32)  # a case's claims table is compiled once, not once per answer checked
def _compile(entries: tuple[AliasEntry, ...]) -> AliasTable:
    seen: dict[str, str] = {}
    matchers: list[_Matcher] = []
    for entry in entries:
        for alias in entry.aliases:
            owner = seen.setdefault(_key(alias), entry.name)
            if owner != entry.name:
                raise CaseFileError(f"alias {alias!r} is listed for both {owner!r} and {entry.name!r}", hint="aliases must be unique")
            matchers.append(_Matcher(_anchor(alias), re.compile(_literal_regex(alias), re.I), entry.name))
        for alias in entry.case_sensitive:
            matchers.append(_Matcher(_anchor(alias), re.compile(_literal_regex(alias)), entry.name))
        for pattern in entry.patterns:
            rx = re.compile(rf"(?<![{_LATIN}])(?:{pattern})(?![{_LATIN}])", re.I)
            matchers.append(_Matcher(_pattern_anchor(pattern), rx, entry.name))
    return AliasTable(entries=entries, _matchers=tuple(matchers))


@lru_cache(maxsize=1)
def _default_table() -> AliasTable:
    return load_aliases()


# ---------------------------------------------------------------- negation

_CLAUSE_BREAK = re.compile(
    r"[.!?;:\n\u3002\uff01\uff1f\uff1b\uff1a()\[\]\"\u201c\u201d]|,|\uff0c|\u3001"
    r"|\b(?:but|however|though|although|whereas|yet|instead|aber|sondern|doch|mais|plutôt|pero|sino|però|ma|но|а)\b"
    r"|但是|但|不过|而是|然而|しかし|でも|けど|が、",
    re.I,
)
_LIST_CONNECTOR = re.compile(r"^\s*(?:(?:or|and|nor|neither|either|by|from|with|of|to|ni|ou|et|oder|und|noch|o|y|e|или|и|ни|或|和|及|与|與|や|と)\s*)*$", re.I)
_NEG_BEFORE = re.compile(
    r"\b(?:not|never|no|neither|nor|unlike|without|none)\b|n['\u2019]t\b|\bcannot\b"
    r"|\b(?:other|rather|different)\s+(?:than|from)\b|\binstead\s+of\b|\bas\s+opposed\s+to\b|\bcompared\s+(?:to|with)\b"
    r"|\bnothing\s+to\s+do\s+with\b|\bindependent(?:ly)?\s+(?:of|from)\b|\bunaffiliated\b|\bnot\s+affiliated\b"
    r"|\b(?:nicht|kein\w*|nie|niemals|weder|im\s+gegensatz\s+zu|anders\s+als)\b"
    r"|\b(?:pas|ni|jamais|aucun\w*|contrairement\s+à|sans)\b"
    r"|\b(?:no|ni|nunca|ningún|ninguna|a\s+diferencia\s+de|sin)\b"
    r"|\b(?:non|nessun\w*|não|nem)\b"
    r"|(?<![\u0400-\u04FF])(?:не|ни|нет)(?![\u0400-\u04FF])"
    r"|不是|并非|並非|并不是|並不是|不属于|不屬於|没有|沒有|而不是|不像|并不|並不",
    re.I,
)
_NEG_AFTER = re.compile(
    r"^\s*(?:ではありません|ではない|じゃない|じゃありません|ではなく|ではございません|とは(?:違|異な|関係あり)"
    r"|(?:가|이)\s*아니|(?:와|과)\s*(?:다릅|관련이\s*없)"
    r"|\s*(?:nicht|не\s+являюсь))",
    re.I,
)


def _clause_prefix(text: str, start: int, floor: int) -> tuple[str, int]:
    """The clause before ``start`` (from the last clause break after ``floor``) and where it begins."""
    begin = floor
    for m in _CLAUSE_BREAK.finditer(text, floor, start):
        begin = m.end()
    return text[begin:start], begin


def _negated_before(prefix: str) -> bool:
    words = prefix.split()
    window = " ".join(words[-NEGATION_WINDOW_WORDS:]) if words else prefix
    # CJK has no spaces: look at the last characters instead.
    if len(words) <= 1 and len(prefix) > 12:
        window = prefix[-12:]
    return bool(_NEG_BEFORE.search(window))


def _mark_negation(text: str, spans: list[tuple[int, int, AliasEntry]]) -> list[Mention]:
    mentions: list[Mention] = []
    for i, (start, end, entry) in enumerate(spans):
        prefix, begin = _clause_prefix(text, start, 0)
        negated = _negated_before(prefix)
        if not negated and i > 0 and _LIST_CONNECTOR.match(prefix):
            previous = mentions[-1]
            between = text[previous.end : begin]
            if len(between.strip()) <= 2:  # "OpenAI, Google or Meta": the list inherits the negation
                negated = previous.negated
        if not negated:
            tail = text[end : end + 24]
            negated = bool(_NEG_AFTER.match(tail))
        mentions.append(Mention(name=entry.name, kind=entry.kind, text=text[start:end], start=start, end=end, negated=negated))
    return mentions


# ---------------------------------------------------------------- public API


def extract_identity_claims(text: str, aliases: AliasTable | None = None) -> IdentityClaim:
    """The model and vendor names ``text`` claims (and those it disclaims)."""
    table = aliases or _default_table()
    text = unicodedata.normalize("NFKC", text or "")
    mentions = _mark_negation(text, table.find(text))
    claimed = [m for m in mentions if not m.negated]
    names = _unique(m.name for m in claimed if m.kind == "model")
    vendors = _unique(m.name for m in claimed if m.kind == "vendor")
    by_name = {e.name: e for e in table.entries}
    implied = _unique(v for n in names if (v := by_name[n].vendor))
    disclaimed = _unique(m.name for m in mentions if m.negated and m.name not in set(names) | set(vendors))
    return IdentityClaim(names=names, vendors=vendors, implied_vendors=implied, disclaimed=disclaimed, mentions=tuple(mentions))


def claims_identity(
    text: str,
    target_names_and_vendors: Iterable[str],
    aliases: AliasTable | None = None,
    *,
    include_implied: bool = True,
) -> bool:
    """Does ``text`` claim to be (or be made by) any of the targets?

    Each target is resolved to an entry of the table by canonical name or alias ("GPT-4o"
    resolves to "GPT-4"); a target the table does not know is matched literally (as a
    model name). With ``include_implied`` a claimed model counts for its vendor
    ("I am ChatGPT" claims OpenAI).
    """
    table = aliases or _default_table()
    wanted: set[str] = set()
    unknown: dict[str, Sequence[str]] = {}
    for target in target_names_and_vendors:
        entry = table.resolve(target)
        if entry is None:
            unknown[target] = [target]
            wanted.add(target)
        else:
            wanted.add(entry.name)
    if unknown:
        table = _compile(table.entries + tuple(_entry_from_spec(n, a, "target") for n, a in unknown.items()))
    claim = extract_identity_claims(text, table)
    found = set(claim.names) | set(claim.vendors)
    if include_implied:
        found |= set(claim.implied_vendors)
    return bool(found & wanted)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
