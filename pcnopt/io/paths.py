"""Where outputs may go: never over an input, never under a file, never inside a run.

Checked before any work is done, so a bad ``--out`` or ``--report`` costs nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from pcnopt.errors import InputError, Problem

#: Longest file name (bytes) of common file systems (ext4, APFS, NTFS in UTF-16 units).
NAME_MAX = 255
#: What pcnopt adds to a folder's name for its temporary twins (``.NAME.partial-XXXXXXXX``).
_TWIN = len(".") + len(".partial-") + 8
#: A folder name pcnopt makes from user text (a scenario name).
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: The manifest naming every file of a pcnopt output folder (written by :mod:`.outputs`).
MANIFEST = "pcnopt-manifest.json"


def check_folder_name(name: str, *, file: str, key: str) -> str:
    """Refuse a name that cannot be a folder name on any common file system.

    Only letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, and short
    enough for the file system with pcnopt's temporary suffix (a trailing newline, a slash or
    300 characters are refused here, not after solving).
    """
    if not isinstance(name, str) or not FOLDER_NAME.fullmatch(name):
        raise InputError(
            Problem(
                file,
                f"key '{key}': {name!r} cannot be a folder name.",
                "use letters, digits, '.', '_' and '-' only (e.g. 'merge-z10009').",
            )
        )
    longest = NAME_MAX - _TWIN
    if len(name.encode("utf-8")) > longest:
        raise InputError(
            Problem(
                file,
                f"key '{key}': the name is {len(name)} characters; folder names can be at most "
                f"{longest} here.",
                "give a shorter name (put the detail in 'description').",
            )
        )
    return name


def check_output_place(out: str | Path, *, option: str) -> Path:
    """Refuse an output path whose name is too long or that lies under a file.

    Also refuses a path inside a pcnopt run folder (writing there would change that run).
    """
    out = Path(out)
    if len(os.fsencode(out.name)) > NAME_MAX - _TWIN:
        raise InputError(
            Problem(
                str(out),
                f"the name is too long for the file system ({len(os.fsencode(out.name))} bytes; "
                f"at most {NAME_MAX - _TWIN}).",
                f"choose a shorter name for {option}.",
            )
        )
    for parent in Path(os.path.abspath(out)).parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(
                Problem(
                    str(out),
                    f"cannot be made: {parent} is a file, not a folder.",
                    f"choose a folder for {option} that is not under a file.",
                )
            )
        if (parent / MANIFEST).is_file():
            raise InputError(
                Problem(
                    str(out),
                    f"is inside the pcnopt output folder {parent}; writing there would change "
                    "that run.",
                    f"choose a folder for {option} outside it.",
                )
            )
    return out


def check_output_file(
    path: str | Path,
    *,
    inputs: Sequence[str | Path | None],
    option: str,
    suffix: str | None = None,
) -> Path:
    """Refuse an output file that is one of the inputs, a folder, or under a file.

    Parameters
    ----------
    path
        The file to be written (e.g. ``validate --report``, ``prepare-nhs --out``).
    inputs
        Every file the command reads (``None`` entries are skipped).
    option
        The option as the user wrote it, for the message.
    suffix
        The extension the file must have (e.g. ``.png``), if one.
    """
    path = Path(path)
    if suffix is not None and path.suffix.lower() != suffix:
        raise InputError(
            Problem(
                str(path),
                f"pcnopt writes {suffix} files here, not '{path.suffix or '(no extension)'}'.",
                f"give {option} a file name ending in {suffix}.",
            )
        )
    check_output_place(path, option=option)
    if path.is_dir():
        raise InputError(
            Problem(str(path), "is a folder.", f"give {option} a file name, e.g. report.csv.")
        )
    target = Path(os.path.abspath(path))
    for given in inputs:
        if given is None:
            continue
        source = Path(given)
        same = target == Path(os.path.abspath(source))
        if not same and path.exists() and source.exists():
            same = os.path.samefile(path, source)
        if same or (source.exists() and target.resolve() == source.resolve()):
            raise InputError(
                Problem(
                    str(path),
                    f"is one of this command's input files ({given}); writing there would "
                    "replace it.",
                    f"choose another file name for {option}.",
                )
            )
    return path
