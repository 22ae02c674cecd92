"""The nbgrader course in quizzes/: notebooks generated from the bank, checks that keep answer keys out of them."""
