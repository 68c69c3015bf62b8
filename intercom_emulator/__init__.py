"""A local Intercom REST API emulator for tests, the demo and the benchmark (see README.md)."""
from .server import Emulator

__all__ = ["Emulator"]
