"""The study files (labseg/studies/*.toml): the arm tables the notebooks import are theirs, equal to what the
Python defined before (tests/study_snapshot.py), and a bad file is refused in one line naming file, arm, field."""
import ast
import json
from pathlib import Path

import pytest

import study_snapshot as old
from labseg import study, study_arms
from labseg.study_files import (
    StudyFileError,
    glossary_markdown,
    load_studies,
    read_study_file,
    run_settings,
    share_fields,
)

NAMES = ["SCHEDULE_ARMS", "STRONG_RECIPE", "RECIPE_ARMS", "RECIPE_COMBINATIONS", "RECIPE_BUDGETS", "RESNET_RECIPE_ARMS",
         "RESNET_RECIPE_BUDGETS", "RECIPE_TARGETS", "RECIPE_MAX_SECONDS"]


@pytest.mark.parametrize("name", NAMES)
def test_the_arm_tables_read_from_the_files_equal_the_old_python_key_order_included(name):
    new, before = getattr(study_arms, name), getattr(old, name)  # study_arms: the module the notebooks import
    assert new == before
    assert json.dumps(new) == json.dumps(before)  # dicts in the same order, nested ones too


def test_the_flip_arms_come_from_the_baselines_file():
    assert study.FLIP_ARMS == old.FLIP_ARMS


def code_strings(path: Path) -> set[str]:
    """The string literals of a module's code, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs}


def test_no_arm_is_defined_in_python():
    for module in sorted(Path(study_arms.__file__).parent.rglob("*.py")):
        strings = code_strings(module)
        for arm in ("mild-affine", "adamw-cosine", "08 recipe + rotate", "floor-0.05", "crop-2x + mild-affine"):
            assert not any(arm in s for s in strings), (module.name, arm)


HEAD = 'title = "t"\nprofile = "smoke"\ndata = "data/toy-pets"\n[p]\nwhy = "w"\n'


def arm(name, **fields):
    lines = [f'[[p.arm]]\nname = "{name}"\nwhy = "because"']
    lines += [f"{k} = {v}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("body, arm_name, field, words", [
    (arm("a", set='{ learning_rate = 1e-3 }'), "a", "set.learning_rate", "unknown setting"),
    (arm("a", set='{ seed = 3 }'), "a", "set.seed", "unknown setting"),
    (arm("a", base='"nowhere"'), "a", "base", "unknown arm 'nowhere'"),
    (arm("a", adds='["b"]'), "a", "adds", "unknown arm 'b'"),
    (arm("a") + arm("a"), "a", "name", "defined twice"),
    (arm("a", base='"b"') + arm("b", base='"a"'), "a", "base", "a cycle of bases"),
    (arm("a", set='{ lr_floor = 0.05 }'), "a", "set.lr_floor", "--lr-floor 0.05: the floor applies to --schedule"),
    (arm("a", set='{ augment = "sideways" }'), "a", "set.augment", "unknown value"),
    (arm("a", budgets="[0]"), "a", "budgets", "--epochs 0"),
    (arm("a", models='["nonet"]'), "a", "models", "unknown model"),
    (arm("a", colour='"red"'), "a", "colour", "unknown field"),
    (arm("a", set='{ swa_share = 2.0 }'), "a", "set.swa_share", "(0, 1)"),
    (arm("a", set='{ low_res_scale = 1.5 }'), "a", "set.low_res_scale", "(0, 1)"),
    # 0.99 of the smoke profile's 48 px: 48 px, no smaller than the run's own size
    (arm("a", set='{ augment = "scale", low_res_scale = 0.99 }'), "a", "set.low_res_scale", "--low-res 48: must be"),
])
def test_a_bad_study_file_is_refused_in_one_line_naming_file_arm_and_field(tmp_path, body, arm_name, field, words):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + body)
    with pytest.raises(StudyFileError) as err:
        load_studies((path,))
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: arm '{arm_name}': ")
    assert f"field '{field}'" in message and words in message


def test_shares_become_their_fields_in_their_place_of_the_runs_own_epochs_and_size():
    settings = {"augment": "all", "low_res_scale": 0.75, "low_res_share": 0.6, "swa_share": 0.2}
    assert list(run_settings(settings, 75, 128).items()) == [
        ("augment", "all"), ("low_res", 96), ("low_res_share", 0.6), ("swa_epochs", 15)]
    assert run_settings({**settings, "image_size": 64}, 10, 128)["low_res"] == 48  # the arm's own size, if it sets one
    assert share_fields({"lr": 1e-3}, None, None) == {}
    # a share below the least its field takes gives that least: 0.5 of 48 px is 24, and a run trains at 32 px or more
    assert share_fields({"low_res_scale": 0.5}, 2, 48) == {"low_res": 32}
    assert share_fields({"low_res_scale": 0.5}, 2, 128) == {"low_res": 64}
    with pytest.raises(ValueError, match="low_res_scale is a share of the run's image size; pass it"):
        share_fields(settings, 75, None)


def test_a_file_that_is_not_toml_or_lacks_a_why_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + '[[p.arm]]\nname = "a"\n')
    with pytest.raises(StudyFileError, match=r"bad.toml: arm 'a': field 'why'"):
        read_study_file(path)
    path.write_text("title = \n")
    with pytest.raises(StudyFileError, match=r"bad.toml: not valid TOML"):
        read_study_file(path)


def test_targets_and_next_targets_are_tables_of_model_and_dice(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('next_targets = { unet = 0.88 }\n' + HEAD + arm("a"))
    assert read_study_file(path).next_targets == {"unet": 0.88} and read_study_file(path).targets == {}
    assert load_studies()["recipe"].next_targets == {"unet": 0.88, "resnet34_unet": 0.86}
    path.write_text('next_targets = { unet = "high" }\n' + HEAD + arm("a"))
    with pytest.raises(StudyFileError, match=r"t.toml: study: field 'next_targets' must be a table of model = "):
        read_study_file(path)


def test_the_glossary_names_every_arm_once_per_part_with_its_base_changes_and_why():
    studies = load_studies()
    text = glossary_markdown(studies)
    rows = [line for line in text.splitlines()[2:]]
    assert len(rows) == sum(len(s.arms()) for s in studies.values())
    lovasz = "| recipe/recipe | crop-2x + mild-affine + bce-lovasz | crop-2x + mild-affine | loss BCE + Lovász hinge |"
    assert any(r.startswith(lovasz) for r in rows)
    assert ("| recipe/recipe | wd-0.05 | strong | weight decay 0.05 | five times the recipe's decoupled weight decay |"
            in rows)
    assert any(r.startswith("| recipe/recipe | crop-2x + mild-affine | crop-2x | adds mild-affine |") for r in rows)
    assert any(r.startswith("| baselines/models | resnet34_unet_seed | the cpu profile | model resnet34_unet_seed |")
               for r in rows)
