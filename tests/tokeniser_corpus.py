"""The TweetEval / GoEmotions texts the tokeniser-compatibility test compares on (shared by the
test and tests/fixtures/make_tokeniser_v1_hashes.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from tonecls import preprocess


def corpus_files(data_dir: Path) -> list[tuple[str, Path]]:
    """(name, path) of every TweetEval text file and GoEmotions split (original taxonomy)."""
    files = sorted((data_dir / "tweeteval").glob("*/*_text.txt"))
    files += sorted((data_dir / "goemotions" / "original").glob("*.tsv"))
    return [(path.relative_to(data_dir).as_posix(), path) for path in files]


def read_texts(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines] if path.suffix == ".tsv" else lines


# later version-2 rules: handles with a hyphen (@jo-doe), "jo@gmail[.]com"
_HYPHEN_HANDLE_RE = re.compile(r"@\w+(?:\.\w+)*-\w")
_BRACKET_DOT_EMAIL_RE = re.compile(r"@[\w\-.]+\s*[\[({<]\s*\.")


def touched_by_handle_rules(texts: list[str]) -> list[bool]:
    """Whether a version-2 handle rule (Reddit, Discord, context handles) can apply to a post."""
    patterns = [preprocess._REDDIT_USER_RE, preprocess._DISCORD_TAG_RE, preprocess._CREDIT_RE,
                preprocess._PLATFORM_HANDLE_RE, _HYPHEN_HANDLE_RE, _BRACKET_DOT_EMAIL_RE]
    out = []
    for text in texts:
        text = text.replace("\\n", " ")
        out.append(any(pattern.search(text) for pattern in patterns))
    return out


def digest(token_lists: list[list[str]]) -> str:
    """SHA-256 of token lists (tokens joined by spaces, posts by newlines)."""
    sha = hashlib.sha256()
    for tokens in token_lists:
        sha.update(" ".join(tokens).encode("utf-8") + b"\n")
    return sha.hexdigest()


def handle_names(texts: list[str]) -> set[str]:
    """Lower-cased names that the version-2 handle rules find in ``texts`` (u/NAME, NAME#1234,
    ": NAME @ place", "snapchat: NAME")."""
    names = set()
    for text in texts:
        text = text.replace("\\n", " ")
        for match in preprocess._REDDIT_USER_RE.finditer(text):
            names.add(match.group().lstrip("/")[2:].lower())
        for match in preprocess._DISCORD_TAG_RE.finditer(text):
            names.add(match.group().split("#")[0].lower())
        for match in preprocess._CREDIT_RE.finditer(text):
            names.add(match.group().lower())
        for match in preprocess._PLATFORM_HANDLE_RE.finditer(text):
            names.add(match.group()[len(match.group(1)):].lstrip("@").lower())
    return names


V1_COMMIT = "d081078"  # the last commit of tokenisation version 1 (nltk-based)


def load_tokeniser_v1(repo: Path | None = None) -> ModuleType:
    """tonecls.preprocess as of :data:`V1_COMMIT`, read from the git repository ``repo``
    (default: this checkout) and imported as ``preprocess_v1`` (needs git and nltk)."""
    repo = Path(__file__).resolve().parents[1] if repo is None else repo
    source = subprocess.run(["git", "-C", str(repo), "show", f"{V1_COMMIT}:tonecls/preprocess.py"],
                            check=True, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preprocess_v1.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("preprocess_v1", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["preprocess_v1"] = module
        spec.loader.exec_module(module)
    return module
