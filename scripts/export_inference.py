"""Add the TensorFlow-free inference export (inference.json) to existing model bundles.

    .venv/bin/python scripts/export_inference.py tonecls/resources/default_model [more bundles...]

Bundles written by ``ToneModel.save`` since the export exists have it already; this is for
older bundles. It loads ``model.keras`` with Keras, exports the network, checks it against
Keras on a probe batch and writes ``inference.json`` (the weights stay in ``model.keras``).
"""

from __future__ import annotations

import argparse
import sys

from tonecls.errors import ToneclsError
from tonecls.model.bundle import export_inference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", help="model bundle directories")
    args = parser.parse_args(argv)
    for bundle in args.bundles:
        try:
            print(f"wrote {export_inference(bundle)}")
        except ToneclsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
