"""Stochastic weight averaging (--swa-epochs, --swa-lr): the average against an independent mean, its BatchNorm
statistics against torch's own update_bn, the rate of the averaging phase, and a resume inside it that equals an
uninterrupted run."""
import numpy as np
import pytest
import torch
from torch import nn

from labseg.checkpoint import load_checkpoint
from labseg.config import RunConfig
from labseg.engine import train
from labseg.models import build_model
from labseg.swa import WeightAverage
from test_engine import interrupted_and_resumed, smoke


def test_the_average_is_the_mean_of_the_weights_it_was_given():
    torch.manual_seed(0)
    nets = [build_model("unet", width=4) for _ in range(3)]
    average = WeightAverage(nets[0])
    for net in nets:
        average.update(net)
    assert average.averaged == 3
    for name, p in average.model.named_parameters():
        expected = torch.stack([dict(n.named_parameters())[name].detach() for n in nets]).double().mean(0)
        torch.testing.assert_close(p.double(), expected, rtol=1e-5, atol=1e-7)
    assert not any(p.requires_grad for p in average.model.parameters())


def test_batchnorm_statistics_equal_torchs_update_bn():
    torch.manual_seed(1)
    net = build_model("unet", width=4)
    average = WeightAverage(net)
    average.update(net)
    batches = [torch.randn(3, 3, 32, 32) * 2 + 1 for _ in range(4)]
    average.model.eval()
    before = {k: v.clone() for k, v in average.model.state_dict().items()}
    assert average.measure_batchnorm(batches, torch.device("cpu"), bf16=False) == 12
    reference = WeightAverage(net)
    reference.update(net)
    torch.optim.swa_utils.update_bn(batches, reference.model)  # torch's implementation, run independently
    mine, theirs = average.model.state_dict(), reference.model.state_dict()
    changed = 0
    for key, value in mine.items():
        if key.endswith(("running_mean", "running_var")):
            torch.testing.assert_close(value, theirs[key], rtol=1e-5, atol=1e-6)
            changed += not torch.equal(value, before[key])
        elif not key.endswith("num_batches_tracked"):
            assert torch.equal(value, before[key]), key  # weights untouched
    assert changed > 10
    norms = [m for m in average.model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.momentum == 0.1 for m in norms) and not average.model.training  # as it was


@pytest.mark.slow
def test_the_averaging_phase_runs_at_a_constant_rate_and_saves_the_average(toy_root, tmp_path):
    """epochs 4, --swa-epochs 3: one-cycle over epoch 1, then 3 epochs at swa_lr x lr; each row of the phase scores
    the average of its epochs, and the checkpoint of epoch 3 holds the mean of the networks trained to epochs 2 and
    3 (read back from the resume state of epochs 2 and 3)."""
    trained = {}

    def keep(msg):
        if msg.startswith("epoch"):
            ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
            trained[ckpt["epoch"]] = ckpt

    cfg = smoke(toy_root, tmp_path / "run", epochs=4, swa_epochs=3, swa_lr=0.2, schedule="onecycle")
    metrics = train(cfg, progress=False, log=keep)
    history = np.genfromtxt(tmp_path / "run" / "history.csv", delimiter=",", names=True)
    np.testing.assert_allclose(history["lr"][1:], 0.2 * cfg.lr, rtol=1e-12)
    assert history["lr"][0] < 1e-3 * cfg.lr  # one-cycle ran its whole course in epoch 1
    assert list(history["swa_averaged"]) == [0, 1, 2, 3]
    assert "swa" not in trained[1] and trained[2]["swa"]["averaged"] == 1 and trained[3]["swa"]["averaged"] == 2
    w2, w3 = trained[2]["swa"]["training"], trained[3]["swa"]["training"]
    for key, value in trained[3]["model"].items():
        if value.is_floating_point() and "running" not in key:
            torch.testing.assert_close(value.double(), (w2[key].double() + w3[key].double()) / 2, rtol=1e-5, atol=1e-7)
    key = next(k for k in w3 if k.endswith("weight") and w3[k].ndim == 4)
    assert not torch.equal(trained[3]["model"][key], w3[key])  # the average, not the network that trains
    finished = load_checkpoint(tmp_path / "run" / "last.pt")
    assert finished["epoch"] == 4 and "swa" not in finished and "optimizer" not in finished
    assert 0 < metrics["test_dice"] <= 1


@pytest.mark.slow
def test_a_run_cut_off_in_the_averaging_phase_resumes_exactly(toy_root, tmp_path):
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice", "lr"], epochs=4,
                                           swa_epochs=3, schedule="onecycle", optimizer="adamw", weight_decay=1e-2,
                                           augment="rotate")
    assert load_checkpoint(tmp_path / "full" / "best.pt")["config"]["swa_epochs"] == 3
    assert list(history["swa_averaged"]) == [0, 1, 2, 3]


@pytest.mark.parametrize("kw, msg", [(dict(swa_epochs=50), r"--swa-epochs 50: .*shorter than training \(50 epochs\)"),
                                     (dict(swa_epochs=-1), "--swa-epochs -1: must be a whole number >= 0"),
                                     (dict(swa_epochs=2.5), "--swa-epochs 2.5"),
                                     (dict(swa_epochs=True), "--swa-epochs True"),
                                     (dict(swa_epochs=5, swa_lr=0), r"--swa-lr 0: must be a number in \(0, 1\]"),
                                     (dict(swa_epochs=5, swa_lr=1.5), "--swa-lr 1.5"),
                                     (dict(swa_lr=0.2), "--swa-lr 0.2: .*add --swa-epochs N"),
                                     (dict(swa_epochs=45, warmup_epochs=5.0, schedule="cosine"),
                                      r"--warmup-epochs 5.0: .*\(5 epochs: 50 less 45 of --swa-epochs\)")])
def test_bad_averaging_options_are_refused_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**kw).validate()
