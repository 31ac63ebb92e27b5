"""pcnopt: design Primary Care Networks with integer programming.

Pipeline stages, one module each: :mod:`pcnopt.io` (read and write),
:mod:`pcnopt.geography` (projection, places, catchments, adjacency),
:mod:`pcnopt.model` (the integer program), :mod:`pcnopt.validation` (the independent
rule checker), and the run orchestration in :mod:`pcnopt.pipeline`.
"""

from pcnopt._errors import InfeasiblePlaceError, InputError, OptionError, PcnoptError, SolverError

__all__ = ["InfeasiblePlaceError", "InputError", "OptionError", "PcnoptError", "SolverError"]
__version__ = "0.1.0"
