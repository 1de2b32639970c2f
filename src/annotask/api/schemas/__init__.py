"""Request and response models, shaped exactly as CVAT's (spec section 4)."""
