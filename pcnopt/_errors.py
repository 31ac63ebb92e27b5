"""Deprecated alias of :mod:`pcnopt.errors`, kept while other branches import this name."""

from pcnopt.errors import InputError, OptionError, PcnoptError, Problem, SolverError  # noqa: F401
