"""The study files (labseg/studies/*.toml): the arm tables the notebooks import are theirs, equal to what the
Python defined before (tests/study_snapshot.py), and a bad file is refused in one line naming file, arm, field."""
import json
from pathlib import Path

import pytest

import study_snapshot as old
from labseg import results, study
from labseg.study_files import StudyFileError, glossary_markdown, load_studies, read_study_file

NAMES = ["SCHEDULE_ARMS", "STRONG_RECIPE", "RECIPE_ARMS", "RECIPE_COMBINATIONS", "RECIPE_BUDGETS", "RESNET_RECIPE_ARMS",
         "RESNET_RECIPE_BUDGETS", "SWA_SHARE", "RECIPE_TARGETS", "RECIPE_MAX_SECONDS"]


@pytest.mark.parametrize("name", NAMES)
def test_the_arm_tables_read_from_the_files_equal_the_old_python_key_order_included(name):
    new, before = getattr(results, name), getattr(old, name)
    assert new == before
    assert json.dumps(new) == json.dumps(before)  # dicts in the same order, nested ones too
    assert getattr(study, name) is new  # the name the notebooks import


def test_the_flip_arms_come_from_the_baselines_file():
    assert study.FLIP_ARMS == old.FLIP_ARMS


def test_no_arm_is_defined_in_python():
    source = (Path(results.__file__)).read_text()
    for arm in ("mild-affine", "adamw-cosine", "08 recipe + rotate", "floor-0.05"):
        assert f'"{arm}"' not in source
