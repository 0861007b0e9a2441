"""The errors labseg reports to its user, each as one line naming the file or option and the fix.

Kept free of heavy imports: the command line catches these before torch is loaded.
"""


class DataError(Exception):
    """A problem with the user's data: the message names the file and what to do."""


class CheckpointError(Exception):
    """A checkpoint that cannot be used: the message names the file and what to do."""


class DownloadError(Exception):
    """A failed download or extraction; ROOT is left as it was."""


class PredictionFailures(Exception):
    """Some inputs could not be read; the others were predicted. The message names each one."""
