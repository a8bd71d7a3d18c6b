"""The reference system: a small JSON REST API used to prove fincon's sandbox framework
and conformance suite before any real connector exists. Not in the public registry."""

from fincon.testing.reference.emulator import ReferenceEmulator

__all__ = ["ReferenceEmulator"]
