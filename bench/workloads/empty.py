"""Nothing: measures the fixed cost of each configuration."""
import timed  # noqa: F401 (reports the run time)
