"""Menu tools: `python -m ivr check FILE [FILE...]` validates menu files (schema and R4 lint)."""

from __future__ import annotations

import argparse
import sys

from ivr.loader import MenuError, load_menu_file


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit status is 0 if every file is fine, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m ivr", description="Voice menu (IVR) tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", help="validate menu files: YAML, schema and the R4 lint",
        description="Validate menu files; print 'ok' or one problem per line.")
    check.add_argument("files", nargs="+", metavar="FILE", help="a menu YAML file")
    args = parser.parse_args(argv)
    return check_files(args.files)


def check_files(files: list[str]) -> int:
    """Check each file, printing its summary or its problems; 1 if any file is bad."""
    status = 0
    for file in files:
        try:
            doc = load_menu_file(file)
        except MenuError as exc:
            print(exc)
            status = 1
            continue
        print(f"{file}: ok ({len(doc.nodes)} nodes, {len(doc.prompts)} prompts, "
              f"languages {', '.join(doc.languages)})")
    return status


if __name__ == "__main__":
    sys.exit(main())
