DROP TABLE action_keys;
