"""labseg.figures.plot_histories with many runs: one legend under the panels that overlaps none of them."""
import json

import matplotlib
import pandas as pd

from labseg.figures import plot_histories

matplotlib.use("Agg")


def write_run(results, name, seed, shift):
    run = results / "runs" / name
    run.mkdir(parents=True)
    epochs = range(1, 11)
    pd.DataFrame({"epoch": epochs, "train_loss": [1 / e + shift for e in epochs], "val_loss": [1.2 / e + shift for e in epochs],
                  "val_dice": [0.5 + 0.03 * e - shift for e in epochs], "val_pixel_acc": [0.6 + 0.02 * e for e in epochs]}
                 ).to_csv(run / "history.csv", index=False)
    (run / "config.json").write_text(json.dumps({"seed": seed}))


def test_legend_below_names_each_run_once_and_overlaps_no_panel(tmp_path):
    names = [f"run{i}" for i in range(6)]
    for i, name in enumerate(names):
        write_run(tmp_path, name, seed=i, shift=0.01 * i)
    labels = [f"+ a long arm name number {i}, 75 epochs" for i in range(6)]
    fig = plot_histories(tmp_path, names, labels, marks={"averaging starts": 7.5}, legend_below=True)
    assert not any(ax.get_legend() for ax in fig.axes)
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["averaging starts", *[f"{label} (seed {i})" for i, label in enumerate(labels)],
                     "loss: training (solid)", "loss: validation (dashed)"]
    # each run has one colour on every panel (its train and val loss, its val dice and pixel accuracy)
    for i in range(6):
        colours = {fig.axes[0].lines[1 + 2 * i].get_color(), fig.axes[0].lines[2 + 2 * i].get_color(),
                   fig.axes[1].lines[1 + i].get_color(), fig.axes[2].lines[1 + i].get_color()}
        assert len(colours) == 1
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(box.y1 < ax.get_tightbbox().y0 for ax in fig.axes)  # below every panel, x labels included
    assert box.y0 >= 0 and box.x0 >= 0 and box.x1 <= fig.bbox.x1  # inside the figure


def test_panel_legends_by_default(tmp_path):
    write_run(tmp_path, "a", seed=0, shift=0)
    fig = plot_histories(tmp_path, ["a"], ["recipe"])
    assert not fig.legends and [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["recipe (seed 0)"]
