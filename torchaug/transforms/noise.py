"""noise transforms."""

__all__: list[str] = []
