"""color kernels."""

__all__: list[str] = []
