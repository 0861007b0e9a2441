"""Optimiser and schedule (labseg.optim): the cosine schedule's floor, AdamW's decay on weights only."""

import numpy as np
import pytest
import torch

from labseg.config import profile_config
from labseg.models import build_model


def test_cosine_decays_to_the_floor():
    from labseg.optim import make_scheduler

    def lrs(**kw):
        cfg = profile_config("smoke", schedule="cosine", warmup_epochs=1.0, epochs=5, lr=1e-2, **kw)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
        sched, out = make_scheduler(opt, cfg, 10), []
        for _ in range(50):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return np.array(out + [opt.param_groups[0]["lr"]])

    plain, floor = lrs(), lrs(lr_floor=0.1)
    assert np.array_equal(plain[:10], floor[:10])  # the warm-up is the same
    assert plain[-1] == pytest.approx(0, abs=1e-12) and floor[-1] == pytest.approx(1e-3)
    np.testing.assert_allclose(floor[10:], 1e-3 + 0.9 * plain[10:], rtol=1e-9)


def test_adamw_leaves_norms_and_biases_undecayed():
    from labseg.optim import make_optimizer

    model = build_model("unet", width=4)
    opt = make_optimizer(model, 1e-3, 0.05, name="adamw")
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.05 and plain["weight_decay"] == 0.0
    assert all(p.ndim == 4 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))
