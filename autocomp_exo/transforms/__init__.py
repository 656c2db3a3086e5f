"""Deterministic IR rewrites that implement the optimization menu (one module per family)."""

from .base import Application, NotApplicable, Transform
from .registry import TRANSFORMS, applications, apply, by_menu_item

__all__ = ["Application", "NotApplicable", "Transform", "TRANSFORMS", "applications", "apply",
           "by_menu_item"]
