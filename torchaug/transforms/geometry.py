"""geometry transforms."""

__all__: list[str] = []
