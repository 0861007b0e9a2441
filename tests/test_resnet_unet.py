"""Stochastic depth in the ResNet34-UNet's encoder (--drop-path): the per-block rates, each sample's output against
an independent computation of the kept and the dropped block, the drop frequency, evaluation untouched, a training
run that resumes exactly, and the bad values refused in one line."""
import pytest
import torch

from labseg.config import RunConfig
from labseg.models import build_model
from labseg.models.resnet_unet import BasicBlock
from test_engine import interrupted_and_resumed


def blocks(model):
    return [b for b in model.modules() if isinstance(b, BasicBlock)]


def test_rates_rise_linearly_over_the_16_blocks_and_add_no_parameters():
    torch.manual_seed(0)
    plain = build_model("resnet34_unet")
    torch.manual_seed(0)
    dropping = build_model("resnet34_unet", drop_path=0.3)
    rates = [b.drop_path for b in blocks(dropping)]
    assert len(rates) == 16 and rates[0] == 0 and rates[-1] == pytest.approx(0.3)
    assert all(b - a == pytest.approx(0.3 / 15) for a, b in zip(rates, rates[1:]))
    assert all(b.drop_path == 0 for b in blocks(plain))
    a, b = plain.state_dict(), dropping.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # same initial weights too


def test_each_sample_keeps_or_drops_its_residual_branch():
    """A block at rate 0.5 in training: each sample's output is relu(x + branch / 0.5) (kept, scaled so the mean is
    unchanged) or relu(x) (dropped), with the branch computed apart; about half the samples are dropped."""
    torch.manual_seed(2)
    block = BasicBlock(8, 8, drop_path=0.5).train()
    x = torch.randn(4000, 8, 5, 5)
    with torch.no_grad():
        branch = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))  # batch statistics, as in training
        kept, dropped = torch.relu(x + branch / 0.5), torch.relu(x)
        out = block(x)
    is_kept = torch.isclose(out, kept, rtol=1e-5, atol=1e-5).flatten(1).all(1)
    is_dropped = (out == dropped).flatten(1).all(1)
    assert bool((is_kept ^ is_dropped).all()), "every sample is exactly one of the two"
    assert abs(is_dropped.float().mean().item() - 0.5) < 0.04  # 4000 draws: the binomial's sd is 0.008


def test_evaluation_uses_every_block():
    torch.manual_seed(3)
    plain = build_model("resnet34_unet").eval()
    dropping = build_model("resnet34_unet", drop_path=0.5).eval()
    dropping.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(plain(x), dropping(x))
        assert torch.equal(dropping(x), dropping(x))
    dropping.train()
    with torch.no_grad():  # in training, two calls draw different blocks
        assert not torch.equal(dropping(x), dropping(x))


@pytest.mark.slow
def test_a_run_with_stochastic_depth_learns_and_resumes_exactly(toy_root, tmp_path):
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice"],
                                           model="resnet34_unet", drop_path=0.2, epochs=3)
    assert cfg.drop_path == 0.2 and history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]


@pytest.mark.parametrize("kw, msg", [(dict(model="resnet34_unet", drop_path=1.0),
                                      r"--drop-path 1.0: must be a number in \[0, 1\)"),
                                     (dict(model="resnet34_unet", drop_path=-0.1), "--drop-path -0.1"),
                                     (dict(model="resnet34_unet", drop_path=True), "--drop-path True"),
                                     (dict(model="resnet34_unet", drop_path="0.1"), "--drop-path 0.1"),
                                     (dict(model="unet", drop_path=0.1), "--drop-path 0.1: .*--model unet has none"),
                                     (dict(model="resnet34_unet_seed", drop_path=0.1), "--model resnet34_unet_seed")])
def test_bad_drop_path_values_are_refused_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**kw).validate()
