"""`python -m bench [NAME]`: run every benchmark module with a main(), or only NAME."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from types import ModuleType

import bench

_NOT_BENCHMARKS = {"common"}


def benchmarks() -> dict[str, ModuleType]:
    """The benchmark modules of this package by name, sorted: those that define main()."""
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                   if not m.name.startswith("_") and m.name not in _NOT_BENCHMARKS)
    modules = {name: importlib.import_module(f"bench.{name}") for name in names}
    return {name: module for name, module in modules.items()
            if callable(getattr(module, "main", None))}


def run(names: list[str], found: dict[str, ModuleType]) -> list[str]:
    """The names of the benchmarks that failed; each one's traceback goes to stderr."""
    failed = []
    for name in names:
        try:
            found[name].main()
        except Exception:  # one broken benchmark must not hide the others' results
            traceback.print_exc()
            failed.append(name)
    return failed


def main(argv: list[str]) -> int:
    found = benchmarks()
    names = argv or list(found)
    unknown = [name for name in names if name not in found]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(found)}", file=sys.stderr)
        return 2
    failed = run(names, found)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
