"""Install size: tonecls' dependencies on disk, a plain install, with each extra, and the heaviest.

Resolves the dependency closure of ``requirements.txt`` (a plain ``pip install tonecls``) and of
the extras' files (``requirements-train.txt``, ``-dask.txt``, ``-notebook.txt``) over the
distributions installed in the running environment, and adds up the size on disk of each
distribution's files (its RECORD). Run it in an environment made by ``scripts/setup.sh``:

    .venv/bin/python -m benchmarks.bench_install_size
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from benchmarks import harness

ROOT = harness.ROOT


def _requirements(path: Path) -> list[Requirement]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[Requirement]) -> set[str]:
    """Installed distributions needed by ``requirements`` (markers evaluated, extras followed)."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = _name(requirement.name)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        key = (name, extras)
        if key in seen:
            continue
        seen.add(key)
        for text in dist.requires or []:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in (extras or {""})):
                if child.marker is not None and "extra" in str(child.marker) and not extras:
                    continue
                todo.append((child, frozenset(child.extras)))
    return {name for name, _ in seen}


def size_mb(name: str) -> float:
    """MB on disk of a distribution's files: the sizes its RECORD lists (a stat where it lists none)."""
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        if file.size is not None:
            total += file.size
            continue
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def main(argv: list[str] | None = None) -> None:
    args = harness.parser(__doc__).parse_args(argv)  # --smoke: the same (it takes a second)
    with harness.Report(args, "Install size") as report:
        plain = closure(_requirements(ROOT / "requirements.txt"))
        extras = {extra: closure(_requirements(ROOT / f"requirements-{extra}.txt")) - plain
                  for extra in ("train", "dask", "notebook")}
        everything = plain.union(*extras.values())
        sizes = {name: size_mb(name) for name in everything}
        total = sum(sizes[n] for n in plain)
        table = harness.Table(["install", "distributions", "size on disk (MB)", "vs the plain install"])
        table.add("plain (`pip install tonecls`: score, audit, probe, report)", len(plain),
                  harness.number(total), "1.00x")
        for extra, names in extras.items():
            size = sum(sizes[n] for n in names)
            table.add(f"what `[{extra}]` adds", len(names), harness.number(size), f"+{size / total:.2f}x")
        every = sum(sizes.values())
        table.add("everything (`scripts/setup.sh` also adds the test tools)", len(everything),
                  harness.number(every), f"{every / total:.2f}x")
        report.table(table)
        report.note(f"\ntraining stack ([train]): {', '.join(sorted(extras['train'])) or 'none'}")
        report.note("largest (MB): " + ", ".join(f"{n} {s:,.0f}" for n, s in
                                                   sorted(sizes.items(), key=lambda kv: -kv[1])[:8]))


if __name__ == "__main__":
    main()
