"""Backend adapters: the contract (``backends.contract``), the registry and the built-ins."""
