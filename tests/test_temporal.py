"""The learned temporal head: the bundled model in the live pipeline, and its training pieces."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from ferdesk.catalog import Catalog
from ferdesk.errors import ModelError
from ferdesk.temporal import EmaRestartTemporal, EmaTemporal, LearnedTemporal, compatible_classifiers, make_temporal

CATALOG = Catalog.load()


def bundled_head(**kw) -> LearnedTemporal:
    return LearnedTemporal(CATALOG.default("temporal"), **kw)


def test_catalog_entry_carries_what_outside_tools_read():
    spec = CATALOG.default("temporal")
    assert spec.get("params") < spec.get("dense_params")
    assert spec.get("window") >= 2 and spec.get("reads")["size"] > 0
    assert compatible_classifiers(CATALOG, spec), "some bundled classifier gives the features it reads"
    assert CATALOG.default("classifier").name in compatible_classifiers(CATALOG, spec)


def test_learned_head_keeps_a_window_per_track_and_forgets_lost_tracks():
    head = bundled_head(forget_after=2)
    rng = np.random.default_rng(0)
    n_classes = len(head.spec.labels)
    probs = np.full((2, n_classes), 1 / n_classes, np.float32)
    for _ in range(head.window + 3):
        out = head.update((1, 2), probs, rng.random((2, head.feature_size), dtype=np.float32))
        assert out.shape == (2, n_classes) and np.allclose(out.sum(1), 1, atol=1e-5)
    assert len(head._history[1]) == head.window                    # a sliding window, not the whole track
    head.update((1,), probs[:1], rng.random((1, head.feature_size), dtype=np.float32))
    assert 2 in head._history                                       # missed once: kept for a while
    for _ in range(3):
        head.update((1,), probs[:1], rng.random((1, head.feature_size), dtype=np.float32))
    assert 2 not in head._history                                   # gone too long: forgotten
    assert head.update((), probs[:0], None).shape == (0, n_classes)
    with pytest.raises(ModelError, match="needs"):
        head.update((1,), probs[:1], None)


def test_learned_head_depends_on_the_track_history():
    """The same current frame gives different outputs after different histories (it is not per frame)."""
    head = bundled_head()
    rng = np.random.default_rng(1)
    probs = np.full((2, 7), 1 / 7, np.float32)
    a, b = rng.random((2, head.feature_size), dtype=np.float32) * 2
    for _ in range(8):
        head.update((1, 2), probs, np.stack([a, b]))
    now = rng.random(head.feature_size, dtype=np.float32) * 2
    out = head.update((1, 2), probs, np.stack([now, now]))
    assert np.abs(out[0] - out[1]).max() > 1e-4


def test_a_different_face_under_the_same_id_restarts_the_window():
    rng = np.random.default_rng(0)
    n = bundled_head().feature_size
    a, b = np.zeros(n, np.float32), np.zeros(n, np.float32)
    a[: n // 2], b[n // 2:] = rng.random(n // 2) + 0.5, rng.random(n - n // 2) + 0.5   # cosine 0
    probs = np.full((1, 7), 1 / 7, np.float32)
    fresh = bundled_head().update((1,), probs, b[None])

    def after_switch(head):
        for _ in range(6):
            head.update((1,), probs, (a + rng.normal(0, 0.01, n).astype(np.float32))[None])
        return head.update((1,), probs, b[None])

    assert bundled_head().new_face_below == CATALOG.default("temporal").get("new_face_below") > 0
    np.testing.assert_allclose(after_switch(bundled_head(new_face_below=0.6)), fresh, atol=1e-6)
    assert np.abs(after_switch(bundled_head(new_face_below=None)) - fresh).max() > 1e-3
    # the same face with small changes keeps its window
    steady = bundled_head(new_face_below=0.6)
    for _ in range(6):
        steady.update((1,), probs, (a + rng.normal(0, 0.01, n).astype(np.float32))[None])
    assert len(steady._history[1]) == 6


def test_the_restarted_moving_average_restarts_where_the_learned_head_would_and_is_the_plain_one_elsewhere():
    rng = np.random.default_rng(0)
    spec = CATALOG.default("temporal")
    n = spec.get("reads")["size"]
    a, b = np.zeros(n, np.float32), np.zeros(n, np.float32)
    a[: n // 2], b[n // 2:] = rng.random(n // 2) + 0.5, rng.random(n - n // 2) + 0.5   # cosine 0
    frames = rng.dirichlet(np.ones(7), size=8).astype(np.float32)
    plain, restarted = EmaTemporal(), EmaRestartTemporal(spec.get("new_face_below"), int(spec.get("window")))
    for p in frames[:6]:                              # one face: the same as the plain average
        same_face = (a + rng.normal(0, 0.01, n).astype(np.float32))[None]
        np.testing.assert_allclose(restarted.update((3,), p[None], same_face), plain.update((3,), p[None], same_face))
    switched = restarted.update((3,), frames[6][None], b[None])
    np.testing.assert_allclose(switched, frames[6][None])          # another face: starts from its own frame
    assert np.abs(plain.update((3,), frames[6][None], b[None]) - frames[6]).max() > 1e-3
    # then it averages the new face's frames only
    np.testing.assert_allclose(restarted.update((3,), frames[7][None], b[None]), (0.4 * frames[7] + 0.6 * frames[6])[None], rtol=1e-6)
    # built for a classifier, it takes that classifier's head's threshold and window
    clf = SimpleNamespace(spec=CATALOG.default("classifier"), labels=CATALOG.default("classifier").labels)
    made = make_temporal("ema-restart", CATALOG, clf)
    head = LearnedTemporal.create(CATALOG, clf)
    assert isinstance(made, EmaRestartTemporal) and (made.new_face_below, made.window) == (head.new_face_below, head.window)
    with pytest.raises(ModelError, match="needs the classifier's features"):
        made.update((1,), frames[:1], None)


def test_a_classifier_without_the_features_is_refused_with_the_models_that_fit():
    spec = CATALOG.default("temporal")
    other = SimpleNamespace(spec=SimpleNamespace(name="other-net", get=lambda k, d=None: d), labels=spec.labels)
    with pytest.raises(ModelError, match="does not give; temporal models run with: .*fernet-s"):
        LearnedTemporal.create(CATALOG, other)


def test_each_classifier_gets_the_temporal_model_that_reads_its_features(tmp_path):
    doc = json.loads(CATALOG.path.read_text())
    head = next(m for m in doc["models"] if m["task"] == "temporal" and m.get("default"))
    other = json.loads(json.dumps(head)) | {"name": "head-for-other", "default": False}
    other["reads"] = dict(head["reads"], features="other-space")
    fits = compatible_classifiers(CATALOG, CATALOG.default("temporal"))
    clf = next(m for m in doc["models"] if m["name"] == fits[0])
    clf2 = json.loads(json.dumps(clf)) | {"name": "other-net"}
    clf2["features"] = dict(clf["features"], space="other-space")
    doc["models"] += [other, clf2]
    for m in doc["models"]:
        for f in m.get("files", []):
            f["path"] = str(CATALOG.path.parent / f["path"])
    (tmp_path / "catalog.json").write_text(json.dumps(doc))
    catalog = Catalog.load(tmp_path / "catalog.json")

    def as_classifier(name):
        spec = catalog.get(name)
        return SimpleNamespace(spec=spec, labels=spec.labels)

    assert LearnedTemporal.create(catalog, as_classifier(clf["name"])).model == head["name"]
    assert LearnedTemporal.create(catalog, as_classifier("other-net")).model == "head-for-other"


def test_run_with_the_learned_head(clip):
    from conftest import run_cli

    r = run_cli("run", "--source", str(clip), "--no-log", "--temporal", "on", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["temporal"] == "on" and out["latency_ms"]["temporal"]["p50"] > 0
    assert out["faces"] > 0


# -- training pieces (training extra) -------------------------------------------------------------
def test_synthetic_tracks_keep_labels_and_move_the_face():
    from ferdesk.training.sequences import TrackStyle, synthesise_track, synthesise_tracks

    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    still = synthesise_track(face, 4, rng, TrackStyle(noise=0, blur_prob=0), amount=0)
    assert (still == face).all()                                   # amount 0: the face itself
    moving = synthesise_track(face, 4, rng, amount=1.0)
    assert moving.shape == (4, 48, 48) and np.abs(moving[0].astype(int) - moving[1]).mean() > 2
    faces = rng.integers(0, 256, (40, 48, 48), dtype=np.uint8)
    labels = np.arange(40) % 7
    crops, per_frame = synthesise_tracks(faces, labels, 6, seed=3, splice=0.5)
    assert crops.shape == (40, 6, 48, 48) and per_frame.shape == (40, 6)
    assert (per_frame[:, 0] == labels).all()                        # every track starts with its own face
    changed = (per_frame != per_frame[:, :1]).any(1)
    assert 0 < changed.sum() < 40


def test_tracks_kept_at_a_frame_accuracy_keep_every_hard_track():
    pytest.importorskip("torch", reason="training extra")
    from ferdesk.training.train_temporal import tracks_at_frame_accuracy

    rng = np.random.default_rng(1)
    right = rng.random((1000, 16)) < rng.uniform(0.3, 1.0, (1000, 1))   # frame model right per frame
    keep = tracks_at_frame_accuracy(right, 0.6, seed=0)
    hard = right.mean(1) < 0.5
    assert keep[hard].all() and 0 < keep[~hard].sum() < (~hard).sum()
    assert 0.59 < right[keep].mean() <= 0.6 < right.mean()
    assert (tracks_at_frame_accuracy(right, 0.99, seed=0) == np.ones(1000, bool)).all()  # above it already: all kept


def test_a_scaled_track_style_disturbs_the_face_more():
    from ferdesk.training.sequences import TrackStyle, synthesise_tracks

    style = TrackStyle()
    assert style.scaled(1.0) == style
    strong = style.scaled(2.5)
    assert strong.max_amount == 2.5 * style.max_amount and strong.noise == 2.5 * style.noise
    assert strong.blur_prob == 0.75 and style.scaled(10).blur_prob == 1.0
    yy, xx = np.mgrid[:48, :48]
    faces = np.repeat((128 + 60 * np.sin(xx / 6.0) * np.cos(yy / 8.0)).astype(np.uint8)[None], 60, 0)  # smooth
    labels = np.zeros(60, np.int64)

    def change(st):  # mean grey-level change from the face, over every frame of every track
        crops, _ = synthesise_tracks(faces, labels, 4, seed=5, splice=0.0, style=st)
        return np.abs(crops.astype(int) - faces[:, None]).mean()

    assert change(strong) > 1.3 * change(style)


@pytest.mark.parametrize("n_feat", [128, 160])  # fernet-s and fernet-sm features
def test_window_head_ignores_padding_and_exports_its_cores(tmp_path, n_feat):
    torch = pytest.importorskip("torch", reason="training extra")
    ort = pytest.importorskip("onnxruntime")
    from ferdesk.training.train_temporal import WindowHead, export_onnx, make_cell

    torch.manual_seed(0)
    head = WindowHead(make_cell("tt", n_feat), torch.rand(n_feat), torch.rand(n_feat) + 0.5).eval()
    real = torch.rand(3, 5, n_feat)
    padded = torch.cat([torch.zeros(3, 11, n_feat), real], 1)
    with torch.no_grad():
        short = head(real)
        assert torch.allclose(head(padded), short, atol=1e-5)       # zero rows = the track had not begun
        assert not torch.allclose(head(real[:, 1:]), short, atol=1e-3)
    path = tmp_path / "head.onnx"
    export_onnx(head, 16, n_feat, path)
    got = ort.InferenceSession(str(path)).run(None, {"features": padded.numpy()})[0]
    assert np.allclose(got, short.numpy(), atol=1e-4)
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(path))
    scan = [n for n in model.graph.node if n.op_type == "Scan"]
    assert len(scan) == 1, "the recurrence is one Scan, not 16 unrolled copies of the step"
    body = next(a.g for a in scan[0].attribute if a.name == "body")
    stored = [int(np.prod(t.dims)) for g in (model.graph, body) for t in g.initializer]
    dense = sum(p.numel() for p in make_cell("dense", n_feat).parameters())
    assert sum(stored) < dense / 10 and max(stored) < n_feat * 64, "the file holds TT cores, not dense matrices"
    assert path.stat().st_size < 4 * sum(stored) + 8_000, "the file is about the size of its cores"


def test_new_face_threshold_is_a_low_quantile_of_within_track_similarity():
    pytest.importorskip("torch", reason="training extra")
    from ferdesk.training.train_temporal import new_face_threshold

    rng = np.random.default_rng(0)
    base = rng.random((200, 1, 32)) + 0.5
    steady = base + rng.normal(0, 0.02, (200, 16, 32))          # one face, small changes
    noisy = base + rng.normal(0, 0.6, (200, 16, 32))            # one face, large changes
    high, low = new_face_threshold(steady), new_face_threshold(noisy)
    assert 0.95 < high <= 1.0 and low < high


def test_input_modes_factor_the_feature_size_evenly():
    pytest.importorskip("torch", reason="training extra")
    from ferdesk.training.train_temporal import input_modes

    assert input_modes(128) == [4, 4, 8]          # the shipped heads' factorisation, unchanged
    assert input_modes(160) == [4, 5, 8]
    for n in (64, 96, 160, 192, 256):
        modes = input_modes(n)
        assert np.prod(modes) == n and modes == sorted(modes)


def test_even_modes_factor_into_any_number_of_modes():
    pytest.importorskip("torch", reason="training extra")
    from ferdesk.training.tt import even_modes

    assert even_modes(4608, 4) == [8, 8, 8, 9]     # fernet-s maps on CK+: the documented factorisation
    assert even_modes(9216, 4) == [8, 8, 12, 12]   # fernet-l
    assert even_modes(13, 2) == [1, 13]
    for n, k in ((2304, 4), (5760, 4), (512, 3)):
        modes = even_modes(n, k)
        assert np.prod(modes) == n and len(modes) == k and modes == sorted(modes)


def test_a_new_head_for_another_classifier_neither_takes_the_default_nor_borrows_a_ckplus_figure():
    from ferdesk.training.train_temporal import catalog_with_head

    def head(name, space, **kw):
        return {"name": name, "task": "temporal", "reads": {"features": space}, "metrics": {}, **kw}

    models = [{"name": "a-int8", "task": "classifier", "default": True, "features": {"space": "a"}},
              {"name": "b-int8", "task": "classifier", "features": {"space": "b"}},
              head("tt-a", "a", default=True, metrics={"ckplus": {"command": "ckplus --weights a"}})]
    after = catalog_with_head([dict(m) for m in models], head("tt-b", "b"), "b")
    new = next(m for m in after if m["name"] == "tt-b")
    assert "ckplus" not in new["metrics"] and not new.get("default")
    assert next(m for m in after if m["name"] == "tt-a").get("default")

    # a retrained head of the default classifier takes the default and keeps its own CK+ figure
    after = catalog_with_head([dict(m) for m in after], head("tt-a", "a"), "a")
    assert [m["name"] for m in after if m.get("default") and m["task"] == "temporal"] == ["tt-a"]
    assert next(m for m in after if m["name"] == "tt-a")["metrics"]["ckplus"]["command"] == "ckplus --weights a"
    # the first head of a catalog is the default whatever it reads
    first = catalog_with_head(models[:2], head("tt-b", "b"), "b")
    assert next(m for m in first if m["name"] == "tt-b").get("default")


def test_mean_prior_head_adds_the_window_mean_and_exports_with_a_probs_input(tmp_path):
    torch = pytest.importorskip("torch", reason="training extra")
    ort = pytest.importorskip("onnxruntime")
    from ferdesk.training.train_temporal import WindowHead, export_onnx, make_cell

    torch.manual_seed(0)
    n_feat = 160
    head = WindowHead(make_cell("tt", n_feat), torch.zeros(n_feat), torch.ones(n_feat), mean_prior=True).eval()
    with torch.no_grad():
        head.same_face_sharpness.fill_(40.0)            # trained heads learn theirs; this one tells faces apart sharply
    # two faces whose features do not overlap (cosine 0); each frame is its face plus a little noise
    face_a, face_b = torch.zeros(n_feat), torch.zeros(n_feat)
    face_a[:80], face_b[80:] = 1.0, 1.0
    real = torch.stack([face_a.expand(5, -1), face_b.expand(5, -1),
                        torch.cat([face_a.expand(3, -1), face_b.expand(2, -1)])]) + 0.05 * torch.rand(3, 5, n_feat)
    probs = torch.softmax(torch.randn(3, 5, 7) * 3, -1)
    padded = torch.cat([torch.zeros(3, 11, n_feat), real], 1)
    padded_probs = torch.cat([torch.full((3, 11, 7), 1 / 7), probs], 1)   # padding rows' probabilities are ignored
    with torch.no_grad():
        short = head(real, probs)
        assert torch.allclose(head(padded, padded_probs), short, atol=1e-5)
        mean_of_the_face_in_view = torch.stack([probs[0].mean(0), probs[1].mean(0), probs[2, 3:].mean(0)])
        assert torch.allclose(head.prior(real, probs).exp(), mean_of_the_face_in_view, atol=0.03)
        assert not torch.allclose(probs[2].mean(0), probs[2, 3:].mean(0), atol=0.1), "the test's switch matters"
        steps = head(real, probs, every_step=True)
        assert torch.allclose(steps[:, -1], short, atol=1e-5)        # the last step of a training pass = the live output
        assert torch.allclose(head.prior(real, probs, every_step=True)[:, 2].exp(), probs[:, :3].mean(1), atol=0.03)
        flipped = head(real, probs.flip(-1))
        assert not torch.allclose(flipped, short, atol=1e-2), "the output depends on the frames' probabilities"
    with pytest.raises(ValueError, match="probabilities"):
        head(real)
    path = tmp_path / "head.onnx"
    export_onnx(head, 16, n_feat, path)
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["features", "probs"]
    got = session.run(None, {"features": padded.numpy(), "probs": padded_probs.numpy()})[0]
    assert np.allclose(got, short.numpy(), atol=1e-4)


def test_the_live_head_feeds_a_probs_reading_model_each_tracks_window_of_probabilities(tmp_path):
    torch = pytest.importorskip("torch", reason="training extra")
    from ferdesk.catalog import file_digest
    from ferdesk.training.train_temporal import WindowHead, export_onnx, make_cell

    torch.manual_seed(0)
    n_feat, window = 160, 16
    head = WindowHead(make_cell("tt", n_feat), torch.rand(n_feat), torch.rand(n_feat) + 0.5, mean_prior=True).eval()
    path = tmp_path / "prior-head.onnx"
    export_onnx(head, window, n_feat, path)
    doc = json.loads(CATALOG.path.read_text())
    entry = next(m for m in doc["models"] if m["task"] == "temporal" and m.get("default"))
    entry = json.loads(json.dumps(entry)) | {"name": "prior-head", "window": window, "file": str(path)}
    entry["reads"] = dict(entry["reads"], size=n_feat, probs=True)
    entry["files"] = [{"format": "onnx", "path": str(path), "precision": "fp32", "size_bytes": path.stat().st_size,
                       "sha256": file_digest(path)}]
    (tmp_path / "catalog.json").write_text(json.dumps({"models": [entry]}))
    spec = Catalog.load(tmp_path / "catalog.json").get("prior-head")
    live = LearnedTemporal(spec, new_face_below=None)
    rng = np.random.default_rng(0)
    feats = rng.random((2, 20, n_feat), dtype=np.float32)
    probs = rng.dirichlet(np.ones(7), (2, 20)).astype(np.float32)
    for t in range(20):
        out = live.update((1, 2), probs[:, t], feats[:, t])
        lo = max(0, t - window + 1)
        with torch.no_grad():
            want = torch.softmax(head(torch.from_numpy(feats[:, lo:t + 1]), torch.from_numpy(probs[:, lo:t + 1])), -1)
        np.testing.assert_allclose(out, want.numpy(), atol=1e-4)
    # the catalog entry and the file must agree on the inputs
    entry["reads"].pop("probs")
    (tmp_path / "catalog.json").write_text(json.dumps({"models": [entry]}))
    with pytest.raises(ModelError, match="inputs are"):
        LearnedTemporal(Catalog.load(tmp_path / "catalog.json").get("prior-head"))


def test_window_mean_predictions_average_each_frames_causal_window():
    from ferdesk.training.train_temporal import window_mean_predictions

    probs = np.zeros((1, 6, 2))
    probs[0, :, 0] = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1]
    probs[0, :, 1] = [0.0, 0.0, 0.0, 0.9, 0.9, 0.9]
    # window 2: frame 3 averages frames 2-3 (0.55 against 0.45), frame 4 frames 3-4 (0.1 against 0.9)
    assert window_mean_predictions(probs, 2).tolist() == [[0, 0, 0, 0, 1, 1]]
    assert window_mean_predictions(probs, 3).tolist() == [[0, 0, 0, 0, 1, 1]]
    assert window_mean_predictions(probs, 6).tolist() == [[0, 0, 0, 0, 0, 0]]     # 3.3 against 2.7 at frame 5
    assert window_mean_predictions(probs, 1).tolist() == [[0, 0, 0, 1, 1, 1]]     # frame by frame


def test_a_mean_prior_head_trains_and_beats_single_frames_on_noisy_tracks():
    torch = pytest.importorskip("torch", reason="training extra")
    from ferdesk.training.train_temporal import WindowHead, causal_predictions, make_cell, score, train_head

    F = torch.nn.functional
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    n_feat, window, n_classes = 16, 8, 7

    def tracks(n):
        labels = torch.randint(0, n_classes, (n,), generator=gen)
        faces = torch.rand(n, 1, n_feat, generator=gen) + 0.5                       # one look per track
        feats = faces + 0.1 * torch.rand(n, window, n_feat, generator=gen)
        logits = 2.0 * F.one_hot(labels, n_classes)[:, None].float() + 1.5 * torch.randn(n, window, n_classes, generator=gen)
        return feats, torch.softmax(logits, -1), labels

    feats, probs, labels = tracks(512)
    mean, std = feats.mean((0, 1)), feats.std((0, 1))
    head = train_head(WindowHead(make_cell("tt", n_feat), mean, std, mean_prior=True), feats, labels, epochs=4, seed=0,
                      batch=64, probs=probs)
    test_feats, test_probs, test_labels = tracks(256)
    per_frame = test_labels[:, None].expand(-1, window).numpy()
    frame_only = score(test_probs.argmax(-1).numpy(), per_frame)
    smoothed = score(causal_predictions(head, test_feats, window, test_probs), per_frame)
    assert smoothed["accuracy"] > frame_only["accuracy"] + 0.1
    assert smoothed["flicker"] < frame_only["flicker"] / 2


def test_head_licence_names_every_extra_set():
    """A head trained on --extra crops of CK+ and of realfaces names both sets' terms (train_temporal --extra is repeatable)."""
    from pathlib import Path

    from ferdesk.training.extra_sets import extra_source

    assert "CK+" in extra_source(Path("build/ckplus-tune.npz"))
    assert "LFW" in extra_source(Path("build/realfaces-lfw-tune.npz"))
    assert "mine.npz" in extra_source(Path("mine.npz"))
