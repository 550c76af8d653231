"""Print the app's requirements from pyproject.toml, one per line, for the installer build.

``--without NAME`` drops a requirement (bertviz, whose dependencies pull torch);
``--only NAME`` prints just that one (installed separately with ``--no-deps``);
``--swap OLD=NEW`` installs another distribution of the same package (tensorflow=tensorflow-cpu).
"""
from __future__ import annotations

import argparse
import re
import tomllib


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pyproject")
    parser.add_argument("--without", action="append", default=[])
    parser.add_argument("--only")
    parser.add_argument("--swap", action="append", default=[])
    args = parser.parse_args()
    swaps = dict(s.lower().split("=", 1) for s in args.swap)
    without = {w.lower() for w in args.without}
    with open(args.pyproject, "rb") as fh:
        requirements = tomllib.load(fh)["project"]["dependencies"]
    for requirement in requirements:
        name = requirement_name(requirement)
        if name in without or (args.only is not None and name != args.only.lower()):
            continue
        if name in swaps:
            requirement = swaps[name] + requirement[len(name):]
        print(requirement)


if __name__ == "__main__":
    main()
