"""`labseg study ...`: the study files' runs, their state, and running the missing ones here or on Ray."""
from __future__ import annotations

import argparse
import math

EXECUTORS = ("local", "ray")
TRANSFERS = ("auto", "shared", "driver")


def add_study_parser(sub) -> None:
    p = sub.add_parser("study", help="a study's runs (labseg/studies/*.toml): status, run the missing ones, glossary",
                       description="Each study of the notebooks is a TOML file of arm records in labseg/studies/. "
                                   "NAME is a study's name (its file name) or a path to a .toml study file.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("status", help="each run of a study: done, partial (a last.pt) or missing, and time left",
                           description="List each run of the study: done (with its recorded minutes and threads), "
                                       "partial (a last.pt: it resumes) or missing, and the time left, estimated "
                                       "from the recorded minutes per epoch of done runs of the same model.")
    s.add_argument("name", metavar="NAME|all")
    _where(s)
    r = actions.add_parser("run", help="train every missing or partial run of a study",
                           description="Train every run of the study that is not done: here, one after another "
                                       "(--executor local, as the notebooks do), or as Ray tasks (--executor ray). "
                                       "Finished runs land whole in the study's results folder.")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (default): experiments.run_experiment here, one run after another "
                        "| ray: one Ray task a run")
    r.add_argument("--address", help="ray: auto (the cluster this machine joined) or HOST:PORT of a head node "
                                     "(default: a new local cluster of this machine's cores)")
    r.add_argument("--cpus-per-run", dest="cpus_per_run", type=int,
                   help="CPUs (and torch threads) per run (ray default 1; local default: torch's choice)")
    r.add_argument("--gpus-per-run", dest="gpus_per_run", type=float, default=0.0,
                   help="ray: GPUs per run, fractional packs runs on one GPU (0.25: four a GPU; default 0, CPU runs)")
    r.add_argument("--transfer", choices=TRANSFERS, default="auto",
                   help="ray: how a finished run reaches the results folder: shared (workers write it there), driver "
                        "(handed back as bytes, the driver writes it) or auto (default: shared where a worker sees "
                        "the driver's results folder)")
    _where(r)
    g = actions.add_parser("glossary", help="a Markdown table of every arm: name, what it builds on and changes, why")
    g.add_argument("name", metavar="NAME|all", nargs="?", default="all")


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="dataset root (default: the study file's)")
    p.add_argument("--out-dir", dest="out_dir", help="results folder the study lies under (default: the file's)")


def _check_options(args) -> None:
    """Every option of `study run`, before anything is read or written."""
    if args.cpus_per_run is not None and args.cpus_per_run < 1:
        raise ValueError(f"--cpus-per-run {args.cpus_per_run}: must be a whole number >= 1")
    gpus = args.gpus_per_run
    if not math.isfinite(gpus) or gpus < 0 or (gpus > 1 and gpus != int(gpus)):
        raise ValueError(f"--gpus-per-run {gpus:g}: must be 0, a fraction of one GPU (e.g. 0.25) or a whole number")
    if args.executor == "local":
        for flag, value, default in (("--address", args.address, None), ("--gpus-per-run", gpus, 0.0),
                                     ("--transfer", args.transfer, "auto")):
            if value != default:
                raise ValueError(f"{flag} {value}: applies to --executor ray only; add --executor ray or leave it out")


def cmd_study(args) -> int:
    from .study_files import glossary_markdown, load_studies
    from .study_runs import find_study, plan, status_lines, study_of

    if args.action == "glossary":
        studies = load_studies()
        if args.name != "all":
            studies = type(studies)({args.name: find_study(args.name, studies)[0]})
        print(glossary_markdown(studies), end="")
        return 0
    if args.action == "status":
        studies = load_studies()
        names = list(studies) if args.name == "all" else [args.name]
        for name in names:
            study, known = find_study(name, studies)
            where = study_of(study, args.data, args.out_dir)
            print("\n".join(status_lines(study, where, plan(known, study, where))))
            print(recipe_line(known, study, where), end="")
        return 0
    _check_options(args)
    return _run(args, *find_study(args.name))


def recipe_line(studies, study, where) -> str:
    """A line naming the folder whose studies 06-08 give the recipe the study's derived arms start from ('' where
    no arm starts from it)."""
    from .study_runs import derived_settings, recipe_source

    if not derived_settings(studies, study, where):
        return ""
    return f"  arms built on budget/recipe/06-08 train the recipe of {recipe_source(study, where)}'s studies 06-08\n"


def _run(args, study, studies) -> int:
    from .study_runs import check_data, plan, study_of

    where = study_of(study, args.data, args.out_dir)
    runs = [r for r in plan(studies, study, where) if r.state != "done"]
    ray, cpus = None, args.cpus_per_run
    if args.executor == "ray":
        from .cluster import check_resources, connect

        cpus = cpus or 1
        ray = connect(args.address)  # Ray installed, the cluster there and able to hold a run: before any file
        try:
            check_resources(ray, cpus, args.gpus_per_run)
            check_data(where)
        except ValueError:
            ray.shutdown()
            raise
    else:
        check_data(where)
    print(f"{study.name}: {len(runs)} runs to train -> {where.results / 'runs'} ({args.executor})")
    print(recipe_line(studies, study, where), end="")
    if ray is not None:
        from .cluster import run_ray

        failed = run_ray(ray, runs, cpus, args.gpus_per_run, args.transfer)
    else:
        from .executors import run_local

        failed = run_local(runs, cpus)
    return 1 if failed else 0
