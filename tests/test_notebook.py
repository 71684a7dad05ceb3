"""Reading submissions: every nbformat 4.x, v3, `# %%` scripts, magics, and broken files."""

import json

import pytest

from grader.notebook import SubmissionError, read_submission, to_python


def write_nb(path, cells, **top):
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 0, **top}
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def code(source, **extra):
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source, **extra}


def test_reads_code_cells_in_order_any_minor_version(tmp_path):
    cells = [code(["a = 1\n", "b = 2"]), {"cell_type": "markdown", "metadata": {}, "source": "# t"}, code("c = 3")]
    for minor in (0, 4, 5):
        sub = read_submission(write_nb(tmp_path / f"n{minor}.ipynb", cells, nbformat_minor=minor))
        assert sub.cells == ["a = 1\nb = 2", "c = 3"]


def test_duplicated_and_missing_cell_ids_are_fine(tmp_path):
    cells = [code("a = 1", id="same"), code("b = 2", id="same"), code("c = 3")]
    assert len(read_submission(write_nb(tmp_path / "d.ipynb", cells, nbformat_minor=5)).cells) == 3


def test_nbformat_v3_worksheets(tmp_path):
    path = tmp_path / "v3.ipynb"
    path.write_text(
        json.dumps(
            {"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": ["x = 1"], "outputs": []}]}]}
        ),
        encoding="utf-8",
    )
    assert read_submission(path).cells == ["x = 1"]


def test_py_percent_cells(tmp_path):
    path = tmp_path / "sub.py"
    path.write_text("import torch\n# %%\ndef f():\n    return 1\n\n# %% [markdown]\n# texto\n", encoding="utf-8")
    assert read_submission(path).cells == ["import torch", "def f():\n    return 1", "# texto"]


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%matplotlib inline\nx = 1", "pass  # %matplotlib inline\nx = 1"),
        ("!pip install torch\ny = 2", "pass  # !pip install torch\ny = 2"),
        ("files = !ls\n", "pass  # files = !ls\n"),
        ("%%time\nz = 3", "\nz = 3"),
        ("%%bash\necho hi", "# %%bash\n# echo hi"),
        ("if True:\n    %time f()\n", "if True:\n    pass  # %time f()\n"),
        ("torch.zeros?", "pass"),
        ("a = b % c\nd = e != f", "a = b % c\nd = e != f"),
    ],
)
def test_magics_become_plain_python(source, expected):
    assert to_python(source) == expected
    compile(to_python(source), "<cell>", "exec")


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b'{"cells": [', "JSON"),
        (b"", "vazio"),
        (b"[1, 2, 3]", "estrutura"),
        (b'{"nbformat": 4}', "estrutura"),
    ],
)
def test_broken_notebooks_get_clear_messages(tmp_path, content, fragment):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError) as info:
        read_submission(path)
    assert fragment in info.value.render("pt")


def test_wrong_kind_and_oversized_files(tmp_path):
    with pytest.raises(SubmissionError):
        read_submission(tmp_path / "x.txt")
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as handle:
        handle.truncate(30 * 1024 * 1024)
    with pytest.raises(SubmissionError) as info:
        read_submission(big)
    assert "MB" in info.value.render()


def test_non_utf8_is_read_with_a_warning(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes("nome = 'João'\n".encode("latin-1"))
    sub = read_submission(path)
    assert sub.cells == ["nome = 'João'"] and sub.warnings
