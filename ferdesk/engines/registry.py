"""The engine registry, kept apart so backend modules can register without import cycles."""
from ferdesk.engines.base import Engine
from ferdesk.registry import Registry

engines: Registry[Engine] = Registry("backend")
