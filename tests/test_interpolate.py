"""Weight interpolation between two trained networks (ferdesk.training.interpolate)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="interpolation needs the training extra (torch)")

from ferdesk.training.interpolate import fold_batch_norms, interpolate, main  # noqa: E402
from ferdesk.training.nets import build  # noqa: E402


def _trained_like(seed: int, path):
    torch.manual_seed(seed)
    net = build("fernet-t")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):   # statistics and affine terms as training leaves them
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    torch.save(net.state_dict(), path)
    return net.eval()


def test_folding_the_batch_norms_keeps_the_function(tmp_path):
    net = _trained_like(0, tmp_path / "a.pt")
    x = torch.rand(4, 1, 48, 48)
    before = net(x)
    fold_batch_norms(net)
    assert torch.allclose(net(x), before, atol=1e-4)


def test_the_ends_of_the_line_are_the_two_networks_and_the_middle_is_between(tmp_path):
    a = _trained_like(0, tmp_path / "a.pt")
    b = _trained_like(1, tmp_path / "b.pt")
    x = torch.rand(4, 1, 48, 48)
    assert torch.allclose(interpolate("fernet-t", tmp_path / "a.pt", tmp_path / "b.pt", 0.0)(x), a(x), atol=1e-4)
    assert torch.allclose(interpolate("fernet-t", tmp_path / "a.pt", tmp_path / "b.pt", 1.0)(x), b(x), atol=1e-4)
    mid = interpolate("fernet-t", tmp_path / "a.pt", tmp_path / "b.pt", 0.5)
    fold_batch_norms(a)
    fold_batch_norms(b)
    w = [m.weight for m in mid.modules() if isinstance(m, torch.nn.Conv2d)][0]
    wa = [m.weight for m in a.modules() if isinstance(m, torch.nn.Conv2d)][0]
    wb = [m.weight for m in b.modules() if isinstance(m, torch.nn.Conv2d)][0]
    assert torch.allclose(w, (wa + wb) / 2, atol=1e-6)


def test_the_command_writes_a_state_dict_and_names_bad_input(tmp_path):
    _trained_like(0, tmp_path / "a.pt")
    _trained_like(1, tmp_path / "b.pt")
    assert main(["--arch", "fernet-t", "--start", str(tmp_path / "a.pt"), "--end", str(tmp_path / "b.pt"),
                 "--alpha", "0.3", "--out", str(tmp_path / "mid")]) == 0
    assert (tmp_path / "mid" / "model.pt").is_file() and "--alpha 0.3" in (tmp_path / "mid" / "summary.txt").read_text()
    with pytest.raises(SystemExit, match="no weights file"):
        main(["--arch", "fernet-t", "--start", str(tmp_path / "none.pt"), "--end", str(tmp_path / "b.pt"),
              "--alpha", "0.5", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="alpha 1.5"):
        main(["--arch", "fernet-t", "--start", str(tmp_path / "a.pt"), "--end", str(tmp_path / "b.pt"),
              "--alpha", "1.5", "--out", str(tmp_path / "x")])
