"""Dialect groups for posts without demographics: the TwitterAAE model of Blodgett et al. (2016).

- :mod:`tonecls.audit.dialect.tokens`: the tokeniser matching the model's vocabulary;
- :mod:`tonecls.audit.dialect.cvb0`: CVB0 inference of a batch of posts' topic proportions;
- :mod:`tonecls.audit.dialect.estimator`: :class:`DialectEstimator` (a scikit-learn estimator),
  groups by threshold and the group-size tally (see its docstring for the method and caveats).

Files are processed by :func:`tonecls.jobs.dialect_file`.
"""

from __future__ import annotations

from tonecls.audit.dialect.cvb0 import cvb0_proportions
from tonecls.audit.dialect.estimator import (
    DEFAULT_THRESHOLD,
    DIALECT_TOPICS,
    GROUP_AA,
    GROUP_COLUMN,
    GROUP_UNDETERMINED,
    GROUP_WHITE,
    N_TOKENS_COLUMN,
    PROPORTION_COLUMNS,
    PROXY_NOTE,
    DialectEstimator,
    GroupSizeTally,
    add_dialect_columns,
    check_threshold,
    fitted,
    groups_from_proportions,
    load_twitteraae,
    resolve_model_dir,
)
from tonecls.audit.dialect.tokens import tokenize_for_dialect

__all__ = [
    "DEFAULT_THRESHOLD", "DIALECT_TOPICS", "GROUP_AA", "GROUP_COLUMN", "GROUP_UNDETERMINED", "GROUP_WHITE",
    "N_TOKENS_COLUMN", "PROPORTION_COLUMNS", "PROXY_NOTE", "DialectEstimator", "GroupSizeTally",
    "add_dialect_columns", "check_threshold", "cvb0_proportions", "fitted", "groups_from_proportions",
    "load_twitteraae", "resolve_model_dir", "tokenize_for_dialect",
]
