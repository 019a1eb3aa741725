"""What every app may use and that uses no app: the lowest layer."""
