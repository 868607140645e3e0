import torch

from ferdesk.training.nets import build
from ferdesk.training.tta_views import VIEW_SETS, affine, view_probabilities, view_set_accuracy


def test_affine_without_change_is_the_face_and_a_shift_moves_it_by_two_pixels():
    x = torch.rand(2, 1, 48, 48)
    assert torch.allclose(affine(x), x, atol=1e-5)
    shifted = affine(x, tx=2 / 48 * 2)
    assert torch.allclose(shifted[..., :, 10:40], x[..., :, 12:42], atol=1e-5)


def test_view_sets_count_their_mirrors_and_the_face_row_is_plain_accuracy():
    torch.manual_seed(0)
    net = build("fernet-t").eval()
    x, y = torch.rand(6, 1, 48, 48), torch.tensor([0, 1, 2, 3, 4, 5])
    probs = view_probabilities(net, x, batch=4)
    assert len(probs) == 14 and all(p.shape == (6, 7) for p in probs.values())
    got = view_set_accuracy(probs, y)
    assert got["face"] == (1, float((net(x).argmax(1) == y).float().mean()))
    assert got["face + mirror"][0] == 2 and got["all"][0] == 14
    assert set(got) == set(VIEW_SETS)
