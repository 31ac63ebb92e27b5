"""``python -m pcnopt COMMAND …``: the same as the ``pcnopt`` console script."""

import sys

from pcnopt.cli import main

if __name__ == "__main__":
    sys.exit(main())
