"""occlusion transforms."""

__all__: list[str] = []
