"""``python -m bot unconfirmed``: submits the bot would not guess, and the operator settling them.

``desk`` settles them (adopt an EggAPI task, or release the hold); ``cli`` parses and prints.
"""

from bot.unconfirmed.desk import OperatorError, Unconfirmed, UnconfirmedDesk

__all__ = ["OperatorError", "Unconfirmed", "UnconfirmedDesk"]
