import pytest
import torch
import torchvision

from labseg.models import MODELS, ResNet34UNet, SeedResNet34UNet, UNet, build_model, canonical_model_name
from labseg.models.resnet_unet import ResNet34Encoder


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_unet_has_the_reports_parameter_count():
    assert n_params(UNet()) == 31_037_633


def test_resnet34_encoder_has_exactly_torchvision_resnet34_parameters_without_fc():
    tv = torchvision.models.resnet34()
    assert n_params(ResNet34Encoder()) == n_params(tv) - n_params(tv.fc) == 21_284_672


@pytest.mark.parametrize("name,options", [("unet", {}), ("resnet34_unet", {}), ("resnet34_unet_seed", {}),
                                          ("vgg16_bn_unet", {})])
@pytest.mark.parametrize("size", [64, 256])
def test_output_shapes_full_resolution(name, options, size):
    model = build_model(name, **options).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 1, size, size)


@pytest.mark.parametrize("name", list(MODELS))
def test_odd_input_sizes_give_same_size_output(name):
    model = build_model(name, **({"width": 4} if name == "unet" else {})).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 97, 75))
    assert out.shape == (1, 1, 97, 75)


def test_torchvision_weights_load_strict_and_give_the_same_stage_features():
    torch.manual_seed(0)
    tv = torchvision.models.resnet34().eval()
    enc = ResNet34Encoder().eval()
    enc.load_torchvision_state_dict(tv.state_dict())  # strict=True inside
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        feats = enc(x)
        y = tv.relu(tv.bn1(tv.conv1(x)))
        expected = [y]
        y = tv.maxpool(y)
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            y = layer(y)
            expected.append(y)
    assert [f.shape[-1] for f in feats] == [64, 32, 16, 8, 4]
    for f, e in zip(feats, expected):
        torch.testing.assert_close(f, e)


def test_pretrained_weights_come_from_a_local_file(tmp_path):
    tv = torchvision.models.resnet34()
    path = tmp_path / "resnet34.pth"
    torch.save(tv.state_dict(), path)
    model = ResNet34UNet(pretrained=path)
    torch.testing.assert_close(model.encoder.layer3[0].downsample[0].weight, tv.layer3[0].downsample[0].weight)


def test_missing_pretrained_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        ResNet34UNet(pretrained=tmp_path / "nope.pth")


def test_only_first_block_of_a_stage_is_strided_and_projection_is_registered():
    enc = ResNet34Encoder()
    for layer in (enc.layer2, enc.layer3, enc.layer4):
        assert layer[0].conv1.stride == (2, 2) and layer[0].downsample is not None
        assert all(b.conv1.stride == (1, 1) and b.downsample is None for b in layer[1:])
    assert "layer2.0.downsample.0.weight" in enc.state_dict()


def test_seed_network_reproduces_the_reports_bugs():
    seed = SeedResNet34UNet().eval()
    shapes = {}
    for name in ("layer2", "layer3", "layer4"):
        getattr(seed, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape[-1]))
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        a, b = seed(x), seed(x)
    assert shapes == {"layer2": 4, "layer3": 1, "layer4": 1}  # every block strided: collapses to 1x1
    assert not torch.allclose(a, b)  # a fresh random projection on every call
    assert not any("downsample" in k or "projection" in k for k in seed.state_dict())
    ours = ResNet34UNet().eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ours(x))


def test_registry_accepts_the_reports_spellings():
    assert canonical_model_name("UNet") == "unet"
    assert canonical_model_name("ResNet34_UNet") == "resnet34_unet"
    assert isinstance(build_model("unet", width=4), UNet)
    with pytest.raises(ValueError, match="choose one of"):
        build_model("vgg")


@pytest.mark.parametrize("channels_last", [False, True])
def test_matmul_upsampling_equals_the_library_transposed_conv_values_and_gradients(channels_last):
    from labseg.models.parts import UpConv2x2

    torch.manual_seed(0)
    ours = UpConv2x2(6, 4).double()
    ref = torch.nn.ConvTranspose2d(6, 4, kernel_size=2, stride=2).double()
    ref.load_state_dict(ours.state_dict())  # same keys and shapes
    x = torch.randn(3, 6, 5, 7, dtype=torch.double)  # odd H, W
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), ref(xb)
    assert ya.shape == yb.shape == (3, 4, 10, 14)
    assert ya.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    torch.testing.assert_close(ya, yb)
    g = torch.randn_like(yb)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad)


def test_matmul_upsampling_puts_each_kernel_tap_at_its_own_output_pixel():
    from labseg.models.parts import UpConv2x2

    up = UpConv2x2(1, 1)
    with torch.no_grad():
        up.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        up.bias.zero_()
        y = up(torch.tensor([[[[1.0, 10.0]]]]))
    assert y.tolist() == [[[[1.0, 2.0, 10.0, 20.0], [3.0, 4.0, 30.0, 40.0]]]]


# ----------------------------------------------------------------------------- VGG16-BN-UNet

def test_vgg16_bn_unet_parameter_count():
    from labseg.models import VGG16BNEncoder, VGG16BNUNet

    tv = torchvision.models.vgg16_bn()
    assert n_params(VGG16BNEncoder()) == n_params(tv.features) == 14_723_136
    # = segmentation-models-pytorch's Unet("vgg16_bn", encoder_weights=None) (checked in the benchmark):
    # encoder + center (2 x 3x3 conv-BN 512 -> 512) + decoder 256-128-64-32-16 + 3x3 head
    center = 2 * (512 * 512 * 9 + 2 * 512)
    assert n_params(VGG16BNUNet()) == 23_756_689
    assert n_params(VGG16BNUNet().center) == center


def test_vgg16_bn_torchvision_weights_load_strict_and_give_the_pre_pool_features():
    from labseg.models import VGG16BNEncoder

    torch.manual_seed(0)
    tv = torchvision.models.vgg16_bn().eval()
    enc = VGG16BNEncoder().eval()
    enc.load_torchvision_state_dict(tv.state_dict())  # classifier keys dropped, strict=True inside
    x = torch.randn(2, 3, 97, 75)
    with torch.no_grad():
        feats = enc(x)
        expected, y = [], x
        for layer in tv.features:
            if isinstance(layer, torch.nn.MaxPool2d):
                expected.append(y.clone())
            y = layer(y)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    assert [tuple(f.shape[-2:]) for f in feats] == [(97, 75), (48, 37), (24, 18), (12, 9), (6, 4)]
    for f, e in zip(feats, expected):
        torch.testing.assert_close(f, e)


def test_vgg16_bn_pretrained_file_loads_and_a_wrong_one_names_its_keys(tmp_path):
    from labseg.models import VGG16BNUNet

    tv = torchvision.models.vgg16_bn()
    good = tmp_path / "vgg16_bn.pth"
    torch.save(tv.state_dict(), good)
    model = VGG16BNUNet(pretrained=good)
    torch.testing.assert_close(model.encoder.features[40].weight, tv.features[40].weight)
    wrong = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), wrong)
    with pytest.raises(ValueError, match=r"resnet34.pth does not hold torchvision vgg16_bn weights: missing keys "
                                         r"features.0.weight.*unexpected keys conv1.weight") as err:
        VGG16BNUNet(pretrained=wrong)
    assert "\n" not in str(err.value)
    plain_vgg = tmp_path / "vgg16.pth"  # VGG16 without BN: the same names shifted, other shapes
    torch.save(torchvision.models.vgg16().state_dict(), plain_vgg)
    with pytest.raises(ValueError, match="vgg16.pth does not hold torchvision vgg16_bn weights"):
        VGG16BNUNet(pretrained=plain_vgg)


def test_unknown_model_lists_the_registry():
    with pytest.raises(ValueError, match="--model vgg19: unknown model; choose one of: unet, resnet34_unet, "
                                         "resnet34_unet_seed, vgg16_bn_unet"):
        build_model("vgg19")
    assert canonical_model_name("VGG16_BN") == "vgg16_bn_unet"


@pytest.mark.parametrize("name,encoder", [("resnet34_unet", "resnet34"), ("vgg16_bn_unet", "vgg16_bn")])
def test_the_encoder_unets_compute_smps_function(name, encoder):
    """With smp's weights loaded (state dicts in the same order, same shapes; only the head's name differs), labseg's
    ResNet34-UNet and VGG16-BN-UNet give segmentation-models-pytorch's Unet outputs exactly: the benchmark's smp
    rows time the same function."""
    smp = pytest.importorskip("segmentation_models_pytorch")
    ours = build_model(name).eval()
    ref = smp.Unet(encoder, encoder_weights=None, in_channels=3, classes=1).eval()
    theirs = ref.state_dict()
    assert [v.shape for v in ours.state_dict().values()] == [v.shape for v in theirs.values()]
    ours.load_state_dict(dict(zip(ours.state_dict(), theirs.values())))
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        assert torch.equal(ours(x), ref(x))
