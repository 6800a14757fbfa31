"""dasan: a self-hostable, Korean-first civic assistant."""
