"""Multi-node networks with shared batteries, EV fleets and data centres: case → inputs → model →
run (system or merchant) → verify → plots."""
