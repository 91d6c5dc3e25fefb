"""policies transforms."""

__all__: list[str] = []
