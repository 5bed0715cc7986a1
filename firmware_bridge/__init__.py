"""stridecue firmware_bridge package."""
