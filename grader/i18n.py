"""Student-facing text: Brazilian Portuguese first, English on request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LANGUAGES = ("pt", "en")


@dataclass(frozen=True)
class Text:
    """One message in both languages; `{name}` fields are filled in by `render`."""

    pt: str
    en: str

    def render(self, lang: str = "pt", **fields) -> str:
        template = self.en if lang == "en" else self.pt
        return template.format(**fields) if fields else template


class LocalizedError(Exception):
    """An exception that speaks to the student: `text` (per class or per instance) filled
    with `fields` (a field may itself be a `Text`), rendered in the language asked. The
    engine's failures, the graders' mistakes and unreadable submissions all are one."""

    text = Text(pt="Erro.", en="Error.")

    def __init__(self, text: Text | None = None, **fields: Any) -> None:
        if text is not None:
            self.text = text
        self.fields = fields
        try:
            english = self.render("en")
        except (KeyError, IndexError, ValueError):  # a subclass that needs more than its fields
            english = self.text.en
        super().__init__(english)

    def render(self, lang: str = "pt") -> str:
        fields = {k: v.render(lang) if isinstance(v, Text) else v for k, v in self.fields.items()}
        return self.text.render(lang, **fields)
