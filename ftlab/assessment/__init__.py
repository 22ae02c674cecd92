"""Assessment: the question bank with its exercises, self-study revision, and the nbgrader course."""
