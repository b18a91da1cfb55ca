"""Showing a benchmark to people: the printed leaderboard table, the HTML report, piano rolls and
the table as pictures, audio, the musical profile's table and charts, the critic's card as text,
the runs' descriptions. It reads what `benchmark/` computed and never computes a score."""
