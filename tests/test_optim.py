"""The four optimizers against a literal transcription of the paper, torch.optim and each other."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from core.optim import (
    SGD,
    SGDW,
    WD_CONVENTIONS,
    Adam,
    AdamW,
    adam_reference,
    adam_update,
    convert_weight_decay,
    from_paper,
    member_adam_step,
    member_sgd_step,
    normalized_decay_factor,
    param_groups,
    sgd_reference,
    sgd_update,
    to_paper,
)

DT = torch.float64
STEPS = 120
SHAPES = [(3, 4), (5,), (2, 3, 2), (7,)]


def eta_at(t: int) -> float:
    """A schedule multiplier that changes every step (t = 1, 2, ...)."""
    return 0.55 + 0.45 * math.cos(t / 7.0)


def make_params(seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=DT) for s in SHAPES]


def grad_of(theta: torch.Tensor, t: int, index: int) -> torch.Tensor:
    """A gradient that depends on the weights (so errors feed back) plus step-seeded noise."""
    gen = torch.Generator().manual_seed(1000 * t + index)
    return torch.sin(theta) + 0.3 * theta + torch.randn(theta.shape, generator=gen, dtype=DT)


# Two groups with their own α and λ; the last tensor of group 2 never gets a gradient.
GROUPS = [
    {"idx": [0, 1], "lr": 0.05, "weight_decay": 0.1},
    {"idx": [2, 3], "lr": 0.02, "weight_decay": 0.03},
]
NO_GRAD = 3


def run_ours(cls, steps: int = STEPS, **kwargs) -> list[torch.Tensor]:
    params = [p.clone().requires_grad_(True) for p in make_params()]
    groups = [
        {"params": [params[i] for i in g["idx"]], "lr": g["lr"], "weight_decay": g["weight_decay"]}
        for g in GROUPS
    ]
    opt = cls(groups, **kwargs)
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = None if i == NO_GRAD else grad_of(p.detach(), t, i)
        for group in opt.param_groups:
            group["eta"] = eta_at(t)
        opt.step()
    return [p.detach() for p in params]


def literal_sgd(*, decoupled: bool, momentum: float = 0.9) -> list[torch.Tensor]:
    """Algorithm 1 of the paper, line by line."""
    theta = make_params()
    m = [torch.zeros_like(p) for p in theta]
    for t in range(1, STEPS + 1):
        eta = eta_at(t)
        for g_spec in GROUPS:
            alpha, lam = g_spec["lr"], g_spec["weight_decay"]
            for i in g_spec["idx"]:
                if i == NO_GRAD:
                    continue
                g = grad_of(theta[i], t, i)
                if not decoupled:
                    g = g + lam * theta[i]  # SGD + L2
                m[i] = momentum * m[i] + eta * alpha * g
                new = theta[i] - m[i]
                if decoupled:
                    new = new - eta * lam * theta[i]  # SGDW
                theta[i] = new
    return theta


def literal_adam(*, decoupled: bool, b1=0.9, b2=0.999, eps=1e-8) -> list[torch.Tensor]:
    """Algorithm 2 of the paper, line by line."""
    theta = make_params()
    m = [torch.zeros_like(p) for p in theta]
    v = [torch.zeros_like(p) for p in theta]
    for t in range(1, STEPS + 1):
        eta = eta_at(t)
        for g_spec in GROUPS:
            alpha, lam = g_spec["lr"], g_spec["weight_decay"]
            for i in g_spec["idx"]:
                if i == NO_GRAD:
                    continue
                g = grad_of(theta[i], t, i)
                if not decoupled:
                    g = g + lam * theta[i]  # Adam + L2
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                m_hat = m[i] / (1 - b1**t)
                v_hat = v[i] / (1 - b2**t)
                step = alpha * m_hat / (torch.sqrt(v_hat) + eps)
                if decoupled:
                    step = step + lam * theta[i]  # AdamW
                theta[i] = theta[i] - eta * step
    return theta


def assert_all_close(got, want, rtol=1e-10, atol=1e-12):
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    ("cls", "decoupled"), [(SGD, False), (SGDW, True)], ids=["sgd", "sgdw"]
)
def test_sgd_family_matches_literal_algorithm_1(cls, decoupled):
    got = run_ours(cls, momentum=0.9)
    want = literal_sgd(decoupled=decoupled)
    assert_all_close(got, want)
    assert torch.equal(got[NO_GRAD], make_params()[NO_GRAD])  # no gradient: untouched


@pytest.mark.parametrize(
    ("cls", "decoupled"), [(Adam, False), (AdamW, True)], ids=["adam", "adamw"]
)
@pytest.mark.parametrize("fused", [True, False, None], ids=["fused", "foreach", "auto"])
def test_adam_family_matches_literal_algorithm_2(cls, decoupled, fused):
    got = run_ours(cls, fused=fused)
    want = literal_adam(decoupled=decoupled)
    assert_all_close(got, want)
    assert torch.equal(got[NO_GRAD], make_params()[NO_GRAD])


def test_decoupled_and_l2_really_differ():
    # Guards the tests above: if both paths computed the same thing they would prove nothing.
    assert not torch.allclose(run_ours(Adam)[0], run_ours(AdamW)[0])
    assert not torch.allclose(run_ours(SGD)[0], run_ours(SGDW)[0])


# --------------------------------------------------------------------------------------
# Against torch.optim where the maths coincides
# --------------------------------------------------------------------------------------


def run_torch(make_opt, lr_of_step, steps: int = STEPS) -> list[torch.Tensor]:
    params = [p.clone().requires_grad_(True) for p in make_params()]
    opt = make_opt(params)
    for t in range(1, steps + 1):
        for i, p in enumerate(params):
            p.grad = None if i == NO_GRAD else grad_of(p.detach(), t, i)
        for group, spec in zip(opt.param_groups, GROUPS, strict=True):
            group["lr"] = lr_of_step(spec["lr"], t)
        opt.step()
    return [p.detach() for p in params]


def torch_groups(params, wd_of):
    return [
        {"params": [params[i] for i in g["idx"]], "lr": g["lr"], "weight_decay": wd_of(g)}
        for g in GROUPS
    ]


def test_adamw_equals_torch_adamw_with_lr_alpha_eta_and_wd_lambda_over_alpha():
    want = run_torch(
        lambda ps: torch.optim.AdamW(torch_groups(ps, lambda g: g["weight_decay"] / g["lr"])),
        lambda alpha, t: alpha * eta_at(t),
    )
    assert_all_close(run_ours(AdamW), want)


def test_adam_equals_torch_adam_with_l2_weight_decay():
    want = run_torch(
        lambda ps: torch.optim.Adam(torch_groups(ps, lambda g: g["weight_decay"])),
        lambda alpha, t: alpha * eta_at(t),
    )
    assert_all_close(run_ours(Adam), want)


def run_ours_constant(cls, **kwargs):
    params = [p.clone().requires_grad_(True) for p in make_params()]
    groups = [
        {"params": [params[i] for i in g["idx"]], "lr": g["lr"], "weight_decay": g["weight_decay"]}
        for g in GROUPS
    ]
    opt = cls(groups, **kwargs)
    for t in range(1, STEPS + 1):
        for i, p in enumerate(params):
            p.grad = None if i == NO_GRAD else grad_of(p.detach(), t, i)
        opt.step()
    return [p.detach() for p in params]


def test_sgd_equals_torch_sgd_under_a_constant_schedule():
    want = run_torch(
        lambda ps: torch.optim.SGD(torch_groups(ps, lambda g: g["weight_decay"]), momentum=0.9),
        lambda alpha, t: alpha,
    )
    assert_all_close(run_ours_constant(SGD, momentum=0.9), want)


def test_sgdw_without_momentum_equals_torch_sgd_with_wd_lambda_over_alpha():
    # Without momentum θ − α·g − λ·θ is plain SGD with L2 coefficient λ/α; with momentum the
    # paper keeps the decay out of the buffer, which torch's SGD cannot express.
    want = run_torch(
        lambda ps: torch.optim.SGD(torch_groups(ps, lambda g: g["weight_decay"] / g["lr"])),
        lambda alpha, t: alpha,
    )
    assert_all_close(run_ours_constant(SGDW, momentum=0.0), want)


def test_sgd_differs_from_torch_sgd_under_a_varying_schedule():
    """Documented difference: the paper puts η_t·α inside the momentum buffer.

    torch.optim.SGD accumulates raw gradients and multiplies the whole buffer by the current
    lr, so a schedule change rescales past gradients too. With η varying every step the two
    trajectories separate; with a constant η they coincide (test above).
    """
    torch_run = run_torch(
        lambda ps: torch.optim.SGD(torch_groups(ps, lambda g: g["weight_decay"]), momentum=0.9),
        lambda alpha, t: alpha * eta_at(t),
    )
    ours = run_ours(SGD, momentum=0.9)
    assert not torch.allclose(ours[0], torch_run[0], rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------
# Fast paths against the reference, and the population's kernel against separate runs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("decoupled", [False, True])
def test_fast_adam_equals_reference(decoupled):
    fast, ref = make_params(), make_params()
    state = {key: ([torch.zeros_like(p) for p in fast], [torch.zeros_like(p) for p in fast],
                   [torch.zeros((), dtype=torch.float32) for _ in fast]) for key in ("f", "r")}
    for t in range(1, STEPS + 1):
        hyper = dict(lr=0.01, weight_decay=0.05, eta=eta_at(t), beta1=0.9, beta2=0.99,
                     eps=1e-8, decoupled=decoupled)
        adam_update(fast, [grad_of(p, t, i) for i, p in enumerate(fast)], *state["f"], **hyper)
        adam_reference(ref, [grad_of(p, t, i) for i, p in enumerate(ref)], *state["r"], **hyper)
    assert_all_close(fast, ref)


@pytest.mark.parametrize("decoupled", [False, True])
def test_foreach_sgd_equals_reference(decoupled):
    fast, ref = make_params(), make_params()
    bufs_f = [torch.zeros_like(p) for p in fast]
    bufs_r = [torch.zeros_like(p) for p in ref]
    for t in range(1, STEPS + 1):
        hyper = dict(lr=0.01, weight_decay=0.05, eta=eta_at(t), momentum=0.9, decoupled=decoupled)
        sgd_update(fast, [grad_of(p, t, i) for i, p in enumerate(fast)], bufs_f, **hyper)
        sgd_reference(ref, [grad_of(p, t, i) for i, p in enumerate(ref)], bufs_r, **hyper)
    assert_all_close(fast, ref)


K_LR = [0.03, 0.01, 0.003, 0.05]
K_WD = [0.0, 0.1, 0.3, 0.02]
K_DECOUPLED = [False, True, False, True]


@pytest.mark.parametrize("family", ["adam", "sgd"])
def test_member_kernel_equals_separate_optimizer_runs(family):
    """The population's (K, P) kernel, each member with its own α, λ and L2-or-decoupled
    flag, against K separate runs of the optimizer classes (torch's Adam kernel, foreach SGD)."""
    k, base = len(K_LR), make_params()
    flat = torch.cat([p.reshape(-1) for p in base]).repeat(k, 1)

    def unflatten(row: torch.Tensor) -> list[torch.Tensor]:
        pieces = row.split([p.numel() for p in base])
        return [piece.view(p.shape) for piece, p in zip(pieces, base, strict=True)]

    hyper = dict(lr=torch.tensor(K_LR, dtype=DT), weight_decay=torch.tensor(K_WD, dtype=DT),
                 decoupled=torch.tensor(K_DECOUPLED), active=torch.ones(k, dtype=torch.bool),
                 compiled=False)
    state, step = [torch.zeros_like(flat), torch.zeros_like(flat)], torch.zeros(())
    singles = []
    for member in range(k):
        params = [p.clone().requires_grad_(True) for p in base]
        if family == "adam":
            cls = AdamW if K_DECOUPLED[member] else Adam
            opt = cls(params, lr=K_LR[member], weight_decay=K_WD[member], betas=(0.9, 0.99))
        else:
            cls = SGDW if K_DECOUPLED[member] else SGD
            opt = cls(params, lr=K_LR[member], weight_decay=K_WD[member], momentum=0.8)
        singles.append((params, opt))

    for t in range(1, STEPS + 1):
        g = torch.stack([torch.cat([grad_of(p, t, i).reshape(-1)
                                    for i, p in enumerate(unflatten(row))]) for row in flat])
        if family == "adam":
            member_adam_step(flat, g, *state, step, eta=eta_at(t), beta1=0.9, beta2=0.99,
                             eps=1e-8, **hyper)
        else:
            member_sgd_step(flat, g, state[0], eta=eta_at(t), momentum=0.8, **hyper)
        for params, opt in singles:
            for i, p in enumerate(params):
                p.grad = grad_of(p.detach(), t, i)
            opt.param_groups[0]["eta"] = eta_at(t)
            opt.step()

    for member, (params, _) in enumerate(singles):
        assert_all_close(unflatten(flat[member]), [p.detach() for p in params])
    # Members really differ from one another (else the test would prove little).
    assert not torch.allclose(flat[0], flat[1])


# --------------------------------------------------------------------------------------
# state_dict, validation, param groups, conventions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SGD, SGDW, Adam, AdamW])
def test_state_dict_round_trip_continues_identically(cls):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = cls(param_groups(model, weight_decay=0.01), lr=0.01)
    x, y = torch.randn(16, 4), torch.randn(16, 2)

    def train(m, o, n):
        for _ in range(n):
            o.zero_grad()
            torch.nn.functional.mse_loss(m(x), y).backward()
            o.step()

    train(model, opt, 5)
    clone = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    clone.load_state_dict(model.state_dict())
    opt2 = cls(param_groups(clone, weight_decay=0.5), lr=0.5)  # overwritten by the load
    # deepcopy, as saving to disk would: state_dict() returns the live state tensors.
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert opt2.param_groups[0]["weight_decay"] == 0.01
    train(model, opt, 5)
    train(clone, opt2, 5)
    for a, b in zip(model.parameters(), clone.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (SGD, {"lr": -0.1}, "lr"),
        (SGD, {"lr": float("nan")}, "lr"),
        (SGDW, {"lr": 0.1, "momentum": 1.0}, "momentum"),
        (SGDW, {"lr": 0.1, "weight_decay": -1e-4}, "weight_decay"),
        (SGD, {"lr": 0.1, "weight_decay": float("nan")}, "weight_decay"),
        (Adam, {"betas": (0.9, 1.0)}, "betas[1]"),
        (Adam, {"betas": (-0.1, 0.999)}, "betas[0]"),
        (AdamW, {"eps": 0.0}, "eps"),
        (AdamW, {"eps": -1e-8}, "eps"),
        (AdamW, {"lr": float("inf")}, "lr"),
        (AdamW, {"eta": -1.0}, "eta"),
    ],
)
def test_bad_hyperparameters_raise_naming_the_argument(cls, kwargs, field):
    with pytest.raises(ValueError) as err:
        cls([torch.zeros(2, requires_grad=True)], **kwargs)
    message = str(err.value)
    assert message.startswith(field)
    bad = kwargs.get(field, kwargs.get("betas", (None, None))[int(field[-2:-1] or 0)]
                     if field.startswith("betas") else None)
    assert repr(bad) in message  # the offending value is quoted back


def test_bad_value_in_an_added_group_or_set_by_a_schedule_is_refused():
    opt = AdamW([torch.zeros(2, requires_grad=True)], lr=1e-3)
    with pytest.raises(ValueError, match="^lr"):
        opt.add_param_group({"params": [torch.zeros(3, requires_grad=True)], "lr": -1.0})
    opt.param_groups[0]["eta"] = float("nan")
    opt.param_groups[0]["params"][0].grad = torch.ones(2)
    with pytest.raises(ValueError, match="^eta"):
        opt.step()


def test_param_groups_decay_matrices_only_by_default():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)
    )
    groups = param_groups(model, weight_decay=0.1)
    decayed = [n for n, _ in groups[0]["params"]]
    kept = [n for n, _ in groups[1]["params"]]
    assert decayed == ["0.weight", "2.weight"]
    assert kept == ["0.bias", "1.weight", "1.bias", "2.bias"]
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    everything = param_groups(model, weight_decay=0.1, rule="all")
    assert len(everything) == 1 and len(everything[0]["params"]) == 6


def test_param_groups_leave_out_frozen_parameters():
    model = torch.nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    groups = param_groups(model, weight_decay=0.1)
    assert [[n for n, _ in g["params"]] for g in groups] == [["weight"]]


def test_weight_decay_conventions_round_trip():
    alpha, factor = 3e-3, normalized_decay_factor(batch_size=64, train_size=1000, epochs=20)
    lam = 2.5e-4
    assert from_paper(lam, convention="pytorch", lr=alpha) == pytest.approx(lam / alpha)
    assert to_paper(lam / alpha, convention="pytorch", lr=alpha) == pytest.approx(lam)
    assert to_paper(0.05, convention="normalized", factor=factor) == pytest.approx(0.05 * factor)
    for a in ("paper", "pytorch", "normalized"):
        for b in ("paper", "pytorch", "normalized"):
            there = convert_weight_decay(lam, from_convention=a, to_convention=b, lr=alpha,
                                         factor=factor)
            back = convert_weight_decay(there, from_convention=b, to_convention=a, lr=alpha,
                                        factor=factor)
            assert back == pytest.approx(lam, rel=1e-12)


def test_conventions_on_floats_arrays_and_tensors_match_a_hand_computation():
    # By hand (PAPER.md §3): wd = λ/α, λ_norm = λ/f with f = √(b/(B·T)).
    f = normalized_decay_factor(batch_size=128, train_size=50_000, epochs=100)
    assert isinstance(f, float) and f == math.sqrt(128 / 5_000_000)
    assert 0.025 * f == pytest.approx(1.265e-4, rel=1e-3)  # the paper's Appendix B example
    np.testing.assert_allclose(
        normalized_decay_factor(batch_size=128, train_size=50_000, epochs=np.array([100, 400])),
        [f, f / 2], rtol=1e-15)
    lam = np.array([1e-4, 5e-4, 2.5e-3])
    alpha = np.array([[1e-3], [1e-2]])  # broadcasts: one row per α
    wd = convert_weight_decay(lam, from_convention="paper", to_convention="pytorch", lr=alpha)
    assert isinstance(wd, np.ndarray) and wd.shape == (2, 3)
    np.testing.assert_allclose(wd, [[0.1, 0.5, 2.5], [0.01, 0.05, 0.25]], rtol=1e-12)
    norm = convert_weight_decay(lam, from_convention="paper", to_convention="normalized",
                                factor=f)
    np.testing.assert_allclose(norm, lam / math.sqrt(128 / 5_000_000), rtol=1e-12)
    as_tensor = convert_weight_decay(torch.tensor(lam), from_convention="paper",
                                     to_convention="pytorch", lr=torch.tensor(alpha))
    assert isinstance(as_tensor, torch.Tensor)
    for i, j in np.ndindex(wd.shape):  # one formula: the float path gives each element exactly
        one = convert_weight_decay(float(lam[j]), from_convention="paper",
                                   to_convention="pytorch", lr=float(alpha[i, 0]))
        assert isinstance(one, float) and one == wd[i, j] == float(as_tensor[i, j])
    for a, b in itertools.permutations(WD_CONVENTIONS, 2):
        there = convert_weight_decay(lam, from_convention=a, to_convention=b, lr=alpha, factor=f)
        back = convert_weight_decay(there, from_convention=b, to_convention=a, lr=alpha,
                                    factor=f)
        np.testing.assert_allclose(back, np.broadcast_to(lam, back.shape), rtol=1e-12)


@pytest.mark.parametrize("cls", [SGDW, AdamW])
def test_decoupled_shrink_per_step_is_the_conversion(cls):
    """With a zero gradient a decoupled step only decays: θ ← (1 − η_t·λ)·θ, where λ is
    the conversion of PyTorch's wd; torch.optim.AdamW with that wd shrinks the same."""
    alpha, wd, eta = 2e-3, 5.0, 0.4
    lam = to_paper(wd, convention="pytorch", lr=alpha)
    theta = torch.randn(4, 3, dtype=DT)
    ours = theta.clone().requires_grad_(True)
    opt = cls([ours], lr=alpha, weight_decay=lam, eta=eta)
    ours.grad = torch.zeros_like(theta)
    opt.step()
    torch.testing.assert_close(ours.detach(), theta * (1 - eta * lam), rtol=1e-15, atol=0)
    theirs = theta.clone().requires_grad_(True)
    torch_opt = torch.optim.AdamW([theirs], lr=alpha * eta,
                                  weight_decay=from_paper(lam, convention="pytorch", lr=alpha))
    theirs.grad = torch.zeros_like(theta)
    torch_opt.step()
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-14, atol=0)


def test_convention_errors_name_the_missing_argument():
    with pytest.raises(ValueError, match="^lr"):
        to_paper(1e-2, convention="pytorch")
    with pytest.raises(ValueError, match="^lr"):  # dividing by α = 0 has no answer
        from_paper(1e-2, convention="pytorch", lr=np.array([1e-3, 0.0]))
    with pytest.raises(ValueError, match="^factor"):
        convert_weight_decay(0.1, from_convention="paper", to_convention="normalized", lr=1e-3)
    with pytest.raises(ValueError, match="convention"):
        to_paper(1e-2, convention="keras")
    with pytest.raises(ValueError, match="convention"):
        convert_weight_decay(0.1, from_convention="paper", to_convention="keras")
    with pytest.raises(ValueError, match="batch_size"):
        normalized_decay_factor(batch_size=0, train_size=10, epochs=1)


# --------------------------------------------------------------------------------------
# The population's fused (K, P) kernels against the reference
# --------------------------------------------------------------------------------------


def _member_setup(dtype, k=6, p=257):
    gen = torch.Generator().manual_seed(3)
    theta = torch.randn(k, p, generator=gen, dtype=dtype)
    lr = torch.tensor([0.03, 0.01, 0.003, 0.05, 0.02, 0.1], dtype=dtype)[:k]
    wd = torch.tensor([0.0, 0.1, 0.3, 0.02, 0.05, 1.0], dtype=dtype)[:k]
    dec = torch.tensor([False, True, False, True, True, False])[:k]
    return theta, lr, wd, dec


def reference_members(family, theta, g, state, steps, *, lr, wd, dec, eta):
    """The per-tensor reference on each row k of ``theta`` with α_k, λ_k and its flag."""
    for k in range(theta.shape[0]):
        one = dict(lr=float(lr[k]), weight_decay=float(wd[k]), eta=eta, decoupled=bool(dec[k]))
        if family == "adam":
            adam_reference([theta[k]], [g[k]], [state[0][k]], [state[1][k]], [steps[k]],
                           beta1=0.9, beta2=0.99, eps=1e-8, **one)
        else:
            sgd_reference([theta[k]], [g[k]], [state[0][k]], momentum=0.9, **one)


@pytest.mark.parametrize("constant_eta", [True, False], ids=["eta=1", "eta varies"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("family", ["adam", "sgd"])
def test_member_kernels_equal_the_reference(family, compiled, constant_eta):
    # η = 1 matters: torch.compile once miscompiled the in-place form of the Adam kernel
    # under no_grad with a constant η (the default schedule).
    dtype = torch.float32 if compiled else DT  # compiled kernels serve float32 training
    theta, lr, wd, dec = _member_setup(dtype)
    fast, ref = theta.clone(), theta.clone()
    state_f = [torch.zeros_like(theta), torch.zeros_like(theta)]
    state_r = [torch.zeros_like(theta), torch.zeros_like(theta)]
    step_f, steps_r = torch.zeros(()), [torch.zeros(()) for _ in lr]
    active = torch.ones(len(lr), dtype=torch.bool)
    for t in range(1, 41):
        eta = 1.0 if constant_eta else eta_at(t)
        g = torch.sin(3 * fast) + torch.randn(theta.shape, generator=torch.Generator()
                                             .manual_seed(t), dtype=dtype)
        if family == "adam":
            member_adam_step(fast, g, *state_f, step_f, lr=lr, weight_decay=wd, decoupled=dec,
                             active=active, eta=eta, beta1=0.9, beta2=0.99, eps=1e-8,
                             compiled=compiled)
        else:
            member_sgd_step(fast, g, state_f[0], lr=lr, weight_decay=wd, decoupled=dec,
                            active=active, eta=eta, momentum=0.9, compiled=compiled)
        reference_members(family, ref, g, state_r, steps_r, lr=lr, wd=wd, dec=dec, eta=eta)
    tol = {"rtol": 1e-5, "atol": 1e-6} if compiled else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(fast, ref, **tol)


@pytest.mark.parametrize("family", ["adam", "sgd"])
def test_member_kernel_freezes_inactive_members_even_with_nan_gradients(family):
    theta, lr, wd, dec = _member_setup(DT)
    before = theta.clone()
    state = [torch.zeros_like(theta), torch.zeros_like(theta)]
    active = torch.tensor([True, False, True, False, True, True])
    g = torch.randn_like(theta)
    g[1] = float("nan")
    g[3] = float("inf")
    for _ in range(3):
        if family == "adam":
            member_adam_step(theta, g, *state, torch.zeros(()), lr=lr, weight_decay=wd,
                             decoupled=dec, active=active, eta=1.0, beta1=0.9, beta2=0.99,
                             eps=1e-8, compiled=False)
        else:
            member_sgd_step(theta, g, state[0], lr=lr, weight_decay=wd, decoupled=dec,
                            active=active, eta=1.0, momentum=0.9, compiled=False)
    assert torch.equal(theta[~active], before[~active])
    assert torch.isfinite(theta).all() and torch.isfinite(state[0]).all()
    assert not torch.allclose(theta[active], before[active])


def test_a_compiled_kernel_that_disagrees_is_dropped_and_its_step_redone(monkeypatch):
    """The first compiled call is checked against the eager kernel on the same inputs."""
    import core.optim._member as member

    def wrong_kernel(p, buf, g, *rest):  # stands in for a miscompiled kernel
        p.add_(1.0)
        buf.add_(1.0)

    monkeypatch.setattr(member, "_compiled", {"sgd": wrong_kernel})
    monkeypatch.setattr(member, "_verified", set())
    theta, lr, wd, dec = _member_setup(DT)
    expected, buf_expected = theta.clone(), torch.zeros_like(theta)
    active = torch.ones(len(lr), dtype=torch.bool)
    g = torch.randn_like(theta)
    reference_members("sgd", expected, g, [buf_expected], [], lr=lr, wd=wd, dec=dec, eta=1.0)
    buf = torch.zeros_like(theta)
    member.member_sgd_step(theta, g, buf, lr=lr, weight_decay=wd, decoupled=dec, active=active,
                           eta=1.0, momentum=0.9, compiled=True)
    torch.testing.assert_close(theta, expected)
    torch.testing.assert_close(buf, buf_expected)
    assert member._compiled["sgd"] is member._sgd_kernel  # the eager kernel from now on


def test_conventions_scale_a_list_elementwise() -> None:
    """A list is numbers, not a sequence to repeat: [0.1, 0.2]·α, never the list twice."""
    from core.optim import convert_weight_decay

    got = convert_weight_decay([0.1, 0.2], from_convention="pytorch", to_convention="paper", lr=2)
    np.testing.assert_array_equal(got, [0.2, 0.4])
    back = convert_weight_decay((0.2, 0.4), from_convention="paper", to_convention="pytorch", lr=2)
    np.testing.assert_array_equal(back, [0.1, 0.2])
