"""The grading side's last line of defence: reference lines and bytecode listings are cut
from what a student sees, the student's own code never is."""

import dis
import io

from grader.redaction import REDACTED, redact_results, redact_text, secret_lines

REFERENCE = 'def step(z):\n    """Degrau."""\n    z = torch.as_tensor(z)\n    return (z >= 0).to(z.dtype)\n'


def test_reference_lines_the_student_did_not_write_are_cut():
    secret = secret_lines([REFERENCE], own_code="def step(z):\n    return torch.where(z >= 0, 1.0, 0.0)\n")
    text = redact_text("ValueError: z = torch.as_tensor(z) / return (z >= 0).to(z.dtype)", secret, "pt")
    assert "as_tensor" not in text and "z.dtype" not in text and REDACTED.pt in text


def test_the_students_own_matching_line_is_kept():
    own = "def step(z):\n    z = torch.as_tensor(z)\n    return z > 0\n"
    secret = secret_lines([REFERENCE], own_code=own)
    assert redact_text("erro na linha: z = torch.as_tensor(z)", secret, "pt") == "erro na linha: z = torch.as_tensor(z)"


def test_short_lines_are_common_to_any_solution():
    assert secret_lines(["def f(x):\n    return x\n"], own_code="") == []


def test_a_disassembly_is_cut_in_the_language_asked():
    out = io.StringIO()
    dis.dis(compile(REFERENCE, "<r>", "exec"), file=out)
    text = redact_text("LEAK:\n" + out.getvalue(), [], "en")
    assert (
        not any(n in text for n in ("LOAD_", "STORE_", "RESUME", "RETURN"))
        and REDACTED.en in text
        and text.startswith("LEAK:")
    )


def test_results_outputs_are_redacted_and_scores_untouched():
    results = {
        "score": 1,
        "output": "cell 2: z = torch.as_tensor(z)",
        "tests": [{"score": 1, "output": "return (z >= 0).to(z.dtype)"}],
    }
    redact_results(results, secret_lines([REFERENCE], own_code=""), "pt")
    assert (
        results["score"] == 1 and "as_tensor" not in results["output"] and "dtype" not in results["tests"][0]["output"]
    )


def test_what_every_student_is_shown_is_never_cut():
    """A hint may quote a line the reference also has (`z.backward()`): it is public."""
    from grader.redaction import public_text

    reference = "def graph_gradients(a, b, c, d):\n    z.backward()\n"
    assert "z.backward()" in public_text("02_tensors")
    # the signature is the released starter code, the other line a hint's: nothing to hide
    assert secret_lines([reference], own_code="", public=public_text("02_tensors")) == []
    assert secret_lines(
        [reference + "    return tuple(g.item() for g in grads_x)\n"], own_code="", public=public_text("02_tensors")
    ) == ["return tuple(g.item() for g in grads_x)"]
