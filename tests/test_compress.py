"""Compression and distillation pieces of the training pipeline, on small random networks."""
import argparse
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from ferdesk.catalog import InputSpec  # noqa: E402
from ferdesk.training.compress import compact_names, make_int8  # noqa: E402
from ferdesk.training.export import INPUT_SPEC, WithSoftmax, export_onnx  # noqa: E402
from ferdesk.training.nets import build  # noqa: E402
from ferdesk.training.train_classifier import parse_teacher, teacher_targets  # noqa: E402


def _run(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})


def test_int8_file_has_short_names_and_still_gives_probabilities_and_features(tmp_path):
    torch.manual_seed(0)
    fp32 = tmp_path / "net.onnx"
    export_onnx(WithSoftmax([build("fernet-t").eval()]).eval(), fp32)
    images = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    int8 = tmp_path / "net-int8.onnx"
    make_int8(fp32, int8, InputSpec.from_dict(INPUT_SPEC), images)

    model = onnx.load(str(int8))
    onnx.checker.check_model(model)
    assert [o.name for o in model.graph.output] == ["probabilities", "features"]
    assert all(not n.name for n in model.graph.node)
    assert max(len(t.name) for t in model.graph.initializer) <= 6

    x = np.random.default_rng(1).random((4, 1, 48, 48), dtype=np.float32)
    probs, feats = _run(int8, x)
    assert probs.shape == (4, 7) and feats.shape == (4, 64)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)


def test_compact_names_keeps_outputs_and_shrinks_the_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "net.onnx"
    export_onnx(WithSoftmax([build("fernet-t").eval()]).eval(), path)
    x = np.random.default_rng(2).random((3, 1, 48, 48), dtype=np.float32)
    before = _run(path, x)
    model = onnx.load(str(path))
    size = model.ByteSize()
    compacted = compact_names(model)
    assert compacted.ByteSize() < size
    onnx.save(compacted, str(tmp_path / "short.onnx"))
    for a, b in zip(before, _run(tmp_path / "short.onnx", x)):
        np.testing.assert_array_equal(a, b)


def test_teacher_targets_are_flip_invariant_probabilities(tmp_path):
    torch.manual_seed(0)
    net = build("fernet-t").eval()
    weights = tmp_path / "t.pt"
    torch.save(net.state_dict(), weights)
    x = torch.rand(6, 1, 48, 48)
    soft = teacher_targets([("fernet-t", weights)], x, temperature=3.0)
    mirrored = teacher_targets([("fernet-t", weights)], torch.flip(x, dims=[3]), temperature=3.0)
    torch.testing.assert_close(soft.sum(1), torch.ones(6))
    torch.testing.assert_close(soft, mirrored)
    sharp = teacher_targets([("fernet-t", weights)], x, temperature=1.0)
    assert sharp.max() > soft.max()  # a higher temperature softens


def test_teacher_argument_names_the_problem(tmp_path):
    with pytest.raises(argparse.ArgumentTypeError, match="ARCH=WEIGHTS"):
        parse_teacher("fernet-s")
    with pytest.raises(argparse.ArgumentTypeError, match="no weights file"):
        parse_teacher(f"fernet-s={tmp_path / 'missing.pt'}")


def test_ensemble_members_name_their_architecture():
    from ferdesk.training.nets import member

    assert member("fernet-m=build/m.pt") == ("fernet-m", "build/m.pt")
    assert member("build/s.pt", "fernet-s") == ("fernet-s", "build/s.pt")
    assert member("fernet-t=t.pt", "fernet-s") == ("fernet-t", "t.pt")   # the member's own name wins
    with pytest.raises(ValueError, match="or --arch"):
        member("build/s.pt")
    with pytest.raises(ValueError, match="ARCH one of"):
        member("resnet50=r.pt")


def test_mixed_ensemble_exports_concatenated_features(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "mixed.onnx"
    export_onnx(WithSoftmax([build("fernet-t").eval(), build("fernet-s").eval()]).eval(), path)
    probs, feats = _run(path, np.random.default_rng(0).random((2, 1, 48, 48), dtype=np.float32))
    assert probs.shape == (2, 7) and feats.shape == (2, 64 + 128)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)


def test_distillation_pulls_the_student_towards_the_teacher():
    from ferdesk.training.train_classifier import Distillation, fit

    torch.manual_seed(0)
    x = torch.rand(256, 1, 48, 48)
    y = torch.randint(0, 7, (256,))
    # a teacher that always says "happy", whatever the label
    targets = torch.full((256, 7), 0.02)
    targets[:, 3] = 0.88
    student = build("fernet-t")
    fit(student, x, y, x[:32], y[:32], epochs=2, gen=torch.Generator().manual_seed(0), batch=64, lr=0.05,
        distillation=Distillation(targets, alpha=1.0, temperature=1.0), amp="bf16")
    student.eval()
    with torch.no_grad():
        assert (student(x[:64]).argmax(1) == 3).float().mean() > 0.9


class _SaysHappy(torch.nn.Module):
    """A stand-in teacher network: 'happy' whatever the input."""

    def forward(self, x):
        logits = torch.zeros(len(x), 7)
        logits[:, 3] = 5.0
        return logits


def test_online_distillation_with_mixup_pulls_the_student_towards_the_teacher():
    from ferdesk.training.train_classifier import Distillation, fit

    torch.manual_seed(0)
    x = torch.rand(256, 1, 48, 48)
    y = torch.randint(0, 7, (256,))
    student = build("fernet-t")
    history = fit(student, x, y, x[:32], y[:32], epochs=2, gen=torch.Generator().manual_seed(0), batch=64, lr=0.05,
                  distillation=Distillation(None, alpha=1.0, temperature=1.0, teachers=(_SaysHappy(),)), mixup=0.4)
    assert len(history) == 2
    student.eval()
    with torch.no_grad():
        assert (student(x[:64]).argmax(1) == 3).float().mean() > 0.9


def test_mixup_weights_are_seeded_and_spread_over_zero_to_one():
    from ferdesk.training.train_classifier import _beta

    draws = [_beta(0.4, torch.Generator().manual_seed(1)) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    gen = torch.Generator().manual_seed(0)
    sample = np.array([_beta(0.4, gen) for _ in range(4000)])
    assert ((sample > 0) & (sample < 1)).all()
    assert abs(sample.mean() - 0.5) < 0.03
    # Beta(0.4, 0.4) is U-shaped: most mass near 0 and 1; its variance is 1 / (4 * 1.8) = 0.139
    assert abs(sample.var() - 1 / 7.2) < 0.01


def _write_split(path, n, seed):
    rng = np.random.default_rng(seed)
    np.savez(path, images=rng.integers(0, 256, (n, 48, 48), dtype=np.uint8),
             labels=rng.integers(0, 7, n).astype(np.uint8))


def test_training_without_public_test_then_score_only_fills_in_the_figure(tmp_path):
    from ferdesk.training.train_classifier import main

    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1",
          "--data", str(data), "--out", str(out)])
    assert "final PublicTest accuracy=not evaluated" in (out / "summary.txt").read_text()

    _write_split(data / "fer2013_publictest.npz", 40, 1)
    main(["--arch", "fernet-t", "--score-only", "--threads", "1", "--data", str(data), "--out", str(out)])
    summary = (out / "summary.txt").read_text()
    assert "not evaluated" not in summary
    acc = float(summary.split("final PublicTest accuracy=")[1].split()[0])
    assert 0.0 <= acc <= 1.0
    assert summary.startswith("arch=fernet-t") and "command:" in summary


def test_a_killed_run_resumed_with_its_own_flags_ends_with_the_uninterrupted_runs_model(tmp_path, monkeypatch):
    from ferdesk.training import train_classifier
    from ferdesk.training.train_classifier import main

    data = tmp_path / "data"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 96, 0)
    _write_split(data / "fer2013_publictest.npz", 40, 1)
    teacher = tmp_path / "teacher.pt"
    torch.save(build("fernet-t").state_dict(), teacher)
    flags = ["--arch", "fernet-t", "--epochs", "3", "--batch", "32", "--threads", "1", "--mixup", "0.4",
             "--teacher", f"fernet-t={teacher}", "--kd-online", "--data", str(data)]
    main(flags + ["--out", str(tmp_path / "whole")])

    save, saved = train_classifier._save_atomically, []

    def save_then_die_after_the_first_epochs_state(obj, path):
        save(obj, path)
        saved.append(path.name)
        if path.name == "run-state.pt":
            raise KeyboardInterrupt  # the process is killed between epochs 1 and 2

    monkeypatch.setattr(train_classifier, "_save_atomically", save_then_die_after_the_first_epochs_state)
    with pytest.raises(KeyboardInterrupt):
        main(flags + ["--out", str(tmp_path / "killed")])
    monkeypatch.setattr(train_classifier, "_save_atomically", save)
    assert saved == ["last.pt", "run-state.pt"] and not (tmp_path / "killed" / "model.pt").exists()

    with pytest.raises(SystemExit, match="trained with epochs=3, not 4"):
        main(flags[:3] + ["4"] + flags[4:] + ["--out", str(tmp_path / "killed"), "--resume"])
    with pytest.raises(SystemExit, match="no run state"):
        main(flags + ["--out", str(tmp_path / "never-ran"), "--resume"])

    main(flags + ["--out", str(tmp_path / "killed"), "--resume"])
    whole, resumed = torch.load(tmp_path / "whole" / "model.pt"), torch.load(tmp_path / "killed" / "model.pt")
    assert whole.keys() == resumed.keys()
    for k in whole:
        torch.testing.assert_close(resumed[k], whole[k], rtol=0, atol=0, msg=k)
    history = json.loads((tmp_path / "killed" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert [h["public_test_acc"] for h in history] == [
        h["public_test_acc"] for h in json.loads((tmp_path / "whole" / "history.json").read_text())]
    assert "resumed" in (tmp_path / "killed" / "summary.txt").read_text()


def test_fernet_sm_sits_between_s_and_m_and_its_int8_file_fits_the_balanced_tier():
    params = {a: sum(p.numel() for p in build(a).parameters()) for a in ("fernet-s", "fernet-sm", "fernet-m")}
    assert params["fernet-s"] < params["fernet-sm"] < params["fernet-m"]
    assert params["fernet-sm"] < 1_000_000  # about one byte per weight in INT8: under the 1 MB limit


def test_test_time_flip_averages_the_mirror_in_one_batch_and_int8_stores_each_weight_once(tmp_path):
    torch.manual_seed(0)
    net = build("fernet-t").eval()
    x = torch.rand(3, 1, 48, 48)
    with torch.no_grad():
        probs, feats = WithSoftmax([net], flip=True).eval()(x)
        plain_logits, plain_feats = net.forward_with_features(x)
        mirror_logits, _ = net.forward_with_features(torch.flip(x, dims=[3]))
    expected = (torch.softmax(plain_logits, 1) + torch.softmax(mirror_logits, 1)) / 2
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(feats, plain_feats)

    images = np.random.default_rng(0).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    sizes = {}
    for flip in (False, True):
        fp32, int8 = tmp_path / f"f{flip}.onnx", tmp_path / f"f{flip}-int8.onnx"
        export_onnx(WithSoftmax([net], flip=flip).eval(), fp32)
        make_int8(fp32, int8, InputSpec.from_dict(INPUT_SPEC), images)
        sizes[flip] = int8.stat().st_size
        if flip:
            onnx_probs, onnx_feats = _run(fp32, x.numpy())
            np.testing.assert_allclose(onnx_probs, expected.numpy(), atol=1e-5)
            assert onnx_feats.shape == (3, 64)
    assert sizes[True] < sizes[False] + 2048


def test_batched_erasing_blanks_one_rectangle_on_about_p_of_the_faces_and_is_seeded():
    from ferdesk.training.augment import random_erase_batched

    x = torch.rand(2000, 1, 48, 48) + 2.0  # every pixel above any fill level in [0, 1)
    out = random_erase_batched(x, torch.Generator().manual_seed(3), p=0.4, max_frac=0.3)
    assert torch.equal(out, random_erase_batched(x, torch.Generator().manual_seed(3), p=0.4, max_frac=0.3))
    erased = out < 1.5
    hit = erased.flatten(1).any(1)
    assert abs(hit.float().mean().item() - 0.4) < 0.05
    for mask in erased[hit][:50, 0]:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert 4 <= h <= 14 and 4 <= w <= 14  # 10% to 30% of 48, floored
        assert mask.sum() == h * w and rows[-1] - rows[0] + 1 == h  # one solid rectangle


def test_augmenting_on_the_training_device_is_seeded_and_named_in_the_summary(tmp_path):
    from ferdesk.training.train_classifier import main

    data = tmp_path / "data"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    _write_split(data / "fer2013_publictest.npz", 40, 1)
    args = ["--arch", "fernet-t", "--epochs", "2", "--batch", "32", "--threads", "1", "--augment-on", "device",
            "--data", str(data)]
    main(args + ["--out", str(tmp_path / "a")])
    main(args + ["--out", str(tmp_path / "b")])
    first, second = ((tmp_path / r / "history.json").read_text() for r in "ab")
    assert [h["loss"] for h in json.loads(first)] == [h["loss"] for h in json.loads(second)]
    assert "--augment-on device" in (tmp_path / "a" / "summary.txt").read_text()


def test_packed_faces_unpack_bit_for_bit(tmp_path):
    from ferdesk.training.portable_data import pack, unpack

    _write_split(tmp_path / "fer2013_training.npz", 30, 2)
    pack(tmp_path, tmp_path / "packed", splits=["training"])
    (out,) = unpack(tmp_path / "packed", tmp_path / "unpacked")
    before, after = np.load(tmp_path / "fer2013_training.npz"), np.load(out)
    assert np.array_equal(before["images"], after["images"]) and np.array_equal(before["labels"], after["labels"])


def test_lease_packs_each_run_with_its_summary_and_halves_weights_over_the_file_limit(tmp_path, monkeypatch):
    import tarfile

    from ferdesk.training import lease

    root = tmp_path / "train"
    for name, n in (("small", 10), ("big", 400)):
        (root / name).mkdir(parents=True)
        torch.save({"w": torch.ones(n, 1000), "steps": torch.tensor(3)}, root / name / "model.pt")
        (root / name / "summary.txt").write_text(f"arch=x {name}\n")
    monkeypatch.setattr(lease, "LIMIT", 1_000_000)  # 'big' holds 1.6 MB of float32
    out = tmp_path / "out"
    out.mkdir()
    tars = lease.pack(root, ["small", "big", "missing"], out)
    members = {m for t in tars for m in tarfile.open(t).getnames()}
    # tar drops a leading "/"; in a lease the root is relative (build/train), unpacked in the repo root
    assert {str(root / n / f).lstrip("/") for n in ("small", "big") for f in ("model.pt", "summary.txt")} <= members
    big = torch.load(root / "big" / "model.pt")
    assert big["w"].dtype == torch.float16 and big["steps"].dtype == torch.int64
    assert "float16" in (root / "big" / "summary.txt").read_text()
    assert torch.load(root / "small" / "model.pt")["w"].dtype == torch.float32
    with pytest.raises(argparse.ArgumentTypeError):
        lease.parse_run("no name here")
    assert lease.parse_run("r1: --arch fernet-t --seed 2") == ("r1", ["--arch", "fernet-t", "--seed", "2"])


@pytest.mark.parametrize("flip", [False, True])
def test_int8_input_quantisation_puts_every_pixel_on_an_integer_whatever_the_callers_rounding(tmp_path, flip):
    torch.manual_seed(0)
    fp32, int8 = tmp_path / "net.onnx", tmp_path / "net-int8.onnx"
    export_onnx(WithSoftmax([build("fernet-t").eval()], flip=flip).eval(), fp32)
    images = np.random.default_rng(0).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    make_int8(fp32, int8, InputSpec.from_dict(INPUT_SPEC), images)

    g = onnx.load(str(int8)).graph
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    by_output = {o: n for n in g.node for o in n.output}
    # the first QuantizeLinear fed (through Sub and Div) by the input: the normalised face
    quant = next(n for n in g.node if n.op_type == "QuantizeLinear" and by_output.get(n.input[0]) is not None
                 and by_output[n.input[0]].op_type == "Div")
    div = by_output[quant.input[0]]
    sub = by_output[div.input[0]]
    mean, std = float(consts[sub.input[1]]), float(consts[div.input[1]])
    scale, zero = float(consts[quant.input[1]]), int(consts[quant.input[2]])
    q = ((np.arange(256) / 255 - mean) / std) / scale + zero
    # 0.5 would put every pixel on a rounding boundary (q = k + 0.5); on the grid q = k
    assert mean * 255 == pytest.approx(round(mean * 255), abs=1e-4)
    assert np.abs(q - np.round(q)).max() < 1e-3
    assert len(np.unique(np.round(q))) == 256

    x = images[:8, None].astype(np.float32)
    by_division, by_product = _run(int8, x / np.float32(255)), _run(int8, x * np.float32(1 / 255))
    np.testing.assert_array_equal(by_division[0], by_product[0])


def _experiment_script(name: str):
    """A script of experiments/ (not a package) imported as a module."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent.parent / "experiments" / f"{name}.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_ensemble_members_are_read_out_of_the_onnx_file_with_their_own_parameter_counts(tmp_path):
    tool = _experiment_script("ensemble_members")
    torch.manual_seed(0)
    nets = [build("fernet-t").eval(), build("fernet-s").eval()]
    path = tmp_path / "pair.onnx"
    export_onnx(WithSoftmax(nets).eval(), path)
    x = np.random.default_rng(0).random((5, 1, 48, 48), dtype=np.float32)
    probs, params = tool.member_probabilities(path, x, batch=2)
    assert probs.shape == (2, 2, 5, 7)
    with torch.no_grad():
        for k, net in enumerate(nets):
            np.testing.assert_allclose(probs[0, k], torch.softmax(net(torch.from_numpy(x)), 1).numpy(), atol=1e-5)
            np.testing.assert_allclose(probs[1, k], torch.softmax(net(torch.flip(torch.from_numpy(x), dims=[3])), 1).numpy(),
                                       atol=1e-5)
    # each member's weights (BatchNorm folded into the convolutions by the export), not the pair's total
    assert params[0] < params[1]
    assert abs(params[0] - sum(p.numel() for p in nets[0].parameters())) < 0.05 * params[0]


def test_ensemble_members_drop_replaces_a_member_with_the_added_model(tmp_path, monkeypatch, capsys):
    tool = _experiment_script("ensemble_members")
    labels = np.array([0, 1, 2, 3])
    onehot = np.eye(7, dtype=np.float32)
    good = onehot[labels]                     # right on every face
    bad = onehot[[6, 6, 6, 6]] * 4            # wrong everywhere, and outweighs three right members
    # the ensemble: two right members and one confidently wrong one (member 1) -> 0% on its own
    probs = [np.stack([good, good]), np.stack([bad, bad]), np.stack([good, good])]
    names = ["ens[0]", "ens[1]", "ens[2]"]
    monkeypatch.setattr(tool, "member_probabilities", lambda path, images: (np.stack([good[None], good[None]]), [1]))

    class Spec:
        input = type("I", (), {"to_tensor": staticmethod(lambda x: x)})()
        primary = type("F", (), {"path": "x.onnx"})()

    catalog = type("C", (), {"get": lambda self, name: Spec()})()
    d = {"labels": labels, "images": np.zeros((4, 48, 48), np.uint8)}
    tool.score_with_added(catalog, d, ["ens"], ["other"], names, probs)
    kept = capsys.readouterr().out
    assert "ens + other (4 members): 0.00% (alone: 0.00%)" in kept
    tool.score_with_added(catalog, d, ["ens"], ["other"], names, probs, [1])
    assert "ens - member 1 + other (3 members): 100.00% (alone: 0.00%)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="members 0 to 2, not 5"):
        tool.score_with_added(catalog, d, ["ens"], ["other"], names, probs, [5])
    with pytest.raises(SystemExit):
        tool.main(["--drop", "1"])             # --drop without --add is refused before anything loads


@pytest.mark.parametrize("native", [False, True])
def test_bf16_is_asked_for_where_it_is_emulated_then_training_runs_in_float32_and_says_so(tmp_path, monkeypatch, capsys, native):
    from ferdesk.training import train_classifier

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native, raising=False)
    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    train_classifier.main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1", "--amp", "bf16",
                           "--device", "cpu", "--data", str(data), "--out", str(out)])
    command = (out / "summary.txt").read_text().split("command:")[1]
    said = "no native bfloat16" in capsys.readouterr().out
    assert said is not native
    assert ("--amp bf16" in command) is native  # the summary records what ran


def test_view_bank_scores_exactly_the_stored_views_and_is_reused_only_for_the_same_model_and_views(tmp_path):
    from ferdesk.training.view_bank import load_or_build, teacher_session

    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (20, 1, 48, 48)).astype(np.float32) / 255)
    path = tmp_path / "bank.npz"
    bank = load_or_build(path, x, "fernet-t-ekd-int8", 3, seed=0, threads=1)
    assert bank.images.shape == (20, 3, 1, 48, 48) and bank.images.dtype == torch.uint8
    assert not torch.equal(bank.images[:, 0], bank.images[:, 1])  # each view is its own augmentation
    engine, spec = teacher_session("fernet-t-ekd-int8", 1)
    again = engine.run(spec.to_tensor(bank.images[:, 2, 0].numpy()))[0]
    np.testing.assert_allclose(bank.probs[:, 2].numpy(), again, atol=1e-6)  # the teacher saw the stored pixels

    idx, views = torch.tensor([4, 7]), torch.tensor([1, 2])
    soft = bank.soft_targets(idx, views, temperature=3.0)
    np.testing.assert_allclose(soft.sum(1).numpy(), 1.0, atol=1e-5)
    assert soft.max() < bank.probs[idx, views].max()  # softened
    np.testing.assert_array_equal(bank.faces(idx, views).numpy() * 255, bank.images[idx, views].float().numpy())

    reused = load_or_build(path, x, "fernet-t-ekd-int8", 3, seed=0, threads=1)
    assert torch.equal(reused.images, bank.images)
    redrawn = load_or_build(path, x, "fernet-t-ekd-int8", 3, seed=1, threads=1)
    assert not torch.equal(redrawn.images, bank.images)
    other = load_or_build(path, x, "fernet-t-ekd-int8", 2, seed=1, threads=1)
    assert other.views == 2
    camera = load_or_build(path, x, "fernet-t-ekd-int8", 2, seed=1, threads=1, camera_p=1.0)
    assert not torch.equal(camera.images, other.images)  # camera effects make another bank, not the stored one
    assert torch.equal(load_or_build(path, x, "fernet-t-ekd-int8", 2, seed=1, threads=1, camera_p=1.0).images,
                       camera.images)


def test_training_on_a_view_bank_pulls_the_student_towards_the_teacher_on_the_stored_views(tmp_path):
    from ferdesk.training.train_classifier import Distillation, fit
    from ferdesk.training.view_bank import ViewBank

    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (64, 2, 1, 48, 48), dtype=np.uint8))
    probs = torch.full((64, 2, 7), 0.01)
    probs[:, :, 5] = 0.94  # a teacher sure of class 5 on every view, against labels spread over all classes
    labels = torch.from_numpy(rng.integers(0, 7, 64))
    model = build("fernet-t")
    fit(model, images[:, 0].float() / 255, labels, None, None, epochs=3, gen=torch.Generator().manual_seed(0),
        batch=16, lr=0.05, distillation=Distillation(None, alpha=0.9, temperature=1.0, bank=ViewBank(images, probs)))
    with torch.no_grad():
        predicted = model.eval()(images[:, 1].float() / 255).argmax(1)
    assert (predicted == 5).float().mean() > 0.9
    with pytest.raises(ValueError, match="view bank"):
        fit(model, images[:, 0].float() / 255, labels, None, None, epochs=1, gen=torch.Generator(), batch=16, mixup=0.2,
            distillation=Distillation(None, bank=ViewBank(images, probs)))


def test_teacher_model_refuses_a_second_teacher_kind_in_one_line(tmp_path, capsys):
    from ferdesk.training.train_classifier import main

    with pytest.raises(SystemExit):
        main(["--arch", "fernet-t", "--out", str(tmp_path), "--teacher-model", "fernet-t-ekd-int8", "--mixup", "0.2"])
    assert "no --teacher, --mixup or --augment-on" in capsys.readouterr().err


def _trained_looking(arch, seed):
    """A network whose batch norms hold non-trivial statistics and affine weights (as after training)."""
    torch.manual_seed(seed)
    net = build(arch)
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_a_network_rebuilt_from_its_onnx_file_gives_the_files_outputs_and_keeps_them_in_train_mode(tmp_path):
    from ferdesk.training.from_onnx import load_onnx
    from ferdesk.training.nets import load

    members = [_trained_looking("fernet-t", 0), _trained_looking("fernet-t", 1)]
    path = tmp_path / "pair.onnx"
    export_onnx(WithSoftmax(members).eval(), path)
    x = torch.rand(32, 1, 48, 48, generator=torch.Generator().manual_seed(2))
    for k, original in enumerate(members):
        rebuilt = load(("fernet-t"), f"{path}#{k}")
        with torch.no_grad():
            np.testing.assert_allclose(rebuilt(x).numpy(), original(x).numpy(), atol=1e-4)

    calibrated = load_onnx("fernet-t", f"{path}#1", calibration=x)
    calibrated.train()
    calibrated.head[2].eval()  # dropout off: batch norms alone now use the batch's statistics
    with torch.no_grad():
        np.testing.assert_allclose(calibrated(x).numpy(), members[1](x).numpy(), atol=1e-3)
        assert not np.allclose(calibrated.eval()(x).numpy(), members[0](x).numpy(), atol=1e-2)

    with pytest.raises(ValueError, match="member 2"):
        load_onnx("fernet-t", f"{path}#2")
    with pytest.raises(ValueError, match="convolution"):
        load_onnx("fernet-s", path)


def test_init_starts_training_from_a_bundled_onnx_file_and_names_a_missing_one(tmp_path, capsys):
    from ferdesk.training.train_classifier import initial_network, main

    original = _trained_looking("fernet-t", 3)
    path = tmp_path / "t.onnx"
    export_onnx(WithSoftmax([original]).eval(), path)
    faces = torch.rand(64, 1, 48, 48, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        np.testing.assert_allclose(initial_network("fernet-t", str(path), faces, 0)(faces).numpy(),
                                   original(faces).numpy(), atol=1e-4)

    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1", "--lr", "0.01",
          "--init", str(path), "--data", str(data), "--out", str(out)])
    assert f"--init {path}" in (out / "summary.txt").read_text()
    with pytest.raises(SystemExit, match="no weights file"):
        main(["--arch", "fernet-t", "--init", str(tmp_path / "gone.onnx"), "--data", str(data), "--out", str(out)])


def test_an_unknown_teacher_model_is_a_one_line_error():
    from ferdesk.training.view_bank import teacher_session

    with pytest.raises(SystemExit, match="--teacher-model nope: unknown model 'nope'$"):
        teacher_session("nope", 1)


def _with_batch_norm_statistics(net, seed=0):
    """Random batch-norm statistics and affine terms, so that folding them changes every channel's scale."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return net.eval()


def test_four_bit_scales_follow_a_channel_scaled_by_a_folded_batch_norm():
    from ferdesk.training.weight_quant import quantize

    w = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    factor = torch.rand(8, generator=torch.Generator().manual_seed(1)) * 3 + 0.1
    q, scale = quantize(w)
    q_folded, scale_folded = quantize(w * factor[:, None, None, None])
    assert q.dtype == torch.int8 and int(q.abs().max()) == 7 and int(q.min()) >= -7
    torch.testing.assert_close(q_folded, q, rtol=0, atol=0)
    torch.testing.assert_close(scale_folded, scale * factor)
    # the clip is chosen per channel: a channel with one outlier gets a scale below max|w| / 7
    w[0, 0, 0, 0] = 20.0
    _, scale = quantize(w)
    assert float(scale[0]) < 20.0 / 7


def test_a_network_trained_against_four_bit_weights_keeps_its_outputs_in_the_int4_file(tmp_path):
    from ferdesk.training.compress import make_int4
    from ferdesk.training.weight_quant import attach, bake

    torch.manual_seed(0)
    net = _with_batch_norm_statistics(build("fernet-t"))
    fp32_before = tmp_path / "before.onnx"
    export_onnx(WithSoftmax([net], flip=True).eval(), fp32_before)
    bake(attach(net))
    assert not any("parametrizations" in k for k in net.state_dict())
    fp32, int4 = tmp_path / "net.onnx", tmp_path / "net-int4.onnx"
    export_onnx(WithSoftmax([net], flip=True).eval(), fp32)
    make_int4(fp32, int4)
    make_int4(fp32_before, tmp_path / "before-int4.onnx")

    model = onnx.load(str(int4))
    onnx.checker.check_model(model)
    assert sum(t.data_type == onnx.TensorProto.INT4 for t in model.graph.initializer) == 11  # 10 convolutions + output layer
    assert [o.name for o in model.graph.output] == ["probabilities", "features"]
    assert int4.stat().st_size < 0.6 * fp32.stat().st_size / 4 + 8192  # half a byte a weight, plus scales and graph

    x = np.random.default_rng(1).random((5, 1, 48, 48), dtype=np.float32)
    (p_fp32, f_fp32), (p_int4, f_int4) = _run(fp32, x), _run(int4, x)
    np.testing.assert_allclose(p_int4, p_fp32, atol=2e-5)
    np.testing.assert_allclose(f_int4, f_fp32, rtol=1e-4, atol=1e-4)
    # the same export from the weights before training against the rule does change the outputs
    (p_before, _), (p_before_int4, _) = _run(fp32_before, x), _run(tmp_path / "before-int4.onnx", x)
    assert np.abs(p_before_int4 - p_before).max() > 1e-3


def test_training_against_four_bit_weights_saves_a_plain_state_dict_and_names_the_flag(tmp_path):
    from ferdesk.training.train_classifier import main
    from ferdesk.training.weight_quant import quantize

    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1", "--four-bit-weights",
          "--data", str(data), "--out", str(out)])
    state = torch.load(out / "model.pt")
    assert "features.0.0.weight" in state and not any("parametrizations" in k for k in state)
    w = state["features.0.0.weight"]
    q, scale = quantize(w)
    torch.testing.assert_close(q.float() * scale[:, None, None, None], w)
    assert "--four-bit-weights" in (out / "summary.txt").read_text()
    # the per-epoch checkpoint of a run that dies before the end loads the same way, with the same values
    last = torch.load(out / "last.pt")
    assert last.keys() == state.keys()
    torch.testing.assert_close(last["features.0.0.weight"], w)


def test_the_onnx_runtime_engine_runs_an_int4_file_with_its_weights_folded_once(tmp_path):
    from ferdesk.engines.onnxruntime_engine import OnnxRuntimeEngine
    from ferdesk.training.compress import make_int4

    torch.manual_seed(0)
    fp32, int4 = tmp_path / "net.onnx", tmp_path / "net-int4.onnx"
    export_onnx(WithSoftmax([_with_batch_norm_statistics(build("fernet-t"))]).eval(), fp32)
    make_int4(fp32, int4)
    x = np.random.default_rng(2).random((3, 1, 48, 48), dtype=np.float32)
    engine = OnnxRuntimeEngine(int4, threads=1, precision="int4")
    assert engine.precision == "int4"
    np.testing.assert_allclose(engine.run(x)[0], _run(int4, x)[0], atol=1e-6)


def test_a_cropped_network_reads_only_the_centre_of_its_48x48_input_in_every_file_and_takes_the_full_ones_weights(tmp_path):
    from ferdesk.training.nets import ARCHITECTURES, FerNet, load

    full = _trained_looking("fernet-sm", 0)
    cropped = build("fernet-sm-c40")
    cropped.load_state_dict(full.state_dict())  # same weights: --init from the uncropped network
    cropped.eval()
    x = torch.rand(6, 1, 48, 48, generator=torch.Generator().manual_seed(3))
    border = x.clone()
    border[..., :4, :], border[..., -4:, :], border[..., :, :4], border[..., :, -4:] = 0, 1, 0, 1
    centre = x.clone()
    centre[..., 20:28, 20:28] = 1 - centre[..., 20:28, 20:28]
    with torch.no_grad():
        np.testing.assert_array_equal(cropped(border).numpy(), cropped(x).numpy())
        assert not np.allclose(cropped(centre).numpy(), cropped(x).numpy(), atol=1e-3)
        assert not np.allclose(full(border).numpy(), full(x).numpy(), atol=1e-3)
        np.testing.assert_allclose(cropped(x).numpy(), full(x[..., 4:44, 4:44]).numpy(), atol=1e-5)

    fp32, int8 = tmp_path / "c40.onnx", tmp_path / "c40-int8.onnx"
    export_onnx(WithSoftmax([cropped]).eval(), fp32)
    images = np.random.default_rng(0).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    make_int8(fp32, int8, InputSpec.from_dict(INPUT_SPEC), images)
    for path in (fp32, int8):
        shape = [d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[1:]]
        assert shape == [1, 48, 48]  # the catalog's input spec is unchanged
        a, b = _run(path, x.numpy())[0], _run(path, border.numpy())[0]
        np.testing.assert_allclose(a, b, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(load("fernet-sm-c40", fp32)(x).numpy(), cropped(x).numpy(), atol=1e-4)

    macs = {}
    for arch in ("fernet-sm", "fernet-sm-c40"):
        net, count = build(arch).eval(), [0]
        hooks = [m.register_forward_hook(lambda m, i, o: count.__setitem__(0, count[0] + o.numel() * m.weight[0].numel()))
                 for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        net(torch.zeros(1, 1, 48, 48))
        macs[arch] = count[0]
        for h in hooks:
            h.remove()
    assert macs["fernet-sm-c40"] / macs["fernet-sm"] == pytest.approx((40 / 48) ** 2, rel=0.01)
    assert ARCHITECTURES["fernet-sm-c40"]["widths"] == ARCHITECTURES["fernet-sm"]["widths"]
    with pytest.raises(ValueError, match="crop 42"):
        FerNet(crop=42)


def test_widening_the_one_channel_first_convolution_to_four_channels_changes_no_output(tmp_path):
    tool = _experiment_script("int8_formats")
    torch.manual_seed(0)
    src = tmp_path / "pair.onnx"
    export_onnx(WithSoftmax([build("fernet-t").eval(), build("fernet-t").eval()]).eval(), src)
    model = onnx.load(str(src))
    firsts = tool.single_channel_convs(model)
    assert len(firsts) == 2  # one per member
    inputs = {n.input[0] for n in model.graph.node if n.name in firsts}
    wide = tmp_path / "wide.onnx"
    onnx.save(tool.widen_single_channel_convs(model), str(wide))
    widened = onnx.load(str(wide))
    assert tool.single_channel_convs(widened) == []
    assert sum(n.op_type == "Pad" for n in widened.graph.node) == len(inputs)  # one Pad per distinct input
    x = np.random.default_rng(0).random((3, 1, 48, 48), dtype=np.float32)
    for a, b in zip(_run(src, x), _run(wide, x)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    images = np.random.default_rng(1).integers(0, 256, (32, 48, 48), dtype=np.uint8)
    make_int8(wide, tmp_path / "wide-int8.onnx", InputSpec.from_dict(INPUT_SPEC), images)
    make_int8(src, tmp_path / "int8.onnx", InputSpec.from_dict(INPUT_SPEC), images)
    p_wide, p = _run(tmp_path / "wide-int8.onnx", x)[0], _run(tmp_path / "int8.onnx", x)[0]
    assert np.abs(p_wide - p).max() < 0.05  # same network; only rounding differs between the two INT8 files


def test_camera_effects_change_only_the_chosen_faces_and_stay_in_range():
    from ferdesk.training.augment import augment, camera

    x = torch.rand(64, 1, 48, 48)
    assert torch.equal(camera(x, torch.Generator().manual_seed(0), p=0.0), x)
    y = camera(x, torch.Generator().manual_seed(0), p=0.5)
    changed = (y - x).abs().flatten(1).amax(1) > 0
    assert 16 < int(changed.sum()) < 48 and y.min() >= 0 and y.max() <= 1
    assert torch.equal(y, camera(x, torch.Generator().manual_seed(0), p=0.5))      # seeded: the same batch
    # a flat grey face stays nearly flat: the effects blur, rescale and shift levels, they do not draw
    flat = torch.full((8, 1, 48, 48), 0.5)
    assert camera(flat, torch.Generator().manual_seed(1), p=1.0).std(dim=(1, 2, 3)).max() < 0.05
    assert augment(x, torch.Generator().manual_seed(0), camera_p=0.5).shape == x.shape


def test_extra_faces_join_every_epoch_and_the_command_says_so(tmp_path, capsys):
    from ferdesk.training.train_classifier import main

    data, out = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    _write_split(data / "fer2013_training.npz", 64, 0)
    _write_split(tmp_path / "photos.npz", 16, 2)
    main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1", "--data", str(data),
          "--extra", str(tmp_path / "photos.npz"), "--extra-repeat", "2", "--camera-aug", "0.5", "--out", str(out)])
    assert "photos.npz: 16 faces x 2" in capsys.readouterr().out
    main(["--arch", "fernet-t", "--epochs", "1", "--batch", "32", "--threads", "1", "--data", str(data),
          "--extra", str(tmp_path / "photos.npz"), "--extra-per-class", "1", "--out", str(tmp_path / "capped")])
    labels = np.load(tmp_path / "photos.npz")["labels"]
    assert f"photos.npz: {len(set(labels.tolist()))} faces x 1" in capsys.readouterr().out   # one face of each class present
    command = (out / "summary.txt").read_text().split("command: ")[1]
    assert f"--extra {tmp_path / 'photos.npz'} --extra-repeat 2 --camera-aug 0.5" in command


def test_a_catalog_models_probabilities_soften_into_distillation_targets():
    from ferdesk.catalog import Catalog
    from ferdesk.classifier import Classifier
    from ferdesk.training.train_classifier import catalog_teacher_targets

    name = Catalog.load().default("classifier").name
    faces = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (6, 1, 48, 48)).astype(np.float32) / 255)
    soft = catalog_teacher_targets(name, faces, temperature=3.0, threads=1)
    probs = Classifier(Catalog.load().get(name), threads=1).classify((faces[:, 0] * 255).round().to(torch.uint8).numpy())
    assert soft.shape == (6, 7) and torch.allclose(soft.sum(1), torch.ones(6))
    assert (soft.argmax(1).numpy() == probs.argmax(1)).all()
    assert (soft.max(1).values.numpy() <= probs.max(1) + 1e-6).all()      # softened: no sharper than the model


def _crops(path, alignment=None):
    data = {"images": np.zeros((2, 48, 48), np.uint8), "labels": np.array([0, 3], np.uint8)}
    if alignment:
        data["alignment"] = np.array(alignment)
    np.savez_compressed(path, **data)
    return path


def test_training_reads_the_crop_of_the_extra_faces_and_refuses_two(tmp_path):
    from ferdesk.training.train_classifier import extra_alignment

    box, marks, old = _crops(tmp_path / "b.npz", "box"), _crops(tmp_path / "l.npz", "landmarks"), _crops(tmp_path / "o.npz")
    assert extra_alignment([marks, old]) == "landmarks"
    assert extra_alignment([old]) is None and extra_alignment([]) is None
    with pytest.raises(SystemExit, match="different crops"):
        extra_alignment([box, marks])


def _empty_zoo_and_weights(tmp_path, monkeypatch):
    """An empty zoo catalog the training tools write to (FERDESK_ZOO) and random fernet-t weights in tmp_path/model.pt."""
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "catalog.json").write_text(json.dumps({"schema_version": 1, "models": []}))
    monkeypatch.setenv("FERDESK_ZOO", str(zoo))
    torch.manual_seed(0)
    torch.save(build("fernet-t").state_dict(), tmp_path / "model.pt")
    return zoo


@pytest.mark.parametrize("alignment", ["box", "landmarks"])
def test_export_declares_the_crop_the_network_was_trained_on(tmp_path, monkeypatch, alignment):
    from ferdesk.training import export

    zoo = _empty_zoo_and_weights(tmp_path, monkeypatch)
    export.main(["--arch", "fernet-t", "--weights", str(tmp_path / "model.pt"), "--name", "t-crop", "--no-tflite",
                 "--crop-alignment", alignment])
    entry = json.loads((zoo / "catalog.json").read_text())["models"][0]
    assert entry.get("crop_alignment", "box") == alignment
    assert entry["crop"] == export.CROP_TEXT[alignment]
    assert ("--crop-alignment landmarks" in entry["provenance"]) == (alignment == "landmarks")
    assert (zoo / "t-crop" / "t-crop.onnx").is_file()


def test_export_names_the_extra_sets_of_its_training_summary(tmp_path, monkeypatch):
    """A network trained with --extra crops (CK+, real photographs) gets an entry whose dataset and licence name
    them: the terms of those sets travel with the weights, read from the summary export is given."""
    from ferdesk.training import export
    from ferdesk.training.extra_sets import extras_in_summary

    zoo = _empty_zoo_and_weights(tmp_path, monkeypatch)
    summary = tmp_path / "summary.txt"
    summary.write_text("arch=fernet-t params=1 epochs=1\ncommand: python -m ferdesk.training.train_classifier --arch fernet-t "
                       "--extra build/realfaces-lfw-tune.npz --extra=build/ckplus-tune.npz --extra-repeat 3 --out x\n")
    assert extras_in_summary(summary.read_text())[1] == 3
    export.main(["--arch", "fernet-t", "--weights", str(tmp_path / "model.pt"), "--name", "t-extra", "--no-tflite",
                 "--summary", str(summary)])
    export.main(["--arch", "fernet-t", "--weights", str(tmp_path / "model.pt"), "--name", "t-plain", "--no-tflite"])
    entries = {m["name"]: m for m in json.loads((zoo / "catalog.json").read_text())["models"]}
    extra, plain = entries["t-extra"], entries["t-plain"]
    assert "CK+" in extra["license"] and "LFW" in extra["license"]
    assert "ckplus-tune.npz" in extra["dataset"] and "realfaces-lfw-tune.npz" in extra["dataset"] and "3 times" in extra["dataset"]
    assert "CK+" not in plain["license"] and plain["dataset"] == "FER2013 Training (28,709 faces, 7 classes)"
    assert (zoo / "t-extra" / "training_summary.txt").is_file()
