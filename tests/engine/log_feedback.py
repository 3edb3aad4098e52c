"""A feedback for engine tests that keeps what the engine writes to the log, so a test can assert
the exact warning or info line a user reads."""
from deepprospect.core.feedback import Feedback


class LogFeedback(Feedback):
    """Keeps the log: ``warnings`` and ``infos``, the messages in the order they came."""

    def __init__(self):
        self.warnings, self.infos = [], []

    def warning(self, message):
        self.warnings.append(message)

    def info(self, message):
        self.infos.append(message)
