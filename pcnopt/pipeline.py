"""Deprecated alias of :mod:`pcnopt.run` (the run stage), kept while other code imports it."""

from pcnopt.run import *  # noqa: F403
from pcnopt.run import __all__  # noqa: F401
