"""Deep supervision (--deep-supervision W): the UNet's side outputs (their sizes, their parameters, training mode
only), the loss against an independent computation, a run that learns, resumes exactly and predicts from its
checkpoint as a plain UNet, and bad options refused in one line."""
import pytest
import torch
import torch.nn.functional as F

from labseg.checkpoint import load_checkpoint, model_from_checkpoint
from labseg.config import RunConfig
from labseg.losses import SegmentationLoss, SideOutputLoss, bce_loss, soft_dice_loss
from labseg.models import build_model
from test_engine import interrupted_and_resumed


def test_the_side_outputs_are_the_coarser_decoder_stages_in_training_only():
    torch.manual_seed(0)
    plain, deep = build_model("unet", width=8), build_model("unet", width=8, deep_supervision=True)
    extra = sum(p.numel() for p in deep.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == (64 + 1) + (32 + 1) + (16 + 1)  # a 1x1 conv (weights + bias) on 8w, 4w and 2w channels
    x = torch.randn(2, 3, 64, 48)
    logits, sides = deep.train()(x)
    assert logits.shape == (2, 1, 64, 48)
    assert [s.shape[-2:] for s in sides] == [(8, 6), (16, 12), (32, 24)]
    deep.eval()
    out = deep(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1, 64, 48)
    # the same weights without the heads: the same logits, so predicting needs nothing of deep supervision
    plain.load_state_dict({k: v for k, v in deep.state_dict().items() if not k.startswith("sides.")})
    torch.testing.assert_close(plain.eval()(x), out, rtol=0, atol=0)


def test_the_loss_adds_the_weighted_mean_of_the_upsampled_side_losses():
    torch.manual_seed(1)
    target = (torch.rand(3, 1, 32, 32) > 0.5).to(torch.uint8)
    target[0, 0, :4] = 255  # ignored pixels stay ignored in every term
    logits = torch.randn(3, 1, 32, 32)
    sides = [torch.randn(3, 1, 4, 4), torch.randn(3, 1, 8, 8), torch.randn(3, 1, 16, 16)]

    def base(lg):  # bce + soft dice written out with the library's parts, per term
        return bce_loss(lg, target) + soft_dice_loss(lg, target)

    up = [F.interpolate(s, size=(32, 32), mode="bilinear", align_corners=False) for s in sides]
    want = base(logits) + 0.4 * (base(up[0]) + base(up[1]) + base(up[2])) / 3
    loss = SideOutputLoss(SegmentationLoss("bce_dice"), 0.4)
    torch.testing.assert_close(loss((logits, sides), target), want)
    torch.testing.assert_close(loss(logits, target), base(logits))  # evaluated: the logits alone


@pytest.mark.slow
def test_a_deeply_supervised_run_learns_resumes_exactly_and_predicts_as_a_unet(toy_root, tmp_path):
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice"], epochs=4,
                                           deep_supervision=0.4, lr=3e-3)
    ckpt = load_checkpoint(tmp_path / "full" / "last.pt")
    assert ckpt["config"]["deep_supervision"] == 0.4 and any(k.startswith("sides.") for k in ckpt["model"])
    model, _ = model_from_checkpoint(ckpt)
    assert isinstance(model.eval()(torch.zeros(1, 3, 40, 40)), torch.Tensor)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]  # it learns


@pytest.mark.parametrize("kw, msg", [(dict(deep_supervision=1.5), r"--deep-supervision 1.5: must be a number in "
                                                                    r"\[0, 1\]"),
                                     (dict(deep_supervision=-0.1), "--deep-supervision -0.1"),
                                     (dict(deep_supervision=0.4, model="resnet34_unet"),
                                      "--deep-supervision 0.4: adds side outputs to the unet decoder; --model "
                                      "resnet34_unet has none.")])
def test_bad_deep_supervision_options_are_refused_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**kw).validate()
