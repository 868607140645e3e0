"""Build the recognition stack (detector + classifier + pipeline) from names, as the CLI and the app do."""
from __future__ import annotations

from dataclasses import dataclass

from ferdesk.catalog import Catalog
from ferdesk.classifier import Classifier
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector
from ferdesk.errors import ModelError
from ferdesk.pipeline import Pipeline
from ferdesk.prior import TRAINED, prior_weights
from ferdesk.temporal import make_temporal


@dataclass
class Stack:
    catalog: Catalog
    pipeline: Pipeline
    prior: str = TRAINED     # the class prior's name (ferdesk.prior)

    @property
    def model(self) -> str:
        return self.pipeline.classifier.spec.name

    @property
    def backend(self) -> str:
        return self.pipeline.classifier.backend

    @property
    def detector(self) -> str:
        return self.pipeline.detector.name

    @property
    def temporal(self) -> str:
        return self.pipeline.temporal.name

    @property
    def compare(self) -> str | None:
        """The comparison classifier's name, or None."""
        return self.pipeline.compare.spec.name if self.pipeline.compare is not None else None

    @property
    def head_pose(self) -> bool:
        return self.pipeline.head_pose is not None

    @property
    def compare_backend(self) -> str | None:
        return self.pipeline.compare.backend if self.pipeline.compare is not None else None


def build_stack(model: str | None = None, backend: str | None = None, detector: str | None = None,
                threads: int = 2, align: bool = True, catalog: Catalog | None = None, temporal: str | None = None,
                prior: str | None = None, compare: str | None = None, compare_backend: str | None = None,
                head_pose: bool = False) -> Stack:
    """``prior``: the class prior (``ferdesk.prior``: trained, uniform or LABEL=SHARE,...); default trained.
    ``compare``: a second classifier (any model, on ``compare_backend``) run on the same faces.
    ``head_pose``: estimate each face's head pose and eye openness (``ferdesk.head_pose``)."""
    catalog = catalog or Catalog.load()
    spec = catalog.get(model) if model else catalog.default("classifier")
    weights = prior_weights(prior, spec.labels, spec)    # a bad prior fails before any model loads
    other = catalog.get(compare) if compare else None
    if other is not None and tuple(other.labels) != tuple(spec.labels):
        raise ModelError(f"model {other.name} cannot be compared with {spec.name}: their classes differ "
                         f"({', '.join(other.labels)} against {', '.join(spec.labels)})")
    other_weights = prior_weights(prior, other.labels, other) if other is not None else None
    classifier = Classifier(spec, backend=backend, threads=threads)
    second = Classifier(other, backend=compare_backend, threads=threads) if other is not None else None
    det = load_detector(detector or DEFAULT_DETECTOR, catalog, threads=threads)
    head = make_temporal(temporal, catalog, classifier)
    pose = None
    if head_pose:
        from ferdesk.head_pose import HeadPoseEstimator

        landmarks = catalog.by_task("landmarks")
        if not landmarks:
            raise ModelError("head pose needs the face-landmark model, and the catalog has no model of task landmarks")
        pose = HeadPoseEstimator(landmarks[0], threads=threads)
    pipeline = Pipeline(det, classifier, align=align, temporal=head, prior_weights=weights, compare=second,
                        compare_prior_weights=other_weights, head_pose=pose)
    return Stack(catalog, pipeline, prior if weights is not None else TRAINED)
