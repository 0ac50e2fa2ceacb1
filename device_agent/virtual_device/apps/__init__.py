"""Simulated apps drawn on the virtual phone's screen."""

from .base import App
from .feed import FeedApp
from .form import FormApp
from .generic import GenericApp
from .launcher import LauncherApp
from .mail import MailApp

__all__ = ["App", "FeedApp", "FormApp", "GenericApp", "LauncherApp", "MailApp"]
