"""The stacked MLP forward pass (core.models.stacked_forward) against the slow, obvious one:
``vmap(functional_call)`` over the same stacked parameters; and the population's member
slices against one slice."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, stack_module_state, vmap

import core.train._population as population
from core.data import load_dataset
from core.models import ModelSpec, build_model, stacked_forward
from core.train import TrainConfig, train_population, train_single

K, BATCH = 5, 7


def _stack(spec: ModelSpec, shape: tuple[int, ...]):
    nets = [build_model(spec, input_shape=shape, num_classes=4, seed=s).double() for s in range(K)]
    params, buffers = stack_module_state(nets)
    for name, p in params.items():  # BatchNorm's scale and shift away from 1 and 0
        params[name] = (p + 0.1 * torch.randn_like(p)).detach().requires_grad_(True)
    return nets[0], params, buffers


def _vmap_logits(base, params, buffers, x, *, training, shared):
    base.train(training)
    forward = vmap(lambda p, b, xb: functional_call(base, (p, b), (xb,)),
                   in_dims=(0, 0, None if shared else 0))
    return forward(params, buffers, x).transpose(1, 2)  # (K, C, B)


@pytest.mark.parametrize("spec", [ModelSpec(name="mlp", widths=(6,), norm=False),
                                  ModelSpec(name="mlp", widths=(6, 5, 3), norm=True),
                                  ModelSpec(name="mlp", widths=(8, 8), norm=True)],
                         ids=["one-layer", "three-layers-bn", "two-layers-bn"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared-batch", "own-batches"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_stacked_forward_equals_vmap_of_the_model(spec, shared, training):
    shape = (2, 3)  # the MLP flattens: 6 inputs
    base, params, buffers = _stack(spec, shape)
    forward = stacked_forward(base)
    assert forward is not None
    x = torch.randn(BATCH, *shape, dtype=torch.float64)
    if not shared:
        x = torch.randn(K, BATCH, *shape, dtype=torch.float64)
    ours = {n: b.clone() for n, b in buffers.items()}
    theirs = {n: b.clone() for n, b in buffers.items()}
    weights = torch.randn(K, 4, BATCH, dtype=torch.float64)  # a loss that weighs every logit

    got = forward(params, ours, x, training=training, shared=shared)
    got_grads = torch.autograd.grad((got * weights).sum(), list(params.values()))
    want = _vmap_logits(base, params, theirs, x, training=training, shared=shared)
    want_grads = torch.autograd.grad((want * weights).sum(), list(params.values()))

    assert got.shape == (K, 4, BATCH)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    for name, g, w in zip(params, got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12, msg=name)
    for name in buffers:  # running statistics and batch counts move exactly alike
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-12, atol=1e-12, msg=name)
    if training and spec.norm:
        assert not torch.equal(ours["features.2.running_mean"],
                               buffers["features.2.running_mean"])


@pytest.mark.parametrize("spec, shape", [
    (ModelSpec(name="cnn", channels=(4,)), (1, 8, 8)),
    (ModelSpec(name="cnn1d", channels=(4,)), (1, 40)),
    (ModelSpec(name="resnet", depth=8, width=4), (3, 8, 8)),
], ids=["cnn", "cnn1d", "resnet"])
def test_models_other_than_mlps_have_no_stacked_forward(spec, shape):
    assert stacked_forward(build_model(spec, input_shape=shape, num_classes=4, seed=0)) is None


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split_seed=0, train_size=300)


@pytest.mark.parametrize("seeds", [(0,), (0, 1)], ids=["shared-batch", "own-batches"])
def test_members_in_slices_train_as_single_runs(digits, monkeypatch, seeds):
    """A cache budget of two members' activations cuts 5 members into slices of 2, 2 and 1;
    each member still trains exactly as it would alone (float64)."""
    model = ModelSpec(name="mlp", widths=(16,), norm=True)
    monkeypatch.setattr(population, "CACHE_BYTES", 2 * 16 * 64 * 8)
    lrs = [1e-2, 3e-3, 1e-3, 3e-2, 5e-3]
    configs = [TrainConfig(optimizer=("adam", "adamw")[i % 2], lr=lr, weight_decay=1e-2,
                           seed=seeds[i % len(seeds)], epochs=2, batch_size=64, dtype="float64")
               for i, lr in enumerate(lrs)]
    base = build_model(model, input_shape=digits.input_shape, num_classes=10, seed=0)
    slices, rows = population._member_slices(len(configs), base, 64, torch.float64,
                                             torch.device("cpu"), sliced=True)
    assert [(s.start, s.stop) for s in slices] == [(0, 2), (2, 4), (4, 5)]
    assert rows == 2 * 64  # an evaluation pass of 2 members reads 64 samples: 2 × 64 rows
    results = train_population(configs, model=model, data=digits, device="cpu")
    for config, result in zip(configs, results, strict=True):
        alone = train_single(config, model=model, data=digits, device="cpu")
        for got, want in zip(result.history, alone.history, strict=True):
            for field in ("train_loss", "train_error", "val_loss", "test_error", "weight_norm"):
                assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-9), field



@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_forward_and_population_on_cuda(digits):
    """The stacked path runs unsliced on a GPU: parity with vmap there, and a population with
    single runs (float64). CI has no GPU; benchmarks/device_check.py checks the same there."""
    spec = ModelSpec(name="mlp", widths=(8, 8), norm=True)
    base, params, buffers = _stack(spec, (2, 3))
    params = {n: p.detach().cuda().requires_grad_(True) for n, p in params.items()}
    ours = {n: b.cuda() for n, b in buffers.items()}
    theirs = {n: b.cuda() for n, b in buffers.items()}
    x = torch.randn(BATCH, 2, 3, dtype=torch.float64, device="cuda")
    got = stacked_forward(base.cuda())(params, ours, x, training=True, shared=True)
    want = _vmap_logits(base, params, theirs, x, training=True, shared=True)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    configs = [TrainConfig(optimizer=o, lr=3e-3, weight_decay=1e-2, epochs=2, batch_size=64,
                           dtype="float64") for o in ("adam", "adamw")]
    results = train_population(configs, model=spec, data=digits, device="cuda")
    for config, result in zip(configs, results, strict=True):
        alone = train_single(config, model=spec, data=digits, device="cuda")
        for got_m, want_m in zip(result.history, alone.history, strict=True):
            assert got_m.train_loss == pytest.approx(want_m.train_loss, rel=1e-9)
