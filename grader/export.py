"""`python -m grader export ASSIGNMENT --target gradescope|prairielearn`: the same graders,
packed for a grading platform.

Both targets carry one payload, installed by the same `setup.sh`:

    setup.sh               install: a virtualenv with torch's CPU build, the package's
                           runtime dependencies and the package itself, from the wheel below
    grader_export.json     the assignment, language, sandbox, hidden tests' visibility, limits
    grader_secret          the course secret, for an assignment with per-student numbers
                           (`grader.personal`), when GRADER_SECRET is set at export
    wheels/grader-*.whl    this checkout's package (graders, hidden ones included: the payload
                           is for the platform, never for students)
    course/source/<id>/    the source notebook (the references and the points)
    course/exercises/<id>/ the released notebook (what a student may see)

Gradescope: a zip of that plus `run_autograder`. PrairieLearn: a folder with that plus a
`Dockerfile`, the `run_prairielearn` entrypoint and the question's `info.json` snippet.
Nothing is downloaded when a submission is graded; `solutions/` never travels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.course import course_root, module_name
from grader.platforms import CONFIG_NAME, SANDBOXES, VISIBILITIES

TARGETS = ("gradescope", "prairielearn")
TORCH_VERSION = "2.13.0"  # the course's pin (README, "The two commands")
VENV = "/opt/grader-venv"  # outside the payload, which is locked away from student processes

SETUP_SH = r"""#!/usr/bin/env bash
# Installs the grader once, as root, when the platform builds its image (Gradescope runs it
# from /autograder/source; the PrairieLearn Dockerfile runs it from /grader).
#   GRADER_VENV       where the virtualenv goes (default: {venv})
#   GRADER_WHEELHOUSE a folder of wheels: install from it and nothing else (no network),
#                     into a virtualenv that also sees the system's site-packages; tests use it
#   GRADER_PYTHON     the interpreter to build the virtualenv from (default: python3)
set -euo pipefail
HERE="$(cd "${{BASH_SOURCE[0]%/*}}" && pwd)"  # no dirname: PATH may hold only the virtualenv
VENV="${{GRADER_VENV:-{venv}}}"
PYTHON="${{GRADER_PYTHON:-python3}}"
WHEEL=("$HERE"/wheels/grader-*.whl)
# Runtime dependencies only: nbgrader (the course front end) is not needed to grade.
DEPS=(numpy scikit-learn "pytest>=8.4" nbformat)

if [ -n "${{GRADER_WHEELHOUSE:-}}" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
    # GRADER_PYTHON may itself be a virtualenv's (a checkout's .venv), whose packages a new
    # virtualenv does not see: a .pth makes them visible, after the new one's own.
    "$PYTHON" -c "import site; print('\\n'.join(site.getsitepackages()))" \
        >"$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/grader-base.pth"
    PIP=("$VENV/bin/python" -m pip install --quiet --no-compile --no-index --find-links "$GRADER_WHEELHOUSE")
else
    if command -v apt-get >/dev/null; then
        apt-get update -qq
        # bubblewrap: used where the container allows user namespaces (--sandbox auto)
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip bubblewrap
    fi
    "$PYTHON" -m venv "$VENV"
    PIP=("$VENV/bin/python" -m pip install --quiet --no-compile)
    # torch's CPU build: the default wheel on Linux is a CUDA build of several GB
    "${{PIP[@]}}" --index-url "${{GRADER_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}}" "torch=={torch}"
fi
"${{PIP[@]}}" "${{DEPS[@]}}"
# --ignore-installed: the wheel goes into this virtualenv whatever another one has
"${{PIP[@]}}" --no-deps --ignore-installed "${{WHEEL[@]}}"
(cd / && "$VENV/bin/python" -c "import grader.platforms, torch; print('grader installed:', grader.__file__, 'torch', torch.__version__)")
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, in a fresh container: it reads the upload in
# $ROOT/submission and writes $ROOT/results/results.json. GRADER_AUTOGRADER_ROOT stands for
# /autograder in tests.
ROOT="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
export PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"  # `python -m` imports from the working folder first: never a stray grader/ there
exec "${{GRADER_VENV:-{venv}}}/bin/python" -m grader.platforms gradescope --root "$ROOT" --config "$ROOT/source/{config}"
"""

RUN_PRAIRIELEARN = r"""#!/usr/bin/env bash
# PrairieLearn's external grader runs this once per submission: it reads $ROOT/student and
# $ROOT/data/data.json and writes $ROOT/results/results.json. GRADER_PL_ROOT stands for /grade
# in tests.
ROOT="${{GRADER_PL_ROOT:-/grade}}"
HERE="$(cd "${{BASH_SOURCE[0]%/*}}" && pwd)"  # no dirname: PATH may hold only the virtualenv
export PYTHONDONTWRITEBYTECODE=1
cd "$ROOT"  # `python -m` imports from the working folder first: never a stray grader/ there
exec "${{GRADER_VENV:-{venv}}}/bin/python" -m grader.platforms prairielearn --root "$ROOT" --config "$HERE/{config}"
"""

DOCKERFILE = """# The external grader image for {assignment}: build and push it, then name it in info.json.
#   docker build -t YOUR_REGISTRY/grader-{assignment} . && docker push YOUR_REGISTRY/grader-{assignment}
FROM python:3.11-slim
COPY . /grader
RUN chmod +x /grader/setup.sh /grader/run_prairielearn && GRADER_PYTHON=python3 /grader/setup.sh
"""

EXPORT_README = """# {assignment} for {target}

Built by `python -m grader export {assignment} --target {target}` (grader {version}).
See the README of the grader, section "{section}", for how to upload it and which settings
to choose. Sandbox: `{sandbox}`; hidden tests' visibility on Gradescope: `{visibility}`.
"""


def info_json(assignment_id: str, timeout: int) -> dict:
    """The question's info.json part that points PrairieLearn at the image."""
    return {
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": f"YOUR_REGISTRY/grader-{assignment_id}",
            "entrypoint": "/grader/run_prairielearn",
            "timeout": timeout,
            "enableNetworking": False,
        },
    }


def build_wheel(root: Path, folder: Path) -> Path:
    """This checkout's package as a wheel: built from a scratch copy (pyproject.toml, README.md,
    grader/), so nothing stale from an earlier build/ folder gets in, with no dependencies and
    without build isolation (setuptools from this environment: nothing is downloaded)."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(root / "grader", tree / "grader", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, tree / name)
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
        command += ["--wheel-dir", str(folder), str(tree)]
        subprocess.run(command, check=True, cwd=scratch, env={**os.environ, "TMPDIR": scratch})
    wheels = sorted(folder.glob("grader-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one grader wheel in {folder}, found {wheels}")
    return wheels[0]


def write_payload(
    assignment_id: str,
    folder: Path,
    *,
    lang: str,
    sandbox: str,
    visibility: str,
    limits: dict,
    root: Path | None = None,
) -> None:
    """The part both targets share (see the module's docstring)."""
    root = root or course_root()
    module_name(assignment_id)  # validates the id
    for kind in ("source", "exercises"):
        notebook = root / kind / assignment_id / f"{assignment_id}.ipynb"
        (folder / "course" / kind / assignment_id).mkdir(parents=True)
        shutil.copy(notebook, folder / "course" / kind / assignment_id / notebook.name)
    build_wheel(root, folder / "wheels")
    config = {"assignment": assignment_id, "lang": lang, "sandbox": sandbox, "hidden_visibility": visibility}
    config.update(write_secret(assignment_id, folder, root))
    (folder / CONFIG_NAME).write_text(json.dumps({**config, "limits": limits}, indent=2) + "\n", encoding="utf-8")
    _script(folder / "setup.sh", SETUP_SH.format(venv=VENV, torch=TORCH_VERSION))


def write_secret(assignment_id: str, folder: Path, root: Path) -> dict:
    """An assignment with per-student numbers (grader.personal) needs the course secret where
    it is graded: the payload's SECRET_NAME, owner-only, locked away from student processes
    with the rest of the payload. Returns the config entries it adds (the version count)."""
    from grader import personal
    from grader.platforms import SECRET_NAME

    config = personal.settings(root)
    if not personal.declared(assignment_id) or config.secret is None:
        return {}
    path = folder / SECRET_NAME
    path.touch(mode=0o600)
    path.write_bytes(config.secret)
    return {"versions": config.versions} if config.versions else {}


def _script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def export(
    assignment_id: str,
    target: str,
    out: Path,
    *,
    lang: str = "pt",
    sandbox: str = "auto",
    visibility: str = "after_published",
    limits: dict | None = None,
    root: Path | None = None,
) -> Path:
    """Write the export for `target` under `out`; return the zip (Gradescope) or folder (PrairieLearn)."""
    from importlib.metadata import version

    if target not in TARGETS or sandbox not in SANDBOXES or visibility not in VISIBILITIES:
        raise ValueError(f"target {target!r}, sandbox {sandbox!r}, visibility {visibility!r}")
    limits = limits or {}
    out.mkdir(parents=True, exist_ok=True)
    readme = EXPORT_README.format(
        assignment=assignment_id,
        target=target,
        version=version("grader"),
        section="Gradescope" if target == "gradescope" else "PrairieLearn",
        sandbox=sandbox,
        visibility=visibility,
    )
    if target == "prairielearn":
        folder = out / f"{assignment_id}-prairielearn"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        write_payload(
            assignment_id, folder, lang=lang, sandbox=sandbox, visibility=visibility, limits=limits, root=root
        )
        _script(folder / "run_prairielearn", RUN_PRAIRIELEARN.format(venv=VENV, config=CONFIG_NAME))
        (folder / "Dockerfile").write_text(DOCKERFILE.format(assignment=assignment_id), encoding="utf-8")
        # PrairieLearn's own limit is 600 s; leave the grader's submission limit room inside it
        timeout = min(600, int(limits.get("submission_seconds", 480)) + 60)
        (folder / "info.json.snippet").write_text(
            json.dumps(info_json(assignment_id, timeout), indent=2) + "\n", encoding="utf-8"
        )
        (folder / "README.md").write_text(readme, encoding="utf-8")
        return folder
    archive = out / f"{assignment_id}-gradescope.zip"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_payload(
            assignment_id, folder, lang=lang, sandbox=sandbox, visibility=visibility, limits=limits, root=root
        )
        _script(folder / "run_autograder", RUN_AUTOGRADER.format(venv=VENV, config=CONFIG_NAME))
        (folder / "README.md").write_text(readme, encoding="utf-8")
        partial = archive.with_suffix(".zip.tmp")
        # setup.sh and run_autograder at the zip's root, as Gradescope requires; modes kept
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(folder)))
                    info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
        partial.replace(archive)
    return archive
