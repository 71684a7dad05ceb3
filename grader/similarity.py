"""Which submissions look copied from which: winnowed fingerprints of the students' code.

copydetect (MOSS's winnowing over pygments tokens) fingerprints each submission's code
cells, joined: identifiers become `V`/`F`/`O` and strings `S`, whitespace and comments go,
so renamed variables and reformatted code still match, and a fingerprint is a set member,
so reordered functions match too. Removed from every submission:
- the released notebook's code (boilerplate: the starter code and the check cells are
  everyone's), and
- fingerprints present in more than `common` submissions (as MOSS's `-m`): the one obvious
  way to write `1 / (1 + torch.exp(-z))` is not evidence of copying.
An inverted index (fingerprint -> submissions) then yields only the pairs that share a
fingerprint; each is scored by copydetect's `compare_files` (share of each side's code
covered by shared fingerprints) and the top ones are written to similarity.html (matching
regions highlighted side by side) and similarity.csv (every scored pair).

What it cannot see: a solution re-derived independently, or rewritten with a different
structure (another loop, another formula), scores low however it was obtained; very short
answers (a threshold constant) have no fingerprint of their own.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from grader.i18n import Text
from grader.results import write_text_atomic

NOISE = 25  # k: characters of filtered code per fingerprint (copydetect's default noise threshold)
GUARANTEE = 30  # a match this long is always found (window = GUARANTEE - NOISE + 1)
TOP_PAIRS = 50  # pairs shown in the HTML page


@dataclass
class Document:
    name: str
    code: str
    fingerprint: object  # copydetect.CodeFingerprint


@dataclass
class Pair:
    a: str
    b: str
    similarity: float  # the mean of the two sides' shares
    share_a: float  # share of a's code (tokens, beyond boilerplate) found in b
    share_b: float
    shared: int  # fingerprints in common
    slices_a: list[tuple[int, int]]  # the matching regions, as character ranges of each side's code
    slices_b: list[tuple[int, int]]


def code_of(path: Path) -> str:
    """A submission's code cells, joined, as the engine reads them (magics neutralised)."""
    from grader.notebook import read_submission

    return "\n\n".join(read_submission(path).cells)


def fingerprint(code: str, boilerplate=None):
    from copydetect import CodeFingerprint

    # fp= : the code is in memory; the file name only picks the Python lexer.
    return CodeFingerprint("submission.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate, fp=io.StringIO(code))


def boilerplate_hashes(release_code: str):
    import numpy as np

    return np.array(sorted(fingerprint(release_code).hashes))


def drop_hashes(document: Document, hashes: set) -> None:
    """Take fingerprints out of a document after the fact (the common ones are known only
    once every submission is fingerprinted); its token coverage follows."""
    from copydetect.utils import get_token_coverage

    fp = document.fingerprint
    removed = fp.hashes & hashes
    if removed:
        fp.hashes -= removed
        for h in removed:
            fp.hash_idx.pop(h, None)
        fp.token_coverage = get_token_coverage(fp.hash_idx, fp.k, len(fp.filtered_code))


def candidate_pairs(documents: list[Document], common: int) -> tuple[Counter, set]:
    """(pair of indices -> fingerprints shared) from an inverted index, and the hashes too
    common to count. Cost: the sum over fingerprints of (submissions holding it)², each at
    most `common`², instead of every pair of submissions."""
    index: dict[int, list[int]] = {}
    for i, document in enumerate(documents):
        for h in document.fingerprint.hashes:
            index.setdefault(h, []).append(i)
    too_common = {h for h, holders in index.items() if len(holders) > common}
    shared: Counter = Counter()
    for h, holders in index.items():
        if h not in too_common:
            shared.update(combinations(holders, 2))
    return shared, too_common


def compare(a: Document, b: Document) -> Pair:
    from copydetect import compare_files

    _, (share_a, share_b), (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    shared = len(a.fingerprint.hashes & b.fingerprint.hashes)

    def ranges(slices) -> list[tuple[int, int]]:
        return [(int(s), int(e)) for s, e in zip(*slices)] if len(slices) and len(slices[0]) else []

    return Pair(
        a.name,
        b.name,
        (float(share_a) + float(share_b)) / 2,
        float(share_a),
        float(share_b),
        shared,
        ranges(slices_a),
        ranges(slices_b),
    )


def default_common(n: int) -> int:
    """More than this many submissions holding a fingerprint makes it common: a tenth of the
    class, and never fewer than 5 (a small batch would otherwise lose its real matches)."""
    return max(5, n // 10)


def similarity_pairs(
    codes: dict[str, str], release_code: str, *, common: int | None = None, min_shared: int = 1
) -> list[Pair]:
    """Every pair of submissions sharing at least `min_shared` fingerprints beyond the
    release's and the common ones, most similar first."""
    boilerplate = boilerplate_hashes(release_code)
    documents = [Document(name, code, fingerprint(code, boilerplate)) for name, code in codes.items()]
    shared, too_common = candidate_pairs(documents, default_common(len(documents)) if common is None else common)
    for document in documents:
        drop_hashes(document, too_common)
    pairs = [compare(documents[i], documents[j]) for (i, j), n in shared.items() if n >= min_shared]
    return sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b))


def self_similarity(code: str, release_code: str) -> float:
    """A submission against itself, the release removed: 0 when nothing is the student's own."""
    boilerplate = boilerplate_hashes(release_code)
    document = Document("x", code, fingerprint(code, boilerplate))
    return compare(document, document).similarity if document.fingerprint.hashes else 0.0


# --------------------------------------------------------------------------- output

LABELS = {
    "title": Text(pt="Semelhança entre entregas", en="Similarity between submissions"),
    "limits": Text(
        pt="Compara impressões digitais (winnowing, copydetect) do código das células, sem o código do notebook "
        "liberado e sem trechos presentes em mais de {common} entregas. Pega variáveis renomeadas, funções "
        "reordenadas e formatação diferente; não pega uma solução refeita com outra estrutura, nem respostas "
        "curtas demais (uma constante). Semelhança alta é um indício para um humano examinar, não uma prova.",
        en="Compares fingerprints (winnowing, copydetect) of the code cells, without the released notebook's code "
        "and without passages found in more than {common} submissions. Catches renamed variables, reordered "
        "functions and different formatting; does not catch a solution re-derived with another structure, nor "
        "answers too short to fingerprint (a constant). High similarity is a lead for a human, not a proof.",
    ),
    "pairs": Text(
        pt="{n} par(es) com trechos em comum; os {top} mais semelhantes:",
        en="{n} pair(s) share code; the {top} most similar:",
    ),
    "none": Text(
        pt="Nenhum par de entregas tem código em comum além do notebook liberado.",
        en="No two submissions share code beyond the released notebook.",
    ),
    "similarity": Text(pt="Semelhança", en="Similarity"),
    "share": Text(pt="do código de {name}", en="of {name}'s code"),
    "shared": Text(pt="impressões em comum", en="shared fingerprints"),
    "submissions": Text(pt="{n} entregas, atividade {assignment}", en="{n} submissions, assignment {assignment}"),
}


def highlighted(code: str, slices: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The code cut into (text, matching) runs, for the template to escape and mark."""
    runs, at = [], 0
    for start, end in sorted(slices):
        start, end = max(start, at), min(end, len(code))
        if start > at:
            runs.append((code[at:start], False))
        if end > start:
            runs.append((code[start:end], True))
            at = end
    runs.append((code[at:], False))
    return runs


def write_outputs(
    out: Path, pairs: list[Pair], codes: dict[str, str], assignment: str, common: int, lang: str = "pt"
) -> tuple[Path, Path]:
    from jinja2 import Environment, PackageLoader, select_autoescape

    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "similarity", "share_a", "share_b", "shared_fingerprints"])
    for p in pairs:
        writer.writerow([p.a, p.b, f"{p.similarity:.4f}", f"{p.share_a:.4f}", f"{p.share_b:.4f}", p.shared])
    csv_path = out / "similarity.csv"
    write_text_atomic(csv_path, buffer.getvalue())

    top = pairs[:TOP_PAIRS]
    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("similarity.html.j2").render(
        lang=lang,
        t={k: v.render(lang) for k, v in LABELS.items() if k not in ("limits", "pairs", "share", "submissions")},
        limits=LABELS["limits"].render(lang, common=common),
        heading=LABELS["pairs"].render(lang, n=len(pairs), top=len(top)),
        summary=LABELS["submissions"].render(lang, n=len(codes), assignment=assignment),
        share=lambda name: LABELS["share"].render(lang, name=name),
        pairs=[(p, highlighted(codes[p.a], p.slices_a), highlighted(codes[p.b], p.slices_b)) for p in top],
    )
    html_path = out / "similarity.html"
    write_text_atomic(html_path, html)
    return html_path, csv_path


def run_similarity(
    paths: list[Path], assignment: str, out: Path, *, lang: str = "pt", course_root: Path | None = None
) -> tuple[list[Pair], Path, Path]:
    """The `similarity` command: read, fingerprint, pair, write. Unreadable files are left out."""
    from grader.course import course_root as default_root
    from grader.grading import submission_names
    from grader.notebook import SubmissionError

    release = (course_root or default_root()) / "exercises" / assignment / f"{assignment}.ipynb"
    release_code = code_of(release)
    names = submission_names(paths)
    codes = {}
    for path in paths:
        try:
            codes[names[path]] = code_of(path)
        except (SubmissionError, OSError):
            continue  # `grade` reports it; there is no code to compare
    common = default_common(len(codes))
    pairs = similarity_pairs(codes, release_code, common=common)
    html, csv_path = write_outputs(out, pairs, codes, assignment, common, lang)
    return pairs, html, csv_path
