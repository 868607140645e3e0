"""Build the recognition stack (detector + classifier + pipeline) from names, as the CLI and the app do."""
from __future__ import annotations

from dataclasses import dataclass

from ferdesk.catalog import Catalog
from ferdesk.classifier import Classifier
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector
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


def build_stack(model: str | None = None, backend: str | None = None, detector: str | None = None,
                threads: int = 2, align: bool = True, catalog: Catalog | None = None, temporal: str | None = None,
                prior: str | None = None) -> Stack:
    """``prior``: the class prior (``ferdesk.prior``: trained, uniform or LABEL=SHARE,...); default trained."""
    catalog = catalog or Catalog.load()
    spec = catalog.get(model) if model else catalog.default("classifier")
    weights = prior_weights(prior, spec.labels, spec)    # a bad prior fails before any model loads
    classifier = Classifier(spec, backend=backend, threads=threads)
    det = load_detector(detector or DEFAULT_DETECTOR, catalog, threads=threads)
    head = make_temporal(temporal, catalog, classifier)
    return Stack(catalog, Pipeline(det, classifier, align=align, temporal=head, prior_weights=weights),
                 prior if weights is not None else TRAINED)
