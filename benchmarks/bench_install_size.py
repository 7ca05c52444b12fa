"""Install size: tonecls' dependencies on disk, runtime only, with extras, and the heaviest.

Resolves the dependency closure of ``requirements.txt`` (and of the ``[dask]`` /
``[notebook]`` extras of ``pyproject.toml``) over the distributions installed in the running
environment, and adds up the size on disk of each distribution's files (its RECORD). Run it
in an environment made by ``scripts/setup.sh``:

    .venv/bin/python -m benchmarks.bench_install_size
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import tomllib
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
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def main(argv: list[str] | None = None) -> None:
    args = harness.parser(__doc__).parse_args(argv)  # --smoke: the same (it takes a second)
    with harness.Report(args, "Install size") as report:
        requirements = _requirements(ROOT / "requirements.txt")
        runtime = closure(requirements)
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        with_extras = runtime | closure([Requirement(r) for key in ("dask", "notebook") for r in extras.get(key, [])])
        sizes = {name: size_mb(name) for name in with_extras}
        # what only TensorFlow / Keras bring: their closure less that of every other requirement
        stack_names = {"tensorflow", "tensorflow-cpu", "keras"}
        training = (closure([r for r in requirements if _name(r.name) in stack_names])
                    - closure([r for r in requirements if _name(r.name) not in stack_names]))
        total = sum(sizes[n] for n in runtime)
        table = harness.Table(["install", "distributions", "size on disk (MB)", "share of the runtime"])
        table.add("runtime (`pip install tonecls`, requirements.txt)", len(runtime), harness.number(total), "100%")
        table.add("runtime + `[dask]` + `[notebook]` (scripts/setup.sh also adds the test tools)",
                  len(with_extras), harness.number(sum(sizes.values())), "")
        stack = sum(sizes[n] for n in training)
        table.add("of the runtime: what only TensorFlow / Keras bring (the training stack)",
                  len(training), harness.number(stack), f"{100 * stack / total:.0f}%")
        table.add("of the runtime: everything else (what scoring, audits and probes load)",
                  len(runtime - training), harness.number(total - stack), f"{100 * (total - stack) / total:.0f}%")
        report.table(table)
        report.note(f"\ntraining stack: {', '.join(sorted(training)) or 'none'}")
        report.note("largest (MB): " + ", ".join(f"{n} {s:,.0f}" for n, s in
                                                   sorted(sizes.items(), key=lambda kv: -kv[1])[:8]))


if __name__ == "__main__":
    main()
