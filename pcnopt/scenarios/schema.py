"""Read and check scenario TOML files (the schema is documented in :mod:`pcnopt.scenarios`).

:func:`scenario_from_file` turns a file into a :class:`Scenario`: the run's settings and its
changes.

Every problem of one file (unknown keys, wrong types, a change naming no practice, merging a
practice with itself, a cycle of ``extend``) is collected and reported together, each naming
the file and the key (``changes[2].practices``) and saying how to fix it.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pcnopt import __version__
from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io.paths import check_folder_name
from pcnopt.settings import SECTIONS as SETTING_SECTIONS
from pcnopt.settings import SETTINGS, RunConfig, SettingError, check_resources, key_name

#: The settings a scenario file can set, by section: key → kind (:data:`pcnopt.settings.SETTINGS`).
SECTIONS: dict[str, dict[str, str]] = {
    section: {
        s.key.split(".", 1)[1]: s.kind for s in SETTINGS.values() if s.key.startswith(f"{section}.")
    }
    for section in SETTING_SECTIONS
}
#: Settings written at the top of a scenario file (``[[level]]`` tables): key → kind.
TOP_SETTINGS: dict[str, str] = {
    s.key: s.kind for s in SETTINGS.values() if s.key and "." not in s.key
}
TOP_LEVEL = ("name", "description", "extends", "changes", *SECTIONS, *TOP_SETTINGS)

CHANGES: dict[str, dict[str, str]] = {
    "merge": {"practices": "codes", "into": "code", "name": "str"},
    "close": {"practice": "code", "to": "str", "k": "int"},
    "grow": {"percent": "number", "practices": "codes", "place": "str", "polygon": "polygon"},
    "add": {
        "code": "code",
        "name": "str",
        "list_size": "int",
        "lat": "number",
        "lon": "number",
        "easting": "number",
        "northing": "number",
        "weighted_population": "number",
        "patients_65_plus": "number",
        "current_pcn": "str",
        "place_id": "str",
        "postcode": "str",
    },
    "set": {"practice": "code", "values": "table"},
}
REQUIRED = {
    "merge": ("practices",),
    "close": ("practice",),
    "grow": ("percent",),
    "add": ("code", "list_size"),
    "set": ("practice", "values"),
}
SETTABLE = {
    "name": "str",
    "list_size": "int",
    "weighted_population": "number",
    "patients_65_plus": "number",
    "current_pcn": "str",
    "place_id": "str",
    "postcode": "str",
    "lat": "number",
    "lon": "number",
}
DISPERSAL = ("inverse_distance", "nearest")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")  # \Z: "name\n" is not a name


@dataclass(frozen=True)
class ChangeSpec:
    """One change as written in a scenario file.

    Attributes
    ----------
    kind
        "merge", "close", "grow", "add" or "set".
    params
        The change's keys (paths resolved against its file), as sorted ``(key, value)`` pairs.
    file
        The file that defines it.
    key
        Where it is in that file, e.g. ``changes[2]``.
    """

    kind: str
    params: tuple[tuple[str, Any], ...]
    file: str
    key: str

    def get(self, name: str, default: Any = None) -> Any:
        """The value of one key of the change."""
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file after ``extend`` is resolved: settings merged, changes in order."""

    name: str
    file: str
    description: str
    chain: tuple[str, ...]
    settings: Mapping[str, Mapping[str, tuple[Any, str]]]
    changes: tuple[ChangeSpec, ...]


def read_scenario_file(path: str | Path) -> ScenarioFile:
    """Read one scenario file and the files it extends.

    Parameters
    ----------
    path
        The TOML file.

    Raises
    ------
    InputError
        Listing every problem, each naming the file and the key.
    """
    path = Path(path)
    data = _load(path, ())
    name = data["name"] if data["name"] is not None else path.stem
    check_folder_name(name, file=str(path), key="name")  # fullmatch: no trailing newline
    return ScenarioFile(
        name=name,
        file=str(path),
        description=data["description"] or "",
        chain=tuple(data["chain"]),
        settings=data["settings"],
        changes=tuple(data["changes"]),
    )


def _load(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:  # noqa: C901, PLR0912  (one pass, every problem)
    resolved = path.resolve()
    file = str(path)
    if resolved in seen:
        cycle = " -> ".join(str(p) for p in (*seen, resolved))
        raise InputError(
            Problem(
                str(seen[-1]),
                f"key 'extends': the files extend each other in a cycle ({cycle}).",
                "make one of them extend nothing (the base of the family).",
            )
        )
    if not path.exists():
        where = f"{seen[-1]}, key 'extends'" if seen else "scenario file"
        raise InputError(
            Problem(
                file,
                f"does not exist ({where}).",
                "check the path; 'extends' is relative to the file that names it.",
            )
        )
    if not path.is_file():
        where = f"{seen[-1]}, key 'extends'" if seen else "scenario file"
        raise InputError(
            Problem(
                file, f"is a folder, not a scenario file ({where}).", "give the .toml file itself."
            )
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(
                file,
                f"is not valid TOML ({exc}).",
                "check quotes, brackets and '=' signs (https://toml.io).",
            )
        ) from None
    problems: list[Problem] = []
    base = path.parent

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(file, f"key '{key}': {message}", fix))

    for key in raw:
        if key not in TOP_LEVEL:
            bad(key, "unknown key.", f"use only {', '.join(TOP_LEVEL)} (see examples/README.md).")
    settings: dict[str, dict[str, tuple[Any, str]]] = {}
    for section, keys in SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            bad(section, "must be a table.", f"write [{section}] on its own line, then its keys.")
            continue
        settings[section] = {}
        for key, value in table.items():
            where = f"{section}.{key}"
            if key not in keys:
                bad(where, "unknown key.", f"[{section}] takes {', '.join(keys)}.")
                continue
            checked = _check(value, keys[key], where, bad, base)
            if checked is not _BAD:
                settings[section][key] = (checked, file)
    settings[""] = {}  # the top-level settings ([[level]])
    for key, kind in TOP_SETTINGS.items():
        if key in raw:
            checked = _check(raw[key], kind, key, bad, base)
            if checked is not _BAD:
                settings[""][key] = (checked, file)
    for key in ("name", "description", "extends"):
        if key in raw and not isinstance(raw[key], str):
            bad(key, "must be a string.", f'write {key} = "..." with quotes.')
    changes = []
    listed = raw.get("changes", [])
    if not isinstance(listed, list):
        bad("changes", "must be a list of tables.", "write each change as [[changes]].")
        listed = []
    for k, change in enumerate(listed):
        spec = _change(change, f"changes[{k}]", file, bad, base)
        if spec is not None:
            changes.append(spec)
    if problems:
        raise InputError(problems)
    data: dict[str, Any] = {
        "name": raw.get("name"),
        "description": raw.get("description"),
        "chain": [file],
        "settings": settings,
        "changes": changes,
    }
    if "extends" in raw:
        parent = _load(base / raw["extends"], (*seen, resolved))
        merged = {
            s: {**parent["settings"].get(s, {}), **settings.get(s, {})} for s in (*SECTIONS, "")
        }
        data.update(
            settings=merged,
            changes=[*parent["changes"], *changes],
            chain=[file, *parent["chain"]],
            description=raw.get("description", parent["description"]),
        )
    return data


_BAD = object()


# one branch per kind of value, each with its own message: clearer in one place than split
def _check(value: Any, kind: str, key: str, bad: Any, base: Path) -> Any:  # noqa: C901, PLR0911, PLR0912
    """Return the value converted for its kind, or ``_BAD`` after recording the problem."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "path":
        if isinstance(value, str) and value.strip():
            return (base / value).resolve()
        bad(key, "must be a file path in quotes.", "paths are relative to the scenario file.")
    elif kind in {"str", "code"}:
        if isinstance(value, str) and value.strip():
            return value.strip().upper() if kind == "code" else value.strip()
        bad(key, "must be a non-empty string.", f'write {key.rsplit(".", 1)[-1]} = "...".')
    elif kind == "number":
        if number and math.isfinite(value):  # TOML has inf and nan
            return float(value)
        bad(key, f"must be a finite number, not {value!r}.", "write it without quotes, e.g. 30000.")
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        bad(key, f"must be a whole number, not {value!r}.", "write it without quotes, e.g. 3.")
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        bad(key, f"must be true or false, not {value!r}.", "write true or false (no quotes).")
    elif kind == "table":
        if isinstance(value, dict) and value:
            return value
        bad(key, "must be a table with at least one key.", "e.g. values = { list_size = 9000 }.")
    elif kind == "table_str":
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return tuple(sorted((str(k), v.strip()) for k, v in value.items()))
        bad(key, "must be a table of strings.", 'e.g. { Z10009 = "north" }.')
    elif kind in {"codes", "strs"}:
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            items = [v.strip().upper() if kind == "codes" else v.strip() for v in value]
            return tuple(items)
        bad(key, "must be a list of strings.", 'e.g. ["Z10009", "Z10459"].')
    elif kind == "groups":
        if isinstance(value, list) and all(
            isinstance(g, list) and len(g) >= 2 and all(isinstance(c, str) for c in g)
            for g in value
        ):
            return tuple(tuple(c.strip().upper() for c in g) for g in value)
        bad(
            key,
            "must be a list of lists of two or more practice codes.",
            'e.g. [["Z10009", "Z10459"]].',
        )
    elif kind == "objective":
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple((v.strip(), 1.0) for v in value)
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values())
        ):
            return tuple((k, float(v)) for k, v in value.items())
        bad(
            key,
            "must be a name, a list of names, or a table of weights.",
            'e.g. "compact", ["compact", "boundary"] or { compact = 1, boundary = 50 }.',
        )
    elif kind == "n_pcns":
        if value == "fewest" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        bad(key, f'must be a whole number or "fewest", not {value!r}.', "e.g. n_pcns = 4.")
    elif kind == "year":
        if value is False or (isinstance(value, str) and value.lower() == "none"):
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        bad(
            key,
            f'must be a contract year such as "2025/26", or false; not {value!r}.',
            'write year = "2025/26" (quoted), or year = false for no funding tables.',
        )
    elif kind == "polygon":
        if isinstance(value, str) and value.strip():
            return (base / value).resolve()
        if (
            isinstance(value, list)
            and len(value) >= 3
            and all(
                isinstance(p, list)
                and len(p) == 2
                and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
                for p in value
            )
        ):
            return tuple((float(lon), float(lat)) for lon, lat in value)
        bad(
            key,
            "must be a polygon file path, or a list of three or more [lon, lat] points.",
            "e.g. polygon = [[-0.2, 53.1], [-0.1, 53.1], [-0.1, 53.2]].",
        )
    elif kind == "levels":
        return _levels(value, key, bad)
    else:  # pragma: no cover - schema typo
        raise AssertionError(kind)
    return _BAD


def _levels(value: Any, key: str, bad: Any) -> Any:
    """``[[level]]`` tables (``name``, ``min_size``, ``max_size``) as ``(name, min, max)``."""
    fix = 'write each level as [[level]] with name = "pcn", min_size = 30000, max_size = 50000.'
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        bad(key, "must be a list of tables.", fix)
        return _BAD
    levels = []
    for k, table in enumerate(value):
        where = f"{key}[{k}]"
        unknown = sorted(set(table) - {"name", "min_size", "max_size"})
        if unknown:
            bad(f"{where}.{unknown[0]}", "unknown key.", "a level takes name, min_size, max_size.")
        name = _check(table.get("name"), "str", f"{where}.name", bad, Path())
        low = _check(table.get("min_size"), "number", f"{where}.min_size", bad, Path())
        high = _check(table.get("max_size"), "number", f"{where}.max_size", bad, Path())
        if _BAD in (name, low, high) or unknown:
            return _BAD
        levels.append((name, low, high))
    return tuple(levels)


# the rules of each change kind, in the order the schema documents them
def _change(  # noqa: C901, PLR0912
    change: Any, key: str, file: str, bad: Any, base: Path
) -> ChangeSpec | None:
    if not isinstance(change, dict):
        bad(key, "must be a table.", "write each change as [[changes]] followed by its keys.")
        return None
    kind = change.get("type")
    if kind not in CHANGES:
        bad(f"{key}.type", f"{kind!r} is not a change type.", f"use one of {', '.join(CHANGES)}.")
        return None
    allowed = CHANGES[kind]
    params: dict[str, Any] = {}
    ok = True
    for name, value in change.items():
        if name == "type":
            continue
        if name not in allowed:
            bad(
                f"{key}.{name}",
                f"unknown key for a '{kind}' change.",
                f"a '{kind}' change takes {', '.join(allowed)}.",
            )
            ok = False
            continue
        checked = _check(value, allowed[name], f"{key}.{name}", bad, base)
        if checked is _BAD:
            ok = False
        else:
            params[name] = checked
    for name in REQUIRED[kind]:
        if name not in change:
            bad(
                f"{key}.{name}", f"a '{kind}' change needs this key.", f"add {name} = ... to {key}."
            )
            ok = False
    if not ok:
        return None
    if kind == "merge":
        codes = params["practices"]
        if len(codes) < 2:
            bad(
                f"{key}.practices",
                "a merge needs two or more practices.",
                'list the practices that merge, e.g. ["Z10009", "Z10459"].',
            )
            ok = False
        elif len(set(codes)) < len(codes):
            twice = sorted({c for c in codes if codes.count(c) > 1})
            bad(
                f"{key}.practices",
                f"merges practice {', '.join(twice)} with itself.",
                "list each merging practice once.",
            )
            ok = False
        if "into" in params and params["into"] not in codes:
            bad(
                f"{key}.into",
                f"{params['into']} is not one of the merging practices.",
                "name the practice whose site and code the merged practice keeps.",
            )
            ok = False
    elif kind == "close":
        if params.get("to", "inverse_distance") not in DISPERSAL:
            bad(
                f"{key}.to",
                f"{params['to']!r} is not a dispersal rule.",
                f"use one of {', '.join(DISPERSAL)}.",
            )
            ok = False
        if params.get("k", 3) < 1:
            bad(f"{key}.k", "must be 1 or more.", "give the number of receiving practices.")
            ok = False
    elif kind == "grow":
        chosen = [s for s in ("practices", "place", "polygon") if s in params]
        if len(chosen) != 1:
            bad(
                key,
                "a 'grow' change needs exactly one of practices, place or polygon.",
                'say whose lists grow: practices = [...], place = "P01" or polygon = ....',
            )
            ok = False
        if params["percent"] <= -100:
            bad(f"{key}.percent", "must be above -100.", "a list cannot shrink below zero.")
            ok = False
    elif kind == "add":
        has_ll = "lat" in params and "lon" in params
        has_en = "easting" in params and "northing" in params
        if has_ll == has_en:
            bad(
                key,
                "an 'add' change needs the site as lat and lon, or easting and northing.",
                "e.g. lat = 53.16, lon = -0.17.",
            )
            ok = False
        if params["list_size"] < 0:
            bad(f"{key}.list_size", "must be 0 or more.", "give the new site's registered list.")
            ok = False
    elif kind == "set":
        values = []
        for name, value in params["values"].items():
            if name not in SETTABLE:
                bad(
                    f"{key}.values.{name}",
                    "is not a practice attribute that can be set.",
                    f"set one of {', '.join(SETTABLE)}.",
                )
                ok = False
                continue
            checked = _check(value, SETTABLE[name], f"{key}.values.{name}", bad, base)
            if checked is _BAD:
                ok = False
            else:
                values.append((name, checked))
        params["values"] = tuple(sorted(values))
    if not ok:
        return None
    return ChangeSpec(kind=kind, params=tuple(sorted(params.items())), file=file, key=key)


#: Settings of a scenario file → :class:`pcnopt.settings.RunConfig` fields.
CONFIG_KEYS = {
    (s.key.partition(".")[0], s.key.partition(".")[2]) if "." in s.key else ("", s.key): field
    for field, s in SETTINGS.items()
    if s.key
}


@dataclass(frozen=True)
class Scenario:
    """One what-if run: the settings of an ``optimise`` run and the changes made before it.

    Parameters
    ----------
    name
        Folder name of the scenario's outputs (letters, digits, ``.``, ``_``, ``-``).
    config
        The run's settings (``jobs`` is ignored: the batch's engine solves the places).
    changes
        Changes to the practices table, in order.
    file
        The scenario file ("" when built in code).
    description
        Free text, copied to ``summary.json``.
    chain
        The file and the files it extends, nearest first.
    """

    name: str
    config: RunConfig
    changes: tuple[ChangeSpec, ...] = ()
    file: str = ""
    description: str = ""
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise OptionError(
                f"scenario name {self.name!r} cannot be a folder name; use letters, "
                "digits, '.', '_' and '-'."
            )

    @property
    def digest(self) -> str:
        """A hash of everything that decides the scenario's outputs.

        The settings, the changes, and the size and modification time of every input file
        (so editing the practices file makes a finished scenario run again).
        """
        files = [
            self.config.practices,
            self.config.places,
            self.config.rates,
            *(v for c in self.changes for _, v in c.params if isinstance(v, Path)),
        ]
        stamps = []
        for path in files:
            if path is not None and Path(path).exists():
                stat = Path(path).stat()
                stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
        text = repr((__version__, self.config, self.changes, stamps))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """The scenario as written to ``summary.json``."""
        return {
            "name": self.name,
            "file": self.file,
            "description": self.description,
            "extends": list(self.chain[1:]),
            "digest": self.digest,
            "changes": [
                {
                    "key": c.key,
                    "file": c.file,
                    "type": c.kind,
                    **{k: _jsonable(v) for k, v in c.params},
                }
                for c in self.changes
            ],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def scenario_from_file(path: str | Path) -> Scenario:
    """Read a scenario file (and the files it extends) and check it.

    Parameters
    ----------
    path
        The TOML file (schema in the module docstring).

    Raises
    ------
    InputError
        Every problem of the file, each naming the file and the key.
    """
    spec = read_scenario_file(path)
    fields: dict[str, Any] = {}
    where: dict[str, str] = {}
    for section, values in spec.settings.items():
        for key, (value, file) in values.items():
            fields[CONFIG_KEYS[(section, key)]] = value
            where[f"{section}.{key}" if section else key] = file
    fields.setdefault("jobs", 1)
    if "place_field" in fields and "practices" not in fields:
        raise InputError(
            Problem(
                where["inputs.place_field"],
                "key 'inputs.place_field' needs "
                "inputs.practices (the embedded demo has its places file).",
                'add practices = "..." to [inputs], or remove place_field.',
            )
        )
    if "places" in fields and "practices" not in fields:
        raise InputError(
            Problem(
                where["inputs.places"],
                "key 'inputs.places' needs inputs.practices.",
                "name the practices file too.",
            )
        )
    try:
        config = RunConfig(**fields)
        check_resources(config)
    except SettingError as exc:
        key = key_name(exc.settings[0]) if exc.settings else "solver"
        raise InputError(
            Problem(
                where.get(key, spec.file),
                f"key '{key}': {exc.render(key_name)}",
                "change the scenario's settings (see examples/README.md).",
            )
        ) from None
    except InputError as exc:  # the rates file
        raise InputError(
            Problem(
                where.get("funding.rates", spec.file),
                f"key 'funding.rates': {exc}",
                "change the scenario's settings (see examples/README.md).",
            )
        ) from None
    return Scenario(
        name=spec.name,
        config=config,
        changes=spec.changes,
        file=spec.file,
        description=spec.description,
        chain=spec.chain,
    )


def scenarios_from_files(paths: Sequence[str | Path]) -> tuple[Scenario, ...]:
    """Read several scenario files, reporting the problems of all of them together.

    Raises
    ------
    InputError
        Every problem of every file; also two scenarios with the same name.
    """
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            scenarios.append(scenario_from_file(path))
        except InputError as exc:
            problems += exc.problems
    seen: dict[str, str] = {}
    for s in scenarios:
        if s.name in seen:
            problems.append(
                Problem(
                    s.file,
                    f"key 'name': scenario {s.name!r} is also the name of "
                    f"{seen[s.name]}; both would write DIR/{s.name}/.",
                    "give each scenario its own name.",
                )
            )
        seen.setdefault(s.name, s.file)
    if problems:
        raise InputError(problems)
    return tuple(scenarios)
