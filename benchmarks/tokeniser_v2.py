"""Tokenisation version 2 against version 1 (the nltk-based tokeniser of commit d081078), side by side.

    python benchmarks/tokeniser_v2.py [DATA_DIR]        # default: ../shared/data or $TONECLS_DATA_DIR

Prints, over every TweetEval text file and GoEmotions split: how many posts get different tokens
(and whether every difference is an extra <user>), then the speed of both tokenisers and of
version 2 without its platform-handle pass on the same 60,000 TweetEval training posts, in one
process (posts per CPU-second, best of 3), and the import time of tonecls.preprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def load_v1():
    from tokeniser_corpus import load_tokeniser_v1

    return load_tokeniser_v1(ROOT)


def main() -> int:
    from tokeniser_corpus import corpus_files, read_texts

    from tonecls import preprocess

    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TONECLS_DATA_DIR", ROOT.parent / "shared" / "data"))
    v1 = load_v1()
    texts = [text for _, path in corpus_files(data_dir) for text in read_texts(path)]
    old, new = v1.Preprocessor().tokenize(texts), preprocess.Preprocessor().tokenize(texts)
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    more_user = sum(b.count("<user>") > a.count("<user>") for a, b in changed)
    print(f"{len(texts):,} posts; {len(changed):,} get other tokens, {more_user:,} of them more <user> tokens")
    sample = [t for _, p in corpus_files(data_dir) if "train_text" in p.name for t in read_texts(p)][:60_000]
    scrub = preprocess._scrub_platform_handles
    rates = {"version 1 (nltk)": [], "version 2": [], "version 2 without the handle pass": []}
    for _ in range(3):
        for name in rates:
            preprocess._scrub_platform_handles = (lambda text: text) if "without" in name else scrub
            tokenizer = (v1 if "1" in name else preprocess).Preprocessor()
            started = time.process_time()
            tokenizer.tokenize(sample)
            rates[name].append(len(sample) / (time.process_time() - started))
    preprocess._scrub_platform_handles = scrub
    for name, values in rates.items():
        print(f"{name}: {max(values):,.0f} posts per CPU-second ({max(values) / max(rates['version 1 (nltk)']):.2f}x)")
    code = "import time; t = time.perf_counter(); import tonecls.preprocess; print(time.perf_counter() - t)"
    for label, env in (("tonecls.preprocess", {}),):
        seconds = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout) for _ in range(3))
        print(f"import {label}: {seconds:.2f} s (best of 3, warm)")
    seconds = min(float(subprocess.run([sys.executable, "-c", code.replace("tonecls.preprocess", "nltk.tokenize.casual")],
                                       capture_output=True, text=True).stdout) for _ in range(3))
    print(f"import nltk.tokenize.casual (what version 1 imported): {seconds:.2f} s (best of 3, warm)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
