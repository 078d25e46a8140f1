"""tipline domain."""
