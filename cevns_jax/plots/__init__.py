"""Figure functions (matplotlib); each takes an ``ax`` and draws on it."""
