"""Eval: eval sets, metrics as pure functions, and runners that call the app's own answer path."""
