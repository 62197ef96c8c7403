"""Tests for core.models: shapes, seeded construction, validation, torch.func population parity."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from core.models import MODELS, ModelSpec, build_model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
SIGNAL_SHAPES = [(1, 40), (3, 17), (2, 3)]  # (channels, length): MNIST-1D's is (1, 40)
SMALL = {  # plain nets unless a test switches BatchNorm on (norm defaults to on)
    "mlp": ModelSpec("mlp", widths=(32, 16), norm=False),
    "cnn": ModelSpec("cnn", channels=(8, 16), norm=False),
    "cnn1d": ModelSpec("cnn1d", channels=(8, 16), norm=False),
    "resnet": ModelSpec("resnet", depth=8, width=4),
}
# An input each model accepts: images for the 2-D models, a signal for the 1-D CNN.
INPUT = {"mlp": (3, 8, 8), "cnn": (3, 8, 8), "cnn1d": (3, 40), "resnet": (3, 8, 8)}


def test_models_constant():
    assert MODELS == ("mlp", "cnn", "cnn1d", "resnet")


@pytest.mark.parametrize("norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ["mlp", "cnn", "resnet"])
def test_output_shape_for_every_input_size(name, shape, norm):
    model = build_model(ModelSpec(name, norm=norm), input_shape=shape, num_classes=7, seed=0)
    out = model(torch.randn(3, *shape))
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("shape", SIGNAL_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ["mlp", "cnn1d"])
def test_output_shape_for_every_signal_length(name, shape, norm):
    """The MLP flattens a signal like an image; the 1-D CNN takes (channels, length)."""
    spec = ModelSpec(name, channels=(4, 4, 4, 4, 4), norm=norm)  # more stages than length 3 has
    model = build_model(spec, input_shape=shape, num_classes=7, seed=0)
    out = model(torch.randn(3, *shape))
    assert out.shape == (3, 7)
    assert torch.isfinite(out).all()


def test_cnn1d_is_the_mnist1d_papers_convnet():
    """Greydanus 2020's ConvBase: Conv1d(1→25, k5), Conv1d(25→25, k3) twice, stride 2,
    padding 1, then a linear head on the 25·5 = 125 flattened features of a length-40 signal."""
    model = build_model(
        ModelSpec("cnn1d", channels=(25, 25, 25), norm=False), input_shape=(1, 40),
        num_classes=10, seed=0,
    )
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (1, 25, 5), (25, 25, 3), (25, 25, 3)
    ]  # fmt: skip
    assert all(c.stride == (2,) and c.padding == (1,) for c in convs)
    assert model.features(torch.randn(2, 1, 40)).shape == (2, 125)
    assert model.classifier.in_features == 125
    assert count_parameters(model) == (25 * 5 + 25) + 2 * (25 * 25 * 3 + 25) + (125 * 10 + 10)


@pytest.mark.parametrize("name", MODELS)
def test_norm_switch_works_for_every_model(name):
    """norm=True puts BatchNorm in, norm=False takes every BatchNorm out (and gives the layers
    before it their bias back); the default is on for every model, as a study spec shows it."""
    spec = SMALL[name]
    shape = INPUT[name]

    def batchnorms(norm):
        switched = ModelSpec(name, channels=spec.channels, widths=spec.widths, depth=spec.depth,
                             width=spec.width, norm=norm)  # fmt: skip
        model = build_model(switched, input_shape=shape, num_classes=5, seed=0)
        assert model(torch.randn(4, *shape)).shape == (4, 5)
        norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        layers = (nn.Linear, nn.Conv1d, nn.Conv2d)
        hidden = [m for m in model.modules() if isinstance(m, layers) and m is not model.classifier]
        assert hidden and all((m.bias is None) == switched.norm for m in hidden)
        return len(norms)

    assert batchnorms(True) > 0
    assert batchnorms(False) == 0
    assert ModelSpec(name).norm is True


def test_defaults_are_the_ones_a_study_spec_shows():
    assert ModelSpec("mlp") == ModelSpec("mlp", widths=(128, 128), norm=True)
    assert (ModelSpec("cnn").channels, ModelSpec("resnet").depth) == ((32, 64), 20)


def test_cnn_with_more_stages_than_pooling_room_still_fits_8x8():
    spec = ModelSpec("cnn", channels=(4, 4, 4, 4, 4), norm=True)
    model = build_model(spec, input_shape=(1, 8, 8), num_classes=10, seed=0)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_resnet_works_on_a_single_pixel():
    model = build_model(SMALL["resnet"], input_shape=(3, 1, 1), num_classes=4, seed=0)
    assert model(torch.randn(2, 3, 1, 1)).shape == (2, 4)


def test_parameter_counts():
    mlp = build_model(ModelSpec("mlp", widths=(16,), norm=False), input_shape=(1, 8, 8),
                      num_classes=10, seed=0)
    assert count_parameters(mlp) == (64 * 16 + 16) + (16 * 10 + 10)
    # With BatchNorm the hidden bias goes (BatchNorm's shift replaces it); scale and shift come.
    mlp_bn = build_model(
        ModelSpec("mlp", widths=(16,), norm=True), input_shape=(1, 8, 8), num_classes=10, seed=0
    )
    assert count_parameters(mlp_bn) == 64 * 16 + 2 * 16 + (16 * 10 + 10)
    # He et al. 2016, Table 6: ResNet-20 with option A shortcuts has 0.27 M parameters.
    resnet20 = build_model(ModelSpec("resnet"), input_shape=(3, 32, 32), num_classes=10, seed=0)
    assert count_parameters(resnet20) == 269_722
    resnet8 = build_model(
        ModelSpec("resnet", depth=8), input_shape=(3, 32, 32), num_classes=10, seed=0
    )
    assert count_parameters(resnet8) < count_parameters(resnet20)


def test_resnet_downsampling_shortcut_is_option_a():
    """With its residual branch silenced, a stage-opening block passes x subsampled by 2 with
    zero channels appended (He et al. 2016, option A: no parameters on the shortcut)."""
    model = build_model(
        ModelSpec("resnet", depth=8, width=4), input_shape=(3, 8, 8), num_classes=3, seed=0
    )
    block = model.blocks[1]  # first block of stage 2: 4 -> 8 channels, stride 2
    with torch.no_grad():
        block.conv2.weight.zero_()  # bn2 then sees zeros; its shift is 0 at initialization
        x = torch.rand(2, 4, 8, 8) + 0.1  # positive, so the final ReLU keeps it
        out = block.eval()(x)
    assert out.shape == (2, 8, 4, 4)
    torch.testing.assert_close(out[:, :4], x[:, :, ::2, ::2])
    assert torch.equal(out[:, 4:], torch.zeros(2, 4, 4, 4))


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_weights_different_seed_different_weights(name):
    shape = INPUT[name]
    a = build_model(SMALL[name], input_shape=shape, num_classes=5, seed=11).state_dict()
    b = build_model(SMALL[name], input_shape=shape, num_classes=5, seed=11).state_dict()
    c = build_model(SMALL[name], input_shape=shape, num_classes=5, seed=12).state_dict()
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    weights = [k for k in a if k.endswith("weight") and a[k].dim() >= 2]
    assert weights
    for key in weights:
        assert not torch.equal(a[key], c[key]), key


def test_building_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    build_model(ModelSpec("resnet", depth=8), input_shape=(3, 32, 32), num_classes=10, seed=0)
    assert torch.equal(torch.rand(5), expected)


def test_spec_accepts_lists_and_stays_hashable():
    spec = ModelSpec("mlp", widths=[64, 32], channels=[8])
    assert spec.widths == (64, 32) and spec.channels == (8,)
    assert hash(spec) == hash(ModelSpec("mlp", widths=(64, 32), channels=(8,)))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(name="transformer"), "name"),
        (dict(name="mlp", widths=()), "widths"),
        (dict(name="mlp", widths=(64, 0)), "widths"),
        (dict(name="mlp", widths=(64.0,)), "widths"),
        (dict(name="mlp", widths=64), "widths"),
        (dict(name="cnn", channels=()), "channels"),
        (dict(name="cnn", channels=(-8,)), "channels"),
        (dict(name="resnet", depth=21), "depth"),
        (dict(name="resnet", depth=2), "depth"),
        (dict(name="resnet", depth=0), "depth"),
        (dict(name="resnet", width=0), "width"),
        (dict(name="mlp", norm="yes"), "norm"),
    ],
)
def test_spec_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ModelSpec(**kwargs)


def test_unknown_model_error_lists_the_allowed_names():
    with pytest.raises(ValueError) as info:
        ModelSpec("vgg")
    for name in MODELS:
        assert name in str(info.value)


def test_depth_error_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"6n\+2"):
        ModelSpec("resnet", depth=18)


@pytest.mark.parametrize(
    ("spec", "kwargs", "field"),
    [
        (ModelSpec("cnn"), dict(input_shape=(8, 8)), "input_shape"),
        (ModelSpec("cnn1d"), dict(input_shape=(1, 8, 8)), "input_shape"),
        (ModelSpec("cnn1d"), dict(input_shape=(1, 2)), "length"),
        (ModelSpec("resnet"), dict(input_shape=(1, 8, 8, 1)), "input_shape"),
        (ModelSpec("mlp"), dict(input_shape=(1, 0, 8)), "input_shape"),
        (ModelSpec("mlp"), dict(num_classes=1), "num_classes"),
        (ModelSpec("mlp"), dict(seed=-1), "seed"),
    ],
)
def test_build_model_validation(spec, kwargs, field):
    args = dict(input_shape=(1, 8, 8), num_classes=10, seed=0) | kwargs
    with pytest.raises(ValueError, match=field):
        build_model(spec, **args)


# --------------------------------------------------------------------------- population parity

POPULATION = {
    "mlp": (ModelSpec("mlp", widths=(32, 16), norm=False), (1, 8, 8)),
    "mlp-bn": (ModelSpec("mlp", widths=(32, 16), norm=True), (1, 8, 8)),
    "cnn-bn": (ModelSpec("cnn", channels=(8, 16), norm=True), (1, 8, 8)),
    "cnn1d": (ModelSpec("cnn1d", channels=(8, 8, 8), norm=False), (1, 40)),
    "cnn1d-bn": (ModelSpec("cnn1d", channels=(8, 8, 8), norm=True), (1, 40)),
    "resnet8": (ModelSpec("resnet", depth=8, width=4), (3, 8, 8)),
    "resnet8-plain": (ModelSpec("resnet", depth=8, width=4, norm=False), (3, 8, 8)),
}
K = 3
BATCH = 6


def make_population(spec: ModelSpec, shape: tuple[int, ...]) -> list[nn.Module]:
    return [build_model(spec, input_shape=shape, num_classes=5, seed=s) for s in range(K)]


def population_forward(models, x, x_in_dim, *, train):
    """The trainer's recipe: stacked state, vmap over functional_call of a stateless copy."""
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    base.train(train)

    def member(p, b, inputs):
        return functional_call(base, (p, b), (inputs,))

    out = vmap(member, in_dims=(0, 0, x_in_dim))(params, buffers, x)
    return out, buffers


def assert_buffers_match(models, stacked) -> None:
    for k, model in enumerate(models):
        for name, own in model.named_buffers():
            torch.testing.assert_close(stacked[name][k], own, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("per_member_inputs", [False, True], ids=["shared-x", "own-x"])
@pytest.mark.parametrize("case", list(POPULATION))
def test_population_matches_each_model_in_train_mode(case, per_member_inputs):
    spec, shape = POPULATION[case]
    models = make_population(spec, shape)
    x = torch.randn(K, BATCH, *shape) if per_member_inputs else torch.randn(BATCH, *shape)
    out, buffers = population_forward(models, x, 0 if per_member_inputs else None, train=True)
    assert out.shape == (K, BATCH, 5)
    for k, model in enumerate(models):
        model.train()
        own = model(x[k] if per_member_inputs else x)
        torch.testing.assert_close(out[k].detach(), own.detach(), atol=1e-5, rtol=1e-5)
    # Running statistics moved, and moved per member exactly as each model's own did.
    has_norm = any(name.endswith("running_mean") for name in buffers)
    assert has_norm == spec.norm
    if has_norm:
        means = [v for n, v in buffers.items() if n.endswith("running_mean")]
        assert all(v.abs().sum() > 0 for v in means)
        assert not torch.equal(means[0][0], means[0][1])
    assert_buffers_match(models, buffers)


@pytest.mark.parametrize("case", list(POPULATION))
def test_population_matches_each_model_in_eval_mode(case):
    spec, shape = POPULATION[case]
    models = make_population(spec, shape)
    # Non-trivial running statistics first, different for every member.
    with torch.no_grad():
        for model in models:
            model.train()
            model(torch.randn(BATCH, *shape) * 3 + 1)
    x = torch.randn(BATCH, *shape)
    out, buffers = population_forward(models, x, None, train=False)
    for k, model in enumerate(models):
        model.eval()
        torch.testing.assert_close(out[k].detach(), model(x).detach(), atol=1e-5, rtol=1e-5)
    assert_buffers_match(models, buffers)  # eval mode updated nothing, on either side


@pytest.mark.parametrize("case", ["mlp-bn", "cnn1d-bn", "resnet8", "resnet8-plain"])
def test_population_gradients_match_each_model(case):
    """vmap(grad) through BatchNorm in train mode: what the population trainer differentiates."""
    spec, shape = POPULATION[case]
    models = make_population(spec, shape)
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    x, y = torch.randn(BATCH, *shape), torch.randint(0, 5, (BATCH,))

    def loss(p, b, inputs, targets):
        return F.cross_entropy(functional_call(base, (p, b), (inputs,)), targets)

    grads = vmap(grad(loss), in_dims=(0, 0, None, None))(params, buffers, x, y)
    for k, model in enumerate(models):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][k], p.grad, atol=1e-5, rtol=1e-5)
    assert_buffers_match(models, buffers)
