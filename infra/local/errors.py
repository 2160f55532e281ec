"""The one error the stack raises: its message says what went wrong and what to do."""


class StackError(RuntimeError):
    """A stack command could not do its job; ``str(err)`` tells the user what to do."""
