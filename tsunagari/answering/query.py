"""The question parsed once: a frozen `Query` that routing, retrieval and the scope check read.

`parse_query` validates the question, writes name variants as the catalogue names them
(names.py), resolves follow-up referents against the whole history (referents.py, then the
last-entity rules of followup.py), classifies the intent (intent.py) and names the section roles
asked for (roles.py). Nothing downstream re-validates or re-parses the string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tsunagari.answering.followup import Resolved, resolve, validate_history
from tsunagari.answering.intent import Intent, classify
from tsunagari.answering.names import NameIndex, NameMention
from tsunagari.answering.question import validate_question
from tsunagari.answering.referents import resolve_referent
from tsunagari.answering.roles import WHY, question_role
from tsunagari.indexing.catalogue import Catalogue
from tsunagari.types import Filters


@dataclass(frozen=True)
class Query:
    """A question as understood: what was typed, what is searched, and its structure."""

    raw: str  # the validated question as typed
    text: str  # with name variants written as the catalogue names them
    standalone: str  # a follow-up rewritten with the entity it refers to
    filters: Filters  # implied by the conversation
    entity: str  # the entity a follow-up refers to ('' if none)
    intent: Intent
    names: tuple[NameMention, ...] = ()
    roles: tuple[str, ...] = ()  # section roles asked for (roles.question_role)

    @property
    def kind(self) -> str:
        return self.intent.kind

    @property
    def negated(self) -> tuple[str, ...]:
        return self.intent.negated

    @property
    def search_text(self) -> str:
        """What retrieval searches with: negated phrases removed when there are any."""
        return self.intent.query if self.intent.negated else self.standalone

    @property
    def scope_text(self) -> str:
        """What the scope check judges: a follow-up with the entity it refers to."""
        return self.standalone if self.entity else self.text


def parse_query(question: object, history: Sequence[object] | None, *, max_chars: int,
                catalogue: Catalogue, known: Sequence[str],
                names: NameIndex | None = None) -> Query:
    """Parse a question (and its conversation) once.

    Raises InputError (Japanese message) for a question or history that cannot be used.
    """
    raw = validate_question(question, max_chars)
    validate_history(history)
    text, mentions = names.canonical(raw) if names is not None else (raw, ())
    turns = _canonical_turns(history, names)
    referent = resolve_referent(text, turns, catalogue) if turns else ""
    if referent:
        standalone = f"{referent}について、{text}"
        entity = catalogue.get(referent)
        filters = (Filters(column=referent) if entity is not None and entity.kind == "column"
                   else Filters(municipality=referent))
        resolved = Resolved(standalone, filters, referent)
    else:
        resolved = resolve(text, turns, known, catalogue)
    intent = classify(resolved.question, catalogue)
    roles = () if intent.entities or intent.kind in ("enumerate", "compare", "profile") \
        else question_role(text)
    if WHY in roles and (history or resolved.entity):
        roles = ()  # a why-question in a conversation asks about the case talked about
    return Query(raw, text, resolved.question, resolved.filters, resolved.entity, intent,
                 mentions, roles)


def _canonical_turns(history: Sequence[object] | None,
                     names: NameIndex | None) -> list[object] | None:
    """History turns with name variants written as the catalogue names them."""
    if not history or names is None:
        return list(history) if history else history  # type: ignore[return-value]
    out: list[object] = []
    for t in history:
        if isinstance(t, str):
            out.append(names.canonical(t)[0])
        elif isinstance(t, dict) and isinstance(t.get("content"), str):
            out.append({**t, "content": names.canonical(t["content"])[0]})
        else:
            out.append(t)
    return out
