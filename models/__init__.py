"""ferdesk-zoo: the research zoo as a model pack (this folder, installed with ``pip install ./models``)."""
from importlib import resources
from pathlib import Path


def catalog_dir() -> Path:
    """The folder of the pack's catalog.json (the ``ferdesk.model_packs`` entry point)."""
    return Path(str(resources.files(__name__)))
