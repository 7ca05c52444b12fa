"""tonecls: sentiment and emotional-tone classification of social media posts.

Data flows ``io -> preprocess -> model -> score -> audit -> report``, with file jobs above:

- :mod:`tonecls.io` reads and writes post exports (the one place files are read, written and
  resumed); :mod:`tonecls.datasets` the benchmark data;
- :mod:`tonecls.preprocess` turns raw posts into tokens (PII scrubbed);
- :mod:`tonecls.model` builds, trains, evaluates, saves and loads the BiLSTM tone model;
- :mod:`tonecls.score` appends the model's predictions to a frame of posts;
- :mod:`tonecls.audit` computes group breakdowns, counterfactual probes and dialect groups;
- :mod:`tonecls.report` renders HTML / Markdown / JSON reports;
- :mod:`tonecls.jobs` runs each command over files (score, tokenise, audit, ...).

Heavy modules are imported lazily: ``import tonecls`` is cheap.
"""

from __future__ import annotations

from tonecls._lazy import lazy_getattr

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use)
_LAZY = {
    "tokenize": "tonecls.preprocess",
    "Preprocessor": "tonecls.preprocess",
    "load_model": "tonecls.model",
    "ToneModel": "tonecls.model",
    "score_frame": "tonecls.score",
    "score_file": "tonecls.jobs.score",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["__version__", *_LAZY]
