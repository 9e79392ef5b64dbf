"""``python -m percl check FILE [FILE ...]``: say what is wrong with PerCL documents.

``-`` reads standard input. Exit status: 0 when every document is valid, 1 when any has a
problem, 2 when a file cannot be read or the command line is wrong.
"""

from __future__ import annotations

import argparse
import sys

from percl.errors import PerclError
from percl.script import check, decode_json


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as handle:
        return handle.read()


def check_documents(names: list[str], out=sys.stdout, err=sys.stderr) -> int:
    status = 0
    for name in names:
        shown = "<stdin>" if name == "-" else name
        try:
            raw = _read(name)
        except OSError as exc:
            print(f"{shown}: cannot read: {exc.strerror}", file=err)
            status = 2
            continue
        try:
            document = decode_json(raw)
        except PerclError as exc:
            problems = [exc]
        else:
            problems = check(document)
        if problems:
            for problem in problems:
                print(f"{shown}: {problem}", file=out)
            status = max(status, 1)
        else:
            print(f"{shown}: OK ({len(document)} command{'s' if len(document) != 1 else ''})", file=out)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m percl",
                                     description="Check PerCL documents against FreeClimb's rules.")
    sub = parser.add_subparsers(dest="action", required=True)
    check_parser = sub.add_parser("check", help="check PerCL JSON files ('-' for stdin)")
    check_parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)
    return check_documents(args.files)


if __name__ == "__main__":
    sys.exit(main())
