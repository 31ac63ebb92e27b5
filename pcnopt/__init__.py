"""pcnopt: design Primary Care Networks with integer programming.

Pipeline stages, one module each: :mod:`pcnopt.io` (read and write),
:mod:`pcnopt.geography` (projection, places, catchments, adjacency),
:mod:`pcnopt.model` (the integer program), :mod:`pcnopt.validation` (the independent
rule checker), and the run orchestration in :mod:`pcnopt.run`.
"""

from pcnopt.errors import InputError, OptionError, PcnoptError, Problem, SolverError

__all__ = ["InputError", "OptionError", "PcnoptError", "Problem", "SolverError"]
__version__ = "0.1.0"
