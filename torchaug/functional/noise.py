"""noise kernels."""

__all__: list[str] = []
