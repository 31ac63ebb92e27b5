"""Run pcnopt from a checkout: ``python cli.py COMMAND …`` is ``pcnopt COMMAND …`` installed.

The command line lives in :mod:`pcnopt.cli`; this file keeps the README's commands working as
written from the project folder.
"""

from pcnopt.cli import *  # noqa: F403  (``import cli`` gives the same names as before)
from pcnopt.cli import build_parser, main, run  # noqa: F401

if __name__ == "__main__":
    run()
