"""CK+ cross-validation script (training extra): folds are subject-independent, and one run on a
small synthetic CK+-shaped file prints the three-row table."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the CK+ benchmark needs the training extra (torch)")
from ferdesk.training import ckplus  # noqa: E402
from ferdesk.training.nets import build  # noqa: E402


def test_folds_never_share_a_subject_and_cover_every_sequence():
    subjects = np.array([f"S{i % 13:03d}" for i in range(80)])
    folds = ckplus.subject_folds(subjects, 5, seed=0)
    assert np.sum(folds, axis=0).tolist() == [1] * 80            # each sequence tested exactly once
    for a in range(5):
        for b in range(a + 1, 5):
            assert not set(subjects[folds[a]]) & set(subjects[folds[b]])


def test_augmented_views_move_each_frame_and_keep_shape():
    frames = np.random.default_rng(0).integers(0, 256, (4, 3, 48, 48), dtype=np.uint8)
    views = ckplus.augmented_views(frames, 2, seed=0)
    assert views.shape == (8, 3, 48, 48) and views.dtype == np.uint8
    assert not np.array_equal(views[:4], frames) and not np.array_equal(views[:4], views[4:])
    assert ckplus.augmented_views(frames, 0, seed=0).shape == (0, 3, 48, 48)


def synthetic_ckplus(path, n_subjects=6, per_subject=2, seed=0):
    """Sequences whose three frames carry a class-dependent bright square: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    images, labels, subjects, names, frames = [], [], [], [], []
    for s in range(n_subjects):
        for q in range(per_subject):
            label = (s * per_subject + q) % 3
            for f in range(3):
                img = rng.integers(0, 60, (48, 48)).astype(np.uint8)
                img[8 + 10 * label: 18 + 10 * label, 10:38] = 200 + 15 * f
                images.append(img)
                labels.append(label)
                subjects.append(f"S{s:03d}")
                names.append(f"S{s:03d}_{q:03d}")
                frames.append(f + 1)
    np.savez(path, images=np.stack(images), labels=np.array(labels), subjects=np.array(subjects),
             sequences=np.array(names), frames=np.array(frames), classes=np.array(["a", "b", "c"]))


def test_one_run_prints_the_three_row_table(tmp_path, capsys):
    synthetic_ckplus(tmp_path / "ck.npz")
    weights = tmp_path / "fernet-s.pt"
    torch.manual_seed(0)
    torch.save(build("fernet-s").state_dict(), weights)
    ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(weights), "--folds", "2",
                 "--finetune-epochs", "1", "--views", "1", "--flip-test", "--head-steps", "20", "--threads", "1"])
    out = capsys.readouterr().out
    assert "2 subject-independent folds" in out and "1 augmented views" in out and "mirror images" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "%" in line]
    assert [r.split(" | ")[0] for r in rows] == ["| frame-only CNN (apex frame)", "| dense LSTM (feature maps, 3 frames)",
                                                 "| TT-LSTM (feature maps, 3 frames)"]
    assert "835x smaller" in out
    assert "wrong, TT-LSTM: " in out


def test_an_ensemble_run_reports_each_member_and_the_averaged_rows(tmp_path, capsys):
    synthetic_ckplus(tmp_path / "ck.npz")
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(tmp_path / f"fernet-s-{seed}.pt")
        torch.save(build("fernet-s").state_dict(), paths[-1])
    ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(paths[0]), "--weights", str(paths[1]),
                 "--folds", "2", "--finetune-epochs", "1", "--head-steps", "10", "--threads", "1",
                 "--save-probs", str(tmp_path / "probs.npz")])
    out = capsys.readouterr().out
    assert "ensemble of 2 CNNs" in out and "single members" in out
    saved = np.load(tmp_path / "probs.npz")
    assert saved["probs"].shape == (2, 3, len(saved["labels"]), len(saved["classes"]))
    np.testing.assert_allclose(saved["probs"].sum(-1), 1, atol=1e-4)  # every member, row and sequence was scored
    # the saved probabilities give the printed fold accuracies of the averaged rows
    hits = saved["probs"].mean(0).argmax(-1) == saved["labels"]
    for r, row in enumerate(saved["rows"]):
        folds = [hits[r][saved["fold"] == k].mean() for k in range(2)]
        assert f"{str(row).split(' (')[0]} {folds[1]:.2%}" in out
    assert str(paths[0]) in out and str(paths[1]) in out
    assert "(each of 2 members)" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "%" in line]
    assert len(rows) == 3


def test_another_architecture_gets_heads_sized_to_its_feature_maps(tmp_path, capsys, monkeypatch):
    import json

    from ferdesk.training import catalogs

    synthetic_ckplus(tmp_path / "ck.npz")
    weights = tmp_path / "fernet-t.pt"
    torch.manual_seed(0)
    torch.save(build("fernet-t").state_dict(), weights)
    # --write-catalog stores the table in a temporary copy of the catalog, not the repository's
    real_store = catalogs.CatalogStore
    monkeypatch.setattr(catalogs, "CatalogStore",
                        lambda: real_store(tmp_path / "catalog.json", tmp_path / "zoo" / "catalog.json"))
    (tmp_path / "catalog.json").write_text(json.dumps({"models": [{"name": "tt-lstm-x", "metrics": {}}]}))
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "catalog.json").write_text(json.dumps({"models": []}))
    ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", f"fernet-t={weights}", "--folds", "2",
                 "--finetune-epochs", "1", "--head-steps", "5", "--threads", "1", "--init-head", "fer",
                 "--write-catalog", "tt-lstm-x", "--log", str(tmp_path / "run.log")])
    out = capsys.readouterr().out
    # the log holds what the console got, and the entry names it and reruns into it
    assert (tmp_path / "run.log").read_text() == out and "| TT-LSTM" in out
    assert "2,304 inputs, modes 6x6x8x8" in out   # fernet-t: 64 channels x 6 x 6
    assert "started from the FER2013 rows" in out
    stored = json.loads((tmp_path / "catalog.json").read_text())["models"][0]["metrics"]["ckplus"]
    # the stored protocol names the CNN, the folds' seed and the heads' shape; the command reruns it
    assert f"CNN (fernet-t={weights})" in stored["protocol"] and "(seed 0)" in stored["protocol"]
    assert "64x6x6 feature maps (hidden 128, TT modes 6x6x8x8 -> 4x4x4x2, ranks 4x4x4)" in stored["protocol"]
    assert stored["command"].startswith(f"python -m ferdesk.training.ckplus --weights fernet-t={weights} --folds 2 --seed 0")
    assert stored["log"] == (tmp_path / "run.log").as_posix() and stored["command"].endswith(f"--log {stored['log']}")
    assert "--init-head fer" in stored["command"] and stored["compression"] == round(stored["dense_lstm_cell_params"]
                                                                                      / stored["tt_lstm_cell_params"], 1)
    assert 0 <= stored["TT-LSTM (feature maps, 3 frames)"]["mean_accuracy"] <= 1


def test_an_unwritable_log_is_a_one_line_error(tmp_path):
    synthetic_ckplus(tmp_path / "ck.npz")
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    with pytest.raises(SystemExit, match="ckplus: cannot write the log .*no-such-dir"):
        ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(weights),
                     "--log", str(tmp_path / "no-such-dir" / "run.log")])


def test_bad_weights_or_data_leave_an_existing_log_untouched(tmp_path):
    # a mistyped --weights used to empty the previous run's log before the run found the mistake
    synthetic_ckplus(tmp_path / "ck.npz")
    log = tmp_path / "run.log"
    log.write_text("the previous run's folds\n")
    for args, reason in [(["--weights", str(tmp_path / "missing.pt")], "ckplus: no weights file .*missing.pt"),
                         (["--weights", f"fernet-s={tmp_path / 'missing.onnx'}#1"], "ckplus: no weights file .*missing.onnx "),
                         (["--weights", "nosuch=w.pt"], "ckplus: 'nosuch=w.pt'")]:
        with pytest.raises(SystemExit, match=reason):
            ckplus.main(["--data", str(tmp_path / "ck.npz"), *args, "--log", str(log)])
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    with pytest.raises(SystemExit, match="ckplus: no CK\\+ file .*nothing.npz"):
        ckplus.main(["--data", str(tmp_path / "nothing.npz"), "--weights", str(weights), "--log", str(log)])
    assert log.read_text() == "the previous run's folds\n"


def test_an_unknown_architecture_is_a_one_line_error(tmp_path):
    synthetic_ckplus(tmp_path / "ck.npz")
    with pytest.raises(SystemExit, match="ckplus: 'nosuch=w.pt'"):
        ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", "nosuch=w.pt"])


def test_the_fer_head_init_copies_the_matching_expression_rows():
    fer = torch.nn.Linear(4, 7)
    layer = ckplus.ck_output_layer(fer, ["anger", "contempt", "sadness", "other"], "fer")
    assert torch.equal(layer.weight[0], fer.weight[0])            # anger <- angry
    assert torch.equal(layer.weight[1], fer.weight[6])            # contempt <- neutral
    assert torch.equal(layer.bias[2], fer.bias[4])                # sadness <- sad
    assert not torch.equal(layer.weight[3], fer.weight[0])        # no match: left random
    fresh = ckplus.ck_output_layer(fer, ["anger"], "random")
    assert not torch.equal(fresh.weight[0], fer.weight[0])


def test_rehearsing_fer2013_while_fine_tuning_runs_and_says_so(tmp_path, capsys):
    synthetic_ckplus(tmp_path / "ck.npz")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "fer2013_training.npz", images=rng.integers(0, 255, (40, 48, 48), dtype=np.uint8),
             labels=rng.integers(0, 7, 40).astype(np.uint8))
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(weights), "--folds", "2",
                 "--finetune-epochs", "1", "--head-steps", "5", "--threads", "1", "--rehearse-fer", "--balance"])
    out = capsys.readouterr().out
    assert "FER2013 Training faces rehearsed" in out and "inverse class frequency" in out


def test_rehearsing_without_fer2013_beside_the_ck_file_is_a_one_line_error(tmp_path):
    synthetic_ckplus(tmp_path / "ck.npz")
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    with pytest.raises(SystemExit, match="--rehearse-fer needs .*fer2013_training.npz"):
        ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(weights), "--rehearse-fer"])


def test_inverse_frequency_weights_the_rare_classes_up():
    w = ckplus.inverse_frequency(np.array([0, 0, 0, 1, 2, 2]), 4)
    assert w[1] > w[2] > w[0]
    assert torch.isclose(w[0], torch.tensor(6 / (4 * 3)))
    assert torch.allclose(ckplus.inverse_frequency(np.array([0, 1, 2]), 3), torch.ones(3))


def test_the_tt_lstm_trains_end_to_end_with_the_cnn_when_asked(tmp_path, capsys, monkeypatch):
    synthetic_ckplus(tmp_path / "ck.npz")
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    fitted = []
    real_fit = ckplus.fit
    monkeypatch.setattr(ckplus, "fit", lambda model, *args, **kw: fitted.append(type(model.cell).__name__) or real_fit(model, *args, **kw))
    ckplus.main(["--data", str(tmp_path / "ck.npz"), "--weights", str(weights), "--folds", "2",
                 "--finetune-epochs", "1", "--head-steps", "5", "--threads", "1", "--joint"])
    out = capsys.readouterr().out
    assert "the TT-LSTM trained end to end with it" in out
    assert fitted == ["DenseLSTMCell", "DenseLSTMCell"]  # only the dense LSTM is fitted afterwards, once per fold
    assert len([line for line in out.splitlines() if line.startswith("| ") and "%" in line]) == 3


def test_a_sequence_head_trained_with_the_cnn_changes_and_the_cnn_still_classifies_frames(tmp_path):
    weights = tmp_path / "fernet-s.pt"
    torch.save(build("fernet-s").state_dict(), weights)
    frames = np.random.default_rng(0).integers(0, 255, (8, 3, 48, 48), dtype=np.uint8)
    labels = np.array([0, 1] * 4)
    torch.manual_seed(0)
    head = ckplus.LSTMHead(ckplus.TTLSTMCell([8, 8, 8, 9], [4, 4, 4, 2], [2, 2, 2]), 128, 2)
    before = [p.detach().clone() for p in head.parameters()]
    net = ckplus.finetune(str(weights), frames, labels, ["a", "b"], epochs=1, seed=0, batch=12, sequence_head=head)
    assert any(not torch.equal(b, p) for b, p in zip(before, head.parameters()))
    assert not head.training and not net.training
    _, maps, logits = ckplus.features(net, frames)
    assert logits.shape == (8, 3, 2) and head(maps).shape == (8, 2)


def test_joint_training_needs_fine_tuning(tmp_path):
    synthetic_ckplus(tmp_path / "ck.npz")
    with pytest.raises(SystemExit, match="--joint .* needs --finetune-epochs > 0"):
        ckplus.main(["--data", str(tmp_path / "ck.npz"), "--joint", "--finetune-epochs", "0"])


def test_member_ensembles_are_scored_from_saved_probabilities(tmp_path, capsys):
    from ferdesk.training import ckplus_members

    labels = np.array([0, 1, 0, 1])
    fold = np.array([0, 0, 1, 1])
    probs = np.zeros((2, 1, 4, 2), dtype=np.float32)
    probs[0, 0] = [[0.9, 0.1], [0.6, 0.4], [0.9, 0.1], [0.1, 0.9]]   # member 0: one sequence wrong (fold 0)
    probs[1, 0] = [[0.9, 0.1], [0.1, 0.9], [0.4, 0.6], [0.1, 0.9]]   # member 1: one sequence wrong (fold 1)
    np.savez(tmp_path / "p.npz", probs=probs, rows=np.array(["TT-LSTM (x)"]), members=np.array(["a.pt", "b.pt"]),
             labels=labels, fold=fold)
    ckplus_members.main([str(tmp_path / "p.npz")])
    out = capsys.readouterr().out
    assert "| 0 | 75.00% |" in out           # member 0 alone: folds 50% and 100%
    assert "| 0,1 | 100.00% |" in out        # averaged: every sequence right
    ckplus_members.main([str(tmp_path / "p.npz"), "--members", "1"])
    assert "| 1 | 75.00% |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="members 0 to 1"):
        ckplus_members.main([str(tmp_path / "p.npz"), "--members", "2"])
    # a second run over the same folds joins as further members
    ckplus_members.main([str(tmp_path / "p.npz"), str(tmp_path / "p.npz")])
    assert "member 3: b.pt" in capsys.readouterr().out
    np.savez(tmp_path / "other.npz", probs=probs, rows=np.array(["TT-LSTM (x)"]), members=np.array(["a.pt", "b.pt"]),
             labels=labels, fold=np.array([0, 1, 0, 1]))
    with pytest.raises(SystemExit, match="not a run over the same sequences, folds and rows"):
        ckplus_members.main([str(tmp_path / "p.npz"), str(tmp_path / "other.npz")])
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(SystemExit, match="not a ckplus --save-probs file"):
        ckplus_members.main([str(tmp_path / "bad.npz")])


def test_the_log_holds_each_finished_line_before_the_run_ends(tmp_path):
    import io

    console = io.StringIO()
    with (tmp_path / "run.log").open("w", encoding="utf-8") as log:
        tee = ckplus.Tee(console, log)
        tee.write("  fold 1: TT-LSTM 97.30%\n")
        tee.write("  fold 2: ")                      # an unfinished line may wait in the buffer
        assert (tmp_path / "run.log").read_text() == "  fold 1: TT-LSTM 97.30%\n"
    assert console.getvalue() == "  fold 1: TT-LSTM 97.30%\n  fold 2: "
