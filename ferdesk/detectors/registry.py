from ferdesk.detectors.base import Detector
from ferdesk.registry import Registry

detectors: Registry[Detector] = Registry("detector")
