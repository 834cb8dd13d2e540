-- A disagreement being raised in the pages (web/raise.go), one question a
-- page: the answers so far, kept with the session that gives them (never in
-- the browser's hidden fields, where they could be changed), and gone with
-- it (sign-out, idle or absolute timeout).
ALTER TABLE web_sessions ADD COLUMN draft jsonb;
