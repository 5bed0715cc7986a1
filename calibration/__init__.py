"""stridecue calibration package."""
