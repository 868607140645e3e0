"""The class prior: which expressions the probabilities assume to be common, and how to change that.

A classifier learns its training set's class shares along with the faces: FER2013 Training is a quarter happy
and 1.5% disgust, so a face the network is unsure of leans to the common classes. Footage with other shares (a
posed set with no neutral face, a photo collection a third neutral) is better served by telling the model so.
Under a change of shares alone (label shift), the probabilities for new shares ``q`` are the model's ``p``
times ``q / t`` (``t``: the training shares), renormalised (Saerens, Latinne and Decaestecker, Neural
Computation 14, 2002). ``experiments/class_prior.py`` measures what each choice does; results in
``experiments/real-photos.md``.

The prior is named by text, as on the command line (``--prior``):

- ``trained``: the probabilities as the model gives them (the default);
- ``uniform``: every class equally likely;
- ``neutral=0.3,happy=0.3``: the named classes at those shares, the rest sharing what is left equally.
"""
from __future__ import annotations

import numpy as np

from ferdesk.errors import PriorError

TRAINED = "trained"
UNIFORM = "uniform"
CHOICES = (TRAINED, UNIFORM)

#: FER2013 Training's faces per class (28,709), in its label order. Every bundled classifier learned these
#: labels from it; the real-photo fine-tunes add 8,481 crops of real faces, which this leaves out.
FER2013_TRAINING_COUNTS = {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "sad": 4830,
                           "surprise": 3171, "neutral": 4965}


def training_shares(labels, spec=None) -> np.ndarray:
    """The class shares the classifier was trained with: its catalog entry's ``class_shares`` when it has
    them, else FER2013 Training's when its labels are FER2013's."""
    given = spec.get("class_shares") if spec is not None else None
    counts = given or FER2013_TRAINING_COUNTS
    if set(counts) != set(labels):
        name = f"model {spec.name}" if spec is not None else "the model"
        raise PriorError(f"{name} does not give the class shares it was trained with; only the prior 'trained' applies")
    shares = np.array([float(counts[k]) for k in labels])
    return shares / shares.sum()


def target_shares(text: str, labels) -> np.ndarray:
    """The shares named by ``text`` (``uniform`` or ``label=share,...``) over ``labels``."""
    k = len(labels)
    if text == UNIFORM:
        return np.full(k, 1.0 / k)
    named: dict[str, float] = {}
    for part in text.split(","):
        label, sep, value = part.strip().partition("=")
        label = label.strip()
        if not sep or label not in labels:
            raise PriorError(f"prior {text!r}: give trained, uniform, or LABEL=SHARE,... with LABEL one of "
                             f"{', '.join(labels)}")
        try:
            share = float(value)
        except ValueError:
            raise PriorError(f"prior {text!r}: {value.strip()!r} is not a number") from None
        if not 0.0 < share < 1.0:
            raise PriorError(f"prior {text!r}: the share of {label} must be above 0 and below 1")
        named[label] = share
    rest = 1.0 - sum(named.values())
    others = [x for x in labels if x not in named]
    if rest <= 0 if others else abs(rest) > 1e-6:
        raise PriorError(f"prior {text!r}: the shares add up to {sum(named.values()):.3g}"
                         + (", leaving nothing for the other classes" if others else ", not 1"))
    return np.array([named.get(x, rest / len(others) if others else 0.0) for x in labels])


def valid_prior(text: str | None) -> bool:
    """Whether ``text`` names a prior over FER2013's classes (for a saved setting: the model may change)."""
    try:
        prior_weights(text, tuple(FER2013_TRAINING_COUNTS))
    except PriorError:
        return False
    return text is not None


def prior_weights(text: str | None, labels, spec=None) -> np.ndarray | None:
    """What to multiply the probabilities by for the prior ``text``; None for ``trained`` (nothing to do).
    Raises PriorError naming the problem."""
    if text in (None, "", TRAINED):
        return None
    labels = tuple(labels)
    return target_shares(text, labels) / training_shares(labels, spec)


def apply_prior(probs: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """(N, C) probabilities under the prior that ``weights`` (from ``prior_weights``) stands for."""
    if weights is None or len(probs) == 0:
        return probs
    q = probs * weights.astype(probs.dtype)
    return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
