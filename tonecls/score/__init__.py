"""Scoring in memory: the model's output columns appended to a frame of posts, every row kept.

- :func:`score_frame` scores a DataFrame (notebooks, and every chunk of a file job);
- :class:`ScoringModel` is the protocol a model follows to be scored (``ToneModel`` does);
- files are scored by :func:`tonecls.jobs.score_file` (streaming, resumable, local or Dask).

Behaviour worth knowing:

- Nothing is dropped: a row that cannot be scored keeps its place with the reason in
  ``tonecls_status`` (``missing``, ``not_text``, ``empty``, ``invalid_encoding``,
  ``malformed_line``, ``other_language``) and empty predictions. Posts confidently in a
  language the model was not trained on are ``other_language`` unless ``all_languages=True``.
- An input that already has a column scoring would write (e.g. an already scored file) is
  an error, never overwritten or renamed: the audit reads these columns by name.
- Probabilities and confidences are float32 (the network's precision), labels are strings.
"""

from __future__ import annotations

from tonecls.score.core import ScoringModel, check_no_column_clash, resolve_model, score_frame

__all__ = ["ScoringModel", "check_no_column_clash", "resolve_model", "score_frame"]
