"""One module per CLI command; ``ferdesk.cli`` only parses arguments and dispatches."""
