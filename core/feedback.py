"""A minimal progress/cancel interface so ``core`` and ``models`` never import QGIS.

Long loops call ``feedback.set_progress(percent)`` and ``feedback.check_canceled()``
once per block; the Processing wrappers pass an adapter over ``QgsProcessingFeedback``.
"""
from .errors import OperationCanceled


class Feedback:
    """Silent feedback: no progress shown, never canceled. Subclass to report elsewhere."""

    def set_progress(self, percent):
        """Report progress in percent (0–100)."""

    def is_canceled(self):
        return False

    def info(self, message):
        """An informative line for the log."""

    def warning(self, message):
        """Something the user should know but which does not stop the work."""

    def check_canceled(self):
        """Raise :class:`OperationCanceled` if the user asked to stop."""
        if self.is_canceled():
            raise OperationCanceled("Canceled by the user.")

    def scaled(self, start, end):
        """A view of this feedback whose 0–100 % maps to ``start``–``end`` % of this one."""
        return _ScaledFeedback(self, start, end)


class PrintFeedback(Feedback):
    """Feedback for scripts and the command line: messages go to stdout."""

    def info(self, message):
        print(message, flush=True)

    def warning(self, message):
        print("Warning: " + message, flush=True)


class _ScaledFeedback(Feedback):
    def __init__(self, parent, start, end):
        self._parent, self._start, self._end = parent, start, end

    def set_progress(self, percent):
        self._parent.set_progress(self._start + (self._end - self._start) * percent / 100.0)

    def is_canceled(self):
        return self._parent.is_canceled()

    def info(self, message):
        self._parent.info(message)

    def warning(self, message):
        self._parent.warning(message)


def ensure_feedback(feedback):
    """``feedback`` itself, or a silent :class:`Feedback` when None was given."""
    return feedback if feedback is not None else Feedback()


#: Share of the points a step leaves out or merges above which :func:`report_share` warns. Below it
#: the line is information: a few deposits on nodata cells (an unsampled area) or sharing a cell
#: (large cells, clustered workings) are the data's nature, and the count is still logged; losing
#: more than a tenth says something is off (coarse cells, a stack that misses the deposits' area).
LARGE_SHARE = 0.1


def report_share(feedback, count, total, message):
    """Log ``message`` about ``count`` of ``total`` points: a warning when ``count`` is more than
    :data:`LARGE_SHARE` of ``total``, otherwise an information line."""
    say = feedback.warning if count > LARGE_SHARE * total else feedback.info
    say(message)
