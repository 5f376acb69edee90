"""A small project with a dependency: what a user of pytrace traces."""
