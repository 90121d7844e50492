"""The built-in stand-in for VCC and the PCI provider (development and tests only)."""
