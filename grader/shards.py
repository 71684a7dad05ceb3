"""Grading without a distributed engine: shards and their merge.

`grader grade ... --shard K/N` grades the K-th of N deterministic slices of the
submissions (a submission's slice comes from a hash of its name, so every shard, given the
same list, agrees on who grades what, whatever the machine); `grader merge DIR... --out
OUT` combines the shards' results into one folder and one gradebook. That is the recipe for
a Slurm job array or a Kubernetes Indexed Job (README): no Python bindings, no scheduler.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader.i18n import LocalizedError, Text


class ShardError(LocalizedError):
    """A shard specification or a merge that cannot be right."""


BAD_SHARD = Text(
    pt="--shard espera K/N com 0 <= K < N (por exemplo 0/4), não `{given}`.",
    en="--shard expects K/N with 0 <= K < N (for example 0/4), not `{given}`.",
)
CONFLICT = Text(
    pt="`{name}` aparece em {first} e em {second} com notas diferentes ({a} e {b}): os shards não são da mesma entrega.",
    en="`{name}` is in {first} and in {second} with different scores ({a} and {b}): the shards are not of one batch.",
)
NOTHING = Text(pt="Nenhum resultado em {dirs}.", en="No results in {dirs}.")


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ShardError(BAD_SHARD, given=text) from None
    if not 0 <= index < count:
        raise ShardError(BAD_SHARD, given=text)
    return index, count


def shard_of(name: str, count: int) -> int:
    """The slice a submission belongs to: stable across machines, runs and Python versions."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % count


def merge(folders: list[Path], out: Path) -> list[dict]:
    """Every shard's results.json files, written once into `out` (sorted by name), with their
    ledger lines. A name in two shards must carry the same grade, except that a grader
    failure gives way to a grade."""
    from grader import ledger
    from grader.results import write_json_atomic

    chosen: dict[str, tuple[Path, dict]] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")):
            result = json.loads(path.read_text(encoding="utf-8"))
            name = result["extra_data"]["submission"]
            if name not in chosen or chosen[name][1]["extra_data"].get("grader_error"):
                chosen[name] = (path, result)
            elif not result["extra_data"].get("grader_error") and result["score"] != chosen[name][1]["score"]:
                raise ShardError(
                    CONFLICT,
                    name=name,
                    first=chosen[name][0].parent,
                    second=folder,
                    a=chosen[name][1]["score"],
                    b=result["score"],
                )
    if not chosen:
        raise ShardError(NOTHING, dirs=", ".join(str(f) for f in folders))
    results = [chosen[name][1] for name in sorted(chosen)]
    lines = {folder: ledger.read(folder) for folder in {path.parent for path, _ in chosen.values()}}
    for name in sorted(chosen):
        path, result = chosen[name]
        write_json_atomic(out / f"{name}.json", result)
        if name in lines[path.parent]:
            ledger.append(out, lines[path.parent][name])
    return results
