"""Installed size of tonecls' dependencies: runtime only, runtime + extras, and what each weighs.

Resolves the dependency closure of ``requirements.txt`` (and of the ``[dask]`` /
``[notebook]`` extras of ``pyproject.toml``) over the distributions installed in the running
environment, and adds up the size on disk of each distribution's files (its RECORD). Run it
in an environment made by ``scripts/setup.sh``:

    .venv/bin/python benchmarks/install_size.py
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    runtime = closure(_requirements(ROOT / "requirements.txt"))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    with_extras = runtime | closure([Requirement(r) for key in ("dask", "notebook") for r in extras[key]])
    sizes = {name: size_mb(name) for name in with_extras}
    heavy = ("tensorflow-cpu", "tensorflow", "keras", "tensorboard", "ml-dtypes", "optree", "namex")
    training_stack = {n for n in runtime if n in heavy or n.startswith(("tensorflow", "tensorboard"))}
    total_runtime = sum(sizes[n] for n in runtime)
    total_all = sum(sizes.values())
    print("| install | distributions | size on disk (MB) |")
    print("| --- | ---: | ---: |")
    print(f"| runtime (`pip install tonecls`, requirements.txt) | {len(runtime)} | {total_runtime:,.0f} |")
    print(f"| runtime + `[dask]` + `[notebook]` (scripts/setup.sh also adds the test tools) | {len(with_extras)} | "
          f"{total_all:,.0f} |")
    print(f"| of the runtime: TensorFlow / Keras training stack ({', '.join(sorted(training_stack))}) | "
          f"{len(training_stack)} | {sum(sizes[n] for n in training_stack):,.0f} |")
    print(f"| of the runtime: everything scoring loads (runtime less the training stack) | "
          f"{len(runtime - training_stack)} | {total_runtime - sum(sizes[n] for n in training_stack):,.0f} |")
    print("\nlargest:", ", ".join(f"{n} {s:,.0f}" for n, s in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]))


if __name__ == "__main__":
    main()
