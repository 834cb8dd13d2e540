DROP INDEX tokens_email_lower;
DROP TABLE web_sessions;
DROP TABLE signin_links;
