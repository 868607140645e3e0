"""TT layers (training extra): exact against their dense reconstruction, and exported to ONNX."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the TT layers need the training extra (torch)")
from ferdesk.training.tt import TTLinear, TTLSTMCell  # noqa: E402


def test_tt_linear_equals_its_dense_matrix():
    torch.manual_seed(0)
    layer = TTLinear([4, 8, 4], [2, 3, 5], [3, 2])
    x = torch.randn(6, 128)
    dense = x @ layer.to_dense() + layer.bias
    assert torch.allclose(layer(x), dense, atol=1e-5)
    assert layer(torch.randn(2, 3, 128)).shape == (2, 3, 30)   # extra batch dimensions


def test_tt_linear_counts_and_compresses():
    layer = TTLinear([8, 8, 8, 8], [4, 4, 4, 4], [4, 4, 4])
    cores = 1 * 8 * 4 * 4 + 4 * 8 * 4 * 4 + 4 * 8 * 4 * 4 + 4 * 8 * 4 * 1
    assert layer.tt_params() == cores + 256
    assert layer.dense_params() == 4096 * 256 + 256
    assert layer.dense_params() / layer.tt_params() > 200


def test_tt_lstm_cell_matches_a_dense_lstm_with_the_same_weights():
    torch.manual_seed(1)
    cell = TTLSTMCell([4, 4, 8], [2, 4, 4], [3, 3])
    ref = torch.nn.LSTMCell(128, 32)
    with torch.no_grad():
        ref.weight_ih.copy_(cell.x2h.to_dense().T)
        ref.bias_ih.copy_(cell.x2h.bias)
        ref.weight_hh.copy_(cell.h2h.weight)
        ref.bias_hh.zero_()
    x, h, c = torch.randn(5, 128), torch.randn(5, 32), torch.randn(5, 32)
    h1, c1 = cell(x, h, c)
    h2, c2 = ref(x, (h, c))
    assert torch.allclose(h1, h2, atol=1e-5) and torch.allclose(c1, c2, atol=1e-5)
    assert cell.sequence(torch.randn(2, 7, 128)).shape == (2, 7, 32)
    assert cell.dense_params() == 128 * 128 + 32 * 128 + 128


def test_tt_lstm_cell_exports_to_onnx_with_only_the_cores(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.manual_seed(2)
    cell = TTLSTMCell([8, 8, 8, 8], [4, 4, 4, 2], [4, 4, 4], hidden_ranks=[4, 4, 4]).eval()
    args = (torch.randn(3, 4096), torch.zeros(3, 128), torch.zeros(3, 128))
    path = tmp_path / "cell.onnx"
    torch.onnx.export(cell, args, str(path), input_names=["x", "h", "c"], output_names=["h1", "c1"],
                      dynamic_axes={n: {0: "batch"} for n in ("x", "h", "c", "h1", "c1")}, opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(path))
    got = sess.run(None, {"x": args[0].numpy(), "h": args[1].numpy(), "c": args[2].numpy()})
    want = cell(*args)
    assert np.allclose(got[0], want[0].detach().numpy(), atol=1e-5)
    dense_bytes = cell.dense_params() * 4
    assert path.stat().st_size < dense_bytes / 50, "the file stores the cores, not the dense matrices"


def test_channel_pruning_keeps_the_network_when_nothing_is_cut_and_shrinks_it_otherwise():
    from ferdesk.training.nets import build
    from ferdesk.training.prune import channel_scores, prune_into

    torch.manual_seed(3)
    src = build("fernet-s").eval()
    for m in src.modules():  # make the BN statistics non-trivial so channel order matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.1, 1.0)
    x = torch.rand(3, 1, 48, 48)
    same = prune_into(src, build("fernet-s")).eval()
    assert torch.allclose(same(x), src(x), atol=1e-5)
    small = prune_into(src, build("fernet-s-pruned")).eval()
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(small) < 0.7 * n(src) and small(x).shape == (3, 7)
    pair = src.features[3]
    kept = channel_scores(pair).argsort(descending=True)[:16].sort().values
    assert torch.equal(small.features[3].body[0][0].weight, pair.body[0][0].weight[kept])


def test_every_pruned_architecture_is_its_base_with_narrower_residual_pairs():
    from ferdesk.training.nets import ARCHITECTURES, build
    from ferdesk.training.prune import prune_into

    # "-pruned": half of each pair's inner channels; "-trim": a lighter cut (fernet-sm-trim: 19% fewer parameters)
    pruned = {name: 0.75 if name.endswith("-pruned") else 0.85
              for name in ARCHITECTURES if name.endswith(("-pruned", "-trim"))}
    assert {"fernet-t-pruned", "fernet-s-pruned", "fernet-m-pruned", "fernet-l-pruned", "fernet-sm-trim"} <= set(pruned)
    x = torch.rand(2, 1, 48, 48)
    for name, most in pruned.items():
        base = build(name.removesuffix("-pruned").removesuffix("-trim")).eval()
        small = prune_into(base, build(name)).eval()
        n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        assert n(small) < most * n(base), name
        assert small(x).shape == (2, 7) and small.feature_size == base.feature_size, name


def test_prune_with_no_epochs_writes_the_pruned_network_for_a_fine_tune_elsewhere(tmp_path):
    from ferdesk.training import prune, train_classifier
    from ferdesk.training.nets import build

    data, src_path = tmp_path / "data", tmp_path / "src.pt"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("fer2013_training.npz", 64), ("fer2013_publictest.npz", 32)):
        np.savez(data / split, images=rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
                 labels=rng.integers(0, 7, n).astype(np.uint8))
    torch.manual_seed(5)
    src = build("fernet-t")
    torch.save(src.state_dict(), src_path)
    prune.main(["--arch", "fernet-t", "--weights", str(src_path), "--to", "fernet-t-pruned", "--epochs", "0",
                "--threads", "1", "--data", str(data), "--out", str(tmp_path / "pruned")])
    written = build("fernet-t-pruned")
    written.load_state_dict(torch.load(tmp_path / "pruned" / "model.pt"))
    expected = prune.prune_into(src.eval(), build("fernet-t-pruned"))
    x = torch.rand(2, 1, 48, 48)
    assert torch.allclose(written.eval()(x), expected.eval()(x))  # untouched by any training step
    assert "not fine-tuned here" in (tmp_path / "pruned" / "summary.txt").read_text()
    # the fine-tune the pruned variants got: train_classifier --init on the pruned network
    train_classifier.main(["--arch", "fernet-t-pruned", "--epochs", "1", "--batch", "32", "--threads", "1",
                           "--lr", "0.01", "--init", str(tmp_path / "pruned" / "model.pt"), "--data", str(data),
                           "--out", str(tmp_path / "tuned")])
    assert (tmp_path / "tuned" / "model.pt").exists()
