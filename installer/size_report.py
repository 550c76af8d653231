"""Print the biggest contributors to a PyInstaller bundle: top folders/files, and per package.

Folders under ``_internal`` are grouped two levels deep (``PySide6/Qt``, ``tensorflow/python``)
so the report says which part of a library is heavy, not just which library.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

MB = 1024 * 1024


def file_sizes(root: Path) -> dict[Path, int]:
    return {p.relative_to(root): p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def grouped(sizes: dict[Path, int], depth: int) -> Counter[str]:
    totals: Counter[str] = Counter()
    for rel, size in sizes.items():
        parts = rel.parts[1:] if rel.parts and rel.parts[0] == "_internal" else rel.parts
        totals["/".join(parts[:depth])] += size
    return totals


def main(bundle: str, top: int = 15) -> None:
    sizes = file_sizes(Path(bundle))
    print(f"  total {sum(sizes.values()) / MB:8.1f} MB in {len(sizes)} files")
    for depth, title in ((1, "by package"), (2, "by sub-folder"), (99, "largest files")):
        print(f"  {title}:")
        for name, size in grouped(sizes, depth).most_common(top):
            print(f"    {size / MB:8.1f} MB  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
