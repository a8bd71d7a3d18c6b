"""Built-in connectors, one package per system.

Each registers through the ``fincon.connectors`` entry-point group, like third-party ones.
"""
