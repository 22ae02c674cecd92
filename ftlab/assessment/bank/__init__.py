"""The question bank: one versioned TOML source for self-study quizzes, revision and nbgrader."""
from ftlab.assessment.bank.grading import Context, grade
from ftlab.assessment.bank.items import (DIFFICULTIES, RATINGS, Card, Choice, Concept, Exercise, Explain, Grade, Item,
                              Outcome)
from ftlab.assessment.bank.kinds import KINDS, Kind
from ftlab.assessment.bank.loader import Bank, BankError, load_bank

__all__ = [
    "DIFFICULTIES", "KINDS", "RATINGS", "Bank", "BankError", "Card", "Choice", "Concept", "Context", "Exercise", "Explain",
    "Grade", "Item", "Kind", "Outcome", "grade", "load_bank",
]
