"""Exception types with messages a commissioning analyst can act on.

Every problem found in one input is collected and reported together (as osmnx's
``_validate`` does); the command line prints the message without a traceback and
exits non-zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["InputError", "OptionError", "PcnoptError", "Problem", "SolverError"]


@dataclass(frozen=True)
class Problem:
    """One problem in one input file.

    Parameters
    ----------
    file
        The file the problem is in (as the user gave it).
    message
        What is wrong, in words a commissioner understands.
    fix
        What to do about it.
    rows
        1-based data row numbers as a spreadsheet shows them (the header is row 1,
        so the first practice is row 2); empty when the problem is not about rows.
    column
        The column concerned, if any.
    row_word
        What a row is called in this file ("row" for tables, "feature" for vector files).
    """

    file: str
    message: str
    fix: str = ""
    rows: tuple[int, ...] = ()
    column: str | None = None
    row_word: str = "row"

    def render(self) -> str:
        """Return the problem as one readable paragraph."""
        where = [f"{self.file}"]
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:10])
            more = f" and {len(self.rows) - 10} more" if len(self.rows) > 10 else ""
            plural = "s" if len(self.rows) > 1 else ""
            where.append(f"{self.row_word}{plural} {shown}{more}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}"
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class PcnoptError(Exception):
    """Base class of every error pcnopt raises on purpose."""


class InputError(PcnoptError, ValueError):
    """An input file or option cannot be used as given.

    Parameters
    ----------
    problems
        Every problem found in the input, reported together.
    """

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].render()
        lines = [f"{len(self.problems)} problems found:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        return "\n".join(lines)


class OptionError(PcnoptError, ValueError):
    """A command-line option or run setting is invalid."""


class SolverError(PcnoptError, RuntimeError):
    """The integer-programming solver is missing or failed."""


class UnmeetableCountError(PcnoptError):
    """The number of PCNs asked for cannot be met in some place (a run-time finding: exit 1).

    Raised after solving, instead of writing a configuration that ignores the count.
    """

    exit_code = 1
