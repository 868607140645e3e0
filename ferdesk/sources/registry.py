from ferdesk.registry import Registry
from ferdesk.sources.base import Source

sources: Registry[Source] = Registry("source")
