"""The core every frontend shares: the statement context, the ordered stage list, its hooks."""
