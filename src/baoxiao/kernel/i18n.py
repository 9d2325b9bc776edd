"""Pick the user's language: zh-CN or en. Full catalogs arrive with the web UI."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED = ("en", "zh-CN")
DEFAULT = "zh-CN"


@dataclass(frozen=True)
class Msg:
    """A user-facing message in both languages, with str.format placeholders."""

    en: str
    zh: str

    def render(self, lang: str, **params: object) -> str:
        template = self.zh if lang.lower().startswith("zh") else self.en
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template


def negotiate(accept_language: str | None, default: str = DEFAULT) -> str:
    """Choose zh-CN or en from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q <= 0:  # RFC 9110: q=0 means "not acceptable"
            continue
        ranked.append((-q, index, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default
