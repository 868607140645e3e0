"""Training code for ferdesk's bundled models (optional extra: ``pip install .[train]``)."""
