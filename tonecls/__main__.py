"""``python -m tonecls`` is the ``tonecls`` command."""

from tonecls.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
