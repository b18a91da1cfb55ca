"""The benchmark: contexts, rows, scoring, ranking, the leaderboard's keys and rule, and the rows
logged to MLflow (`presenting/` shows them to people)."""
