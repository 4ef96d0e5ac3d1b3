"""Figure functions: each draws on a matplotlib Axes it is given and returns it (no backend
choice, no file output)."""
