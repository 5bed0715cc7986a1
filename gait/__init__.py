"""stridecue gait package."""
