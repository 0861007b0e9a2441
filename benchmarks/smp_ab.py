"""labseg's encoder UNets against segmentation-models-pytorch's, timed A/B interleaved: the two networks compute the
same function (tests/test_models.py: equal outputs with the same weights), so on a noisy machine one timing of each
(as python -m labseg.tools.bench gives) can differ by 20 % either way; here the two alternate, round after round, and
the per-round ratios show the spread. bf16 autocast where native, channels_last, batch 8, Adam, as the benchmark.

    python benchmarks/smp_ab.py vgg16_bn_unet 128 infer 10     # model, size, infer|train, rounds

Prints labseg's and smp's median images/s, their ratio (>1: labseg faster) and the per-round ratios' min, median
and max. Needs labseg[bench].
"""
import statistics
import sys
import time

import segmentation_models_pytorch as smp
import torch

from labseg.models import build_model

torch.set_num_threads(2)
name, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
enc = {"vgg16_bn_unet": "vgg16_bn", "resnet34_unet": "resnet34"}[name]
torch.manual_seed(0)
nets = {"labseg": build_model(name), "smp": smp.Unet(encoder_name=enc, encoder_weights=None, in_channels=3, classes=1)}
x = torch.randn(8, 3, size, size).to(memory_format=torch.channels_last)
y = (torch.rand(8, 1, size, size) > 0.5).float()
opts = {}
for k, m in nets.items():
    nets[k] = m.to(memory_format=torch.channels_last)
    nets[k].eval() if mode == "infer" else nets[k].train()
    opts[k] = torch.optim.Adam(nets[k].parameters(), 1e-3)
def step(k):
    m = nets[k]
    if mode == "infer":
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            m(x)
    else:
        opts[k].zero_grad(set_to_none=True)
        with torch.autocast("cpu", torch.bfloat16):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(m(x).float(), y)
        loss.backward()
        opts[k].step()
for k in nets:
    step(k)
    step(k)
t = {k: [] for k in nets}
for r in range(int(sys.argv[4]) if len(sys.argv) > 4 else 6):
    for k in (("labseg", "smp") if r % 2 == 0 else ("smp", "labseg")):
        s = time.perf_counter()
        step(k)
        step(k)
        t[k].append((time.perf_counter() - s) / 2)
med = {k: statistics.median(v) for k, v in t.items()}
pairs = sorted(a / b for a, b in zip(t["smp"], t["labseg"]))  # per round: smp time / labseg time (>1: labseg faster)
print(f"{name} {size} {mode}: labseg {8/med['labseg']:.1f} img/s, smp {8/med['smp']:.1f} img/s, "
      f"ratio {med['smp']/med['labseg']:.3f}; "
      f"per-round ratios {pairs[0]:.2f} .. {statistics.median(pairs):.2f} .. {pairs[-1]:.2f} over {len(pairs)} rounds  "
      f"(spread labseg {min(t['labseg'])*1e3:.0f}-{max(t['labseg'])*1e3:.0f} ms, "
      f"smp {min(t['smp'])*1e3:.0f}-{max(t['smp'])*1e3:.0f} ms)", flush=True)
