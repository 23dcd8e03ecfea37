"""Settlement pricing engine: price books, quotes, period settlement, splits, vouchers.

The engine modules do no I/O and parse no YAML text: :mod:`handlers.settlement.loader` reads
book files (with the one YAML reader, ``handlers/config_file.py``) and hands the document to
:func:`build_book`; :mod:`handlers.settlement.export` / :mod:`handlers.settlement.cli_files`
write results.
"""

from .book_parser import build_book
from .books import Book, BookError
from .guard import CancelEvent, FreezeDecision, FrozenPromotions, evaluate_guard
from .money import allocate, round_money
from .period import PeriodResult, settle_period
from .quote import Statement, StatementLine, diff_statements, quote, quote_ticket, select_book
from .ticket import Part, Ticket

__all__ = [
    "Book", "BookError", "CancelEvent", "FreezeDecision", "FrozenPromotions", "Part", "PeriodResult",
    "Statement", "StatementLine", "Ticket", "allocate", "build_book", "diff_statements", "evaluate_guard",
    "quote", "quote_ticket", "round_money", "select_book", "settle_period",
]
