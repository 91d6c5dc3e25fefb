"""color transforms."""

__all__: list[str] = []
