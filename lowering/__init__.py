"""Exo -> C, C -> IR, IR -> C, reference semantics (the layer between Exo and the model)."""

from lowering.exo_frames import register_frozen_modules

register_frozen_modules()      # before any submodule imports Exo (see lowering.exo_frames)
