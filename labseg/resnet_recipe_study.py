"""Notebook 10's ResNet34-UNet tables: its recipe arms (labseg/studies/recipe.toml) at their budgets on 06-08's
recipe, what each arm is compared with, the table and verdicts on this study's CPU family and on the other one,
and the runs of the averaging (SWA) arms. The arms come from the study file; nothing here names one."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import recipe_choice, results, stats, study, study_arms
from .labels import arm_label
from .recipe_study import arm_runs, recipe_table

MODEL = "resnet34_unet"


@dataclass
class ResnetArms:
    """The ResNet34-UNet arms: label '<arm>, <n> epochs' -> (arm, n), on ``base`` (06-08's recipe)."""
    labels: dict[str, tuple[str, int]]
    base: dict
    profile_epochs: int

    @classmethod
    def of(cls, st: study.Study) -> ResnetArms:
        """The arms of ``st``'s profile: each arm at its budgets (2x the profile's epochs unless it says)."""
        epochs = st.cfg.epochs
        labels = {arm_label(arm, round(k * epochs)): (arm, round(k * epochs))
                  for arm in study_arms.RESNET_RECIPE_ARMS for k in study_arms.RESNET_RECIPE_BUDGETS.get(arm, (2,))}
        return cls(labels, recipe_choice.factor_recipe(st.results)[0], epochs)

    @property
    def first(self) -> str:
        """The first arm of the study file's part: 06-08's recipe, 08's own runs (no last-epoch weights kept)."""
        return next(iter(study_arms.RESNET_RECIPE_ARMS))

    def label(self, arm: str, multiple: float) -> str:
        """The label of ``arm`` at ``multiple`` times the profile's epochs."""
        return arm_label(arm, round(multiple * self.profile_epochs))

    def settings(self, label: str) -> dict:
        """Every setting an arm's runs train with (an averaging share turned into its epochs)."""
        arm, epochs = self.labels[label]
        return study_arms.resnet_recipe_settings(arm, self.base, epochs)

    def changes(self, label: str) -> set:
        """An arm's settings that differ from the recipe of 06-08 (``base``), as (name, value) pairs."""
        return set(self.settings(label).items()) - set(self.base.items())

    def baseline(self, label: str) -> str | None:
        """What an arm is compared with: at 2x, the recipe of 06-08; at another budget, the same arm at its next
        shorter budget, or else the arm it adds one change to: among the arms at the same budget whose changes it
        all has (for an averaging arm, also those at the budget of the schedule it shares: its epochs less the
        averaging phase), the one it differs from the least."""
        arm, epochs = self.labels[label]
        if epochs == 2 * self.profile_epochs:
            return next(iter(self.labels))
        shorter = [e for a, e in self.labels.values() if a == arm and e < epochs]
        if shorter:
            return arm_label(arm, max(shorter))
        mine = self.changes(label)
        for budget in (epochs, epochs - dict(mine).get("swa_epochs", 0)):
            parents = [other for other, (a, e) in self.labels.items()
                       if e == budget and other != label and self.changes(other) <= mine]
            if parents:
                return min(parents, key=lambda o: len(mine - self.changes(o)))
        return None

    def runs(self, train_missing: bool, st: study.Study) -> pd.DataFrame:
        """Every arm's runs in ``st`` (:func:`recipe_study.arm_runs`), labelled; 06-08's recipe has no last epoch."""
        return pd.concat([arm_runs(train_missing, st, {label: {}}, epochs, model=MODEL, recipe=self.settings(label),
                                   last=arm != self.first) for label, (arm, epochs) in self.labels.items()])

    def table(self, runs: pd.DataFrame) -> pd.DataFrame | None:
        """:func:`recipe_study.recipe_table` of the arms with runs, in the study's order (None: no run yet)."""
        return None if runs.empty else recipe_table(runs, [a for a in self.labels if a in set(runs["arm"])])

    def verdicts(self, runs: pd.DataFrame) -> list[str]:
        """The arms at 2x against the first; each arm at another budget against :meth:`baseline`, best-by-val and
        with the last epoch's weights."""
        at_2x = [a for a in self.labels if self.labels[a][1] == 2 * self.profile_epochs]
        out = stats.compare_to_baseline(runs, "arm", at_2x[0], at_2x[1:])
        for label in self.labels:
            if label not in at_2x and label in set(runs["arm"]) and self.baseline(label) is not None:
                for metric in ("test_dice", "last_test_dice"):
                    out += [("last epoch: " if metric == "last_test_dice" else "best-by-val: ") + sentence
                            for sentence in stats.compare_to_baseline(runs, "arm", self.baseline(label), [label],
                                                                      metric)]
        return out

    def curve_labels(self, runs: pd.DataFrame, seed: int) -> list[str]:
        """The first arm and the arms with several budgets that have a finished run of ``seed``."""
        budgets = study_arms.RESNET_RECIPE_BUDGETS
        return [a for a, (arm, _) in self.labels.items()
                if (arm == self.first or len(budgets.get(arm, ())) > 1)
                and not runs[(runs["arm"] == a) & (runs["seed"] == seed)].empty]

    def run_name(self, st: study.Study, label: str, seed: int) -> str:
        """The name of an arm's run of ``seed`` in ``st``."""
        return study.name(st, model=MODEL, epochs=self.labels[label][1], seed=seed, **self.settings(label))

    def run_names(self, st: study.Study, labels: list[str], seed: int) -> list[str]:
        """:meth:`run_name` of each of ``labels`` (their learning curves)."""
        return [self.run_name(st, a, seed) for a in labels]

    def other_table(self, other: pd.DataFrame | None, here: pd.DataFrame | None) -> pd.DataFrame | None:
        """The arms as run on the other CPU family (``other``: their runs there), with each arm's best-by-val and
        last-epoch mean on this study's family (``here``: its table) beside them; None where none has finished."""
        if other is None or other.empty:
            return None
        arms = [a for a in self.labels if a in set(other["arm"])]
        table = recipe_table(other, arms)
        here = here if here is not None else pd.DataFrame()
        for column in ("last_test_dice_mean", "test_dice_mean"):  # the same arm on this study's family
            table.insert(table.columns.get_loc(column) + 2, column.replace("_mean", "_this_family"),
                         [here[column].get(a, float("nan")) if column in here else float("nan") for a in arms])
        return table

    def other_verdicts(self, other: pd.DataFrame, reference: str) -> list[str]:
        """The lines comparing the other family's arms: each against ``reference`` (last epoch, then best-by-val),
        then each against the arm it adds its change to (where that is not the reference), with the seed-by-seed
        differences (the same seeds train both arms)."""
        arms = [a for a in self.labels if a in set(other["arm"])]
        out = []
        if reference in arms:
            for metric in ("last_test_dice", "test_dice"):
                out += [f"- {'last epoch' if metric == 'last_test_dice' else 'best-by-val'}: {sentence}" for sentence
                        in stats.compare_to_baseline(other, "arm", reference, [a for a in arms if a != reference],
                                                     metric)]
        for label in arms:
            parent = self.baseline(label)
            if parent in (None, reference) or parent not in arms:
                continue
            for sentence in stats.compare_to_baseline(other, "arm", parent, [label], "last_test_dice"):
                by_seed = other.pivot_table(index="seed", columns="arm", values="last_test_dice")[[label, parent]]
                by_seed = by_seed.dropna()
                out.append(f"- one change, last epoch: {sentence} Seed by seed: "
                           + ", ".join(f"{d:+.4f}" for d in by_seed[label] - by_seed[parent]) + ".")
        return out

    def other_lines(self, st: study.Study, other_st: study.Study | None, other: pd.DataFrame | None,
                    reference: str) -> list[str]:
        """What the other family's section prints: where the runs of both families were made, then
        :meth:`other_verdicts` (or why there is nothing to show)."""
        if other_st is None:
            return ["other_cpu is None: no runs of the other CPU family to show"]
        out = [f"this study: {results.environment_summary(st.results).splitlines()[0]}",
               f"other_cpu ({other_st.results}): {results.environment_summary(other_st.results).splitlines()[0]}"]
        if other is None or other.empty:
            return out + [f"no ResNet34-UNet run of this section has finished in {other_st.results}"]
        return out + self.other_verdicts(other, reference)

    def averaging(self, studies, seed: int) -> tuple[study.Study | None, list[str], int | None]:
        """The first of ``studies`` (None ones skipped) that holds a finished run of ``seed`` of an averaging arm;
        the arms shown from it (the first averaging arm's baseline, then the averaging arms: those with a finished
        run there) and the epoch at which averaging starts. (None, [], None) where no such run is anywhere."""
        swa = [a for a in self.labels if self.settings(a).get("swa_epochs")]

        def finished(st: study.Study, label: str) -> bool:
            return (st.run_dir(self.run_name(st, label, seed)) / "metrics.json").is_file()

        holder = next((st for st in studies if st is not None and any(finished(st, a) for a in swa)), None)
        if holder is None:
            return None, [], None
        shown = [a for a in [self.baseline(swa[0]), *swa] if finished(holder, a)]
        return holder, shown, self.labels[swa[0]][1] - self.settings(swa[0])["swa_epochs"]

    def left_sentence(self, table: pd.DataFrame | None, n_seeds: int) -> str:
        """The arms not yet measured with every seed, with their counts."""
        done = {a: int(table.loc[a, "seeds"]) if table is not None and a in table.index else 0 for a in self.labels}
        return ("ResNet34-UNet arms not yet measured with every seed: "
                + (", ".join(f"{a} ({n} of {n_seeds})" for a, n in done.items() if n < n_seeds) or "none"))


def short_labels(labels: list[str], common: str) -> list[str]:
    """Legend labels of arms that all start from ``common``: what each adds ('+ ...'), ``common`` itself 'recipe'."""
    return [a.replace(common + " + ", "+ ").replace(common, "recipe") for a in labels]
