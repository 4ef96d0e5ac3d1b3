"""Figure functions: each draws on a Matplotlib ``ax`` it is given and returns it."""
