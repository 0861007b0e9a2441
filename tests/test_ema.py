"""The exponential moving average of the weights (--ema-decay): the average against an independent recursion, a run
that saves the average (not the network that trains), updated once a step, a resume that equals an uninterrupted run,
and bad options refused in one line."""
import pytest
import torch

from labseg.batches import steps_per_epoch
from labseg.checkpoint import load_checkpoint
from labseg.config import RunConfig
from labseg.ema import ExponentialAverage
from labseg.engine import train
from labseg.models import build_model
from test_engine import interrupted_and_resumed, smoke


def test_the_average_follows_the_warmed_up_recursion():
    torch.manual_seed(0)
    nets = [build_model("unet", width=4) for _ in range(4)]
    for i, net in enumerate(nets):  # distinct BatchNorm statistics too
        for name, buf in net.named_buffers():
            if buf.is_floating_point():
                buf.add_(i + 1)
    ema = ExponentialAverage(nets[0], decay=0.3)
    expected = {k: v.double().clone() for k, v in nets[0].state_dict().items()}
    for t, net in enumerate(nets):
        d = min(0.3, (1 + t) / (10 + t))  # written out here: 0.1, 0.18..., 0.25, then the decay 0.3
        ema.update(net)
        for key, value in net.state_dict().items():
            expected[key] = d * expected[key] + (1 - d) * value.double() if value.is_floating_point() else value
    assert ema.updates == 4
    for key, value in ema.model.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value.double(), expected[key], rtol=1e-5, atol=1e-7)
        else:
            assert torch.equal(value, expected[key]), key  # counters are copied
    assert not any(p.requires_grad for p in ema.model.parameters())
    assert ema.rate() == 0.3  # past the warm-up: the decay itself


@pytest.mark.slow
def test_a_run_saves_the_average_and_resumes_exactly(toy_root, tmp_path):
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice", "lr"], epochs=4,
                                           ema_decay=0.9, schedule="cosine", optimizer="adamw", weight_decay=1e-2)
    cut = tmp_path / "ema-cut"
    cut_cfg = smoke(toy_root, cut, epochs=4, ema_decay=0.9, schedule="cosine", optimizer="adamw", weight_decay=1e-2)

    def stop_after_two(msg):
        if msg.startswith("epoch   2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cut_cfg, progress=False, log=stop_after_two)
    mid = load_checkpoint(cut / "last.pt")
    # one update per optimiser step (14 images, 6 a batch)
    assert mid["ema"]["updates"] == 2 * steps_per_epoch(14, 0, 6)
    key = next(k for k, v in mid["model"].items() if v.ndim == 4)
    assert not torch.equal(mid["model"][key], mid["ema"]["training"][key])  # the average is what is saved
    assert load_checkpoint(tmp_path / "full" / "best.pt")["config"]["ema_decay"] == 0.9


@pytest.mark.parametrize("kw, msg", [(dict(ema_decay=1.0), r"--ema-decay 1.0: must be a number in \[0, 1\)"),
                                     (dict(ema_decay=-0.1), "--ema-decay -0.1"),
                                     (dict(ema_decay=True), "--ema-decay True"),
                                     (dict(ema_decay=0.99, swa_epochs=5), "--ema-decay 0.99: .*use one of them")])
def test_bad_ema_options_are_refused_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**kw).validate()
