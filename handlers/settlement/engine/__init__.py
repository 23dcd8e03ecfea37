"""Settlement pricing engine: price books, quotes, period settlement, splits, vouchers.

The engine modules do no I/O; :mod:`handlers.settlement.loader` reads book files and
:mod:`handlers.settlement.export` / :mod:`handlers.settlement.cli_files` write results.
"""

from .books import Book, BookError, parse_book
from .guard import CancelEvent, FreezeDecision, FrozenPromotions, evaluate_guard
from .money import allocate, round_money
from .period import PeriodResult, settle_period
from .quote import Statement, StatementLine, diff_statements, quote, quote_ticket, select_book
from .ticket import Part, Ticket

__all__ = [
    "Book", "BookError", "CancelEvent", "FreezeDecision", "FrozenPromotions", "Part", "PeriodResult",
    "Statement", "StatementLine", "Ticket", "allocate", "diff_statements", "evaluate_guard", "parse_book",
    "quote", "quote_ticket", "round_money", "select_book", "settle_period",
]
