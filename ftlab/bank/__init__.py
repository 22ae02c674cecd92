"""The question bank: one versioned TOML source for self-study quizzes, revision and nbgrader."""
from ftlab.bank.grading import grade
from ftlab.bank.items import (DIFFICULTIES, RATINGS, Card, Choice, Concept, Exercise, Explain, Grade, Item,
                              Outcome)
from ftlab.bank.kinds import KINDS, Kind
from ftlab.bank.loader import Bank, BankError, load_bank

__all__ = [
    "DIFFICULTIES", "KINDS", "RATINGS", "Bank", "BankError", "Card", "Choice", "Concept", "Exercise", "Explain",
    "Grade", "Item", "Kind", "Outcome", "grade", "load_bank",
]
