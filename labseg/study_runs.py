"""The runs a study file asks for, under a results folder: their names (as the notebooks name them), whether
each is done, partial (a last.pt) or missing, its recorded minutes and an estimate of the time left."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from .config import TOY_DATA, RunConfig, canonical_model_name, profile_config
from .study import Study, name_of
from .study_files import Studies, StudyFile, budget_epochs, load_studies, run_settings

WORK = ".work"  # runs/.work/<run>: a run a cluster task trains, until it lands in runs/<run> whole


@dataclass
class PlannedRun:
    name: str
    arm: str  # part/arm
    seed: int
    cfg: RunConfig  # out_dir: the run's folder
    state: str = "missing"  # done | partial | missing
    minutes: float | None = None  # recorded training minutes (done runs)
    epochs_done: int = 0
    threads: int | None = None  # the CPU threads its env.json records

    @property
    def folder(self) -> Path:
        return Path(self.cfg.out_dir)

    @property
    def work(self) -> Path:
        return self.folder.parent / WORK / self.name


def find_study(name: str, studies: Studies | None = None) -> tuple[StudyFile, Studies]:
    """The study ``name`` (a file of labseg/studies, by its name) or a .toml file elsewhere; one line where none."""
    if name.endswith(".toml"):
        if not Path(name).is_file():
            raise ValueError(f"study {name}: no such file; give a study name or a .toml study file")
        studies = load_studies((name,))
        return studies[Path(name).stem], studies
    studies = studies or load_studies()
    if name not in studies:
        raise ValueError(f"study {name!r}: unknown; choose one of: {', '.join(studies)} (or all, or a .toml file)")
    return studies[name], studies


def study_of(study: StudyFile, data: str | None = None, out_dir: str | None = None) -> Study:
    """Where ``study``'s runs live: its profile and data (``data`` overrides) under ``out_dir`` (or the file's)."""
    cfg = profile_config(study.profile, data=data or study.data, out_dir=out_dir or study.out_dir)
    return Study.under(cfg)


def recipe_source(study: StudyFile, where: Study, recipe_from: Path | None = None) -> Path:
    """The results folder whose studies 06-08 give the recipe that derived arms start from: ``recipe_from``, else
    the folder the runs go to where it holds any of those studies' tables, else the study file's own folder. Runs
    made for another CPU family (``--out-dir results/amd-epyc``) so train the recipe the file's folder supports,
    as the committed runs there do, not the baselines of studies that folder never ran."""
    from .recipe_choice import RECIPE_STUDIES

    if recipe_from is not None:
        return Path(recipe_from)
    if any((where.results / file).is_file() for file, *_ in RECIPE_STUDIES):
        return where.results
    return Study.under(where.cfg.replace(out_dir=study.out_dir)).results


def derived_settings(studies: Studies, study: StudyFile, where: Study, recipe_from: Path | None = None) -> dict:
    """Settings of the derived roots ``study``'s arms start from, read from the results of
    :func:`recipe_source`."""
    from .recipe_choice import factor_recipe

    roots = {studies.root(arm).derived for arm in study.arms()} - {None}
    if "factor_recipe" not in roots:
        return {}
    return {"factor_recipe": factor_recipe(recipe_source(study, where, recipe_from))[0]}


def plan(studies: Studies, study: StudyFile, where: Study, recipe_from: Path | None = None) -> list[PlannedRun]:
    """Every run of ``study``, one per distinct name (a run two arms share is listed under the first), in the
    file's order: arm, model, budget, seed."""
    derived = derived_settings(studies, study, where, recipe_from)
    runs: dict[str, PlannedRun] = {}
    for arm in study.arms():
        settings = studies.settings(arm, derived)
        for model in arm.models:
            for budget in arm.budgets:
                epochs = budget_epochs(study.profile, budget)
                for seed in arm.seeds:
                    cfg = where.cfg.replace(repeats=1, model=canonical_model_name(model), seed=seed, epochs=epochs,
                                            **run_settings(settings, epochs, where.cfg.image_size))
                    name = name_of(cfg)
                    if name not in runs:
                        runs[name] = PlannedRun(name, f"{arm.part}/{arm.name}", seed,
                                                cfg.replace(out_dir=str(where.run_dir(name))))
    for run in runs.values():
        read_state(run)
    return list(runs.values())


def read_state(run: PlannedRun) -> PlannedRun:
    """``run`` with its state, recorded minutes, epochs done and threads, as its files say."""
    run.state, run.minutes, run.epochs_done, run.threads = "missing", None, 0, None
    metrics = run.folder / "metrics.json"
    if metrics.is_file():
        run.state = "done"
        run.minutes = json.loads(metrics.read_text()).get("train_seconds", 0.0) / 60
    for folder in (run.folder, run.work):
        if run.state == "missing" and (folder / "last.pt").is_file():
            run.state = "partial"
        history, env = folder / "history.csv", folder / "env.json"
        if history.is_file() and run.state != "missing" and not run.epochs_done:
            run.epochs_done = max(0, len(history.read_text().strip().splitlines()) - 1)
        if env.is_file() and run.state != "missing" and run.threads is None:
            run.threads = json.loads(env.read_text()).get("cpu_threads")
    return run


def minutes_left(run: PlannedRun, runs: list[PlannedRun]) -> float | None:
    """The minutes ``run`` still needs, from the recorded minutes per epoch of the done runs of the same model and
    image size (their median); None where no such run is done."""
    per_epoch = [r.minutes / r.cfg.epochs for r in runs if r.state == "done" and r.minutes is not None
                 and r.cfg.model == run.cfg.model and r.cfg.image_size == run.cfg.image_size]
    if run.state == "done":
        return 0.0
    if not per_epoch:
        return None
    return statistics.median(per_epoch) * (run.cfg.epochs - run.epochs_done)


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "unknown"
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.1f} min"


def status_lines(study: StudyFile, where: Study, runs: list[PlannedRun]) -> list[str]:
    """``labseg study status``: a summary line, then one line per run."""
    count = {s: sum(r.state == s for r in runs) for s in ("done", "partial", "missing")}
    left = [minutes_left(r, runs) for r in runs]
    known = [m for m in left if m is not None]
    unknown = sum(m is None for m in left)
    total = (_duration(sum(known)) if sum(known) or unknown else "none") + (
        f" (+ {unknown} runs with no similar recorded run)" if unknown else "")
    lines = [f"{study.name} ({study.path}): {len(runs)} runs in {where.results}: {count['done']} done, "
             f"{count['partial']} partial, {count['missing']} missing; time left about {total} on one worker "
             "(from the recorded minutes per epoch of done runs of the same model)"]
    for run, m in zip(runs, left):
        if run.state == "done":
            what = f"{run.minutes:6.1f} min" + (f", {run.threads} threads" if run.threads else "")
        else:
            done = f", {run.epochs_done}/{run.cfg.epochs} epochs" if run.state == "partial" else ""
            what = f"~{_duration(m)} left{done}"
        lines.append(f"  {run.state:<8} {run.arm} s{run.seed}: {run.name} ({what})")
    return lines


def check_data(where: Study) -> None:
    """The study's data folder, before anything is written: the toy pets are written where they are the data
    (as the notebooks do); another missing folder is refused in one line."""
    data = Path(where.cfg.data)
    if data.is_dir():
        return
    if data == Path(TOY_DATA) or data.name == "toy-pets":
        from .synthetic import write_toy_pets

        write_toy_pets(data)
        return
    raise ValueError(f"--data {data}: no such folder; give the dataset root of this study (see `labseg download`)")
