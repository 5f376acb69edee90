"""Nothing: measures the fixed cost of each configuration."""
