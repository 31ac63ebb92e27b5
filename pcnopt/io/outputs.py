"""Write a run's output folder atomically.

Files are written into a temporary folder beside the destination and moved into place only
when all of them are complete, so a failed or killed run never leaves a half set of files that
looks complete, and bad input leaves ``--out`` untouched.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt.errors import InputError, Problem
from pcnopt.io.paths import MANIFEST, check_output_place
from pcnopt.io.text import neutralise_cell, restore_cell

MARKER = "summary.json"
#: Files that differ from run to run by design (measured seconds): the manifest names them but
#: does not hash them, so the manifest itself is the same for the same inputs.
VOLATILE_FILES = frozenset({"run_log.json"})
_TOOL = "pcnopt"


def check_output_folder(out: str | Path, *, option: str = "--out") -> Path:
    """Check that ``out`` can receive a run's outputs (before any work is done).

    It must not lie under a file or inside another pcnopt output folder, and its name must
    fit the file system (:func:`pcnopt.io.paths.check_output_place`).

    An existing folder is replaced only if it is empty or is a pcnopt output folder exactly as
    pcnopt wrote it: its manifest (``pcnopt-manifest.json``) names pcnopt and every file in the
    folder, and every file still has the size and SHA-256 the manifest gives. Anything else —
    a folder that merely holds a ``summary.json``, a run with a file added, removed or edited —
    is the user's, and is never replaced.
    """
    out = check_output_place(out, option=option)
    recover_output_folder(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise InputError(
                Problem(
                    str(out),
                    "exists and is not a folder.",
                    f"choose a new folder name for {option}.",
                )
            )
        contents = list(out.iterdir())
        if contents:
            why = _not_ours(out, contents)
            if why:
                raise InputError(
                    Problem(
                        str(out),
                        f"the folder exists and is not a pcnopt run left as pcnopt wrote it "
                        f"({why}); pcnopt replaces only its own unchanged output folders and "
                        "will not touch this one.",
                        f"choose a new or empty folder for {option} (or move this one away "
                        "yourself).",
                    )
                )
    return out


def check_apart_from_inputs(out: str | Path, inputs: Sequence[str | Path], *, option: str) -> None:
    """Refuse an output folder that is one of the inputs, inside one, or holds one.

    Replacing such a folder would delete an input (``compare A B --out A``).
    """
    target = Path(out).resolve()
    for given in inputs:
        source = Path(given).resolve()
        if target == source or source in target.parents or target in source.parents:
            raise InputError(
                Problem(
                    str(out),
                    f"is {'one of' if target == source else 'inside or around one of'} the "
                    f"folders this command reads ({given}); writing there would replace it.",
                    f"choose a separate folder for {option}.",
                )
            )


def is_pcnopt_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is an output folder pcnopt wrote, unchanged since (see the manifest)."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return False
    return _not_ours(folder, list(folder.iterdir())) is None


def _not_ours(folder: Path, contents: list[Path]) -> str | None:
    """Why ``folder`` is not an unchanged pcnopt output folder, or None if it is."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return "holds files that pcnopt did not write (it has no pcnopt manifest)"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
        ok = data.get("tool") == _TOOL and isinstance(files, dict)
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        return f"its {MANIFEST} is not one pcnopt wrote"
    present = {p.name for p in contents} - {MANIFEST}
    extra = sorted(present - set(files))
    if extra:
        return "holds files pcnopt did not write: " + ", ".join(extra[:5])
    missing = sorted(set(files) - present)
    if missing:
        return "is missing files pcnopt wrote: " + ", ".join(missing[:5])
    for name, entry in files.items():
        path = folder / name
        if path.is_symlink() or not path.is_file():
            return f"its {name} is not the file pcnopt wrote"
        if name in VOLATILE_FILES and entry == {"volatile": True}:
            continue
        try:
            same = path.stat().st_size == entry["bytes"] and _sha256(path) == entry["sha256"]
        except (OSError, KeyError, TypeError):
            same = False
        if not same:
            return f"its {name} has been changed since pcnopt wrote it"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(folder: Path, *, command: str) -> None:
    files = {
        p.name: {"volatile": True}
        if p.name in VOLATILE_FILES
        else {"bytes": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.iterdir())
        if p.name != MANIFEST
    }
    text = json.dumps({"tool": _TOOL, "command": command, "files": files}, indent=2)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def write_folder(
    out: str | Path, writers: Mapping[str, Callable[[Path], None]], *, command: str
) -> Path:
    """Write every file into a temporary folder, then move it into place as ``out``.

    The files are written into ``.NAME.partial-PID-XXXX`` beside ``out``, the manifest last;
    an existing run is then moved to ``.NAME.old-PID-XXXX/run`` and the new one into its
    place, and the old one deleted. A run killed between those two renames leaves both,
    complete: the next command writing to ``out`` (or checking it) finishes the swap (see
    :func:`recover_output_folder`). Folders and files follow the user's umask.

    Parameters
    ----------
    out
        Destination folder (replaced only if it is an unchanged pcnopt output folder, see
        :func:`check_output_folder`).
    writers
        File name → function writing that file to the path it is given.
    command
        The pcnopt command writing the folder, recorded in its manifest.
    """
    out = check_output_folder(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)  # only now: bad input leaves no folder behind
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_PARTIAL}{os.getpid()}-", dir=parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        _follow_umask(tmp)
        _write_manifest(tmp, command=command)
        if out.exists():
            check_output_folder(out)  # still ours: nothing changed it during the run
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}{_OLD}{os.getpid()}-", dir=parent))
            os.replace(out, old / "run")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


_PARTIAL, _OLD = ".partial-", ".old-"


def recover_output_folder(out: str | Path) -> list[str]:
    """Finish or undo a swap of ``out`` that a killed run left half done; clean what it left.

    Only folders beside ``out`` named as pcnopt names its temporary folders
    (``.NAME.partial-PID-XXXX``, ``.NAME.old-PID-XXXX``) whose process is no longer running
    are considered, and of those only ones pcnopt wrote: a complete run (its manifest matches
    its files), an old run moved aside (``run`` inside, with a matching manifest), or an
    unfinished write that holds nothing but files. When ``out`` is missing, the newest
    complete new run is moved into place, else the old run is put back.

    Returns
    -------
    list of str
        What was done, one line each (empty when there was nothing to do).
    """
    out = Path(out)
    parent = Path(os.path.abspath(out)).parent
    if not parent.is_dir() or len(os.fsencode(out.name)) > 200:
        return []
    pattern = re.compile(
        rf"\.{re.escape(out.name)}({re.escape(_PARTIAL)}|{re.escape(_OLD)})(\d+)-[^/]+"
    )
    partial: list[Path] = []
    old: list[Path] = []
    for path in parent.iterdir():
        match = pattern.fullmatch(path.name)
        if not match or not path.is_dir() or path.is_symlink() or _alive(int(match.group(2))):
            continue
        (partial if match.group(1) == _PARTIAL else old).append(path)
    done: list[str] = []
    complete = sorted((p for p in partial if is_pcnopt_folder(p)), key=lambda p: p.stat().st_mtime)
    runs_aside = [p for p in old if is_pcnopt_folder(p / "run")]
    if not out.exists() and not out.is_symlink():
        if complete:
            os.replace(complete.pop(), out)
            done.append(f"finished the interrupted replacement of {out}")
        elif runs_aside:
            os.replace(runs_aside.pop() / "run", out)
            done.append(f"restored {out} as it was before an interrupted run")
    for path in partial:
        if path in complete or _only_files(path):
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name}, left by an interrupted run")
    for path in old:
        if path in runs_aside or not any(path.iterdir()):
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name}, left by an interrupted run")
    return done


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (this process counts: its folders are in use)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def _only_files(folder: Path) -> bool:
    """A partial write of pcnopt's: plain files only (pcnopt writes no subfolders)."""
    try:
        return all(p.is_file() and not p.is_symlink() for p in folder.iterdir())
    except OSError:
        return False


def current_umask() -> int:
    """The process's umask (read without changing it where Linux allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _follow_umask(folder: Path) -> None:
    """Give ``folder`` and its files the permissions the user's umask asks for.

    ``tempfile`` makes folders 0700 and files 0600, which would make every output private
    whatever the user's umask says.
    """
    mask = current_umask()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(0o666 & ~mask)
        elif path.is_dir() and not path.is_symlink():
            path.chmod(0o777 & ~mask)
    folder.chmod(0o777 & ~mask)


def write_files(writers: Mapping[str | Path, Callable[[Path], None]]) -> list[Path]:
    """Write several files all or none: each into a temporary file beside it, then into place.

    Used where one command writes separate files that belong together (``map``: the HTML and
    its PNG): if any writer fails, none of the files is written or replaced.
    """
    temps: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            target = Path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
            )
            os.close(fd)
            temps.append((Path(name), target))
            write(Path(name))
            Path(name).chmod(0o666 & ~current_umask())
        for tmp, target in temps:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    return [target for _, target in temps]


def describe_write_error(exc: OSError) -> str | None:
    """A one-line message for an operating-system error while writing, or None if not one.

    A full disk, an exceeded quota, a read-only file system or a permission refused are the
    user's to fix; anything else is a fault to report with its traceback.
    """
    causes = {
        errno.ENOSPC: ("the disk is full", "free some space (or choose a folder on another disk)"),
        errno.EDQUOT: ("the disk quota is used up", "free some space in your quota"),
        errno.EROFS: ("the file system is read-only", "choose a folder you can write to"),
        errno.EACCES: ("permission was refused", "choose a folder you can write to"),
        errno.EPERM: ("the operation is not permitted", "choose a folder you can write to"),
    }
    if exc.errno not in causes:
        return None
    what, fix = causes[exc.errno]
    where = f" writing {exc.filename}" if exc.filename else ""
    return (
        f"{what}{where}; nothing was half-written (outputs are written complete or not at "
        f"all). Fix: {fix}, then run the same command again."
    )


def _csv_cell(value: object) -> object:
    # a bare carriage return is not quoted by the csv module when lines end in LF, and
    # spreadsheets read it as a new row: line breaks in text are written as LF (quoted)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return neutralise_cell(value)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names no spreadsheet would evaluate.

    Numeric columns are untouched (a negative number is a number, not a formula). Carriage
    returns in text become line feeds, which the CSV writer quotes (a bare CR starts a row).
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        out[column] = values.map(_csv_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV (UTF-8, LF line ends, no index), formulas neutralised.

    Every CSV pcnopt writes goes through here (see :func:`neutralise_cell`).
    """
    neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\n")


def csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    """Writer for a CSV file (UTF-8, LF line ends, no index, formulas neutralised)."""
    return lambda path: write_csv(frame, path)


def geojson_writer(frame: gpd.GeoDataFrame) -> Callable[[Path], None]:
    """Writer for a GeoJSON file in WGS84 (RFC 7946), coordinates to 6 decimals."""

    def write(path: Path) -> None:
        data = json.loads(frame.to_crs("EPSG:4326").to_json(drop_id=True, to_wgs84=False))
        path.write_text(json.dumps(_round(data), ensure_ascii=False), encoding="utf-8")

    return write


def json_writer(data: Mapping[str, Any]) -> Callable[[Path], None]:
    """Writer for a pretty-printed JSON file; NaN and infinities are written as null.

    (``json`` would write ``NaN``, which is not JSON: other tools refuse the file.)
    """

    def write(path: Path) -> None:
        text = json.dumps(
            _finite(data), indent=2, ensure_ascii=False, default=_jsonable, allow_nan=False
        )
        path.write_text(text + "\n", encoding="utf-8")

    return write


def read_summary(folder: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a run folder, or :class:`InputError` saying why it is not one."""
    folder = Path(folder)
    fix = "give folders written by 'pcnopt run' or 'pcnopt optimise'."
    if not folder.is_dir():
        raise InputError(Problem(str(folder), "is not a folder.", fix))
    if not (folder / MARKER).is_file():
        raise InputError(Problem(str(folder), f"is not a finished pcnopt run (no {MARKER}).", fix))
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            Problem(str(folder / MARKER), f"cannot be read as JSON ({exc}).", fix)
        ) from None
    if not isinstance(data, dict) or not {"settings", "pcns", "pcnopt_version"} <= set(data):
        raise InputError(Problem(str(folder / MARKER), "is not the summary of a pcnopt run.", fix))
    return data


def text_writer(text: str) -> Callable[[Path], None]:
    """Writer for a text file."""

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a practices table atomically as CSV, GeoJSON, GeoPackage or Parquet (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".geojson", ".gpkg", ".parquet"}:
        raise InputError(
            Problem(
                str(path),
                f"cannot write a '{suffix}' file.",
                "use .csv, .geojson, .gpkg or .parquet.",
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".csv":
            table = frame.drop(columns="geometry") if "geometry" in frame else frame
            write_csv(table, tmp)
        elif suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            if not isinstance(frame, gpd.GeoDataFrame):
                frame = gpd.GeoDataFrame(
                    frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
                )
            tmp.unlink()
            frame.to_file(tmp, driver="GeoJSON" if suffix == ".geojson" else "GPKG")
        tmp.chmod(0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def read_output_csv(path: str | Path, **options: Any) -> pd.DataFrame:
    """Read back a CSV pcnopt wrote (``pandas.read_csv`` options), formula quoting undone.

    Raises :class:`InputError` when the file is missing or cannot be parsed.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, **options)
    except FileNotFoundError:
        raise InputError(
            Problem(
                str(path.parent),
                f"has no {path.name}: it is not a complete pcnopt run.",
                "give folders written by 'pcnopt run' or 'pcnopt optimise', unedited.",
            )
        ) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(
            Problem(
                str(path),
                f"cannot be read ({exc}).",
                "give folders written by 'pcnopt run' or 'pcnopt optimise', unedited.",
            )
        ) from None
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(restore_cell, na_action="ignore")
    frame.columns = [restore_cell(c) for c in frame.columns]
    return frame


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        item = value.item() if getattr(value, "ndim", 0) == 0 else value
        if isinstance(item, float) and not math.isfinite(item):
            return None
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
