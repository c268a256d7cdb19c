"""Studies built from solves: the type ② comparison and breakeven, the type ③ ride-through
(cost, survival) and the connection choice (NPV of waiting for firm vs connecting now)."""
