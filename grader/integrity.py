"""How a submitted notebook departs from its release's nbgrader structure, and the
release-shaped notebook rebuilt from it.

Students break notebook metadata without meaning to (cells pasted into a new notebook,
an editor that rewrites metadata or drops cell ids, a duplicated cell) and, now and then,
on purpose (a check cell demoted or renamed, its points raised). The engine grades by
name and needs none of that metadata, so such a notebook is still graded in full; what
changed becomes a `Flag` (the submission then needs review), one line in each language.

nbgrader does need the metadata. `rebuilt` gives it a notebook it can take: the release's
locked cells and nbgrader metadata, and the student's own cells. Cells are matched to the
release by `grade_id`, then by cell id, then by content (a locked cell's text, or the
top-level definition an answer cell is named after).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from grader.i18n import Text

SCHEMA_VERSION = 3  # the nbgrader cell-metadata schema the course's notebooks use
COMPARED_FIELDS = ("grade", "solution", "locked", "task")  # and `points` on grade cells


@dataclass(frozen=True)
class Flag:
    """One thing found in a submitted notebook, said in both languages. `review`: an
    instructor should look (tampering or damage); False for a mere note (an older format)."""

    code: str
    cell: str | None
    pt: str
    en: str
    review: bool = True

    @classmethod
    def of(cls, code: str, cell: str | None, text: Text, review: bool = True, **fields) -> Flag:
        return cls(code, cell, text.render("pt", cell=cell, **fields), text.render("en", cell=cell, **fields), review)

    def render(self, lang: str = "pt") -> str:
        return self.en if lang == "en" else self.pt

    def as_dict(self) -> dict:
        return {"code": self.code, "cell": self.cell, "review": self.review, "pt": self.pt, "en": self.en}


NO_METADATA = Text(
    pt="O notebook não tem os metadados do nbgrader (células copiadas para um notebook novo?); "
    "as respostas foram reconhecidas pelo nome.",
    en="The notebook has no nbgrader metadata (cells pasted into a new notebook?); the answers were recognised by name.",
)
OLD_FORMAT = Text(
    pt="O notebook está no formato nbformat 4.{minor}, sem ids de célula (a versão liberada é 4.5).",
    en="The notebook is in nbformat 4.{minor}, without cell ids (the release is 4.5).",
)
DELETED = {
    "test": Text(pt="A célula de verificação `{cell}` foi apagada.", en="The check cell `{cell}` was deleted."),
    "answer": Text(pt="A célula de resposta `{cell}` foi apagada.", en="The answer cell `{cell}` was deleted."),
    "locked": Text(pt="A célula travada `{cell}` foi apagada.", en="The locked cell `{cell}` was deleted."),
}
RENAMED = Text(
    pt="A célula `{cell}` teve o grade_id trocado para `{new}`.",
    en="The cell `{cell}` had its grade_id renamed to `{new}`.",
)
LOST_METADATA = Text(
    pt="A célula `{cell}` perdeu os metadados do nbgrader (reconhecida pelo conteúdo).",
    en="The cell `{cell}` lost its nbgrader metadata (recognised by its content).",
)
CHANGED = Text(pt="A célula `{cell}` teve {changes}.", en="The cell `{cell}` had {changes}.")
CHANGE = Text(pt="`{name}` trocado de {old} para {new}", en="`{name}` changed from {old} to {new}")
AND = Text(pt=" e ", en=" and ")
LOCKED_EDITED = Text(pt="A célula travada `{cell}` foi editada.", en="The locked cell `{cell}` was edited.")
DUPLICATED = Text(pt="A célula `{cell}` aparece {count} vezes.", en="The cell `{cell}` appears {count} times.")
UNKNOWN = Text(
    pt="Uma célula tem o grade_id `{cell}`, que a versão liberada não tem.",
    en="A cell carries the grade_id `{cell}`, which the release does not have.",
)
SCHEMA = Text(
    pt="{count} célula(s) com schema_version {found} do nbgrader (a versão liberada usa {expected}).",
    en="{count} cell(s) carry nbgrader schema_version {found} (the release uses {expected}).",
)


# --------------------------------------------------------------------------- reading cells


def cells_of(notebook: dict | None) -> list[dict]:
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def meta_of(cell: dict) -> dict:
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def grade_id_of(cell: dict) -> str | None:
    grade_id = meta_of(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def source_of(cell: dict, key: str = "source") -> str:
    """A cell's text, however stored (a string, a list of lines, or junk: then empty); `key`
    is "input" in the old v3 worksheets."""
    source = cell.get(key, "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def is_locked_check(cell: dict) -> bool:
    """A locked cell the student does not write in (setup, check cells)."""
    meta = meta_of(cell)
    return bool(meta.get("locked")) and not meta.get("solution")


_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE)


def defined_names(source: str) -> set[str]:
    """Names a cell defines at top level (functions, classes, assignments); tolerant of
    syntax errors, which is why it is a pattern and not `ast`."""
    return {m.group(1) or m.group(2) for m in _DEFINITION.finditer(source)}


# --------------------------------------------------------------------------- matching


@dataclass
class Matching:
    """Which submitted cell stands for each of the release's nbgrader cells."""

    release: list[dict]  # the release's nbgrader cells, in order
    found: dict[str, int] = field(default_factory=dict)  # release grade_id -> submitted cell index
    how: dict[str, str] = field(default_factory=dict)  # release grade_id -> grade_id, cell_id, source, definition
    duplicates: dict[int, str] = field(default_factory=dict)  # submitted index -> the grade_id it repeats
    unknown: dict[int, str] = field(default_factory=dict)  # submitted index -> a grade_id the release lacks
    has_metadata: bool = False

    def release_cell(self, grade_id: str) -> dict:
        return next(c for c in self.release if grade_id_of(c) == grade_id)

    def assigned(self) -> dict[int, str]:
        return {index: grade_id for grade_id, index in self.found.items()}


def release_cells(release: dict) -> list[dict]:
    return [c for c in cells_of(release) if grade_id_of(c)]


def match_cells(cells: list[dict], release: list[dict]) -> Matching:
    matching = Matching(release, has_metadata=any(meta_of(c) for c in cells))
    wanted = {grade_id_of(c): c for c in release}
    repeats: dict[int, str] = {}  # cells carrying a grade_id an earlier cell already has
    for index, cell in enumerate(cells):  # first by grade_id, so that a look-alike never takes a cell's place
        grade_id = grade_id_of(cell)
        if grade_id in wanted:
            if grade_id in matching.found:
                repeats[index] = grade_id
            else:
                matching.found[grade_id], matching.how[grade_id] = index, "grade_id"
    for index, cell in enumerate(cells):
        if index in matching.assigned():
            continue
        grade_id, how = _recognise(cell, [c for g, c in wanted.items() if g not in matching.found])
        if grade_id:  # e.g. an answer cell renamed to another cell's grade_id is still that answer
            matching.found[grade_id], matching.how[grade_id] = index, how
        elif index in repeats:
            matching.duplicates[index] = repeats[index]
        elif grade_id_of(cell):
            matching.unknown[index] = grade_id_of(cell)
    return matching


def _recognise(cell: dict, candidates: list[dict]) -> tuple[str | None, str]:
    """The release cell a cell without (valid) nbgrader metadata stands for, and how it was told."""
    for release_cell in candidates:
        if (
            cell.get("id")
            and cell.get("id") == release_cell.get("id")
            and cell.get("cell_type") == release_cell.get("cell_type")
            and not is_locked_check(release_cell)  # a locked cell is told by its text: an id alone would overwrite
        ):
            return grade_id_of(release_cell), "cell_id"
    text = _normalized(source_of(cell))
    for release_cell in candidates:
        if is_locked_check(release_cell) and text and text == _normalized(source_of(release_cell)):
            return grade_id_of(release_cell), "source"
    if cell.get("cell_type") == "code":
        names = defined_names(source_of(cell))
        for release_cell in candidates:
            if meta_of(release_cell).get("solution") and grade_id_of(release_cell) in names:
                return grade_id_of(release_cell), "definition"
    return None, ""


# --------------------------------------------------------------------------- flags


def _shown(value) -> str:
    """A metadata value as the notebook's JSON writes it (true, 50, None)."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _changes(submitted: dict, release: dict) -> list[tuple[str, str, str]]:
    """(field, release value, submitted value) for each nbgrader attribute that differs."""
    mine, theirs = meta_of(submitted), meta_of(release)
    changes = [
        (name, _shown(bool(theirs.get(name))), _shown(bool(mine.get(name))))
        for name in COMPARED_FIELDS
        if bool(mine.get(name)) != bool(theirs.get(name))
    ]
    if theirs.get("grade") and mine.get("grade"):
        try:
            points = float(mine.get("points", 0))
        except (TypeError, ValueError):
            points = mine.get("points")
        if points != float(theirs.get("points", 0)):
            changes.append(("points", _shown(float(theirs.get("points", 0))), _shown(points)))
    if submitted.get("cell_type") != release.get("cell_type"):
        changes.append(("cell_type", str(release.get("cell_type")), str(submitted.get("cell_type"))))
    return changes


def _kind(release_cell: dict) -> str:
    meta = meta_of(release_cell)
    return "answer" if meta.get("solution") else "test" if meta.get("grade") else "locked"


def notebook_flags(notebook: dict, release: dict) -> list[Flag]:
    """Everything in a submitted notebook's nbgrader structure that differs from the
    release (`release` may be the source notebook: only metadata and locked cells count)."""
    flags: list[Flag] = []
    minor = notebook.get("nbformat_minor")
    if notebook.get("nbformat") == 4 and isinstance(minor, int) and minor < 5:
        # Colab and older editors save 4.0-4.4: worth a note, not a review.
        flags.append(Flag.of("old_format", None, OLD_FORMAT, review=False, minor=minor))
    cells = cells_of(notebook)
    matching = match_cells(cells, release_cells(release))
    if not matching.has_metadata:
        return [*flags, Flag.of("no_metadata", None, NO_METADATA)]
    schema: dict[object, int] = {}
    for release_cell in matching.release:
        grade_id = grade_id_of(release_cell)
        if grade_id not in matching.found:
            flags.append(Flag.of(f"deleted_{_kind(release_cell)}", grade_id, DELETED[_kind(release_cell)]))
            continue
        cell = cells[matching.found[grade_id]]
        if matching.how[grade_id] != "grade_id":
            if grade_id_of(cell):
                flags.append(Flag.of("renamed", grade_id, RENAMED, new=grade_id_of(cell)))
            else:
                flags.append(Flag.of("lost_metadata", grade_id, LOST_METADATA))
        elif changes := _changes(cell, release_cell):
            flags.append(
                Flag(
                    "metadata_changed",
                    grade_id,
                    *(
                        CHANGED.render(
                            lang,
                            cell=grade_id,
                            changes=AND.render(lang).join(
                                CHANGE.render(lang, name=n, old=o, new=s) for n, o, s in changes
                            ),
                        )
                        for lang in ("pt", "en")
                    ),
                )
            )
        if is_locked_check(release_cell) and _normalized(source_of(cell)) != _normalized(source_of(release_cell)):
            flags.append(Flag.of("locked_edited", grade_id, LOCKED_EDITED))
    for cell in cells:
        version = meta_of(cell).get("schema_version", SCHEMA_VERSION) if meta_of(cell) else SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            schema[version] = schema.get(version, 0) + 1
    for version, count in schema.items():
        flags.append(Flag.of("schema_version", None, SCHEMA, count=count, found=version, expected=SCHEMA_VERSION))
    repeats: dict[str, int] = {}
    for grade_id in matching.duplicates.values():
        repeats[grade_id] = repeats.get(grade_id, 1) + 1
    flags += [Flag.of("duplicated", g, DUPLICATED, count=n) for g, n in repeats.items()]
    flags += [Flag.of("unknown_cell", g, UNKNOWN) for g in dict.fromkeys(matching.unknown.values())]
    return flags


def missing_check_cells(notebook: dict, release: dict) -> set[str]:
    """grade_ids of the release's check cells that a notebook carrying nbgrader metadata
    no longer has in any form (a renamed or demoted check cell is still there)."""
    matching = match_cells(cells_of(notebook), release_cells(release))
    if not matching.has_metadata:
        return set()
    return {
        grade_id_of(c) for c in matching.release if meta_of(c).get("grade") and grade_id_of(c) not in matching.found
    }


# --------------------------------------------------------------------------- rebuilding


def _is_copy_of(cell: dict, release_cell: dict) -> bool:
    return is_locked_check(release_cell) and _normalized(source_of(cell)) == _normalized(source_of(release_cell))


_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def _clean(cell: dict, cell_type: str, nbgrader: dict | None) -> dict:
    """A valid nbformat 4.5 cell with this source and metadata (outputs are cleared:
    nbgrader clears them anyway)."""
    metadata = (
        {k: v for k, v in (cell.get("metadata") or {}).items() if k != "nbgrader"}
        if isinstance(cell.get("metadata"), dict)
        else {}
    )
    if nbgrader is not None:
        metadata["nbgrader"] = copy.deepcopy(nbgrader)
    out = {"cell_type": cell_type, "id": cell.get("id"), "metadata": metadata, "source": source_of(cell)}
    if cell_type == "code":
        out.update(execution_count=None, outputs=[])
    return out


def rebuilt(notebook: dict | None, release: dict) -> dict:
    """A notebook nbgrader can autograde: the student's cells in their order, each one
    recognised as a release cell given that cell's nbgrader metadata (locked cells come
    back with the release's text), cells the release lacks or repeats stripped of nbgrader
    metadata (a repeated locked cell dropped), missing release cells put back where the
    release has them, and valid unique cell ids."""
    cells = [c for c in cells_of(notebook) if c.get("cell_type") in ("code", "markdown", "raw")] or cells_of(
        release
    )  # nothing readable: the release as it was handed out
    matching = match_cells(cells, release_cells(release))
    assigned = matching.assigned()
    out: list[dict] = []
    placed: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if index in assigned:
            release_cell = matching.release_cell(assigned[index])
            source = release_cell if is_locked_check(release_cell) else cell
            placed[assigned[index]] = len(out)
            out.append(
                dict(
                    _clean(source, release_cell["cell_type"], meta_of(release_cell)),
                    id=release_cell.get("id") or cell.get("id"),
                )
            )
        elif index in matching.duplicates and _is_copy_of(cell, matching.release_cell(matching.duplicates[index])):
            continue  # a second copy of a locked cell: nothing of the student's is lost
        else:
            out.append(_clean(cell, cell["cell_type"], None))
    order = [grade_id_of(c) for c in matching.release]
    for position, grade_id in enumerate(order):
        if grade_id in placed:
            continue
        before = [placed[g] for g in order[:position] if g in placed]
        after = [placed[g] for g in order[position + 1 :] if g in placed]
        at = max(before) + 1 if before else min(after) if after else len(out)
        release_cell = matching.release_cell(grade_id)
        out.insert(
            at, dict(_clean(release_cell, release_cell["cell_type"], meta_of(release_cell)), id=release_cell.get("id"))
        )
        placed = {g: i + 1 if i >= at else i for g, i in placed.items()}
        placed[grade_id] = at
    used: set[str] = set()
    for cell in sorted(out, key=lambda c: grade_id_of(c) is None):  # release cells keep their ids first
        cell_id, n = cell.get("id"), 0
        while not isinstance(cell_id, str) or not _CELL_ID.match(cell_id) or cell_id in used:
            cell_id, n = f"cell-{n}", n + 1
        cell["id"] = cell_id
        used.add(cell_id)
    return {
        "cells": out,
        "metadata": copy.deepcopy(release.get("metadata", {})),
        "nbformat": 4,
        "nbformat_minor": max(5, release.get("nbformat_minor", 5)),
    }
