"""Studies as data: each study of the notebooks is one TOML file in ``labseg/studies/`` (shipped with the
package, since the library reads it: the arm tables of :mod:`labseg.results` are loaded from these files).

A file holds a study's defaults (profile, data, seeds) and parts; a part is a table with defaults of its own
(model, budgets) and a list of arm records::

    [recipe]
    model = "unet"
    budgets = [4]                      # multiples of the profile's epochs
    why = "what the part asks"

    [[recipe.arm]]
    name = "wd-0.05"                   # defined once in its part
    base = "strong"                    # the arm it builds on: "arm", "part/arm" or "study/part/arm"
    set = { weight_decay = 5e-2 }      # RunConfig fields it changes, or a share (SHARES): swa_share, low_res_scale
    adds = ["mild-affine"]             # other arms whose changes it combines (optional)
    why = "one line: why the arm exists"

An arm without a base starts from the profile; an arm with ``derived = "factor_recipe"`` starts from settings
read from the study's results (06-08's verdicts), so none are written here. Every problem of a file is one
:class:`StudyFileError` line naming the file, the arm and the field.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .config import MIN_IMAGE_SIZE, PROFILES, RunConfig, field_names, profile_config
from .labels import setting_words

STUDY_DIR = Path(__file__).resolve().parent / "studies"
STUDY_KEYS = {"title", "notebooks", "profile", "data", "out_dir", "seeds", "targets", "next_targets", "max_minutes"}
PART_KEYS = {"model", "models", "budgets", "seeds", "why", "arm"}
ARM_KEYS = {"name", "base", "set", "adds", "models", "budgets", "seeds", "why", "derived"}
DERIVED = {"factor_recipe": "the settings the one-factor studies 06-08 support (results.factor_recipe)"}
# settings an arm may not set: they are the study's (data, profile), the record's (models, budgets, seeds) or
# the machine's (device, threads, out_dir)
NOT_ARM_SETTINGS = {"data", "model", "seed", "epochs", "repeats", "profile", "out_dir", "device", "threads",
                    "cache_dir", "num_workers", "tensorboard", "strict", "pretrained"}
# settings an arm gives as a share of a run's own value, so that one arm fits every budget and image size: each is
# the RunConfig field it becomes (round(share x value)) and the run value it is a share of
SHARES = {"swa_share": ("swa_epochs", "epochs"),  # the averaging phase: the last share of the epochs
          "low_res_scale": ("low_res", "image_size")}  # progressive resizing's early size: a share of the image size
# the least a share's field becomes (a share of a small run would go below what the run takes): 0.5 x 48 px -> 32
SHARE_FLOORS = {"low_res_scale": MIN_IMAGE_SIZE}


class StudyFileError(ValueError):
    """A study file that cannot be used: one line naming the file, the arm and the field."""


@dataclass
class Arm:
    name: str
    part: str
    study: str
    why: str
    base: str | None = None
    sets: dict = field(default_factory=dict)
    adds: tuple[str, ...] = ()
    models: tuple[str, ...] = ("unet",)
    budgets: tuple[float, ...] = (1,)
    seeds: tuple[int, ...] = (0,)
    derived: str | None = None
    own_budgets: bool = False  # the record sets its budgets (not the part's)
    own_models: bool = False  # the record sets its models (not the part's)

    @property
    def ref(self) -> str:
        return f"{self.study}/{self.part}/{self.name}"


@dataclass
class StudyFile:
    name: str
    path: Path
    title: str
    profile: str
    data: str
    out_dir: str = "results"
    notebooks: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0,)
    targets: dict = field(default_factory=dict)
    next_targets: dict = field(default_factory=dict)  # the quality the candidates beyond the chosen recipe aim at
    max_minutes: float | None = None
    parts: dict[str, dict[str, Arm]] = field(default_factory=dict)
    part_why: dict[str, str] = field(default_factory=dict)

    def arms(self):
        """Every arm of the file, part by part, in the file's order."""
        return [arm for part in self.parts.values() for arm in part.values()]


def _bad(path: Path, where: str, what: str) -> StudyFileError:
    return StudyFileError(f"{path}: {where}: {what}")


def _numbers(path, where, key, value, kind) -> tuple:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, kind) and not isinstance(v, bool) and v >= 0 for v in value):
        raise _bad(path, where, f"field '{key}' must be a non-empty list of numbers >= 0, not {value!r}")
    if len(set(value)) != len(value):
        raise _bad(path, where, f"field '{key}' lists a value twice: {value!r}")
    return tuple(value)


def _arm(path: Path, study: str, part: str, raw, defaults: dict) -> Arm:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise _bad(path, f"part '{part}'", "every arm needs field 'name' (a non-empty string)")
    name, where = raw["name"], f"arm '{raw['name']}'"
    if "/" in name:
        raise _bad(path, where, "field 'name' may not hold '/' (it separates study, part and arm in a base)")
    unknown = sorted(set(raw) - ARM_KEYS)
    if unknown:
        raise _bad(path, where, f"unknown field '{unknown[0]}'; an arm has: {', '.join(sorted(ARM_KEYS))}")
    if not isinstance(raw.get("why"), str) or not raw["why"].strip():
        raise _bad(path, where, "field 'why' must say in one line why the arm exists")
    sets = raw.get("set", {})
    if not isinstance(sets, dict):
        raise _bad(path, where, "field 'set' must be a table of settings, e.g. set = { lr = 2e-3 }")
    for key, value in sets.items():
        if key in SHARES:
            if not isinstance(value, float) or not 0 < value < 1:
                raise _bad(path, where, f"field 'set.{key}' must be a number in (0, 1), not {value!r}")
        elif key not in field_names() or key in NOT_ARM_SETTINGS:
            raise _bad(path, where, f"field 'set.{key}': unknown setting; an arm sets RunConfig fields other than "
                                    f"{', '.join(sorted(NOT_ARM_SETTINGS))} (or a share: {', '.join(SHARES)})")
    adds, base, derived = raw.get("adds", []), raw.get("base"), raw.get("derived")
    if not isinstance(adds, list) or not all(isinstance(a, str) for a in adds):
        raise _bad(path, where, "field 'adds' must be a list of arm names")
    if base is not None and not isinstance(base, str):
        raise _bad(path, where, "field 'base' must be an arm name ('arm', 'part/arm' or 'study/part/arm')")
    if derived is not None and (derived not in DERIVED or base is not None or sets or adds):
        raise _bad(path, where, f"field 'derived' must be one of {', '.join(DERIVED)}, on an arm without base, "
                                "set or adds")
    models = raw.get("models", defaults["models"])
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise _bad(path, where, f"field 'models' must be a non-empty list of model names, not {models!r}")
    return Arm(name=name, part=part, study=study, why=raw["why"].strip(), base=base, sets=dict(sets),
               adds=tuple(adds), models=tuple(models),
               budgets=_numbers(path, where, "budgets", raw.get("budgets", defaults["budgets"]), (int, float)),
               seeds=_numbers(path, where, "seeds", raw.get("seeds", defaults["seeds"]), int),
               derived=derived, own_budgets="budgets" in raw, own_models="models" in raw)


def _header(path: Path, raw: dict) -> StudyFile:
    for key in ("title", "profile", "data"):
        if not isinstance(raw.get(key), str):
            raise _bad(path, "study", f"field '{key}' must be a string")
    if raw["profile"] not in PROFILES:
        raise _bad(path, "study", f"field 'profile': unknown profile {raw['profile']!r}; "
                                  f"choose one of: {', '.join(PROFILES)}")
    targets, next_targets = raw.get("targets", {}), raw.get("next_targets", {})
    for key, table in (("targets", targets), ("next_targets", next_targets)):
        if not isinstance(table, dict) or not all(isinstance(v, float) for v in table.values()):
            raise _bad(path, "study", f"field '{key}' must be a table of model = test dice")
    minutes = raw.get("max_minutes")
    if minutes is not None and (not isinstance(minutes, (int, float)) or minutes <= 0):
        raise _bad(path, "study", f"field 'max_minutes' must be a number > 0, not {minutes!r}")
    return StudyFile(name=path.stem, path=path, title=raw["title"], profile=raw["profile"], data=raw["data"],
                     out_dir=str(raw.get("out_dir", "results")), notebooks=tuple(raw.get("notebooks", ())),
                     seeds=_numbers(path, "study", "seeds", raw.get("seeds", [0]), int), targets=dict(targets),
                     next_targets=dict(next_targets), max_minutes=minutes)


def read_study_file(path: str | Path) -> StudyFile:
    """One study file, checked on its own (its bases are checked by :func:`load_studies`)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"{path}: not valid TOML: {exc}") from None
    study = _header(path, raw)
    for key, value in raw.items():
        if key in STUDY_KEYS:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("arm"), list):
            raise _bad(path, "study", f"unknown field '{key}': a study has {', '.join(sorted(STUDY_KEYS))} and "
                                      "parts (tables with a list of [[part.arm]] records)")
        extra = sorted(set(value) - PART_KEYS)
        if extra:
            raise _bad(path, f"part '{key}'", f"unknown field '{extra[0]}'; a part has: {', '.join(sorted(PART_KEYS))}")
        defaults = {"models": value.get("models", [value.get("model", RunConfig.model)]),
                    "budgets": value.get("budgets", [1]), "seeds": value.get("seeds", list(study.seeds))}
        arms: dict[str, Arm] = {}
        for record in value["arm"]:
            arm = _arm(path, study.name, key, record, defaults)
            if arm.name in arms:
                raise _bad(path, f"arm '{arm.name}'", f"field 'name': defined twice in part '{key}'")
            arms[arm.name] = arm
        study.parts[key] = arms
        study.part_why[key] = str(value.get("why", ""))
    if not study.parts:
        raise _bad(path, "study", "no part with arms: add e.g. [[part.arm]] records")
    return study


class Studies(dict):
    """The study files by name, their bases resolved across files."""

    def arm(self, ref: str, near: Arm | None = None) -> Arm:
        """The arm ``ref`` names: "arm" (in ``near``'s part), "part/arm" (in its study) or "study/part/arm"."""
        bits = ref.split("/")
        if len(bits) == 1 and near is not None:
            study, part, name = near.study, near.part, bits[0]
        elif len(bits) == 2 and near is not None:
            study, (part, name) = near.study, bits
        elif len(bits) == 3:
            study, part, name = bits
        else:
            raise KeyError(ref)
        return self[study].parts[part][name]

    def base(self, arm: Arm) -> Arm | None:
        return None if arm.base is None else self.arm(arm.base, arm)

    def root(self, arm: Arm) -> Arm:
        """The arm at the start of ``arm``'s chain of bases (itself where it has no base)."""
        while arm.base is not None:
            arm = self.base(arm)
        return arm

    def changes(self, arm: Arm) -> dict:
        """``arm``'s settings beyond its root's: its base's changes, then those of the arms it adds, then its own."""
        if arm.base is None:
            return {}
        out = dict(self.changes(self.base(arm)))
        for ref in arm.adds:
            out.update(self.changes(self.arm(ref, arm)))
        out.update(arm.sets)
        return out

    def settings(self, arm: Arm, derived: dict[str, dict] | None = None) -> dict:
        """Every setting of ``arm``: its root's (a derived root's from ``derived``; {} where not given), then its
        changes. Its shares (:data:`SHARES`) are left for :func:`run_settings` to turn into fields."""
        root = self.root(arm)
        start = dict((derived or {}).get(root.derived, {})) if root.derived else dict(root.sets)
        return {**start, **self.changes(arm)}


def share_fields(settings: dict, epochs: int | None, image_size: int | None) -> dict:
    """The RunConfig fields the shares among ``settings`` (:data:`SHARES`) give a run of ``epochs`` epochs at
    ``image_size`` px (the size ``settings`` set, where they set one): {"swa_epochs": round(0.2 x 75)},
    {"low_res": round(0.75 x 128)}, at least its :data:`SHARE_FLOORS`; {} where it has none."""
    values = {"epochs": epochs, "image_size": settings.get("image_size", image_size)}
    out = {}
    for share, (name, of) in SHARES.items():
        if share in settings:
            if values[of] is None:
                raise ValueError(f"{share} is a share of the run's {of.replace('_', ' ')}; pass it")
            out[name] = max(round(settings[share] * values[of]), SHARE_FLOORS.get(share, 0))
    return out


def run_settings(settings: dict, epochs: int | None, image_size: int | None) -> dict:
    """``settings`` for a run of ``epochs`` epochs at ``image_size`` px: each share becomes its field
    (:func:`share_fields`), in the share's place."""
    renamed = {SHARES[k][0] if k in SHARES else k: v for k, v in settings.items()}  # each field in its share's place
    return renamed | share_fields(settings, epochs, image_size)


def budget_epochs(profile: str, budget: float) -> int:
    """A budget (a multiple of the profile's epochs) in epochs."""
    return round(budget * profile_config(profile).epochs)


def _check_bases(studies: Studies, study: StudyFile) -> None:
    for arm in study.arms():
        where = f"arm '{arm.name}'"
        for key, refs in (("base", [arm.base] if arm.base else []), ("adds", list(arm.adds))):
            for ref in refs:
                try:
                    studies.arm(ref, arm)
                except KeyError:
                    raise _bad(study.path, where, f"field '{key}': unknown arm '{ref}' (give 'arm', 'part/arm' or "
                                                  "'study/part/arm' of a study file)") from None
        seen, node = [arm.ref], arm
        while node.base is not None:
            node = studies.base(node)
            if node.ref in seen:
                raise _bad(study.path, where, f"field 'base': a cycle of bases ({' -> '.join([*seen, node.ref])})")
            seen.append(node.ref)


def _check_values(studies: Studies, study: StudyFile) -> None:
    """Each arm, model and budget as a RunConfig that ``validate()`` accepts (a derived root: the profile's)."""
    image_size = profile_config(study.profile).image_size
    for arm in study.arms():
        settings = studies.settings(arm)
        for model in arm.models:
            for budget in arm.budgets:
                epochs = budget_epochs(study.profile, budget)
                try:
                    values = run_settings(settings, epochs, image_size)
                    profile_config(study.profile, model=model, epochs=epochs, **values).validate()
                except (ValueError, TypeError) as exc:
                    flag = str(exc).split(" ", 1)[0].lstrip("-").replace("-", "_")
                    share = next((k for k, (name, _) in SHARES.items() if name == flag and k in settings), None)
                    what = (f"set.{flag}" if flag in settings else f"set.{share}" if share else
                            flag if flag in ARM_KEYS else "set")
                    if flag == "model":
                        what = "models"
                    if flag in ("epochs", "swa_epochs", "warmup_epochs") and flag not in settings:
                        what = "budgets"
                    raise _bad(study.path, f"arm '{arm.name}'", f"field '{what}' (model {model}, budget {budget:g}):"
                                                                f" {exc}") from None


def load_studies(extra: tuple[str | Path, ...] = ()) -> Studies:
    """Every study file of :data:`STUDY_DIR`, and ``extra`` files beside them, checked: fields, bases (known,
    no cycle) and each arm's settings as RunConfig.validate() sees them."""
    studies = Studies()
    for path in [*sorted(STUDY_DIR.glob("*.toml")), *map(Path, extra)]:
        study = read_study_file(path)
        if study.name in studies and studies[study.name].path.resolve() != path.resolve():
            raise _bad(path, "study", f"the name '{study.name}' is a study of {studies[study.name].path} already; "
                                      "rename the file")
        studies[study.name] = study
    for study in studies.values():
        _check_bases(studies, study)
    for study in studies.values():
        _check_values(studies, study)
    return studies


def glossary(studies: Studies) -> list[dict]:
    """One row per arm of every study: its study and part, name, what it builds on, what it changes (in words)
    and why it exists; for the report's glossary of arm names."""
    rows = []
    for study in studies.values():
        for arm in study.arms():
            if arm.derived:
                builds, change = "-", DERIVED[arm.derived]
            else:
                builds = arm.base or f"the {study.profile} profile"
                own = ", ".join([*([f"model {', '.join(arm.models)}"] if arm.own_models else []),
                                 *(setting_words(k, v) for k, v in arm.sets.items())])
                change = "; ".join(p for p in (f"adds {', '.join(arm.adds)}" if arm.adds else "", own) if p)
            rows.append({"study": study.name, "part": arm.part, "arm": arm.name, "builds on": builds,
                         "changes": change or "nothing (the arm it builds on, under its own name)", "why": arm.why})
    return rows


def glossary_markdown(studies: Studies) -> str:
    """:func:`glossary` as a Markdown table."""
    rows = glossary(studies)
    head = ["study", "arm", "builds on", "changes", "why"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[h] if h != "study" else f"{r['study']}/{r['part']}").replace("|", "\\|")
                                       for h in head) + " |")
    return "\n".join(lines) + "\n"
