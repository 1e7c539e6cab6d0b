-- Media no program refers to any more are removed after a grace period:
-- this remembers since when (unix ms; NULL while referred to).
ALTER TABLE media ADD COLUMN unreferenced_since INTEGER;
