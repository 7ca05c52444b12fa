"""Benchmark datasets (TweetEval, GoEmotions): locate them, fetch them with checksums, load them.

Layout of a data directory (the same as ``../shared/data`` beside this repository)::

    <data_dir>/tweeteval/<task>/{train,val,test}_{text,labels}.txt, mapping.txt
    <data_dir>/tweeteval/reference_predictions/<task>.txt   (published RoBERTa test predictions)
    <data_dir>/goemotions/<taxonomy>/{train,dev,test}.tsv, labels.txt
    <data_dir>/twitteraae/model_vocab.txt, model_count_table.txt, LICENSE

Where the data directory is looked up (see :func:`resolve_data_dir`): an explicit argument,
else the first of ``$TONECLS_DATA_DIR``, the cache (``$XDG_CACHE_HOME/tonecls/data``, by
default ``~/.cache/tonecls/data``) and ``../shared/data`` beside a source checkout that holds
the requested dataset. Nothing is downloaded unless :func:`fetch` (``tonecls fetch``) is called.

Examples
--------
>>> train = load_tweeteval("emotion", "train")          # doctest: +SKIP
>>> train.columns.tolist()                               # doctest: +SKIP
['text', 'label', 'label_id']
>>> dev = load_goemotions("ekman", "dev")                # doctest: +SKIP
>>> y = to_multi_hot(dev["labels"], goemotions_classes("ekman"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tonecls.errors import DataNotFoundError, InputError, ToneclsError
from tonecls.io.files import sha256_bytes, sha256_file
from tonecls.schema import split_labels

__all__ = [
    "TWEETEVAL_TASKS",
    "GOEMOTIONS_TAXONOMIES",
    "DATASETS",
    "DATA_DIR_ENV",
    "SOURCE_URLS",
    "MANIFEST",
    "ChecksumError",
    "DownloadError",
    "default_data_dir",
    "resolve_data_dir",
    "tweeteval_mapping",
    "tweeteval_classes",
    "load_tweeteval",
    "goemotions_classes",
    "load_goemotions",
    "to_multi_hot",
    "fetch",
]

logger = logging.getLogger(__name__)

TWEETEVAL_TASKS = ("emotion", "sentiment", "emoji", "hate", "offensive", "irony")
GOEMOTIONS_TAXONOMIES = ("original", "ekman", "group")
DATASETS = ("tweeteval", "goemotions", "twitteraae")
DATA_DIR_ENV = "TONECLS_DATA_DIR"

# canonical split name -> accepted spellings; TweetEval calls its dev split "val",
# GoEmotions calls it "dev". Either loader accepts both.
_SPLIT_ALIASES = {
    "train": "train",
    "val": "val",
    "dev": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


# --- locating the data ---------------------------------------------------------------------


def default_data_dir() -> Path:
    """The per-user data cache: ``$XDG_CACHE_HOME/tonecls/data`` (``~/.cache/tonecls/data``)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home).expanduser() / "tonecls" / "data"


def _checkout_data_dir() -> Path:
    """``../shared/data`` beside the source checkout this module was imported from."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _candidate_dirs() -> list[tuple[str, Path]]:
    candidates = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        candidates.append((f"${DATA_DIR_ENV}", Path(env).expanduser()))
    candidates.append(("cache", default_data_dir()))
    candidates.append(("source checkout", _checkout_data_dir()))
    return candidates


def resolve_data_dir(data_dir: str | os.PathLike | None = None, dataset: str | None = None) -> Path:
    """Return the data directory to read from.

    Parameters
    ----------
    data_dir : path, optional
        Explicit data directory. When given it is used as is (no fallback), and it must exist.
    dataset : {"tweeteval", "goemotions", "twitteraae"}, optional
        When given, the search returns the first candidate that holds this dataset's folder.

    Without ``data_dir``, the candidates are ``$TONECLS_DATA_DIR``, the user cache
    (:func:`default_data_dir`) and ``../shared/data`` beside a source checkout, in that order.

    Raises
    ------
    DataNotFoundError
        Nothing suitable was found; the message lists every place looked at and says how to
        get the data (``tonecls fetch <dataset>`` or ``TONECLS_DATA_DIR``).
    """
    if dataset is not None and dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if data_dir is not None:
        candidates = [("data_dir argument", Path(data_dir).expanduser())]
    else:
        candidates = _candidate_dirs()
    for _, directory in candidates:
        target = directory / dataset if dataset else directory
        if target.is_dir():
            return directory
    looked = "; ".join(f"{where}: {d / dataset if dataset else d}" for where, d in candidates)
    what = dataset or "the tonecls data directory"
    fetch_name = dataset or "all"
    raise DataNotFoundError(
        f"could not find {what} (looked in {looked}). Download it with "
        f"`tonecls fetch {fetch_name}` (or tonecls.datasets.fetch({fetch_name!r})), or set "
        f"{DATA_DIR_ENV} to a directory that contains {dataset or '<dataset>'}/."
    )


def _canonical_split(split: str) -> str:
    try:
        return _SPLIT_ALIASES[str(split).lower()]
    except KeyError:
        raise InputError(
            f"unknown split {split!r}; choose one of train, val (alias dev), test"
        ) from None


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, split on ``\\n`` only.

    ``str.splitlines`` would also split on characters such as U+0085 or U+2028 that occur
    inside posts, which would shift every following label.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataNotFoundError(
            f"missing file {path}; the dataset folder is incomplete. Re-download it with "
            f"`tonecls fetch <dataset> --force` or point {DATA_DIR_ENV} to a complete copy."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not valid UTF-8 ({error}); re-download the file.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # final newline
    return [line[:-1] if line.endswith("\r") else line for line in lines]


# --- TweetEval -----------------------------------------------------------------------------


def _subset_dir(dataset: str, subset: str, known: Sequence[str], what: str, data_dir) -> Path:
    """``<data dir>/<dataset>/<subset>``, checked: ``what`` names a subset in messages."""
    if subset not in known:
        raise InputError(f"unknown {what} {subset!r}; choose one of {', '.join(known)}")
    folder = resolve_data_dir(data_dir, dataset) / dataset / subset
    if not folder.is_dir():
        raise DataNotFoundError(
            f"{what} folder {folder} is missing; run `tonecls fetch {dataset}` "
            f"or set {DATA_DIR_ENV} to a directory that contains {dataset}/{subset}/."
        )
    return folder


def _tweeteval_task_dir(task: str, data_dir) -> Path:
    return _subset_dir("tweeteval", task, TWEETEVAL_TASKS, "TweetEval task", data_dir)


def tweeteval_mapping(task: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The label mapping of a TweetEval task: columns ``label_id``, ``label`` (``emoji`` too).

    Label names are taken from ``mapping.txt``. The emoji task's mapping has an extra column
    with the emoji itself; its ``label`` is the descriptive name without the surrounding
    underscores (``_red_heart_`` -> ``red_heart``) so that it can be used in column names.
    """
    path = _tweeteval_task_dir(task, data_dir) / "mapping.txt"
    rows = []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split("\t")]
        fields = [field for field in fields if field]
        if len(fields) not in (2, 3) or not fields[0].isdigit():
            raise InputError(
                f"{path}, line {number}: expected 'label_id<TAB>name' (or "
                f"'label_id<TAB>emoji<TAB>name'), got {line!r}; re-download the dataset."
            )
        row = {"label_id": int(fields[0]), "label": fields[-1].strip("_")}
        if len(fields) == 3:
            row["emoji"] = fields[1]
        rows.append(row)
    mapping = pd.DataFrame(rows)
    if mapping.empty or mapping["label_id"].tolist() != list(range(len(mapping))):
        raise InputError(
            f"{path}: label ids must be 0, 1, ... in order; re-download the dataset."
        )
    return mapping


def tweeteval_classes(task: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """Class names of a TweetEval task, in label-id order (e.g. anger, joy, optimism, sadness)."""
    return tweeteval_mapping(task, data_dir)["label"].tolist()


def load_tweeteval(
    task: str, split: str, data_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Load one split of a TweetEval task.

    Parameters
    ----------
    task : {"emotion", "sentiment", "emoji", "hate", "offensive", "irony"}
    split : {"train", "val", "test"}
        ``"dev"`` and ``"validation"`` are accepted for ``"val"``.
    data_dir : path, optional
        See :func:`resolve_data_dir`.

    Returns
    -------
    DataFrame
        One row per post, in file order: ``text`` (str, surrounding whitespace stripped, as
        the Hugging Face loader does), ``label`` (class name) and ``label_id`` (int). The class
        names in id order are in ``df.attrs["classes"]``.
    """
    split = _canonical_split(split)
    task_dir = _tweeteval_task_dir(task, data_dir)
    classes = tweeteval_classes(task, data_dir)
    text_path = task_dir / f"{split}_text.txt"
    label_path = task_dir / f"{split}_labels.txt"
    texts = _read_lines(text_path)
    label_lines = _read_lines(label_path)
    if len(texts) != len(label_lines):
        raise InputError(
            f"{text_path} has {len(texts)} lines but {label_path} has {len(label_lines)}; "
            "the two files must match line by line. Re-download the dataset "
            "(`tonecls fetch tweeteval --force`)."
        )
    label_ids = np.empty(len(label_lines), dtype=np.int64)
    for index, line in enumerate(label_lines):
        value = line.strip()
        if not value.isdigit() or int(value) >= len(classes):
            raise InputError(
                f"{label_path}, line {index + 1}: label {value!r} is not a label id of "
                f"{task} (0..{len(classes) - 1}, see mapping.txt); re-download the dataset."
            )
        label_ids[index] = int(value)
    frame = pd.DataFrame(
        {
            "text": pd.Series([t.strip() for t in texts], dtype=object),
            "label": pd.Series(np.asarray(classes, dtype=object)[label_ids], dtype=object),
            "label_id": label_ids,
        }
    )
    frame.attrs["classes"] = classes
    return frame


# --- GoEmotions ----------------------------------------------------------------------------


def _goemotions_dir(taxonomy: str, data_dir) -> Path:
    return _subset_dir("goemotions", taxonomy, GOEMOTIONS_TAXONOMIES, "GoEmotions taxonomy", data_dir)


def goemotions_classes(taxonomy: str = "original", data_dir: str | os.PathLike | None = None) -> list[str]:
    """Class names of a GoEmotions taxonomy in label-id order (from ``labels.txt``).

    ``original`` has 27 emotions + neutral, ``ekman`` 6 + neutral, ``group`` ambiguous,
    negative, neutral, positive.
    """
    path = _goemotions_dir(taxonomy, data_dir) / "labels.txt"
    classes = [line.strip() for line in _read_lines(path) if line.strip()]
    if not classes or len(set(classes)) != len(classes):
        raise InputError(f"{path}: expected one distinct label name a line; re-download the dataset.")
    return classes


def load_goemotions(
    taxonomy: str, split: str, data_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Load one split of GoEmotions (multi-label).

    Parameters
    ----------
    taxonomy : {"original", "ekman", "group"}
    split : {"train", "dev", "test"}
        ``"val"`` and ``"validation"`` are accepted for ``"dev"``.
    data_dir : path, optional
        See :func:`resolve_data_dir`.

    Returns
    -------
    DataFrame
        One row per comment, in file order: ``id`` (Reddit comment id), ``text``, ``labels``
        (list of class names, in id order) and ``label_ids`` (list of ints). Class names are
        in ``df.attrs["classes"]``; :func:`to_multi_hot` turns ``labels`` into a matrix.
    """
    split = _canonical_split(split)
    folder = _goemotions_dir(taxonomy, data_dir)
    classes = goemotions_classes(taxonomy, data_dir)
    path = folder / f"{'dev' if split == 'val' else split}.tsv"
    ids, texts, labels, label_ids = [], [], [], []
    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise InputError(
                f"{path}, line {number}: expected 3 tab-separated fields (text, label ids, "
                f"comment id), got {len(fields)}; re-download the dataset."
            )
        text, id_field, comment_id = fields
        try:
            row_ids = sorted({int(value) for value in id_field.split(",")})
        except ValueError:
            row_ids = None
        if not row_ids or row_ids[0] < 0 or row_ids[-1] >= len(classes):
            raise InputError(
                f"{path}, line {number}: label ids {id_field!r} are not comma-separated ids "
                f"of the {taxonomy} taxonomy (0..{len(classes) - 1}, see labels.txt); "
                "re-download the dataset."
            )
        ids.append(comment_id)
        texts.append(text)
        label_ids.append(row_ids)
        labels.append([classes[i] for i in row_ids])
    frame = pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "text": pd.Series(texts, dtype=object),
            "labels": pd.Series(labels, dtype=object),
            "label_ids": pd.Series(label_ids, dtype=object),
        }
    )
    frame.attrs["classes"] = classes
    return frame


def to_multi_hot(labels: Iterable, classes: Sequence[str], *, positions: Sequence[int] | None = None,
                 where: str = "") -> np.ndarray:
    """Multi-hot matrix (``float32``, shape ``(n_rows, len(classes))``) of label lists.

    ``positions`` (each label's 0-based data row in its file) and ``where`` (the file) name the
    place of a label that is not a class.

    Each element of ``labels`` is a list of class names; a string is read as names joined by
    :data:`tonecls.schema.LABEL_SEPARATOR` (the format of the ``<head>_labels`` output column; ``""`` means none), and
    ``None``/NaN as no label.

    Raises
    ------
    InputError
        A label is not one of ``classes``.
    """
    classes = list(classes)
    index = {name: i for i, name in enumerate(classes)}
    if len(index) != len(classes):
        raise InputError("classes must be distinct names")
    rows = list(labels)
    matrix = np.zeros((len(rows), len(classes)), dtype=np.float32)
    for row_number, row in enumerate(rows):
        if row is None or (isinstance(row, float) and np.isnan(row)):
            continue
        if isinstance(row, str):
            row = split_labels(row)
        for name in row:
            try:
                matrix[row_number, index[name]] = 1.0
            except (KeyError, TypeError):
                at = (f"data row {int(positions[row_number]) + 1}" if positions is not None
                      else f"row {row_number + 1} of the labels")
                raise InputError(
                    f"{where + ', ' if where else ''}{at}: label {name!r} is not one of the classes "
                    f"{classes}; pass the class list the labels come from."
                ) from None
    return matrix


# --- fetching ------------------------------------------------------------------------------

# Where each dataset is downloaded from (raw files of the official repositories). Module-level
# so that a mirror can be configured (any protocol pooch downloads: https, http, ftp, sftp).
SOURCE_URLS = {
    "tweeteval": "https://raw.githubusercontent.com/cardiffnlp/tweeteval/main",
    "goemotions": "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data",
    "twitteraae": "https://raw.githubusercontent.com/slanglab/twitteraae/master",
}

# SHA-256 of every file, by path inside the data directory, for which the official copy was at
# hand (computed from the team's copy of the official files with `sha256sum`). Files not listed
# cannot be verified and are fetched with a warning: TweetEval `sentiment/train_*` (our copy
# was rebuilt, see data/README.md) and GoEmotions' two mapping JSONs (the ekman/ and group/
# files derived from them are verified instead).
MANIFEST = {
    "tweeteval/emoji/mapping.txt": "ac172bfbb0972d875a832224f48602472279be365454e3bce01084689100f4d3",
    "tweeteval/emoji/test_labels.txt": "c1662b84788f36674ab8f0106f3e2e7d3e258ddf4959086ac7cc75b1e68dd1f6",
    "tweeteval/emoji/test_text.txt": "e4de11de1597842c431dd67868e83322f5a432564dfd8558889ed8ac6a1a5e09",
    "tweeteval/emoji/train_labels.txt": "daee7da826683dbfa50ad3a29c60bc527e498f06c70eabee3745a99cc37ab3a5",
    "tweeteval/emoji/train_text.txt": "eacb6b0ee1fe2803d72a009c2e731fe07659f604318a979951d2f07c23c564a1",
    "tweeteval/emoji/val_labels.txt": "21ba456f688668d049ff0fb1fa04469ee684cf4e2467c71d2c3fe5ca2ba1bd1a",
    "tweeteval/emoji/val_text.txt": "3bc3742d6af404cea792671878684d110f3bc02fd79a2e34643789a521d81a26",
    "tweeteval/emotion/mapping.txt": "656dea85d149716af96206ca19bec0d94e9dc6de3f5079f5c7c2a241ec76cadb",
    "tweeteval/emotion/test_labels.txt": "245072348c711961785be6d395997f97cf7fcda3effeae7805664171dc75f913",
    "tweeteval/emotion/test_text.txt": "7e1070f5d3e3fcece5bc73680bff9981e90d8f7b2f1009bfe7a01d059d1c6091",
    "tweeteval/emotion/train_labels.txt": "987e767d8679e18abdf7de37a6d2bcd0a40a296ddd704e8d515cf0e3033c8d9c",
    "tweeteval/emotion/train_text.txt": "2c62f67aeb3eac1aea0e5a9c3d0f4bc337992581f3f858061786a1fb4d79d95e",
    "tweeteval/emotion/val_labels.txt": "313730630160b7e0a6b4235b800c76683f4aeeb72d094eb69646630cd5cfe338",
    "tweeteval/emotion/val_text.txt": "e2e30c86b8cbb97944d6543aedc06eace3bb275cb2f381aba787b838b4f23ca5",
    "tweeteval/hate/mapping.txt": "3fc75504ffae64ddc82e13afb5790af7798cd3167d7d35790abe78b39b991896",
    "tweeteval/hate/test_labels.txt": "c14adca6b3627616a835c5ccea8a1cceb0235cd79417257f093eb0e16a69c62f",
    "tweeteval/hate/test_text.txt": "bc4762876a8dd8baa55c3cd7b03108e3231a5d691e80b8b1ef97c5be31b9da9a",
    "tweeteval/hate/train_labels.txt": "4e8fde025a453a25c94632794254131dedeac4e57228ad64157c41571cc88f71",
    "tweeteval/hate/train_text.txt": "6572bb3a42143128a5dfa99af8debeb0668e637c34b2d1e3140dac47316fe2c2",
    "tweeteval/hate/val_labels.txt": "5092badf1a0e70036ea6264bcd0b78afc07d0f4a512fa6af34c2c4973600656b",
    "tweeteval/hate/val_text.txt": "1ff78b1ed4c5ce43284b9eba32eb7d60c6d45d0d1b3b4d6df456ae01640764f1",
    "tweeteval/irony/mapping.txt": "70e09046e181179b9870a2f59a3263bbb28c787831779e4ce4a18373d054296b",
    "tweeteval/irony/test_labels.txt": "08e2095e1725e74907a380614c220204e356bb46e3e8c93deb74e83e5b15ab38",
    "tweeteval/irony/test_text.txt": "53103da934a7308eee82f05f2a9781a8ea3e88604fdc1e02d3101108505c64be",
    "tweeteval/irony/train_labels.txt": "fc69e6106c0f1f433a91536e08f83c71a391d7b219f7684d42f243a8089af77d",
    "tweeteval/irony/train_text.txt": "a888125a44f7dfaa25b026318748d0e62cc9a300d20f66eafd62011a19eaea23",
    "tweeteval/irony/val_labels.txt": "ccf429f63b4e8d0e7f425ca09445f7c31f7cea8a1b7c283b015b117c4002fd07",
    "tweeteval/irony/val_text.txt": "8806cf3793e300a485cfae34892fc3a0a2f9a183deb06c750c6531515c83051e",
    "tweeteval/offensive/mapping.txt": "3e427f483dd5d5be21ae85dcf224c36b3d024af27999939fa0d438d695801c50",
    "tweeteval/offensive/test_labels.txt": "41d05a7aa0b01f5dafab21b95adb4f979cb4226c046ff315702774d10dac1605",
    "tweeteval/offensive/test_text.txt": "25b08c3333c26190f1023961c4508ec9aab24d4722b1a3ea7a6040724c120547",
    "tweeteval/offensive/train_labels.txt": "c0b7d6ebdaa4ebcf6fc557ef1e775d92eda160218a0e3b1dd48eb8234dc892a6",
    "tweeteval/offensive/train_text.txt": "78a7a32e38b10af7d8970b008bf17f661c8d0a90dad145fa0fa6a944669650db",
    "tweeteval/offensive/val_labels.txt": "ed2deb776bd1c52fb8221fadd3360e32d9dfe46842d78053528126e46363a258",
    "tweeteval/offensive/val_text.txt": "816f36d180c35f15a5104838cb73856a0bef42043482fe738f3481b06242a55c",
    "tweeteval/reference_predictions/emoji.txt": "5f56b7901d686b7e13fae62c33e8eaa541e1cfb77d2e2688121b99da93f2deb3",
    "tweeteval/reference_predictions/emotion.txt": "16c6cf2b1c678bc739a738aa565e1f1bfb67e365cfc06fb413bfda9ddbaf88a0",
    "tweeteval/reference_predictions/hate.txt": "3b45dde6d152bc766143b49a2a6911e56e83852a92af4a7db98c675990f0c94c",
    "tweeteval/reference_predictions/irony.txt": "4eb39e6ac7eb10422405cc40697d54dbd51584b4dbfdd6d17bcd01f1a5e52939",
    "tweeteval/reference_predictions/offensive.txt": "80eb27627f1057c4eb186b9cca35fac5275274467281e9b4ec98e8e28619878e",
    "tweeteval/reference_predictions/sentiment.txt": "272692c7bd9c9808fb8255703a9b3c35d9d863de3a21f0ad3636c850d89f3766",
    "tweeteval/sentiment/mapping.txt": "c0572796fbe261d8ea5fd16c5061076fbba49bc69fc865d6abccaf60daacee24",
    "tweeteval/sentiment/test_labels.txt": "6afb4afe9374d1f983bcf9a7c79b108d0f37fdf020a83f30488309bed215db9d",
    "tweeteval/sentiment/test_text.txt": "09a93a55c63fd93f97485ef7302889d7edb4091cd49733aa37da094f0bfa0675",
    "tweeteval/sentiment/val_labels.txt": "b4566926c72e2e4e2916c864def94e76c4cdde52446af2c7ba4fc2006e057e51",
    "tweeteval/sentiment/val_text.txt": "e5b021e6fc45064c260b09814b803d8f56cada519c4d952d72f43d48a350a964",
    "goemotions/original/labels.txt": "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89",
    "goemotions/original/train.tsv": "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
    "goemotions/original/dev.tsv": "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
    "goemotions/original/test.tsv": "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
    "goemotions/ekman/labels.txt": "5ecd91c315ebf550ac798f06549e35a6ee1fb90866608fd640c24d520dc6aa0c",
    "goemotions/ekman/train.tsv": "bb74d10aec0975674c665205741ba9fe644cd70f682214624997f3770fd9e53f",
    "goemotions/ekman/dev.tsv": "011e6579adc4d9bb2ffd908879b99e1594e7647b262cbb2e1c5c9c1c4d7d8bcc",
    "goemotions/ekman/test.tsv": "f9f9b91827fe134259469368b93abddc2a52e2e2a87beab661023b06cf490baa",
    "goemotions/group/labels.txt": "0ec3143304b499eb63a1b60f8843e2b48c4fbaee6dd04f50fc8f4771f86c0e71",
    "goemotions/group/train.tsv": "f6e6059e336d17ae31496857cd5883a41934df50261ef74bc3eedc2ef9f701c8",
    "goemotions/group/dev.tsv": "e2d7cae65ffdc8df4d457c33695ab1f000eaef9beaadbce8276043802a3ba8ee",
    "goemotions/group/test.tsv": "aff79328e20b30a8177fef46a2b8f79ea6165d7e2760f4d3625d3ca9e906f89f",
    "twitteraae/LICENSE": "27136c0e7f9321059413d4972ec88af4238e2ba19cad8f100b9177b3688d326e",
    "twitteraae/model_count_table.txt": "9907158995bea09301022050736bb91dda71bd577af9d3e643ae434d5c3fbf4e",
    "twitteraae/model_vocab.txt": "6ef8e0ed59ed13776ad015a7dc14a0dd26a24ce9f6906edf860dfe40bf679133",
}

# GoEmotions' coarser taxonomies: taxonomy -> (mapping file in the official data/ folder,
# where it is kept locally). Each maps a coarse class to its fine emotions; "neutral" stays
# "neutral", and the coarse class list is sorted (as in the files published with the dataset).
_GOEMOTIONS_DERIVED = {
    "ekman": ("ekman_mapping.json", "goemotions/ekman_mapping.json"),
    "group": ("sentiment_dict.json", "goemotions/sentiment_dict.json"),
}

_VERIFIED_THROUGH_DERIVED = {local for _, local in _GOEMOTIONS_DERIVED.values()}

class ChecksumError(ToneclsError):
    """A downloaded (or derived) file does not have the SHA-256 recorded in the manifest."""


class DownloadError(ToneclsError):
    """A file could not be downloaded."""


@dataclass(frozen=True)
class _RemoteFile:
    url: str
    target: str  # path inside the data directory

    @property
    def sha256(self) -> str | None:
        return MANIFEST.get(self.target)


def _remote_files(dataset: str) -> list[_RemoteFile]:
    base = SOURCE_URLS[dataset].rstrip("/")
    if dataset == "tweeteval":
        files = []
        for task in TWEETEVAL_TASKS:
            for name in ["mapping.txt"] + [
                f"{split}_{kind}.txt" for split in ("train", "val", "test") for kind in ("text", "labels")
            ]:
                files.append(_RemoteFile(f"{base}/datasets/{task}/{name}", f"tweeteval/{task}/{name}"))
            files.append(
                _RemoteFile(f"{base}/predictions/{task}.txt", f"tweeteval/reference_predictions/{task}.txt")
            )
        return files
    if dataset == "goemotions":
        files = [_RemoteFile(f"{base}/emotions.txt", "goemotions/original/labels.txt")]
        files += [
            _RemoteFile(f"{base}/{split}.tsv", f"goemotions/original/{split}.tsv")
            for split in ("train", "dev", "test")
        ]
        files += [_RemoteFile(f"{base}/{name}", local) for name, local in _GOEMOTIONS_DERIVED.values()]
        return files
    if dataset == "twitteraae":
        return [
            _RemoteFile(f"{base}/model/model_vocab.txt", "twitteraae/model_vocab.txt"),
            _RemoteFile(f"{base}/model/model_count_table.txt", "twitteraae/model_count_table.txt"),
            _RemoteFile(f"{base}/LICENSE", "twitteraae/LICENSE"),
        ]
    raise InputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)} or all")


def _is_current(path: Path, expected: str | None) -> bool:
    """Whether a file already present can be kept (it exists and matches its checksum)."""
    return path.is_file() and (expected is None or sha256_file(path) == expected)


def _check_digest(target: str, source: str, actual: str) -> None:
    """Raise :class:`ChecksumError` if ``actual`` is not the SHA-256 :data:`MANIFEST` records."""
    expected = MANIFEST.get(target)
    if expected is not None and actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {target} (from {source}): expected SHA-256 {expected}, got "
            f"{actual}. The download is corrupt or the upstream file changed; nothing was "
            "written. Retry `tonecls fetch` (add --force); if it persists, report it, or put a "
            f"verified copy in place and point {DATA_DIR_ENV} to it."
        )
    _note_unverified(target)


def _note_unverified(target: str) -> None:
    """Say that ``target`` was saved without verification, if :data:`MANIFEST` has no checksum."""
    if target in MANIFEST:
        return
    if target in _VERIFIED_THROUGH_DERIVED:
        logger.info("%s has no recorded checksum; the files derived from it are verified", target)
    else:
        warnings.warn(
            f"{target} has no recorded checksum (tonecls' reference copy is not the official "
            "file), so it cannot be verified; it was saved as downloaded.",
            stacklevel=4,
        )


def _download(remote: _RemoteFile, root: Path, quiet: bool) -> None:
    """Download ``remote`` with pooch (a temporary file, renamed only once its SHA-256 matches
    :data:`MANIFEST`) and put it in place of any older copy."""
    import pooch
    import requests

    target = root / remote.target
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f"{target.name}.fetching")  # pooch never reuses it: removed first
    staged.unlink(missing_ok=True)
    pooch.get_logger().setLevel("WARNING")  # its "Downloading ..." lines: tqdm shows progress
    try:
        pooch.retrieve(remote.url, known_hash=f"sha256:{remote.sha256}" if remote.sha256 else None,
                       fname=staged.name, path=staged.parent,
                       progressbar=not quiet and sys.stderr.isatty())
    except ValueError as error:  # pooch: the downloaded file does not have the known hash
        raise ChecksumError(
            f"checksum mismatch for {remote.target} (from {remote.url}): {error} The download is "
            "corrupt or the upstream file changed; nothing was written. Retry `tonecls fetch` (add "
            f"--force); if it persists, report it, or put a verified copy in place and point "
            f"{DATA_DIR_ENV} to it.") from None
    except (requests.RequestException, OSError) as error:
        raise DownloadError(
            f"could not download {remote.url} ({error}). Check the network connection or proxy "
            f"settings and retry; or download the file by hand to {target}.") from None
    os.replace(staged, target)
    _note_unverified(remote.target)


def _derive_goemotions(root: Path, taxonomy: str, force: bool) -> None:
    """Write ``goemotions/<taxonomy>/`` (labels.txt and the three TSVs) from the original."""
    from tonecls.io import atomic_write

    mapping_path = root / _GOEMOTIONS_DERIVED[taxonomy][1]
    folder = f"goemotions/{taxonomy}"
    targets = [f"{folder}/{name}" for name in ("labels.txt", "train.tsv", "dev.tsv", "test.tsv")]
    if not force and all(_is_current(root / t, MANIFEST.get(t)) for t in targets):
        return
    try:
        coarse_to_fine = json.loads(mapping_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the GoEmotions mapping {mapping_path}: {error}; "
                         "retry `tonecls fetch goemotions --force`.") from None
    fine_classes = goemotions_classes("original", root)
    coarse_classes = sorted([*coarse_to_fine, "neutral"])
    fine_to_coarse = {fine: coarse for coarse, fines in coarse_to_fine.items() for fine in fines}
    fine_to_coarse["neutral"] = "neutral"
    missing = sorted(set(fine_classes) - set(fine_to_coarse))
    if missing:
        raise InputError(f"{mapping_path} does not map {missing}; retry `tonecls fetch goemotions --force`.")
    coarse_id = [coarse_classes.index(fine_to_coarse[name]) for name in fine_classes]
    outputs = {f"{folder}/labels.txt": "\n".join(coarse_classes).encode("utf-8")}
    for split in ("train", "dev", "test"):
        frame = load_goemotions("original", split, root)
        lines = [
            f"{text}\t{','.join(str(i) for i in sorted({coarse_id[j] for j in ids}))}\t{cid}\n"
            for text, ids, cid in zip(frame["text"], frame["label_ids"], frame["id"])
        ]
        outputs[f"{folder}/{split}.tsv"] = "".join(lines).encode("utf-8")
    for target, content in outputs.items():
        if not force and _is_current(root / target, MANIFEST.get(target)):
            continue
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        try:
            with atomic_write(root / target, "wb") as out:
                out.write(content)
                _check_digest(target, mapping_path.name, sha256_bytes(content))
        except ChecksumError:
            mapping_path.unlink(missing_ok=True)  # unverified source: download it again next time
            raise


def fetch(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    *,
    quiet: bool = False,
) -> Path:
    """Download a dataset's official files into the data directory, verifying checksums.

    Parameters
    ----------
    dataset : {"tweeteval", "goemotions", "twitteraae", "all"}
        TweetEval: the six tasks' files and the published reference predictions from the
        cardiffnlp/tweeteval repository. GoEmotions: the original train/dev/test TSVs and
        emotion list from google-research/google-research ``goemotions/data``, plus its
        ``ekman_mapping.json`` and ``sentiment_dict.json`` from which ``ekman/`` and
        ``group/`` are derived (same TSV format). TwitterAAE: the ``model/`` files and LICENSE
        of slanglab/twitteraae.
    data_dir : path, optional
        Where to write; default ``$TONECLS_DATA_DIR`` if set, else :func:`default_data_dir`.
    force : bool
        Download again even if a file is present and matches its checksum.
    quiet : bool
        No progress bars.

    Returns
    -------
    Path
        The data directory (pass it as ``data_dir`` to the loaders, or rely on the default
        lookup when it is the cache).

    Files are downloaded with pooch into a temporary file that is renamed only once its SHA-256
    matches :data:`MANIFEST`; a mismatch raises :class:`ChecksumError` and leaves nothing
    behind. Files without a recorded checksum are saved with a warning. Present, verified files
    are skipped.
    """
    if dataset == "all":
        names = list(DATASETS)
    elif dataset in DATASETS:
        names = [dataset]
    else:
        raise InputError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)} or all")
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or default_data_dir()
    root = Path(data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        for remote in _remote_files(name):
            if not force and _is_current(root / remote.target, remote.sha256):
                logger.info("%s is present and verified; skipping", remote.target)
                continue
            _download(remote, root, quiet)
        if name == "goemotions":
            for taxonomy in _GOEMOTIONS_DERIVED:
                _derive_goemotions(root, taxonomy, force)
    return root
