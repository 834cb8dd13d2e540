-- The role is cluster-wide: other databases' applications may still log in
-- as it, so it keeps its LOGIN.
SELECT 1;
