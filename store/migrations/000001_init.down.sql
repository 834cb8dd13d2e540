DROP TABLE idempotency_keys;
DROP TABLE tokens;
DROP TABLE notifications;
DROP TABLE events;
DROP TABLE cases;
DROP TABLE case_numbers;
