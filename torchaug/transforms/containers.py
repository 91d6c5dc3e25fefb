"""containers transforms."""

__all__: list[str] = []
