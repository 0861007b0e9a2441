"""The report's figures printed at A4: every text at least 7 pt at its printed size, legends off the data, at most
eight series per panel, each in a colour of its own."""
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from labseg import figures
from labseg.saved_masks import FILE, save_masks

matplotlib.use("Agg")
MIN_POINTS = 7.0


def write_run(results, name, seed, shift):
    run = results / "runs" / name
    run.mkdir(parents=True)
    epochs = range(1, 11)
    pd.DataFrame({"epoch": epochs, "train_loss": [1 / e + shift for e in epochs],
                  "val_loss": [1.2 / e + shift for e in epochs],
                  "val_dice": [0.5 + 0.03 * e - shift for e in epochs],
                  "val_pixel_acc": [0.6 + 0.02 * e for e in epochs]}
                 ).to_csv(run / "history.csv", index=False)
    (run / "config.json").write_text(json.dumps({"seed": seed}))


def _legend_below_its_panels(fig):
    """Every legend lies under the panels above it (their x labels included), never over a panel's data."""
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.axison]
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        above = [a for a in panels if a.get_window_extent().y0 > (box.y0 + box.y1) / 2]
        assert above and all(box.y1 < min(a.get_window_extent().y0, a.xaxis.get_tightbbox().y0) for a in above)
        for a in panels:  # and overlaps no panel at all
            extent = a.get_window_extent()
            assert box.y1 <= extent.y0 or box.y0 >= extent.y1 or box.x1 <= extent.x0 or box.x0 >= extent.x1


@pytest.mark.parametrize("runs", [6, 11])
def test_histories_name_each_run_once_below_the_panels(tmp_path, runs):
    names = [f"run{i}" for i in range(runs)]
    for i, name in enumerate(names):
        write_run(tmp_path, name, seed=i, shift=0.01 * i)
    labels = [f"+ a long arm name number {i}, 75 epochs" for i in range(runs)]
    fig = figures.plot_histories(tmp_path, names, labels, marks={"averaging starts": 7.5})
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == -(-runs // figures.MAX_SERIES)  # one row of panels per eight runs at most
    texts = [t.get_text() for legend in legends for t in legend.get_texts() if t.get_text().startswith("+")]
    assert texts == [f"{label} (seed {i})" for i, label in enumerate(labels)]
    for row in range(len(legends)):  # within a row, each run has a colour of its own, the same on every panel
        dice = [ax for ax in fig.axes if ax.axison][3 * row + 1].lines[1:]
        assert len({line.get_color() for line in dice}) == len(dice) <= figures.MAX_SERIES
    _legend_below_its_panels(fig)
    assert figures.printed_points(fig) >= MIN_POINTS


def test_dice_vs_time_splits_many_arms_and_keeps_the_legends_off_the_data():
    runs = pd.DataFrame({"arm": [f"arm {k}" for k in range(16) for _ in range(3)],
                         "train_seconds": np.linspace(100, 900, 48), "test_dice": np.linspace(0.8, 0.87, 48)})
    fig = figures.plot_dice_vs_time(runs, "arm", "many arms", limit_s=900)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 2 and all(len(ax.collections) <= figures.MAX_SERIES for ax in panels)
    for ax in panels:
        assert len({tuple(c.get_facecolor()[0]) for c in ax.collections}) == len(ax.collections)
    _legend_below_its_panels(fig)
    assert figures.printed_points(fig) >= MIN_POINTS


def test_small_figures_print_at_7pt_or_more(tmp_path, toy_root):
    from labseg.data import read_split

    names = [s.name for s in read_split(toy_root, "test")]
    summary = pd.DataFrame({"test_dice_mean": [0.8, 0.82, 0.6, 0.81], "test_dice_std": [0.01] * 4, "seeds": [3] * 4},
                           index=["none", "hflip", "hvflip", "independent"])
    stats = pd.DataFrame({"width": [500, 300], "height": [375, 225], "species": ["cat", "dog"],
                          "pet_fraction": [0.3, 0.2], "boundary_fraction": [0.1, 0.12]})
    budget = pd.DataFrame({"model": ["unet"] * 6 + ["resnet34_unet"] * 6, "epochs": [25, 25, 50, 50, 100, 100] * 2,
                           "test_dice": np.linspace(0.8, 0.86, 12), "tta_test_dice": np.linspace(0.81, 0.87, 12)})
    made = {"bars": figures.plot_arm_bars(summary, "flip ablation"),
            "stats": figures.plot_image_stats(stats),
            "examples": figures.plot_examples(toy_root, names[:3]),
            "flips": figures.plot_flip_demo(toy_root, names[0], size=64),
            "budget": figures.plot_budget(budget, "budget", {"unet": 0.87, "resnet34_unet": 0.85})}
    for what, fig in made.items():
        assert figures.printed_points(fig) >= MIN_POINTS, what


@pytest.mark.parametrize("count", [3, 6, 12])
def test_prediction_grids_print_at_7pt_or_more(tmp_path, toy_root, count):
    from labseg.config import profile_config
    from labseg.data import load_split_arrays

    cfg = profile_config("toy", data=str(toy_root))
    arrays = load_split_arrays(toy_root, "test", cfg.image_size, cfg.boundary)
    names = [s.name for s in arrays.samples]
    run = tmp_path / "run"
    run.mkdir()
    cfg.save(run / "config.json")
    save_masks(run / FILE, names, arrays.masks == 1)
    fig = figures.prediction_grid(run, names[:count], "UNet: the worst test images\n(a second line)")
    assert figures.printed_points(fig) >= MIN_POINTS
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == (4 * count if count <= figures.ROW_LAYOUT_MAX else count)
    # printed, a photo is at least 3.5 cm wide
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    high = figures.TALL_HEIGHT_IN if figures.is_tall(box.width, box.height) else figures.MAX_HEIGHT_IN
    shown_in = min(figures.PAGE_WIDTH_IN, box.width * figures.SAVE_DPI / 96, high * box.width / box.height)
    photo_in = shown[0].get_window_extent().width / fig.dpi * shown_in / box.width
    assert photo_in * 2.54 >= 3.5
