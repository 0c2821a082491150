"""Property tests of the ChordMixer rotation, block stack and receptive field."""

from __future__ import annotations

import pytest
import torch

from findna.model.chordmixer import ChordMixer
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork, count_parameters
from findna.model.rotation import (
    ROTATION_IMPLS,
    length_aware_index,
    make_rotation,
    padded_width,
    roll_index_pair,
    rotate_fixed,
    track_bounds,
    track_shifts,
)


def naive_rotate(y: torch.Tensor, track_size: int, lengths: list[int] | None = None):
    """Element-by-element reference: out[b, j, c] = y[b, (j + 2**(k-1)) % n_b, c] for track k."""
    batch, seq_len, d = y.shape
    out = y.clone()
    for b in range(batch):
        n = seq_len if lengths is None else lengths[b]
        for c in range(d):
            k = c // track_size
            shift = 0 if k == 0 else 2 ** (k - 1)
            for j in range(n):
                out[b, j, c] = y[b, (j + shift) % n, c]
    return out


def test_track_layout_paper_and_ragged():
    assert track_shifts(11) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert len(track_bounds(308, 28)) == 11
    # 308 channels in tracks of 50: six full tracks and a last one of 8 channels.
    assert track_bounds(308, 50)[-1] == (300, 308)
    assert len(track_bounds(308, 50)) == 7


@pytest.mark.parametrize(
    "seq_len, d, track_size",
    # Narrow tracks use the gather path, wide ones (>= 12 channels) the slice-copy path.
    [(9, 10, 2), (5, 7, 2), (16, 12, 3), (1, 4, 1), (40, 52, 12), (33, 70, 16), (3, 40, 16)],
)
def test_rotate_fixed_matches_naive(seq_len, d, track_size):
    # (5, 7, 2): shorter last track and shifts (4) close to L; (1, 4, 1): shifts >= L.
    y = torch.randn(2, seq_len, d, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rotate_fixed(y, track_size), naive_rotate(y, track_size))


def test_rotate_fixed_backward_matches_naive():
    gen = torch.Generator().manual_seed(2)
    y = torch.randn(2, 9, 7, generator=gen, requires_grad=True)
    weights = torch.randn(2, 9, 7, generator=gen)
    (rotate_fixed(y, 2) * weights).sum().backward()
    y_ref = y.detach().clone().requires_grad_(True)
    (naive_rotate(y_ref, 2) * weights).sum().backward()
    assert torch.equal(y.grad, y_ref.grad)


def test_rotate_fixed_track_one_moves_by_one_position():
    y = torch.arange(6.0).view(1, 6, 1).repeat(1, 1, 2)  # track 0 = channel 0, track 1 = channel 1
    out = rotate_fixed(y, track_size=1)
    assert out[0, :, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert out[0, :, 1].tolist() == [1, 2, 3, 4, 5, 0]


def test_length_aware_rotation_matches_naive_and_keeps_padding():
    gen = torch.Generator().manual_seed(1)
    y = torch.randn(3, 11, 9, generator=gen, requires_grad=True)
    lengths = [11, 6, 3]
    rotate = make_rotation("length_aware", 2, y.shape, torch.tensor(lengths), y.device)
    out = rotate(y)
    assert torch.equal(out, naive_rotate(y.detach(), 2, lengths))
    assert torch.equal(out[1, 6:], y[1, 6:].detach())  # padding stays in place
    # Backward (inverse-permutation gather) equals the autograd of a plain index_select.
    weights = torch.randn(out.shape, generator=gen)
    (out * weights).sum().backward()
    index = length_aware_index(torch.tensor(lengths), 11, 9, 2)
    expected = torch.zeros(y.numel()).index_add_(0, index, weights.reshape(-1)).view(y.shape)
    assert torch.equal(y.grad, expected)


def test_length_aware_without_lengths_is_fixed():
    y = torch.randn(2, 8, 6)
    rotate = make_rotation("length_aware", 2, y.shape, None, y.device)
    assert torch.equal(rotate(y), rotate_fixed(y, 2))


def _input_output_sensitivity(cfg: ModelConfig, seq_len: int) -> torch.Tensor:
    """(L_out, L_in) norms of d(sum of output j)/d(input i) for one random-init backbone."""
    torch.manual_seed(0)
    backbone = ChordMixer(cfg).double()
    x = torch.randn(1, seq_len, cfg.width, dtype=torch.float64, requires_grad=True)
    out = backbone(x)
    rows = []
    for j in range(seq_len):
        (grad,) = torch.autograd.grad(out[0, j].sum(), x, retain_graph=True)
        rows.append(grad[0].norm(dim=-1))
    return torch.stack(rows)


@pytest.mark.parametrize("max_len", [16, 13])
def test_one_layer_receptive_field_covers_every_position(max_len):
    cfg = ModelConfig(track_size=2, hidden=16, n_layers=1, max_len=max_len)
    sens = _input_output_sensitivity(cfg, max_len)
    assert bool((sens > 1e-12).all()), sens


def test_too_few_blocks_leave_positions_unseen():
    # max_len 8 -> 3 blocks, 4 tracks with shifts {0, 1, 2, 4}: after 3 blocks output j can only
    # see inputs j + s1 + s2 + s3 (each s from that set), i.e. offsets 0..10 and 12 (not 11, 13+).
    cfg = ModelConfig(track_size=2, hidden=16, n_layers=1, max_len=8)
    sens = _input_output_sensitivity(cfg, 16)
    shifts = (0, 1, 2, 4)
    reachable = {a + b + c for a in shifts for b in shifts for c in shifts}
    for j in (0, 5):
        for i in range(16):
            seen = bool(sens[j, i] > 1e-12)
            assert seen == ((i - j) % 16 in reachable), (j, i)


def test_circular_shift_equivariance_fixed_mode():
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny()).eval()
    x = torch.randn(2, 50, 5)
    with torch.no_grad():
        out = net(x).logits
        shifted = net(torch.roll(x, 7, dims=1)).logits
    torch.testing.assert_close(shifted, torch.roll(out, 7, dims=1), rtol=1e-5, atol=1e-5)


def test_paper_parameter_count():
    cfg = ModelConfig.paper()
    assert (cfg.width, cfg.n_tracks, cfg.n_blocks_per_layer) == (308, 11, 10)
    net = FinDNANetwork(cfg)
    assert count_parameters(net) == 12_651_873
    assert count_parameters(net.backbone.layers[0].blocks[0]) == 316_212
    assert "backbone.layers.3.blocks.9.mlp.fc2.bias" in net.state_dict()


def test_tiny_preset_is_small():
    assert count_parameters(FinDNANetwork(ModelConfig.tiny())) == 47_821


@pytest.mark.parametrize("seq_len", [1, 2, 7, 100, 266, 300])
def test_shapes_for_several_lengths(seq_len):
    net = FinDNANetwork(ModelConfig.tiny())
    out = net(torch.randn(3, seq_len, 5))
    assert out.hidden.shape == (3, seq_len, 40)
    assert out.logits.shape == (3, seq_len, 5)


def test_length_aware_outputs_do_not_depend_on_padding():
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(length_mode="length_aware")).eval()
    gen = torch.Generator().manual_seed(3)
    short = torch.randn(1, 100, 5, generator=gen)
    long = torch.randn(1, 266, 5, generator=gen)
    batch = torch.cat([torch.nn.functional.pad(short, (0, 0, 0, 166), value=7.0), long])
    with torch.no_grad():
        alone = net(short, torch.tensor([100])).hidden
        padded = net(batch, torch.tensor([100, 266])).hidden
        long_alone = net(long).hidden
    torch.testing.assert_close(padded[:1, :100], alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(padded[1:], long_alone, rtol=1e-5, atol=1e-5)


def test_fixed_mode_mixes_padding_into_real_positions():
    # The paper's mode: the padded length is the modulus, so padding changes real outputs.
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny()).eval()
    short = torch.randn(1, 100, 5)
    padded = torch.nn.functional.pad(short, (0, 0, 0, 28))
    with torch.no_grad():
        diff = (net(padded).hidden[:, :100] - net(short).hidden).abs().max()
    assert diff > 1e-3


def test_all_zero_input_is_finite_paper_config():
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.paper())
    with torch.no_grad():
        out = net(torch.zeros(2, 64, 5))
    assert torch.isfinite(out.hidden).all() and torch.isfinite(out.logits).all()


def test_gradient_reaches_every_parameter_with_dropout_and_layernorm():
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(mlp_dropout=0.1, layer_dropout=0.1, prenorm="layernorm")
    net = FinDNANetwork(cfg).train()
    net(torch.randn(2, 40, 5)).logits.square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


def test_bf16_autocast_forward():
    net = FinDNANetwork(ModelConfig.tiny())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(2, 30, 5))
    assert out.logits.dtype == torch.bfloat16
    assert torch.isfinite(out.logits.float()).all()


@pytest.mark.parametrize("track_size", [4, 12, 28])
def test_rotation_backward_undoes_forward_on_both_paths(track_size):
    y = torch.randn(2, 37, 60, generator=torch.Generator().manual_seed(1), requires_grad=True)
    out = rotate_fixed(y, track_size)
    (grad,) = torch.autograd.grad(out, y, grad_outputs=out.detach())
    assert torch.equal(grad, y.detach())  # the backward rolls the gradient back exactly


# Fast paths (issue 10) against the plain reference implementation.


def _fwd_bwd(net: ChordMixer, x: torch.Tensor, lengths: torch.Tensor | None, weights):
    x = x.detach().clone().requires_grad_(True)
    out = net(x, lengths)
    grads = torch.autograd.grad((out.float() * weights).sum(), [x, *net.parameters()])
    return out.detach(), grads


def _check_fast_path(
    device, mode, track_size, impl, compile_backend=None, dtype=torch.float32, tol=0.0
):
    """The backbone with rotation ``impl`` (and its blocks compiled with ``compile_backend``, if
    given) against the same backbone with the ``reference`` rotation: outputs and gradients."""
    gen = torch.Generator().manual_seed(track_size)
    cfg = ModelConfig(track_size=track_size, hidden=12, n_layers=2, max_len=33, length_mode=mode)
    torch.manual_seed(track_size)
    net = ChordMixer(cfg, rotation="reference").to(device)
    seq_len = 29  # not a power of two; shifts up to 16 for the tracks of 33 tokens
    x = torch.randn(3, seq_len, cfg.width, generator=gen).to(device)
    weights = torch.randn(3, seq_len, cfg.width, generator=gen).to(device)
    lengths = torch.tensor([29, 17, 4], device=device) if mode == "length_aware" else None
    autocast = torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32)
    with autocast:
        ref_out, ref_grads = _fwd_bwd(net, x, lengths, weights)
    net.set_rotation(impl)
    if compile_backend is not None:
        assert net.compile_blocks(backend=compile_backend)
    try:
        with autocast:
            out, grads = _fwd_bwd(net, x, lengths, weights)
    finally:
        net.compile_blocks(False)
    torch.testing.assert_close(out, ref_out, rtol=tol, atol=tol)
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=tol, atol=tol * max(1.0, float(r.abs().max())))


@pytest.mark.parametrize("mode", ["fixed", "length_aware"])
@pytest.mark.parametrize("track_size", [1, 2, 3, 4, 5, 8, 12, 16, 28])
def test_gather_rotation_matches_reference(mode, track_size):
    # Every track width (narrow, the 12-channel switch point, the paper's 28; d = 6 x track for
    # max_len 33); the gather path must give the same outputs and gradients bit for bit.
    _check_fast_path("cpu", mode, track_size, "gather")


@pytest.mark.parametrize("mode", ["fixed", "length_aware"])
@pytest.mark.parametrize("track_size", [1, 3, 4, 5, 12, 28])
def test_padded_channels_match_reference(mode, track_size):
    # d = 7 x track is padded to a multiple of 64 inside the backbone; the GEMMs then sum over
    # extra zeros, which may change the float rounding slightly.
    _check_fast_path("cpu", mode, track_size, "padded", tol=1e-5)


def test_padded_width_and_index_keep_padding_in_place():
    assert padded_width(308, impl="padded") == 320
    assert padded_width(320, impl="padded") == 320 and padded_width(1, impl="padded") == 64
    assert padded_width(308) == 308  # auto on the CPU: no padding
    assert padded_width(308, "cuda") == 320  # auto on CUDA: padded
    assert padded_width(308, "cuda", "reference") == padded_width(308, "cuda", "gather") == 308
    y = torch.randn(2, 9, 16)
    y[..., 14:] = 0.0
    lengths = torch.tensor([9, 4])
    for index in (
        roll_index_pair(9, 14, 4, y.device, 16)[0],
        length_aware_index(lengths, 9, 14, 4, 16),
    ):
        out = y.reshape(-1, index.numel()).index_select(1, index).view(y.shape)
        assert out[..., 14:].abs().sum() == 0
    out = y.reshape(2, -1).index_select(1, roll_index_pair(9, 14, 4, y.device, 16)[0])
    assert torch.equal(out.view(y.shape)[..., :14], naive_rotate(y[..., :14], 4))


@pytest.mark.parametrize("mode", ["fixed", "length_aware"])
@pytest.mark.parametrize("track_size", [2, 5, 28])
def test_compiled_blocks_match_reference(mode, track_size):
    # aot_eager traces the compiled function (Dynamo + AOTAutograd) without the slow C++ codegen.
    _check_fast_path("cpu", mode, track_size, "auto", "aot_eager")
    _check_fast_path("cpu", mode, track_size, "padded", "aot_eager", tol=1e-5)


def test_compile_blocks_is_off_for_dropout_or_prenorm_and_can_be_undone():
    net = ChordMixer(ModelConfig(track_size=2, hidden=8, n_layers=1, max_len=16, mlp_dropout=0.1))
    assert net.compile_blocks(backend="aot_eager") is False
    plain = ChordMixer(ModelConfig(track_size=2, hidden=8, n_layers=1, max_len=16))
    assert plain.compile_blocks(backend="aot_eager") is True
    assert plain.compile_blocks(False) is False and plain._compiled is None


def test_rotation_impl_rejects_unknown_names():
    cfg = ModelConfig(track_size=2, hidden=8, n_layers=1, max_len=16)
    with pytest.raises(ValueError, match="rotation impl 'fast'"):
        ChordMixer(cfg, rotation="fast")
    with pytest.raises(ValueError, match="rotation impl 'fast'"):
        FinDNANetwork(cfg, rotation="fast")
    with pytest.raises(ValueError, match="rotation impl 'fast'"):
        ChordMixer(cfg).set_rotation("fast")
    with pytest.raises(ValueError, match="rotation impl 'fast'"):
        rotate_fixed(torch.randn(1, 4, 4), 2, "fast")


def test_rotation_is_a_setting_of_each_network_not_of_the_process():
    # Two networks with the same weights and different rotations, used in turn in one process:
    # each keeps its own setting and both give the same outputs (padded: up to float rounding).
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(track_size=12)  # wide tracks: reference rolls by slice copies
    ref = FinDNANetwork(cfg, rotation="reference").eval()
    fast = FinDNANetwork(cfg, rotation="padded").eval()
    fast.load_state_dict(ref.state_dict())
    assert (ref.rotation, fast.rotation, FinDNANetwork(cfg).rotation) == (
        "reference",
        "padded",
        "auto",
    )
    x, lengths = torch.randn(2, 40, 5), torch.tensor([40, 23])
    with torch.no_grad():
        a, b = ref(x).hidden, fast(x).hidden
        c = ref(x, lengths).hidden
    assert (ref.rotation, fast.rotation) == ("reference", "padded")
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    fast.set_rotation("gather")
    with torch.no_grad():
        assert torch.equal(fast(x).hidden, ref(x).hidden)  # gather: a permutation, bit for bit
        assert torch.equal(ref(x, lengths).hidden, c)
    assert (ref.rotation, fast.rotation) == ("reference", "gather")
    assert set(ROTATION_IMPLS) == {"auto", "reference", "gather", "padded"}


def test_rotation_is_not_saved_with_the_network(tmp_path):
    net = FinDNANetwork(ModelConfig.tiny(), rotation="gather")
    net.save_pretrained(tmp_path)
    assert "rotation" not in (tmp_path / "config.json").read_text()
    assert FinDNANetwork.from_pretrained(tmp_path).rotation == "auto"
    assert FinDNANetwork.from_pretrained(tmp_path, rotation="padded").rotation == "padded"
    transformer = FinDNANetwork(ModelConfig.tiny(backbone="transformer", n_layers=1))
    transformer.set_rotation("gather")  # no rotation to set; the name is still checked
    assert transformer.rotation == "auto"


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("mode", ["fixed", "length_aware"])
@pytest.mark.parametrize("track_size", [2, 5, 12, 28])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_fast_paths_match_reference(mode, track_size, dtype):
    # gather is a permutation, so bit for bit equal in any dtype; auto (= padded on CUDA) sums
    # over extra zero channels in its GEMMs, which may round differently.
    _check_fast_path("cuda", mode, track_size, "gather", dtype=dtype)
    _check_fast_path("cuda", mode, track_size, "gather", "aot_eager", dtype)
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    for impl in ("padded", "auto"):
        _check_fast_path("cuda", mode, track_size, impl, dtype=dtype, tol=tol)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("mode", ["fixed", "length_aware"])
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-4), (torch.bfloat16, 3e-2)])
def test_cuda_inductor_blocks_match_reference(mode, dtype, tol):
    # Inductor's Triton kernels (fused bias + GELU, gather + residual); each case compiles.
    _check_fast_path("cuda", mode, 5, "auto", "inductor", dtype, tol)
    _check_fast_path("cuda", mode, 5, "padded", "inductor", dtype, tol)
