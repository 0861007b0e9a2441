"""The report's figures (labseg.figures) printed at A4: every text at least 7 pt at its printed size, legends off the
data, at most eight series per panel, each in a colour of its own; what the prediction grids and the dice-vs-time
plot show, and the grids' titles and legends redrawn without touching their panels."""
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


def test_prediction_grid_titles_give_the_test_metric_and_ignored_pixels_are_no_errors(toy_root, tmp_path):
    import numpy as np

    from labseg.config import profile_config
    from labseg.data import load_split_arrays
    from labseg.engine import train

    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "run"), image_size=40, epochs=1, width=4,
                         train_subset=12, amp="off", channels_last=False, boundary="ignore")
    train(cfg, progress=False, log=lambda m: None)
    scores = pd.read_csv(tmp_path / "run" / "test_per_image.csv").set_index("name")
    names = list(scores.index[:3])
    fig = figures.prediction_grid(tmp_path / "run", names)
    masks = load_split_arrays(toy_root, "test", 40, "ignore").subset(range(3)).masks
    assert (masks == 255).any()
    for row, name in enumerate(names):
        title = fig.axes[4 * row + 2].get_title()
        assert title == f"prediction (dice {scores.loc[name, 'dice']:.3f})"
        errors = np.asarray(fig.axes[4 * row + 3].images[0].get_array())
        assert not errors[masks[row] == 255].any()


def test_retitle_grid_moves_the_title_off_the_first_row_and_keeps_the_panels(tmp_path):
    """A grid whose title was drawn over its first row's panel titles: the panels' pixels stay as they were, the
    title moves to a strip of its own and each panel title is written centred over its panel again."""
    import numpy as np
    from PIL import Image

    from labseg.figures import retitle_grid

    grid = np.full((300, 862, 3), 255, np.uint8)
    lefts = [11, 227, 443, 659]  # four 192-px panels, 216 px apart, from y = 29 (as 02's grids are drawn)
    grid[29:221, 11:203] = np.random.default_rng(0).integers(0, 255, (192, 192, 3), dtype=np.uint8)
    for x in lefts[1:]:
        grid[29:221, x:x + 192] = 0
    grid[29:60, 227:419] = 255  # a pet touching the top edge: the truth panel's first rows are white
    grid[10:24, 300:560] = 90  # the old title, over the first row's panel titles
    Image.fromarray(grid).save(tmp_path / "g.png")
    retitle_grid(tmp_path / "g.png", "UNet: the 12 worst test images", ["Bengal_58", "truth", "prediction", "errors"])
    out = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"))
    assert out.shape == (330, 862, 3) and np.array_equal(out[59:], grid[29:])  # a 30-px strip on top, panels kept
    ink = (out < 128).all(axis=2)
    assert ink[:28, 300:560].any() and not ink[:28, :250].any()  # the title: centred, in the new strip
    for x in lefts:  # each panel title over the middle of its panel, in the band above the panels
        assert ink[30:59, x + 66:x + 126].any() and not ink[30:59, x - 10:x].any(), x
    Image.fromarray(np.full((50, 400, 3), 255, np.uint8)).save(tmp_path / "no_grid.png")
    with pytest.raises(ValueError, match="no row of black mask panels"):
        retitle_grid(tmp_path / "no_grid.png", "t", ["a"])


def test_add_error_legend_keeps_the_grid_and_adds_both_colours(tmp_path):
    import numpy as np
    from PIL import Image

    from labseg.figures import FALSE_NEGATIVE, FALSE_POSITIVE, add_error_legend

    for width in (880, 400):  # a 4-column grid as the notebooks draw it, and a narrow one
        grid = np.random.default_rng(0).integers(0, 200, (120, width, 3), dtype=np.uint8)
        Image.fromarray(grid).save(tmp_path / "g.png")
        add_error_legend(tmp_path / "g.png")
        out = np.asarray(Image.open(tmp_path / "g.png").convert("RGB"))
        assert out.shape[1] == width and out.shape[0] > 120 and np.array_equal(out[:120], grid)
        strip = out[120:].reshape(-1, 3)
        for colour in (FALSE_POSITIVE, FALSE_NEGATIVE):
            assert (np.abs(strip.astype(int) - colour).sum(axis=1) < 10).sum() > 20, (width, colour)


def test_dice_vs_time_draws_one_series_per_arm_and_the_time_limit():
    runs = pd.DataFrame({"arm": ["unet, 25", "unet, 25", "resnet, 100"], "train_seconds": [120.0, 125.0, 1500.0],
                         "test_dice": [0.84, 0.85, 0.83]})
    fig = figures.plot_dice_vs_time(runs, "arm", "t", limit_s=900)
    ax = fig.axes[0]
    points = [c.get_offsets().tolist() for c in ax.collections]
    assert points == [[[120.0, 0.84], [125.0, 0.85]], [[1500.0, 0.83]]]
    vertical = [line for line in ax.lines if list(line.get_xdata()) == [900, 900]]
    assert len(vertical) == 1 and "15 min" in vertical[0].get_label()
    assert not figures.plot_dice_vs_time(runs, "arm", "t").axes[0].lines


def test_the_frontier_names_each_point_once_in_dice_order_and_draws_only_the_targets_of_its_networks():
    import matplotlib.text

    points = pd.DataFrame({"model": ["unet", "unet", "resnet34_unet", "unet"],
                           "family": ["AMD EPYC", "AMD EPYC", "AMD EPYC", "Intel AMX"],
                           "arm": ["UNet chosen", "UNet chosen + ds", "ResNet34-UNet chosen", "UNet chosen"],
                           "test_dice": [0.872, 0.876, 0.851, 0.871], "std": [0.001, 0.003, 0.001, 0.002],
                           "minutes": [15.4, 14.7, 17.6, 11.6], "timing": ["idle", "idle", "idle", "typical"]})
    fig = figures.plot_frontier(points, {"unet": 0.88, "resnet34_unet": 0.86}, 15, "frontier")
    assert figures.printed_points(fig) >= MIN_POINTS
    amd, intel = fig.axes
    names = [t.get_text() for t in amd.texts]
    assert names == ["UNet chosen + ds", "UNet chosen", "ResNet34-UNet chosen"]  # top to bottom: dice order
    assert [t.get_text() for t in intel.texts] == ["UNet chosen"]
    flat = [line.get_ydata()[0] for line in amd.lines if len(set(line.get_ydata())) == 1 and line.get_ls() == ":"]
    assert sorted(flat) == [0.86, 0.88]  # both networks' targets where both have arms
    assert [line.get_ydata()[0] for line in intel.lines if line.get_ls() == ":" and len(set(line.get_ydata())) == 1
            ] == [0.88]  # no ResNet34-UNet arm on Intel AMX: no line for its target
    assert any(t.get_text().startswith("frontier") for t in fig.findobj(matplotlib.text.Text))
