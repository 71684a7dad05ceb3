"""Student-facing text: Brazilian Portuguese first, English on request."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("pt", "en")


@dataclass(frozen=True)
class Text:
    """One message in both languages; `{name}` fields are filled in by `render`."""

    pt: str
    en: str

    def render(self, lang: str = "pt", **fields) -> str:
        template = self.en if lang == "en" else self.pt
        return template.format(**fields) if fields else template
