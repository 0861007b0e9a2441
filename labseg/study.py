"""The study behind the notebooks: where results go, which runs make up each comparison, and the
tables and figures built from them. Notebooks call these; nothing here trains by itself except
through :func:`labseg.experiments.run_experiment`.

Layout of one study (``key`` = ``<data folder name>-<profile>``)::

    <out_dir>/<key>/runs/<run>/      config.json, env.json, history.csv, metrics.json, test_per_image.csv
                                     (+ best.pt, last.pt: not committed)
    <out_dir>/<key>/*.csv|json        tables built from the runs
    <out_dir>/../figures/<key>/*.png  figures
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import PROFILES, TOY_DATA, RunConfig, field_names, profile_config
from .figures import prediction_grid, save
from .results import FACTORS, masks_folder, study_folders
from .study_arms import STUDIES
from .study_files import glossary as _glossary
from .study_files import load_studies

FLIP_ARMS = tuple(STUDIES["baselines"].parts["flip"])  # 04's arms, from its study file
OVERRIDES_ENV = "LABSEG_NOTEBOOK_OVERRIDES"
# Notebook parameters that are not RunConfig fields: they choose which arms of a study run, never a setting of a
# run (each notebook checks its value with the function named here, as module.function).
SELECTION_PARAMETERS = {"arms": "study.select_arms", "train_missing": "recipe_study.arm_runs",
                        "other_cpu": "study.other_study"}


def select_arms(arms, known: dict) -> dict:
    """The arms of ``known`` that a notebook's ``arms`` parameter names (None: all), in ``known``'s order; an
    unknown name is refused in one line."""
    if arms is None:
        return dict(known)
    if isinstance(arms, str) or not all(isinstance(a, str) for a in arms):
        raise ValueError(f"arms = {arms!r}: give a list of arm names, e.g. {list(known)[:2]!r}")
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise ValueError(f"arms: unknown arm {unknown[0]!r}; choose from: {', '.join(known)}")
    return {a: known[a] for a in known if a in arms}


@dataclass
class Study:
    cfg: RunConfig
    results: Path
    figures: Path

    @property
    def key(self) -> str:
        return self.results.name

    def run_dir(self, name: str) -> Path:
        return self.results / "runs" / name

    @classmethod
    def under(cls, cfg: RunConfig) -> Study:
        """The study of ``cfg``'s data and profile under ``cfg.out_dir`` (see the layout above); nothing is created."""
        out, key = Path(cfg.out_dir), study_key(cfg.data, cfg.profile)
        return cls(cfg, out / key, out.parent / "figures" / key)


def other_study(out_dir: str | None, like: Study) -> Study | None:
    """The study of ``like``'s profile and data under another results folder (10's ``other_cpu``: runs made on the
    other CPU family), for reading back only; None where ``out_dir`` is None. A folder that is not there is refused
    in one line; nothing is created."""
    if out_dir is None:
        return None
    if not isinstance(out_dir, str) or not Path(out_dir).is_dir():
        raise ValueError(f"other_cpu = {out_dir!r}: not a folder here; give a results folder of runs made on the other "
                         "CPU family (e.g. 'results/amd-epyc'), or None")
    return Study.under(like.cfg.replace(out_dir=out_dir))


def result_folders(study: Study) -> dict[str, Path]:
    """Every results folder that holds this study (its data and profile): the study's own first, then those of runs
    made elsewhere (``results/amd-epyc``, ``results/remade-amd-epyc``), named ``<folder>/<key>``."""
    return study_folders(study.results)


def study_key(data: str | Path, profile: str) -> str:
    """The folder name of one study under results/ and figures/: ``<data folder name>-<profile>``."""
    return f"{Path(data).resolve().name}-{profile}"


def setup(**params) -> Study:
    """Build the notebook's config from its parameters cell.

    ``None`` means "the profile's value". The environment variable LABSEG_NOTEBOOK_OVERRIDES
    (JSON, e.g. ``{"profile": "smoke", "out_dir": "runs/smoke"}``) overrides parameters: CI uses it so
    that nbval runs the committed notebooks on the smoke profile without touching results/.
    """
    unknown = set(params) - set(field_names())
    if unknown:
        raise ValueError(f"Notebook parameters {sorted(unknown)} are not RunConfig fields: {field_names()}")
    params.update(json.loads(os.environ.get(OVERRIDES_ENV, "{}")))
    here = Path.cwd()
    if here.name == "notebooks" and (here.parent / "labseg").is_dir():
        os.chdir(here.parent)  # Jupyter starts in notebooks/; paths in the parameters are from the repo root
    cfg = profile_config(params.pop("profile", "toy"), **params)
    if Path(cfg.data) == Path(TOY_DATA) or Path(cfg.data).name == "toy-pets":
        from .synthetic import write_toy_pets

        write_toy_pets(cfg.data)  # the embedded default: written once, kept afterwards
    import matplotlib

    matplotlib.rcParams["figure.dpi"] = 72  # inline display only (saved PNGs use their own dpi): small notebooks
    study = Study.under(cfg)
    study.results.mkdir(parents=True, exist_ok=True)
    study.figures.mkdir(parents=True, exist_ok=True)
    return study


def run_name(model: str, flip: str, seed: int, **factors) -> str:
    """``<model>-<flip>[-<factor>-<value>...]-s<seed>``: runs are named by what distinguishes them."""
    extra = "".join(f"-{k}-{factors[k]:g}" if isinstance(factors[k], float) else f"-{k}-{factors[k]}"
                    for k in FACTORS if k in factors)
    return f"{model}-{flip}{extra}-s{seed}"


def name_of(cfg: RunConfig) -> str:
    """The run name of ``cfg`` in a study of its profile: factors named where they differ from the profile."""
    base = profile_config(cfg.profile) if cfg.profile in PROFILES else RunConfig()
    return run_name(cfg.model, cfg.flip, cfg.seed,
                    **{k: getattr(cfg, k) for k in FACTORS if getattr(cfg, k) != getattr(base, k)})


def name(study: Study, **changes) -> str:
    """The name :func:`run` gives the run of ``study`` with ``changes`` (e.g. ``model=..., seed=...``)."""
    from .models import canonical_model_name

    cfg = study.cfg.replace(**changes)
    return name_of(cfg.replace(model=canonical_model_name(cfg.model)))


# What a study notebook trains: ``none`` (read finished runs back; a missing one is an error naming the command that
# makes it: what ``make report`` does by default), ``missing`` (train or resume what is not finished: a notebook run
# by hand) or ``all`` (train every run again, each once: those finished before LABSEG_RETRAIN_SINCE).
RETRAIN_ENV, RETRAIN_SINCE_ENV = "LABSEG_RETRAIN", "LABSEG_RETRAIN_SINCE"
RETRAIN_MODES = ("none", "missing", "all")


class MissingRunError(RuntimeError):
    """A run that a study reads back has not been made."""


def retrain_mode() -> str:
    mode = os.environ.get(RETRAIN_ENV, "missing")
    if mode not in RETRAIN_MODES:
        raise ValueError(f"{RETRAIN_ENV}={mode!r}: choose one of {', '.join(RETRAIN_MODES)}")
    return mode


def may_train(wanted: bool = True) -> bool:
    """Whether a study may train (or score a checkpoint) to make what it lacks: ``wanted`` and a retrain mode
    other than ``none``."""
    return wanted and retrain_mode() != "none"


def _stale(folder: Path) -> bool:
    """Under ``RETRAIN=all``: the finished run in ``folder`` was made before this retrain began."""
    since = float(os.environ.get(RETRAIN_SINCE_ENV, "inf"))
    return (folder / "metrics.json").stat().st_mtime < since


def retrain_progress(study: Study, training: str) -> str:
    """The retrain's one progress line: runs of the study made since the retrain began, of how many, and the time
    left by the runs' recorded training times (under RETRAIN=all every finished run is made again; under
    RETRAIN=missing the total is not known in advance)."""
    since = float(os.environ.get(RETRAIN_SINCE_ENV, "inf"))
    done, old_seconds = 0, []
    for metrics in study.results.glob("runs/*/metrics.json"):
        if metrics.stat().st_mtime >= since:
            done += 1
        else:
            old_seconds.append(json.loads(metrics.read_text()).get("train_seconds", 0.0))
    if retrain_mode() == "all":
        left = sum(old_seconds)
        return (f"labseg retrain: {done} of {done + len(old_seconds)} runs made, about {left / 60:.0f} min left "
                f"(recorded times); training {training}")
    return f"labseg retrain: {done} missing runs made so far; training {training}"


def _show_progress(line: str) -> None:
    """One line that rewrites itself on a terminal (the kernel's stderr is the pipeline's terminal)."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(("\r\033[K" if stream.isatty() else "") + line + ("" if stream.isatty() else "\n"))
        stream.flush()


def run(study: Study, need_checkpoint: bool = False, **changes) -> dict:
    """Read back (or train, or resume) one run of the study, as :func:`retrain_mode` says; returns its metrics with
    its name. Figures draw from the files a finished run keeps (its saved test masks among them), so a finished run
    is read back without its checkpoints unless ``need_checkpoint`` (a caller that scores the checkpoint itself)."""
    from .experiments import retrain_aside, run_experiment
    from .models import canonical_model_name

    cfg = study.cfg.replace(repeats=1, **changes)
    cfg = cfg.replace(model=canonical_model_name(cfg.model))
    name = name_of(cfg)
    folder = study.run_dir(name)
    finished = (folder / "metrics.json").is_file()
    mode = retrain_mode()
    if mode == "none" or (finished and not need_checkpoint and mode == "missing"):
        if not finished:
            raise MissingRunError(f"{folder} has not been made: train the study's missing runs with "
                                  f"`{retrain_command(study)}`")
        return {**json.loads((folder / "metrics.json").read_text()), "run": name}
    if mode == "all" and finished and _stale(folder):  # the run's files are replaced once the new one has finished
        _show_progress(retrain_progress(study, name))
        return {**retrain_aside(cfg.replace(out_dir=str(folder)), progress=False, log=lambda msg: None), "run": name}
    if not finished:
        _show_progress(retrain_progress(study, name))
    metrics = run_experiment(cfg.replace(out_dir=str(folder)), progress=False, log=lambda msg: None,
                             need_checkpoint=need_checkpoint)
    return {**metrics, "run": name}


def retrain_command(study: Study) -> str:
    """The command that trains what a study lacks."""
    parts = ["make report"]
    if study.cfg.profile != "toy":
        parts.append(f"PROFILE={study.cfg.profile}")
    if Path(study.cfg.data) != Path(TOY_DATA):
        parts.append(f"DATA={study.cfg.data}")
    return " ".join([*parts, "RETRAIN=missing"])


def check_train_missing(train_missing) -> bool:
    """A notebook's ``train_missing`` parameter, refused in one line where it is not True or False."""
    if not isinstance(train_missing, bool):
        raise ValueError(f"train_missing = {train_missing!r}: True (train what is missing) or False (report only "
                         "finished runs)")
    return train_missing


def run_if(train_missing: bool, study: Study, need_checkpoint: bool = False, **changes) -> dict | None:
    """:func:`run`, or, with ``train_missing=False`` (or :func:`retrain_mode` ``none``), the run's metrics only where
    it has finished (None where it has not: nothing is trained), so that a study notebook can publish the arms that
    are done."""
    check_train_missing(train_missing)
    if not may_train(train_missing) and not (study.run_dir(name(study, **changes)) / "metrics.json").is_file():
        return None
    return run(study, need_checkpoint=need_checkpoint, **changes)


def masks_dir(study: Study, run_name: str) -> Path:
    """The folder of ``run_name`` that holds its saved test masks (what a prediction figure draws): the run's own,
    or the same run made again in another results folder beside the study's (``results/<machine>/<key>/runs/``: a
    run made before runs saved their masks, trained again on another machine). One line where none has them."""
    root = study.results.parent
    folder = masks_folder(study.results, run_name)
    if folder is not None:
        return folder
    raise MissingRunError(f"no saved test masks for {run_name} under {root}/: make the run again with "
                          f"`{retrain_command(study).replace('missing', 'all')}`")


def prediction_figures(study: Study, run_name: str, figures: dict[str, tuple[str, object]]) -> pd.DataFrame | None:
    """Prediction grids of ``run_name`` from its saved test masks: ``figures`` maps a figure's name to (title, a
    function from the run's per-image scores, worst first, to the images it shows); each title says whose masks
    these are where they come from the same run made again (:func:`masks_dir`). Returns those per-image scores.
    Where no run has saved masks (a run made before runs saved them, and not made again) and every figure is there
    already, nothing is redrawn: the committed figures, drawn from the run's checkpoint when it existed, stay, and a
    line says so; None."""
    try:
        src = masks_dir(study, run_name)
    except MissingRunError:
        if all((study.figures / f"{f}.png").is_file() for f in figures):
            print(f"{run_name}: no saved test masks (the run predates them); its committed prediction figures stay "
                  f"as they were drawn from its checkpoint: {', '.join(figures)}")
            return None
        raise
    note = masks_note(study, src)
    ranked = pd.read_csv(src / "test_per_image.csv").sort_values("dice")
    for figure, (title, pick) in figures.items():
        grid = prediction_grid(src, list(pick(ranked)), title + (f"\n({note})" if note else ""), data=study.cfg.data)
        save(grid, study, figure)
    return ranked


def masks_note(study: Study, folder: Path) -> str:
    """'' where ``folder`` is the study's own run, else what a figure drawn from it must say: whose masks these are."""
    if folder == study.run_dir(folder.name):
        return ""
    env = json.loads((folder / "env.json").read_text())
    return f"the same run made again on {env.get('cpu', 'another machine')}, test dice {_dice(folder):.4f}"


def _dice(folder: Path) -> float:
    return json.loads((folder / "metrics.json").read_text())["test_dice"]


def encoder_cost(study: Study, models: list[str]) -> tuple[pd.DataFrame, str]:
    """(parameters, GFLOPs, train and inference images/s, peak MiB per model; where it was measured). A timing
    differs from one measurement to the next, so the study's ``encoder_cost.csv`` is read back where it is there,
    and measured (on this machine, then written) where it is not or under ``RETRAIN=all``."""
    from .cost import measure
    from .device import cpu_name

    path = study.results / "encoder_cost.csv"
    if path.is_file() and retrain_mode() != "all":
        return pd.read_csv(path, index_col=0), f"read back from {path}"
    c = study.cfg
    cost = pd.DataFrame({m: measure(m, c.image_size, width=c.width, batch=c.batch_size, iters=2, device=c.device,
                                    amp=c.amp, channels_last=c.channels_last,
                                    min_seconds=0.2 if c.profile == "smoke" else 2.0, onnx=False) for m in models}).T
    cost = cost[["params", "gflops", "train_images_per_s", "infer_images_per_s", "peak_mib"]].astype(float)
    cost.to_csv(path)
    return cost, f"measured on {cpu_name()}"


def glossary() -> list[dict]:
    """Every arm of every study file: study, part, name, what it builds on, what it changes and why (the report's
    glossary of arm names)."""
    return _glossary(load_studies())


def glossary_split(study_name: str, used) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The glossary of one study file (arm -> builds on, changes) in two parts, each in the file's order: the arms
    in ``used`` with every arm they build on or add, however deep (a reader meets these first), and the rest."""
    rows = pd.DataFrame([r for r in glossary() if r["study"] == study_name])
    if rows.empty:
        return rows, rows
    names = set(rows["arm"])
    adds = {a.name: a.adds for a in load_studies()[study_name].arms()}
    wanted, todo = set(), [u for u in used if u in names]
    while todo:
        arm = todo.pop()
        if arm in wanted:
            continue
        wanted.add(arm)
        bases = rows.loc[rows["arm"] == arm, "builds on"].str.rsplit("/", n=1).str[-1]
        todo += [b for b in [*bases, *adds.get(arm, ())] if b in names]
    alias = (rows["builds on"].str.rsplit("/", n=1).str[-1] == rows["arm"]).to_numpy()  # another part's arm, same name
    first = rows["arm"].isin(wanted).to_numpy()
    return rows[first & ~alias].set_index("arm"), rows[~first & ~alias].set_index("arm")


def arm_names(study_name: str, part: str) -> list[str]:
    """The arm names of one part of a study file (``labseg/studies/<study_name>.toml``), in the file's order."""
    return list(load_studies()[study_name].parts[part])


def seeds(study: Study) -> list[int]:
    return [study.cfg.seed + i for i in range(study.cfg.repeats)]


def _test_checkpoint(study: Study, changes: dict, checkpoint: str, scorings: tuple[str, ...]
                     ) -> tuple[dict, dict, dict[str, dict]]:
    """(the run's metrics, its checkpoint ``checkpoint`` (best.pt / last.pt), that checkpoint's test summary per
    scoring), the checkpoint loaded once; a run without its checkpoints (a fresh clone) is trained again first.
    Scorings: ``"plain"`` (channels-last where the run trained so, as the run's own test score was computed,
    engine.finish) and ``"tta"`` (flip TTA, as ``labseg evaluate --tta`` computes it)."""
    import torch

    from .batches import load_datasets
    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .device import resolve_device
    from .engine import evaluate

    plain = run(study, need_checkpoint=True, **changes)
    path = study.run_dir(plain["run"]) / checkpoint
    ckpt = load_checkpoint(path)
    model, cfg = model_from_checkpoint(ckpt, path)
    device = resolve_device(study.cfg.device)
    cfg = cfg.replace(device=study.cfg.device)
    model = model.to(device)
    test = load_datasets(cfg, ("test",))["test"]
    summaries = {}
    for scoring in scorings:
        layout = torch.channels_last if scoring == "plain" and cfg.channels_last else torch.contiguous_format
        summaries[scoring], _ = evaluate(model.to(memory_format=layout), test, cfg, device, tta=scoring == "tta")
    return plain, ckpt, summaries


def _cached(study: Study, changes: dict, file: str, compute, keys: tuple[str, ...] = (), train: bool = True,
            checkpoint: str = "best.pt") -> dict:
    """``file`` in the run's folder, or ``compute(earlier)`` written there, also where the file lacks one of ``keys``
    (``earlier``: what the file held, {} where there was none). ``train=False``: computed only from a checkpoint
    that is there (never by training the run again: a fresh clone keeps no checkpoints); else what the file held."""
    folder = study.run_dir(name(study, **changes))
    path = folder / file
    cached = json.loads(path.read_text()) if path.is_file() else {}
    if cached and all(k in cached for k in keys) and not (retrain_mode() == "all" and _stale(folder)):
        return cached
    train = may_train(train)
    if not train and not ((folder / "metrics.json").is_file() and (folder / checkpoint).is_file()):
        return cached
    out = compute(cached)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


def tta_run(study: Study, train: bool = True, **changes) -> dict:
    """Test scores of one run's best checkpoint with flip test-time augmentation (``labseg evaluate --tta``),
    beside its plain ones. Cached in the run folder as ``metrics_tta.json``. ``train=False``: nothing is trained
    (a finished run without its checkpoint and without the cache gives {})."""
    def compute(_earlier):
        plain, _, scores = _test_checkpoint(study, changes, "best.pt", ("tta",))
        return {"run": plain["run"], "test_dice": plain["test_dice"], "test_iou": plain["test_iou"],
                "tta_test_dice": scores["tta"]["dice"], "tta_test_iou": scores["tta"]["iou"]}

    return _cached(study, changes, "metrics_tta.json", compute, train=train)


def last_epoch_run(study: Study, train: bool = True, **changes) -> dict:
    """Test scores of one run's last epoch (``last.pt``), plain and with flip TTA, beside those of its best-by-val
    checkpoint: the ``--select last`` arm without training the run twice. Cached as ``metrics_last.json``.
    ``train=False``: nothing is trained (a run without last.pt and without the cache gives what the cache held)."""
    def compute(earlier):  # earlier: a cache of an earlier version (no TTA figures), or {}
        out = dict(earlier)  # its plain figures are kept as they were committed
        fresh = "last_test_dice" not in out
        plain, ckpt, scores = _test_checkpoint(study, changes, "last.pt", ("plain", "tta") if fresh else ("tta",))
        if fresh:
            out = {"run": plain["run"], "test_dice": plain["test_dice"], "best_epoch": plain["best_epoch"],
                   "last_test_dice": scores["plain"]["dice"], "last_test_iou": scores["plain"]["iou"],
                   "last_epoch": int(ckpt["epoch"])}
        tta = scores["tta"]
        return {**out, "last_tta_test_dice": tta["dice"], "last_tta_test_iou": tta["iou"]}

    return _cached(study, changes, "metrics_last.json", compute, keys=("last_tta_test_dice",), train=train,
                   checkpoint="last.pt")


def recipe_scores(train_missing: bool, study: Study, select: str = "best", **changes) -> dict | None:
    """One run of a chosen recipe scored as the recipe says (``select``): the plain and flip-TTA test dice of its
    best-by-val checkpoint (``"best"``) or of its last epoch (``"last"``), with the run's name; None where the run
    has not finished and ``train_missing`` is False (:func:`run_if`). A score that cannot be made without training
    (a finished run without checkpoint or cache, ``train_missing`` False) is NaN."""
    run = run_if(train_missing, study, need_checkpoint=False, **changes)
    if run is None:
        return None
    if select == "last":
        last = last_epoch_run(study, train=train_missing, **changes)
        plain, tta = last.get("last_test_dice", float("nan")), last.get("last_tta_test_dice", float("nan"))
    else:
        plain, tta = run["test_dice"], tta_run(study, train=train_missing, **changes).get("tta_test_dice", float("nan"))
    return {"run": run["run"], "test_dice": plain, "tta_test_dice": tta}


def profile_recipe(study: Study) -> dict:
    """The profile's own augmentation and loss (whatever the notebook's parameters set), so that a
    comparison of schedules changes the schedule alone."""
    base = profile_config(study.cfg.profile) if study.cfg.profile in PROFILES else RunConfig()
    return {"augment": base.augment, "loss": base.loss}
