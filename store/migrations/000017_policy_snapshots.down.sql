DROP TABLE policy_snapshots;
