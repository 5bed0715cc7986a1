"""stridecue recordings package."""
