"""手引きをつくる: a memo for a municipality's profile, built from the report's cases and points."""

from tsunagari.playbook.memo import CasePick, Memo, Quoted, Section, build_memo
from tsunagari.playbook.profile import Profile

__all__ = ["CasePick", "Memo", "Profile", "Quoted", "Section", "build_memo"]
