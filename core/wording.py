"""Counts in words, so a message whose count can be 1 still reads as English: "1 cell", "2 cells".

Log lines and errors say how many points, cells or samples something concerns; the count is
often 1 (one deposit off the stack, one sample with a bad value), and "1 cells" reads as a slip.
"""


def agree(count, one, many=None):
    """The form of a word that agrees with ``count``: ``one`` when ``count`` is exactly 1, otherwise
    ``many`` (default: ``one`` + "s"). Works for verbs too: ``agree(n, "lies", "lie")``."""
    if count == 1:
        return one
    return one + "s" if many is None else many


def counted(count, one, many=None, number="{}"):
    """``count`` followed by its noun in the agreeing form: "1 cell", "3 cells", "0 cells".
    ``number`` formats the count (e.g. "{:,}" for "1,204 cells")."""
    return "{} {}".format(number.format(count), agree(count, one, many))
