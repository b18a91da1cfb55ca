"""Putting it together: the benchmark runner, MLflow logging, the leaderboard, speed figures."""
