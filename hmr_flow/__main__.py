"""``python -m hmr_flow ...``: the same as the ``hmr-flow`` command."""

import sys

from hmr_flow.cli import main

if __name__ == "__main__":
    sys.exit(main())
