"""Quiet TensorFlow: no C++ / absl log lines (``E0000 ... oneDNN``) on the user's terminal.

TensorFlow's native code logs through absl before any Python setting can reach it (``WARNING:
All log messages before absl::InitializeLog() ...``, ``I0000 ... oneDNN custom operations
...``), so :func:`import_keras` imports Keras / TensorFlow with the process' stderr file
descriptor pointed at ``/dev/null`` and sets the log levels below errors. Settings the user
made (``TF_CPP_MIN_LOG_LEVEL`` etc.) are kept; ``TONECLS_TF_LOGS=1`` shows everything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (native code writes there directly)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. some notebook kernels)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# Keras 3's ``Variable.__array__(self, dtype=None)`` takes no ``copy`` keyword, so numpy >= 2 warns
# (DeprecationWarning, then retries without it) whenever a Keras variable goes through
# ``np.array(variable)``, as ``keras.ops.convert_to_numpy(variable)`` does. tonecls' own code
# reads weights with ``variable.numpy()`` (no warning); Keras' saver still converts every weight
# that way (keras/src/backend/tensorflow/core.py, ``convert_to_numpy``), so saving a network
# ignores this one warning from Keras' modules: harmless, and not the user's to act on.
NUMPY_COPY_WARNING = "__array__ implementation doesn't accept a copy keyword"


@contextlib.contextmanager
def keras_numpy_copy_warning_ignored() -> Iterator[None]:
    """Ignore numpy's ``copy`` keyword DeprecationWarning raised from Keras' own modules."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NUMPY_COPY_WARNING, category=DeprecationWarning,
                                module=r"keras(\.|$)")
        yield


def import_keras() -> ModuleType:
    """``import keras`` (TensorFlow backend) without TensorFlow's start-up log lines."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    if os.environ.get("TONECLS_TF_LOGS") == "1":
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    with _native_stderr_silenced():
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)
        try:
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        except ImportError:  # pragma: no cover
            pass
    return keras
