"""``python -m percl check``, run as a real subprocess on files in a temporary directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
URL = "https://voice.example.com/step"

VALID_DOCUMENT = [
    {"Say": {"text": "Leave a message after the beep.", "language": "en-US"}},
    {"RecordUtterance": {"actionUrl": URL, "finishOnKey": "#", "playBeep": True}},
]
FAULTY_DOCUMENT = [
    {"Say": {"text": "Hello"}},
    {"Pause": {"length": -5}},
    {"SendDigits": {"digits": "1", "pauseMs": 1001}},
    {"Sya": {"text": "typo"}},
    {"Redirect": {"actionUrl": "/relative"}},
]


def run_check(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m percl check ARGS`` from the project root and return what it did."""
    result = subprocess.run(
        [sys.executable, "-m", "percl", "check", *args],
        cwd=ROOT, input=stdin, capture_output=True, timeout=60, check=False,
    )
    completed = subprocess.CompletedProcess(
        result.args, result.returncode,
        result.stdout.decode("utf-8"), result.stderr.decode("utf-8"),
    )
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stderr
    return completed


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    """Write ``content`` to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_valid_file_prints_ok_and_exits_0(tmp_path: Path) -> None:
    """A valid PerCL file prints one OK line naming the file and exits 0."""
    path = write(tmp_path, "greeting.json", json.dumps(VALID_DOCUMENT))
    result = run_check(str(path))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{path}: OK (2 commands)"]
    assert result.stderr == ""


def test_file_with_several_problems_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    """A file with several problems prints one line per problem naming file, location, command, attribute and value."""
    path = write(tmp_path, "faulty.json", json.dumps(FAULTY_DOCUMENT, indent=2))
    result = run_check(str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stdout
    assert all(line.startswith(f"{path}: script[") for line in lines)
    expected = [
        ("script[1] Pause.length:", "(got -5)"),
        ("script[2] SendDigits.pauseMs:", "(got 1001)"),
        ("script[3]:", "'Sya'"),
        ("script[4] Redirect.actionUrl:", "(got '/relative')"),
    ]
    for line, (where, value) in zip(lines, expected):
        assert where in line and value in line, line
    assert "OK" not in result.stdout


def test_problem_line_names_a_nested_prompt_by_its_location(tmp_path: Path) -> None:
    """A problem inside GetDigits prompts is reported at script[i].prompts[j] with camelCase names."""
    document = [{"GetDigits": {"actionUrl": URL, "prompts": [{"Say": {"text": "Hi"}},
                                                             {"Play": {"file": "menu.wav"}}]}}]
    path = write(tmp_path, "menu.json", json.dumps(document))
    result = run_check(str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: script[0].prompts[1] Play.file: must be an absolute http or https URL or a FreeClimb /Accounts/... path (got 'menu.wav')"
    ]


def test_dash_reads_a_valid_document_from_stdin() -> None:
    """'-' reads the document from standard input and reports it as <stdin>."""
    result = run_check("-", stdin=json.dumps(VALID_DOCUMENT).encode("utf-8"))
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["<stdin>: OK (2 commands)"]


def test_dash_reads_a_faulty_document_from_stdin() -> None:
    """'-' reports the problems of a document on standard input and exits 1."""
    result = run_check("-", stdin=json.dumps(FAULTY_DOCUMENT).encode("utf-8"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("<stdin>: script[") for line in lines)


def test_missing_file_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """A file that does not exist exits 2 with a message naming it, and no traceback."""
    path = tmp_path / "absent.json"
    result = run_check(str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}: cannot read: No such file or directory"]


def test_directory_given_as_file_exits_2(tmp_path: Path) -> None:
    """A directory given as FILE cannot be read: exit 2 with a message naming it."""
    result = run_check(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{tmp_path}: cannot read:")


def test_missing_file_among_others_still_checks_the_rest_and_exits_2(tmp_path: Path) -> None:
    """With a missing file among several, the others are still checked and the exit status is 2."""
    good = write(tmp_path, "good.json", json.dumps(VALID_DOCUMENT))
    bad = write(tmp_path, "bad.json", json.dumps(FAULTY_DOCUMENT))
    result = run_check(str(good), str(tmp_path / "absent.json"), str(bad))
    assert result.returncode == 2
    assert f"{good}: OK (2 commands)" in result.stdout.splitlines()
    assert sum(line.startswith(f"{bad}: ") for line in result.stdout.splitlines()) == 4
    assert "absent.json: cannot read" in result.stderr


def test_one_faulty_file_among_valid_ones_exits_1(tmp_path: Path) -> None:
    """Several files are each reported; any problem makes the exit status 1."""
    good = write(tmp_path, "good.json", json.dumps(VALID_DOCUMENT))
    bad = write(tmp_path, "bad.json", json.dumps([{"Pause": {"length": "500"}}]))
    result = run_check(str(good), str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{good}: OK (2 commands)",
        f"{bad}: script[0] Pause.length: must be an integer, not str (got '500')",
    ]


def test_invalid_json_exits_1_with_line_and_column(tmp_path: Path) -> None:
    """A file that is not valid JSON exits 1 with a message giving the line and column."""
    path = write(tmp_path, "broken.json", '[{"Say": {"text": "Hi"}},\n {"Pause" {}}]')
    result = run_check(str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: not valid JSON: Expecting ':' delimiter at line 2 column 11"
    ]


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "not valid JSON"),
    (b"   \n", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b'[{"Say": {"text": "\xe9"}}]', "UTF-8"),
    (b'[{"Say": {"text": "a", "text": "b"}}]', "appears twice"),
    (b'[{"Pause": {"length": NaN}}]', "NaN"),
    (b'[{"Pause": {"length": -Infinity}}]', "Infinity"),
    (b'{"Say": {"text": "Hi"}}', "JSON array"),
    (b"null", "JSON array"),
    (b'"[]"', "JSON array"),
    (b"[{}]", "exactly one key"),
    (b'[{"Say": {"text": "Hi"}, "Hangup": {}}]', "exactly one key"),
    (b'[{"Say": null}]', "must be an object"),
    (b'[{"Say": {"text": null}}]', "null"),
    (b'[{"Say": {"text": 1e400}}]', "Say.text"),
    (b'[{"Pause": {"length": -123456789012345678901234567890}}]', "Pause.length"),
    (b"[" * 200 + b"]" * 200, "exactly one key"),
    (b'[{"Redirect": {"actionUrl": "https://x.example"}}, {"Hangup": {}}]', "terminal"),
    (b'[{"Say": {"text": "Hi"}}, {"PlayEarlyMedia": {"file": "https://x.example/a.wav"}}]', "first"),
    (b'[{"Say": {"text": "Hi"}}, {"Pause": {"length": "\xe2\x82\xac"}}]', "Pause.length"),
], ids=["empty", "blank", "utf16-garbage", "latin1", "duplicate-key", "nan", "infinity", "object",
        "null", "string", "zero-keys", "two-keys", "null-attributes", "null-value", "huge-float",
        "huge-negative-int", "nested-arrays", "after-terminal", "early-media", "euro-as-length"])
def test_any_bad_document_exits_1_with_a_message_and_no_traceback(tmp_path: Path, content: bytes,
                                                                  expected: str) -> None:
    """Whatever is wrong with a document, the CLI exits 1 with a one-line reason and never a traceback."""
    path = write(tmp_path, "doc.json", content)
    result = run_check(str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(f"{path}: ") for line in lines)
    assert expected in result.stdout


def test_empty_array_is_a_valid_document(tmp_path: Path) -> None:
    """An empty PerCL array is valid: OK with 0 commands, exit 0."""
    path = write(tmp_path, "empty.json", "[]")
    result = run_check(str(path))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{path}: OK (0 commands)"]


def test_non_ascii_text_is_accepted_and_reported(tmp_path: Path) -> None:
    """A document with non-ASCII text is read as UTF-8, and a problem quoting it is printed intact."""
    good = write(tmp_path, "good.json", json.dumps([{"Say": {"text": "Grüß Gott 😀", "language": "de-DE"}}],
                                                   ensure_ascii=False))
    bad = write(tmp_path, "bad.json", json.dumps([{"Say": {"text": "Grüß Gott", "language": "Deutsch-ß"}}],
                                                  ensure_ascii=False))
    result = run_check(str(good), str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{good}: OK (1 command)",
        f"{bad}: script[0] Say.language: must be one of "
        "ca-ES, da-DK, de-DE, en-AU, en-CA, en-GB, en-IN, en-US, es-ES, es-MX, fi-FI, fr-CA, fr-FR, "
        "it-IT, ja-JP, ko-KR, nb-NO, nl-NL, pl-PL, pt-BR, pt-PT, ru-RU, sv-SE, zh-CN, zh-HK, zh-TW "
        "(got 'Deutsch-ß')",
    ]


@pytest.mark.parametrize("argv", [[], ["--bogus"]], ids=["no-file", "unknown-option"])
def test_bad_command_line_exits_2_with_usage(argv: list[str]) -> None:
    """A check without FILE, or with an unknown option, exits 2 with a usage message."""
    result = run_check(*argv)
    assert result.returncode == 2
    assert "usage:" in result.stderr
