"""What describes the data (labseg.dataset_stats): the all-background baseline from per-image counts."""
import pandas as pd
import pytest

from labseg import dataset_stats


def test_all_background_accuracy_from_counts():
    per_image = pd.DataFrame({"tp": [30, 0], "fp": [10, 0], "fn": [10, 50], "tn": [50, 50]})
    # image 1: background pixels (fp + tn) 60 of 100; image 2: 50 of 100
    assert dataset_stats.all_background_accuracy(per_image) == pytest.approx(0.55)
