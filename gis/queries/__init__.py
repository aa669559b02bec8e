"""Read queries over the spatial tables, written as explicit SQL."""
