"""The only code that knows VCC's URLs and JSON."""
